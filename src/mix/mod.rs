//! Remix: cleaned stems at chosen gains, background ducked under speech, summed, normalised to an
//! integrated loudness target (ITU-R BS.1770 / EBU R128, [`measure`]) and kept under a true-peak
//! ceiling by a look-ahead limiter.
//!
//! Order: cleanup ([`crate::dsp`]) → stem gains → ducking → sum → loudness gain → limiter.
//! The remix holds both stems and the mixture in memory: normalisation needs the whole programme's
//! integrated loudness before it can set its gain.

mod duck;
mod limiter;
mod loudness;
mod stems;

use std::path::PathBuf;
use std::str::FromStr;

use serde::Serialize;

pub use duck::{ducking_gains, DuckConfig, DuckReport};
pub use limiter::{Limiter, LimiterConfig, LimiterReport};
pub use loudness::{integrated, measure, measure_ebur128, Loudness};
pub use stems::{find_stems, load_stems};

use crate::audio::AudioBlock;
use crate::dsp::{clean_stem, db_to_gain, CleanupConfig, CleanupReport, DspError, StemRole};

/// What went wrong in a remix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MixError {
    /// A stem file could not be read.
    #[error("cannot read the stem: {0}")]
    StemRead(#[source] crate::audio::AudioError),
    /// The blocks given do not fit together (a caller built them; decode never would).
    #[error("{reason}")]
    Malformed {
        /// Which block and how.
        reason: String,
    },
    /// A stem does not fit the input.
    #[error("{}: stem does not match the input: {reason}", path.display())]
    StemMismatch {
        /// The stem file.
        path: PathBuf,
        /// Expected versus found.
        reason: String,
    },
    /// The loudness of a block cannot be measured (an unsupported rate or channel count).
    #[error("loudness measurement failed: {reason}")]
    Loudness {
        /// What is out of range.
        reason: String,
    },
    /// The EBU R128 meter (ebur128 crate) refused the stream.
    #[error("loudness measurement failed: {0}")]
    Meter(#[from] ebur128::Error),
    /// A cleanup setting is invalid.
    #[error(transparent)]
    Dsp(#[from] DspError),
    /// A preset name is unknown.
    #[error("unknown preset {found:?}; expected ebu-r128, atsc-a85, streaming or podcast")]
    UnknownPreset {
        /// What was given.
        found: String,
    },
    /// A gain or target is out of range.
    #[error("invalid remix setting {name}: {reason}")]
    InvalidSetting {
        /// The setting.
        name: &'static str,
        /// Expected versus found.
        reason: String,
    },
}

/// A delivery loudness standard: integrated target and true-peak ceiling.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Preset {
    /// Name as given on the command line.
    pub name: &'static str,
    /// Integrated loudness target, LUFS.
    pub target_lufs: f64,
    /// True-peak ceiling, dBTP.
    pub ceiling_dbtp: f64,
}

/// The presets: EBU R128 (−23, −1), ATSC A/85 (−24, −2), streaming (−14, −1), podcast (−16, −1).
pub const PRESETS: [Preset; 4] = [
    Preset {
        name: "ebu-r128",
        target_lufs: -23.0,
        ceiling_dbtp: -1.0,
    },
    Preset {
        name: "atsc-a85",
        target_lufs: -24.0,
        ceiling_dbtp: -2.0,
    },
    Preset {
        name: "streaming",
        target_lufs: -14.0,
        ceiling_dbtp: -1.0,
    },
    Preset {
        name: "podcast",
        target_lufs: -16.0,
        ceiling_dbtp: -1.0,
    },
];

impl FromStr for Preset {
    type Err = MixError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PRESETS
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(s))
            .copied()
            .ok_or_else(|| MixError::UnknownPreset {
                found: s.to_string(),
            })
    }
}

/// Everything a remix does.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RemixConfig {
    /// Gain on the speech stem, dB.
    pub speech_gain_db: f64,
    /// Gain on the background stem, dB.
    pub background_gain_db: f64,
    /// Ducking of the background under speech (`None` or depth 0 = off).
    pub duck: Option<DuckConfig>,
    /// Cleanup of the stems.
    pub cleanup: CleanupConfig,
    /// Integrated loudness target, LUFS (`None` = no normalisation).
    pub target_lufs: Option<f64>,
    /// True-peak ceiling, dBTP (`None` = no limiter).
    pub limiter: Option<LimiterConfig>,
}

