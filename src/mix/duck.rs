//! Ducking: the background is turned down by a set depth while speech is present.
//!
//! Speech activity comes from the speech stem in 10 ms frames (level within `range_db` of the stem's
//! loud frames and above an absolute floor). Activity is held for `hold_s`, so the short gaps between
//! words and phrases do not let the background pump back up, and it starts `lookahead_s` early so
//! the first syllable is not masked. The gain moves in dB with separate attack and release.

use serde::Serialize;

use crate::audio::AudioBlock;
use crate::dsp::one_pole;

/// Settings of the ducker.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DuckConfig {
    /// How far the background goes down under speech, dB (positive).
    pub depth_db: f64,
    /// Time constant going down, seconds.
    pub attack_s: f64,
    /// Time constant coming back up, seconds.
    pub release_s: f64,
    /// Speech is held active this long after it stops, seconds.
    pub hold_s: f64,
    /// Ducking starts this long before speech, seconds.
    pub lookahead_s: f64,
    /// Frames within this many dB of the speech stem's loud frames (95th percentile) count as speech.
    pub range_db: f64,
    /// Frames below this level (dBFS RMS) never count as speech.
    pub floor_dbfs: f64,
}

impl Default for DuckConfig {
    fn default() -> Self {
        Self {
            depth_db: 0.0,
            attack_s: 0.04,
            release_s: 0.35,
            hold_s: 0.5,
            lookahead_s: 0.05,
            range_db: 25.0,
            floor_dbfs: -60.0,
        }
    }
}

/// What the ducker did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DuckReport {
    /// Depth, dB.
    pub depth_db: f64,
    /// Fraction of the programme where speech was detected (after hold).
    pub speech_fraction: f64,
    /// Fraction of samples ducked by more than half the depth.
    pub ducked_fraction: f64,
}

/// Gain (linear) for every sample of the background, from the speech stem.
pub fn ducking_gains(speech: &AudioBlock, config: &DuckConfig) -> (Vec<f32>, DuckReport) {
    let len = speech.frames();
    let sr = f64::from(speech.sample_rate);
    let frame = ((0.01 * sr) as usize).max(1);
    let nframes = len.div_ceil(frame);
    let nch = speech.channel_count().max(1) as f64;
    let levels: Vec<f64> = (0..nframes)
        .map(|f| {
            let s = f * frame;
            let e = (s + frame).min(len);
            let mut sum = 0.0;
            for ch in &speech.channels {
                sum += ch[s..e].iter().map(|&x| f64::from(x).powi(2)).sum::<f64>();
            }
            10.0 * (sum / ((e - s) as f64 * nch)).max(1e-20).log10()
        })
        .collect();
    let mut sorted = levels.clone();
    sorted.sort_by(f64::total_cmp);
    let loud = sorted
        .get(((sorted.len() as f64 * 0.95) as usize).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or(-200.0);
    let threshold = (loud - config.range_db).max(config.floor_dbfs);
    let raw: Vec<bool> = levels.iter().map(|&l| l > threshold).collect();
    let hold = (config.hold_s / 0.01).round() as usize;
    let ahead = (config.lookahead_s / 0.01).round() as usize;
    let mut active = vec![false; nframes];
    let mut last: Option<usize> = None;
    for f in 0..nframes {
        let probe = f + ahead;
        if probe < nframes && raw[probe] {
            last = Some(probe);
        }
        // Active while a speech frame lies within [f - hold, f + lookahead].
        active[f] = last.is_some_and(|l| l + hold >= f) || raw[f];
    }
    let depth = config.depth_db.abs();
    let att = one_pole(config.attack_s, sr);
    let rel = one_pole(config.release_s, sr);
    let mut g_db = 0.0f64;
    let mut gains = Vec::with_capacity(len);
    let mut ducked = 0usize;
    for n in 0..len {
        let target = if active[n / frame] { -depth } else { 0.0 };
        let c = if target < g_db { att } else { rel };
        g_db = c * g_db + (1.0 - c) * target;
        if g_db < -depth / 2.0 && depth > 0.0 {
            ducked += 1;
        }
        gains.push(10f64.powf(g_db / 20.0) as f32);
    }
    let speech_fraction = active.iter().filter(|&&a| a).count() as f64 / nframes.max(1) as f64;
    (
        gains,
        DuckReport {
            depth_db: depth,
            speech_fraction,
            ducked_fraction: ducked as f64 / len.max(1) as f64,
        },
    )
}
