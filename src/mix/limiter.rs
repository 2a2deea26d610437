//! True-peak look-ahead limiter.
//!
//! The peak of each sample and of the three points between it and the next (4× oversampling with a
//! 16-tap windowed-sinc interpolator per phase) sets the gain that sample needs; a sliding minimum
//! over the look-ahead window, an instant-attack/exponential-release follower and a moving average
//! of the same window give a smooth gain that is never above what any sample needs. Channels share
//! one gain (the stereo image does not move).

use std::collections::VecDeque;

use serde::Serialize;

use crate::dsp::{db_to_gain, one_pole};

const HALF_TAPS: usize = 8;
const TAPS: usize = 2 * HALF_TAPS;

/// Settings of the limiter.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LimiterConfig {
    /// Ceiling in dBTP.
    pub ceiling_dbtp: f64,
    /// Look-ahead, seconds.
    pub lookahead_s: f64,
    /// Release time constant, seconds.
    pub release_s: f64,
}

impl Default for LimiterConfig {
    fn default() -> Self {
        Self {
            ceiling_dbtp: -1.0,
            lookahead_s: 0.005,
            release_s: 0.1,
        }
    }
}

/// What the limiter did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct LimiterReport {
    /// Ceiling, dBTP.
    pub ceiling_dbtp: f64,
    /// Deepest gain reduction, dB.
    pub max_reduction_db: f64,
    /// Fraction of samples turned down by more than 0.1 dB.
    pub active_fraction: f64,
}

/// A multichannel true-peak limiter; latency `lookahead + 7` samples.
pub struct Limiter {
    ceiling: f64,
    window: usize,
    release: f64,
    phases: [[f64; TAPS]; 3],
    /// Largest Σ|h| over the three phases.
    tap_bound: f64,
    /// Per channel: the last `keep` inputs (oldest first), then room for the current block. They
    /// serve as the interpolator's history and as the delay line.
    ext: Vec<Vec<f32>>,
    keep: usize,
    /// Sliding minimum: (index, needed gain) pairs, increasing gains.
    minq: VecDeque<(u64, f64)>,
    needed_idx: u64,
    follower: f64,
    /// Samples since the follower was last below 1 (once ≥ `window`, the average is exactly 1).
    since_reduced: usize,
    avg: VecDeque<f64>,
    avg_sum: f64,
    latency: usize,
    reduced: u64,
    total: u64,
    deepest: f64,
}

impl Limiter {
    /// A limiter for `channels` channels at `sample_rate` Hz.
    pub fn new(config: &LimiterConfig, channels: usize, sample_rate: u32) -> Self {
        let sr = f64::from(sample_rate);
        let window = ((config.lookahead_s * sr).round() as usize).max(1);
        let mut phases = [[0.0; TAPS]; 3];
        for (p, phase) in phases.iter_mut().enumerate() {
            let frac = (p + 1) as f64 / 4.0;
            // Point m + frac from x[m - 7 ..= m + 8]; tap i is x[m - 7 + i].
            let mut sum = 0.0;
            for (i, h) in phase.iter_mut().enumerate() {
                let t = frac - (i as f64 - (HALF_TAPS as f64 - 1.0));
                let sinc = if t.abs() < 1e-12 {
                    1.0
                } else {
                    (std::f64::consts::PI * t).sin() / (std::f64::consts::PI * t)
                };
                let u = t / (HALF_TAPS as f64 + 0.5);
                let w = if u.abs() >= 1.0 {
                    0.0
                } else {
                    0.42 + 0.5 * (std::f64::consts::PI * u).cos()
                        + 0.08 * (2.0 * std::f64::consts::PI * u).cos()
                };
                *h = sinc * w;
                sum += *h;
            }
            phase.iter_mut().for_each(|h| *h /= sum);
        }
        let latency = window - 1 + HALF_TAPS;
        let keep = latency.max(TAPS - 1);
        let tap_bound = phases
            .iter()
            .map(|p| p.iter().map(|h| h.abs()).sum::<f64>())
            .fold(1.0f64, f64::max);
        Self {
            tap_bound,
            // A small margin for the gain changing between neighbouring samples.
            ceiling: db_to_gain(config.ceiling_dbtp - 0.05),
            window,
            release: one_pole(config.release_s, sr),
            phases,
            ext: vec![vec![0.0; keep]; channels],
            keep,
            minq: VecDeque::with_capacity(window + 2),
            needed_idx: 0,
            follower: 1.0,
            since_reduced: window,
            avg: {
                let mut a = VecDeque::with_capacity(window + 2);
                a.extend(std::iter::repeat_n(1.0, window));
                a
            },
            avg_sum: window as f64,
            latency,
            reduced: 0,
            total: 0,
            deepest: 1.0,
        }
    }

