//! WAV output with hound, written to a temporary file beside the target and renamed into place.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use tempfile::NamedTempFile;

use super::{AudioBlock, AudioError};

/// File format and sample format of a written audio file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// WAV, 16-bit integer PCM.
    Wav16,
    /// WAV, 24-bit integer PCM.
    #[default]
    Wav24,
    /// WAV, 32-bit IEEE float.
    F32,
    /// FLAC, 16 bits.
    Flac16,
    /// FLAC, 24 bits.
    Flac24,
}

impl FromStr for OutputFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "wav16" => Ok(Self::Wav16),
            "wav24" | "wav" => Ok(Self::Wav24),
            "f32" => Ok(Self::F32),
            "flac16" => Ok(Self::Flac16),
            "flac24" | "flac" => Ok(Self::Flac24),
            other => Err(format!(
                "unknown format {other:?}; use wav16, wav24, f32, flac16 or flac24 (flac)"
            )),
        }
    }
}

impl std::fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Wav16 => "16-bit WAV",
            Self::Wav24 => "24-bit WAV",
            Self::F32 => "32-bit float WAV",
            Self::Flac16 => "16-bit FLAC",
            Self::Flac24 => "24-bit FLAC",
        })
    }
}

impl OutputFormat {
    /// The file name extension of this format, without the dot: `wav` or `flac`.
    pub(crate) fn extension(self) -> &'static str {
        match self {
            Self::Wav16 | Self::Wav24 | Self::F32 => "wav",
            Self::Flac16 | Self::Flac24 => "flac",
        }
    }

    /// The format an output path asks for by its extension (`.wav`: `wav24`, `.flac`: `flac24`),
    /// keeping `preferred` when it is of that kind (`-o x.wav --format wav16`). `None` for any other
    /// extension: roomtone writes nothing else under an audio name.
    pub fn for_path(path: &Path, preferred: Option<Self>) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        let default = match ext.as_str() {
            "wav" | "wave" => Self::Wav24,
            "flac" => Self::Flac24,
            _ => return None,
        };
        Some(
            preferred
                .filter(|p| p.extension() == default.extension())
                .unwrap_or(default),
        )
    }

    fn bits(self) -> u16 {
        match self {
            Self::Wav16 | Self::Flac16 => 16,
            Self::Wav24 | Self::Flac24 => 24,
            Self::F32 => 32,
        }
    }

    fn wav_spec(self, sample_rate: u32, channels: u16) -> hound::WavSpec {
        hound::WavSpec {
            channels,
            sample_rate,
            bits_per_sample: self.bits(),
            sample_format: if self == Self::F32 {
                hound::SampleFormat::Float
            } else {
                hound::SampleFormat::Int
            },
        }
    }
}

/// Checks that `output`'s extension is the one `format` is written with (`.wav` for WAV, `.flac`
/// for FLAC, in any case), so that no file is written under another format's name.
pub fn check_output_format(output: &Path, format: OutputFormat) -> Result<(), AudioError> {
    if OutputFormat::for_path(output, Some(format)) == Some(format) {
        return Ok(());
    }
    Err(AudioError::MislabelledOutput {
        path: output.to_path_buf(),
        format: format.to_string(),
        extension: output
            .extension()
            .map(|e| e.to_string_lossy().into_owned())
            .unwrap_or_default(),
        expected: format.extension(),
    })
}

/// Checks that `output` may be written: it is none of `inputs`, not a folder, its folder exists, and
/// it does not exist unless `force`.
///
/// Call it before doing the work, so a refusal costs nothing.
pub fn check_output_path(output: &Path, inputs: &[PathBuf], force: bool) -> Result<(), AudioError> {
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    if inputs.iter().any(|i| same(output, i)) {
        return Err(AudioError::WouldOverwriteInput {
            path: output.to_path_buf(),
        });
    }
    if output.is_dir() {
        return Err(AudioError::Write {
            path: output.to_path_buf(),
            reason: "is a folder; give a file name".into(),
        });
    }
    let parent = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !parent.is_dir() {
        return Err(AudioError::Write {
            path: output.to_path_buf(),
            reason: format!(
                "the folder {} does not exist; create it first",
                parent.display()
            ),
        });
    }
    if !force && output.exists() {
        return Err(AudioError::OutputExists {
            path: output.to_path_buf(),
        });
    }
    Ok(())
}

