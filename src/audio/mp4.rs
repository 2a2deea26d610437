//! MP4/MOV boxes read before symphonia sees the file: bounds checks on the way to the sample tables,
//! and the facts about each track that symphonia 0.5 does not apply.
//!
//! - **Byte order of QuickTime PCM.** `in24`, `in32`, `fl32` and `fl64` sample entries are big-endian
//!   unless an `enda` box (usually inside `wave`) says little-endian; symphonia 0.5 reads them all
//!   as little-endian, so a camera's 24-bit PCM decodes as noise.
//! - **Edit lists.** An `elst` entry says which part of the media the track plays: AAC encoders put
//!   their priming (1,024 samples for AAC-LC) before the audio and an edit that starts after it;
//!   symphonia 0.5 plays the media from its first sample, so AAC comes out 1,024 samples late and
//!   as much too long. Empty edits before the media (a track that starts after the picture) give
//!   the track's start offset.
//! - **iTunes gapless info.** Encoders of the iTunes family write no edit list but an `iTunSMPB`
//!   tag (`moov/udta/meta/ilst/----`): the priming, the padding and the source's length in
//!   samples. Without an edit list that asks for a trim, it is applied the same way.
//! - **Timing** (for `audio::timecode`): each track's handler (`vide`, `soun`, `tmcd`), its most
//!   common sample duration (a video track's frame rate), a `tmcd` sample entry's fields and the
//!   offset of the first chunk, where a timecode track's first frame number is.

use std::io::{Read, Seek, SeekFrom};

/// ISO base media boxes that hold other boxes on the way to the sample tables and the iTunes
/// metadata (`udta` and `meta` are handled apart: metadata whose damage is ignored, and `meta` is
/// a full box in MP4 but a plain one in QuickTime).
const CONTAINERS: [&[u8; 4]; 8] = [
    b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"ilst", b"----",
];
/// Bytes of an iTunes metadata atom's parts read (`mean`, `name`, `data` of `----`).
const MAX_TAG_BYTES: u64 = 256;
/// Boxes looked at in an MP4/MOV file (a real one has a few hundred before its sample tables).
const MAX_BOXES: usize = 100_000;
/// Bytes of an `stsd` box read to find the first sample entry's byte order (a real one has well
/// under a kilobyte; codec configurations can be a few kilobytes).
const MAX_STSD_BYTES: u64 = 64 * 1024;
/// Edits kept per track (real files have one or two; a longer list is not applied).
const MAX_EDITS: u64 = 64;
/// A rate of 1.0 in an edit (16.16 fixed point).
const RATE_ONE: i32 = 0x0001_0000;
/// Distinct sample durations counted per `stts` to find the most common one (a constant-rate
/// track has one or two; durations first seen after this many are not counted).
const MAX_DELTAS: usize = 16;

/// One entry of an edit list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Edit {
    /// Length of the edit in the movie's timescale.
    pub segment_duration: u64,
    /// Where in the media the edit starts, in the track's timescale; −1 for an empty edit (time
    /// in which the track plays nothing).
    pub media_time: i64,
    /// Playback rate, 16.16 fixed point (1.0 = `0x10000`).
    pub rate: i32,
}

/// What the boxes of one track say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TrackFacts {
    /// Units per second of the track's media times (`mdhd`).
    pub media_timescale: u32,
    /// The first sample entry's format (`in24`, `mp4a`, …).
    pub sample_entry: [u8; 4],
    /// The value of an `enda` box in the sample entry, if there is one (true = little-endian).
    pub little_endian: Option<bool>,
    /// The edit list, if there is one and it is short enough to apply.
    pub edits: Option<Vec<Edit>>,
    /// The media's length in the track's timescale by its sample table (`stts`): what the track
    /// holds, which `mdhd`'s duration does not always agree with.
    pub stts_duration: Option<u64>,
    /// The media handler (`hdlr` in `mdia`): `vide`, `soun`, `tmcd` …; zeros if there is none.
    pub handler: [u8; 4],
    /// The sample duration most samples have, in the track's timescale (`stts`; 0 never).
    pub sample_delta: Option<u32>,
    /// The fields of a `tmcd` (timecode) sample entry.
    pub timecode: Option<TimecodeEntry>,
    /// Byte offset of the track's first chunk (`stco` or `co64`), if it has one.
    pub first_chunk: Option<u64>,
}

