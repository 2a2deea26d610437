//! Mains hum: detection of 50/60 Hz and harmonics from the signal's long-term spectrum, and narrow
//! notches (biquad crate) at exactly the lines that were found. Nothing is notched when no hum is found.

use biquad::{Biquad, Coefficients, DirectForm2Transposed, ToHertz, Type};
use realfft::num_complex::Complex32;
use realfft::RealFftPlanner;
use serde::Serialize;

use super::{invalid, DspError, Stage};

/// Settings of hum detection and removal.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HumConfig {
    /// Highest harmonic looked at (1 = the fundamental only).
    pub max_harmonics: usize,
    /// A line must stand this far above the neighbouring spectrum (dB) to count as hum.
    pub min_prominence_db: f64,
    /// Bandwidth of each notch in Hz (−3 dB width).
    pub notch_bandwidth_hz: f64,
}

impl Default for HumConfig {
    fn default() -> Self {
        Self {
            max_harmonics: 8,
            min_prominence_db: 12.0,
            notch_bandwidth_hz: 4.0,
        }
    }
}

/// One spectral line identified as hum.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HumLine {
    /// Harmonic number (1 = fundamental).
    pub harmonic: usize,
    /// Measured frequency in Hz.
    pub freq_hz: f64,
    /// Level of the line in dBFS (a full-scale sine reads 0).
    pub level_dbfs: f64,
    /// How far the line stood above the spectrum around it, in dB.
    pub prominence_db: f64,
    /// Attenuation of the notch at the line's frequency, in dB (what is removed from a steady line).
    pub removed_db: f64,
}

/// What hum detection found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HumDetection {
    /// Whether hum was found (then `lines` is not empty).
    pub found: bool,
    /// Mains frequency (50 or 60 Hz) the lines belong to.
    pub mains_hz: Option<f64>,
    /// Estimated fundamental in Hz (weighted from the lines).
    pub fundamental_hz: Option<f64>,
    /// The lines found, in harmonic order.
    pub lines: Vec<HumLine>,
}

/// Looks for mains hum in `channels` (downmixed), from a Welch-averaged spectrum with about 0.37 Hz
/// resolution. Hum is reported when at least two harmonics of 50 or 60 Hz (one of them the first or
/// second) stand `min_prominence_db` above their surroundings.
pub(crate) fn detect_hum(
    channels: &[&[f32]],
    sample_rate: u32,
    config: &HumConfig,
) -> HumDetection {
    let none = HumDetection {
        found: false,
        mains_hz: None,
        fundamental_hz: None,
        lines: Vec::new(),
    };
    let Some(spectrum) = LongTermSpectrum::of(channels, sample_rate) else {
        return none;
    };
    let Some(MainsMatch {
        mains_hz,
        mut lines,
        ..
    }) = best_mains(&spectrum, sample_rate, config)
    else {
        return none;
    };
    let wsum: f64 = lines.iter().map(|l| l.prominence_db).sum();
    let f0 = lines
        .iter()
        .map(|l| l.freq_hz / l.harmonic as f64 * l.prominence_db)
        .sum::<f64>()
        / wsum;
    // What the notches will take off each line (the cascade's response at the line).
    let notch = HumNotch::from_lines(&lines, sample_rate, config.notch_bandwidth_hz);
    if let Ok(n) = notch {
        for l in &mut lines {
            l.removed_db = (-n.response_db(l.freq_hz, sample_rate)).min(l.prominence_db + 20.0);
        }
    }
    HumDetection {
        found: true,
        mains_hz: Some(mains_hz),
        fundamental_hz: Some(f0),
        lines,
    }
}

/// The downmix's power spectrum averaged over Hann-windowed frames overlapping by half (Welch),
/// scaled so that a sine of amplitude A reads A² at its bin.
struct LongTermSpectrum {
    /// Power per bin, `n_fft / 2 + 1` bins.
    power: Vec<f64>,
    /// Bin spacing in Hz.
    bin_hz: f64,
}

