//! Streaming decode with symphonia: a file is read as fixed-size planar blocks, never whole.

use std::fs::File;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use symphonia::core::audio::{AudioBuffer, AudioBufferRef, Signal};
use symphonia::core::codecs::{
    CodecParameters, CodecType, Decoder, DecoderOptions, CODEC_TYPE_NULL,
};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader, Packet, Track};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use super::ffmpeg::{self, FfmpegStream, FfmpegTools};
use super::header::{self, Framing};
use super::mp4::Trim;
use super::{AudioBlock, AudioError, Container};

/// Frames per block handed out by [`AudioReader::next_block`] unless told otherwise (≈ 85 ms at 48 kHz).
pub const DEFAULT_BLOCK_FRAMES: usize = 4096;

/// Recoverable decode errors tolerated before a file is called corrupt (a damaged MP3 frame or two is common).
const MAX_SKIPPED_PACKETS: usize = 8;

/// Largest magnitude taken as a sample (+60 dBFS); beyond it, or not finite, a sample is damaged data.
pub const SAMPLE_LIMIT: f32 = 1000.0;

/// Samples that were not audio (NaN, ±Inf, or beyond ±[`SAMPLE_LIMIT`]) and were replaced by 0.
///
/// Such samples come from damaged float files or broken encoders; passed on, a single one turns
/// every filter, FFT and loudness figure after it into NaN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct DamagedSamples {
    /// How many samples (over all channels) were replaced.
    pub count: u64,
    /// Frame index of the first one.
    pub first_frame: u64,
    /// Channel of the first one (0-based).
    pub first_channel: usize,
}

impl DamagedSamples {
    /// A one-line description for a warning, with the first position in seconds at `sample_rate`.
    pub fn describe(&self, sample_rate: u32) -> String {
        format!(
            "{} damaged sample{} (NaN, infinite or beyond +60 dBFS) replaced by silence, the first at {:.3} s in channel {}",
            self.count,
            if self.count == 1 { "" } else { "s" },
            self.first_frame as f64 / f64::from(sample_rate.max(1)),
            self.first_channel + 1
        )
    }
}

/// What a stream is, as its container and codec declare it.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamInfo {
    /// Container, from the file's magic bytes (`Unknown` for files ffmpeg reads).
    pub container: Container,
    /// Codec short name (symphonia's), e.g. `pcm_s16le`, `flac`, `mp3`, `aac`, `vorbis`.
    pub codec: String,
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Number of channels.
    pub channels: usize,
    /// Bits per coded sample, where the codec has one (PCM, FLAC).
    pub bits_per_sample: Option<u32>,
    /// Length in frames the container declares, if it does.
    pub declared_frames: Option<u64>,
    /// When the audio starts on the file's timeline, seconds: the empty edits before an MP4/MOV
    /// track's media (audio that starts after the picture); 0 otherwise.
    pub start_s: f64,
    /// The container's name as the decoder reports it (`wav`, `mov` …; ffmpeg's for the files it
    /// reads: `mxf`, `mpegts` …).
    pub format_name: String,
    /// Which decoder reads the file.
    pub decoded_by: DecodedBy,
    /// The channels' layout as a WAVE_FORMAT_EXTENSIBLE mask (bit 0 front left … 9/10 side
    /// left/right), when the file says and it names as many channels as there are.
    pub channel_mask: Option<u32>,
}

impl StreamInfo {
    /// What symphonia's track declares: its codec parameters `params` in a `container` file,
    /// decoded by `decoder` (codec `codec`) at `sample_rate` with `channels` channels, and its
    /// length and start as the container says (`extent`).
    fn of_symphonia(
        container: Container,
        codec: String,
        params: &CodecParameters,
        decoder: &dyn Decoder,
        sample_rate: u32,
        channels: usize,
        extent: &Extent,
    ) -> Self {
        Self {
            channel_mask: params
                .channels
                .or(decoder.codec_params().channels)
                .map(|c| c.bits())
                .filter(|&m| super::layout::fits(m, channels)),
            container,
            format_name: container.name().to_string(),
            codec,
            sample_rate,
            channels,
            bits_per_sample: params.bits_per_sample.or(params.bits_per_coded_sample),
            declared_frames: extent.declared_frames(),
            start_s: extent.trim.map_or(0.0, |t| t.start_s),
            decoded_by: DecodedBy::Symphonia,
        }
    }
}

/// Streaming decoder for one file: yields planar `f32` blocks of a fixed size until the stream ends.
///
/// Memory is bounded by one packet plus one block, whatever the file's length.
pub struct AudioReader {
    path: PathBuf,
    backend: Backend,
    info: StreamInfo,
    block_frames: usize,
    /// Decoded samples not yet handed out: `pending[c][pending_start..]`.
    pending: Vec<Vec<f32>>,
    pending_start: usize,
    decoded_frames: u64,
    skipped_packets: usize,
    exact_length: bool,
    ended: bool,
    /// Exact stream length when the header parser knows better than symphonia (AIFF, streamed WAV,
    /// an MP4 edit list).
    frame_limit: Option<u64>,
    /// Decoded frames still to drop before the stream starts (the priming an MP4 edit list skips).
    skip_frames: u64,
    damaged: Option<DamagedSamples>,
}