/// A QuickTime timecode sample entry (`tmcd`, QuickTime File Format: "Timecode sample
/// description"): how the track's frame numbers count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TimecodeEntry {
    /// Bit 0: drop frame; bit 1: wraps at 24 hours; bit 2: negative times; bit 3: counter.
    pub flags: u32,
    /// Units per second of `frame_duration`.
    pub timescale: u32,
    /// Length of one frame in `timescale` units (frame rate = timescale / frame_duration).
    pub frame_duration: u32,
    /// Frames per timecode second (30 for 29.97).
    pub frames_per_second: u8,
}

/// What the boxes of a movie say, track by track in the order of the `trak` boxes (symphonia
/// numbers its tracks the same way).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Movie {
    /// Units per second of the edit durations (`mvhd`).
    pub movie_timescale: u32,
    /// One entry per `trak` box.
    pub tracks: Vec<TrackFacts>,
    /// The iTunes gapless info (`iTunSMPB`), if the file has it.
    pub gapless: Option<Gapless>,
}

/// An `iTunSMPB` tag: `" 00000000 PPPPPPPP QQQQQQQQ LLLLLLLLLLLLLLLL …"`, hexadecimal: the
/// encoder's priming (delay), its padding, and the source's length, in samples at the decoded rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Gapless {
    /// Samples of priming before the source's first.
    pub priming: u64,
    /// Samples of padding after its last.
    pub padding: u64,
    /// The source's length in samples.
    pub frames: u64,
}

impl Gapless {
    /// Parses the tag's text; `None` when it is not the iTunes layout or says nothing usable.
    pub fn parse(text: &str) -> Option<Self> {
        let mut fields = text.split_whitespace();
        let _zero = fields.next()?;
        let hex = |f: Option<&str>| f.and_then(|v| u64::from_str_radix(v, 16).ok());
        let (priming, padding, frames) = (
            hex(fields.next())?,
            hex(fields.next())?,
            hex(fields.next())?,
        );
        // An encoder's priming is a few thousand samples at most.
        (frames > 0 && priming < 1 << 16).then_some(Self {
            priming,
            padding,
            frames,
        })
    }
}

/// The part of a track's decoded audio that the edit list plays, in frames at the track's rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Trim {
    /// Frames dropped from the start of the decoded media (the encoder's priming).
    pub skip_frames: u64,
    /// Frames kept after those (`None`: to the end of the media).
    pub frames: Option<u64>,
    /// When the track starts on the movie's timeline, seconds (leading empty edits).
    pub start_s: f64,
}

impl Movie {
    /// Track `index`'s media length in frames at `sample_rate`, by its sample table.
    pub(crate) fn media_frames(&self, index: usize, sample_rate: u32) -> Option<u64> {
        let track = self.tracks.get(index)?;
        let (d, scale) = (track.stts_duration?, track.media_timescale);
        (scale > 0).then(|| {
            ((u128::from(d) * u128::from(sample_rate) + u128::from(scale) / 2) / u128::from(scale))
                as u64
        })
    }

    /// Whether track `index` holds QuickTime integer or float PCM stored big-endian, which
    /// symphonia 0.5 would read as little-endian.
    pub(crate) fn big_endian_pcm(&self, index: usize) -> bool {
        self.tracks.get(index).is_some_and(|t| {
            matches!(&t.sample_entry, b"in24" | b"in32" | b"fl32" | b"fl64")
                && t.little_endian != Some(true)
        })
    }

    /// The trim that track `index`'s edit list asks for at `sample_rate`, when the list is one
    /// that can be applied to a decode: leading empty edits, then one edit at rate 1. A list that
    /// asks for nothing (starts at the media's first sample, lasts to its end) gives `None`.
    /// `Trim::frames` is the edit's length, capped by the media's declared length, so the padding
    /// of a codec's last packet is not played.
    /// `media_duration` is the media's length in the track's timescale (`mdhd`), when known: an
    /// edit end within one movie time unit of it is the end of the media (movie timescales are
    /// often 1/1000 s, coarser than a sample).
    pub(crate) fn trim(
        &self,
        index: usize,
        sample_rate: u32,
        media_duration: Option<u64>,
    ) -> Option<Trim> {
        self.edit_trim(index, sample_rate, media_duration)
            .or_else(|| self.gapless_trim(index))
    }