/// A WAV or FLAC file being written. Nothing appears at the target path until
/// [`AudioOutput::finish`] succeeds; dropping it unfinished deletes the temporary file.
pub struct AudioOutput {
    target: PathBuf,
    force: bool,
    format: OutputFormat,
    channels: usize,
    /// The layout to note in the header, when it is not the default for the channel count.
    mask: Option<u32>,
    temp: NamedTempFile,
    sink: Sink,
    interleaved: Vec<f32>,
    quantised: Vec<i32>,
}

enum Sink {
    Wav(hound::WavWriter<BufWriter<File>>),
    Flac(Box<super::flac::FlacSink>),
}

impl AudioOutput {
    /// Starts writing `target` (`channels` channels at `sample_rate` Hz, in `format`) through a
    /// temporary file in the same folder. With `force` false an existing file at `target` is never
    /// replaced.
    pub fn create(
        target: &Path,
        sample_rate: u32,
        channels: usize,
        format: OutputFormat,
        force: bool,
    ) -> Result<Self, AudioError> {
        Self::create_with_layout(target, sample_rate, channels, None, format, force)
    }

    /// Like [`AudioOutput::create`], recording the channels' layout (a WAVE_FORMAT_EXTENSIBLE mask,
    /// e.g. `0x60F` for 5.1 with side surrounds; see [`StreamInfo::channel_mask`](super::StreamInfo))
    /// in the header: WAV's channel mask, FLAC's `WAVEFORMATEXTENSIBLE_CHANNEL_MASK` comment. A mask
    /// that does not name `channels` channels is ignored.
    pub(crate) fn create_with_layout(
        target: &Path,
        sample_rate: u32,
        channels: usize,
        mask: Option<u32>,
        format: OutputFormat,
        force: bool,
    ) -> Result<Self, AudioError> {
        let mask = mask.filter(|&m| super::layout::fits(m, channels));
        let err = |reason: String| AudioError::Write {
            path: target.to_path_buf(),
            reason,
        };
        let ch = u16::try_from(channels)
            .ok()
            .filter(|&c| c > 0)
            .ok_or_else(|| err(format!("{channels} channels cannot be written to WAV")))?;
        if matches!(format, OutputFormat::Flac16 | OutputFormat::Flac24)
            && channels > super::flac::MAX_CHANNELS
        {
            return Err(err(format!(
                "FLAC holds at most {} channels, this has {channels}; write WAV (--format wav24)",
                super::flac::MAX_CHANNELS
            )));
        }
        let temp = temp_file_beside(target).map_err(|e| {
            err(format!(
                "cannot create a temporary file in {}: {e}",
                folder_of(target).display()
            ))
        })?;
        let file = temp.as_file().try_clone().map_err(|e| err(e.to_string()))?;
        let sink = match format {
            OutputFormat::Flac16 | OutputFormat::Flac24 => Sink::Flac(Box::new(
                super::flac::FlacSink::new(
                    file,
                    sample_rate,
                    channels,
                    usize::from(format.bits()),
                    mask,
                )
                .map_err(err)?,
            )),
            _ => Sink::Wav(
                hound::WavWriter::new(BufWriter::new(file), format.wav_spec(sample_rate, ch))
                    .map_err(|e| err(e.to_string()))?,
            ),
        };
        Ok(Self {
            target: target.to_path_buf(),
            force,
            format,
            channels,
            mask,
            temp,
            sink,
            interleaved: Vec::new(),
            quantised: Vec::new(),
        })
    }

