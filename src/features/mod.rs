//! Spectral features: STFT analysis and synthesis (realfft) and log-mel spectrograms.

mod mel;
mod stft;

pub use mel::{LogMel, MelNorm, MelParams, MelScale};
pub use stft::{Istft, Stft, StftParams, Window};

/// What is wrong with a set of feature parameters.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FeatureError {
    /// A parameter is out of range or inconsistent with another.
    #[error("invalid front-end parameter {name}: {reason}")]
    InvalidParameter {
        /// The parameter.
        name: &'static str,
        /// Expected versus found.
        reason: String,
    },
}

pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> FeatureError {
    FeatureError::InvalidParameter {
        name,
        reason: reason.into(),
    }
}
