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
    /// Interpolation history per channel (last `TAPS` inputs), newest last.
    hist: Vec<[f64; TAPS]>,
    /// Delay line of inputs, per channel, length `latency + 1`.
    delay: Vec<VecDeque<f64>>,
    /// Sliding minimum: (index, needed gain) pairs, increasing gains.
    minq: VecDeque<(u64, f64)>,
    needed_idx: u64,
    follower: f64,
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
            hist: vec![[0.0; TAPS]; channels],
            delay: (0..channels)
                .map(|_| {
                    let mut d = VecDeque::with_capacity(latency + 2);
                    d.extend(std::iter::repeat_n(0.0, latency));
                    d
                })
                .collect(),
            minq: VecDeque::with_capacity(window + 2),
            needed_idx: 0,
            follower: 1.0,
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

    /// Delay of the output, samples.
    pub fn latency(&self) -> usize {
        self.latency
    }

    /// Processes planar `input` into planar `output` (same shapes).
    pub fn process(&mut self, input: &[&[f32]], output: &mut [&mut [f32]]) {
        let frames = input.first().map_or(0, |c| c.len());
        for n in 0..frames {
            // 1. Peak around the sample HALF_TAPS - 1 back (it now has its 8 future neighbours).
            let mut peak = 0.0f64;
            for (h, ch) in self.hist.iter_mut().zip(input) {
                h.copy_within(1.., 0);
                h[TAPS - 1] = f64::from(ch[n]);
                peak = peak.max(h[HALF_TAPS - 1].abs());
                // An interpolated point is at most Σ|h|·max|x|: skip the filters when that is
                // under the ceiling (most of the time), it cannot change the needed gain.
                let local = h.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                if local * self.tap_bound <= self.ceiling {
                    continue;
                }
                for ph in &self.phases {
                    let v: f64 = ph.iter().zip(h.iter()).map(|(a, b)| a * b).sum();
                    peak = peak.max(v.abs());
                }
            }
            let need = if peak > self.ceiling {
                self.ceiling / peak
            } else {
                1.0
            };
            // 2. Sliding minimum over the last `window` needs.
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
            // 3. Instant attack, exponential release.
            let released = 1.0 - (1.0 - self.follower) * self.release;
            self.follower = gmin.min(released);
            // 4. Moving average over the window.
            self.avg_sum += self.follower - self.avg.pop_front().unwrap_or(1.0);
            self.avg.push_back(self.follower);
            let g = (self.avg_sum / self.window as f64).min(1.0);
            // 5. Delayed signal times gain.
            for ((d, ch), out) in self.delay.iter_mut().zip(input).zip(output.iter_mut()) {
                d.push_back(f64::from(ch[n]));
                let x = d.pop_front().unwrap_or(0.0);
                out[n] = (x * g) as f32;
            }
            self.total += 1;
            if g < 0.988_553 {
                self.reduced += 1;
            }
            self.deepest = self.deepest.min(g);
        }
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
            for (c, buf) in inb.iter_mut().enumerate() {
                for (k, b) in buf[..n].iter_mut().enumerate() {
                    *b = channels[c].get(pos + k).copied().unwrap_or(0.0);
                }
            }
            {
                let ins: Vec<&[f32]> = inb.iter().map(|b| &b[..n]).collect();
                let mut outs: Vec<&mut [f32]> = outb.iter_mut().map(|b| &mut b[..n]).collect();
                self.process(&ins, &mut outs);
            }
            for (c, buf) in outb.iter().enumerate() {
                for (k, &y) in buf[..n].iter().enumerate() {
                    let at = pos + k;
                    if at >= lat && at - lat < len {
                        channels[c][at - lat] = y;
                    }
                }
            }
            pos += n;
        }
    }

    /// Forgets all state.
    pub fn reset(&mut self) {
        for h in &mut self.hist {
            *h = [0.0; TAPS];
        }
        for d in &mut self.delay {
            d.iter_mut().for_each(|x| *x = 0.0);
        }
        self.minq.clear();
        self.needed_idx = 0;
        self.follower = 1.0;
        self.avg.iter_mut().for_each(|x| *x = 1.0);
        self.avg_sum = self.window as f64;
        self.reduced = 0;
        self.total = 0;
        self.deepest = 1.0;
    }
}
