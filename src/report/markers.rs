//! Timeline markers for editors: `roomtone tag`'s ambience segments and dialogue regions as markers
//! on one clip, in five formats an NLE imports.
//!
//! | format | file | read by | marker colour |
//! |---|---|---|---|
//! | [`MarkerFormat::Edl`] | `.edl` | DaVinci Resolve (Timelines > Import > Timeline Markers from EDL), Avid, OpenTimelineIO `cmx_3600` | Resolve name (`|C:`), Avid/OTIO name (`* LOC:`) |
//! | [`MarkerFormat::Fcpxml`] | `.fcpxml` | Final Cut Pro, Resolve (FCPXML 1.9) | none: FCPXML markers have no colour |
//! | [`MarkerFormat::Xmeml`] | `.xml` | Premiere Pro, Final Cut Pro 7, Resolve (XMEML 4) | none: no documented marker colour |
//! | [`MarkerFormat::Otio`] | `.otio` | OpenTimelineIO and every tool built on it | OTIO `MarkerColor` |
//! | [`MarkerFormat::CsvMarkers`] | `.csv` | spreadsheets, scripts | the HTML report's hex |
//!
//! Every format carries the clip's start timecode, so a marker at 12 s into a clip whose first
//! sample is 00:59:59;28 (29.97 drop frame) sits at 01:00:11;28 of source timecode. Times are
//! whole frames: a marker starts at its start rounded to the nearest frame, lasts at least one
//! frame, and is cut at the clip's end (a marker starting at or after the end is left out).
//!
//! Colours: each label's colour is the HTML report's ([`crate::report::html`]); a format with a
//! fixed palette gets the nearest palette colour (hue first, then lightness and saturation; see
//! `nearest`), which gives:
//!
//! | label | hex | Resolve (`ResolveColor…`) | OTIO / Avid `LOC` |
//! |---|---|---|---|
//! | rain | #4e79a7 | Blue | BLUE |
//! | traffic | #e15759 | Red | RED |
//! | crowd | #f28e2b | Sand | ORANGE |
//! | hvac | #76b7b2 | Cyan | CYAN |
//! | wind | #59a14f | Green | GREEN |
//! | water | #1f77b4 | Blue | BLUE |
//! | nature | #8cd17d | Mint | GREEN |
//! | music | #b07aa1 | Fuchsia | MAGENTA |
//! | speech, dialogue | #edc948 | Yellow | YELLOW |
//! | silence | #bab0ac | Sand | WHITE |
//! | other | #9c755f | Sand | RED |
//!
//! (`tests` in this module check this table against the palettes below.)

use std::fmt;
use std::str::FromStr;

use crate::classify::TagResult;

/// What went wrong reading a frame rate, timecode or format name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MarkerError {
    /// A frame rate that is not a number, a ratio, or a known NTSC rate.
    #[error("frame rate {found:?}: expected e.g. 25, 29.97, 29.97df, 29.97ndf, 30000/1001")]
    BadFrameRate {
        /// The text given.
        found: String,
    },
    /// Drop frame asked for at a rate that has none (only 29.97 and 59.94 drop frames).
    #[error("drop-frame timecode exists only at 29.97 and 59.94 fps, not at {found}")]
    NoDropFrame {
        /// The text given.
        found: String,
    },
    /// A timecode that is not `HH:MM:SS:FF` (or `;FF`) at the rate, or a label drop frame skips.
    #[error("timecode {found:?}: expected HH:MM:SS:FF (HH:MM:SS;FF in drop frame) at {rate} fps")]
    BadTimecode {
        /// The text given.
        found: String,
        /// The rate it was read at.
        rate: String,
    },
    /// A marker format name that is not one of the five.
    #[error("marker format {found:?}: expected edl, fcpxml, xmeml, otio or csv-markers")]
    UnknownFormat {
        /// The text given.
        found: String,
    },
}

/// Frames per second as a ratio, with the drop-frame flag (29.97 = 30000/1001 DF, 59.94 DF,
/// 23.976 = 24000/1001 NDF, 24, 25, 30, 50, 60 …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameRate {
    /// Numerator (frames).
    pub num: u32,
    /// Denominator (seconds).
    pub den: u32,
    /// Drop-frame timecode counting (only at 30000/1001 and 60000/1001).
    pub drop_frame: bool,
}

/// NTSC rates `from_fps` snaps to: (numerator, drop frame by default).
const NTSC: [(u32, bool); 5] = [
    (24_000, false),
    (30_000, true),
    (48_000, false),
    (60_000, true),
    (120_000, false),
];

impl FrameRate {
    /// 25 fps (PAL).
    pub(crate) const FPS_25: FrameRate = FrameRate {
        num: 25,
        den: 1,
        drop_frame: false,
    };
    /// 29.97 fps drop frame.
    #[cfg(test)]
    pub(crate) const NTSC_30_DF: FrameRate = FrameRate {
        num: 30_000,
        den: 1001,
        drop_frame: true,
    };
    /// 23.976 fps (non-drop).
    #[cfg(test)]
    pub(crate) const NTSC_24: FrameRate = FrameRate {
        num: 24_000,
        den: 1001,
        drop_frame: false,
    };

    /// Frames per second.
    pub fn fps(&self) -> f64 {
        f64::from(self.num) / f64::from(self.den)
    }

    /// Frames per timecode second: 30 for 29.97, 24 for 23.976.
    pub(crate) fn nominal(&self) -> u32 {
        ((u64::from(self.num) + u64::from(self.den) / 2) / u64::from(self.den).max(1)) as u32
    }

    /// Frame numbers drop frame skips at each minute (not every tenth): 2 at 29.97, 4 at 59.94.
    fn dropped_per_minute(&self) -> u64 {
        if self.drop_frame {
            u64::from(self.nominal() / 15)
        } else {
            0
        }
    }

    /// The rate closest to `fps`: 29.97, 59.94, 23.976 … snap to their NTSC ratios (29.97 and
    /// 59.94 drop frame), whole numbers to `n/1`; `None` for anything else or out of 1..=1000.
    pub(crate) fn from_fps(fps: f64) -> Option<FrameRate> {
        if !fps.is_finite() || !(0.5..=1000.0).contains(&fps) {
            return None;
        }
        for (num, drop_frame) in NTSC {
            if (fps - f64::from(num) / 1001.0).abs() < 0.006 {
                return Some(FrameRate {
                    num,
                    den: 1001,
                    drop_frame,
                });
            }
        }
        let whole = fps.round();
        ((fps - whole).abs() < 1e-3 && whole >= 1.0).then_some(FrameRate {
            num: whole as u32,
            den: 1,
            drop_frame: false,
        })
    }

