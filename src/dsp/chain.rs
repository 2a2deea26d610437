//! The cleanup chain and its order.
//!
//! Dialogue (speech stem): high-pass → hum notches → spectral gate → de-esser → leveller.
//! Background stem: hum notches only (rumble and noise there are part of the ambience the user is
//! remixing, not a defect of the dialogue).

use std::str::FromStr;

use serde::Serialize;

use super::{
    detect_hum, run_aligned, DeEsser, DeessConfig, DeessReport, DenoiseConfig, DenoiseReport,
    DspError, HighPass, HighpassConfig, HumConfig, HumDetection, HumNotch, Leveller,
    LevellerConfig, NoiseProfile, SpectralGate,
};
use crate::audio::AudioBlock;

/// One switchable cleanup step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CleanupStep {
    /// Rumble high-pass on the dialogue.
    Highpass,
    /// Mains-hum detection and notches (both stems).
    Hum,
    /// Stationary noise reduction on the dialogue.
    Denoise,
    /// De-esser on the dialogue.
    Deess,
    /// Leveller (compressor) on the dialogue.
    Level,
}

/// The order the steps run in, whatever order they are listed in.
pub const CLEANUP_ORDER: [CleanupStep; 5] = [
    CleanupStep::Highpass,
    CleanupStep::Hum,
    CleanupStep::Denoise,
    CleanupStep::Deess,
    CleanupStep::Level,
];

/// The steps on by default: all but the leveller.
pub(crate) const DEFAULT_CLEANUP: [CleanupStep; 4] = [
    CleanupStep::Highpass,
    CleanupStep::Hum,
    CleanupStep::Denoise,
    CleanupStep::Deess,
];

impl FromStr for CleanupStep {
    type Err = DspError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "highpass" | "hp" | "rumble" => Ok(Self::Highpass),
            "hum" => Ok(Self::Hum),
            "denoise" | "noise" => Ok(Self::Denoise),
            "deess" | "de-ess" => Ok(Self::Deess),
            "level" | "leveller" | "leveler" => Ok(Self::Level),
            other => Err(DspError::UnknownStep {
                found: other.to_string(),
            }),
        }
    }
}

/// Which stem a chain runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StemRole {
    /// Dialogue.
    Speech,
    /// Ambience, music, effects.
    Background,
}

/// Settings of every cleanup step and which are on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CleanupConfig {
    /// Steps that are on.
    pub steps: Vec<CleanupStep>,
    /// High-pass settings.
    pub highpass: HighpassConfig,
    /// Hum settings.
    pub hum: HumConfig,
    /// Spectral gate settings.
    pub denoise: DenoiseConfig,
    /// De-esser settings.
    pub deess: DeessConfig,
    /// Leveller settings.
    pub level: LevellerConfig,
}

impl Default for CleanupConfig {
    fn default() -> Self {
        Self {
            steps: DEFAULT_CLEANUP.to_vec(),
            highpass: HighpassConfig::default(),
            hum: HumConfig::default(),
            denoise: DenoiseConfig::default(),
            deess: DeessConfig::default(),
            level: LevellerConfig::default(),
        }
    }
}

impl CleanupConfig {
    /// Every step off.
    pub fn off() -> Self {
        Self {
            steps: Vec::new(),
            ..Self::default()
        }
    }

    /// Parses a comma-separated list such as `highpass,hum,deess`.
    pub fn parse_steps(list: &str) -> Result<Vec<CleanupStep>, DspError> {
        let mut steps = Vec::new();
        for name in list.split(',').filter(|s| !s.trim().is_empty()) {
            let step: CleanupStep = name.parse()?;
            if !steps.contains(&step) {
                steps.push(step);
            }
        }
        Ok(steps)
    }

    fn has(&self, step: CleanupStep) -> bool {
        self.steps.contains(&step)
    }
}

/// What cleanup found and did on one stem.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct CleanupReport {
    /// Steps that ran, in order.
    pub applied: Vec<CleanupStep>,
    /// Steps that were asked for but skipped, with the reason.
    pub skipped: Vec<String>,
    /// High-pass used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub highpass: Option<HighpassConfig>,
    /// Hum found (and notched when `found`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hum: Option<HumDetection>,
    /// Noise reduction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denoise: Option<DenoiseReport>,
    /// De-esser.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deess: Option<DeessReport>,
    /// Leveller: loudness range of the stem before and after, LU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level_lra_lu: Option<(f64, f64)>,
}

fn energy(block: &AudioBlock) -> f64 {
    block
        .channels
        .iter()
        .flat_map(|c| c.iter())
        .map(|&x| f64::from(x) * f64::from(x))
        .sum()
}

fn lra(block: &AudioBlock) -> Option<f64> {
    let mut m = ebur128::EbuR128::new(
        u32::try_from(block.channel_count()).ok()?,
        block.sample_rate,
        ebur128::Mode::LRA,
    )
    .ok()?;
    let planes: Vec<&[f32]> = block.channels.iter().map(Vec::as_slice).collect();
    m.add_frames_planar_f32(&planes).ok()?;
    m.loudness_range().ok()
}

