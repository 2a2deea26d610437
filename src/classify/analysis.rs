//! One pass over a file: decode → mono → 16 kHz → log-mel patches → YAMNet + signal features.

use std::path::Path;

use super::signal::{SignalAnalyser, SIGNAL_FEATURES};
use super::yamnet::{Yamnet, YamnetSession};
use super::TagError;
use crate::audio::AudioReader;
use crate::features::{FrontEnd, LogMel};
use crate::models::SessionOptions;

/// What one patch (0.96 s at the default front end) holds.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchAnalysis {
    /// Patch start in seconds from the start of the file.
    pub start_s: f64,
    /// Patch end in seconds (clipped to the file's duration).
    pub end_s: f64,
    /// YAMNet's 521 AudioSet class probabilities.
    pub scores: Vec<f32>,
    /// YAMNet's 1024-value embedding.
    pub embedding: Vec<f32>,
    /// The values named by [`SIGNAL_FEATURES`].
    pub signal: [f32; SIGNAL_FEATURES.len()],
    /// Mean log-mel value per mel band over the patch's frames (natural log; low band first): a
    /// column of a coarse spectrogram, as drawn in the batch report.
    pub mel_band_mean: Vec<f32>,
}

/// Per-worker analysis state: a YAMNet session plus the front end's buffers.
pub struct Analyser<'m> {
    model: &'m Yamnet,
    session: YamnetSession<'m>,
    mel: LogMel,
    signal: SignalAnalyser,
    hop_frames: usize,
}

/// What the pass learned about the file as a whole.
#[derive(Debug, Clone, PartialEq)]
pub struct FileSummary {
    /// Decoded duration in seconds.
    pub duration_s: f64,
    /// Number of patches analysed.
    pub patches: usize,
    /// What was repaired while decoding (see [`crate::audio::DamagedSamples`]).
    pub warnings: Vec<String>,
}

impl<'m> Analyser<'m> {
    /// A worker for `model`, with patches every `hop_s` seconds (rounded to whole 10 ms frames).
    pub fn new(model: &'m Yamnet, hop_s: f64, options: SessionOptions) -> Result<Self, TagError> {
        let params = model.mel_params().clone();
        let frame_s = params.stft.hop_length as f64 / f64::from(params.sample_rate);
        let hop_frames = ((hop_s / frame_s).round() as usize).max(1);
        let patch_samples = (model.patch_frames() - 1) * params.stft.hop_length + params.stft.n_fft;
        Ok(Self {
            session: model.session(options)?,
            signal: SignalAnalyser::new(params.sample_rate, patch_samples),
            mel: LogMel::new(params)?,
            hop_frames,
            model,
        })
    }

    /// Streams `path` and calls `on_patch` for each patch, in time order. A file shorter than one
    /// patch is padded with silence; a tail longer than half a hop gets a final patch aligned to the end.
    pub fn analyse(
        &mut self,
        path: &Path,
        on_patch: impl FnMut(&PatchAnalysis),
    ) -> Result<FileSummary, TagError> {
        self.analyse_with(path, on_patch, |_| Ok(()))
    }