    /// Reads `25`, `29.97`, `29.97df`, `29.97ndf`, `30000/1001`, `24000/1001`, `59.94 DF`.
    /// Without a suffix 29.97 and 59.94 are drop frame.
    pub fn parse(s: &str) -> Result<FrameRate, MarkerError> {
        let bad = || MarkerError::BadFrameRate {
            found: s.to_string(),
        };
        let lower = s.trim().to_ascii_lowercase();
        let (body, drop) = if let Some(b) = lower.strip_suffix("ndf") {
            (b, Some(false))
        } else if let Some(b) = lower.strip_suffix("df") {
            (b, Some(true))
        } else {
            (lower.as_str(), None)
        };
        let body = body.trim().trim_end_matches(['-', '_']).trim();
        let mut rate = if let Some((n, d)) = body.split_once('/') {
            let num: u32 = n.trim().parse().map_err(|_| bad())?;
            let den: u32 = d.trim().parse().map_err(|_| bad())?;
            if num == 0 || den == 0 {
                return Err(bad());
            }
            let fps = f64::from(num) / f64::from(den);
            // A ratio is kept as given unless it is an NTSC rate (for its drop-frame default).
            match FrameRate::from_fps(fps) {
                Some(r)
                    if r.den == 1001
                        && u64::from(num) * 1001 == u64::from(r.num) * u64::from(den) =>
                {
                    r
                }
                _ => FrameRate {
                    num,
                    den,
                    drop_frame: false,
                },
            }
        } else {
            let fps: f64 = body.parse().map_err(|_| bad())?;
            FrameRate::from_fps(fps).ok_or_else(bad)?
        };
        if rate.nominal() == 0 || rate.nominal() > 1000 {
            return Err(bad());
        }
        if let Some(drop) = drop {
            if drop && !(rate.den == 1001 && rate.nominal().is_multiple_of(30)) {
                return Err(MarkerError::NoDropFrame {
                    found: s.to_string(),
                });
            }
            rate.drop_frame = drop;
        }
        Ok(rate)
    }

    /// Seconds of `frames` as FCPXML's rational time: `0s`, `12s`, `1001/30000s`.
    fn rational_seconds(&self, frames: u64) -> String {
        let n = frames * u64::from(self.den);
        let d = u64::from(self.num);
        let g = gcd(n, d).max(1);
        let (n, d) = (n / g, d / g);
        if n == 0 {
            "0s".to_string()
        } else if d == 1 {
            format!("{n}s")
        } else {
            format!("{n}/{d}s")
        }
    }
}

/// `25`, `29.97df`, `29.97ndf`, `23.976`: what [`FrameRate::parse`] reads back.
impl fmt::Display for FrameRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.den == 1 {
            write!(f, "{}", self.num)?;
        } else if self.den == 1001 {
            let fps = self.fps();
            let text = format!("{fps:.3}");
            let text = text.trim_end_matches('0').trim_end_matches('.');
            write!(f, "{text}")?;
            if self.nominal().is_multiple_of(30) {
                f.write_str(if self.drop_frame { "df" } else { "ndf" })?;
            }
        } else {
            write!(f, "{}/{}", self.num, self.den)?;
        }
        Ok(())
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// A timecode: a frame count since 00:00:00:00 at a rate. Shown as `HH:MM:SS:FF`, or
/// `HH:MM:SS;FF` in drop frame, where SMPTE drop-frame counting skips frame labels 0 and 1
/// (0–3 at 59.94) at the start of each minute except every tenth. Hours are not wrapped at 24.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timecode {
    /// Frames since 00:00:00:00.
    pub frames: u64,
    /// The rate the frames are counted at.
    pub rate: FrameRate,
}

impl Timecode {
    /// The frame nearest to `s` seconds after 00:00:00:00 (negative or non-finite: frame 0).
    pub(crate) fn from_seconds(s: f64, rate: FrameRate) -> Self {
        let frames = if s.is_finite() && s > 0.0 {
            (s * rate.fps()).round() as u64
        } else {
            0
        };
        Timecode { frames, rate }
    }

    /// Hours, minutes, seconds and frames of the label.
    fn fields(&self) -> (u64, u64, u64, u64) {
        let nominal = u64::from(self.rate.nominal().max(1));
        let drop = self.rate.dropped_per_minute();
        let mut label = self.frames;
        if drop > 0 {
            let per_ten = nominal * 600 - 9 * drop;
            let per_minute = nominal * 60 - drop;
            let (tens, rem) = (self.frames / per_ten, self.frames % per_ten);
            label += 9 * drop * tens;
            if rem >= drop {
                label += drop * ((rem - drop) / per_minute);
            }
        }
        let ff = label % nominal;
        let secs = label / nominal;
        (secs / 3600, secs / 60 % 60, secs % 60, ff)
    }

    /// Reads `HH:MM:SS:FF` (any of `:;.,` before the frames) at `rate`; in drop frame, labels
    /// the counting skips (e.g. 00:01:00;00) are errors.
    pub fn parse(s: &str, rate: FrameRate) -> Result<Timecode, MarkerError> {
        let bad = || MarkerError::BadTimecode {
            found: s.to_string(),
            rate: rate.to_string(),
        };
        let parts: Vec<&str> = s.trim().split([':', ';', '.', ',']).collect();
        let [hh, mm, ss, ff] = parts[..] else {
            return Err(bad());
        };
        let num = |t: &str| -> Result<u64, MarkerError> {
            if t.is_empty() || t.len() > 6 || !t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            t.parse().map_err(|_| bad())
        };
        let (hh, mm, ss, ff) = (num(hh)?, num(mm)?, num(ss)?, num(ff)?);
        let nominal = u64::from(rate.nominal());
        if mm >= 60 || ss >= 60 || ff >= nominal {
            return Err(bad());
        }
        let drop = rate.dropped_per_minute();
        if drop > 0 && ss == 0 && ff < drop && !mm.is_multiple_of(10) {
            return Err(bad());
        }
        let minutes = hh * 60 + mm;
        let frames = (minutes * 60 + ss) * nominal + ff - drop * (minutes - minutes / 10);
        Ok(Timecode { frames, rate })
    }

    /// The label with `:` before the frames even in drop frame (for `* LOC:` lines).
    fn colon_label(&self) -> String {
        let (h, m, s, f) = self.fields();
        format!("{h:02}:{m:02}:{s:02}:{f:02}")
    }
}

impl fmt::Display for Timecode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (hh, mm, ss, ff) = self.fields();
        let sep = if self.rate.drop_frame { ';' } else { ':' };
        write!(f, "{hh:02}:{mm:02}:{ss:02}{sep}{ff:02}")
    }
}

/// What a marker marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MarkerKind {
    /// An ambience segment (`rain`, `traffic`, … or `other`).
    Ambience,
    /// A dialogue region.
    Dialogue,
}

/// One marker on the clip, in seconds from the clip's first sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    /// Ambience or dialogue.
    pub kind: MarkerKind,
    /// Marker name: the label (`rain`), `dialogue` for dialogue regions.
    pub label: String,
    /// Start, seconds from the first sample.
    pub start_s: f64,
    /// End, seconds from the first sample.
    pub end_s: f64,
    /// The segment's score in [0, 1].
    pub score: f32,
}

impl Marker {
    /// The comment/note every format carries: `roomtone: rain, score 0.87`.
    pub(crate) fn comment(&self) -> String {
        format!("roomtone: {}, score {:.2}", self.label, self.score)
    }

    /// The label whose colour the marker takes (dialogue: `speech`).
    fn colour_label(&self) -> &str {
        match self.kind {
            MarkerKind::Dialogue => "speech",
            MarkerKind::Ambience => &self.label,
        }
    }
}

/// One clip (media file) and its markers.
#[derive(Debug, Clone, PartialEq)]
pub struct MarkerClip {
    /// Clip name: the media file's name (`take1.mov`).
    pub name: String,
    /// The media file as given on the command line (made a `file://` URL where a format needs
    /// one: absolute paths become `file:///…`, relative ones stay relative URL references).
    pub media_path: String,
    /// Duration in seconds.
    pub duration_s: f64,
    /// Frame rate of the timecode.
    pub rate: FrameRate,
    /// Where the rate came from (`video stream`, `--fps`, `default for audio-only files`).
    pub rate_source: String,
    /// Timecode of the first sample.
    pub start_tc: Timecode,
    /// The markers, in any order.
    pub markers: Vec<Marker>,
}

