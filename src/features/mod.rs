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

use crate::audio::{AudioBlock, AudioError, AudioReader, StreamResampler};

/// Streams a file through the model front end: decode → mono downmix → resample to the front end's
/// rate → log-mel. Each block's new frames (row-major, `n_mels` per frame) go to `sink`; memory stays
/// bounded by one block whatever the file's length. Returns the number of frames produced.
pub fn log_mel_stream(
    reader: &mut AudioReader,
    mel: &mut LogMel,
    mut sink: impl FnMut(&[f32]),
) -> Result<u64, AudioError> {
    let rate = reader.info().sample_rate;
    let mut resampler = StreamResampler::new(rate, mel.params().sample_rate, 1)?;
    let mut block = AudioBlock::default();
    let mut mono = vec![Vec::new()];
    let mut resampled = AudioBlock::default();
    let mut frames = Vec::new();
    let mut total = 0u64;
    mel.reset();
    let mut feed = |resampled: &AudioBlock, frames: &mut Vec<f32>, mel: &mut LogMel| {
        frames.clear();
        let n = mel.push(&resampled.channels[0], frames);
        if n > 0 {
            sink(frames);
        }
        n as u64
    };
    while reader.next_block(&mut block)? {
        block.downmix_into(&mut mono[0]);
        resampler.process(&mono, &mut resampled)?;
        total += feed(&resampled, &mut frames, mel);
    }
    resampler.finish(&mut resampled)?;
    total += feed(&resampled, &mut frames, mel);
    Ok(total)
}