    /// Whether a signal whose samples never exceed `sample_peak` in magnitude passes through
    /// unchanged (only delayed): no sample or point between samples can then reach the ceiling.
    pub(crate) fn passes_unchanged(&self, sample_peak: f64) -> bool {
        sample_peak * self.tap_bound <= self.ceiling
    }

    /// Delay of the output, samples.
    pub fn latency(&self) -> usize {
        self.latency
    }

    /// Processes planar `input` into planar `output` (same shapes).
    pub fn process(&mut self, input: &[&[f32]], output: &mut [&mut [f32]]) {
        let frames = input.first().map_or(0, |c| c.len());
        let keep = self.keep;
        for (e, ch) in self.ext.iter_mut().zip(input) {
            e.truncate(keep);
            e.extend_from_slice(&ch[..frames]);
        }
        // The largest sample any point of this block is interpolated from.
        let block_max = self
            .ext
            .iter()
            .map(|e| {
                e[keep + 1 - TAPS..]
                    .iter()
                    .fold(0.0f32, |m, v| m.max(v.abs()))
            })
            .fold(0.0f32, f32::max);
        let quiet = f64::from(block_max) * self.tap_bound <= self.ceiling;
        if quiet && self.since_reduced >= self.window {
            // Nothing can need a gain below 1 and none is still in the window or being released:
            // the output is the delayed input, and the state only moves on.
            for (e, out) in self.ext.iter().zip(output.iter_mut()) {
                let from = keep - self.latency;
                out[..frames].copy_from_slice(&e[from..from + frames]);
            }
            self.needed_idx += frames as u64;
            if frames > 0 {
                self.minq.clear();
                self.minq.push_back((self.needed_idx - 1, 1.0));
            }
            self.avg_sum = self.window as f64;
            self.since_reduced += frames;
            self.total += frames as u64;
        } else {
            for n in 0..frames {
                let need = if quiet { 1.0 } else { self.need(keep + n) };
                self.advance(need, n, output);
            }
        }
        for e in &mut self.ext {
            e.drain(..frames);
        }
    }

    /// Gain the sample 7 before `at` (in `ext` coordinates) needs, from it and the three points
    /// between it and the next.
    fn need(&self, at: usize) -> f64 {
        let mut peak = 0.0f64;
        for e in &self.ext {
            let h = &e[at + 1 - TAPS..=at];
            peak = peak.max(f64::from(h[HALF_TAPS - 1].abs()));
            // An interpolated point is at most Σ|h|·max|x|: skip the filters when that is
            // under the ceiling (most of the time), it cannot change the needed gain.
            let local = h.iter().fold(0.0f64, |m, &v| m.max(f64::from(v.abs())));
            if local * self.tap_bound <= self.ceiling {
                continue;
            }
            for ph in &self.phases {
                let v: f64 = ph.iter().zip(h).map(|(a, &b)| a * f64::from(b)).sum();
                peak = peak.max(v.abs());
            }
        }
        if peak > self.ceiling {
            self.ceiling / peak
        } else {
            1.0
        }
    }

