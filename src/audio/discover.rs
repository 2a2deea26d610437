//! Finding media files: paths as given, folders walked recursively for audio and video extensions.

use std::path::{Path, PathBuf};

/// Extensions (lower case) picked up when walking folders.
pub const MEDIA_EXTENSIONS: &[&str] = &[
    "wav", "wave", "bwf", "rf64", "aif", "aiff", "aifc", "caf", "flac", "mp3", "m4a", "aac", "mp4",
    "m4v", "mov", "mkv", "mka", "webm", "ogg", "oga",
];

/// Expands `paths`: files are kept as given (whatever their extension), folders are walked
/// recursively in sorted order for files with a [`MEDIA_EXTENSIONS`] extension. A path that does
/// not exist is kept, so that reading it reports the error in its place.
pub fn expand_inputs(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out);
        } else {
            out.push(p.clone());
        }
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        // Unreadable folder: keep it so the caller reports it.
        out.push(dir.to_path_buf());
        return;
    };
    let mut children: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    children.sort();
    for c in children {
        if c.is_dir() {
            walk(&c, out);
        } else if is_media(&c) {
            out.push(c);
        }
    }
}

/// Whether a path has one of the [`MEDIA_EXTENSIONS`].
pub fn is_media(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| MEDIA_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}