/// [`MarkerClip::rate_source`] when no rate was found or given.
pub(crate) const DEFAULT_RATE_SOURCE: &str = "default for audio-only files";

impl MarkerClip {
    /// Whether the frame rate is the 25 fps default (nothing in the file said, `--fps` not given).
    pub fn rate_is_default(&self) -> bool {
        self.rate_source == DEFAULT_RATE_SOURCE
    }
}

/// A tagged file's markers on a timeline: its frame rate (`fps` if given, else the video's, else a
/// Broadcast WAV's iXML timecode rate, else the timecode track's, else 25) and its start
/// timecode (a MOV/MP4 timecode track, or a Broadcast WAV's `bext` time reference), read from
/// the file; 00:00:00:00 when it has none.
pub fn clip_of(result: &TagResult, fps: Option<FrameRate>) -> MarkerClip {
    let path = std::path::Path::new(&result.path);
    let timing = crate::audio::timecode::read_timing(path).unwrap_or_default();
    clip_for(result, &timing, fps)
}

/// [`clip_of`] with the file's timing already read.
pub(crate) fn clip_for(
    result: &TagResult,
    timing: &crate::audio::timecode::Timing,
    fps: Option<FrameRate>,
) -> MarkerClip {
    use crate::audio::timecode::StartTimecode;
    let ratio = |(num, den): (u32, u32), drop_frame: Option<bool>| {
        let default = FrameRate::from_fps(f64::from(num) / f64::from(den.max(1)));
        default.map(|r| FrameRate {
            // `from_fps` sets drop frame exactly where it exists (29.97, 59.94): the file's flag
            // may turn it off, never on.
            drop_frame: r.drop_frame && drop_frame.unwrap_or(true),
            ..r
        })
    };
    // The drop-frame flag the file's timecode states, if any.
    let stated_df = match &timing.start {
        Some(StartTimecode::Frames { drop_frame, .. }) => Some(*drop_frame),
        Some(StartTimecode::Seconds { drop_frame, .. }) => *drop_frame,
        None => None,
    };
    let (rate, source) = if let Some(r) = fps {
        (r, "--fps")
    } else if let Some(r) = timing.video_rate.and_then(|v| ratio(v, stated_df)) {
        (r, "video stream")
    } else if let Some(r) = match &timing.start {
        Some(StartTimecode::Seconds { rate: Some(v), .. }) => ratio(*v, stated_df),
        _ => None,
    } {
        (r, "iXML timecode rate")
    } else if let Some(r) = match &timing.start {
        Some(StartTimecode::Frames { rate, .. }) => ratio(*rate, stated_df),
        _ => None,
    } {
        (r, "timecode track")
    } else {
        (FrameRate::FPS_25, DEFAULT_RATE_SOURCE)
    };
    let start_tc = match &timing.start {
        // A frame count at the clip's own rate is taken as it is; at another rate, by its time.
        Some(StartTimecode::Frames {
            frames,
            rate: (num, den),
            ..
        }) => {
            if ratio((*num, *den), None).is_some_and(|r| r.nominal() == rate.nominal()) {
                Timecode {
                    frames: *frames,
                    rate,
                }
            } else {
                let fps = f64::from(*num) / f64::from((*den).max(1));
                Timecode::from_seconds(*frames as f64 / fps, rate)
            }
        }
        Some(StartTimecode::Seconds { seconds, .. }) => Timecode::from_seconds(*seconds, rate),
        None => Timecode { frames: 0, rate },
    };
    let name = std::path::Path::new(&result.path)
        .file_name()
        .map_or_else(|| result.path.clone(), |n| n.to_string_lossy().into_owned());
    // Editors resolve media by absolute path (Final Cut Pro needs one).
    let media_path = std::fs::canonicalize(&result.path)
        .map_or_else(|_| result.path.clone(), |p| p.display().to_string());
    MarkerClip {
        name,
        media_path,
        duration_s: result.duration_s,
        rate,
        rate_source: source.to_string(),
        start_tc,
        markers: markers_from_tags(result),
    }
}

/// The five marker formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MarkerFormat {
    /// CMX 3600 EDL with Resolve's marker events and Avid/OTIO `* LOC:` lines.
    Edl,
    /// Final Cut Pro X / Resolve FCPXML 1.9.
    Fcpxml,
    /// Final Cut Pro 7 XML (`xmeml` 4), which Premiere Pro imports.
    Xmeml,
    /// OpenTimelineIO JSON.
    Otio,
    /// A CSV table, one row per marker.
    CsvMarkers,
}

impl MarkerFormat {
    /// All five, in the order of the docs.
    pub const ALL: [MarkerFormat; 5] = [
        MarkerFormat::Edl,
        MarkerFormat::Fcpxml,
        MarkerFormat::Xmeml,
        MarkerFormat::Otio,
        MarkerFormat::CsvMarkers,
    ];

    /// The name `parse` reads: `edl`, `fcpxml`, `xmeml`, `otio`, `csv-markers`.
    pub fn name(self) -> &'static str {
        match self {
            MarkerFormat::Edl => "edl",
            MarkerFormat::Fcpxml => "fcpxml",
            MarkerFormat::Xmeml => "xmeml",
            MarkerFormat::Otio => "otio",
            MarkerFormat::CsvMarkers => "csv-markers",
        }
    }

    /// File extension without the dot: `edl`, `fcpxml`, `xml`, `otio`, `csv`.
    pub fn extension(self) -> &'static str {
        match self {
            MarkerFormat::Edl => "edl",
            MarkerFormat::Fcpxml => "fcpxml",
            MarkerFormat::Xmeml => "xml",
            MarkerFormat::Otio => "otio",
            MarkerFormat::CsvMarkers => "csv",
        }
    }

    /// Reads a format name (case-insensitive; `csv` and `fcp7` also accepted).
    pub fn parse(s: &str) -> Result<MarkerFormat, MarkerError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "edl" => Ok(MarkerFormat::Edl),
            "fcpxml" => Ok(MarkerFormat::Fcpxml),
            "xmeml" | "fcp7" | "fcp7xml" => Ok(MarkerFormat::Xmeml),
            "otio" => Ok(MarkerFormat::Otio),
            "csv-markers" | "csv" => Ok(MarkerFormat::CsvMarkers),
            _ => Err(MarkerError::UnknownFormat {
                found: s.to_string(),
            }),
        }
    }
}

impl FromStr for MarkerFormat {
    type Err = MarkerError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MarkerFormat::parse(s)
    }
}

impl fmt::Display for MarkerFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The markers of a tagged file: one per ambience segment (`silence` left out, `other` kept),
/// then one per dialogue region (`speech_segments`, named `dialogue`), sorted by start.
pub(crate) fn markers_from_tags(result: &TagResult) -> Vec<Marker> {
    let ambience = result
        .segments
        .iter()
        .filter(|s| s.label != "silence")
        .map(|s| Marker {
            kind: MarkerKind::Ambience,
            label: s.label.clone(),
            start_s: s.start_s,
            end_s: s.end_s,
            score: s.score,
        });
    let dialogue = result.speech_segments.iter().map(|s| Marker {
        kind: MarkerKind::Dialogue,
        label: "dialogue".to_string(),
        start_s: s.start_s,
        end_s: s.end_s,
        score: s.score,
    });
    let mut markers: Vec<Marker> = ambience.chain(dialogue).collect();
    markers.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    markers
}

