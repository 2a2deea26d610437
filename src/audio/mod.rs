//! Audio in and out: streaming decode (symphonia), resampling (rubato), WAV output (hound).
//!
//! Buffers are planar `f32` in [-1, 1] and always carry their sample rate.

mod container;
mod decode;
mod discover;
mod error;
mod ffmpeg;
mod flac;
mod header;
mod layout;
mod mp4;
mod resample;
pub(crate) mod timecode;
mod write;

pub use container::Container;
pub use decode::{
    AudioReader, DamagedSamples, DecodedBy, StreamInfo, DEFAULT_BLOCK_FRAMES, SAMPLE_LIMIT,
};
pub use discover::{expand_inputs, is_media, Walker, MEDIA_EXTENSIONS, OUTPUT_MARKER};
pub use error::AudioError;
pub(crate) use ffmpeg::FfmpegTools;
pub(crate) use layout::{
    default_mask, describe as describe_layout, ffmpeg_layout, fits as layout_fits, sides_as_backs,
};
pub use resample::StreamResampler;
pub use timecode::{read_timing, StartTimecode, Timing};
pub(crate) use write::CompletedOutput;
pub use write::{check_output_format, check_output_path, finish_pair, AudioOutput, OutputFormat};
pub(crate) use write::{temp_file_beside, write_raw_s24le};

/// A block of planar audio: `channels[c][i]` is sample `i` of channel `c`, at `sample_rate` Hz.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AudioBlock {
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// One vector per channel, all the same length.
    pub channels: Vec<Vec<f32>>,
}

impl AudioBlock {
    /// An empty block with `channels` channels at `sample_rate` Hz.
    pub fn new(sample_rate: u32, channels: usize) -> Self {
        Self {
            sample_rate,
            channels: vec![Vec::new(); channels],
        }
    }

    /// Number of sample frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }

    /// Number of channels.
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// Empties every channel, keeping the allocations.
    pub(crate) fn clear(&mut self) {
        self.channels.iter_mut().for_each(Vec::clear);
    }

    /// Writes the mean of all channels into `out` (cleared first). Mono input is copied.
    pub fn downmix_into(&self, out: &mut Vec<f32>) {
        out.clear();
        let Some(first) = self.channels.first() else {
            return;
        };
        out.extend_from_slice(first);
        if self.channels.len() > 1 {
            for ch in &self.channels[1..] {
                out.iter_mut().zip(ch).for_each(|(o, s)| *o += s);
            }
            let scale = 1.0 / self.channels.len() as f32;
            out.iter_mut().for_each(|o| *o *= scale);
        }
    }
}

/// Sample peak in dBFS of a linear peak value (`-inf` for digital silence).
pub(crate) fn peak_dbfs(peak: f32) -> f64 {
    20.0 * f64::from(peak).log10()
}

/// Reads a whole file into one block. It holds every sample in memory (4 bytes per sample).
pub fn read_all(path: &std::path::Path) -> Result<AudioBlock, AudioError> {
    read_all_checked(path).map(|(block, _)| block)
}

/// Like [`read_all`], and also says which damaged samples were replaced by 0 (see [`DamagedSamples`]).
pub fn read_all_checked(
    path: &std::path::Path,
) -> Result<(AudioBlock, Option<DamagedSamples>), AudioError> {
    read_reader(AudioReader::open(path)?)
}

/// Decodes what is left of `reader` into one block (see [`read_all`]), and says which damaged
/// samples were replaced by 0.
pub fn read_reader(
    mut reader: AudioReader,
) -> Result<(AudioBlock, Option<DamagedSamples>), AudioError> {
    let path = reader.path().to_path_buf();
    let path = path.as_path();
    let info = reader.info().clone();
    let mut all = AudioBlock::new(info.sample_rate, info.channels);
    // Room for the declared length up front (no copying as the buffers grow), but a header's claim
    // is trusted only as far as the file's size can hold it: one byte per sample, the least any PCM
    // format stores (a 1.6 KB WAV may declare 45 minutes of stereo; that is 4 GB reserved, and
    // an abort where an address-space limit is set). Compressed streams grow the buffers as needed.
    if let Some(n) = info.declared_frames {
        let file_bytes = std::fs::metadata(path).map_or(0, |m| m.len());
        let n = n.min(file_bytes / info.channels as u64);
        let n = usize::try_from(n).unwrap_or(0);
        all.channels.iter_mut().for_each(|c| c.reserve_exact(n));
    }
    let mut block = AudioBlock::default();
    while reader.next_block(&mut block)? {
        for (dst, src) in all.channels.iter_mut().zip(&block.channels) {
            dst.extend_from_slice(src);
        }
    }
    Ok((all, reader.damaged_samples()))
}

/// What `roomtone info` reports about a file; the whole stream is decoded to measure it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FileInfo {
    /// The file as given.
    pub path: String,
    /// Container name (`wav`, `flac`, `ogg`, `mp4` …; ffmpeg's name for the files it reads).
    pub container: String,
    /// Which decoder read the file: `symphonia` or `ffmpeg` (for codecs and containers symphonia
    /// lacks).
    pub decoder: DecodedBy,
    /// Codec short name.
    pub codec: String,
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Channel count.
    pub channels: usize,
    /// Bits per coded sample, where the codec has one.
    pub bits_per_sample: Option<u32>,
    /// Decoded length in sample frames.
    pub frames: u64,
    /// Decoded duration in seconds.
    pub duration_s: f64,
    /// Highest absolute sample value over all channels, in dBFS (`null` for digital silence).
    pub peak_dbfs: Option<f64>,
    /// Damaged packets the decoder skipped (0 for a clean file).
    pub skipped_packets: usize,
    /// Samples that were NaN, infinite or beyond +60 dBFS, replaced by 0 (`null` for a clean file).
    pub damaged_samples: Option<DamagedSamples>,
}

/// Decodes `path` from start to end and reports its format, exact duration and sample peak.
pub fn inspect(path: &std::path::Path) -> Result<FileInfo, AudioError> {
    let mut reader = AudioReader::open(path)?;
    let mut block = AudioBlock::default();
    let mut peak = 0.0f32;
    while reader.next_block(&mut block)? {
        for ch in &block.channels {
            peak = ch.iter().fold(peak, |p, s| p.max(s.abs()));
        }
    }
    let info = reader.info();
    let frames = reader.decoded_frames();
    Ok(FileInfo {
        path: path.display().to_string(),
        container: info.format_name.clone(),
        decoder: info.decoded_by,
        codec: info.codec.clone(),
        sample_rate: info.sample_rate,
        channels: info.channels,
        bits_per_sample: info.bits_per_sample,
        frames,
        duration_s: frames as f64 / f64::from(info.sample_rate),
        peak_dbfs: (peak > 0.0).then(|| peak_dbfs(peak)),
        skipped_packets: reader.skipped_packets(),
        damaged_samples: reader.damaged_samples(),
    })
}
