//! Where a file sits on an editor's timeline: its video frame rate and the timecode of its first
//! sample, for timeline marker exports.
//!
//! - **MP4/MOV**: the first video track's rate (`mdhd` timescale over the most common `stts`
//!   duration); the start from a QuickTime timecode track (`tmcd`): the frame number of its first
//!   sample, at the sample entry's rate, drop frame if its flags say so.
//! - **WAV/RF64/BW64**: Broadcast WAV's `bext` TimeReference (samples since midnight at the file's
//!   rate, as production recorders write it), with iXML's `TIMECODE_RATE` and `TIMECODE_FLAG`
//!   (DF/NDF) when present; iXML's `TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_*` when there is no `bext`.
//! - **Anything else** (MKV, MXF, MPEG-TS, Ogg …): ffprobe, if found ([`FfmpegTools`]): the first
//!   video stream's `r_frame_rate` and a `timecode` tag of a stream or of the format.
//!
//! Timing is a nice-to-have: a file whose timing cannot be read (no such fields, damaged or
//! hostile ones, no ffprobe) gives [`Timing`] with `None`s, never an error.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::process::{Command, Stdio};

use super::{header, mp4, AudioError, Container, FfmpegTools};

/// Bytes of an iXML chunk searched for its timecode fields (real ones are a few kilobytes).
const MAX_IXML_BYTES: u64 = 1 << 20;
/// Byte offset of TimeReferenceLow in a `bext` chunk's body: Description (256), Originator (32),
/// OriginatorReference (32), OriginationDate (10), OriginationTime (8).
const BEXT_TIME_REFERENCE: u64 = 338;
/// Highest frame rate believed, frames per second (a larger one is a broken header).
const MAX_FPS: f64 = 1000.0;

/// What a file says about its place on a timeline.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timing {
    /// Video frame rate as a ratio (frames, seconds), e.g. (30000, 1001), of the first video
    /// track; NTSC rates written another way (2997/100) are given as n·1000/1001.
    pub video_rate: Option<(u32, u32)>,
    /// The timecode of the file's first sample.
    pub start: Option<StartTimecode>,
}

/// A file's start timecode, as the file stores it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StartTimecode {
    /// A frame count since 00:00:00:00 (a QuickTime timecode track's first frame number, or a
    /// `timecode` tag read at the video rate). In drop frame it counts real frames, so label
    /// 00:01:00;02 is frame 1800.
    Frames {
        /// Frames since 00:00:00:00.
        frames: u64,
        /// Frame rate as a ratio (frames, seconds).
        rate: (u32, u32),
        /// Drop-frame timecode counting.
        drop_frame: bool,
    },
    /// Seconds since midnight (Broadcast WAV: TimeReference / sample rate), with iXML's timecode
    /// rate and drop-frame flag when the file has them.
    Seconds {
        /// Seconds since midnight.
        seconds: f64,
        /// iXML `TIMECODE_RATE` as a ratio (frames, seconds).
        rate: Option<(u32, u32)>,
        /// iXML `TIMECODE_FLAG`: `DF` = true, `NDF` = false.
        drop_frame: Option<bool>,
    },
}

impl StartTimecode {
    /// The start in seconds since 00:00:00:00 (real time: a frame count over its rate).
    pub fn seconds(&self) -> f64 {
        match *self {
            StartTimecode::Frames { frames, rate, .. } => {
                frames as f64 * f64::from(rate.1) / f64::from(rate.0)
            }
            StartTimecode::Seconds { seconds, .. } => seconds,
        }
    }
}

