//! Stationary noise reduction by spectral gating against a noise profile.
//!
//! STFT (periodic Hann, hop = n_fft / 4); each bin's power, smoothed over 5 bins and a little over
//! time, is compared with the profile; bins within `threshold_db` of the noise are turned down by up
//! to `amount_db`. The gain is smoothed over frequency and over time (fast to open, slower to close),
//! which keeps isolated noise peaks from flickering through as "musical noise".

use realfft::num_complex::Complex32;
use serde::Serialize;

use super::{invalid, one_pole, DspError, Stage};
use crate::features::{Istft, Stft, StftParams, Window};

/// Settings of the spectral gate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DenoiseConfig {
    /// Largest reduction of a bin that holds only noise, in dB.
    pub amount_db: f64,
    /// A bin this far (dB) or more above the noise profile is left alone (at least 4); at 3 dB or
    /// less it is turned down by the full amount, and in between by part of it.
    pub threshold_db: f64,
    /// Time constant for the gain to close (seconds); it opens in a fifth of that.
    pub release_s: f64,
    /// Fraction of the quietest frames that form the profile when it is taken from the stem itself.
    pub quiet_fraction: f64,
}

impl Default for DenoiseConfig {
    fn default() -> Self {
        Self {
            amount_db: 12.0,
            threshold_db: 9.0,
            release_s: 0.08,
            quiet_fraction: 0.1,
        }
    }
}

/// What the gate did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DenoiseReport {
    /// Configured maximum reduction, dB.
    pub amount_db: f64,
    /// Level of the noise profile (all bins), in dBFS RMS.
    pub noise_profile_dbfs: f64,
    /// Energy of the stem before minus after, dB (positive = quieter).
    pub energy_reduction_db: f64,
}

/// The noise's mean power per STFT bin.
#[derive(Debug, Clone, PartialEq)]
pub struct NoiseProfile {
    n_fft: usize,
    power: Vec<f32>,
}

impl NoiseProfile {
    /// FFT length used for a stream at `sample_rate` Hz (about 20 ms, a power of two).
    pub(crate) fn n_fft_for(sample_rate: u32) -> usize {
        ((f64::from(sample_rate) * 0.02) as usize)
            .next_power_of_two()
            .max(64)
    }

    /// Calls `f(frame index, power spectrum)` for every whole frame of `signal`.
    fn for_each_frame(
        signal: &[f32],
        n_fft: usize,
        mut f: impl FnMut(usize, &[Complex32]),
    ) -> Result<(), DspError> {
        let params = params(n_fft);
        let mut stft = Stft::new(params).map_err(|e| invalid("denoise", e.to_string()))?;
        let hop = params.hop_length;
        let mut start = 0;
        let mut i = 0;
        while start + n_fft <= signal.len() {
            f(i, stft.analyse(&signal[start..start + n_fft]));
            start += hop;
            i += 1;
        }
        Ok(())
    }

    /// Mean power of every frame of `noise` (a recording of the noise alone, e.g. the background stem).
    pub fn from_noise(noise: &[f32], sample_rate: u32) -> Result<Self, DspError> {
        let n_fft = Self::n_fft_for(sample_rate);
        let mut acc = Accumulator::new(n_fft);
        Self::for_each_frame(noise, n_fft, |_, spec| acc.add(spec))?;
        Ok(acc.mean())
    }

    /// Mean power of the quietest `fraction` of frames of `signal` (its pauses).
    ///
    /// Two passes: the first ranks the frames by their power summed over the bins (by Parseval's
    /// theorem, from the windowed samples: no transform), the second transforms only the frames it
    /// keeps.
    pub(crate) fn from_quiet_frames(
        signal: &[f32],
        sample_rate: u32,
        fraction: f64,
    ) -> Result<Self, DspError> {
        let n_fft = Self::n_fft_for(sample_rate);
        let params = params(n_fft);
        let window = params.padded_window();
        let hop = params.hop_length;
        let frames = params.frames_in(signal.len());
        let mut order: Vec<(f64, usize)> = (0..frames)
            .map(|i| {
                (
                    one_sided_power(&signal[i * hop..i * hop + n_fft], &window),
                    i,
                )
            })
            .collect();
        order.sort_by(|a, b| a.0.total_cmp(&b.0));
        let take = ((frames as f64 * fraction).ceil() as usize).clamp(1.min(frames), frames);
        let mut stft = Stft::new(params).map_err(|e| invalid("denoise", e.to_string()))?;
        let mut acc = Accumulator::new(n_fft);
        for &(_, i) in &order[..take] {
            let start = i * hop;
            acc.add(stft.analyse(&signal[start..start + n_fft]));
        }
        Ok(acc.mean())
    }

