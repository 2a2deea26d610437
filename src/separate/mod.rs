//! Dialogue/background separation: DeepFilterNet3 and Conv-TasNet through ONNX Runtime, alone or
//! fused (`ensemble`), at any sample rate and channel count, streamed in bounded memory.
//!
//! `speech` is the model's output (blended toward the input by `strength` and `atten_lim_db`);
//! `background` is the input minus `speech`, so the two stems sum back to the input.
//!
//! ```no_run
//! use roomtone::models::ModelContext;
//! use roomtone::separate::{self, Backends, ModelChoice, SeparateConfig, Separator};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let context = ModelContext::from_env();
//! let backends = Backends::load(&context, ModelChoice::Dfn3)?; // shared by all workers
//! let mut worker = Separator::from_backends(&backends, &context)?; // one per thread
//! let config = SeparateConfig::default();
//! let done = separate::separate_file(&mut worker, "take1.wav".as_ref(), "stems".as_ref(), &config, |_| {})?;
//! println!("{} and {}", done.speech, done.background);
//! # Ok(())
//! # }
//! ```

pub mod convtasnet;
pub mod dfn3;
mod estimator;
pub mod fusion;
mod stems;

pub use convtasnet::{ConvTasNet, SegmentConfig};
pub(crate) use convtasnet::{CtnSession, CtnStream};
#[cfg(feature = "bench-internals")]
#[doc(hidden)]
pub use dfn3::GraphBench;
pub use dfn3::{enhance, ChunkConfig, Dfn3};
pub(crate) use dfn3::{Dfn3Session, Dfn3Stream};
pub use fusion::Fusion;
pub(crate) use fusion::FusionError;
pub use stems::{
    check_stem_names, separate_block, separate_file, stem_paths, Backends, SeparateConfig,
    SeparateSummary, Separator,
};
pub(crate) use stems::{separate_file_to, stem_pair, write_stems};

use std::path::PathBuf;

use crate::audio::AudioError;
use crate::models::ModelError;

// The models are shared by every worker and each worker's sessions move to its thread: checked
// when the crate compiles, not when a test runs.
const _: () = {
    const fn shared<T: Send + Sync>() {}
    const fn movable<T: Send>() {}
    shared::<Dfn3>();
    shared::<ConvTasNet>();
    shared::<Fusion>();
    shared::<Backends>();
    movable::<Dfn3Session>();
    movable::<Dfn3Stream<'static>>();
    movable::<CtnSession>();
    movable::<CtnStream>();
    movable::<Separator<'static>>();
};

/// Which separation model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelChoice {
    /// DeepFilterNet3 (48 kHz, fastest).
    #[default]
    Dfn3,
    /// Conv-TasNet (16 kHz waveform model).
    ConvTasNet,
    /// Both, fused per band and per DeepFilterNet3 local SNR (`models/separation/fusion.json`).
    Ensemble,
}

impl ModelChoice {
    /// The name used on the command line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Dfn3 => "dfn3",
            Self::ConvTasNet => "convtasnet",
            Self::Ensemble => "ensemble",
        }
    }
}

impl std::fmt::Display for ModelChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for ModelChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "dfn3" => Ok(Self::Dfn3),
            "convtasnet" => Ok(Self::ConvTasNet),
            "ensemble" => Ok(Self::Ensemble),
            _ => Err(format!(
                "{s:?} is not a separation model (dfn3, convtasnet, ensemble)"
            )),
        }
    }
}

/// What went wrong separating a file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SeparateError {
    /// Reading the input or writing a stem failed.
    #[error(transparent)]
    Audio(#[from] AudioError),
    /// A bug was hit while separating this file (a caught panic).
    #[error(transparent)]
    Internal(#[from] crate::guard::InternalError),
    /// The model could not be loaded or run.
    #[error("{}: {source}", path.display())]
    Model {
        /// The input being separated.
        path: PathBuf,
        /// The model error.
        source: ModelError,
    },
    /// A separation model is not installed or would not load.
    #[error("separation model {model} is not available: {source}")]
    Unavailable {
        /// `dfn3` or `convtasnet`.
        model: &'static str,
        /// Why (a missing file says to run scripts/setup.sh).
        source: ModelError,
    },
    /// The ensemble's fusion weights are missing or invalid.
    #[error(transparent)]
    Fusion(#[from] FusionError),
    /// The separator was built without a model the chosen mode needs.
    #[error("--model {choice} needs {missing}, which this separator did not load")]
    NotLoaded {
        /// The chosen mode.
        choice: ModelChoice,
        /// The model that is missing.
        missing: &'static str,
    },
    /// Two inputs would write the same stem files.
    #[error("{} and {} would both write {}: give inputs with different file names (without the extension), or separate them into different --out-dir folders", first.display(), second.display(), stem.display())]
    StemNameClash {
        /// The first input.
        first: PathBuf,
        /// The second input.
        second: PathBuf,
        /// The speech stem both would write (its file name).
        stem: PathBuf,
    },
    /// An option is out of range.
    #[error("invalid option {name}: {reason}")]
    InvalidOption {
        /// Option name.
        name: &'static str,
        /// Expected versus found.
        reason: String,
    },
}