/// Reads the video frame rate and start timecode of `path`. Only a file that cannot be opened or
/// read is an error; missing or unreadable timing gives `None`s.
pub fn read_timing(path: &Path) -> Result<Timing, AudioError> {
    let open_err = |source| AudioError::Open {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(open_err)?;
    let file_len = file.metadata().map_err(open_err)?.len();
    let mut head = Vec::with_capacity(16);
    (&mut file)
        .take(16)
        .read_to_end(&mut head)
        .map_err(open_err)?;
    Ok(match Container::sniff(&head) {
        Container::Wav => wav(&mut file, file_len),
        Container::Mp4 | Container::M4a | Container::Mov => quicktime(&mut file, file_len),
        // Containers that may hold video or a timecode and that roomtone does not parse itself.
        Container::Matroska | Container::Ogg | Container::Unknown => FfmpegTools::cached()
            .map(|tools| probe(tools, path))
            .unwrap_or_default(),
        _ => Timing::default(),
    })
}

/// MP4/MOV: the first video track's rate and the first timecode track's start.
fn quicktime<R: Read + Seek>(file: &mut R, file_len: u64) -> Timing {
    let Ok(movie) = mp4::check(file, file_len) else {
        return Timing::default();
    };
    let video_rate = movie
        .tracks
        .iter()
        .find(|t| &t.handler == b"vide")
        .and_then(|t| ratio(t.media_timescale, t.sample_delta?));
    let start = movie
        .tracks
        .iter()
        .find(|t| t.timecode.is_some())
        .and_then(|t| {
            let entry = t.timecode?;
            let rate = ratio(entry.timescale, entry.frame_duration)
                .or_else(|| ratio(entry.frames_per_second.into(), 1))?;
            // The sample is one big-endian 32-bit frame number.
            let mut b = [0u8; 4];
            read_exact_at(file, file_len, t.first_chunk?, &mut b)?;
            Some(StartTimecode::Frames {
                frames: u64::from(u32::from_be_bytes(b)),
                rate,
                drop_frame: entry.flags & 1 != 0,
            })
        });
    Timing { video_rate, start }
}

/// Reads `buf.len()` bytes at `at` if the file holds them.
fn read_exact_at<R: Read + Seek>(
    file: &mut R,
    file_len: u64,
    at: u64,
    buf: &mut [u8],
) -> Option<()> {
    if at.checked_add(buf.len() as u64)? > file_len {
        return None;
    }
    file.seek(SeekFrom::Start(at)).ok()?;
    file.read_exact(buf).ok()
}

/// Reads `buf.len()` bytes at `offset` into a chunk's body if the chunk (and the file) holds them.
fn read_in_chunk<R: Read + Seek>(
    file: &mut R,
    file_len: u64,
    chunk: &header::Chunk,
    offset: u64,
    buf: &mut [u8],
) -> Option<()> {
    if offset + buf.len() as u64 > chunk.size {
        return None;
    }
    read_exact_at(file, file_len, chunk.body + offset, buf)
}

/// WAV, RF64, BW64: `bext` TimeReference over the `fmt ` rate, with iXML's timecode rate and flag.
fn wav<R: Read + Seek>(file: &mut R, file_len: u64) -> Timing {
    let mut sample_rate = None;
    let mut time_reference = None;
    let mut ixml = None;
    // A chunk that cannot be read ends the walk; what was found before it is kept.
    let _ = header::chunks(file, file_len, 12, false, |file, chunk| {
        match &chunk.id {
            b"fmt " => {
                let mut f = [0u8; 8];
                if read_in_chunk(file, file_len, chunk, 0, &mut f).is_some() {
                    sample_rate = Some(u32::from_le_bytes([f[4], f[5], f[6], f[7]]));
                }
            }
            b"bext" => {
                let mut f = [0u8; 8];
                if read_in_chunk(file, file_len, chunk, BEXT_TIME_REFERENCE, &mut f).is_some() {
                    time_reference = Some(u64::from_le_bytes(f));
                }
            }
            b"iXML" => {
                let len = chunk
                    .size
                    .min(file_len.saturating_sub(chunk.body))
                    .min(MAX_IXML_BYTES);
                let mut text = vec![0u8; len as usize];
                if read_in_chunk(file, file_len, chunk, 0, &mut text).is_some() {
                    ixml = Some(String::from_utf8_lossy(&text).into_owned());
                }
            }
            _ => {}
        }
        Ok(true)
    });
    let ixml = ixml.as_deref().map(Ixml::read).unwrap_or_default();
    let (samples, rate) = match (time_reference, ixml.samples_since_midnight) {
        (Some(t), _) => (Some(t), sample_rate),
        (None, Some(t)) => (Some(t), ixml.sample_rate.or(sample_rate)),
        (None, None) => (None, None),
    };
    let start = match (samples, rate.filter(|&r| r > 0)) {
        (Some(t), Some(r)) => Some(StartTimecode::Seconds {
            seconds: t as f64 / f64::from(r),
            rate: ixml.rate,
            drop_frame: ixml.drop_frame,
        }),
        _ => None,
    };
    Timing {
        video_rate: None,
        start,
    }
}

/// The timecode fields of an iXML chunk.
#[derive(Debug, Default, PartialEq)]
struct Ixml {
    /// `TIMECODE_RATE`.
    rate: Option<(u32, u32)>,
    /// `TIMECODE_FLAG`.
    drop_frame: Option<bool>,
    /// `TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_HI` and `_LO`.
    samples_since_midnight: Option<u64>,
    /// `TIMESTAMP_SAMPLE_RATE`, Hz.
    sample_rate: Option<u32>,
}

impl Ixml {
    fn read(xml: &str) -> Ixml {
        let word = |tag| {
            field(xml, tag)
                .and_then(|s| s.parse::<u32>().ok())
                .map(u64::from)
        };
        let (hi, lo) = (
            word("TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_HI"),
            word("TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_LO"),
        );
        Ixml {
            rate: field(xml, "TIMECODE_RATE").and_then(parse_rate),
            drop_frame: field(xml, "TIMECODE_FLAG").and_then(|f| match f {
                _ if f.eq_ignore_ascii_case("DF") => Some(true),
                _ if f.eq_ignore_ascii_case("NDF") => Some(false),
                _ => None,
            }),
            samples_since_midnight: match (hi, lo) {
                (Some(hi), Some(lo)) => Some((hi << 32) | lo),
                _ => None,
            },
            sample_rate: field(xml, "TIMESTAMP_SAMPLE_RATE")
                .and_then(|s| s.parse().ok())
                .filter(|&r: &u32| r > 0),
        }
    }
}

/// The trimmed text of the first `<tag>…</tag>` in `xml`.
fn field<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let len = xml[start..].find(&format!("</{tag}>"))?;
    Some(xml[start..start + len].trim())
}