    /// Level of the profile as dBFS RMS (Hann-windowed frames, Parseval).
    pub(crate) fn level_dbfs(&self) -> f64 {
        let n = self.n_fft as f64;
        let sum: f64 = self
            .power
            .iter()
            .enumerate()
            .map(|(i, &p)| {
                let twice = i != 0 && i != self.power.len() - 1;
                f64::from(p) * if twice { 2.0 } else { 1.0 }
            })
            .sum();
        // Σ|X|² = n Σ (w x)²; mean w² of periodic Hann = 3/8; full-scale sine has mean square 1/2.
        let ms = sum / (n * n * 0.375);
        10.0 * (ms / 0.5).max(1e-30).log10()
    }
}

/// Σ|X_k|² over the bins 0..=n/2 of the windowed frame's DFT, from the samples: the full DFT's
/// Σ|X_k|² is n·Σ(w·x)² (Parseval), and the one-sided sum counts every bin but DC and Nyquist once.
fn one_sided_power(frame: &[f32], window: &[f32]) -> f64 {
    let n = frame.len();
    // Four lanes of (energy, DC sum, Nyquist sum) so the loop vectorises.
    let (mut e, mut dc, mut ny) = ([0.0f64; 4], [0.0f64; 4], [0.0f64; 4]);
    for (x, w) in frame.chunks_exact(4).zip(window.chunks_exact(4)) {
        for l in 0..4 {
            let v = f64::from(x[l] * w[l]);
            e[l] += v * v;
            dc[l] += v;
            // Even positions +, odd − (the chunks start at even positions).
            ny[l] += if l % 2 == 0 { v } else { -v };
        }
    }
    let (mut e, mut dc, mut ny) = (
        e.iter().sum::<f64>(),
        dc.iter().sum::<f64>(),
        ny.iter().sum::<f64>(),
    );
    for m in n - n % 4..n {
        let v = f64::from(frame[m] * window[m]);
        e += v * v;
        dc += v;
        ny += if m % 2 == 0 { v } else { -v };
    }
    (n as f64 * e + dc * dc + ny * ny) / 2.0
}

/// Running sum of power spectra (f64), for a profile's mean.
struct Accumulator {
    n_fft: usize,
    power: Vec<f64>,
    frames: usize,
}

impl Accumulator {
    fn new(n_fft: usize) -> Self {
        Self {
            n_fft,
            power: vec![0.0; n_fft / 2 + 1],
            frames: 0,
        }
    }

    fn add(&mut self, spec: &[Complex32]) {
        self.power
            .iter_mut()
            .zip(spec)
            .for_each(|(p, c)| *p += f64::from(c.norm_sqr()));
        self.frames += 1;
    }

    fn mean(&self) -> NoiseProfile {
        let inv = 1.0 / self.frames.max(1) as f64;
        NoiseProfile {
            n_fft: self.n_fft,
            power: self.power.iter().map(|p| (p * inv) as f32).collect(),
        }
    }
}

fn params(n_fft: usize) -> StftParams {
    StftParams {
        n_fft,
        win_length: n_fft,
        hop_length: n_fft / 4,
        window: Window::HannPeriodic,
    }
}

/// The spectral gate as a streaming stage; latency `n_fft - 1` samples.
pub struct SpectralGate {
    n_fft: usize,
    hop: usize,
    stft: Stft,
    istft: Istft,
    /// threshold × the noise power summed over ±2 bins, per bin.
    noise_thr: Vec<f32>,
    floor_gain: f32,
    /// Exponent of the knee: the gain is `floor_gain.max(r^knee)`, `r` the ratio to threshold × noise.
    knee: f32,
    open_coef: f32,
    close_coef: f32,
    /// Analysis buffer of `n_fft` samples; the newest `filled` samples of the current hop arrive at the end.
    frame: Vec<f32>,
    filled: usize,
    smoothed_power: Vec<f32>,
    gain: Vec<f32>,
    target: Vec<f32>,
    spectrum: Vec<Complex32>,
    out_hop: Vec<f32>,
    out_pos: usize,
}

