//! Video out: the remix put back under the picture. ffmpeg copies the picture and every stream that is
//! not the processed audio (other audio tracks, subtitles, timecode, chapters, metadata) without
//! re-encoding, and encodes our audio in the container's codec; the audio itself is ours (decoded,
//! separated, cleaned and mixed here, handed to ffmpeg as raw 24-bit PCM at the input's rate, with
//! the channel layout its count implies: mono, stereo, 5.1, 7.1, …).
//!
//! ffmpeg is the binary at `ROOMTONE_FFMPEG`, else `ffmpeg` on `PATH` (`ffprobe` beside it, else on
//! `PATH`). Without it a video output is refused before any work, saying how to install it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::audio::FfmpegTools;

/// What went wrong putting audio back into a video container. Every variant names a file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VideoError {
    /// ffmpeg (or ffprobe) is not there.
    #[error("{}: writing video needs ffmpeg (it copies the picture and muxes the audio), and {tool} was not found: install it (Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg) or set ROOMTONE_FFMPEG to the ffmpeg binary", output.display())]
    NoFfmpeg {
        /// The video output asked for.
        output: PathBuf,
        /// The tool looked for (`ffmpeg`, `ffprobe`).
        tool: String,
    },
    /// ffprobe could not list the input's streams.
    #[error("{}: cannot list its streams with ffprobe: {reason}", path.display())]
    Probe {
        /// The input.
        path: PathBuf,
        /// What ffprobe said.
        reason: String,
    },
    /// The input has no audio track of that number.
    #[error("{}: there is no audio track {track}: it has {count} (numbered from 0)", path.display())]
    NoSuchTrack {
        /// The input.
        path: PathBuf,
        /// The track asked for.
        track: usize,
        /// Audio tracks in the input.
        count: usize,
    },
    /// Our audio's codec cannot carry the source's channel layout (AAC, Opus), checked before any
    /// work.
    #[error("{}: {codec:?} cannot carry the channel layout {layout} ({channels} channels; it carries {carries}): write a .mov or .mkv instead (24-bit PCM keeps any layout), or downmix the source first", path.display())]
    Layout {
        /// The video output asked for.
        path: PathBuf,
        /// Our audio's codec.
        codec: VideoAudio,
        /// The source's layout (ffprobe's name, or its channels).
        layout: String,
        /// Its channel count.
        channels: usize,
        /// The layouts the codec carries.
        carries: String,
    },
    /// ffmpeg failed to write the output.
    #[error("{}: ffmpeg could not write it: {reason}", path.display())]
    Mux {
        /// The output.
        path: PathBuf,
        /// The last lines ffmpeg printed.
        reason: String,
    },
}

/// The video containers roomtone writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoContainer {
    /// QuickTime `.mov`: 24-bit PCM.
    Mov,
    /// MPEG-4 `.mp4` or `.m4v`: AAC (or ALAC).
    Mp4,
    /// Matroska `.mkv`: 24-bit PCM.
    Mkv,
    /// WebM `.webm`: Opus.
    Webm,
}

impl VideoContainer {
    /// The container an output path names by its extension, if it is a video container.
    pub fn for_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "mov" | "qt" => Self::Mov,
            "mp4" | "m4v" => Self::Mp4,
            "mkv" => Self::Mkv,
            "webm" => Self::Webm,
            _ => return None,
        })
    }

    /// The container's own audio codec for our audio.
    pub fn default_codec(self) -> VideoAudio {
        match self {
            Self::Mov | Self::Mkv => VideoAudio::Pcm24,
            Self::Mp4 => VideoAudio::Aac,
            Self::Webm => VideoAudio::Opus,
        }
    }

    /// Whether the container can hold `codec`.
    pub fn holds(self, codec: VideoAudio) -> bool {
        match self {
            Self::Mov => true,
            Self::Mkv => true,
            Self::Mp4 => matches!(codec, VideoAudio::Aac | VideoAudio::Alac | VideoAudio::Opus),
            Self::Webm => codec == VideoAudio::Opus,
        }
    }

    /// The output file's extension.
    pub(crate) fn extension(self) -> &'static str {
        match self {
            Self::Mov => "mov",
            Self::Mp4 => "mp4",
            Self::Mkv => "mkv",
            Self::Webm => "webm",
        }
    }

    fn muxer(self) -> &'static str {
        match self {
            Self::Mov => "mov",
            Self::Mp4 => "mp4",
            Self::Mkv => "matroska",
            Self::Webm => "webm",
        }
    }
}

