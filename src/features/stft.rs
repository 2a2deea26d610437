//! Short-time Fourier transform with plans and scratch made once (realfft).

use std::str::FromStr;
use std::sync::Arc;

use realfft::num_complex::Complex32;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use super::{invalid, FeatureError};

/// Analysis window shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Window {
    /// Periodic Hann, `0.5 - 0.5 cos(2πn/N)` (the FFT-friendly variant used by torch and TF).
    HannPeriodic,
    /// Rectangular (all ones).
    Rectangular,
}

impl FromStr for Window {
    type Err = FeatureError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "hann-periodic" | "hann" => Ok(Self::HannPeriodic),
            "rectangular" | "boxcar" => Ok(Self::Rectangular),
            other => Err(invalid(
                "window",
                format!("{other:?} is not hann-periodic or rectangular"),
            )),
        }
    }
}

impl Window {
    /// The window's `len` coefficients, computed in f64.
    pub(crate) fn coefficients(self, len: usize) -> Vec<f32> {
        (0..len)
            .map(|n| match self {
                Self::HannPeriodic => {
                    let x = std::f64::consts::TAU * n as f64 / len as f64;
                    (0.5 - 0.5 * x.cos()) as f32
                }
                Self::Rectangular => 1.0,
            })
            .collect()
    }
}

/// Frame layout of an STFT, in samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StftParams {
    /// FFT length; also the frame length.
    pub n_fft: usize,
    /// Window length (≤ `n_fft`); the window is centred in the frame, zero-padded on both sides.
    pub win_length: usize,
    /// Hop between frames.
    pub hop_length: usize,
    /// Window shape.
    pub window: Window,
}

impl StftParams {
    /// Checks the lengths.
    pub(crate) fn validate(&self) -> Result<(), FeatureError> {
        if self.n_fft < 2 {
            return Err(invalid("n_fft", format!("{} < 2", self.n_fft)));
        }
        if self.win_length == 0 || self.win_length > self.n_fft {
            return Err(invalid(
                "win_length",
                format!("{} not in 1..={}", self.win_length, self.n_fft),
            ));
        }
        if self.hop_length == 0 {
            return Err(invalid("hop_length", "0"));
        }
        Ok(())
    }

    /// Number of frequency bins, `n_fft / 2 + 1`.
    pub(crate) fn bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// Number of whole frames in `len` samples (frames start at 0, hop, 2·hop …; no padding).
    pub fn frames_in(&self, len: usize) -> usize {
        if len < self.n_fft {
            0
        } else {
            1 + (len - self.n_fft) / self.hop_length
        }
    }

    /// The window zero-padded to `n_fft`, with `(n_fft - win_length) / 2` zeros on the left (torch.stft).
    pub(crate) fn padded_window(&self) -> Vec<f32> {
        let mut w = vec![0.0; self.n_fft];
        let left = (self.n_fft - self.win_length) / 2;
        w[left..left + self.win_length].copy_from_slice(&self.window.coefficients(self.win_length));
        w
    }
}

/// Forward STFT of single frames: window, real FFT (unnormalised), complex spectrum.
pub struct Stft {
    params: StftParams,
    window: Vec<f32>,
    fft: Arc<dyn RealToComplex<f32>>,
    input: Vec<f32>,
    spectrum: Vec<Complex32>,
    scratch: Vec<Complex32>,
}

impl Stft {
    /// Plans the FFT and allocates every buffer once.
    pub fn new(params: StftParams) -> Result<Self, FeatureError> {
        params.validate()?;
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(params.n_fft);
        Ok(Self {
            window: params.padded_window(),
            input: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            fft,
            params,
        })
    }

    /// Spectrum (`n_fft/2 + 1` bins) of one frame of exactly `n_fft` samples.
    pub fn analyse(&mut self, frame: &[f32]) -> &[Complex32] {
        debug_assert_eq!(frame.len(), self.params.n_fft);
        for ((dst, &x), &w) in self.input.iter_mut().zip(frame).zip(&self.window) {
            *dst = x * w;
        }
        // Lengths are fixed at construction, so the transform cannot fail.
        let _ =
            self.fft
                .process_with_scratch(&mut self.input, &mut self.spectrum, &mut self.scratch);
        &self.spectrum
    }
}

/// Inverse STFT by weighted overlap-add: each frame is inverse-transformed, windowed again, added, and
/// normalised by the overlapping windows' summed squares, so analysis followed by synthesis
/// reconstructs the signal wherever every overlapping frame is present.
pub struct Istft {
    params: StftParams,
    window: Vec<f32>,
    ifft: Arc<dyn ComplexToReal<f32>>,
    spectrum: Vec<Complex32>,
    frame: Vec<f32>,
    scratch: Vec<Complex32>,
    /// Overlap-add accumulator of `n_fft` samples; the first `hop` are complete after each frame.
    acc: Vec<f32>,
    /// `1 / Σ_k w²(n + k·hop)` for n in 0..hop (steady state).
    norm: Vec<f32>,
}

impl Istft {
    /// Plans the inverse FFT and precomputes the overlap normalisation.
    pub fn new(params: StftParams) -> Result<Self, FeatureError> {
        params.validate()?;
        if params.hop_length > params.n_fft {
            return Err(invalid("hop_length", "must not exceed n_fft for synthesis"));
        }
        let window = params.padded_window();
        let hop = params.hop_length;
        let mut norm = vec![0.0f64; hop];
        for (n, w) in window.iter().enumerate() {
            norm[n % hop] += f64::from(*w) * f64::from(*w);
        }
        if norm.iter().any(|&s| s < 1e-8) {
            return Err(invalid(
                "hop_length",
                "the windows do not overlap enough to be inverted",
            ));
        }
        let ifft = RealFftPlanner::<f32>::new().plan_fft_inverse(params.n_fft);
        Ok(Self {
            spectrum: ifft.make_input_vec(),
            frame: ifft.make_output_vec(),
            scratch: ifft.make_scratch_vec(),
            ifft,
            acc: vec![0.0; params.n_fft],
            norm: norm.iter().map(|s| (1.0 / s) as f32).collect(),
            window,
            params,
        })
    }

    /// Adds frame `k`'s spectrum and writes samples `k·hop .. (k+1)·hop` of the signal into `out`.
    ///
    /// Those samples are exact once every frame overlapping them has been added, that is from
    /// sample `n_fft - hop` on; the first frames only see part of their window sum.
    pub fn synthesise(&mut self, spectrum: &[Complex32], out: &mut [f32]) {
        let (n, hop) = (self.params.n_fft, self.params.hop_length);
        self.spectrum.copy_from_slice(spectrum);
        // A real signal's DC and Nyquist bins are real; drop any rounding residue so the inverse accepts them.
        self.spectrum[0].im = 0.0;
        if n % 2 == 0 {
            self.spectrum[n / 2].im = 0.0;
        }
        let _ =
            self.ifft
                .process_with_scratch(&mut self.spectrum, &mut self.frame, &mut self.scratch);
        let scale = 1.0 / n as f32;
        for ((a, &y), &w) in self.acc.iter_mut().zip(&self.frame).zip(&self.window) {
            *a += y * scale * w;
        }
        for (i, o) in out[..hop].iter_mut().enumerate() {
            *o = self.acc[i] * self.norm[i];
        }
        self.acc.copy_within(hop.., 0);
        self.acc[n - hop..].fill(0.0);
    }

    /// Clears the overlap buffer.
    pub(crate) fn reset(&mut self) {
        self.acc.fill(0.0);
    }
}