/// What the container gives next.
enum Next {
    /// A packet of the track being read.
    Ours(Packet),
    /// A packet of another track (or nothing to read).
    Other,
    /// The end of the stream.
    End,
}

/// What decoding one packet gives.
enum Decoded {
    /// This many frames, appended to the pending samples.
    Frames(usize),
    /// Nothing (a damaged packet, skipped).
    Nothing,
    /// The end of the stream.
    End,
}

/// Where the samples come from.
enum Backend {
    /// symphonia's reader and decoder for one track.
    Symphonia {
        format: Box<dyn FormatReader>,
        decoder: Box<dyn Decoder>,
        track_id: u32,
        convert: Option<AudioBuffer<f32>>,
    },
    /// ffmpeg decoding on a pipe (what symphonia cannot open or decode).
    Ffmpeg(FfmpegStream),
}

/// Which decoder reads a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DecodedBy {
    /// symphonia, in process (with roomtone's own header checks).
    Symphonia,
    /// ffmpeg, for codecs and containers symphonia lacks.
    Ffmpeg,
}

impl std::fmt::Display for DecodedBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Symphonia => "symphonia",
            Self::Ffmpeg => "ffmpeg",
        })
    }
}

/// What symphonia said about `path` (`e`), when ffmpeg is `missing`: the error that says ffmpeg
/// is needed, if it is (or may be: a container whose audio track symphonia cannot decode), else
/// `e`.
fn needs_ffmpeg(path: &Path, e: AudioError, missing: &str) -> AudioError {
    let what = match &e {
        AudioError::NoAudioTrack { container, .. } => format!(
            "no audio track roomtone decodes by itself in this {container} file (AC-3, E-AC-3, DTS, Opus and others are decoded through ffmpeg)"
        ),
        AudioError::UnsupportedCodec { codec, .. } => {
            format!("its audio codec ({codec}) is decoded through ffmpeg")
        }
        AudioError::UnrecognisedFormat { .. } => {
            let mut head = Vec::with_capacity(192);
            let read = File::open(path).and_then(|f| f.take(192).read_to_end(&mut head));
            match read.ok().and_then(|_| Container::ffmpeg_only(&head)) {
                Some(kind) => format!("{kind} files are decoded through ffmpeg"),
                None => return e,
            }
        }
        _ => return e,
    };
    AudioError::NeedsFfmpeg {
        path: path.to_path_buf(),
        what,
        missing: missing.to_string(),
    }
}

impl AudioReader {
    /// Opens `path`, probes its container and sets up a decoder for its first audio track.
    pub fn open(path: &Path) -> Result<Self, AudioError> {
        Self::open_with_block(path, DEFAULT_BLOCK_FRAMES)
    }

    /// Like [`AudioReader::open`], with `block_frames` frames per block (at least 1).
    pub fn open_with_block(path: &Path, block_frames: usize) -> Result<Self, AudioError> {
        Self::open_track(path, block_frames, 0)
    }

    /// Like [`AudioReader::open_with_block`], reading audio track `audio_track` (0 = the first;
    /// counted over the tracks that hold audio, in the file's order, as ffmpeg's `0:a:N` does).
    ///
    /// A file whose container or codec symphonia does not know (AC-3, Opus, MXF, MPEG-TS, RF64 …)
    /// is decoded by ffmpeg when it is installed (see `audio::ffmpeg`); [`StreamInfo::decoded_by`]
    /// says which. If ffmpeg cannot read it either, symphonia's error stands.
    pub fn open_track(
        path: &Path,
        block_frames: usize,
        audio_track: usize,
    ) -> Result<Self, AudioError> {
        match Self::open_symphonia(path, block_frames, audio_track) {
            Err(
                e @ (AudioError::UnrecognisedFormat { .. }
                | AudioError::UnsupportedCodec { .. }
                | AudioError::NoAudioTrack { .. }),
            ) => match FfmpegTools::cached_or_missing() {
                Ok(tools) => Self::open_ffmpeg(tools, path, block_frames, audio_track).or(Err(e)),
                Err(missing) => Err(needs_ffmpeg(path, e, missing)),
            },
            other => other,
        }
    }