impl Default for RemixConfig {
    fn default() -> Self {
        Self {
            speech_gain_db: 0.0,
            background_gain_db: 0.0,
            duck: None,
            cleanup: CleanupConfig::default(),
            target_lufs: None,
            limiter: None,
        }
    }
}

/// Loudness normalisation that was applied.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct NormalisationReport {
    /// Target, LUFS.
    pub target_lufs: f64,
    /// Loudness of the remix before normalisation, LUFS.
    pub measured_lufs: f64,
    /// Gain applied, dB.
    pub gain_db: f64,
}

/// What a remix did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RemixReport {
    /// Loudness of the input.
    pub before: Loudness,
    /// Loudness of the output.
    pub after: Loudness,
    /// Gain on speech, dB.
    pub speech_gain_db: f64,
    /// Gain on background, dB.
    pub background_gain_db: f64,
    /// Ducking, when on.
    pub ducking: Option<DuckReport>,
    /// Normalisation, when on.
    pub normalisation: Option<NormalisationReport>,
    /// Limiter, when on.
    pub limiter: Option<LimiterReport>,
    /// Cleanup of the speech stem.
    pub cleanup_speech: CleanupReport,
    /// Cleanup of the background stem.
    pub cleanup_background: CleanupReport,
    /// Samples beyond full scale in the output (only possible without a limiter).
    pub clipped_samples: u64,
}

fn check_finite(
    name: &'static str,
    v: f64,
    range: std::ops::RangeInclusive<f64>,
) -> Result<(), MixError> {
    if v.is_finite() && range.contains(&v) {
        Ok(())
    } else {
        Err(MixError::InvalidSetting {
            name,
            reason: format!("{v} is not within {}..={}", range.start(), range.end()),
        })
    }
}

impl RemixConfig {
    /// Checks every setting against its range (gains −120…+40 dB, target −70…0 LUFS, ceiling
    /// −30…0 dBTP, ducking 0…60 dB), so that a bad value is refused before any audio is read.
    pub fn validate(&self) -> Result<(), MixError> {
        check_finite("speech gain", self.speech_gain_db, -120.0..=40.0)?;
        check_finite("background gain", self.background_gain_db, -120.0..=40.0)?;
        if let Some(t) = self.target_lufs {
            check_finite("target loudness", t, -70.0..=0.0)?;
        }
        if let Some(l) = &self.limiter {
            check_finite("true-peak ceiling", l.ceiling_dbtp, -30.0..=0.0)?;
        }
        if let Some(d) = &self.duck {
            check_finite("duck depth", d.depth_db.abs(), 0.0..=60.0)?;
        }
        Ok(())
    }
}

/// Remixes `speech` and `background` (conformed to `mixture`) into a new programme.
///
/// `mixture` is the original input, measured for the report's "before".
pub fn remix(
    mixture: &AudioBlock,
    mut speech: AudioBlock,
    mut background: AudioBlock,
    config: &RemixConfig,
) -> Result<(AudioBlock, RemixReport), MixError> {
    check_blocks(mixture, &speech, &background)?;
    config.validate()?;
    let before = measure(mixture)?;
    let cleanup_speech = clean_stem(&mut speech, StemRole::Speech, &config.cleanup)?;
    let cleanup_background = clean_stem(&mut background, StemRole::Background, &config.cleanup)?;
    let (mut out, ducking) = sum_stems(speech, background, config);
    let (normalisation, limiter_report) = deliver(&mut out, config)?;
    let clipped_samples = out
        .channels
        .iter()
        .flat_map(|c| c.iter())
        .filter(|x| x.abs() > 1.0)
        .count() as u64;
    let after = measure(&out)?;
    Ok((
        out,
        RemixReport {
            before,
            after,
            speech_gain_db: config.speech_gain_db,
            background_gain_db: config.background_gain_db,
            ducking,
            normalisation,
            limiter: limiter_report,
            cleanup_speech,
            cleanup_background,
            clipped_samples,
        },
    ))
}

