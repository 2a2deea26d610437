//! Dialogue/background separation: DeepFilterNet3 through ONNX Runtime, at any sample rate and
//! channel count, streamed in bounded memory.
//!
//! `speech` is the model's output (blended toward the input by `strength` and `atten_lim_db`);
//! `background` is the input minus `speech`, so the two stems sum back to the input.

pub mod dfn3;
mod stems;

pub use dfn3::{enhance, ChunkConfig, Dfn3, Dfn3Session, Dfn3Stream, GraphOutput};
pub use stems::{separate_file, stem_paths, SeparateConfig, SeparateSummary, Separator};

use std::path::PathBuf;

use crate::audio::AudioError;
use crate::models::ModelError;

/// What went wrong separating a file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SeparateError {
    /// Reading the input or writing a stem failed.
    #[error(transparent)]
    Audio(#[from] AudioError),
    /// The model could not be loaded or run.
    #[error("{}: {source}", path.display())]
    Model {
        /// The input being separated.
        path: PathBuf,
        /// The model error.
        source: ModelError,
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
