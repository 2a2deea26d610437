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

/// The model front end over a file, one decoded block at a time: decode → mono downmix →
/// resample to the front end's rate → log-mel. Tagging (`classify`) and `log_mel_stream` (the
/// bench's and the example's) run this one loop.
pub(crate) struct FrontEnd<'r> {
    reader: &'r mut AudioReader,
    resampler: StreamResampler,
    block: AudioBlock,
    mono: Vec<Vec<f32>>,
    resampled: AudioBlock,
    ended: bool,
}

impl<'r> FrontEnd<'r> {
    /// A front end reading `reader` (from where it is) and resampling to `rate` Hz.
    pub(crate) fn new(reader: &'r mut AudioReader, rate: u32) -> Result<Self, AudioError> {
        let resampler = StreamResampler::new(reader.info().sample_rate, rate, 1)?;
        Ok(Self {
            reader,
            resampler,
            block: AudioBlock::default(),
            mono: vec![Vec::new()],
            resampled: AudioBlock::default(),
            ended: false,
        })
    }

    /// Decodes the next block, appends its mono samples at the front end's rate to `samples` and
    /// the log-mel frames they complete to `frames` (row-major, `n_mels` per frame). The step after
    /// the last block flushes the resampler. Returns `false`, appending nothing, once that is done.
    pub(crate) fn next(
        &mut self,
        mel: &mut LogMel,
        samples: &mut Vec<f32>,
        frames: &mut Vec<f32>,
    ) -> Result<bool, AudioError> {
        if self.ended {
            return Ok(false);
        }
        if self.reader.next_block(&mut self.block)? {
            self.block.downmix_into(&mut self.mono[0]);
            self.resampler.process(&self.mono, &mut self.resampled)?;
        } else {
            self.resampler.finish(&mut self.resampled)?;
            self.ended = true;
        }
        let x = &self.resampled.channels[0];
        samples.extend_from_slice(x);
        mel.push(x, frames);
        Ok(true)
    }
}

/// Streams a file through the model front end (`FrontEnd`). Each block's new frames (row-major,
/// `n_mels` per frame) go to `sink`; memory stays bounded by one block whatever the file's length.
/// Returns the number of frames produced.
pub fn log_mel_stream(
    reader: &mut AudioReader,
    mel: &mut LogMel,
    mut sink: impl FnMut(&[f32]),
) -> Result<u64, AudioError> {
    let mut front = FrontEnd::new(reader, mel.params().sample_rate)?;
    mel.reset();
    let n_mels = mel.n_mels();
    let (mut samples, mut frames) = (Vec::new(), Vec::new());
    let mut total = 0u64;
    while front.next(mel, &mut samples, &mut frames)? {
        samples.clear();
        if !frames.is_empty() {
            sink(&frames);
            total += (frames.len() / n_mels) as u64;
            frames.clear();
        }
    }
    Ok(total)
}
