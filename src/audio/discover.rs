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

/// Walks `root` recursively for media files, for libraries: hidden files and folders (names
/// starting with `.`) are skipped, symbolic links are followed but each folder is entered once
/// (by its canonical path), so link loops and two links to one folder do not repeat files.
/// Returns the files in sorted order and the folders that could not be read.
pub fn walk_media(root: &Path) -> (Vec<PathBuf>, Vec<(PathBuf, std::io::Error)>) {
    let mut files = Vec::new();
    let mut unreadable = Vec::new();
    let mut seen = std::collections::HashSet::new();
    walk_library(root, &mut seen, &mut files, &mut unreadable);
    (files, unreadable)
}

fn walk_library(
    dir: &Path,
    seen: &mut std::collections::HashSet<PathBuf>,
    files: &mut Vec<PathBuf>,
    unreadable: &mut Vec<(PathBuf, std::io::Error)>,
) {
    match std::fs::canonicalize(dir) {
        Ok(c) => {
            if !seen.insert(c) {
                return;
            }
        }
        Err(e) => {
            unreadable.push((dir.to_path_buf(), e));
            return;
        }
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            unreadable.push((dir.to_path_buf(), e));
            return;
        }
    };
    let mut children: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect();
    children.sort();
    for c in children {
        // `is_dir` / `is_file` follow links; a dangling link is neither and is skipped.
        if c.is_dir() {
            walk_library(&c, seen, files, unreadable);
        } else if c.is_file() && is_media(&c) {
            files.push(c);
        }
    }
}
