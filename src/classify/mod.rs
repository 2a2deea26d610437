//! Ambience tagging: YAMNet scores and embeddings, signal features, the product taxonomy.
//!
//! ```no_run
//! use roomtone::classify::{TagConfig, Tagger};
//! use roomtone::models::ModelContext;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The models scripts/setup.sh fetched; one worker per thread that tags.
//! let tagger = Tagger::load(&ModelContext::from_env())?;
//! let mut worker = tagger.worker(&TagConfig::default())?;
//! let tags = worker.tag("take1.wav".as_ref())?;
//! println!("{}: {} ({} segments)", tags.path, tags.ambience, tags.segments.len());
//! # Ok(())
//! # }
//! ```

mod analysis;
mod head;
mod signal;
mod tagger;
mod taxonomy;
mod vad;
mod yamnet;

pub use analysis::{Analyser, FileSummary, PatchAnalysis};
pub use head::{Activation, Head, Pooling};
pub use signal::SIGNAL_FEATURES;
pub use tagger::{
    AmbienceModel, ClassScore, LabelScore, Segment, TagConfig, TagResult, TagWorker, Tagger,
};
pub use taxonomy::{Aggregate, Label, LabelKind, Taxonomy};
pub use vad::{regions, GatedVad, RegionParams, SpeechSegment, Vad, VadSession};
pub use yamnet::{PatchOutput, Yamnet, YamnetSession, N_CLASSES};

use crate::audio::AudioError;
use crate::models::ModelError;

/// What went wrong tagging a file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TagError {
    /// The file could not be read.
    #[error(transparent)]
    Audio(#[from] AudioError),
    /// The model could not be loaded or run.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A bug was hit while tagging this file (a caught panic).
    #[error(transparent)]
    Internal(#[from] crate::guard::InternalError),
    /// A tagging data file (the taxonomy, the classifier head) is invalid.
    #[error("{}: {reason}", path.display())]
    Data {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The model's front-end settings are invalid.
    #[error(transparent)]
    Features(#[from] crate::features::FeatureError),
    /// A tagging option is out of its range.
    #[error("invalid {name}: {reason}")]
    InvalidOption {
        /// The option, as the command line spells it.
        name: &'static str,
        /// Expected versus found.
        reason: String,
    },
}