    /// The reader on ffmpeg's decode of audio track `audio_track`; `Err` is ffmpeg's reason.
    fn open_ffmpeg(
        tools: &FfmpegTools,
        path: &Path,
        block_frames: usize,
        audio_track: usize,
    ) -> Result<Self, String> {
        let probed = ffmpeg::probe(tools, path, audio_track)?;
        header::check_limits(u64::from(probed.sample_rate), probed.channels as u64)?;
        let stream = FfmpegStream::start(tools, path, audio_track, probed.channels)?;
        let mut reader = Self {
            path: path.to_path_buf(),
            backend: Backend::Ffmpeg(stream),
            info: StreamInfo {
                container: Container::Unknown,
                format_name: probed.format,
                codec: probed.codec,
                sample_rate: probed.sample_rate,
                channels: probed.channels,
                bits_per_sample: probed.bits_per_sample,
                declared_frames: None,
                start_s: probed.start_s,
                decoded_by: DecodedBy::Ffmpeg,
                channel_mask: probed
                    .layout
                    .as_deref()
                    .and_then(super::layout::mask_of_name)
                    .filter(|&m| super::layout::fits(m, probed.channels)),
            },
            block_frames: block_frames.max(1),
            pending: vec![Vec::new(); probed.channels],
            pending_start: 0,
            decoded_frames: 0,
            skipped_packets: 0,
            exact_length: false,
            ended: false,
            frame_limit: None,
            skip_frames: 0,
            damaged: None,
        };
        // ffmpeg opens the file lazily: a file it cannot decode fails on the first read.
        reader.decode_packet().map_err(|e| e.to_string())?;
        Ok(reader)
    }

    /// The reader on symphonia's decode of audio track `audio_track` (see
    /// [`AudioReader::open_track`]), after roomtone's own header checks.
    fn open_symphonia(
        path: &Path,
        block_frames: usize,
        audio_track: usize,
    ) -> Result<Self, AudioError> {
        let (file, container, framing) = open_checked(path)?;
        let mut format = probe(path, file, container)?;
        let track = choose_track(format.tracks(), path, container, audio_track)?;
        let mut params = track.codec_params.clone();
        let track_id = track.id;
        // symphonia numbers MP4 tracks in the order of their `trak` boxes, as `mp4::Movie` does.
        let movie = framing.mp4.as_ref();
        if movie.is_some_and(|m| m.big_endian_pcm(track_id as usize)) {
            params.codec = big_endian(params.codec);
        }
        let (mut decoder, codec) = make_decoder(path, &params)?;
        let invalid = |reason: &str| AudioError::InvalidStream {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        };
        let sample_rate = params
            .sample_rate
            .ok_or_else(|| invalid("no sample rate declared"))?;
        let declared_channels = params.channels.map_or(1, |c| c.count() as u64);
        header::check_limits(u64::from(sample_rate), declared_channels.max(1))
            .map_err(|r| invalid(&r))?;
        let extent = Extent::of(&framing, track_id, &params, sample_rate);
        let primed = Primed::decode(format.as_mut(), decoder.as_mut(), track_id, &params)
            .map_err(|reason| invalid(&reason))?;
        let channels = primed.channels;
        header::check_limits(u64::from(sample_rate), channels as u64).map_err(|r| invalid(&r))?;
        let info = StreamInfo::of_symphonia(
            container,
            codec,
            &params,
            decoder.as_ref(),
            sample_rate,
            channels,
            &extent,
        );
        // PCM and FLAC declare their exact length; lossy codecs' declared lengths are estimates.
        let exact_length = info.codec.starts_with("pcm") || info.codec == "flac";
        let decoded_frames = primed.pending.first().map_or(0, Vec::len) as u64;
        let pending = if primed.pending.is_empty() {
            vec![Vec::new(); channels]
        } else {
            primed.pending
        };
        let mut reader = Self {
            path: path.to_path_buf(),
            backend: Backend::Symphonia {
                format,
                decoder,
                track_id,
                convert: primed.convert,
            },
            info,
            block_frames: block_frames.max(1),
            pending,
            pending_start: 0,
            decoded_frames,
            skipped_packets: 0,
            exact_length,
            ended: false,
            frame_limit: extent.frame_limit(),
            skip_frames: extent.trim.map_or(0, |t| t.skip_frames),
            damaged: None,
        };
        // The first packet (decoded to learn the channel count) gets the same checks.
        reader.after_append(0)?;
        Ok(reader)
    }

    /// The stream's declared properties.
    pub fn info(&self) -> &StreamInfo {
        &self.info
    }

    /// The file being read.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Frames decoded so far (including those still buffered).
    pub fn decoded_frames(&self) -> u64 {
        self.decoded_frames
    }

    /// Samples replaced by 0 so far because they were NaN, infinite or beyond ±[`SAMPLE_LIMIT`]
    /// (`None` if there were none). Every block handed out is finite.
    pub fn damaged_samples(&self) -> Option<DamagedSamples> {
        self.damaged
    }

    /// Damaged packets skipped so far (a handful are tolerated; more make the file an error).
    pub(crate) fn skipped_packets(&self) -> usize {
        self.skipped_packets
    }

