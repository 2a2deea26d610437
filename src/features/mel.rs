//! Log-mel spectrogram driven by a model manifest's front-end parameters.

use std::str::FromStr;

use super::stft::{Stft, StftParams, Window};
use super::{invalid, FeatureError};

/// Mel frequency scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MelScale {
    /// HTK: `2595 log10(1 + f/700)`.
    Htk,
    /// Slaney (Auditory Toolbox): linear below 1 kHz, logarithmic above.
    Slaney,
}

impl FromStr for MelScale {
    type Err = FeatureError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "htk" => Ok(Self::Htk),
            "slaney" => Ok(Self::Slaney),
            other => Err(invalid(
                "mel scale",
                format!("{other:?} is not htk or slaney"),
            )),
        }
    }
}

/// Band weighting of the mel filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MelNorm {
    /// Triangles peak at 1.
    None,
    /// Slaney area normalisation: each triangle scaled by `2 / (f_high - f_low)`.
    Slaney,
}

impl FromStr for MelNorm {
    type Err = FeatureError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(Self::None),
            "slaney" => Ok(Self::Slaney),
            other => Err(invalid(
                "mel norm",
                format!("{other:?} is not none or slaney"),
            )),
        }
    }
}

/// Everything that defines a log-mel front end.
#[derive(Debug, Clone, PartialEq)]
pub struct MelParams {
    /// Sample rate of the input in Hz.
    pub sample_rate: u32,
    /// Frame layout.
    pub stft: StftParams,
    /// Number of mel bands.
    pub n_mels: usize,
    /// Lowest band edge in Hz.
    pub fmin_hz: f64,
    /// Highest band edge in Hz.
    pub fmax_hz: f64,
    /// Mel scale.
    pub scale: MelScale,
    /// Filter normalisation.
    pub norm: MelNorm,
    /// Exponent applied to the magnitude spectrum before the filterbank (1 magnitude, 2 power).
    pub power: f32,
    /// Added before the natural log, to bound the log of silence.
    pub log_offset: f32,
}

impl MelParams {
    /// YAMNet's front end: 16 kHz, 25 ms periodic Hann, 10 ms hop, FFT 512, 64 HTK bands 125–7500 Hz,
    /// magnitude, `ln(mel + 0.001)`. Models read theirs from their manifest; this is for tests and docs.
    pub fn yamnet() -> Self {
        Self {
            sample_rate: 16_000,
            stft: StftParams {
                n_fft: 512,
                win_length: 400,
                hop_length: 160,
                window: Window::HannPeriodic,
            },
            n_mels: 64,
            fmin_hz: 125.0,
            fmax_hz: 7500.0,
            scale: MelScale::Htk,
            norm: MelNorm::None,
            power: 1.0,
            log_offset: 0.001,
        }
    }

    /// Checks ranges and consistency.
    pub(crate) fn validate(&self) -> Result<(), FeatureError> {
        self.stft.validate()?;
        let nyquist = f64::from(self.sample_rate) / 2.0;
        if self.stft.hop_length > self.stft.n_fft {
            return Err(invalid("hop_length", "must not exceed n_fft"));
        }
        if self.n_mels == 0 {
            return Err(invalid("n_mels", "0"));
        }
        if !(0.0..nyquist).contains(&self.fmin_hz)
            || self.fmax_hz <= self.fmin_hz
            || self.fmax_hz > nyquist
        {
            return Err(invalid(
                "fmin_hz/fmax_hz",
                format!(
                    "need 0 ≤ fmin < fmax ≤ {nyquist} Hz, found {}–{} Hz",
                    self.fmin_hz, self.fmax_hz
                ),
            ));
        }
        if !self.power.is_finite() || self.power <= 0.0 {
            return Err(invalid("power", format!("{} ≤ 0", self.power)));
        }
        if !self.log_offset.is_finite() || self.log_offset <= 0.0 {
            return Err(invalid("log_offset", format!("{} ≤ 0", self.log_offset)));
        }
        Ok(())
    }
}