/// The codec our audio is stored in inside a video container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoAudio {
    /// 24-bit PCM (bit for bit what `-o out.wav` writes).
    Pcm24,
    /// AAC-LC (ffmpeg's encoder) at the bit rate of [`VideoOut::bitrate_kbps`].
    Aac,
    /// Apple Lossless, 24-bit.
    Alac,
    /// Opus (libopus) at the bit rate of [`VideoOut::bitrate_kbps`]; 48 kHz.
    Opus,
}

impl std::str::FromStr for VideoAudio {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "pcm" | "pcm24" => Ok(Self::Pcm24),
            "aac" => Ok(Self::Aac),
            "alac" => Ok(Self::Alac),
            "opus" => Ok(Self::Opus),
            other => Err(format!(
                "unknown audio codec {other:?}; use pcm24, aac, alac or opus"
            )),
        }
    }
}

impl VideoAudio {
    fn ffmpeg_args(self, bitrate_kbps: u32) -> Vec<String> {
        match self {
            Self::Pcm24 => vec!["pcm_s24le".into()],
            Self::Aac => vec!["aac".into(), format!("{bitrate_kbps}k")],
            Self::Alac => vec!["alac".into()],
            Self::Opus => vec!["libopus".into(), format!("{bitrate_kbps}k")],
        }
    }