/// A frame rate written `30000/1001`, `25/1`, `25` or `29.97`.
fn parse_rate(s: &str) -> Option<(u32, u32)> {
    if let Some((n, d)) = s.split_once('/') {
        return ratio(n.trim().parse().ok()?, d.trim().parse().ok()?);
    }
    if let Ok(n) = s.parse::<u32>() {
        return ratio(n, 1);
    }
    let fps: f64 = s.parse().ok()?;
    if !(fps.is_finite() && fps > 0.0) {
        return None;
    }
    let snapped = ratio((fps * 1000.0).round() as u32, 1000)?;
    // A decimal that is not an NTSC rate must be a whole number (28.5 fps is no timecode rate).
    (snapped.1 == 1 || snapped.1 == 1001).then_some(snapped)
}

/// `num / den` in lowest terms, with rates within 0.1 % of an NTSC rate (n·1000/1001, as 29.97
/// and 2997/100 are) given as that rate; `None` for 0 or above [`MAX_FPS`].
fn ratio(num: u32, den: u32) -> Option<(u32, u32)> {
    if num == 0 || den == 0 {
        return None;
    }
    let fps = f64::from(num) / f64::from(den);
    if fps > MAX_FPS {
        return None;
    }
    for n in [24_000u32, 30_000, 48_000, 60_000, 120_000] {
        let ntsc = f64::from(n) / 1001.0;
        if (fps - ntsc).abs() < ntsc * 1e-3 {
            return Some((n, 1001));
        }
    }
    let g = gcd(num, den);
    Some((num / g, den / g))
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The frame count of a timecode label `HH:MM:SS:FF` (`;` or `.` before the frames: drop frame)
/// at `rate`; `None` if it is not one, or is drop frame at a rate that has none.
fn label_frames(label: &str, rate: (u32, u32)) -> Option<(u64, bool)> {
    let label = label.trim();
    let split = label.rfind([':', ';', '.'])?;
    let drop_frame = label[split..].starts_with([';', '.']);
    let mut hms = label[..split].split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    let f: u64 = label[split + 1..].parse().ok()?;
    let nominal = (u64::from(rate.0) + u64::from(rate.1) / 2) / u64::from(rate.1);
    if hms.next().is_some()
        || m >= 60
        || s >= 60
        || f >= nominal
        || (drop_frame && nominal % 30 != 0)
    {
        return None;
    }
    let minutes = h * 60 + m;
    if drop_frame && s == 0 && f < nominal / 15 && m % 10 != 0 {
        return None; // a label drop frame skips
    }
    let dropped = if drop_frame {
        nominal / 15 * (minutes - minutes / 10)
    } else {
        0
    };
    Some(((minutes * 60 + s) * nominal + f - dropped, drop_frame))
}

/// ffprobe's first video stream rate and `timecode` tag (of a stream, else of the format).
fn probe(tools: &FfmpegTools, path: &Path) -> Timing {
    let out = Command::new(&tools.ffprobe)
        .args(["-v", "error", "-show_entries"])
        .arg("stream=codec_type,r_frame_rate:stream_tags:format_tags")
        .args(["-of", "json"])
        .arg(path)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output();
    let Ok(out) = out else {
        return Timing::default();
    };
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&out.stdout) else {
        return Timing::default();
    };
    from_ffprobe(&v)
}