/// Refuses blocks that do not fit together: the block's fields are public, so a caller can build
/// one decode never would.
fn check_blocks(
    mixture: &AudioBlock,
    speech: &AudioBlock,
    background: &AudioBlock,
) -> Result<(), MixError> {
    let frames = mixture.frames();
    if mixture.sample_rate == 0 || mixture.channel_count() == 0 {
        return Err(MixError::Malformed {
            reason: format!(
                "the input has {} Hz and {} channels",
                mixture.sample_rate,
                mixture.channel_count()
            ),
        });
    }
    if let Some((c, ch)) = mixture
        .channels
        .iter()
        .enumerate()
        .find(|(_, ch)| ch.len() != frames)
    {
        return Err(MixError::Malformed {
            reason: format!(
                "the input's channel {c} has length {}, channel 0 has {frames}",
                ch.len()
            ),
        });
    }
    for (stem, name) in [(speech, "speech"), (background, "background")] {
        if stem.sample_rate != mixture.sample_rate
            || stem.channel_count() != mixture.channel_count()
            || stem.channels.iter().any(|c| c.len() != frames)
        {
            return Err(MixError::Malformed {
                reason: format!(
                    "the {name} stem does not have the input's rate, channels and length (see conform)"
                ),
            });
        }
    }
    Ok(())
}

/// The stems at their gains, the background ducked under speech: summed into the speech stem's
/// buffers (no new allocation).
fn sum_stems(
    mut speech: AudioBlock,
    mut background: AudioBlock,
    config: &RemixConfig,
) -> (AudioBlock, Option<DuckReport>) {
    let gs = db_to_gain(config.speech_gain_db) as f32;
    let gb = db_to_gain(config.background_gain_db) as f32;
    let ducking = match &config.duck {
        Some(d) if d.depth_db != 0.0 => {
            let (gains, report) = ducking_gains(&speech, d);
            for ch in &mut background.channels {
                ch.iter_mut().zip(&gains).for_each(|(x, g)| *x *= g);
            }
            Some(report)
        }
        _ => None,
    };
    for (s, b) in speech.channels.iter_mut().zip(&background.channels) {
        s.iter_mut()
            .zip(b)
            .for_each(|(s, &b)| *s = gs * *s + gb * b);
    }
    (speech, ducking)
}

/// Loudness normalisation and the true-peak limiter on the sum: gain to the target, then the
/// limiter; if the limiter took loudness away, the gain is corrected and the limiter run again
/// (at most three times).
fn deliver(
    out: &mut AudioBlock,
    config: &RemixConfig,
) -> Result<(Option<NormalisationReport>, Option<LimiterReport>), MixError> {
    let mut normalisation = None;
    let mut limiter_report = None;
    let measured = match config.target_lufs {
        Some(_) => integrated(out)?,
        None => None,
    };
    let peak = out
        .channels
        .iter()
        .flat_map(|c| c.iter())
        .fold(0.0f32, |m, x| m.max(x.abs()));
    // The sum before gain and limiter, kept only when the limiter may act (and the gain may have
    // to be corrected and the limiter run again).
    let mut pre: Option<Vec<Vec<f32>>> = None;
    // Gain, then limiter; if the limiter took loudness away, correct the gain and run again.
    let mut extra_db = 0.0;
    for _ in 0..3 {
        let gain_db = match (config.target_lufs, measured) {
            (Some(t), Some(m)) => t - m + extra_db,
            _ => 0.0,
        };
        if let Some(pre) = &pre {
            out.channels.clone_from(pre);
        }
        let g = db_to_gain(gain_db) as f32;
        let limiter = config.limiter.as_ref().map(|lc| {
            let lim = Limiter::new(lc, out.channel_count(), out.sample_rate);
            let idle = lim.passes_unchanged(f64::from(peak * g));
            (lc, lim, idle)
        });
        if pre.is_none() && limiter.as_ref().is_some_and(|(_, _, idle)| !idle) {
            pre = Some(out.channels.clone());
        }
        if gain_db != 0.0 {
            out.channels
                .iter_mut()
                .for_each(|c| c.iter_mut().for_each(|x| *x *= g));
        }
        if let (Some(t), Some(m)) = (config.target_lufs, measured) {
            normalisation = Some(NormalisationReport {
                target_lufs: t,
                measured_lufs: m,
                gain_db,
            });
        }
        if let Some((lc, mut lim, idle)) = limiter {
            // An idle limiter would return its input unchanged: skip running it.
            if !idle {
                lim.run_aligned(&mut out.channels);
            }
            limiter_report = Some(lim.report(lc.ceiling_dbtp));
        }
        let (Some(t), Some(_), Some(_)) = (config.target_lufs, measured, &config.limiter) else {
            break;
        };
        // A limiter that never acted left the loudness exactly where the gain put it.
        if limiter_report.is_some_and(|r| r.max_reduction_db < 1e-3) {
            break;
        }
        let Some(now) = integrated(out)? else {
            break;
        };
        if (now - t).abs() <= 0.05 {
            break;
        }
        extra_db += t - now;
    }
    Ok((normalisation, limiter_report))
}