    /// Appends a planar block (its channel count must match). Samples beyond [-1, 1] are clipped in
    /// the integer formats.
    pub fn write_block(&mut self, block: &AudioBlock) -> Result<(), AudioError> {
        if block.channel_count() != self.channels {
            return Err(self.err(format!(
                "block has {} channels, file has {}",
                block.channel_count(),
                self.channels
            )));
        }
        let frames = block.frames();
        self.interleaved.clear();
        self.interleaved.reserve(frames * self.channels);
        for i in 0..frames {
            for ch in &block.channels {
                self.interleaved.push(ch[i]);
            }
        }
        let result = match (&mut self.sink, self.format) {
            (Sink::Wav(w), OutputFormat::F32) => self
                .interleaved
                .iter()
                .try_for_each(|&s| w.write_sample(s))
                .map_err(|e| e.to_string()),
            (Sink::Wav(w), OutputFormat::Wav16) => self
                .interleaved
                .iter()
                .try_for_each(|&s| w.write_sample(quantise(s, 32768.0, 32767) as i16))
                .map_err(|e| e.to_string()),
            (Sink::Wav(w), _) => self
                .interleaved
                .iter()
                .try_for_each(|&s| w.write_sample(quantise(s, 8_388_608.0, 8_388_607)))
                .map_err(|e| e.to_string()),
            (Sink::Flac(f), format) => {
                let (full, max) = if format == OutputFormat::Flac16 {
                    (32768.0, 32767)
                } else {
                    (8_388_608.0, 8_388_607)
                };
                self.quantised.clear();
                self.quantised
                    .extend(self.interleaved.iter().map(|&s| quantise(s, full, max)));
                f.write_interleaved(&self.quantised)
            }
        };
        result.map_err(|e| self.err(e))
    }

    /// Completes the header, flushes, and renames the temporary file onto the target.
    pub fn finish(self) -> Result<PathBuf, AudioError> {
        self.complete()?.persist()
    }

    /// Completes the header and flushes the temporary file to disk without renaming it: the
    /// first half of [`AudioOutput::finish`], for writing several files all or none ([`finish_pair`]).
    pub(crate) fn complete(self) -> Result<CompletedOutput, AudioError> {
        let Self {
            target,
            force,
            temp,
            sink,
            mask,
            ..
        } = self;
        let err = |reason: String| AudioError::Write {
            path: target.clone(),
            reason,
        };
        match sink {
            Sink::Wav(w) => {
                w.finalize().map_err(|e| err(e.to_string()))?;
                if let Some(mask) = mask {
                    set_wav_channel_mask(temp.as_file(), mask).map_err(|e| err(e.to_string()))?;
                }
            }
            Sink::Flac(f) => {
                f.finish().map_err(err)?;
            }
        }
        temp.as_file().sync_all().map_err(|e| err(e.to_string()))?;
        Ok(CompletedOutput {
            target,
            force,
            temp,
        })
    }

    fn err(&self, reason: String) -> AudioError {
        AudioError::Write {
            path: self.target.clone(),
            reason,
        }
    }
}

/// An output written in full to its temporary file, not yet renamed onto its target. Dropping it
/// deletes the temporary file.
pub(crate) struct CompletedOutput {
    target: PathBuf,
    force: bool,
    temp: NamedTempFile,
}

impl CompletedOutput {
    /// A file already written in full to `temp`, to be renamed onto `target`.
    pub(crate) fn new(target: &Path, force: bool, temp: NamedTempFile) -> Self {
        Self {
            target: target.to_path_buf(),
            force,
            temp,
        }
    }