    /// The iTunes gapless info as a trim of an AAC track that has no edit list to apply (with
    /// one, the edit list rules, as in ffmpeg).
    fn gapless_trim(&self, index: usize) -> Option<Trim> {
        let track = self.tracks.get(index)?;
        let g = self.gapless?;
        if &track.sample_entry != b"mp4a" || track.edits.as_ref().is_some_and(|e| !e.is_empty()) {
            return None;
        }
        Some(Trim {
            skip_frames: g.priming,
            frames: Some(g.frames),
            start_s: 0.0,
        })
    }

    fn edit_trim(
        &self,
        index: usize,
        sample_rate: u32,
        media_duration: Option<u64>,
    ) -> Option<Trim> {
        let track = self.tracks.get(index)?;
        let edits = track.edits.as_ref()?;
        let (movie, media) = (self.movie_timescale, track.media_timescale);
        if movie == 0 || media == 0 || sample_rate == 0 {
            return None;
        }
        let leading = edits.iter().take_while(|e| e.media_time == -1).count();
        let [edit] = &edits[leading..] else {
            return None;
        };
        if edit.rate != RATE_ONE || edit.media_time < 0 {
            return None;
        }
        let rate = u128::from(sample_rate);
        let at_rate = |t: u64, scale: u32| {
            ((u128::from(t) * rate + u128::from(scale) / 2) / u128::from(scale)) as u64
        };
        let empty: u64 = edits[..leading]
            .iter()
            .fold(0u64, |sum, e| sum.saturating_add(e.segment_duration));
        let start_s = empty as f64 / f64::from(movie);
        let skip_frames = at_rate(edit.media_time as u64, media);
        let media_frames = media_duration.map(|d| at_rate(d, media));
        let media_left = media_frames.map(|m| m.saturating_sub(skip_frames));
        let one_unit = u64::from(sample_rate).div_ceil(u64::from(movie));
        // A duration of 0 (fragmented files) means the rest of the media. An edit that ends within
        // one movie time unit of the media's end plays it to its end: the media's own length is
        // the exact one (codecs' last packets run past it, by their padding).
        let frames = match (
            (edit.segment_duration > 0).then(|| at_rate(edit.segment_duration, movie)),
            media_left,
        ) {
            (Some(e), Some(left)) if e + one_unit >= left => Some(left),
            (Some(e), _) => Some(e),
            (None, left) => left,
        };
        if skip_frames == 0 && start_s == 0.0 && (frames.is_none() || frames == media_frames) {
            return None;
        }
        Some(Trim {
            skip_frames,
            frames,
            start_s,
        })
    }
}

/// Checks that every box on the way to the sample tables fits in its parent and the file, that
/// every sample table fits in its box, and that no sample is larger than the file (symphonia 0.5
/// allocates whatever these fields say: gigabytes, from a few hundred bytes, and a failed
/// allocation aborts the process); and gathers each track's [`TrackFacts`].
pub(crate) fn check<R: Read + Seek>(file: &mut R, file_len: u64) -> Result<Movie, String> {
    let mut walk = Walk {
        budget: MAX_BOXES,
        file_len,
        movie: Movie::default(),
        tag_name: None,
    };
    walk.boxes(file, 0, file_len)?;
    Ok(walk.movie)
}

struct Walk {
    budget: usize,
    file_len: u64,
    movie: Movie,
    /// The `name` of the `----` atom being read (its `data` follows it).
    tag_name: Option<String>,
}

impl Walk {
    /// The `data` of an iTunes metadata atom: kept when the atom is `iTunSMPB` (type 1, UTF-8).
    fn itunes_data<R: Read + Seek>(
        &mut self,
        file: &mut R,
        body: u64,
        end: u64,
    ) -> Result<(), String> {
        if self.tag_name.take().as_deref() != Some("iTunSMPB") {
            return Ok(());
        }
        // Type (4: 1 = UTF-8) and locale (4), then the value.
        let len = (end - body).min(MAX_TAG_BYTES) as usize;
        let mut b = vec![0u8; len];
        if len > 8 && read_at(file, body, end, &mut b)? && be32(&b) == 1 {
            if let Some(g) = std::str::from_utf8(&b[8..]).ok().and_then(Gapless::parse) {
                self.movie.gapless = Some(g);
            }
        }
        Ok(())
    }

