//! Where the remix gets its stems when they are files: the names `separate` and `batch --separate`
//! write, and making a stem fit its input.

use std::path::{Path, PathBuf};

use super::MixError;
use crate::audio::{read_all, AudioBlock, OutputFormat};

/// The stems of `input` in `dir`, the first pair of which both files exist:
/// `DIR/<file name>.speech.wav` and `DIR/<file name>.background.wav` (the names
/// `roomtone batch --separate` writes, extension kept: `take.wav.speech.wav`), then
/// `DIR/<file name without extension>.speech.wav` and `.background.wav` (the names
/// `roomtone separate` writes: `take.speech.wav`), each as `.wav`, then as `.flac`. When none is
/// complete, the WAV names `roomtone separate` writes (which the error then names).
pub fn find_stems(dir: &Path, input: &Path) -> (PathBuf, PathBuf) {
    let wav = OutputFormat::Wav24;
    let mut candidates = Vec::new();
    for format in [wav, OutputFormat::Flac24] {
        if let Some(name) = input.file_name() {
            candidates.push(crate::separate::stem_pair(dir, name, format.extension()));
        }
        candidates.push(crate::separate::stem_paths(input, dir, format));
    }
    candidates
        .into_iter()
        .find(|(s, b)| s.is_file() && b.is_file())
        .unwrap_or_else(|| crate::separate::stem_paths(input, dir, wav))
}

/// Makes `stem` match the input's rate, channels and length: a mono stem is copied to every
/// channel; a length difference (a codec's padding) is trimmed or padded with silence.
/// Returns how many frames the length differed by.
pub(crate) fn conform(
    stem: &mut AudioBlock,
    path: &Path,
    sample_rate: u32,
    channels: usize,
    frames: usize,
) -> Result<usize, MixError> {
    if stem.sample_rate != sample_rate {
        return Err(MixError::StemMismatch {
            path: path.to_path_buf(),
            reason: format!(
                "sample rate {} Hz, the input has {sample_rate} Hz",
                stem.sample_rate
            ),
        });
    }
    if stem.channel_count() != channels {
        if stem.channel_count() == 1 {
            let mono = stem.channels[0].clone();
            stem.channels = vec![mono; channels];
        } else {
            return Err(MixError::StemMismatch {
                path: path.to_path_buf(),
                reason: format!(
                    "{} channels, the input has {channels}",
                    stem.channel_count()
                ),
            });
        }
    }
    let diff = stem.frames().abs_diff(frames);
    // More than a second off is a different recording, not codec padding.
    if diff > sample_rate as usize {
        return Err(MixError::StemMismatch {
            path: path.to_path_buf(),
            reason: format!(
                "{} frames long, the input has {frames} (more than 1 s apart: is it the stem of this input?)",
                stem.frames()
            ),
        });
    }
    for ch in &mut stem.channels {
        ch.resize(frames, 0.0);
    }
    Ok(diff)
}

/// Reads the two stems for `input` from `dir` (named as [`find_stems`] says) and conforms them to
/// `mixture`.
pub fn load_stems(
    dir: &Path,
    input: &Path,
    mixture: &AudioBlock,
) -> Result<(AudioBlock, AudioBlock, usize), MixError> {
    let (sp, bp) = find_stems(dir, input);
    let mut speech = read_all(&sp).map_err(MixError::StemRead)?;
    let mut background = read_all(&bp).map_err(MixError::StemRead)?;
    let (sr, ch, n) = (
        mixture.sample_rate,
        mixture.channel_count(),
        mixture.frames(),
    );
    let d1 = conform(&mut speech, &sp, sr, ch, n)?;
    let d2 = conform(&mut background, &bp, sr, ch, n)?;
    Ok((speech, background, d1.max(d2)))
}