    /// [`Analyser::analyse`], also handing the model-rate mono samples to `on_samples` as they are
    /// decoded (every sample once, in order), e.g. for a voice-activity model at the same rate.
    pub(crate) fn analyse_with(
        &mut self,
        path: &Path,
        mut on_patch: impl FnMut(&PatchAnalysis),
        mut on_samples: impl FnMut(&[f32]) -> Result<(), TagError>,
    ) -> Result<FileSummary, TagError> {
        let params = self.model.mel_params().clone();
        let (frame_hop, n_mels) = (params.stft.hop_length, params.n_mels);
        let patch_frames = self.model.patch_frames();
        let patch_samples = (patch_frames - 1) * frame_hop + params.stft.n_fft;
        let sr = f64::from(params.sample_rate);

        let mut reader = AudioReader::open(path)?;
        let mut front = FrontEnd::new(&mut reader, params.sample_rate)?;
        // Frames and samples from `base_frame` on (samples from `base_frame · frame_hop`).
        let mut frames: Vec<f32> = Vec::new();
        let mut samples: Vec<f32> = Vec::new();
        let mut base_frame = 0usize;
        let mut next_start = 0usize;
        let mut total_samples = 0usize;
        let mut patches = 0usize;
        let mut last_end_frame = 0usize;
        self.mel.reset();

        loop {
            let before = samples.len();
            if !front.next(&mut self.mel, &mut samples, &mut frames)? {
                break;
            }
            total_samples += samples.len() - before;
            on_samples(&samples[before..])?;
            // Every patch whose frames are all here.
            while (next_start + patch_frames - base_frame) * n_mels <= frames.len() {
                let f0 = (next_start - base_frame) * n_mels;
                let s0 = (next_start - base_frame) * frame_hop;
                let s1 = (s0 + patch_samples).min(samples.len());
                let patch = self.run_patch(
                    &frames[f0..f0 + patch_frames * n_mels],
                    &samples[s0..s1],
                    next_start as f64 * frame_hop as f64 / sr,
                    total_samples as f64 / sr,
                )?;
                on_patch(&patch);
                patches += 1;
                last_end_frame = next_start + patch_frames;
                next_start += self.hop_frames;
            }
            // Drop what no future patch needs, keeping one patch's worth for the end.
            let keep_from =
                next_start.min(base_frame + (frames.len() / n_mels).saturating_sub(patch_frames));
            if keep_from > base_frame {
                let drop = keep_from - base_frame;
                frames.drain(..drop * n_mels);
                samples.drain(..(drop * frame_hop).min(samples.len()));
                base_frame = keep_from;
            }
        }
        let have_frames = frames.len() / n_mels;
        let total_frames = base_frame + have_frames;
        let tail = total_frames.saturating_sub(last_end_frame);
        if patches == 0 || tail * 2 > self.hop_frames {
            // Short file or uncovered tail: one more patch ending at the last frame, silence-padded.
            let floor = params.log_offset.ln();
            let start = total_frames.saturating_sub(patch_frames).max(base_frame);
            let f0 = (start - base_frame) * n_mels;
            let mut patch_mel = frames[f0..].to_vec();
            patch_mel.resize(patch_frames * n_mels, floor);
            let s0 = ((start - base_frame) * frame_hop).min(samples.len());
            let patch = self.run_patch(
                &patch_mel,
                &samples[s0..],
                start as f64 * frame_hop as f64 / sr,
                total_samples as f64 / sr,
            )?;
            on_patch(&patch);
            patches += 1;
        }
        Ok(FileSummary {
            duration_s: reader.decoded_frames() as f64 / f64::from(reader.info().sample_rate),
            patches,
            warnings: reader
                .damaged_samples()
                .map(|d| d.describe(reader.info().sample_rate))
                .into_iter()
                .collect(),
        })
    }

    fn run_patch(
        &mut self,
        mel: &[f32],
        samples: &[f32],
        start_s: f64,
        available_s: f64,
    ) -> Result<PatchAnalysis, TagError> {
        let out = self.session.run(mel)?;
        let n_mels = self.model.mel_params().n_mels;
        let mut mel_band_mean = vec![0.0f32; n_mels];
        for frame in mel.chunks_exact(n_mels) {
            for (m, &v) in mel_band_mean.iter_mut().zip(frame) {
                *m += v;
            }
        }
        let n_frames = (mel.len() / n_mels).max(1) as f32;
        mel_band_mean.iter_mut().for_each(|m| *m /= n_frames);
        let sr = f64::from(self.model.mel_params().sample_rate);
        let signal = if samples.is_empty() {
            [0.0; SIGNAL_FEATURES.len()]
        } else {
            self.signal.analyse(samples)
        };
        let patch_s = ((self.model.patch_frames() - 1) * self.model.mel_params().stft.hop_length
            + self.model.mel_params().stft.n_fft) as f64
            / sr;
        Ok(PatchAnalysis {
            start_s,
            end_s: (start_s + patch_s).min(available_s.max(start_s)),
            scores: out.scores,
            embedding: out.embedding,
            signal,
            mel_band_mean,
        })
    }
}