    /// Fills `out` with the next block (exactly the block size, except the last one, which may be shorter).
    ///
    /// Returns `Ok(false)` once the stream is exhausted (with `out` empty). `out`'s allocations are reused.
    pub fn next_block(&mut self, out: &mut AudioBlock) -> Result<bool, AudioError> {
        while self.pending_len() < self.block_frames && !self.ended {
            self.decode_packet()?;
        }
        let n = self.pending_len().min(self.block_frames);
        out.sample_rate = self.info.sample_rate;
        out.channels.resize_with(self.info.channels, Vec::new);
        for (dst, src) in out.channels.iter_mut().zip(&self.pending) {
            dst.clear();
            dst.extend_from_slice(&src[self.pending_start..self.pending_start + n]);
        }
        self.pending_start += n;
        Ok(n > 0)
    }

    fn pending_len(&self) -> usize {
        self.pending[0].len() - self.pending_start
    }

    fn at_s(&self) -> f64 {
        self.decoded_frames as f64 / f64::from(self.info.sample_rate)
    }

    /// Decodes one packet of our track into `pending`, or marks the end of the stream.
    fn decode_packet(&mut self) -> Result<(), AudioError> {
        // Compact what has been handed out before appending more.
        if self.pending_start > 0 {
            let start = self.pending_start;
            self.pending.iter_mut().for_each(|c| {
                c.drain(..start);
            });
            self.pending_start = 0;
        }
        if matches!(self.backend, Backend::Ffmpeg(_)) {
            return self.ffmpeg_packet();
        }
        let packet = match self.next_packet()? {
            Next::Ours(packet) => packet,
            Next::Other => return Ok(()),
            Next::End => return self.finish(),
        };
        let before = self.pending[0].len();
        match self.decode_into_pending(packet)? {
            Decoded::Frames(frames) => {
                self.decoded_frames += frames as u64;
                self.after_append(before)
            }
            Decoded::Nothing => Ok(()),
            Decoded::End => self.finish(),
        }
    }

