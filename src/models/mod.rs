//! Model manifests (`models/<name>.toml`) and the ONNX Runtime environment.

mod context;
mod manifest;
mod onnx_graph;
mod runtime;

pub use context::{ModelContext, Precision};
pub use manifest::{FileEntry, FrontEnd, Graph, Manifest, MelFrontEnd, Source, TensorSpec};
pub(crate) use onnx_graph::{OnnxGraph, Quantisation};
pub(crate) use runtime::{environment, session};
pub use runtime::{models_dir, runtime_library, SessionOptions};

use std::path::PathBuf;

/// What went wrong finding or loading a model or the runtime.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A manifest could not be read or parsed.
    #[error("{}: bad model manifest: {reason}", path.display())]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// Parse error or missing field.
        reason: String,
    },
    /// A file the manifest lists is not on disk (the set-up has not run) or has the wrong size.
    #[error("{}: {reason}; run scripts/setup.sh (or `make setup`) to fetch the models", path.display())]
    MissingFile {
        /// The expected file.
        path: PathBuf,
        /// Missing, or size found versus expected.
        reason: String,
    },
    /// The ONNX Runtime shared library was not found or would not load.
    #[error("ONNX Runtime: {reason}")]
    Runtime {
        /// What was tried and how to fix it.
        reason: String,
    },
    /// A session could not be created or run.
    #[error("{}: {reason}", path.display())]
    Session {
        /// The model file.
        path: PathBuf,
        /// ONNX Runtime's message.
        reason: String,
    },
    /// The graph does not match its manifest.
    #[error("{}: the graph does not match its manifest: {reason}", path.display())]
    Mismatch {
        /// The model file.
        path: PathBuf,
        /// Expected versus found.
        reason: String,
    },
}

/// Names of the manifests (`*.toml`) in `dir`, sorted.
pub fn manifest_names(dir: &std::path::Path) -> Result<Vec<String>, ModelError> {
    let entries = std::fs::read_dir(dir).map_err(|e| ModelError::Manifest {
        path: dir.to_path_buf(),
        reason: format!("cannot list the models folder: {e}"),
    })?;
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    names.sort();
    Ok(names)
}

/// Loads a model's manifest, checks its files, and opens every graph in ONNX Runtime, comparing
/// the graph's tensors with the manifest. Returns the manifest on success.
pub fn verify(dir: &std::path::Path, name: &str) -> Result<Manifest, ModelError> {
    let manifest = Manifest::load(dir, name)?;
    manifest.check_files()?;
    for graph in &manifest.graphs {
        session(
            &manifest.file_path(&graph.file),
            graph,
            SessionOptions::default(),
        )?;
    }
    Ok(manifest)
}