impl SpectralGate {
    /// A gate for `sample_rate` Hz against `profile` (made at the same rate).
    pub fn new(
        config: &DenoiseConfig,
        profile: &NoiseProfile,
        sample_rate: u32,
    ) -> Result<Self, DspError> {
        let n_fft = NoiseProfile::n_fft_for(sample_rate);
        if profile.n_fft != n_fft {
            return Err(invalid(
                "noise profile",
                format!("made with FFT length {}, expected {n_fft}", profile.n_fft),
            ));
        }
        if !(0.0..=60.0).contains(&config.amount_db) {
            return Err(invalid(
                "denoise amount",
                format!("{} dB not in 0..=60", config.amount_db),
            ));
        }
        let p = params(n_fft);
        let hop = p.hop_length;
        let frame_rate = f64::from(sample_rate) / hop as f64;
        let bins = n_fft / 2 + 1;
        Ok(Self {
            n_fft,
            hop,
            stft: Stft::new(p).map_err(|e| invalid("denoise", e.to_string()))?,
            istft: Istft::new(p).map_err(|e| invalid("denoise", e.to_string()))?,
            noise_thr: {
                let threshold = 10f64.powf(config.threshold_db.max(4.0) / 10.0);
                (0..bins)
                    .map(|k| {
                        let (lo, hi) = (k.saturating_sub(2), (k + 2).min(bins - 1));
                        let n: f64 = profile.power[lo..=hi]
                            .iter()
                            .map(|&x| f64::from(x.max(1e-20)))
                            .sum();
                        (n * threshold) as f32
                    })
                    .collect()
            },
            floor_gain: 10f64.powf(-config.amount_db / 20.0) as f32,
            knee: {
                // The knee runs in dB from fully closed 3 dB over the noise (gain = floor) to open
                // at the threshold (gain = 1), linear in dB: gain = floor^(1 − x) with
                // x = (ln(r·thr) − ln 2) / (ln thr − ln 2), i.e. gain = r^(−ln floor / (ln thr − ln 2)).
                let span = (config.threshold_db.max(4.0) - 3.0) / 10.0 * std::f64::consts::LN_10;
                let floor_ln = -config.amount_db / 20.0 * std::f64::consts::LN_10;
                (-floor_ln / span) as f32
            },
            open_coef: one_pole(config.release_s / 5.0, frame_rate) as f32,
            close_coef: one_pole(config.release_s, frame_rate) as f32,
            frame: vec![0.0; n_fft],
            filled: n_fft - hop,
            smoothed_power: vec![0.0; bins],
            gain: vec![1.0; bins],
            target: vec![1.0; bins],
            spectrum: vec![Complex32::new(0.0, 0.0); bins],
            out_hop: vec![0.0; hop],
            out_pos: hop,
        })
    }