    /// The container's next packet (symphonia's reader); a panic inside the reader is the file's
    /// error.
    fn next_packet(&mut self) -> Result<Next, AudioError> {
        let Backend::Symphonia {
            format, track_id, ..
        } = &mut self.backend
        else {
            return Ok(Next::Other);
        };
        let track_id = *track_id;
        let format: &mut dyn FormatReader = format.as_mut();
        let next = std::panic::catch_unwind(std::panic::AssertUnwindSafe(once(move || {
            format.next_packet()
        })))
        .map_err(|panic| AudioError::Corrupt {
            path: self.path.clone(),
            at_s: self.at_s(),
            reason: format!(
                "the container reader failed: {}",
                crate::guard::panic_message(panic.as_ref())
            ),
        })?;
        match next {
            Ok(p) if p.track_id() != track_id => Ok(Next::Other),
            Ok(p) => Ok(Next::Ours(p)),
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                Ok(Next::End)
            }
            Err(SymError::ResetRequired) => Ok(Next::End),
            Err(e) => Err(AudioError::Corrupt {
                path: self.path.clone(),
                at_s: self.at_s(),
                reason: describe(&e),
            }),
        }
    }

    /// Decodes `packet` (symphonia's decoder) and appends its samples to `pending`. A damaged
    /// packet is skipped (up to [`MAX_SKIPPED_PACKETS`]: one more is the file's error); a panic
    /// inside the decoder is the file's error.
    fn decode_into_pending(&mut self, packet: Packet) -> Result<Decoded, AudioError> {
        let Backend::Symphonia {
            decoder, convert, ..
        } = &mut self.backend
        else {
            return Ok(Decoded::Nothing);
        };
        let decoder: &mut dyn Decoder = decoder.as_mut();
        let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(once(move || {
            decoder.decode(&packet)
        })))
        .map_err(|panic| AudioError::Corrupt {
            path: self.path.clone(),
            at_s: self.decoded_frames as f64 / f64::from(self.info.sample_rate),
            reason: format!(
                "the decoder failed: {}",
                crate::guard::panic_message(panic.as_ref())
            ),
        })?;
        let decoded = match decoded {
            Ok(d) => d,
            Err(SymError::DecodeError(reason)) => {
                self.skipped_packets += 1;
                if self.skipped_packets > MAX_SKIPPED_PACKETS {
                    return Err(AudioError::Corrupt {
                        path: self.path.clone(),
                        at_s: self.at_s(),
                        reason: format!("{reason} ({} damaged packets)", self.skipped_packets),
                    });
                }
                return Ok(Decoded::Nothing);
            }
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Ok(Decoded::End);
            }
            Err(e) => {
                return Err(AudioError::Corrupt {
                    path: self.path.clone(),
                    at_s: self.at_s(),
                    reason: describe(&e),
                })
            }
        };
        let frames =
            append(decoded, convert, &mut self.pending).map_err(|found| AudioError::Corrupt {
                path: self.path.clone(),
                at_s: self.decoded_frames as f64 / f64::from(self.info.sample_rate),
                reason: format!(
                    "channel count changes from {} to {found} mid-stream",
                    self.info.channels
                ),
            })?;
        Ok(Decoded::Frames(frames))
    }

    /// Reads the next frames ffmpeg has decoded into `pending`, or marks the end of the stream.
    fn ffmpeg_packet(&mut self) -> Result<(), AudioError> {
        let before = self.pending[0].len();
        let read = match &mut self.backend {
            Backend::Ffmpeg(stream) => stream.read_into(&mut self.pending),
            Backend::Symphonia { .. } => Ok(0),
        };
        match read {
            Ok(0) => self.finish(),
            Ok(n) => {
                self.decoded_frames += n as u64;
                self.after_append(before)
            }
            Err(reason) => Err(AudioError::Corrupt {
                path: self.path.clone(),
                at_s: self.at_s(),
                reason,
            }),
        }
    }

    /// Checks the samples appended to `pending` from index `from` on: drops what comes before the
    /// stream's start and what lies beyond its known length (which ends the stream, with the checks
    /// of its end) and replaces damaged samples by 0, counting them.
    fn after_append(&mut self, from: usize) -> Result<(), AudioError> {
        if self.skip_frames > 0 {
            let skip = (self.pending[0].len() - from).min(self.skip_frames as usize);
            self.pending.iter_mut().for_each(|c| {
                c.drain(from..from + skip);
            });
            self.skip_frames -= skip as u64;
            self.decoded_frames -= skip as u64;
        }
        let mut at_limit = false;
        if let Some(limit) = self.frame_limit {
            if self.decoded_frames > limit {
                let excess = (self.decoded_frames - limit) as usize;
                let keep = self.pending[0].len().saturating_sub(excess).max(from);
                self.pending.iter_mut().for_each(|c| c.truncate(keep));
                self.decoded_frames = limit;
                at_limit = true;
            }
        }
        let first_frame = self.decoded_frames - (self.pending[0].len() - from) as u64;
        for (c, ch) in self.pending.iter_mut().enumerate() {
            for (i, s) in ch[from..].iter_mut().enumerate() {
                if !s.is_finite() || s.abs() > SAMPLE_LIMIT {
                    *s = 0.0;
                    let at = first_frame + i as u64;
                    let d = self.damaged.get_or_insert(DamagedSamples {
                        count: 0,
                        first_frame: at,
                        first_channel: c,
                    });
                    d.count += 1;
                    if at < d.first_frame {
                        d.first_frame = at;
                        d.first_channel = c;
                    }
                }
            }
        }
        if at_limit {
            return self.finish();
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), AudioError> {
        self.ended = true;
        if let Some(declared) = self.info.declared_frames {
            // Lossy codecs may end a packet or two short of an estimated length; PCM and FLAC must not.
            let slack = if self.exact_length { 0 } else { 2 * 4096 };
            if self.decoded_frames + slack < declared {
                let rate = f64::from(self.info.sample_rate);
                return Err(AudioError::Truncated {
                    path: self.path.clone(),
                    expected_s: declared as f64 / rate,
                    found_s: self.decoded_frames as f64 / rate,
                });
            }
        }
        if self.decoded_frames == 0 {
            return Err(AudioError::InvalidStream {
                path: self.path.clone(),
                reason: "the audio track holds no samples".into(),
            });
        }
        Ok(())
    }
}

/// The track to decode among `tracks` (those of a `container` file at `path`): audio track
/// `audio_track`, counted over the tracks with a codec; or, without a choice (0), the first that
/// declares a rate. The error says why there is none.
fn choose_track<'a>(
    tracks: &'a [Track],
    path: &Path,
    container: Container,
    audio_track: usize,
) -> Result<&'a Track, AudioError> {
    let audio: Vec<_> = tracks
        .iter()
        .filter(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .collect();
    // Without a choice, the first track that declares a rate (a track that does not is a
    // codec symphonia knows but cannot describe, e.g. a timecode track read as audio).
    let track = if audio_track == 0 {
        audio
            .iter()
            .find(|t| t.codec_params.sample_rate.is_some())
            .or(audio.first())
    } else {
        audio.get(audio_track)
    };
    track.copied().ok_or_else(|| match audio.len() {
        0 => AudioError::NoAudioTrack {
            path: path.to_path_buf(),
            container: container.name().to_string(),
        },
        n => AudioError::InvalidStream {
            path: path.to_path_buf(),
            reason: format!(
                "there is no audio track {audio_track}: the file has {n} (numbered from 0)"
            ),
        },
    })
}

/// Where a symphonia track's audio starts and how long it is, as its container says.
struct Extent {
    /// The part of the decoded media an MP4/MOV edit list (or iTunes gapless info) plays.
    trim: Option<Trim>,
    /// The exact length the header parser found (AIFF, streamed WAV).
    framing_frames: Option<u64>,
    /// The media's length: an MP4/MOV track's sample table, else what symphonia read.
    media_frames: Option<u64>,
}

