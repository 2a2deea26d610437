//! Where the models are and how their sessions run, decided once by the caller and passed to
//! whatever loads a model.

use std::path::PathBuf;

use super::SessionOptions;

/// Which copy of a network runs, where a model ships more than one (Conv-TasNet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// The same network with int8 matrix products (derived at set-up), about twice as fast; for
    /// Conv-TasNet it agrees with the float graph to about 27 dB SNR.
    #[default]
    Int8,
    /// The graph as shipped, float32.
    Float32,
}

impl std::str::FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "int8" => Ok(Self::Int8),
            "f32" | "float32" => Ok(Self::Float32),
            _ => Err(format!("{s:?} is not a model precision (int8, f32)")),
        }
    }
}

/// The models folder and the session settings of every model that loads from it.
///
/// ```
/// use roomtone::models::{ModelContext, SessionOptions};
///
/// // The folder scripts/setup.sh fills (or $ROOMTONE_MODELS), Conv-TasNet on two threads.
/// let context = ModelContext {
///     convtasnet: SessionOptions { intra_threads: 2 },
///     ..ModelContext::from_env()
/// };
/// assert_eq!(context.dfn3.intra_threads, 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelContext {
    /// Folder of the manifests (`<name>.toml`) and weights (`<name>/`).
    pub dir: PathBuf,
    /// Which Conv-TasNet graph runs.
    pub precision: Precision,
    /// DeepFilterNet3 sessions (its small graphs are fastest on one thread).
    pub dfn3: SessionOptions,
    /// Conv-TasNet sessions (it gains from intra-op threads when files run one at a time).
    pub convtasnet: SessionOptions,
    /// YAMNet sessions (one thread is best when files are tagged in parallel).
    pub yamnet: SessionOptions,
}

impl ModelContext {
    /// The models in `dir`, every session on one thread, Conv-TasNet in int8.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            precision: Precision::default(),
            dfn3: SessionOptions::default(),
            convtasnet: SessionOptions::default(),
            yamnet: SessionOptions::default(),
        }
    }

    /// [`ModelContext::new`] on the folder [`super::models_dir`] finds: `$ROOMTONE_MODELS`, else
    /// `models/` next to the executable, else the checkout's `models/`.
    pub fn from_env() -> Self {
        Self::new(super::models_dir())
    }
}