/// [`probe`]'s reading of ffprobe's JSON.
fn from_ffprobe(v: &serde_json::Value) -> Timing {
    let streams = v["streams"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let video_rate = streams
        .iter()
        .filter(|s| s["codec_type"] == "video")
        .find_map(|s| parse_rate(s["r_frame_rate"].as_str()?));
    let timecode_tag = |tags: &serde_json::Value| {
        tags.as_object()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("timecode"))
            .and_then(|(_, v)| v.as_str().map(str::to_string))
    };
    let label = streams
        .iter()
        .find_map(|s| timecode_tag(&s["tags"]))
        .or_else(|| timecode_tag(&v["format"]["tags"]));
    let start = match (label, video_rate) {
        (Some(label), Some(rate)) => {
            label_frames(&label, rate).map(|(frames, drop_frame)| StartTimecode::Frames {
                frames,
                rate,
                drop_frame,
            })
        }
        _ => None,
    };
    Timing { video_rate, start }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A RIFF/WAVE file of `chunks` (id, body), padded to even lengths.
    fn riff(chunks: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
        let mut body = b"WAVE".to_vec();
        for (id, data) in chunks {
            body.extend_from_slice(*id);
            body.extend_from_slice(&(data.len() as u32).to_le_bytes());
            body.extend_from_slice(data);
            if data.len() % 2 == 1 {
                body.push(0);
            }
        }
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend(body);
        out
    }

    fn fmt(rate: u32) -> Vec<u8> {
        let mut f = vec![1, 0, 1, 0];
        f.extend_from_slice(&rate.to_le_bytes());
        f.extend_from_slice(&(rate * 2).to_le_bytes());
        f.extend_from_slice(&[2, 0, 16, 0]);
        f
    }

    fn bext(time_reference: u64) -> Vec<u8> {
        let mut b = vec![0u8; 602];
        b[338..346].copy_from_slice(&time_reference.to_le_bytes());
        b
    }

    fn timing(bytes: &[u8]) -> Timing {
        wav(&mut Cursor::new(bytes), bytes.len() as u64)
    }

    #[test]
    fn bext_time_reference_over_the_sample_rate_with_ixml_rate_and_flag() {
        let xml = b"<BWFXML><SPEED><TIMECODE_RATE>30000/1001</TIMECODE_RATE>\
            <TIMECODE_FLAG>DF</TIMECODE_FLAG></SPEED></BWFXML>";
        let file = riff(&[
            (b"fmt ", fmt(48_000)),
            (b"bext", bext(48_000 * 3600)),
            (b"data", vec![0; 4]),
            (b"iXML", xml.to_vec()),
        ]);
        assert_eq!(
            timing(&file).start,
            Some(StartTimecode::Seconds {
                seconds: 3600.0,
                rate: Some((30_000, 1001)),
                drop_frame: Some(true),
            })
        );
    }

    #[test]
    fn ixml_timestamp_stands_in_for_a_missing_bext() {
        let xml = b"<TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_HI>1</TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_HI>\
            <TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_LO>0</TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_LO>\
            <TIMESTAMP_SAMPLE_RATE>96000</TIMESTAMP_SAMPLE_RATE><TIMECODE_RATE>25</TIMECODE_RATE>\
            <TIMECODE_FLAG>NDF</TIMECODE_FLAG>";
        let file = riff(&[(b"fmt ", fmt(48_000)), (b"iXML", xml.to_vec())]);
        assert_eq!(
            timing(&file).start,
            Some(StartTimecode::Seconds {
                seconds: 4_294_967_296.0 / 96_000.0,
                rate: Some((25, 1)),
                drop_frame: Some(false),
            })
        );
    }

    #[test]
    fn short_garbage_or_missing_fields_give_nones() {
        // A bext too short to hold TimeReference, a chunk size beyond the file, no fmt chunk.
        let short = riff(&[(b"fmt ", fmt(48_000)), (b"bext", vec![7; 300])]);
        assert_eq!(timing(&short), Timing::default());
        let mut cut = riff(&[(b"fmt ", fmt(48_000)), (b"bext", bext(5))]);
        cut.truncate(cut.len() - 300);
        assert_eq!(timing(&cut), Timing::default());
        assert_eq!(timing(&riff(&[(b"bext", bext(5))])), Timing::default());
        // iXML with unknown or broken values: the bext still counts, the rest is None.
        let xml = b"<TIMECODE_RATE>fast</TIMECODE_RATE><TIMECODE_FLAG>maybe";
        let file = riff(&[
            (b"fmt ", fmt(48_000)),
            (b"bext", bext(24_000)),
            (b"iXML", xml.to_vec()),
        ]);
        assert_eq!(
            timing(&file).start,
            Some(StartTimecode::Seconds {
                seconds: 0.5,
                rate: None,
                drop_frame: None
            })
        );
        // A rate of 0.
        let zero = riff(&[(b"fmt ", fmt(0)), (b"bext", bext(5))]);
        assert_eq!(timing(&zero).start, None);
        // Bytes that are not a RIFF body at all.
        assert_eq!(timing(&[0xff; 40]), Timing::default());
        assert_eq!(timing(b"RIFF"), Timing::default());
    }

    #[test]
    fn rates_parse_reduce_and_snap_to_ntsc() {
        assert_eq!(parse_rate("30000/1001"), Some((30_000, 1001)));
        assert_eq!(parse_rate("25"), Some((25, 1)));
        assert_eq!(parse_rate("25/1"), Some((25, 1)));
        assert_eq!(parse_rate("29.97"), Some((30_000, 1001)));
        assert_eq!(parse_rate("23.976"), Some((24_000, 1001)));
        assert_eq!(parse_rate("59.94"), Some((60_000, 1001)));
        assert_eq!(parse_rate("50.0"), Some((50, 1)));
        assert_eq!(parse_rate("28.5"), None);
        assert_eq!(parse_rate("0/0"), None);
        assert_eq!(parse_rate("1/0"), None);
        assert_eq!(parse_rate("NaN"), None);
        assert_eq!(ratio(2997, 100), Some((30_000, 1001)));
        assert_eq!(ratio(12_800, 512), Some((25, 1)));
        assert_eq!(ratio(90_000, 1), None);
    }

    #[test]
    fn drop_frame_labels_count_real_frames() {
        let df = (30_000, 1001);
        assert_eq!(label_frames("00:00:59;29", df), Some((1799, true)));
        assert_eq!(label_frames("00:01:00;02", df), Some((1800, true)));
        assert_eq!(label_frames("00:01:00;01", df), None);
        assert_eq!(label_frames("00:10:00;00", df), Some((17_982, true)));
        assert_eq!(label_frames("00:59:59;28", df), Some((107_890, true)));
        assert_eq!(label_frames("01:00:00:00", df), Some((108_000, false)));
        assert_eq!(label_frames("10:00:00:00", (25, 1)), Some((900_000, false)));
        assert_eq!(label_frames("10:00:00;00", (25, 1)), None);
        assert_eq!(label_frames("10:00:00:25", (25, 1)), None);
        assert_eq!(label_frames("10:61:00:00", (25, 1)), None);
        assert_eq!(label_frames("garbage", (25, 1)), None);
        assert_eq!(label_frames("1:2:3:4:5", (25, 1)), None);
    }

    #[test]
    fn ffprobe_answers_give_the_first_video_rate_and_a_timecode_tag() {
        let v: serde_json::Value = serde_json::from_str(
            r#"{"streams":[{"codec_type":"audio","r_frame_rate":"0/0"},
                {"codec_type":"video","r_frame_rate":"24000/1001"}],
                "format":{"tags":{"TIMECODE":"01:00:00:00"}}}"#,
        )
        .unwrap();
        assert_eq!(
            from_ffprobe(&v),
            Timing {
                video_rate: Some((24_000, 1001)),
                start: Some(StartTimecode::Frames {
                    frames: 86_400,
                    rate: (24_000, 1001),
                    drop_frame: false
                }),
            }
        );
        // A timecode without a video rate cannot be counted; cover art's 90000/1 is no rate.
        let v: serde_json::Value = serde_json::from_str(
            r#"{"streams":[{"codec_type":"video","r_frame_rate":"90000/1","tags":{"timecode":"01:00:00:00"}}]}"#,
        )
        .unwrap();
        assert_eq!(from_ffprobe(&v), Timing::default());
        assert_eq!(from_ffprobe(&serde_json::Value::Null), Timing::default());
    }

    #[test]
    fn frame_counts_convert_to_seconds_at_their_rate() {
        let start = StartTimecode::Frames {
            frames: 107_890,
            rate: (30_000, 1001),
            drop_frame: true,
        };
        assert!((start.seconds() - 107_890.0 * 1001.0 / 30_000.0).abs() < 1e-9);
    }
}