    /// Renames the temporary file onto the target (replacing it only if the writer was created
    /// with `force`).
    pub(crate) fn persist(self) -> Result<PathBuf, AudioError> {
        let Self {
            target,
            force,
            temp,
        } = self;
        let persisted = if force {
            temp.persist(&target)
        } else {
            temp.persist_noclobber(&target)
        };
        match persisted {
            Ok(_) => Ok(target),
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(AudioError::OutputExists { path: target })
            }
            Err(e) => Err(AudioError::Write {
                path: target,
                reason: e.error.to_string(),
            }),
        }
    }
}

/// Finishes two files that belong together (a speech and a background stem): both appear or
/// neither does. Both are completed in their temporary files first, then renamed one after the
/// other; if the second rename fails, the first file is removed again. Returns both paths.
pub fn finish_pair(
    first: AudioOutput,
    second: AudioOutput,
) -> Result<(PathBuf, PathBuf), AudioError> {
    let first = first.complete()?;
    // On an error here `first` is dropped and its temporary file deleted.
    let second = second.complete()?;
    let first = first.persist()?;
    match second.persist() {
        Ok(second) => Ok((first, second)),
        Err(e) => {
            // Best effort: the error below is what matters; a failed removal leaves one stem,
            // which a retry replaces.
            let _ = std::fs::remove_file(&first);
            Err(e)
        }
    }
}

/// The folder `target` will be written in (`.` for a bare file name).
fn folder_of(target: &Path) -> PathBuf {
    match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A temporary file in `target`'s folder for writing `target` atomically (write, then rename).
///
/// Its name is short and fixed in length (`.roomtone-XXXXXX.tmp`), so any final name the file
/// system accepts (up to 255 bytes) still works. It is created with mode 0644 less the umask, so
/// the renamed output is readable like any other file the user makes (tempfile's own default,
/// 0600, would leave stems and remixes private while the other outputs are not).
pub(crate) fn temp_file_beside(target: &Path) -> std::io::Result<NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".roomtone-").suffix(".tmp").rand_bytes(6);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    builder.tempfile_in(folder_of(target))
}

/// Writes `mask` into the dwChannelMask field of a WAV that hound wrote as WAVE_FORMAT_EXTENSIBLE
/// (its fmt chunk first, at byte 12); a plain PCM header (16-bit mono or stereo) has no such field
/// and is left as it is.
fn set_wav_channel_mask(file: &File, mask: u32) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom, Write};
    let mut f = file;
    let mut head = [0u8; 44];
    f.seek(SeekFrom::Start(0))?;
    f.read_exact(&mut head)?;
    let extensible = &head[12..16] == b"fmt "
        && u16::from_le_bytes([head[20], head[21]]) == 0xFFFE
        && u16::from_le_bytes([head[36], head[37]]) >= 22;
    if extensible {
        f.seek(SeekFrom::Start(40))?;
        f.write_all(&mask.to_le_bytes())?;
    }
    Ok(())
}

/// Writes `block` to `path` as raw interleaved 24-bit little-endian PCM: the samples a 24-bit
/// WAV of it holds, with no header (for handing to another program).
pub(crate) fn write_raw_s24le(path: &Path, block: &AudioBlock) -> Result<(), AudioError> {
    use std::io::Write;
    let err = |e: std::io::Error| AudioError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let mut w = BufWriter::new(File::create(path).map_err(err)?);
    for i in 0..block.frames() {
        for ch in &block.channels {
            let q = quantise(ch[i], 8_388_608.0, 8_388_607);
            w.write_all(&q.to_le_bytes()[..3]).map_err(err)?;
        }
    }
    w.flush().map_err(err)
}

/// Rounds `s · full_scale` to the nearest integer, clipped to `-full_scale ..= max`.
///
/// The scale is 2^(bits-1), the convention decoders use when they read integers back as
/// `q / 2^(bits-1)`, so a write/read round trip is exact for samples already on that grid.
fn quantise(s: f32, full_scale: f32, max: i32) -> i32 {
    ((s * full_scale).round() as i32).clamp(-(max + 1), max)
}