    fn boxes<R: Read + Seek>(&mut self, file: &mut R, start: u64, end: u64) -> Result<(), String> {
        let mut pos = start;
        while pos + 8 <= end {
            if self.budget == 0 {
                return Ok(());
            }
            self.budget -= 1;
            let mut head = [0u8; 16];
            file.seek(SeekFrom::Start(pos))
                .and_then(|_| file.read_exact(&mut head[..8]))
                .map_err(|e| format!("cannot read the MP4 box at byte {pos}: {e}"))?;
            let id = [head[4], head[5], head[6], head[7]];
            let name = String::from_utf8_lossy(&id).into_owned();
            let (size, header) = match u32::from_be_bytes([head[0], head[1], head[2], head[3]]) {
                0 => (end - pos, 8),
                1 => {
                    file.read_exact(&mut head[8..16])
                        .map_err(|e| format!("cannot read the MP4 box '{name}': {e}"))?;
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&head[8..16]);
                    (u64::from_be_bytes(b), 16)
                }
                n => (u64::from(n), 8),
            };
            if size < header || size > end - pos {
                return Err(format!(
                    "the MP4 box '{name}' at byte {pos} declares {size} bytes, but its container has {} left",
                    end - pos
                ));
            }
            let body = pos + header;
            let body_end = pos + size;
            if &id == b"trak" {
                self.movie.tracks.push(TrackFacts::default());
            }
            if &id == b"udta" {
                // Metadata only: a damaged one does not make the file unreadable (what was read
                // before the damage is kept).
                let _ = self.boxes(file, body, body_end);
            } else if CONTAINERS.contains(&&id) {
                self.boxes(file, body, body_end)?;
            } else if &id == b"meta" {
                // MP4's `meta` is a full box (version and flags first); QuickTime's is not (its
                // first child, `hdlr`, follows at once).
                let mut peek = [0u8; 8];
                let plain = read_at(file, body, body_end, &mut peek)? && &peek[4..8] == b"hdlr";
                let children = if plain { body } else { body + 4 };
                if children <= body_end {
                    // Metadata only, as `udta`.
                    let _ = self.boxes(file, children, body_end);
                }
            } else if &id == b"data" {
                self.itunes_data(file, body, body_end)?;
            } else {
                self.leaf(file, &id, body, body_end)?;
            }
            pos = body_end;
        }
        Ok(())
    }

    /// A box that holds no boxes we walk: a sample table is checked, the boxes that give track
    /// facts are read.
    fn leaf<R: Read + Seek>(
        &mut self,
        file: &mut R,
        id: &[u8; 4],
        body: u64,
        end: u64,
    ) -> Result<(), String> {
        match id {
            b"mvhd" => {
                if let Some(scale) = timescale(file, body, end)? {
                    self.movie.movie_timescale = scale;
                }
            }
            b"mdhd" => {
                if let (Some(scale), Some(track)) =
                    (timescale(file, body, end)?, self.movie.tracks.last_mut())
                {
                    track.media_timescale = scale;
                }
            }
            b"name" => {
                // Version and flags (4), then the atom's name.
                let len = (end - body).min(MAX_TAG_BYTES) as usize;
                let mut b = vec![0u8; len];
                if len > 4 && read_at(file, body, end, &mut b)? {
                    self.tag_name = std::str::from_utf8(&b[4..]).ok().map(str::to_string);
                }
            }
            b"elst" => {
                let edits = edit_list(file, body, end)?;
                if let Some(track) = self.movie.tracks.last_mut() {
                    track.edits = edits;
                }
            }
            b"stsd" => {
                let entry = sample_entry(file, body, end)?;
                if let (Some(entry), Some(track)) = (entry, self.movie.tracks.last_mut()) {
                    track.sample_entry = entry.format;
                    track.little_endian = entry.little_endian;
                    track.timecode = entry.timecode;
                }
            }
            b"stts" => {
                table(file, id, body, end, self.file_len)?;
                let (total, delta) = stts_total(file, body, end)?;
                if let Some(track) = self.movie.tracks.last_mut() {
                    track.stts_duration = Some(total);
                    track.sample_delta = delta;
                }
            }
            b"hdlr" => {
                // Full box header (4), component type (4: QuickTime's `mhlr`, or `dhlr` for the
                // data handler inside `minf`, which is not the media's), handler type (4).
                let mut f = [0u8; 12];
                if read_at(file, body, end, &mut f)? && &f[4..8] != b"dhlr" {
                    if let Some(track) = self.movie.tracks.last_mut() {
                        if track.handler == [0; 4] {
                            track.handler = [f[8], f[9], f[10], f[11]];
                        }
                    }
                }
            }
            b"stco" | b"co64" => {
                table(file, id, body, end, self.file_len)?;
                // Full box header (4), entry count (4), then 4- or 8-byte offsets.
                let mut f = [0u8; 16];
                let wide = id == b"co64";
                let n = if wide { 16 } else { 12 };
                if read_at(file, body, end, &mut f[..n])? && be32(&f[4..]) > 0 {
                    let first = if wide {
                        be64(&f[8..])
                    } else {
                        u64::from(be32(&f[8..]))
                    };
                    if let Some(track) = self.movie.tracks.last_mut() {
                        track.first_chunk.get_or_insert(first);
                    }
                }
            }
            _ => table(file, id, body, end, self.file_len)?,
        }
        Ok(())
    }
}