/// One mel filter: its weights over the bins `first .. first + weights.len()` (zeros trimmed).
#[derive(Debug, Clone)]
struct Band {
    first: usize,
    weights: Vec<f32>,
}

/// Streaming log-mel spectrogram: push samples in any block sizes, get whole frames out.
///
/// Frame `k` covers input samples `k·hop .. k·hop + n_fft` of the stream since the last
/// [`LogMel::reset`]; pushing a signal in pieces gives exactly the frames of pushing it whole.
pub struct LogMel {
    params: MelParams,
    stft: Stft,
    bands: Vec<Band>,
    /// Samples not yet consumed by a frame: `pending[start..]`.
    pending: Vec<f32>,
    start: usize,
    spectrum: Vec<f32>,
}

impl LogMel {
    /// Builds the filterbank (mel_spec's librosa-compatible one, computed in f64) and plans the FFT.
    pub fn new(params: MelParams) -> Result<Self, FeatureError> {
        params.validate()?;
        let dense = mel_spec::mel::mel(
            f64::from(params.sample_rate),
            params.stft.n_fft,
            params.n_mels,
            Some(params.fmin_hz),
            Some(params.fmax_hz),
            params.scale == MelScale::Htk,
            params.norm == MelNorm::Slaney,
        );
        let bands = dense
            .outer_iter()
            .map(|row| {
                let row: Vec<f64> = row.iter().copied().collect();
                let first = row.iter().position(|&w| w > 0.0).unwrap_or(0);
                let last = row.iter().rposition(|&w| w > 0.0).map_or(first, |l| l + 1);
                Band {
                    first,
                    weights: row[first..last].iter().map(|&w| w as f32).collect(),
                }
            })
            .collect();
        Ok(Self {
            stft: Stft::new(params.stft)?,
            spectrum: vec![0.0; params.stft.bins()],
            pending: Vec::with_capacity(params.stft.n_fft * 4),
            start: 0,
            bands,
            params,
        })
    }

    /// The parameters.
    pub fn params(&self) -> &MelParams {
        &self.params
    }

    /// Number of mel bands per frame.
    pub fn n_mels(&self) -> usize {
        self.params.n_mels
    }

    /// Appends the log-mel frames that `samples` completes to `out` (row-major, `n_mels` per frame)
    /// and returns how many frames were added.
    pub fn push(&mut self, samples: &[f32], out: &mut Vec<f32>) -> usize {
        let StftParams {
            n_fft, hop_length, ..
        } = self.params.stft;
        if self.start > 0 && self.start >= self.pending.len() / 2 {
            self.pending.drain(..self.start);
            self.start = 0;
        }
        self.pending.extend_from_slice(samples);
        let mut frames = 0;
        while self.pending.len() - self.start >= n_fft {
            let spectrum = self
                .stft
                .analyse(&self.pending[self.start..self.start + n_fft]);
            let power = self.params.power;
            for (s, c) in self.spectrum.iter_mut().zip(spectrum) {
                let power_spectrum = c.re * c.re + c.im * c.im;
                *s = if power == 1.0 {
                    power_spectrum.sqrt()
                } else if power == 2.0 {
                    power_spectrum
                } else {
                    power_spectrum.powf(power / 2.0)
                };
            }
            let offset = self.params.log_offset;
            out.extend(self.bands.iter().map(|b| {
                let e: f32 = b
                    .weights
                    .iter()
                    .zip(&self.spectrum[b.first..])
                    .map(|(w, s)| w * s)
                    .sum();
                (e + offset).ln()
            }));
            self.start += hop_length;
            frames += 1;
        }
        frames
    }

    /// Log-mel frames of a whole signal (a fresh stream).
    pub fn compute(&mut self, samples: &[f32]) -> Vec<f32> {
        self.reset();
        let mut out = Vec::with_capacity(self.params.stft.frames_in(samples.len()) * self.n_mels());
        self.push(samples, &mut out);
        out
    }

    /// Forgets buffered samples, so the next push starts a new stream.
    pub fn reset(&mut self) {
        self.pending.clear();
        self.start = 0;
    }
}
