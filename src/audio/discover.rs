//! Finding media files: paths as given, folders walked recursively for audio and video extensions.

use std::path::{Path, PathBuf};

/// Extensions (lower case) picked up when walking folders.
pub const MEDIA_EXTENSIONS: &[&str] = &[
    "wav", "wave", "bwf", "rf64", "aif", "aiff", "aifc", "caf", "flac", "mp3", "m4a", "aac", "mp4",
    "m4v", "mov", "mkv", "mka", "webm", "ogg", "oga",
    // Read through ffmpeg when it is installed (see `AudioReader::open_track`).
    "opus", "mp2", "ac3", "eac3", "dts", "w64", "mxf", "ts", "m2ts", "mts", "mpg", "mpeg", "vob",
    "avi", "wma", "asf", "3gp",
];

/// A file that marks a folder as roomtone's own output (a `batch` OUTDIR): folder walks skip any
/// folder below a root that holds it, so outputs are never taken for inputs.
pub const OUTPUT_MARKER: &str = ".roomtone-output";

/// Expands `paths` for the single-file commands: files are kept as given (whatever their extension),
/// folders are walked as [`Walker`] does. A path that does not exist is kept, so that reading it
/// reports the error in its place. Returns the files and the folders that could not be read.
pub fn expand_inputs(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<(PathBuf, std::io::Error)>) {
    let mut walker = Walker::new();
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            out.extend(walker.walk(p));
        } else {
            out.push(p.clone());
        }
    }
    (out, walker.into_unreadable())
}

/// Whether a path has one of the [`MEDIA_EXTENSIONS`].
pub fn is_media(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| MEDIA_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// The one folder walker (`tag`, `batch`): recursive, sorted, files with a [`MEDIA_EXTENSIONS`]
/// extension. Hidden files and folders (names starting with `.`) are skipped; symbolic links are
/// followed but each folder is entered once over all the roots walked (by its canonical path), so
/// link loops end and two links to one folder do not repeat files; folders given to
/// [`Walker::exclude`] and folders holding an [`OUTPUT_MARKER`] are skipped below a root.
#[derive(Debug, Default)]
pub struct Walker {
    seen: std::collections::HashSet<PathBuf>,
    excluded: std::collections::HashSet<PathBuf>,
    unreadable: Vec<(PathBuf, std::io::Error)>,
}

impl Walker {
    /// A walker that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Never enters `dir` (if it exists) below a root: e.g. an output folder inside the input tree.
    pub fn exclude(&mut self, dir: &Path) {
        if let Ok(c) = std::fs::canonicalize(dir) {
            self.excluded.insert(c);
        }
    }

    /// The media files under `root`, in sorted order; nothing for a folder already walked.
    pub fn walk(&mut self, root: &Path) -> Vec<PathBuf> {
        let mut files = Vec::new();
        self.enter(root, true, &mut files);
        files
    }

    /// The folders that could not be read, with the reason.
    pub(crate) fn into_unreadable(self) -> Vec<(PathBuf, std::io::Error)> {
        self.unreadable
    }

    fn enter(&mut self, dir: &Path, is_root: bool, files: &mut Vec<PathBuf>) {
        match std::fs::canonicalize(dir) {
            Ok(c) => {
                if !is_root && (self.excluded.contains(&c) || c.join(OUTPUT_MARKER).exists()) {
                    return;
                }
                if !self.seen.insert(c) {
                    return;
                }
            }
            Err(e) => {
                self.unreadable.push((dir.to_path_buf(), e));
                return;
            }
        }
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                self.unreadable.push((dir.to_path_buf(), e));
                return;
            }
        };
        // The entry's own type where the folder listing gives it (no system call per file);
        // links, and file systems that do not say, are followed with `stat`.
        let mut children: Vec<(PathBuf, Option<std::fs::FileType>)> = entries
            .filter_map(Result::ok)
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .map(|e| (e.path(), e.file_type().ok().filter(|t| !t.is_symlink())))
            .collect();
        children.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (c, kind) in children {
            // `is_dir` / `is_file` follow links; a dangling link is neither and is skipped.
            let (is_dir, is_file) = match kind {
                Some(t) if t.is_dir() || t.is_file() => (t.is_dir(), t.is_file()),
                _ => (c.is_dir(), c.is_file()),
            };
            if is_dir {
                self.enter(&c, false, files);
            } else if is_file && is_media(&c) {
                files.push(c);
            }
        }
    }
}