    /// One sample of the gain computer with needed gain `need`; writes output sample `n`.
    fn advance(&mut self, need: f64, n: usize, output: &mut [&mut [f32]]) {
        // 1. Sliding minimum over the last `window` needs.
        let idx = self.needed_idx;
        self.needed_idx += 1;
        while self.minq.back().is_some_and(|&(_, g)| g >= need) {
            self.minq.pop_back();
        }
        self.minq.push_back((idx, need));
        while self
            .minq
            .front()
            .is_some_and(|&(i, _)| i + self.window as u64 <= idx)
        {
            self.minq.pop_front();
        }
        let gmin = self.minq.front().map_or(1.0, |&(_, g)| g);
        // 2. Instant attack, exponential release.
        let released = 1.0 - (1.0 - self.follower) * self.release;
        self.follower = gmin.min(released);
        if self.follower < 1.0 {
            self.since_reduced = 0;
        } else {
            self.since_reduced += 1;
        }
        // 3. Moving average over the window.
        self.avg_sum += self.follower - self.avg.pop_front().unwrap_or(1.0);
        self.avg.push_back(self.follower);
        if self.since_reduced >= self.window {
            // Every gain in the window is exactly 1: drop the sum's rounding drift (as the quiet
            // path in `process` does, so the output does not depend on the block size).
            self.avg_sum = self.window as f64;
        }
        let g = (self.avg_sum / self.window as f64).min(1.0);
        // 4. Delayed signal times gain.
        let from = self.keep - self.latency;
        for (e, out) in self.ext.iter().zip(output.iter_mut()) {
            out[n] = (f64::from(e[from + n]) * g) as f32;
        }
        self.total += 1;
        if g < 0.988_553 {
            self.reduced += 1;
        }
        self.deepest = self.deepest.min(g);
    }

    /// What it did so far.
    pub fn report(&self, ceiling_dbtp: f64) -> LimiterReport {
        LimiterReport {
            ceiling_dbtp,
            max_reduction_db: -20.0 * self.deepest.log10(),
            active_fraction: if self.total == 0 {
                0.0
            } else {
                self.reduced as f64 / self.total as f64
            },
        }
    }

    /// Runs the limiter over whole planar channels in place, compensating the latency.
    pub fn run_aligned(&mut self, channels: &mut [Vec<f32>]) {
        let len = channels.first().map_or(0, Vec::len);
        let lat = self.latency;
        let block = crate::dsp::BLOCK;
        let nch = channels.len();
        let mut inb = vec![vec![0.0f32; block]; nch];
        let mut outb = vec![vec![0.0f32; block]; nch];
        let mut pos = 0usize;
        let total = len + lat;
        while pos < total {
            let n = block.min(total - pos);
            for (buf, ch) in inb.iter_mut().zip(channels.iter()) {
                let have = ch.len().saturating_sub(pos).min(n);
                if have > 0 {
                    buf[..have].copy_from_slice(&ch[pos..pos + have]);
                }
                buf[have..n].fill(0.0);
            }
            {
                let ins: Vec<&[f32]> = inb.iter().map(|b| &b[..n]).collect();
                let mut outs: Vec<&mut [f32]> = outb.iter_mut().map(|b| &mut b[..n]).collect();
                self.process(&ins, &mut outs);
            }
            // Output sample pos + k is input sample pos + k − lat.
            let first = pos.max(lat);
            let last = (pos + n).min(len + lat);
            if first < last {
                for (buf, ch) in outb.iter().zip(channels.iter_mut()) {
                    ch[first - lat..last - lat].copy_from_slice(&buf[first - pos..last - pos]);
                }
            }
            pos += n;
        }
    }

    /// Forgets all state.
    pub fn reset(&mut self) {
        let keep = self.keep;
        for e in &mut self.ext {
            e.clear();
            e.resize(keep, 0.0);
        }
        self.minq.clear();
        self.needed_idx = 0;
        self.follower = 1.0;
        self.since_reduced = self.window;
        self.avg.iter_mut().for_each(|x| *x = 1.0);
        self.avg_sum = self.window as f64;
        self.reduced = 0;
        self.total = 0;
        self.deepest = 1.0;
    }
}
