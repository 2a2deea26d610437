//! Cleanup of the separated stems: rumble high-pass, mains-hum notches, stationary noise reduction by
//! spectral gating, split-band de-esser and an optional leveller.
//!
//! Every step is a [`Stage`]: it takes blocks of any size into a preallocated output, reports its
//! latency in samples, and has `reset()`; [`run_aligned`] feeds the tail and trims the latency so the
//! output has exactly the input's length and is sample-aligned with it. The order of the chain is
//! fixed and documented in [`CLEANUP_ORDER`].

mod chain;
mod deess;
mod denoise;
mod highpass;
mod hum;
mod leveller;

pub use chain::{clean_stem, CleanupConfig, CleanupReport, CleanupStep, StemRole, CLEANUP_ORDER};
pub use deess::{DeEsser, DeessConfig, DeessReport};
pub use denoise::{DenoiseConfig, DenoiseReport, NoiseProfile, SpectralGate};
pub use highpass::{HighPass, HighpassConfig};
pub(crate) use hum::detect_hum;
pub use hum::{HumConfig, HumDetection, HumLine, HumNotch};
pub(crate) use leveller::Leveller;
pub use leveller::LevellerConfig;

/// Runs `input` through a cascade of biquad sections (in f64) into `output`.
fn run_cascade(
    sections: &mut [biquad::DirectForm2Transposed<f64>],
    input: &[f32],
    output: &mut [f32],
) {
    use biquad::Biquad;
    for (o, &x) in output.iter_mut().zip(input) {
        let mut y = f64::from(x);
        for s in sections.iter_mut() {
            y = s.run(y);
        }
        *o = y as f32;
    }
}

/// Runs two channels through two copies of a cascade, in place, in one loop: the two filter
/// recursions are independent, so the core works on both at once (the same arithmetic per channel
/// as [`run_cascade`]).
fn run_cascade_pair(
    sections: [&mut [biquad::DirectForm2Transposed<f64>]; 2],
    a: &mut [f32],
    b: &mut [f32],
) {
    use biquad::Biquad;
    let [sa, sb] = sections;
    for (x, y) in a.iter_mut().zip(b.iter_mut()) {
        let (mut u, mut v) = (f64::from(*x), f64::from(*y));
        for (fa, fb) in sa.iter_mut().zip(sb.iter_mut()) {
            u = fa.run(u);
            v = fb.run(v);
        }
        *x = u as f32;
        *y = v as f32;
    }
}

/// What is wrong with a cleanup parameter.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DspError {
    /// A parameter is out of range for this sample rate or inconsistent with another.
    #[error("invalid cleanup parameter {name}: {reason}")]
    InvalidParameter {
        /// The parameter.
        name: &'static str,
        /// Expected versus found.
        reason: String,
    },
    /// A name in a cleanup list is not a known step.
    #[error(
        "unknown cleanup step {found:?}; expected some of highpass, hum, denoise, deess, level"
    )]
    UnknownStep {
        /// What was given.
        found: String,
    },
}

pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> DspError {
    DspError::InvalidParameter {
        name,
        reason: reason.into(),
    }
}

/// A mono streaming stage: blocks of any length in, the same number of samples out.
pub trait Stage: Send {
    /// Delay of the output behind the input, in samples.
    fn latency(&self) -> usize;
    /// Processes `input` into `output` (same length). Output sample `i` corresponds to input sample
    /// `i - latency()` counted over the whole stream.
    fn process(&mut self, input: &[f32], output: &mut [f32]);
    /// Forgets all state, as if newly made.
    fn reset(&mut self);
    /// Pushes `latency()` zeros through and writes the delayed tail into `output`
    /// (which must hold `latency()` samples).
    fn flush(&mut self, output: &mut [f32]) {
        let zeros = vec![0.0f32; output.len()];
        self.process(&zeros, output);
    }
}

/// Block length used by [`run_aligned`], in samples.
pub(crate) const BLOCK: usize = 4096;

/// Runs `stage` over `signal` in 4096-sample blocks, in place, compensating its latency: the
/// result has the same length and alignment as the input.
pub fn run_aligned(stage: &mut dyn Stage, signal: &mut [f32]) {
    let latency = stage.latency();
    let len = signal.len();
    let mut out = vec![0.0f32; BLOCK];
    // `block[k]` is output sample `produced_from + k`, which is input sample
    // `produced_from + k - latency`: copy the part that lands inside the signal.
    let emit = |block: &[f32], produced_from: usize, signal: &mut [f32]| {
        let first = produced_from.max(latency);
        let last = (produced_from + block.len()).min(len + latency);
        if first < last {
            signal[first - latency..last - latency]
                .copy_from_slice(&block[first - produced_from..last - produced_from]);
        }
    };
    // The stage reads ahead of what we write, so copy the input block before overwriting.
    let mut inbuf = vec![0.0f32; BLOCK];
    let mut pos = 0usize;
    while pos < len {
        let n = BLOCK.min(len - pos);
        inbuf[..n].copy_from_slice(&signal[pos..pos + n]);
        stage.process(&inbuf[..n], &mut out[..n]);
        emit(&out[..n], pos, signal);
        pos += n;
    }
    if latency > 0 {
        let mut tail = vec![0.0f32; latency];
        stage.flush(&mut tail);
        emit(&tail, pos, signal);
    }
}

/// Decibels to a linear amplitude factor.
pub(crate) fn db_to_gain(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

/// Coefficient of a one-pole smoother with time constant `seconds` at `rate` updates per second.
pub(crate) fn one_pole(seconds: f64, rate: f64) -> f64 {
    if seconds <= 0.0 {
        0.0
    } else {
        (-1.0 / (seconds * rate)).exp()
    }
}