/// The sum of an `stts` box's sample counts × durations (its size was checked by [`table`]),
/// and the non-zero duration the most samples have (among the first [`MAX_DELTAS`] distinct ones).
fn stts_total<R: Read + Seek>(
    file: &mut R,
    body: u64,
    end: u64,
) -> Result<(u64, Option<u32>), String> {
    let mut f = [0u8; 8];
    if !read_at(file, body, end, &mut f)? {
        return Ok((0, None));
    }
    let count = u64::from(be32(&f[4..]));
    let mut reader = std::io::BufReader::new(&mut *file);
    let mut total = 0u64;
    let mut deltas: Vec<(u32, u64)> = Vec::new();
    let mut e = [0u8; 8];
    for _ in 0..count {
        reader
            .read_exact(&mut e)
            .map_err(|err| format!("the MP4 sample table 'stts' cannot be read: {err}"))?;
        let (samples, delta) = (be32(&e[..4]), be32(&e[4..]));
        total = total.saturating_add(u64::from(samples) * u64::from(delta));
        if delta == 0 {
            continue;
        }
        if let Some((_, n)) = deltas.iter_mut().find(|(d, _)| *d == delta) {
            *n += u64::from(samples);
        } else if deltas.len() < MAX_DELTAS {
            deltas.push((delta, u64::from(samples)));
        }
    }
    // The first of equally common durations wins.
    let common = deltas.iter().rev().max_by_key(|(_, n)| *n).map(|&(d, _)| d);
    Ok((total, common))
}