/// Runs the cleanup chain for `role` on `block` in place (same length, sample-aligned).
///
/// Holds the whole stem: hum detection and the noise profile look at all of it before filtering.
pub fn clean_stem(
    block: &mut AudioBlock,
    role: StemRole,
    config: &CleanupConfig,
) -> Result<CleanupReport, DspError> {
    let sr = block.sample_rate;
    let mut report = CleanupReport::default();
    let speech = role == StemRole::Speech;
    if block.frames() == 0 {
        return Ok(report);
    }
    for step in CLEANUP_ORDER {
        if !config.has(step) {
            continue;
        }
        match step {
            CleanupStep::Highpass if speech => {
                high_pass(block, &config.highpass)?;
                report.highpass = Some(config.highpass);
            }
            CleanupStep::Hum => report.hum = Some(notch_hum(block, &config.hum)?),
            CleanupStep::Denoise if speech => {
                report.denoise = Some(denoise(block, &config.denoise)?);
            }
            CleanupStep::Deess if speech => {
                if config.deess.high_hz >= 0.45 * f64::from(sr) {
                    report.skipped.push(format!(
                        "deess: the {}–{} Hz band does not fit at {sr} Hz",
                        config.deess.low_hz, config.deess.high_hz
                    ));
                    continue;
                }
                report.deess = deess(block, &config.deess)?;
            }
            CleanupStep::Level if speech => {
                let lra = level(block, &config.level)?;
                report.level_lra_lu = Some((lra.before_lu, lra.after_lu));
            }
            _ => continue,
        }
        report.applied.push(step);
    }
    Ok(report)
}

/// The rumble high-pass on every channel (pairs of channels in one loop, the same result as one
/// after the other).
fn high_pass(block: &mut AudioBlock, config: &HighpassConfig) -> Result<(), DspError> {
    let sr = block.sample_rate;
    for pair in block.channels.chunks_mut(2) {
        let mut hp = HighPass::new(config, sr)?;
        match pair {
            [a, b] => {
                let mut hp2 = HighPass::new(config, sr)?;
                HighPass::process_pair([&mut hp, &mut hp2], a, b);
            }
            _ => pair.iter_mut().for_each(|ch| run_aligned(&mut hp, ch)),
        }
    }
    Ok(())
}

/// Looks for mains hum in the whole block and, where it is found, notches its lines out of every
/// channel.
fn notch_hum(block: &mut AudioBlock, config: &HumConfig) -> Result<HumDetection, DspError> {
    let sr = block.sample_rate;
    let planes: Vec<&[f32]> = block.channels.iter().map(Vec::as_slice).collect();
    let found = detect_hum(&planes, sr, config);
    if found.found {
        for ch in &mut block.channels {
            let mut notch = HumNotch::from_lines(&found.lines, sr, config.notch_bandwidth_hz)?;
            run_aligned(&mut notch, ch);
        }
    }
    Ok(found)
}

/// The spectral gate on every channel, each with the noise profile of its own quietest frames.
fn denoise(block: &mut AudioBlock, config: &DenoiseConfig) -> Result<DenoiseReport, DspError> {
    let sr = block.sample_rate;
    let before = energy(block);
    let mut profile_db = f64::NEG_INFINITY;
    for ch in &mut block.channels {
        let profile = NoiseProfile::from_quiet_frames(ch, sr, config.quiet_fraction)?;
        profile_db = profile_db.max(profile.level_dbfs());
        let mut gate = SpectralGate::new(config, &profile, sr)?;
        run_aligned(&mut gate, ch);
    }
    let after = energy(block);
    Ok(DenoiseReport {
        amount_db: config.amount_db,
        noise_profile_dbfs: profile_db,
        energy_reduction_db: 10.0 * (before.max(1e-30) / after.max(1e-30)).log10(),
    })
}

/// The de-esser on every channel (pairs of channels in one loop); reports the channel it reduced
/// most.
fn deess(block: &mut AudioBlock, config: &DeessConfig) -> Result<Option<DeessReport>, DspError> {
    let sr = block.sample_rate;
    let mut worst: Option<DeessReport> = None;
    for pair in block.channels.chunks_mut(2) {
        let mut d = DeEsser::new(config, sr)?;
        let mut d2 = DeEsser::new(config, sr)?;
        match pair {
            [a, b] => DeEsser::process_pair([&mut d, &mut d2], a, b),
            _ => pair.iter_mut().for_each(|ch| run_aligned(&mut d, ch)),
        }
        let used = if pair.len() == 2 { 2 } else { 1 };
        for r in [d.report(), d2.report()].into_iter().take(used) {
            worst = Some(match worst {
                Some(w) if w.max_reduction_db >= r.max_reduction_db => w,
                _ => r,
            });
        }
    }
    Ok(worst)
}

/// Loudness range of a stem before and after the leveller, LU (NaN where it cannot be measured).
struct LraChange {
    before_lu: f64,
    after_lu: f64,
}

/// The leveller on every channel.
fn level(block: &mut AudioBlock, config: &LevellerConfig) -> Result<LraChange, DspError> {
    let sr = block.sample_rate;
    let before_lu = lra(block).unwrap_or(f64::NAN);
    for ch in &mut block.channels {
        let mut l = Leveller::new(config, sr)?;
        run_aligned(&mut l, ch);
    }
    let after_lu = lra(block).unwrap_or(f64::NAN);
    Ok(LraChange {
        before_lu,
        after_lu,
    })
}
