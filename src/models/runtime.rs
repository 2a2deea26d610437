//! Finding and loading ONNX Runtime (one environment per process) and opening sessions.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::ValueType;

use super::{Graph, ModelError};

/// File name of the ONNX Runtime shared library on this platform.
#[cfg(target_os = "macos")]
pub(crate) const ORT_LIBRARY_FILE: &str = "libonnxruntime.dylib";
/// File name of the ONNX Runtime shared library on this platform.
#[cfg(target_os = "windows")]
pub(crate) const ORT_LIBRARY_FILE: &str = "onnxruntime.dll";
/// File name of the ONNX Runtime shared library on this platform.
#[cfg(not(any(target_os = "macos", target_os = "windows")))]
pub(crate) const ORT_LIBRARY_FILE: &str = "libonnxruntime.so";

/// Where a source checkout's set-up puts the runtime and the models (for binaries built in place).
const CHECKOUT_DIR: &str = env!("CARGO_MANIFEST_DIR");

const SETUP_HINT: &str = "run scripts/setup.sh in the roomtone checkout (or `make setup`), \
or set ORT_DYLIB_PATH to an ONNX Runtime 1.31 shared library";

fn exe_dir() -> Option<PathBuf> {
    std::env::current_exe()
        .ok()?
        .parent()
        .map(Path::to_path_buf)
}

/// The ONNX Runtime library to load: next to the executable, else `ORT_DYLIB_PATH`, else the
/// checkout's `vendor/onnxruntime/` (where `scripts/setup.sh` puts it).
pub fn runtime_library() -> Result<PathBuf, ModelError> {
    let mut tried = Vec::new();
    if let Some(dir) = exe_dir() {
        tried.push(dir.join(ORT_LIBRARY_FILE));
    }
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        tried.push(PathBuf::from(p));
    }
    tried.push(
        Path::new(CHECKOUT_DIR)
            .join("vendor/onnxruntime")
            .join(ORT_LIBRARY_FILE),
    );
    if let Some(found) = tried.iter().find(|p| p.is_file()) {
        return Ok(found.clone());
    }
    let list: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
    Err(ModelError::Runtime {
        reason: format!(
            "library not found (looked at {}); {SETUP_HINT}",
            list.join(", ")
        ),
    })
}

/// Folder of the model manifests and weights: `ROOMTONE_MODELS`, else `models/` next to the
/// executable, else the checkout's `models/`.
pub fn models_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("ROOMTONE_MODELS").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    if let Some(dir) = exe_dir().map(|d| d.join("models")).filter(|d| d.is_dir()) {
        return dir;
    }
    Path::new(CHECKOUT_DIR).join("models")
}

static ENVIRONMENT: OnceLock<Result<Environment, String>> = OnceLock::new();

/// The process's one ONNX Runtime environment, loaded on first use.
pub(crate) fn environment() -> Result<&'static Environment, ModelError> {
    ENVIRONMENT
        .get_or_init(|| {
            let lib = runtime_library().map_err(|e| match e {
                ModelError::Runtime { reason } => reason,
                other => other.to_string(),
            })?;
            let fail = |e: &dyn std::fmt::Display| {
                format!("cannot load {}: {e}; {SETUP_HINT}", lib.display())
            };
            ort::init_from(&lib)
                .map_err(|e| fail(&e))?
                .with_name("roomtone")
                .build()
                .map_err(|e| fail(&e))
        })
        .as_ref()
        .map_err(|reason| ModelError::Runtime {
            reason: reason.clone(),
        })
}

/// How a session runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionOptions {
    /// Threads inside one model run (1 is best when files are processed in parallel).
    pub intra_threads: usize,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self { intra_threads: 1 }
    }
}

/// Opens `path` with full graph optimisation and checks its tensors against the manifest's `graph`.
pub(crate) fn session(
    path: &Path,
    graph: &Graph,
    options: SessionOptions,
) -> Result<Session, ModelError> {
    let env = environment()?;
    let fail = |reason: String| ModelError::Session {
        path: path.to_path_buf(),
        reason,
    };
    if !path.is_file() {
        return Err(ModelError::MissingFile {
            path: path.to_path_buf(),
            reason: "not found".into(),
        });
    }
    let session = Session::builder(env)
        .map_err(|e| fail(e.to_string()))?
        .with_optimization_level(GraphOptimizationLevel::Level3)
        .map_err(|e| fail(e.to_string()))?
        .with_intra_threads(options.intra_threads.max(1))
        .map_err(|e| fail(e.to_string()))?
        .commit_from_file(path)
        .map_err(|e| fail(e.to_string()))?;
    check_graph(path, &session, graph)?;
    Ok(session)
}

/// Compares a session's inputs and outputs (names, element types, static dimensions) with the manifest.
fn check_graph(path: &Path, session: &Session, graph: &Graph) -> Result<(), ModelError> {
    let mismatch = |reason: String| ModelError::Mismatch {
        path: path.to_path_buf(),
        reason,
    };
    let sides = [
        ("input", session.inputs(), &graph.inputs),
        ("output", session.outputs(), &graph.outputs),
    ];
    for (side, outlets, specs) in sides {
        if outlets.len() != specs.len() {
            return Err(mismatch(format!(
                "{} {side}s in the graph, {} in the manifest",
                outlets.len(),
                specs.len()
            )));
        }
        for (outlet, spec) in outlets.iter().zip(specs) {
            if outlet.name() != spec.name {
                return Err(mismatch(format!(
                    "{side} named {:?}, manifest says {:?}",
                    outlet.name(),
                    spec.name
                )));
            }
            if let ValueType::Tensor { ty, shape, .. } = outlet.dtype() {
                let dtype = format!("{ty:?}").to_lowercase();
                if dtype != spec.dtype {
                    return Err(mismatch(format!(
                        "{side} {} is {dtype}, manifest says {}",
                        spec.name, spec.dtype
                    )));
                }
                let dims: Vec<i64> = shape.iter().copied().collect();
                let agree = dims.len() == spec.shape.len()
                    && dims
                        .iter()
                        .zip(&spec.shape)
                        .all(|(&d, &s)| d < 0 || s < 0 || d == s);
                if !agree {
                    return Err(mismatch(format!(
                        "{side} {} has shape {dims:?}, manifest says {:?}",
                        spec.name, spec.shape
                    )));
                }
            }
        }
    }
    Ok(())
}
