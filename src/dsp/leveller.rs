//! A gentle dialogue leveller: a feed-forward RMS compressor with soft attack/release, linked across
//! nothing (one per channel). Off by default; the remix report gives its effect on loudness range.

use serde::Serialize;

use super::{invalid, one_pole, DspError, Stage};

/// Settings of the leveller.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LevellerConfig {
    /// Level (dBFS RMS) above which gain is reduced.
    pub threshold_db: f64,
    /// Compression ratio.
    pub ratio: f64,
    /// Attack time constant, seconds.
    pub attack_s: f64,
    /// Release time constant, seconds.
    pub release_s: f64,
}

impl Default for LevellerConfig {
    fn default() -> Self {
        Self {
            threshold_db: -30.0,
            ratio: 2.0,
            attack_s: 0.02,
            release_s: 0.3,
        }
    }
}

/// The leveller stage (zero latency).
pub(crate) struct Leveller {
    threshold_db: f64,
    slope: f64,
    rms_coef: f64,
    attack: f64,
    release: f64,
    ms: f64,
    red_db: f64,
}

impl Leveller {
    /// A leveller at `sample_rate` Hz.
    pub(crate) fn new(config: &LevellerConfig, sample_rate: u32) -> Result<Self, DspError> {
        if config.ratio < 1.0 {
            return Err(invalid("leveller ratio", format!("{} < 1", config.ratio)));
        }
        let sr = f64::from(sample_rate);
        Ok(Self {
            threshold_db: config.threshold_db,
            slope: 1.0 - 1.0 / config.ratio,
            rms_coef: one_pole(0.01, sr),
            attack: one_pole(config.attack_s, sr),
            release: one_pole(config.release_s, sr),
            ms: 0.0,
            red_db: 0.0,
        })
    }
}

impl Stage for Leveller {
    fn latency(&self) -> usize {
        0
    }
    fn process(&mut self, input: &[f32], output: &mut [f32]) {
        for (o, &x) in output.iter_mut().zip(input) {
            let x = f64::from(x);
            self.ms = self.rms_coef * self.ms + (1.0 - self.rms_coef) * x * x;
            let level_db = 10.0 * (2.0 * self.ms).max(1e-12).log10();
            let want = ((level_db - self.threshold_db) * self.slope).max(0.0);
            let c = if want > self.red_db {
                self.attack
            } else {
                self.release
            };
            self.red_db = c * self.red_db + (1.0 - c) * want;
            *o = (x * 10f64.powf(-self.red_db / 20.0)) as f32;
        }
    }
    fn reset(&mut self) {
        self.ms = 0.0;
        self.red_db = 0.0;
    }
}