impl LongTermSpectrum {
    /// Frames of the power of two at or above `sample_rate / 0.4` samples (0.37 Hz bins at 48 kHz),
    /// halved while longer than the signal but not below 4096; `None` when the signal is shorter
    /// than one frame.
    fn of(channels: &[&[f32]], sample_rate: u32) -> Option<Self> {
        let len = channels.first().map_or(0, |c| c.len());
        let sr = f64::from(sample_rate);
        let want = ((sr / 0.4) as usize).next_power_of_two();
        let mut n_fft = want;
        while n_fft > len && n_fft > 4096 {
            n_fft /= 2;
        }
        if len < n_fft {
            return None;
        }
        let hop = n_fft / 2;
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(n_fft);
        let window: Vec<f32> = (0..n_fft)
            .map(|n| (0.5 - 0.5 * (std::f64::consts::TAU * n as f64 / n_fft as f64).cos()) as f32)
            .collect();
        let win_sum: f64 = window.iter().map(|&w| f64::from(w)).sum();
        let mut frame = fft.make_input_vec();
        let mut spec: Vec<Complex32> = fft.make_output_vec();
        let mut scratch = fft.make_scratch_vec();
        let mut power = vec![0.0f64; n_fft / 2 + 1];
        let mut frames = 0usize;
        let scale = 1.0 / channels.len().max(1) as f32;
        let mut sum = vec![0.0f32; n_fft];
        let mut start = 0;
        while start + n_fft <= len {
            // Downmix channel by channel (the same additions, in the same order, as sample by
            // sample).
            sum.copy_from_slice(&channels[0][start..start + n_fft]);
            for c in &channels[1..] {
                sum.iter_mut()
                    .zip(&c[start..start + n_fft])
                    .for_each(|(s, &x)| *s += x);
            }
            for ((f, &s), &w) in frame.iter_mut().zip(&sum).zip(&window) {
                *f = s * scale * w;
            }
            let _ = fft.process_with_scratch(&mut frame, &mut spec, &mut scratch);
            for (p, c) in power.iter_mut().zip(&spec) {
                *p += f64::from(c.norm_sqr());
            }
            frames += 1;
            start += hop;
        }
        // Scale so that a sine of amplitude A reads A² at its bin: |X| = A·Σw/2.
        let norm = 4.0 / (win_sum * win_sum * frames as f64);
        power.iter_mut().for_each(|p| *p *= norm);
        Some(Self {
            power,
            bin_hz: sr / n_fft as f64,
        })
    }
}

/// The hum lines of one mains frequency and how strongly they stand out.
struct MainsMatch {
    /// 50 or 60 Hz.
    mains_hz: f64,
    /// The harmonics found, in order.
    lines: Vec<HumLine>,
    /// Sum of the lines' prominences, dB.
    score: f64,
}

/// Of 50 and 60 Hz, the mains whose harmonics stand out most, if one has at least two lines with the
/// first or second harmonic among them.
fn best_mains(
    spectrum: &LongTermSpectrum,
    sample_rate: u32,
    config: &HumConfig,
) -> Option<MainsMatch> {
    let sr = f64::from(sample_rate);
    let mut best: Option<MainsMatch> = None;
    for mains_hz in [50.0, 60.0] {
        let mut lines = Vec::new();
        for k in 1..=config.max_harmonics {
            let f = mains_hz * k as f64;
            if f + 20.0 > sr / 2.0 {
                break;
            }
            let found = find_line(
                &spectrum.power,
                spectrum.bin_hz,
                f,
                k,
                config.min_prominence_db,
            );
            if let Some(line) = found {
                lines.push(line);
            }
        }
        let low = lines.iter().any(|l| l.harmonic <= 2);
        if lines.len() >= 2 && low {
            let score: f64 = lines.iter().map(|l| l.prominence_db).sum();
            if best.as_ref().is_none_or(|b| score > b.score) {
                best = Some(MainsMatch {
                    mains_hz,
                    lines,
                    score,
                });
            }
        }
    }
    best
}