impl Extent {
    /// The extent of track `track_id` (with `params`, at `sample_rate`) in a file framed as
    /// `framing`.
    fn of(framing: &Framing, track_id: u32, params: &CodecParameters, sample_rate: u32) -> Self {
        let movie = framing.mp4.as_ref();
        let index = track_id as usize;
        // An MP4/MOV track's length is what its sample table holds (`mdhd` may say otherwise).
        let stts = movie.and_then(|m| m.tracks.get(index)?.stts_duration);
        Self {
            trim: movie.and_then(|m| m.trim(index, sample_rate, stts.or(params.n_frames))),
            framing_frames: framing.frames,
            media_frames: movie
                .and_then(|m| m.media_frames(index, sample_rate))
                .or(params.n_frames),
        }
    }

    /// The stream's length in frames as declared ([`StreamInfo::declared_frames`]).
    fn declared_frames(&self) -> Option<u64> {
        match self.trim {
            Some(t) => t
                .frames
                .or(self.media_frames.map(|n| n.saturating_sub(t.skip_frames))),
            None => self.framing_frames.or(self.media_frames),
        }
    }

    /// The exact length the decode is cut to, when known better than symphonia knows it.
    fn frame_limit(&self) -> Option<u64> {
        self.trim.and_then(|t| t.frames).or(self.framing_frames)
    }
}

/// What is decoded before the reader exists: a stream whose container and decoder do not declare
/// its channel count has its first packet decoded to learn it.
struct Primed {
    /// The stream's channel count.
    channels: usize,
    /// The first packet's samples, planar (empty when none was decoded).
    pending: Vec<Vec<f32>>,
    /// The conversion buffer the first packet went through.
    convert: Option<AudioBuffer<f32>>,
}

impl Primed {
    /// The channel count `params` or `decoder` declare; else (AAC in MP4) the first packet of
    /// `track_id`'s, with its samples. A panic inside symphonia is an `Err` like any other reason.
    fn decode(
        format: &mut dyn FormatReader,
        decoder: &mut dyn Decoder,
        track_id: u32,
        params: &CodecParameters,
    ) -> Result<Self, String> {
        let mut primed = Self {
            channels: 0,
            pending: Vec::new(),
            convert: None,
        };
        let declared = params
            .channels
            .or(decoder.codec_params().channels)
            .map(|c| c.count());
        if let Some(n) = declared {
            primed.channels = n;
            return Ok(primed);
        }
        // Some containers (AAC in MP4) only say once the first packet is decoded.
        primed.channels = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            first_packet(
                format,
                decoder,
                track_id,
                &mut primed.convert,
                &mut primed.pending,
            )
        }))
        .unwrap_or_else(|panic| {
            Err(format!(
                "the first packet cannot be read ({})",
                crate::guard::panic_message(panic.as_ref())
            ))
        })?;
        Ok(primed)
    }
}

/// Decodes the first decodable packet of `track_id` into `pending` (sized to its channel count), to
/// learn a stream's channel layout. Returns the channel count.
fn first_packet(
    format: &mut dyn FormatReader,
    decoder: &mut dyn Decoder,
    track_id: u32,
    convert: &mut Option<AudioBuffer<f32>>,
    pending: &mut Vec<Vec<f32>>,
) -> Result<usize, String> {
    for _ in 0..64 {
        let packet = format.next_packet().map_err(|e| describe(&e))?;
        if packet.track_id() != track_id {
            continue;
        }
        match decoder.decode(&packet) {
            Ok(buf) => {
                let n = buf.spec().channels.count();
                *pending = vec![Vec::new(); n];
                append(buf, convert, pending)
                    .map_err(|_| "inconsistent channel count".to_string())?;
                return Ok(n);
            }
            Err(SymError::DecodeError(_)) => continue,
            Err(e) => return Err(describe(&e)),
        }
    }
    Err("no decodable audio in the first 64 packets".into())
}