// ---------------------------------------------------------------------------------------------
// Colours

/// DaVinci Resolve's marker colours (names as in `ResolveColor<Name>`), approximate sRGB.
const RESOLVE_PALETTE: [(&str, [u8; 3]); 16] = [
    ("Blue", [0x00, 0x7f, 0xe3]),
    ("Cyan", [0x00, 0xce, 0xd0]),
    ("Green", [0x00, 0xad, 0x00]),
    ("Yellow", [0xf0, 0x9d, 0x00]),
    ("Red", [0xe1, 0x23, 0x23]),
    ("Pink", [0xff, 0x44, 0xc8]),
    ("Purple", [0x90, 0x13, 0xfe]),
    ("Fuchsia", [0xc0, 0x2e, 0x6f]),
    ("Rose", [0xff, 0xa1, 0xb9]),
    ("Lavender", [0xa1, 0x93, 0xc8]),
    ("Sky", [0x92, 0xe2, 0xfd]),
    ("Mint", [0x72, 0xdb, 0x00]),
    ("Lemon", [0xdc, 0xe9, 0x5a]),
    ("Sand", [0xc4, 0x91, 0x5e]),
    ("Cocoa", [0x6e, 0x51, 0x43]),
    ("Cream", [0xf5, 0xeb, 0xe1]),
];

/// OpenTimelineIO's `MarkerColor` names (Avid `LOC` colours are a subset), approximate sRGB.
const OTIO_PALETTE: [(&str, [u8; 3]); 11] = [
    ("PINK", [0xff, 0x70, 0xc0]),
    ("RED", [0xe0, 0x20, 0x20]),
    ("ORANGE", [0xff, 0x90, 0x20]),
    ("YELLOW", [0xf0, 0xe0, 0x30]),
    ("GREEN", [0x30, 0xc0, 0x30]),
    ("CYAN", [0x30, 0xd0, 0xd0]),
    ("BLUE", [0x30, 0x60, 0xe0]),
    ("PURPLE", [0x90, 0x40, 0xc0]),
    ("MAGENTA", [0xe0, 0x30, 0xe0]),
    ("BLACK", [0x00, 0x00, 0x00]),
    ("WHITE", [0xff, 0xff, 0xff]),
];

/// A label's colour in each palette.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkerColour {
    /// CSS hex, as in the HTML report (`#4e79a7`).
    pub hex: &'static str,
    /// Resolve's name, without the `ResolveColor` prefix (`Blue`).
    pub resolve: &'static str,
    /// OpenTimelineIO's `MarkerColor` (`BLUE`), also used in EDL `* LOC:` lines.
    pub otio: &'static str,
}

/// The colour of a label (dialogue markers: pass `speech`), from the HTML report's colours.
pub fn marker_colour(label: &str) -> MarkerColour {
    let hex = crate::report::html::label_colour(label);
    let rgb = parse_hex(hex);
    MarkerColour {
        hex,
        resolve: nearest(rgb, &RESOLVE_PALETTE),
        otio: nearest(rgb, &OTIO_PALETTE),
    }
}

fn parse_hex(hex: &str) -> [u8; 3] {
    let h = hex.trim_start_matches('#');
    let byte = |i: usize| {
        h.get(i..i + 2)
            .and_then(|b| u8::from_str_radix(b, 16).ok())
            .unwrap_or(0)
    };
    [byte(0), byte(2), byte(4)]
}

/// Hue (degrees), saturation and lightness (0–1) of an sRGB colour.
fn hsl(rgb: [u8; 3]) -> (f64, f64, f64) {
    let [r, g, b] = rgb.map(|c| f64::from(c) / 255.0);
    let (max, min) = (r.max(g).max(b), r.min(g).min(b));
    let l = (max + min) / 2.0;
    let d = max - min;
    if d == 0.0 {
        return (0.0, 0.0, l);
    }
    let s = d / (1.0 - (2.0 * l - 1.0).abs());
    let h = if max == r {
        ((g - b) / d).rem_euclid(6.0)
    } else if max == g {
        (b - r) / d + 2.0
    } else {
        (r - g) / d + 4.0
    };
    (h * 60.0, s, l)
}

/// The palette entry closest to `rgb`: hue first (weighted by how coloured both are, so a grey
/// goes by lightness), then lightness and saturation. Plain RGB or Lab distance sends the
/// report's muted colours to the palettes' pastels (rain to Lavender, not Blue).
fn nearest(rgb: [u8; 3], palette: &[(&'static str, [u8; 3])]) -> &'static str {
    let (h1, s1, l1) = hsl(rgb);
    let distance = |p: [u8; 3]| {
        let (h2, s2, l2) = hsl(p);
        let dh = (h1 - h2).abs();
        let dh = dh.min(360.0 - dh);
        let hue = s1.min(s2) * dh / 45.0;
        hue * hue + (l1 - l2).powi(2) + ((s1 - s2) / 2.0).powi(2)
    };
    palette
        .iter()
        .min_by(|a, b| distance(a.1).total_cmp(&distance(b.1)))
        .map_or("", |p| p.0)
}

// ---------------------------------------------------------------------------------------------
// Placing markers on the frame grid

/// A marker on the frame grid, within the clip.
struct Placed<'a> {
    marker: &'a Marker,
    /// First frame, counted from the clip's first frame.
    start: u64,
    /// Length in frames, at least 1.
    frames: u64,
    colour: MarkerColour,
}

/// The clip's length in whole frames.
fn clip_frames(clip: &MarkerClip) -> u64 {
    Timecode::from_seconds(clip.duration_s, clip.rate).frames
}

/// The markers on the frame grid, cut to the clip, sorted by start (then dialogue after ambience).
fn place(clip: &MarkerClip) -> Vec<Placed<'_>> {
    let total = clip_frames(clip);
    let mut placed: Vec<Placed<'_>> = clip
        .markers
        .iter()
        .filter(|m| m.start_s.is_finite() && m.end_s.is_finite())
        .filter_map(|m| {
            let start = Timecode::from_seconds(m.start_s, clip.rate).frames;
            let end = Timecode::from_seconds(m.end_s, clip.rate).frames.min(total);
            (start < total).then(|| Placed {
                marker: m,
                start,
                frames: end.saturating_sub(start).max(1),
                colour: marker_colour(m.colour_label()),
            })
        })
        .collect();
    placed.sort_by_key(|p| (p.start, p.marker.kind == MarkerKind::Dialogue));
    placed
}

// ---------------------------------------------------------------------------------------------
// Rendering

/// The clip and its markers in `format`, as the text of the file.
pub fn render(format: MarkerFormat, clip: &MarkerClip) -> String {
    match format {
        MarkerFormat::Edl => render_edl(clip),
        MarkerFormat::Fcpxml => render_fcpxml(clip),
        MarkerFormat::Xmeml => render_xmeml(clip),
        MarkerFormat::Otio => render_otio(clip),
        MarkerFormat::CsvMarkers => render_csv(clip),
    }
}

/// One line of EDL text: control characters become spaces, `|` (Resolve's field separator)
/// becomes `/`.
fn edl_text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '|' => '/',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect::<String>()
        .trim()
        .to_string()
}

