//! Signal features YAMNet does not see well: level, mains-hum lines, fan tones, spectral shape and
//! short-term fluctuation, measured on the same 0.96 s patches at 16 kHz.

use std::sync::Arc;

use realfft::num_complex::Complex32;
use realfft::{RealFftPlanner, RealToComplex};

/// Names of the values `SignalAnalyser::analyse` returns, in order.
pub const SIGNAL_FEATURES: [&str; 11] = [
    "level_db",
    "hum_db",
    "tone_db",
    "flatness",
    "low_ratio_db",
    "high_ratio_db",
    "centroid_oct",
    "slope_db_oct",
    "frame_std_db",
    "frame_peak_db",
    "frame_floor_db",
];

/// FFT length for the fine spectrum: 2 Hz bins at 16 kHz, enough to resolve mains harmonics (the
/// centre 0.51 s of each 0.96 s patch; at the default hop, consecutive centres still tile the file).
const FINE_FFT: usize = 8_192;
/// Short frames for the fluctuation measures: 10 ms at 16 kHz.
const SHORT_FRAME: usize = 160;

/// Computes [`SIGNAL_FEATURES`] for patches of samples; buffers are made once.
pub(crate) struct SignalAnalyser {
    sample_rate: f32,
    fft: Arc<dyn RealToComplex<f32>>,
    input: Vec<f32>,
    spectrum: Vec<Complex32>,
    scratch: Vec<Complex32>,
    power: Vec<f32>,
    window: Vec<f32>,
    /// Power in dB of the bins up to [`TONAL_MAX_HZ`], and its prefix sums (`db_prefix[k]` = Σ db[..k]).
    db: Vec<f32>,
    db_prefix: Vec<f64>,
    frame_db: Vec<f32>,
}

/// Highest frequency the hum and tone measures look at, in Hz.
const TONAL_MAX_HZ: f32 = 2100.0;