/// Converts a decoded packet to f32 and appends it to the planar `pending` buffers; returns the
/// frame count, or the packet's channel count when it differs from ours.
fn append(
    decoded: AudioBufferRef<'_>,
    convert: &mut Option<AudioBuffer<f32>>,
    pending: &mut [Vec<f32>],
) -> Result<usize, usize> {
    let spec = *decoded.spec();
    if spec.channels.count() != pending.len() {
        return Err(spec.channels.count());
    }
    let frames = decoded.frames();
    let buf = match convert {
        Some(buf) if buf.capacity() >= decoded.capacity() && *buf.spec() == spec => buf,
        _ => convert.insert(AudioBuffer::new(decoded.capacity() as u64, spec)),
    };
    decoded.convert(buf);
    for (c, dst) in pending.iter_mut().enumerate() {
        dst.extend_from_slice(&buf.chan(c)[..frames]);
    }
    Ok(frames)
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Makes a closure `FnOnce`, so that it may return what borrows from its captures.
fn once<R, F: FnOnce() -> R>(f: F) -> F {
    f
}

/// The one symphonia reader for `container`, decided from the first bytes (after an ID3v2 tag).
///
/// symphonia's own probe looks up to 1 MB into a file for any format's marker, so a `fLaC` or
/// `OggS` after a few bytes of junk would be parsed by a reader whose header roomtone never
/// checked (see `audio::header`). Bytes no marker claims go to the MPEG audio and ADTS readers,
/// which look for a frame sync.
fn probe_for(container: Container) -> symphonia::core::probe::Probe {
    use symphonia::default::formats as f;
    let mut probe = symphonia::core::probe::Probe::default();
    match container {
        Container::Wav => probe.register_all::<f::WavReader>(),
        Container::Aiff => probe.register_all::<f::AiffReader>(),
        Container::Flac => probe.register_all::<f::FlacReader>(),
        Container::Ogg => probe.register_all::<f::OggReader>(),
        Container::Mp4 | Container::M4a | Container::Mov => probe.register_all::<f::IsoMp4Reader>(),
        Container::Matroska => probe.register_all::<f::MkvReader>(),
        Container::Caf => probe.register_all::<f::CafReader>(),
        Container::Mpeg => probe.register_all::<f::MpaReader>(),
        Container::Adts => probe.register_all::<f::AdtsReader>(),
        _ => {
            probe.register_all::<f::MpaReader>();
            probe.register_all::<f::AdtsReader>();
        }
    }
    probe
}

/// A file as symphonia reads it: from byte `start` (after an ID3v2 tag), `len` bytes, then `pad`
/// zero bytes after its end (see [`Framing`]).
struct PaddedFile {
    file: File,
    start: u64,
    len: u64,
    pad: u64,
    pos: u64,
}

impl PaddedFile {
    fn new(mut file: File, start: u64, len: u64, pad_bytes: u64) -> std::io::Result<Self> {
        file.seek(std::io::SeekFrom::Start(start))?;
        Ok(Self {
            file,
            start,
            len,
            pad: pad_bytes,
            pos: 0,
        })
    }
}

impl Read for PaddedFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = if self.pos < self.len {
            let want = buf
                .len()
                .min(usize::try_from(self.len - self.pos).unwrap_or(usize::MAX));
            self.file.read(&mut buf[..want])?
        } else {
            let left = (self.len + self.pad).saturating_sub(self.pos);
            let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            buf[..n].fill(0);
            n
        };
        self.pos += n as u64;
        Ok(n)
    }
}

impl std::io::Seek for PaddedFile {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        use std::io::SeekFrom;
        let end = self.len + self.pad;
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => end.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        }
        .ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start")
        })?;
        self.file
            .seek(SeekFrom::Start(self.start + target.min(self.len)))?;
        self.pos = target;
        Ok(target)
    }
}

impl symphonia::core::io::MediaSource for PaddedFile {
    fn is_seekable(&self) -> bool {
        true
    }

    fn byte_len(&self) -> Option<u64> {
        Some(self.len + self.pad)
    }
}

/// A one-line reason from a symphonia error.
fn describe(e: &SymError) -> String {
    match e {
        SymError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "unexpected end of file".into()
        }
        SymError::IoError(io) => format!("read error: {io}"),
        SymError::DecodeError(m) => format!("malformed data: {m}"),
        SymError::SeekError(k) => format!("seek error: {k:?}"),
        SymError::Unsupported(m) => format!("unsupported: {m}"),
        SymError::LimitError(m) => format!("limit exceeded: {m}"),
        SymError::ResetRequired => "stream parameters change mid-file".into(),
    }
}