/// CMX 3600 with two kinds of events:
///
/// - event 001, channel `A` (OpenTimelineIO's track `A1`): the clip, source in = its start
///   timecode, record in = 01:00:00:00 (Resolve's default timeline start), with
///   `* FROM CLIP NAME:`, `* SOURCE FILE:` and one `* LOC: <source TC> <COLOUR> <name>` line per
///   marker — the Avid locator form, the one OpenTimelineIO's `cmx_3600` reader turns into
///   markers. Its pattern only accepts `:` separators, so `LOC` timecodes are written with colons
///   in drop frame too (the label's digits, counted in drop frame as `FCM:` says).
/// - events 002…, channel `V`: one per marker, as Resolve's Timelines > Export > Timeline Markers
///   to EDL writes them and its Import reads them: a one-frame event at the marker's record
///   timecode (01:00:00:00 + offset into the clip) followed by
///   `<note> |C:ResolveColor<Colour> |M:<name> |D:<frames>`. Resolve holds one marker per
///   frame, so a marker on a frame already taken moves to the next free frame; events on one
///   track must not overlap either (OpenTimelineIO rejects that).
fn render_edl(clip: &MarkerClip) -> String {
    let rate = clip.rate;
    let total = clip_frames(clip);
    let record_start = Timecode::parse("01:00:00:00", rate)
        .or_else(|_| Timecode::parse("01:00:00;00", rate))
        .map_or(0, |t| t.frames);
    let tc = |frames: u64| Timecode { frames, rate }.to_string();
    let placed = place(clip);
    let mut out = String::new();
    out.push_str(&format!("TITLE: {}\n", edl_text(&clip.name)));
    out.push_str(if rate.drop_frame {
        "FCM: DROP FRAME\n\n"
    } else {
        "FCM: NON-DROP FRAME\n\n"
    });
    let event = |n: usize, reel: &str, channel: &str, src: u64, rec: u64, len: u64| {
        format!(
            "{n:03}  {reel:<8} {channel:<5} C        {} {} {} {}\n",
            tc(src),
            tc(src + len),
            tc(rec),
            tc(rec + len)
        )
    };
    let start = clip.start_tc.frames;
    out.push_str(&event(1, "AX", "A", start, record_start, total.max(1)));
    out.push_str(&format!("* FROM CLIP NAME: {}\n", edl_text(&clip.name)));
    out.push_str(&format!("* SOURCE FILE: {}\n", edl_text(&clip.media_path)));
    for p in &placed {
        let at = Timecode {
            frames: start + p.start,
            rate,
        };
        out.push_str(&format!(
            "* LOC: {} {:<7} {}\n",
            at.colon_label(),
            p.colour.otio,
            edl_text(&p.marker.label)
        ));
    }
    let mut taken = std::collections::BTreeSet::new();
    for (i, p) in placed.iter().enumerate() {
        let mut rec = record_start + p.start;
        while !taken.insert(rec) {
            rec += 1;
        }
        out.push('\n');
        out.push_str(&event(i + 2, "001", "V", rec, rec, 1));
        out.push_str(&format!(
            "{} |C:ResolveColor{} |M:{} |D:{}\n",
            edl_text(&p.marker.comment()),
            p.colour.resolve,
            edl_text(&p.marker.label),
            p.frames
        ));
    }
    out
}

/// Text for XML content and attribute values: `& < > " '` escaped, characters XML 1.0 cannot
/// hold (C0 controls other than tab, LF, CR) dropped.
fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            '\t' | '\n' | '\r' => o.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => o.push(c),
        }
    }
    o
}