impl SignalAnalyser {
    /// An analyser for patches of at most `max_len` samples at `sample_rate` Hz.
    pub(crate) fn new(sample_rate: u32, max_len: usize) -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(FINE_FFT);
        let len = max_len.min(FINE_FFT);
        Self {
            sample_rate: sample_rate as f32,
            input: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            power: vec![0.0; FINE_FFT / 2 + 1],
            window: (0..len)
                .map(|n| (0.5 - 0.5 * (std::f64::consts::TAU * n as f64 / len as f64).cos()) as f32)
                .collect(),
            db: Vec::new(),
            db_prefix: Vec::new(),
            frame_db: Vec::with_capacity(len / SHORT_FRAME + 1),
            fft,
        }
    }

    fn bin(&self, hz: f32) -> usize {
        ((hz * FINE_FFT as f32 / self.sample_rate).round() as usize).min(self.power.len() - 1)
    }

    fn band_energy(&self, lo: f32, hi: f32) -> f64 {
        self.power[self.bin(lo)..=self.bin(hi)]
            .iter()
            .map(|&p| f64::from(p))
            .sum()
    }

    /// Prominence in dB of the strongest bin within ±`half_hz` of `hz` over the mean level (in dB,
    /// that is the geometric mean of the power) of the bins `guard_hz..reach_hz` away on both sides.
    /// Uses the prefix sums of `db`, so each call costs only the peak's width.
    fn prominence(&self, hz: f32, half_hz: f32, guard_hz: f32, reach_hz: f32) -> f32 {
        let last = self.db.len() - 1;
        let bin = |f: f32| self.bin(f).min(last);
        let (a, b) = (bin(hz - half_hz), bin(hz + half_hz));
        let peak = self.db[a..=b].iter().fold(f32::MIN, |m, &v| m.max(v));
        let (g0, g1) = (bin(hz - guard_hz), bin(hz + guard_hz));
        let (r0, r1) = (bin((hz - reach_hz).max(1.0)), bin(hz + reach_hz));
        let sum = |from: usize, to: usize| self.db_prefix[to] - self.db_prefix[from]; // bins from..to
        let count = (g0 - r0) + (r1 - g1);
        if count == 0 {
            return 0.0;
        }
        let floor = (sum(r0, g0) + sum(g1 + 1, r1 + 1)) / count as f64;
        peak - floor as f32
    }

    /// The features of one patch of samples (16 kHz mono in [-1, 1]).
    pub(crate) fn analyse(&mut self, x: &[f32]) -> [f32; SIGNAL_FEATURES.len()] {
        let mean_sq =
            x.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / x.len().max(1) as f64;
        let level_db = (10.0 * (mean_sq + 1e-12).log10()) as f32;
        self.fine_spectrum(x);
        let (low_ratio_db, high_ratio_db) = self.band_ratios_db();
        let (frame_std_db, frame_peak_db, frame_floor_db) = self.fluctuation_db(x);
        [
            level_db,
            self.hum_db(),
            self.tone_db(),
            self.flatness(),
            low_ratio_db,
            high_ratio_db,
            self.centroid_oct(),
            self.slope_db_oct(),
            frame_std_db,
            frame_peak_db,
            frame_floor_db,
        ]
    }

    /// The fine power spectrum of the patch's centre (the window stretched over a patch shorter
    /// than the FFT), and its levels in dB up to the tonal range with their prefix sums.
    fn fine_spectrum(&mut self, x: &[f32]) {
        let len = x.len().min(self.window.len());
        let centre = &x[(x.len() - len) / 2..][..len];
        self.input.fill(0.0);
        let step = self.window.len() as f32 / len.max(1) as f32;
        for (i, (dst, &s)) in self.input.iter_mut().zip(centre).enumerate() {
            *dst = s * self.window[((i as f32 * step) as usize).min(self.window.len() - 1)];
        }
        let _ =
            self.fft
                .process_with_scratch(&mut self.input, &mut self.spectrum, &mut self.scratch);
        for (p, c) in self.power.iter_mut().zip(&self.spectrum) {
            *p = c.norm_sqr();
        }
        let tonal_bins = self.bin(TONAL_MAX_HZ) + 1;
        self.db.clear();
        self.db.extend(
            self.power[..tonal_bins]
                .iter()
                .map(|&p| 10.0 * (p + 1e-20).log10()),
        );
        self.db_prefix.clear();
        self.db_prefix.push(0.0);
        let mut acc = 0.0f64;
        for &v in &self.db {
            acc += f64::from(v);
            self.db_prefix.push(acc);
        }
    }

    /// Mains hum: mean prominence of the strongest 4 of the first 8 harmonics, 50 or 60 Hz.
    fn hum_db(&self) -> f32 {
        let mut hum_db = f32::MIN;
        for f0 in [50.0f32, 60.0] {
            let mut proms: Vec<f32> = (1..=8)
                .map(|h| self.prominence(f0 * h as f32, 1.5, 4.0, 20.0))
                .collect();
            proms.sort_by(|a, b| b.total_cmp(a));
            hum_db = hum_db.max(proms[..4].iter().sum::<f32>() / 4.0);
        }
        hum_db
    }

    /// Any other steady tone (fan blade-pass, compressor whine): the strongest line 80–2000 Hz.
    fn tone_db(&self) -> f32 {
        let mut tone_db = 0.0f32;
        let mut hz = 80.0f32;
        while hz < 2000.0 {
            tone_db = tone_db.max(self.prominence(hz, 2.0, 6.0, 30.0));
            hz += 4.0;
        }
        tone_db
    }

    /// Spectral flatness (geometric over arithmetic mean power), 100 Hz – 7.5 kHz.
    fn flatness(&self) -> f32 {
        let (lo, hi) = (self.bin(100.0), self.bin(7500.0));
        let (mut log_sum, mut sum) = (0.0f64, 0.0f64);
        for &p in &self.power[lo..=hi] {
            let p = f64::from(p) + 1e-20;
            log_sum += p.ln();
            sum += p;
        }
        let n = (hi - lo + 1) as f64;
        ((log_sum / n).exp() / (sum / n)) as f32
    }

    /// Energy below 200 Hz and above 4 kHz relative to 20 Hz – 7.9 kHz, dB.
    fn band_ratios_db(&self) -> (f32, f32) {
        let total = self.band_energy(20.0, 7900.0) + 1e-20;
        let low_ratio_db =
            (10.0 * ((self.band_energy(20.0, 200.0) + 1e-20) / total).log10()) as f32;
        let high_ratio_db =
            (10.0 * ((self.band_energy(4000.0, 7900.0) + 1e-20) / total).log10()) as f32;
        (low_ratio_db, high_ratio_db)
    }

    /// Spectral centroid, 20 Hz – 7.9 kHz, in octaves from 1 kHz.
    fn centroid_oct(&self) -> f32 {
        let (mut fw, mut w) = (0.0f64, 0.0f64);
        for (k, &p) in self
            .power
            .iter()
            .enumerate()
            .take(self.bin(7900.0) + 1)
            .skip(self.bin(20.0))
        {
            fw += k as f64 * f64::from(p);
            w += f64::from(p);
        }
        let centroid_hz = (fw / w.max(1e-20)) as f32 * self.sample_rate / FINE_FFT as f32;
        (centroid_hz.max(20.0) / 1000.0).log2()
    }

    /// Spectral slope in dB per octave: least squares over octave-band levels 125 Hz – 4 kHz.
    fn slope_db_oct(&self) -> f32 {
        let centres = [125.0f32, 250.0, 500.0, 1000.0, 2000.0, 4000.0];
        let levels: Vec<f64> = centres
            .iter()
            .map(|&c| 10.0 * (self.band_energy(c / 2f32.sqrt(), c * 2f32.sqrt()) + 1e-20).log10())
            .collect();
        let xs: Vec<f64> = (0..centres.len()).map(|i| i as f64).collect();
        let (mx, my) = (
            xs.iter().sum::<f64>() / 6.0,
            levels.iter().sum::<f64>() / 6.0,
        );
        let cov: f64 = xs
            .iter()
            .zip(&levels)
            .map(|(x, y)| (x - mx) * (y - my))
            .sum();
        let var: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
        (cov / var) as f32
    }

    /// Short-term fluctuation from 10 ms frame levels: their standard deviation, and the 95th and
    /// 5th percentiles' distance from the median, dB.
    fn fluctuation_db(&mut self, x: &[f32]) -> (f32, f32, f32) {
        self.frame_db.clear();
        for f in x.chunks_exact(SHORT_FRAME) {
            let e = f.iter().map(|&s| s * s).sum::<f32>() / SHORT_FRAME as f32;
            self.frame_db.push(10.0 * (e + 1e-12).log10());
        }
        if self.frame_db.is_empty() {
            return (0.0, 0.0, 0.0);
        }
        let m = self.frame_db.iter().sum::<f32>() / self.frame_db.len() as f32;
        let var = self.frame_db.iter().map(|v| (v - m) * (v - m)).sum::<f32>()
            / self.frame_db.len() as f32;
        self.frame_db.sort_by(f32::total_cmp);
        let q = |p: f32| self.frame_db[((self.frame_db.len() - 1) as f32 * p) as usize];
        (var.sqrt(), q(0.95) - q(0.5), q(0.5) - q(0.05))
    }
}