/// Opens `path`, skips an ID3v2 tag, tells the container from the first bytes and checks its
/// header ([`header::check`]) before symphonia sees it: the stream to probe, what it is, and how
/// its bytes are framed.
fn open_checked(path: &Path) -> Result<(PaddedFile, Container, Framing), AudioError> {
    let open_err = |source| AudioError::Open {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(open_err)?;
    let meta = file.metadata().map_err(open_err)?;
    if meta.is_dir() {
        return Err(open_err(std::io::Error::other("is a directory")));
    }
    if meta.len() == 0 {
        return Err(AudioError::Empty {
            path: path.to_path_buf(),
        });
    }
    let mut head = [0u8; 16];
    let mut n = read_up_to(&mut file, &mut head).map_err(open_err)?;
    // An ID3v2 tag may come first (MP3, and some FLAC and AAC files): the stream starts after
    // it, and symphonia is given the stream from there (roomtone does not use the tags).
    let start = header::id3v2_len(&head[..n])
        .filter(|&l| l < meta.len())
        .unwrap_or(0);
    if start > 0 {
        file.seek(std::io::SeekFrom::Start(start))
            .map_err(open_err)?;
        n = read_up_to(&mut file, &mut head).map_err(open_err)?;
    }
    let container = match Container::sniff(&head[..n]) {
        // After a tag, bytes no reader claims are taken for MPEG audio (junk before the sync).
        Container::Unknown if start > 0 => Container::Mpeg,
        c => c,
    };
    let len = meta.len() - start;
    let mut view = PaddedFile::new(file, start, len, 0).map_err(open_err)?;
    let framing =
        header::check(&mut view, len, container).map_err(|reason| AudioError::InvalidStream {
            path: path.to_path_buf(),
            reason,
        })?;
    let file = PaddedFile::new(
        File::open(path).map_err(open_err)?,
        start,
        len,
        framing.pad_bytes,
    )
    .map_err(open_err)?;

    Ok((file, container, framing))
}

/// symphonia's reader for `container` on `file` (the only reader it may use: a marker behind junk
/// is never parsed unchecked); a panic inside symphonia is the file's error.
fn probe(
    path: &Path,
    file: PaddedFile,
    container: Container,
) -> Result<Box<dyn FormatReader>, AudioError> {
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    // symphonia panics on some malformed headers: that is a bad file, not a crash.
    let probed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        probe_for(container).format(
            &hint,
            mss,
            &FormatOptions {
                enable_gapless: true,
                ..Default::default()
            },
            &MetadataOptions::default(),
        )
    }))
    .map_err(|panic| AudioError::UnrecognisedFormat {
        path: path.to_path_buf(),
        reason: format!(
            "it starts like {container} but its header is malformed ({})",
            crate::guard::panic_message(panic.as_ref())
        ),
    })?
    .map_err(|e| AudioError::UnrecognisedFormat {
        path: path.to_path_buf(),
        reason: match container {
            Container::Unknown => "its first bytes match no known audio or video format".into(),
            known => format!(
                "it starts like {known} but cannot be parsed: {}",
                describe(&e)
            ),
        },
    })?;
    Ok(probed.format)
}

/// The decoder for `params` and the codec's short name; a panic while setting it up is the file's
/// error.
fn make_decoder(
    path: &Path,
    params: &CodecParameters,
) -> Result<(Box<dyn Decoder>, String), AudioError> {
    let codec = symphonia::default::get_codecs()
        .get_codec(params.codec)
        .map_or_else(
            || undecodable_name(params.codec),
            |d| d.short_name.to_string(),
        );
    let decoder = std::panic::catch_unwind(|| {
        symphonia::default::get_codecs().make(params, &DecoderOptions::default())
    })
    .map_err(|panic| AudioError::InvalidStream {
        path: path.to_path_buf(),
        reason: format!(
            "the {codec} decoder cannot be set up from this header ({})",
            crate::guard::panic_message(panic.as_ref())
        ),
    })?
    .map_err(|_| AudioError::UnsupportedCodec {
        path: path.to_path_buf(),
        codec: codec.clone(),
    })?;
    Ok((decoder, codec))
}

/// The name of a codec symphonia knows of but has no decoder for (`Opus`, `DTS` …), else its
/// number.
fn undecodable_name(codec: CodecType) -> String {
    use symphonia::core::codecs as c;
    match codec {
        c::CODEC_TYPE_OPUS => "Opus",
        c::CODEC_TYPE_MP1 => "MP1",
        c::CODEC_TYPE_MP2 => "MP2",
        c::CODEC_TYPE_EAC3 => "E-AC-3",
        c::CODEC_TYPE_AC4 => "AC-4",
        c::CODEC_TYPE_DCA => "DTS",
        c::CODEC_TYPE_WMA => "WMA",
        c::CODEC_TYPE_SPEEX => "Speex",
        c::CODEC_TYPE_MUSEPACK => "Musepack",
        c::CODEC_TYPE_ATRAC1
        | c::CODEC_TYPE_ATRAC3
        | c::CODEC_TYPE_ATRAC3PLUS
        | c::CODEC_TYPE_ATRAC9 => "ATRAC",
        other => return format!("{other:?}"),
    }
    .to_string()
}

/// The big-endian twin of a little-endian PCM codec (QuickTime's `in24`, `in32`, `fl32`, `fl64`
/// entries, which symphonia 0.5 always reads as little-endian).
fn big_endian(codec: CodecType) -> CodecType {
    use symphonia::core::codecs as c;
    match codec {
        c::CODEC_TYPE_PCM_S24LE => c::CODEC_TYPE_PCM_S24BE,
        c::CODEC_TYPE_PCM_S32LE => c::CODEC_TYPE_PCM_S32BE,
        c::CODEC_TYPE_PCM_F32LE => c::CODEC_TYPE_PCM_F32BE,
        c::CODEC_TYPE_PCM_F64LE => c::CODEC_TYPE_PCM_F64BE,
        other => other,
    }
}
