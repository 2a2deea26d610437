//! Rumble high-pass: a Butterworth cascade of biquads (biquad crate), slope 12–48 dB/octave.

use biquad::{Biquad, Coefficients, DirectForm2Transposed, ToHertz, Type};
use serde::Serialize;

use super::{invalid, DspError, Stage};

/// Settings of the rumble high-pass.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HighpassConfig {
    /// Cutoff (−3 dB point) in Hz.
    pub cutoff_hz: f64,
    /// Slope in dB per octave: 12, 24, 36 or 48 (Butterworth order 2, 4, 6, 8).
    pub slope_db_per_octave: u32,
}

impl Default for HighpassConfig {
    fn default() -> Self {
        Self {
            cutoff_hz: 80.0,
            slope_db_per_octave: 24,
        }
    }
}

/// A Butterworth high-pass of even order; zero latency (minimum-phase IIR).
pub struct HighPass {
    sections: Vec<DirectForm2Transposed<f64>>,
}

impl HighPass {
    /// Designs the filter for `sample_rate` Hz.
    pub fn new(config: &HighpassConfig, sample_rate: u32) -> Result<Self, DspError> {
        let sr = f64::from(sample_rate);
        if !(config.cutoff_hz > 0.0 && config.cutoff_hz < 0.45 * sr) {
            return Err(invalid(
                "highpass cutoff",
                format!(
                    "{} Hz is not between 0 and {:.0} Hz at {sample_rate} Hz",
                    config.cutoff_hz,
                    0.45 * sr
                ),
            ));
        }
        let order = match config.slope_db_per_octave {
            12 => 2,
            24 => 4,
            36 => 6,
            48 => 8,
            other => {
                return Err(invalid(
                    "highpass slope",
                    format!("{other} dB/octave; use 12, 24, 36 or 48"),
                ))
            }
        };
        let mut sections = Vec::with_capacity(order / 2);
        for k in 0..order / 2 {
            // Butterworth pole pairs: Q_k = 1 / (2 cos((2k+1)π / (2N))).
            let theta = std::f64::consts::PI * (2 * k + 1) as f64 / (2 * order) as f64;
            let q = 1.0 / (2.0 * theta.cos());
            let c =
                Coefficients::<f64>::from_params(Type::HighPass, sr.hz(), config.cutoff_hz.hz(), q)
                    .map_err(|e| invalid("highpass", format!("{e:?}")))?;
            sections.push(DirectForm2Transposed::<f64>::new(c));
        }
        Ok(Self { sections })
    }
}

impl HighPass {
    /// Filters two channels in place with two filters of the same design, in one loop (faster
    /// than one after the other; the same result as [`Stage::process`] on each).
    pub fn process_pair(filters: [&mut HighPass; 2], a: &mut [f32], b: &mut [f32]) {
        let [fa, fb] = filters;
        super::run_cascade_pair([&mut fa.sections, &mut fb.sections], a, b);
    }
}

impl Stage for HighPass {
    fn latency(&self) -> usize {
        0
    }
    fn process(&mut self, input: &[f32], output: &mut [f32]) {
        super::run_cascade(&mut self.sections, input, output);
    }
    fn reset(&mut self) {
        self.sections.iter_mut().for_each(|s| s.reset_state());
    }
}
