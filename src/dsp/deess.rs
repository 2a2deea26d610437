//! Split-band de-esser: the 5–9 kHz band is taken out with a high-pass/low-pass pair, turned down
//! while its level is above the threshold, and added back (x − band + g·band), so the rest of the
//! spectrum passes untouched and the stage is exactly transparent when it does not act.

use biquad::{Biquad, Coefficients, DirectForm2Transposed, ToHertz, Type, Q_BUTTERWORTH_F64};
use serde::Serialize;

use super::{invalid, one_pole, DspError, Stage};

/// Settings of the de-esser.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DeessConfig {
    /// Lower edge of the sibilance band, Hz.
    pub low_hz: f64,
    /// Upper edge of the sibilance band, Hz.
    pub high_hz: f64,
    /// Band level (dBFS, peak envelope) above which the band is turned down.
    pub threshold_db: f64,
    /// Compression ratio above the threshold.
    pub ratio: f64,
    /// Largest reduction of the band, dB.
    pub max_reduction_db: f64,
}

impl Default for DeessConfig {
    fn default() -> Self {
        Self {
            low_hz: 5000.0,
            high_hz: 9000.0,
            threshold_db: -30.0,
            ratio: 4.0,
            max_reduction_db: 12.0,
        }
    }
}

/// What the de-esser did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DeessReport {
    /// Threshold used, dBFS.
    pub threshold_db: f64,
    /// Fraction of the time the band was turned down by more than 1 dB.
    pub active_fraction: f64,
    /// Largest reduction applied, dB.
    pub max_reduction_db: f64,
}

/// The de-esser stage (zero latency).
pub struct DeEsser {
    hp: [DirectForm2Transposed<f64>; 2],
    lp: [DirectForm2Transposed<f64>; 2],
    threshold_db: f64,
    threshold_lin: f64,
    slope: f64,
    max_red_db: f64,
    attack: f64,
    release: f64,
    env: f64,
    gain_smooth: f64,
    active: u64,
    total: u64,
    deepest_db: f64,
    /// 1 dB as a gain factor: reductions deeper than this count as active.
    one_db: f64,
}

impl DeEsser {
    /// Designs the band filters for `sample_rate` Hz; the band must lie below 0.45 × the rate.
    pub fn new(config: &DeessConfig, sample_rate: u32) -> Result<Self, DspError> {
        let sr = f64::from(sample_rate);
        if !(config.low_hz > 0.0 && config.low_hz < config.high_hz && config.high_hz < 0.45 * sr) {
            return Err(invalid(
                "de-esser band",
                format!(
                    "{}–{} Hz does not fit below {:.0} Hz at {sample_rate} Hz",
                    config.low_hz,
                    config.high_hz,
                    0.45 * sr
                ),
            ));
        }
        if config.ratio < 1.0 {
            return Err(invalid("de-esser ratio", format!("{} < 1", config.ratio)));
        }
        let mk = |t: Type<f64>, f: f64| {
            Coefficients::<f64>::from_params(t, sr.hz(), f.hz(), Q_BUTTERWORTH_F64)
                .map(DirectForm2Transposed::<f64>::new)
                .map_err(|e| invalid("de-esser", format!("{e:?}")))
        };
        Ok(Self {
            hp: [
                mk(Type::HighPass, config.low_hz)?,
                mk(Type::HighPass, config.low_hz)?,
            ],
            lp: [
                mk(Type::LowPass, config.high_hz)?,
                mk(Type::LowPass, config.high_hz)?,
            ],
            threshold_db: config.threshold_db,
            threshold_lin: 10f64.powf(config.threshold_db / 20.0),
            slope: 1.0 - 1.0 / config.ratio,
            max_red_db: config.max_reduction_db,
            attack: one_pole(0.001, sr),
            release: one_pole(0.06, sr),
            env: 0.0,
            gain_smooth: 1.0,
            active: 0,
            total: 0,
            deepest_db: 0.0,
            one_db: 10f64.powf(-1.0 / 20.0),
        })
    }

    /// What it did so far.
    pub fn report(&self) -> DeessReport {
        DeessReport {
            threshold_db: self.threshold_db,
            active_fraction: if self.total == 0 {
                0.0
            } else {
                self.active as f64 / self.total as f64
            },
            max_reduction_db: self.deepest_db,
        }
    }
}

impl DeEsser {
    /// One sample.
    #[inline(always)]
    fn step(&mut self, x: f32) -> f32 {
        let x = f64::from(x);
        let mut band = x;
        for f in &mut self.hp {
            band = f.run(band);
        }
        for f in &mut self.lp {
            band = f.run(band);
        }
        let a = band.abs();
        // Both candidates, then a pick: rising or falling is noise-like in the band, and a branch
        // on it would be mispredicted half the time.
        let rising = self.attack * self.env + (1.0 - self.attack) * a;
        let falling = self.release * self.env + (1.0 - self.release) * a;
        self.env = if a > self.env { rising } else { falling };
        // Logarithms only while the band is over the threshold (rarely): cheap when idle.
        let g = if self.env > self.threshold_lin {
            let over = 20.0 * (self.env / self.threshold_lin).log10();
            let red = (over * self.slope).min(self.max_red_db);
            if red > self.deepest_db {
                self.deepest_db = red;
            }
            10f64.powf(-red / 20.0)
        } else {
            1.0
        };
        self.gain_smooth = g;
        if g < self.one_db {
            self.active += 1;
        }
        self.total += 1;
        (x - band + self.gain_smooth * band) as f32
    }

    /// De-esses two channels in place with two de-essers, in one loop (faster than one after the
    /// other; the same result as [`Stage::process`] on each).
    pub fn process_pair(stages: [&mut DeEsser; 2], a: &mut [f32], b: &mut [f32]) {
        let [sa, sb] = stages;
        for (x, y) in a.iter_mut().zip(b.iter_mut()) {
            *x = sa.step(*x);
            *y = sb.step(*y);
        }
    }
}

impl Stage for DeEsser {
    fn latency(&self) -> usize {
        0
    }
    fn process(&mut self, input: &[f32], output: &mut [f32]) {
        for (o, &x) in output.iter_mut().zip(input) {
            *o = self.step(x);
        }
    }
    fn reset(&mut self) {
        self.hp.iter_mut().for_each(|f| f.reset_state());
        self.lp.iter_mut().for_each(|f| f.reset_state());
        self.env = 0.0;
        self.gain_smooth = 1.0;
        self.active = 0;
        self.total = 0;
        self.deepest_db = 0.0;
    }
}