/// Reads `buf.len()` bytes at `body` if the box (ending at `end`) holds that many; `Ok(false)` if
/// it is shorter.
fn read_at<R: Read + Seek>(
    file: &mut R,
    body: u64,
    end: u64,
    buf: &mut [u8],
) -> Result<bool, String> {
    if end - body < buf.len() as u64 {
        return Ok(false);
    }
    file.seek(SeekFrom::Start(body))
        .and_then(|_| file.read_exact(buf))
        .map_err(|e| format!("cannot read an MP4 header box: {e}"))?;
    Ok(true)
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn be64(b: &[u8]) -> u64 {
    u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// The timescale of an `mvhd` or `mdhd` box (version 0: 32-bit times, version 1: 64-bit).
fn timescale<R: Read + Seek>(file: &mut R, body: u64, end: u64) -> Result<Option<u32>, String> {
    let mut f = [0u8; 24];
    if !read_at(file, body, end, &mut f[..1])? {
        return Ok(None);
    }
    let at = if f[0] == 1 { 20 } else { 12 };
    if !read_at(file, body, end, &mut f[..at + 4])? {
        return Ok(None);
    }
    Ok(Some(be32(&f[at..])))
}

/// The entries of an `elst` box; `None` when there are more than [`MAX_EDITS`].
fn edit_list<R: Read + Seek>(
    file: &mut R,
    body: u64,
    end: u64,
) -> Result<Option<Vec<Edit>>, String> {
    let mut f = [0u8; 8];
    if !read_at(file, body, end, &mut f)? {
        return Ok(None);
    }
    let version = f[0];
    let count = u64::from(be32(&f[4..]));
    let entry = if version == 1 { 20 } else { 12 };
    if count > MAX_EDITS {
        return Ok(None);
    }
    if count * entry > end - body - 8 {
        return Err(format!(
            "the MP4 edit list declares {count} entries, more than its {} bytes hold",
            end - body - 8
        ));
    }
    let mut bytes = vec![0u8; (count * entry) as usize];
    read_at(file, body + 8, end, &mut bytes)?;
    let edits = bytes
        .chunks_exact(entry as usize)
        .map(|e| {
            if version == 1 {
                Edit {
                    segment_duration: be64(&e[0..]),
                    media_time: be64(&e[8..]) as i64,
                    rate: be32(&e[16..]) as i32,
                }
            } else {
                Edit {
                    segment_duration: u64::from(be32(&e[0..])),
                    media_time: i64::from(be32(&e[4..]) as i32),
                    rate: be32(&e[8..]) as i32,
                }
            }
        })
        .collect();
    Ok(Some(edits))
}

/// The first sample entry of an `stsd` box: its format, and for a sound entry the value of an
/// `enda` box among its children (directly or inside `wave`).
struct SampleEntry {
    format: [u8; 4],
    little_endian: Option<bool>,
    timecode: Option<TimecodeEntry>,
}

fn sample_entry<R: Read + Seek>(
    file: &mut R,
    body: u64,
    end: u64,
) -> Result<Option<SampleEntry>, String> {
    let len = (end - body).min(MAX_STSD_BYTES) as usize;
    let mut b = vec![0u8; len];
    if !read_at(file, body, end, &mut b)? || len < 16 {
        return Ok(None);
    }
    // Full box header (4), entry count (4), then the first entry: size (4), format (4).
    let entry_size = (be32(&b[8..]) as usize).min(len - 8);
    let entry = &b[8..8 + entry_size];
    if entry.len() < 8 {
        return Ok(None);
    }
    let format = [entry[4], entry[5], entry[6], entry[7]];
    // Sample entry header (8 + 6 reserved + 2 data reference), then the sound description:
    // version (2), revision (2), vendor (4), channels, sample size, compression id, packet size
    // (2 each), sample rate (4); version 1 adds 16 bytes, version 2 adds 36.
    let children = match entry.get(16..18).map(|v| u16::from_be_bytes([v[0], v[1]])) {
        Some(0) => Some(36),
        Some(1) => Some(52),
        Some(2) => Some(72),
        _ => None,
    };
    let little_endian = children.and_then(|at| entry.get(at..)).and_then(enda);
    // A timecode entry after the 16-byte header: reserved (4), flags, timescale, frame duration
    // (4 each), frames per second (1), reserved (1).
    let timecode = (&format == b"tmcd")
        .then(|| entry.get(16..34))
        .flatten()
        .map(|t| TimecodeEntry {
            flags: be32(&t[4..]),
            timescale: be32(&t[8..]),
            frame_duration: be32(&t[12..]),
            frames_per_second: t[16],
        });
    Ok(Some(SampleEntry {
        format,
        little_endian,
        timecode,
    }))
}

/// Looks through a run of boxes for `enda` (two bytes, 1 = little-endian), entering `wave`.
fn enda(mut boxes: &[u8]) -> Option<bool> {
    while boxes.len() >= 8 {
        let size = (be32(boxes) as usize).clamp(8, boxes.len());
        let (this, rest) = boxes.split_at(size);
        match &this[4..8] {
            b"enda" if this.len() >= 10 => {
                return Some(u16::from_be_bytes([this[8], this[9]]) == 1)
            }
            b"wave" => {
                if let Some(found) = enda(&this[8..]) {
                    return Some(found);
                }
            }
            _ => {}
        }
        boxes = rest;
    }
    None
}

/// Checks one sample-table box: its entry count times the entry size fits in the box, and (for
/// `stsz`) no sample is larger than the file.
fn table<R: Read + Seek>(
    file: &mut R,
    id: &[u8; 4],
    body: u64,
    end: u64,
    file_len: u64,
) -> Result<(), String> {
    let (fields, entry) = match id {
        b"stts" | b"ctts" | b"co64" => (8, 8),
        b"stsc" => (8, 12),
        b"stco" | b"stss" => (8, 4),
        b"stsz" => (12, 4),
        _ => return Ok(()),
    };
    let name = String::from_utf8_lossy(id).into_owned();
    let bad = |what: String| format!("the MP4 sample table '{name}' {what}");
    if end - body < fields {
        return Err(bad(format!(
            "is {} bytes, too short for its fields",
            end - body
        )));
    }
    let mut f = [0u8; 12];
    file.seek(SeekFrom::Start(body))
        .and_then(|_| file.read_exact(&mut f[..fields as usize]))
        .map_err(|e| bad(format!("cannot be read: {e}")))?;
    let word = |i: usize| u64::from(be32(&f[i..]));
    let (count, per_entry) = if id == b"stsz" {
        let constant = word(4);
        if constant > file_len {
            return Err(bad(format!(
                "declares samples of {constant} bytes in a {file_len}-byte file"
            )));
        }
        (word(8), if constant == 0 { entry } else { 0 })
    } else {
        (word(4), entry)
    };
    if count.saturating_mul(per_entry) > end - body - fields {
        return Err(bad(format!(
            "declares {count} entries, more than its {} bytes hold",
            end - body - fields
        )));
    }
    if id == b"stsz" && per_entry > 0 {
        let mut reader = std::io::BufReader::new(&mut *file);
        let mut e = [0u8; 4];
        for _ in 0..count {
            reader
                .read_exact(&mut e)
                .map_err(|err| bad(format!("cannot be read: {err}")))?;
            let size = u64::from(u32::from_be_bytes(e));
            if size > file_len {
                return Err(bad(format!(
                    "declares a sample of {size} bytes in a {file_len}-byte file"
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn movie(edits: Vec<Edit>) -> Movie {
        Movie {
            movie_timescale: 1000,
            tracks: vec![TrackFacts {
                media_timescale: 48_000,
                sample_entry: *b"mp4a",
                little_endian: None,
                edits: Some(edits),
                ..TrackFacts::default()
            }],
            gapless: None,
        }
    }

    fn edit(segment_duration: u64, media_time: i64) -> Edit {
        Edit {
            segment_duration,
            media_time,
            rate: RATE_ONE,
        }
    }

    #[test]
    fn itunes_gapless_info_trims_an_aac_track_without_an_edit_list() {
        let g = Gapless::parse(" 00000000 00000840 000001CA 00000000003F31F6 00000000 00000000")
            .expect("parses");
        assert_eq!(
            g,
            Gapless {
                priming: 0x840,
                padding: 0x1CA,
                frames: 0x3F31F6
            }
        );
        for bad in [
            "",
            " 00000000 00000840",
            " 0 zz 0 10",
            " 0 840 1CA 0",
            " 0 20000 0 10",
        ] {
            assert_eq!(Gapless::parse(bad), None, "{bad:?}");
        }
        let mut m = Movie {
            movie_timescale: 1000,
            tracks: vec![TrackFacts {
                media_timescale: 44_100,
                sample_entry: *b"mp4a",
                ..TrackFacts::default()
            }],
            gapless: Some(g),
        };
        let t = m.trim(0, 44_100, None).expect("a trim");
        assert_eq!(
            (t.skip_frames, t.frames, t.start_s),
            (0x840, Some(0x3F31F6), 0.0)
        );
        // An edit list rules over it; a track that is not AAC is not touched.
        m.tracks[0].edits = Some(vec![edit(1000, 1024)]);
        assert_eq!(m.trim(0, 44_100, None).expect("edit").skip_frames, 1024);
        m.tracks[0].edits = None;
        m.tracks[0].sample_entry = *b"in24";
        assert_eq!(m.trim(0, 44_100, None), None);
    }

    #[test]
    fn aac_priming_is_skipped_and_the_edit_gives_the_length() {
        // As ffmpeg writes 1 s of AAC-LC: 48 packets (49,152 frames decoded), the media declared
        // 49,024 long (priming + the source), the edit from 1,024 for 1 s.
        let m = movie(vec![edit(1000, 1024)]);
        let t = m.trim(0, 48_000, Some(49_024)).unwrap();
        assert_eq!(
            (t.skip_frames, t.frames, t.start_s),
            (1024, Some(48_000), 0.0)
        );
        // At another rate than the media timescale, both convert.
        let t = m.trim(0, 24_000, None).unwrap();
        assert_eq!((t.skip_frames, t.frames), (512, Some(24_000)));
    }

    #[test]
    fn an_edit_to_within_one_movie_unit_of_the_end_keeps_the_whole_media() {
        // 4,801 PCM frames: the edit says 100 ms (4,800 frames); the last frame is not cut.
        let m = movie(vec![edit(100, 0)]);
        assert_eq!(m.trim(0, 48_000, Some(4_801)), None);
        // With priming, the media's end minus the priming is the length.
        let m = movie(vec![edit(100, 1024)]);
        assert_eq!(m.trim(0, 48_000, Some(5_825)).unwrap().frames, Some(4_801));
        // Without the media length the edit is taken at its word.
        assert_eq!(m.trim(0, 48_000, None).unwrap().frames, Some(4_800));
    }

    #[test]
    fn leading_empty_edits_are_the_start_offset() {
        let m = movie(vec![edit(500, -1), edit(1000, 0)]);
        let t = m.trim(0, 48_000, Some(48_000)).unwrap();
        assert_eq!((t.skip_frames, t.frames, t.start_s), (0, Some(48_000), 0.5));
    }

    #[test]
    fn lists_that_cannot_be_applied_to_a_decode_are_left_alone() {
        assert_eq!(
            movie(vec![edit(500, 0), edit(500, 24_000)]).trim(0, 48_000, None),
            None
        );
        let mut slow = edit(1000, 0);
        slow.rate = RATE_ONE / 2;
        assert_eq!(movie(vec![slow]).trim(0, 48_000, None), None);
        assert_eq!(
            movie(vec![edit(1000, 0)]).trim(0, 48_000, Some(48_000)),
            None
        );
        assert_eq!(movie(vec![]).trim(0, 48_000, None), None);
        assert_eq!(movie(vec![edit(1000, 1024)]).trim(1, 48_000, None), None);
    }

    #[test]
    fn enda_is_found_directly_or_inside_wave() {
        let enda_le = [0, 0, 0, 10, b'e', b'n', b'd', b'a', 0, 1];
        assert_eq!(enda(&enda_le), Some(true));
        let mut wave = vec![0, 0, 0, 30, b'w', b'a', b'v', b'e'];
        wave.extend_from_slice(&[0, 0, 0, 12, b'f', b'r', b'm', b'a', b'i', b'n', b'2', b'4']);
        wave.extend_from_slice(&[0, 0, 0, 10, b'e', b'n', b'd', b'a', 0, 0]);
        assert_eq!(enda(&wave), Some(false));
        assert_eq!(enda(&[0, 0, 0, 8, b'f', b'r', b'e', b'e']), None);
        // A size field larger than what is left, or 0, does not loop or read out of bounds.
        assert_eq!(
            enda(&[0xff, 0xff, 0xff, 0xff, b'w', b'a', b'v', b'e', 0, 0]),
            None
        );
        assert_eq!(
            enda(&[0, 0, 0, 0, b'x', b'x', b'x', b'x', 0, 0, 0, 0]),
            None
        );
    }

    #[test]
    fn big_endian_pcm_needs_a_quicktime_pcm_entry_without_little_endian_enda() {
        let mut m = movie(vec![]);
        assert!(!m.big_endian_pcm(0));
        m.tracks[0].sample_entry = *b"in24";
        assert!(m.big_endian_pcm(0));
        m.tracks[0].little_endian = Some(true);
        assert!(!m.big_endian_pcm(0));
        m.tracks[0].little_endian = Some(false);
        assert!(m.big_endian_pcm(0));
        assert!(!m.big_endian_pcm(3));
    }
}