/// A path as a URL: absolute paths (and `C:\…`) become `file:///…`, relative paths a relative
/// URL reference; every byte outside `A–Z a–z 0–9 - . _ ~ /` is percent-encoded.
pub(crate) fn file_url(path: &str) -> String {
    let p = path.replace('\\', "/");
    let drive = p.len() >= 2 && p.as_bytes()[0].is_ascii_alphabetic() && p.as_bytes()[1] == b':';
    let mut enc = String::with_capacity(p.len());
    for (i, b) in p.bytes().enumerate() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/')
            || (drive && i == 1);
        if keep {
            enc.push(b as char);
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    if p.starts_with('/') {
        format!("file://{enc}")
    } else if drive {
        format!("file:///{enc}")
    } else {
        enc
    }
}

/// FCPXML 1.9: a format (frameDuration), an asset for the media (a `media-rep` with
/// [`file_url`] of the path; Final Cut Pro wants it absolute), and a library → event → project
/// whose sequence starts at the clip's timecode (`tcStart`, `tcFormat` DF/NDF) and holds one
/// `asset-clip` with `start` = the clip's timecode and a `<marker start duration value note>` per
/// marker, times in rational seconds on the frame grid in the clip's source time. FCPXML markers
/// have no colour.
fn render_fcpxml(clip: &MarkerClip) -> String {
    let rate = clip.rate;
    let total = clip_frames(clip).max(1);
    let start = clip.start_tc.frames;
    let t = |frames: u64| rate.rational_seconds(frames);
    let tc_format = if rate.drop_frame { "DF" } else { "NDF" };
    let name = xml_escape(&clip.name);
    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE fcpxml>\n\n");
    out.push_str("<fcpxml version=\"1.9\">\n  <resources>\n");
    out.push_str(&format!(
        "    <format id=\"r1\" frameDuration=\"{}\" width=\"1920\" height=\"1080\"/>\n",
        t(1)
    ));
    out.push_str(&format!(
        "    <asset id=\"r2\" name=\"{name}\" start=\"{}\" duration=\"{}\" hasAudio=\"1\" format=\"r1\">\n",
        t(start),
        t(total)
    ));
    out.push_str(&format!(
        "      <media-rep kind=\"original-media\" src=\"{}\"/>\n    </asset>\n  </resources>\n",
        xml_escape(&file_url(&clip.media_path))
    ));
    out.push_str("  <library>\n    <event name=\"roomtone\">\n");
    out.push_str(&format!(
        "      <project name=\"{name} markers\">\n        <sequence format=\"r1\" duration=\"{}\" tcStart=\"{}\" tcFormat=\"{tc_format}\">\n          <spine>\n",
        t(total),
        t(start)
    ));
    out.push_str(&format!(
        "            <asset-clip ref=\"r2\" name=\"{name}\" offset=\"{}\" start=\"{}\" duration=\"{}\" format=\"r1\" tcFormat=\"{tc_format}\">\n",
        t(start),
        t(start),
        t(total)
    ));
    for p in place(clip) {
        out.push_str(&format!(
            "              <marker start=\"{}\" duration=\"{}\" value=\"{}\" note=\"{}\"/>\n",
            t(start + p.start),
            t(p.frames),
            xml_escape(&p.marker.label),
            xml_escape(&p.marker.comment())
        ));
    }
    out.push_str("            </asset-clip>\n          </spine>\n        </sequence>\n      </project>\n    </event>\n  </library>\n</fcpxml>\n");
    out
}

/// Final Cut Pro 7 XML (`<xmeml version="4">`, what Premiere Pro imports): a sequence whose
/// timecode starts at the clip's (`<frame>` = frames since 00:00:00:00, `displayformat` DF/NDF),
/// one audio track with one `clipitem` over the whole clip, its `file` (pathurl = [`file_url`],
/// the same start timecode), and a `<marker><name><comment><in><out>` per marker, `in`/`out` in
/// frames from the media's first frame (FCP 7's convention). No documented marker colour.
fn render_xmeml(clip: &MarkerClip) -> String {
    let rate = clip.rate;
    let total = clip_frames(clip).max(1);
    let ntsc = if rate.den == 1001 { "TRUE" } else { "FALSE" };
    let rate_xml = format!(
        "<rate><timebase>{}</timebase><ntsc>{ntsc}</ntsc></rate>",
        rate.nominal()
    );
    let timecode_xml = format!(
        "<timecode>{rate_xml}<string>{}</string><frame>{}</frame><displayformat>{}</displayformat></timecode>",
        clip.start_tc,
        clip.start_tc.frames,
        if rate.drop_frame { "DF" } else { "NDF" }
    );
    let name = xml_escape(&clip.name);
    let mut out = String::new();
    out.push_str(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE xmeml>\n<xmeml version=\"4\">\n",
    );
    out.push_str(&format!(
        "  <sequence id=\"sequence-1\">\n    <name>{name} markers</name>\n    <duration>{total}</duration>\n    {rate_xml}\n    {timecode_xml}\n"
    ));
    out.push_str("    <media>\n      <audio>\n        <track>\n");
    out.push_str(&format!(
        "          <clipitem id=\"clipitem-1\">\n            <name>{name}</name>\n            <duration>{total}</duration>\n            {rate_xml}\n            <start>0</start>\n            <end>{total}</end>\n            <in>0</in>\n            <out>{total}</out>\n"
    ));
    out.push_str(&format!(
        "            <file id=\"file-1\">\n              <name>{name}</name>\n              <pathurl>{}</pathurl>\n              {rate_xml}\n              <duration>{total}</duration>\n              {timecode_xml}\n              <media><audio></audio></media>\n            </file>\n",
        xml_escape(&file_url(&clip.media_path))
    ));
    for p in place(clip) {
        out.push_str(&format!(
            "            <marker>\n              <name>{}</name>\n              <comment>{}</comment>\n              <in>{}</in>\n              <out>{}</out>\n            </marker>\n",
            xml_escape(&p.marker.label),
            xml_escape(&p.marker.comment()),
            p.start,
            p.start + p.frames
        ));
    }
    out.push_str("          </clipitem>\n        </track>\n      </audio>\n    </media>\n  </sequence>\n</xmeml>\n");
    out
}

/// OpenTimelineIO JSON: `Timeline.1` (global start time = the clip's timecode) → `Stack.1` →
/// `Track.1` `A1` (kind `Audio`) → `Clip.2` whose `source_range` starts at the clip's timecode,
/// with an `ExternalReference.1` ([`file_url`]) and a `Marker.2` per marker (`marked_range` in
/// the clip's source time, `color` from OTIO's palette, `comment`).
fn render_otio(clip: &MarkerClip) -> String {
    use serde_json::{json, Value};
    let fps = clip.rate.fps();
    let rt =
        |frames: u64| json!({"OTIO_SCHEMA": "RationalTime.1", "rate": fps, "value": frames as f64});
    let range = |start: u64, len: u64| json!({"OTIO_SCHEMA": "TimeRange.1", "start_time": rt(start), "duration": rt(len)});
    let total = clip_frames(clip).max(1);
    let start = clip.start_tc.frames;
    let markers: Vec<Value> = place(clip)
        .iter()
        .map(|p| {
            json!({
                "OTIO_SCHEMA": "Marker.2",
                "metadata": {"roomtone": {"kind": match p.marker.kind {
                    MarkerKind::Ambience => "ambience",
                    MarkerKind::Dialogue => "dialogue",
                }, "score": p.marker.score, "colour": p.colour.hex}},
                "name": p.marker.label,
                "color": p.colour.otio,
                "comment": p.marker.comment(),
                "marked_range": range(start + p.start, p.frames),
            })
        })
        .collect();
    let clip_json = json!({
        "OTIO_SCHEMA": "Clip.2",
        "metadata": {},
        "name": clip.name,
        "source_range": range(start, total),
        "effects": [],
        "markers": markers,
        "enabled": true,
        "media_references": {
            "DEFAULT_MEDIA": {
                "OTIO_SCHEMA": "ExternalReference.1",
                "metadata": {},
                "name": clip.name,
                "available_range": range(start, total),
                "available_image_bounds": null,
                "target_url": file_url(&clip.media_path),
            }
        },
        "active_media_reference_key": "DEFAULT_MEDIA",
    });
    let timeline = json!({
        "OTIO_SCHEMA": "Timeline.1",
        "metadata": {"roomtone": {
            "rate": clip.rate.to_string(),
            "rate_source": clip.rate_source,
            "start_timecode": clip.start_tc.to_string(),
        }},
        "name": format!("{} markers", clip.name),
        "global_start_time": rt(start),
        "tracks": {
            "OTIO_SCHEMA": "Stack.1",
            "metadata": {},
            "name": "tracks",
            "source_range": null,
            "effects": [],
            "markers": [],
            "enabled": true,
            "children": [{
                "OTIO_SCHEMA": "Track.1",
                "metadata": {},
                "name": "A1",
                "source_range": null,
                "effects": [],
                "markers": [],
                "enabled": true,
                "children": [clip_json],
                "kind": "Audio",
            }],
        },
    });
    let mut text = serde_json::to_string_pretty(&timeline).unwrap_or_default();
    text.push('\n');
    text
}

/// Text on one line: control characters (newlines, tabs) become spaces.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// CSV with the header `name,start,duration,colour,comment,start_s,end_s,score,fps`: `start` the
/// marker's source timecode, `duration` its length as a timecode, `colour` the HTML report's hex,
/// `start_s`/`end_s` seconds from the clip's first sample (on the frame grid), `fps` what
/// [`FrameRate::parse`] reads (`29.97df`). Text cells go through [`crate::report::csv_field`]
/// (formula leads defused). Not Adobe Audition's marker list, which is tab-separated with other
/// columns (`Name, Start, Duration, Time Format, Type, Description`).
fn render_csv(clip: &MarkerClip) -> String {
    use crate::report::csv_field;
    let rate = clip.rate;
    let mut out = String::from("name,start,duration,colour,comment,start_s,end_s,score,fps\n");
    for p in place(clip) {
        let at = Timecode {
            frames: clip.start_tc.frames + p.start,
            rate,
        };
        let len = Timecode {
            frames: p.frames,
            rate,
        };
        out.push_str(&format!(
            "{},{at},{len},{},{},{:.3},{:.3},{:.2},{rate}\n",
            csv_field(&one_line(&p.marker.label)),
            p.colour.hex,
            csv_field(&one_line(&p.marker.comment())),
            p.start as f64 / rate.fps(),
            (p.start + p.frames) as f64 / rate.fps(),
            p.marker.score,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn df() -> FrameRate {
        FrameRate::NTSC_30_DF
    }

    fn clip(rate: FrameRate, start: &str, markers: Vec<Marker>) -> MarkerClip {
        MarkerClip {
            name: "take1.mov".into(),
            media_path: "/media/take 1.mov".into(),
            duration_s: 60.0,
            rate,
            rate_source: "--fps".into(),
            start_tc: Timecode::parse(start, rate).unwrap(),
            markers,
        }
    }

    fn marker(label: &str, start_s: f64, end_s: f64) -> Marker {
        Marker {
            kind: if label == "dialogue" {
                MarkerKind::Dialogue
            } else {
                MarkerKind::Ambience
            },
            label: label.into(),
            start_s,
            end_s,
            score: 0.87,
        }
    }

    #[test]
    fn drop_frame_labels_skip_two_frames_a_minute_except_every_tenth() {
        let tc = |frames| Timecode { frames, rate: df() }.to_string();
        assert_eq!(tc(0), "00:00:00;00");
        assert_eq!(tc(1799), "00:00:59;29");
        assert_eq!(tc(1800), "00:01:00;02");
        assert_eq!(tc(17982), "00:10:00;00");
        assert_eq!(tc(17981), "00:09:59;29");
        assert_eq!(tc(107_892), "01:00:00;00");
        assert_eq!(tc(107_891), "00:59:59;29");
        let at60 = FrameRate::parse("59.94").unwrap();
        assert_eq!(
            Timecode {
                frames: 3600,
                rate: at60
            }
            .to_string(),
            "00:01:00;04"
        );
        assert_eq!(
            Timecode {
                frames: 35964,
                rate: at60
            }
            .to_string(),
            "00:10:00;00"
        );
        // Labels drop frame skips do not exist.
        assert!(Timecode::parse("00:01:00;00", df()).is_err());
        assert!(Timecode::parse("00:01:00;01", df()).is_err());
        assert_eq!(Timecode::parse("00:10:00;00", df()).unwrap().frames, 17982);
        assert_eq!(Timecode::parse("00:01:00;02", df()).unwrap().frames, 1800);
        // Non-drop 29.97 counts every label.
        let ndf = FrameRate::parse("29.97ndf").unwrap();
        assert_eq!(
            Timecode {
                frames: 1800,
                rate: ndf
            }
            .to_string(),
            "00:01:00:00"
        );
    }

    #[test]
    fn timecodes_round_trip_over_many_frame_counts() {
        for rate in [
            "29.97", "59.94", "29.97ndf", "23.976", "24", "25", "50", "60",
        ] {
            let rate = FrameRate::parse(rate).unwrap();
            let mut previous = String::new();
            // Every frame of the first 11 minutes, then a stride over 30 hours.
            let dense = 0..(u64::from(rate.nominal()) * 60 * 11);
            let sparse = (0..30 * 3600 * 60)
                .step_by(7919)
                .map(|f| f * u64::from(rate.nominal()) / 60);
            for frames in dense.chain(sparse) {
                let tc = Timecode { frames, rate };
                let text = tc.to_string();
                assert_eq!(
                    Timecode::parse(&text, rate),
                    Ok(tc),
                    "{rate} {frames} {text}"
                );
                if frames > 0 && frames < 40_000 {
                    assert!(text > previous, "labels increase: {previous} then {text}");
                }
                previous = text;
            }
        }
    }

    #[test]
    fn seconds_snap_to_the_nearest_frame() {
        assert_eq!(Timecode::from_seconds(12.0, FrameRate::FPS_25).frames, 300);
        assert_eq!(
            Timecode::from_seconds(12.019, FrameRate::FPS_25).frames,
            300
        );
        assert_eq!(
            Timecode::from_seconds(12.021, FrameRate::FPS_25).frames,
            301
        );
        assert_eq!(Timecode::from_seconds(60.06, df()).frames, 1800);
        assert_eq!(Timecode::from_seconds(-1.0, df()).frames, 0);
        assert_eq!(Timecode::from_seconds(f64::NAN, df()).frames, 0);
    }

    #[test]
    fn frame_rates_parse_and_snap() {
        let r = |s: &str| FrameRate::parse(s).unwrap();
        assert_eq!(r("25"), FrameRate::FPS_25);
        assert_eq!(r("29.97"), df());
        assert_eq!(r("29.97df"), df());
        assert_eq!(r("29.97 DF"), df());
        assert!(!r("29.97ndf").drop_frame);
        assert_eq!(r("30000/1001"), df());
        assert_eq!(r("24000/1001"), FrameRate::NTSC_24);
        assert_eq!(r("23.976"), FrameRate::NTSC_24);
        assert_eq!(r("59.94").num, 60_000);
        assert!(r("59.94").drop_frame);
        assert_eq!(r("30").nominal(), 30);
        assert_eq!(df().nominal(), 30);
        assert_eq!(FrameRate::NTSC_24.nominal(), 24);
        assert!(FrameRate::parse("25df").is_err());
        assert!(FrameRate::parse("23.976df").is_err());
        assert!(FrameRate::parse("fast").is_err());
        assert!(FrameRate::parse("0").is_err());
        assert!(FrameRate::parse("1/0").is_err());
        assert_eq!(FrameRate::from_fps(29.97), Some(df()));
        assert_eq!(FrameRate::from_fps(29.970_029), Some(df()));
        assert_eq!(FrameRate::from_fps(12.5), None);
        for text in ["25", "29.97df", "29.97ndf", "23.976", "59.94df", "24"] {
            assert_eq!(r(text).to_string(), text);
        }
    }

    #[test]
    fn formats_parse_and_name_their_extension() {
        for f in MarkerFormat::ALL {
            assert_eq!(f.name().parse::<MarkerFormat>(), Ok(f));
        }
        assert_eq!(MarkerFormat::Xmeml.extension(), "xml");
        assert_eq!(MarkerFormat::CsvMarkers.extension(), "csv");
        assert!(MarkerFormat::parse("aaf").is_err());
    }

    #[test]
    fn colour_table_in_the_docs_is_what_the_palettes_give() {
        let table = [
            ("rain", "Blue", "BLUE"),
            ("traffic", "Red", "RED"),
            ("crowd", "Sand", "ORANGE"),
            ("hvac", "Cyan", "CYAN"),
            ("wind", "Green", "GREEN"),
            ("water", "Blue", "BLUE"),
            ("nature", "Mint", "GREEN"),
            ("music", "Fuchsia", "MAGENTA"),
            ("speech", "Yellow", "YELLOW"),
            ("silence", "Sand", "WHITE"),
            ("other", "Sand", "RED"),
        ];
        let got: Vec<(&str, &str, &str)> = table
            .iter()
            .map(|(l, _, _)| {
                let c = marker_colour(l);
                (*l, c.resolve, c.otio)
            })
            .collect();
        assert_eq!(got, table);
        assert_eq!(marker_colour("rain").hex, "#4e79a7");
    }

    #[test]
    fn markers_sit_inside_the_clip_on_the_frame_grid() {
        let c = MarkerClip {
            duration_s: 10.0,
            ..clip(
                FrameRate::FPS_25,
                "00:00:00:00",
                vec![
                    marker("rain", 2.0, 4.0),
                    marker("wind", 9.0, 30.0),      // cut at the end
                    marker("crowd", 10.0, 12.0),    // starts at the end: left out
                    marker("hvac", -3.0, 1.0),      // starts before: from 0
                    marker("water", 5.0, 5.001),    // shorter than a frame: one frame
                    marker("music", f64::NAN, 1.0), // not a time: left out
                ],
            )
        };
        let placed = place(&c);
        let got: Vec<(&str, u64, u64)> = placed
            .iter()
            .map(|p| (p.marker.label.as_str(), p.start, p.frames))
            .collect();
        assert_eq!(
            got,
            [
                ("hvac", 0, 25),
                ("rain", 50, 50),
                ("water", 125, 1),
                ("wind", 225, 25)
            ]
        );
        for p in &placed {
            assert!(p.frames >= 1 && p.start + p.frames <= 250);
        }
    }

    #[test]
    fn empty_marker_lists_render_valid_files() {
        let c = clip(df(), "01:00:00;00", vec![]);
        let edl = render(MarkerFormat::Edl, &c);
        assert!(edl.contains("FCM: DROP FRAME"));
        assert!(!edl.contains("LOC"));
        assert!(edl.contains(
            "001  AX       A     C        01:00:00;00 01:00:59;28 01:00:00;00 01:00:59;28"
        ));
        let otio: serde_json::Value =
            serde_json::from_str(&render(MarkerFormat::Otio, &c)).unwrap();
        assert_eq!(
            otio["tracks"]["children"][0]["children"][0]["markers"],
            serde_json::json!([])
        );
        assert_eq!(
            render(MarkerFormat::CsvMarkers, &c),
            "name,start,duration,colour,comment,start_s,end_s,score,fps\n"
        );
        for f in [MarkerFormat::Fcpxml, MarkerFormat::Xmeml] {
            let text = render(f, &c);
            assert!(!text.contains("<marker"), "{f}");
            assert!(text.trim_end().ends_with(if f == MarkerFormat::Fcpxml {
                "</fcpxml>"
            } else {
                "</xmeml>"
            }));
        }
    }

    #[test]
    fn edl_carries_loc_lines_and_resolve_marker_events() {
        let c = clip(
            df(),
            "00:59:59;28",
            vec![marker("rain", 12.0, 40.0), marker("dialogue", 12.0, 20.0)],
        );
        let edl = render(MarkerFormat::Edl, &c);
        // 12 s = 360 frames after 00:59:59;28 (frame 107890) = frame 108250 = 01:00:11;28.
        assert!(edl.contains("* LOC: 01:00:11:28 BLUE    rain\n"), "{edl}");
        assert!(
            edl.contains("* LOC: 01:00:11:28 YELLOW  dialogue\n"),
            "{edl}"
        );
        // Resolve's form: record 01:00:00;00 + 360 frames; the second marker on that frame moves on.
        assert!(edl.contains("002  001      V     C        01:00:12;00 01:00:12;01 01:00:12;00 01:00:12;01\nroomtone: rain, score 0.87 |C:ResolveColorBlue |M:rain |D:839\n"), "{edl}");
        assert!(edl.contains("003  001      V     C        01:00:12;01 01:00:12;02 01:00:12;01 01:00:12;02\nroomtone: dialogue, score 0.87 |C:ResolveColorYellow |M:dialogue |D:239\n"), "{edl}");
    }

    #[test]
    fn text_is_escaped_for_each_format() {
        let nasty = "<a href=\"x\">&'|\u{7}\nrow";
        let mut c = clip(
            FrameRate::FPS_25,
            "00:00:00:00",
            vec![marker(nasty, 1.0, 2.0)],
        );
        c.name = nasty.into();
        for f in [MarkerFormat::Fcpxml, MarkerFormat::Xmeml] {
            let text = render(f, &c);
            assert!(!text.contains("<a href"), "{f}");
            assert!(!text.contains('\u{7}'), "{f}");
            assert!(
                text.contains("&lt;a href=&quot;x&quot;&gt;&amp;&apos;|"),
                "{f}"
            );
        }
        let edl = render(MarkerFormat::Edl, &c);
        for line in edl.lines() {
            assert!(!line.contains('\u{7}'));
            assert!(
                !line.starts_with("row"),
                "a name cannot start a line: {line}"
            );
        }
        assert!(edl.contains("|M:<a href=\"x\">&'/  row |D:25"), "{edl}");
        let csv = render(MarkerFormat::CsvMarkers, &c);
        assert_eq!(csv.lines().count(), 2, "a row is one line: {csv}");
        let mut c = clip(
            FrameRate::FPS_25,
            "00:00:00:00",
            vec![marker("=cmd()", 1.0, 2.0)],
        );
        c.markers[0].score = 0.5;
        let csv = render(MarkerFormat::CsvMarkers, &c);
        assert_eq!(
            csv.lines().nth(1),
            Some("\"'=cmd()\",00:00:01:00,00:00:01:00,#9c755f,\"roomtone: =cmd(), score 0.50\",1.000,2.000,0.50,25")
        );
        let otio: serde_json::Value =
            serde_json::from_str(&render(MarkerFormat::Otio, &c)).unwrap();
        assert_eq!(
            otio["tracks"]["children"][0]["children"][0]["markers"][0]["name"],
            "=cmd()"
        );
    }

    #[test]
    fn file_urls_are_percent_encoded() {
        assert_eq!(
            file_url("/media/take 1#2.mov"),
            "file:///media/take%201%232.mov"
        );
        assert_eq!(file_url("clips/été.wav"), "clips/%C3%A9t%C3%A9.wav");
        assert_eq!(file_url("C:\\media\\a.mov"), "file:///C:/media/a.mov");
    }

    #[test]
    fn fcpxml_times_are_rational_seconds_on_the_frame_grid() {
        assert_eq!(df().rational_seconds(0), "0s");
        assert_eq!(df().rational_seconds(1), "1001/30000s");
        assert_eq!(df().rational_seconds(30000), "1001s");
        assert_eq!(FrameRate::FPS_25.rational_seconds(300), "12s");
        assert_eq!(FrameRate::FPS_25.rational_seconds(7), "7/25s");
        let c = clip(df(), "01:00:00;00", vec![marker("rain", 1.0, 2.0)]);
        let x = render(MarkerFormat::Fcpxml, &c);
        assert!(
            x.contains("tcStart=\"8999991/2500s\" tcFormat=\"DF\""),
            "{x}"
        );
        // 107892 + 30 frames, 30 frames.
        assert!(x.contains("<marker start=\"18004987/5000s\" duration=\"1001/1000s\" value=\"rain\" note=\"roomtone: rain, score 0.87\"/>"), "{x}");
    }

    #[test]
    fn tags_become_markers_without_silence() {
        use crate::classify::{Segment, SpeechSegment};
        let seg = |label: &str, a: f64, b: f64| Segment {
            start_s: a,
            end_s: b,
            label: label.into(),
            score: 0.9,
        };
        let result = TagResult {
            path: "a.wav".into(),
            duration_s: 30.0,
            ambience: "rain".into(),
            labels: vec![],
            speech: true,
            segments: vec![
                seg("rain", 0.0, 10.0),
                seg("silence", 10.0, 20.0),
                seg("other", 20.0, 30.0),
            ],
            speech_segments: vec![SpeechSegment {
                start_s: 5.0,
                end_s: 8.0,
                score: 0.7,
            }],
            audioset_top: vec![],
            warnings: vec![],
        };
        let m = markers_from_tags(&result);
        let got: Vec<(&str, MarkerKind, f64)> = m
            .iter()
            .map(|m| (m.label.as_str(), m.kind, m.start_s))
            .collect();
        assert_eq!(
            got,
            [
                ("rain", MarkerKind::Ambience, 0.0),
                ("dialogue", MarkerKind::Dialogue, 5.0),
                ("other", MarkerKind::Ambience, 20.0)
            ]
        );
        assert_eq!(m[1].comment(), "roomtone: dialogue, score 0.70");
    }
}
