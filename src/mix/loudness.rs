//! Loudness measurement (ITU-R BS.1770-4 / EBU R128) with the ebur128 crate, and normalisation gain.

use serde::Serialize;

use super::MixError;
use crate::audio::AudioBlock;

/// Loudness of a programme.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Loudness {
    /// Integrated loudness, LUFS (`null` when everything is below the absolute gate).
    pub integrated_lufs: Option<f64>,
    /// Loudness range, LU.
    pub lra_lu: Option<f64>,
    /// True peak over all channels, dBTP (ebur128's 4× oversampled measure below 96 kHz).
    pub true_peak_dbtp: Option<f64>,
    /// Sample peak over all channels, dBFS.
    pub sample_peak_dbfs: Option<f64>,
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// Measures integrated loudness, loudness range, true peak and sample peak of `block`.
///
/// Channels are weighted as BS.1770 says for L, R, C, (LFE ignored), Ls, Rs in that order; a mono
/// file counts as one front channel (it reads 3 LU below the same signal played on both sides).
pub fn measure(block: &AudioBlock) -> Result<Loudness, MixError> {
    measure_with(
        block,
        ebur128::Mode::I
            | ebur128::Mode::LRA
            | ebur128::Mode::TRUE_PEAK
            | ebur128::Mode::SAMPLE_PEAK,
    )
}

/// Integrated loudness only (cheaper: no loudness range, no oversampled peak), LUFS.
pub fn integrated(block: &AudioBlock) -> Result<Option<f64>, MixError> {
    Ok(measure_with(block, ebur128::Mode::I)?.integrated_lufs)
}

fn measure_with(block: &AudioBlock, mode: ebur128::Mode) -> Result<Loudness, MixError> {
    let ch = u32::try_from(block.channel_count())
        .map_err(|_| MixError::Loudness("too many channels".into()))?;
    if ch == 0 || block.frames() == 0 {
        return Ok(Loudness {
            integrated_lufs: None,
            lra_lu: None,
            true_peak_dbtp: None,
            sample_peak_dbfs: None,
        });
    }
    let mut m = ebur128::EbuR128::new(ch, block.sample_rate, mode)
        .map_err(|e| MixError::Loudness(format!("{e:?}")))?;
    if ch == 1 {
        let _ = m.set_channel(0, ebur128::Channel::Center);
    }
    let planes: Vec<&[f32]> = block.channels.iter().map(Vec::as_slice).collect();
    // Feed in chunks so the crate's internal buffers stay small.
    let chunk = block.sample_rate as usize;
    let mut start = 0;
    while start < block.frames() {
        let end = (start + chunk).min(block.frames());
        let part: Vec<&[f32]> = planes.iter().map(|p| &p[start..end]).collect();
        m.add_frames_planar_f32(&part)
            .map_err(|e| MixError::Loudness(format!("{e:?}")))?;
        start = end;
    }
    let mut tp = 0.0f64;
    let mut sp = 0.0f64;
    for c in 0..ch {
        tp = tp.max(m.true_peak(c).unwrap_or(0.0));
        sp = sp.max(m.sample_peak(c).unwrap_or(0.0));
    }
    let has = |flag: ebur128::Mode| mode.contains(flag);
    Ok(Loudness {
        integrated_lufs: m.loudness_global().ok().and_then(finite),
        lra_lu: if has(ebur128::Mode::LRA) {
            m.loudness_range().ok().and_then(finite)
        } else {
            None
        },
        true_peak_dbtp: finite(20.0 * tp.log10()).filter(|_| has(ebur128::Mode::TRUE_PEAK)),
        sample_peak_dbfs: finite(20.0 * sp.log10()).filter(|_| has(ebur128::Mode::SAMPLE_PEAK)),
    })
}