    fn process_frame(&mut self) {
        let spec = self.stft.analyse(&self.frame);
        self.spectrum.copy_from_slice(spec);
        let bins = self.spectrum.len();
        // Power smoothed over time (one frame of memory) then over ±2 bins.
        for (s, c) in self.smoothed_power.iter_mut().zip(&self.spectrum) {
            *s = 0.5 * *s + 0.5 * c.norm_sqr();
        }
        // The smoothed power summed over ±2 bins (the noise's sums are precomputed), as the
        // ratio of signal to (threshold × noise).
        let sp = &self.smoothed_power;
        let edge =
            |k: usize| -> f32 { sp[k.saturating_sub(2)..=(k + 2).min(bins - 1)].iter().sum() };
        if bins >= 5 {
            // Interior bins in a loop without branches (it vectorises), then the edges.
            let inner = self.target[2..bins - 2]
                .iter_mut()
                .zip(&self.noise_thr[2..bins - 2])
                .zip(sp.windows(5));
            for ((r, &n), w) in inner {
                *r = (w[0] + w[1] + w[2] + w[3] + w[4]) / n;
            }
            for k in [0, 1, bins - 2, bins - 1] {
                self.target[k] = edge(k) / self.noise_thr[k];
            }
        } else {
            for k in 0..bins {
                self.target[k] = edge(k) / self.noise_thr[k];
            }
        }
        // A ratio ≥ 1 opens fully; 3 dB over the noise (the smoothed power of pure noise rarely
        // gets further) or less closes fully.
        let floor = self.floor_gain;
        if self.knee == 1.0 {
            // The defaults (12 dB over a 6 dB knee) make the knee exactly linear.
            self.target
                .iter_mut()
                .for_each(|r| *r = r.min(1.0).max(floor));
        } else {
            let knee = self.knee;
            self.target.iter_mut().for_each(|r| {
                *r = if *r >= 1.0 {
                    1.0
                } else {
                    r.powf(knee).max(floor)
                }
            });
        }
        // Gain: the target averaged over ±1 bin, opening fast and closing slowly. Both candidates
        // are computed and one is picked (no unpredictable branch).
        let (open, close) = (self.open_coef, self.close_coef);
        let tg = &self.target;
        let update = |g: &mut f32, c: &mut Complex32, t: f32| {
            let opened = open * *g + (1.0 - open) * t;
            let closed = close * *g + (1.0 - close) * t;
            *g = if t > *g { opened } else { closed };
            *c *= *g;
        };
        if bins >= 3 {
            // Interior bins without index arithmetic, then the two edges.
            let inner = self.gain[1..bins - 1]
                .iter_mut()
                .zip(&mut self.spectrum[1..bins - 1])
                .zip(tg.windows(3));
            for ((g, c), w) in inner {
                update(g, c, (w[0] + w[1] + w[2]) / 3.0);
            }
        }
        let edges: &[usize] = if bins >= 2 { &[0, bins - 1] } else { &[0] };
        for &k in edges {
            let t = (tg[k.saturating_sub(1)] + tg[k] + tg[(k + 1).min(bins - 1)]) / 3.0;
            update(&mut self.gain[k], &mut self.spectrum[k], t);
        }
        self.istft.synthesise(&self.spectrum, &mut self.out_hop);
    }
}

impl SpectralGate {
    /// Writes the next samples of the last synthesised hop (zeros once it is used up).
    fn emit(&mut self, output: &mut [f32]) {
        let have = (self.hop - self.out_pos.min(self.hop)).min(output.len());
        output[..have].copy_from_slice(&self.out_hop[self.out_pos..self.out_pos + have]);
        output[have..].fill(0.0);
        self.out_pos += have;
    }
}

impl Stage for SpectralGate {
    fn latency(&self) -> usize {
        // Frame k (virtual start k·hop − (n_fft − hop)) completes at input k·hop + hop − 1 and its
        // first hop is emitted from that sample on.
        self.n_fft - 1
    }
    fn process(&mut self, input: &[f32], output: &mut [f32]) {
        let mut i = 0;
        while i < input.len() {
            let take = (self.n_fft - self.filled).min(input.len() - i);
            self.frame[self.filled..self.filled + take].copy_from_slice(&input[i..i + take]);
            self.filled += take;
            let completes = self.filled == self.n_fft;
            // The hop synthesised last is emitted while the next hop is collected; the sample that
            // completes a frame already emits the first of the new hop.
            let before = if completes { take - 1 } else { take };
            self.emit(&mut output[i..i + before]);
            if completes {
                self.process_frame();
                self.frame.copy_within(self.hop.., 0);
                self.filled = self.n_fft - self.hop;
                self.out_pos = 0;
                self.emit(&mut output[i + before..i + take]);
            }
            i += take;
        }
    }
    fn reset(&mut self) {
        self.frame.fill(0.0);
        self.filled = self.n_fft - self.hop;
        self.smoothed_power.fill(0.0);
        self.gain.fill(1.0);
        self.istft.reset();
        self.out_hop.fill(0.0);
        self.out_pos = self.hop;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sided_power_matches_the_spectrum() {
        for n_fft in [64usize, 1024, 2048] {
            let p = params(n_fft);
            let mut stft = Stft::new(p).unwrap();
            let mut s = 7u64;
            let frame: Vec<f32> = (0..n_fft)
                .map(|m| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    0.1 + (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5 + (m as f32 * 0.01).sin()
                })
                .collect();
            let from_fft: f64 = stft
                .analyse(&frame)
                .iter()
                .map(|c| f64::from(c.norm_sqr()))
                .sum();
            let direct = one_sided_power(&frame, &p.padded_window());
            assert!(
                (direct / from_fft - 1.0).abs() < 1e-5,
                "n_fft {n_fft}: {direct} vs {from_fft}"
            );
        }
    }
}