fn find_line(power: &[f64], bin_hz: f64, f: f64, k: usize, min_prom: f64) -> Option<HumLine> {
    let search = 0.5 + 0.1 * k as f64;
    let lo = ((f - search) / bin_hz).floor().max(1.0) as usize;
    let hi = (((f + search) / bin_hz).ceil() as usize).min(power.len() - 2);
    let (peak, &p) = power[lo..=hi]
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, p)| (i + lo, p))?;
    // Neighbourhood 4–15 Hz either side, median power.
    let mut around: Vec<f64> = Vec::new();
    for side in [-1.0f64, 1.0] {
        let a = f + side * 4.0;
        let b = f + side * 15.0;
        let (a, b) = if a < b { (a, b) } else { (b, a) };
        let ia = (a / bin_hz).round().max(1.0) as usize;
        let ib = ((b / bin_hz).round() as usize).min(power.len() - 1);
        if ia < ib {
            around.extend_from_slice(&power[ia..ib]);
        }
    }
    if around.is_empty() {
        return None;
    }
    around.sort_by(f64::total_cmp);
    let floor = around[around.len() / 2].max(1e-20);
    // Energy of the line: the peak bin and its two neighbours (Hann main lobe), over the floor.
    let line_p = power[peak - 1] + power[peak] + power[peak + 1];
    let prominence = 10.0 * (p / floor).log10();
    if prominence < min_prom || p < 1e-14 {
        return None;
    }
    // Gaussian (log-parabola) interpolation of the peak position.
    let (a, b, c) = (
        power[peak - 1].max(1e-30).ln(),
        p.max(1e-30).ln(),
        power[peak + 1].max(1e-30).ln(),
    );
    let denom = a - 2.0 * b + c;
    let delta = if denom.abs() > 1e-12 {
        (0.5 * (a - c) / denom).clamp(-0.5, 0.5)
    } else {
        0.0
    };
    // Hann's main lobe sums to 1.5× a single bin's worth for a centred sine (0.25 + 1 + 0.25).
    let level = 10.0 * (line_p / 1.5).max(1e-30).log10();
    Some(HumLine {
        harmonic: k,
        freq_hz: (peak as f64 + delta) * bin_hz,
        level_dbfs: level,
        prominence_db: prominence,
        removed_db: 0.0,
    })
}

/// A cascade of narrow notches at given frequencies; zero latency.
pub struct HumNotch {
    sections: Vec<DirectForm2Transposed<f64>>,
    coefficients: Vec<Coefficients<f64>>,
}

impl HumNotch {
    /// One notch per detected line, each `bandwidth_hz` wide.
    pub(crate) fn from_lines(
        lines: &[HumLine],
        sample_rate: u32,
        bandwidth_hz: f64,
    ) -> Result<Self, DspError> {
        let freqs: Vec<f64> = lines.iter().map(|l| l.freq_hz).collect();
        Self::new(&freqs, sample_rate, bandwidth_hz)
    }

    /// Notches at `freqs_hz`, each `bandwidth_hz` wide (Q = f / bandwidth).
    pub fn new(freqs_hz: &[f64], sample_rate: u32, bandwidth_hz: f64) -> Result<Self, DspError> {
        let sr = f64::from(sample_rate);
        if bandwidth_hz <= 0.0 {
            return Err(invalid("hum notch bandwidth", format!("{bandwidth_hz} Hz")));
        }
        let mut coefficients = Vec::new();
        for &f in freqs_hz {
            let c =
                Coefficients::<f64>::from_params(Type::Notch, sr.hz(), f.hz(), f / bandwidth_hz)
                    .map_err(|e| invalid("hum notch", format!("{f} Hz: {e:?}")))?;
            coefficients.push(c);
        }
        Ok(Self {
            sections: coefficients
                .iter()
                .map(|&c| DirectForm2Transposed::<f64>::new(c))
                .collect(),
            coefficients,
        })
    }

    /// Number of notches (0 = the stage passes audio through unchanged).
    pub fn len(&self) -> usize {
        self.sections.len()
    }

    /// Whether there are no notches.
    pub fn is_empty(&self) -> bool {
        self.sections.is_empty()
    }

    /// Magnitude response of the cascade at `freq_hz`, in dB.
    pub fn response_db(&self, freq_hz: f64, sample_rate: u32) -> f64 {
        let w = std::f64::consts::TAU * freq_hz / f64::from(sample_rate);
        let (c1, s1, c2, s2) = (w.cos(), -w.sin(), (2.0 * w).cos(), -(2.0 * w).sin());
        let mut db = 0.0;
        for c in &self.coefficients {
            let nr = c.b0 + c.b1 * c1 + c.b2 * c2;
            let ni = c.b1 * s1 + c.b2 * s2;
            let dr = 1.0 + c.a1 * c1 + c.a2 * c2;
            let di = c.a1 * s1 + c.a2 * s2;
            db += 10.0
                * ((nr * nr + ni * ni) / (dr * dr + di * di))
                    .max(1e-30)
                    .log10();
        }
        db
    }
}

impl Stage for HumNotch {
    fn latency(&self) -> usize {
        0
    }
    fn process(&mut self, input: &[f32], output: &mut [f32]) {
        if self.sections.is_empty() {
            output.copy_from_slice(input);
            return;
        }
        super::run_cascade(&mut self.sections, input, output);
    }
    fn reset(&mut self) {
        self.sections.iter_mut().for_each(|s| s.reset_state());
    }
}
