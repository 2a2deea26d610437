//! Per-file panic containment: a bug that one file runs into becomes that file's error, and the
//! other files of a command or a batch go on.
//!
//! Bad input is meant to be an `Err` long before this (see `audio::header` and the decoder's
//! checks); this is the last line of defence for what no test has found yet.

use std::path::{Path, PathBuf};

/// A panic caught while processing one file: a bug in roomtone or in a library it uses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: internal error ({message}); the file was skipped; please report it with the command that was run", path.display())]
pub struct InternalError {
    /// The file being processed.
    pub path: PathBuf,
    /// The panic's message.
    pub message: String,
}

/// Runs `job` for `path`; a panic inside it is returned as an [`InternalError`] for that file.
pub fn per_file<T, E: From<InternalError>>(
    path: &Path,
    job: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        inject_fault(path);
        job()
    }))
    .unwrap_or_else(|payload| {
        Err(InternalError {
            path: path.to_path_buf(),
            message: panic_message(payload.as_ref()),
        }
        .into())
    })
}

/// Debug builds only (the tests): `ROOMTONE_INJECT_PANIC=NAME` panics for every file whose path
/// contains NAME, so that the tests can show a bug in one file does not take down the others.
fn inject_fault(path: &Path) {
    #[cfg(debug_assertions)]
    if let Some(name) = std::env::var_os("ROOMTONE_INJECT_PANIC").filter(|n| !n.is_empty()) {
        if path.to_string_lossy().contains(&*name.to_string_lossy()) {
            panic!("fault injected for {}", path.display());
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = path;
}

/// The message of a caught panic (`&str` or `String` payloads; anything else is "unknown").
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown failure".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_the_files_error_and_a_result_passes_through() {
        let p = Path::new("x.wav");
        let ok: Result<u8, InternalError> = per_file(p, || Ok(7));
        assert_eq!(ok, Ok(7));
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let caught: Result<u8, InternalError> = per_file(p, || {
            let v: Vec<u8> = Vec::new();
            Ok(v[usize::from(v.is_empty())])
        });
        let owned: Result<u8, InternalError> = per_file(p, || panic!("{}", String::from("own")));
        std::panic::set_hook(hook);
        let e = caught.expect_err("caught");
        assert!(e.message.contains("index out of bounds"), "{e}");
        assert!(e.to_string().starts_with("x.wav: internal error"), "{e}");
        assert_eq!(owned.expect_err("caught").message, "own");
    }
}
