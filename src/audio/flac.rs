//! FLAC output, encoded frame by frame (flacenc): memory stays at one block whatever the length.
//!
//! The stream header is written first with a provisional STREAMINFO; each block of 4,096 frames is
//! encoded and written as it fills; at the end STREAMINFO is rewritten in place with the totals,
//! the frame sizes and the MD5 of the samples, as the reference encoder does.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};

use flacenc::component::{BitRepr, StreamInfo};
use flacenc::error::Verify;
use flacenc::source::{Context, Fill, FrameBuf};

/// Frames per FLAC block (the reference encoder's default for 44.1/48 kHz).
const BLOCK: usize = 4096;
/// Most channels a FLAC stream holds.
pub(crate) const MAX_CHANNELS: usize = 8;
/// Highest sample rate flacenc encodes (FLAC itself goes higher; 192 kHz masters go to WAV).
const MAX_SAMPLE_RATE: u32 = 96_000;
/// Byte offset of STREAMINFO's body: `fLaC` and the metadata block header.
const STREAMINFO_AT: u64 = 8;

/// A FLAC stream being written to `file` (already positioned at its start).
pub(crate) struct FlacSink {
    file: BufWriter<File>,
    config: flacenc::error::Verified<flacenc::config::Encoder>,
    info: StreamInfo,
    buffer: (FrameBuf, Context),
    /// Interleaved samples not yet encoded (less than one block).
    pending: Vec<i32>,
    channels: usize,
    frame_number: usize,
    bytes: flacenc::bitsink::ByteSink,
    /// STREAMINFO is the last metadata block (no channel-mask comment after it).
    streaminfo_last: bool,
}

impl FlacSink {
    /// Starts a stream of `channels` channels of `bits` bits at `sample_rate` Hz. A `mask` is noted
    /// in a `WAVEFORMATEXTENSIBLE_CHANNEL_MASK` comment, as the reference tools do (for mono and
    /// stereo only when it is not FLAC's own layout).
    pub(crate) fn new(
        file: File,
        sample_rate: u32,
        channels: usize,
        bits: usize,
        mask: Option<u32>,
    ) -> Result<Self, String> {
        if channels == 0 || channels > MAX_CHANNELS {
            return Err(format!(
                "FLAC holds 1 to {MAX_CHANNELS} channels, not {channels}; write WAV instead"
            ));
        }
        if sample_rate > MAX_SAMPLE_RATE {
            return Err(format!(
                "FLAC output takes at most {} kHz (the encoder's limit), this is {sample_rate} Hz; write WAV instead",
                MAX_SAMPLE_RATE / 1000
            ));
        }
        let info = StreamInfo::new(sample_rate as usize, channels, bits)
            .map_err(|e| format!("FLAC cannot hold this stream: {e}"))?;
        let config = flacenc::config::Encoder::default()
            .into_verified()
            .map_err(|(_, e)| format!("FLAC encoder settings: {e}"))?;
        let buffer = (
            FrameBuf::with_size(channels, BLOCK).map_err(|e| e.to_string())?,
            Context::new(bits, channels),
        );
        let mut sink = Self {
            file: BufWriter::new(file),
            config,
            info,
            buffer,
            pending: Vec::with_capacity(BLOCK * channels),
            channels,
            frame_number: 0,
            bytes: flacenc::bitsink::ByteSink::new(),
            streaminfo_last: true,
        };
        // Beyond stereo, readers disagree on FLAC's own layouts (ffmpeg 5.1 takes 6 channels for
        // 5.1 with side surrounds, the format says back): say it whenever it is known.
        let note = mask.filter(|&m| channels > 2 || m != super::layout::default_mask(channels));
        sink.streaminfo_last = note.is_none();
        sink.file.write_all(b"fLaC").map_err(|e| e.to_string())?;
        sink.write_streaminfo()?;
        if let Some(mask) = note {
            sink.write_mask_comment(mask)?;
        }
        Ok(sink)
    }

    /// Adds interleaved samples (already quantised to the stream's bit depth).
    pub(crate) fn write_interleaved(&mut self, samples: &[i32]) -> Result<(), String> {
        let block = BLOCK * self.channels;
        let mut rest = samples;
        while !rest.is_empty() {
            let take = (block - self.pending.len()).min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() == block {
                self.encode_pending()?;
            }
        }
        Ok(())
    }

    /// Encodes what is left, rewrites STREAMINFO with the totals and flushes; returns the file.
    pub(crate) fn finish(mut self) -> Result<File, String> {
        if !self.pending.is_empty() {
            self.encode_pending()?;
        }
        self.info
            .set_block_sizes(BLOCK, BLOCK)
            .map_err(|e| e.to_string())?;
        self.info.set_md5_digest(&self.buffer.1.md5_digest());
        let total = self.buffer.1.total_samples();
        self.info.set_total_samples(total);
        self.file
            .seek(SeekFrom::Start(STREAMINFO_AT - 4))
            .map_err(|e| e.to_string())?;
        self.write_streaminfo()?;
        self.file.into_inner().map_err(|e| e.error().to_string())
    }

    fn encode_pending(&mut self) -> Result<(), String> {
        self.buffer
            .fill_interleaved(&self.pending)
            .map_err(|e| e.to_string())?;
        let frame = flacenc::encode_fixed_size_frame(
            &self.config,
            &self.buffer.0,
            self.frame_number,
            &self.info,
        )
        .map_err(|e| format!("FLAC encoder: {e}"))?;
        self.info.update_frame_info(&frame);
        self.frame_number += 1;
        self.pending.clear();
        self.bytes.clear();
        frame
            .write(&mut self.bytes)
            .map_err(|e| format!("FLAC encoder: {e}"))?;
        self.file
            .write_all(self.bytes.as_slice())
            .map_err(|e| e.to_string())
    }

    /// A VORBIS_COMMENT block (the last metadata block) holding the channel mask.
    fn write_mask_comment(&mut self, mask: u32) -> Result<(), String> {
        let vendor = b"roomtone";
        let comment = format!("WAVEFORMATEXTENSIBLE_CHANNEL_MASK=0x{mask:04X}");
        let mut body = Vec::new();
        body.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
        body.extend_from_slice(vendor);
        body.extend_from_slice(&1u32.to_le_bytes());
        body.extend_from_slice(&(comment.len() as u32).to_le_bytes());
        body.extend_from_slice(comment.as_bytes());
        let len = (body.len() as u32).to_be_bytes();
        self.file
            .write_all(&[0x80 | 4, len[1], len[2], len[3]])
            .and_then(|()| self.file.write_all(&body))
            .map_err(|e| e.to_string())
    }

    /// The metadata block header (STREAMINFO, 34 bytes; last unless a comment follows) and
    /// STREAMINFO.
    fn write_streaminfo(&mut self) -> Result<(), String> {
        self.bytes.clear();
        self.info
            .write(&mut self.bytes)
            .map_err(|e| format!("FLAC encoder: {e}"))?;
        let body = self.bytes.as_slice();
        let last = if self.streaminfo_last { 0x80 } else { 0 };
        let header = [last, 0, 0, body.len() as u8];
        self.file
            .write_all(&header)
            .and_then(|()| self.file.write_all(body))
            .map_err(|e| e.to_string())
    }
}