    /// The layouts (WAVE channel masks) this codec's ffmpeg encoder takes and names in the file so
    /// that a player or ffprobe knows them; `None`: any layout (PCM, ALAC). AAC: mono to 5.1 and
    /// 7.1 (its 5.0(side), 5.1(side), 6.1 and 7.1(wide) come out "unknown"); Opus: the Vorbis
    /// layouts of libopus's mapping family 1 (mono, stereo, 3.0, quad, 5.0, 5.1, 6.1, 7.1).
    fn layouts(self) -> Option<&'static [u32]> {
        match self {
            Self::Pcm24 | Self::Alac => None,
            Self::Aac => Some(&[0x4, 0x3, 0xB, 0x7, 0x33, 0x603, 0x107, 0x37, 0x3F, 0x63F]),
            Self::Opus => Some(&[0x4, 0x3, 0x7, 0x33, 0x37, 0x3F, 0x70F, 0x63F]),
        }
    }

    /// The ffmpeg channel layout (`FL+FR+FC+LFE+BL+BR`) to hand this codec's encoder for
    /// `channels` channels in the layout `mask` (a WAVE channel mask; without one that fits, the
    /// usual layout for the count), or `None` to give only the count (PCM and ALAC beyond the
    /// usual layouts). Side surrounds the encoder lacks are named back surrounds (5.1(side) as
    /// 5.1: the same channels in the same order); a layout with no such name is refused.
    pub fn encoder_layout(
        self,
        output: &Path,
        channels: usize,
        mask: Option<u32>,
    ) -> Result<Option<String>, VideoError> {
        let mask = mask
            .filter(|&m| crate::audio::layout_fits(m, channels))
            .unwrap_or_else(|| crate::audio::default_mask(channels));
        let Some(carried) = self.layouts() else {
            return Ok(crate::audio::ffmpeg_layout(mask, channels));
        };
        // One or two channels are mono or stereo whatever a source calls them.
        let mask = if channels <= 2 {
            crate::audio::default_mask(channels)
        } else {
            mask
        };
        [mask, crate::audio::sides_as_backs(mask)]
            .into_iter()
            .find(|m| carried.contains(m))
            .map(|m| crate::audio::ffmpeg_layout(m, channels))
            .ok_or_else(|| VideoError::Layout {
                path: output.to_path_buf(),
                codec: self,
                layout: crate::audio::describe_layout(mask, channels),
                channels,
                carries: carried
                    .iter()
                    .map(|&m| crate::audio::describe_layout(m, m.count_ones() as usize))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The bit rate used unless one is asked for, kbit/s, for `channels` channels: AAC 256 and
    /// Opus 160 up to stereo, and beyond it 128 (AAC) or 96 (Opus) per channel, so that 5.1 gets
    /// 768 or 576 (at stereo's rates the six channels of a 5.1 remix came back at 5–13 dB SNR;
    /// lossless ones have none, the AAC figure is passed and ignored).
    pub fn default_bitrate_kbps(self, channels: usize) -> u32 {
        let per_channel = |kbps: u32| kbps * u32::try_from(channels).unwrap_or(u32::MAX / kbps);
        match self {
            Self::Opus if channels > 2 => per_channel(96),
            Self::Opus => 160,
            _ if channels > 2 => per_channel(128),
            _ => 256,
        }
    }

    /// Whether this codec needs another rate than `sample_rate` (Opus runs at 8, 12, 16, 24 or
    /// 48 kHz): the rate to hand it.
    pub(crate) fn rate_for(self, sample_rate: u32) -> u32 {
        match self {
            Self::Opus if ![8_000, 12_000, 16_000, 24_000, 48_000].contains(&sample_rate) => 48_000,
            _ => sample_rate,
        }
    }
}

/// ffmpeg and ffprobe, found.
#[derive(Debug, Clone)]
pub struct Ffmpeg {
    tools: FfmpegTools,
}

impl Ffmpeg {
    /// Finds ffmpeg (`ROOMTONE_FFMPEG`, else `PATH`) and ffprobe (beside it, else on `PATH`), and
    /// checks that both run. `output` is the video the error names when they are missing.
    pub fn find(output: &Path) -> Result<Self, VideoError> {
        FfmpegTools::locate()
            .map(|tools| Self { tools })
            .map_err(|tool| VideoError::NoFfmpeg {
                output: output.to_path_buf(),
                tool,
            })
    }

    /// When ffmpeg's decode of `input`'s audio track `track` starts on the file's timeline: its
    /// first decoded frame's time (after a codec delay such as Opus's pre-skip), else the
    /// stream's start, else 0.
    fn first_audio_time(&self, input: &Path, track: usize) -> f64 {
        let probe = |entries: &str, extra: &[&str]| -> Option<f64> {
            let out = Command::new(&self.tools.ffprobe)
                .args(["-v", "error", "-select_streams", &format!("a:{track}")])
                .args(extra)
                .args(["-show_entries", entries, "-of", "csv=p=0"])
                .arg(input)
                .output()
                .ok()?;
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .find_map(|l| l.trim().trim_end_matches(',').parse::<f64>().ok())
                .filter(|t| t.is_finite())
        };
        probe(
            "frame=best_effort_timestamp_time",
            &["-read_intervals", "%+#1"],
        )
        .or_else(|| probe("stream=start_time", &[]))
        .unwrap_or(0.0)
    }

    /// The start of `input`'s timeline (its earliest stream), 0 if ffprobe does not say.
    fn file_start(&self, input: &Path) -> f64 {
        Command::new(&self.tools.ffprobe)
            .args([
                "-v",
                "error",
                "-show_entries",
                "format=start_time",
                "-of",
                "csv=p=0",
            ])
            .arg(input)
            .output()
            .ok()
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .filter(|t| t.is_finite())
            .unwrap_or(0.0)
    }

    /// The kinds of `input`'s streams in order (`video`, `audio`, `subtitle`, `data`,
    /// `attachment`).
    pub(crate) fn stream_kinds(&self, input: &Path) -> Result<Vec<String>, VideoError> {
        let out = Command::new(&self.tools.ffprobe)
            .args([
                "-v",
                "error",
                "-show_entries",
                "stream=codec_type",
                "-of",
                "json",
            ])
            .arg(input)
            .output()
            .map_err(|e| VideoError::Probe {
                path: input.to_path_buf(),
                reason: e.to_string(),
            })?;
        if !out.status.success() {
            return Err(VideoError::Probe {
                path: input.to_path_buf(),
                reason: last_lines(&out.stderr),
            });
        }
        // The top-level stream list (an MPEG-TS's programs list their streams again).
        let v: serde_json::Value =
            serde_json::from_slice(&out.stdout).map_err(|e| VideoError::Probe {
                path: input.to_path_buf(),
                reason: format!("ffprobe's answer: {e}"),
            })?;
        Ok(v["streams"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| s["codec_type"].as_str().unwrap_or("unknown").to_string())
            .collect())
    }
}

fn last_lines(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = &lines[lines.len().saturating_sub(3)..];
    if tail.is_empty() {
        "no message".into()
    } else {
        tail.join(" / ")
    }
}

/// How a video output is written.
#[derive(Debug, Clone)]
pub struct VideoOut {
    /// ffmpeg, found.
    pub ffmpeg: Ffmpeg,
    /// The container (from the output's extension).
    pub container: VideoContainer,
    /// Our audio's codec.
    pub codec: VideoAudio,
    /// Bit rate of AAC or Opus, kbit/s; `None` for the codec's default for the channel count
    /// ([`VideoAudio::default_bitrate_kbps`]).
    pub bitrate_kbps: Option<u32>,
    /// Keep the original audio as the track after ours.
    pub keep_original_audio: bool,
}

impl VideoOut {
    /// Writes `temp` (a file that exists, replaced): `input`'s streams with our audio in place of
    /// its audio track `audio_track`. `audio` is raw interleaved 24-bit little-endian PCM of
    /// `channels` channels at `sample_rate` Hz in the layout `mask` (a WAVE channel mask; without
    /// one, the usual layout for the count), sample for sample the decode of that track. Nothing
    /// is re-encoded but our audio.
    ///
    /// Timing: the input's timestamps are kept (`-copyts`), ours starts where ffmpeg's decode of
    /// the source track starts (its first decoded frame, after any codec delay), and everything is
    /// moved back by the input's start (`-output_ts_offset`), so the picture and the remix keep
    /// the source's offset to each other (an MPEG-TS whose audio leads its picture by an encoder's
    /// priming, a track that starts after the picture) and the output starts at 0.
    ///
    /// Subtitle, data and attachment streams the output container cannot take as they are (a
    /// camera's metadata track, SRT subtitles into MP4) make ffmpeg refuse the whole file: it is
    /// then written without them, and the returned notes say what was left out.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn mux(
        &self,
        input: &Path,
        audio_track: usize,
        audio: &Path,
        (sample_rate, channels, mask): (u32, usize, Option<u32>),
        temp: &Path,
        output: &Path,
    ) -> Result<Vec<String>, VideoError> {
        let layout = self.codec.encoder_layout(output, channels, mask)?;
        let kinds = self.ffmpeg.stream_kinds(input)?;
        let audio_count = kinds.iter().filter(|k| *k == "audio").count();
        if audio_track >= audio_count.max(1) {
            return Err(VideoError::NoSuchTrack {
                path: input.to_path_buf(),
                track: audio_track,
                count: audio_count,
            });
        }
        let audio_start = self.ffmpeg.first_audio_time(input, audio_track);
        let file_start = self.ffmpeg.file_start(input);
        let run = |others: bool| -> Result<(), VideoError> {
            let mut cmd = Command::new(&self.ffmpeg.tools.ffmpeg);
            cmd.args(["-nostdin", "-v", "error", "-y", "-copyts", "-i"])
                .arg(input);
            cmd.args(["-f", "s24le", "-ar", &sample_rate.to_string()]);
            let out = self
                .finish_command(
                    cmd,
                    audio,
                    (channels, layout.as_deref()),
                    (audio_start, file_start),
                    audio_track,
                    audio_count,
                    others,
                    temp,
                )
                .output()
                .map_err(|e| VideoError::Mux {
                    path: output.to_path_buf(),
                    reason: e.to_string(),
                })?;
            if out.status.success() {
                Ok(())
            } else {
                Err(VideoError::Mux {
                    path: output.to_path_buf(),
                    reason: last_lines(&out.stderr),
                })
            }
        };
        let others: Vec<&String> = kinds
            .iter()
            .filter(|k| !matches!(k.as_str(), "video" | "audio"))
            .collect();
        match run(true) {
            Ok(()) => Ok(Vec::new()),
            Err(first) if !others.is_empty() => {
                run(false).map_err(|_| first)?;
                let mut left: Vec<&str> = others.iter().map(|k| k.as_str()).collect();
                left.dedup();
                Ok(vec![format!(
                    "{}: its {} stream(s) could not go into a {:?} file as they are and were left out",
                    output.display(),
                    left.join("/"),
                    self.container
                )])
            }
            Err(first) => Err(first),
        }
    }

    /// After the input and our audio's format: its layout and start, our audio as the second input, the stream maps (with the subtitle, data and
    /// attachment streams when `others`), codecs, metadata and the output.
    #[allow(clippy::too_many_arguments)]
    fn finish_command(
        &self,
        mut cmd: Command,
        audio: &Path,
        (channels, layout): (usize, Option<&str>),
        (audio_start, file_start): (f64, f64),
        audio_track: usize,
        audio_count: usize,
        others: bool,
        temp: &Path,
    ) -> Command {
        match layout {
            Some(l) => cmd.args(["-ch_layout", l]),
            None => cmd.args(["-ac", &channels.to_string()]),
        };
        cmd.arg("-itsoffset").arg(format!("{audio_start:.6}"));
        cmd.arg("-i").arg(audio);
        // The picture first, then the audio tracks in their order with ours in place of the one
        // processed (and the original after it, if kept), then everything else.
        cmd.args(["-map", "0:v?"]);
        let mut ours = 0;
        let mut position = 0;
        for i in 0..audio_count.max(1) {
            if i == audio_track {
                cmd.args(["-map", "1:a:0"]);
                ours = position;
                position += 1;
                if self.keep_original_audio && audio_count > 0 {
                    cmd.args(["-map", &format!("0:a:{i}")]);
                    position += 1;
                }
            } else {
                cmd.args(["-map", &format!("0:a:{i}")]);
                position += 1;
            }
        }
        if others {
            for kind in ["s", "d", "t"] {
                cmd.args(["-map", &format!("0:{kind}?")]);
            }
        }
        let bitrate = self
            .bitrate_kbps
            .unwrap_or_else(|| self.codec.default_bitrate_kbps(channels));
        let codec = self.codec.ffmpeg_args(bitrate);
        cmd.args(["-c", "copy", &format!("-c:a:{ours}"), &codec[0]]);
        if let Some(rate) = codec.get(1) {
            cmd.args([&format!("-b:a:{ours}"), rate]);
        }
        if self.codec == VideoAudio::Alac {
            cmd.args([&format!("-sample_fmt:a:{ours}"), "s32p"]);
        }
        cmd.args(["-map_metadata", "0", "-map_chapters", "0"]);
        // The processed track is the default one; a kept original is not.
        cmd.args([&format!("-disposition:a:{ours}"), "default"]);
        if self.keep_original_audio {
            cmd.args([&format!("-disposition:a:{}", ours + 1), "0"]);
        }
        if self.container == VideoContainer::Mp4 {
            cmd.args(["-movflags", "+faststart"]);
        }
        cmd.arg("-output_ts_offset")
            .arg(format!("{:.6}", -file_start));
        cmd.args(["-f", self.container.muxer()]).arg(temp);
        cmd
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_bit_rates_grow_with_the_channels_beyond_stereo() {
        for (codec, stereo, surround) in [(VideoAudio::Aac, 256, 768), (VideoAudio::Opus, 160, 576)]
        {
            assert_eq!(codec.default_bitrate_kbps(1), stereo);
            assert_eq!(codec.default_bitrate_kbps(2), stereo);
            assert_eq!(codec.default_bitrate_kbps(6), surround);
            assert!(codec.default_bitrate_kbps(3) > stereo);
        }
    }

    #[test]
    fn containers_by_extension_and_their_codecs() {
        let c = |p: &str| VideoContainer::for_path(Path::new(p));
        assert_eq!(c("a.MOV"), Some(VideoContainer::Mov));
        assert_eq!(c("a.m4v"), Some(VideoContainer::Mp4));
        assert_eq!(c("a.webm"), Some(VideoContainer::Webm));
        assert_eq!(c("a.wav"), None);
        assert_eq!(c("a"), None);
        assert_eq!(VideoContainer::Mov.default_codec(), VideoAudio::Pcm24);
        assert_eq!(VideoContainer::Mp4.default_codec(), VideoAudio::Aac);
        assert!(!VideoContainer::Mp4.holds(VideoAudio::Pcm24));
        assert!(!VideoContainer::Webm.holds(VideoAudio::Aac));
        assert_eq!(VideoAudio::Opus.rate_for(44_100), 48_000);
        assert_eq!(VideoAudio::Opus.rate_for(24_000), 24_000);
        assert_eq!(VideoAudio::Aac.rate_for(44_100), 44_100);
    }

    #[test]
    fn layouts_the_encoders_carry() {
        let out = Path::new("x.webm");
        let layout = |codec: VideoAudio, channels, mask| {
            codec
                .encoder_layout(out, channels, mask)
                .map_err(|e| e.to_string())
        };
        let back51 = Ok(Some("FL+FR+FC+LFE+BL+BR".to_string()));
        for codec in [VideoAudio::Aac, VideoAudio::Opus] {
            // 5.1(side) goes as 5.1, 5.1 as it is, a 6-channel source without a mask as 5.1.
            assert_eq!(layout(codec, 6, Some(0x60F)), back51);
            assert_eq!(layout(codec, 6, Some(0x3F)), back51);
            assert_eq!(layout(codec, 6, None), back51);
            assert_eq!(layout(codec, 1, Some(0x1)), Ok(Some("FC".to_string())));
            assert_eq!(layout(codec, 8, Some(0x63F)).map(|l| l.is_some()), Ok(true));
            // 7.1(wide) has no name either encoder knows; nor do 12 channels.
            let wide = layout(codec, 8, Some(0xFF)).unwrap_err();
            assert!(wide.contains("x.webm") && wide.contains("7.1(wide)") && wide.contains(".mov"));
            assert!(layout(codec, 12, None).unwrap_err().contains("12 channels"));
        }
        // 6.1: Opus (mapping family 1) has it, AAC names it "unknown".
        assert!(layout(VideoAudio::Opus, 7, Some(0x70F)).is_ok());
        assert!(layout(VideoAudio::Aac, 7, Some(0x70F)).is_err());
        // quad(side) is AAC's own; Opus takes it as quad; 2.1 only AAC.
        assert_eq!(
            layout(VideoAudio::Aac, 4, Some(0x603)),
            Ok(Some("FL+FR+SL+SR".to_string()))
        );
        assert_eq!(
            layout(VideoAudio::Opus, 4, Some(0x603)),
            Ok(Some("FL+FR+BL+BR".to_string()))
        );
        assert!(layout(VideoAudio::Opus, 3, Some(0xB)).is_err());
        // PCM and ALAC carry anything; beyond the known masks only the count is given.
        assert_eq!(
            layout(VideoAudio::Pcm24, 8, Some(0xFF)),
            Ok(Some("FL+FR+FC+LFE+BL+BR+FLC+FRC".to_string()))
        );
        assert_eq!(layout(VideoAudio::Alac, 12, None), Ok(None));
    }
}
