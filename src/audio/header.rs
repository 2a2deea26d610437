//! What a file's header declares, read and checked before symphonia sees the file (MP4/MOV: see
//! `audio::mp4`).
//!
//! symphonia 0.5 trusts these headers: a WAV that declares 0 Hz panics inside it, one that declares
//! 4,294,967,295 Hz is accepted (and a resampler sized from it asks for gigabytes), an AIFF's sound
//! chunk is read 8 bytes past its end (so the last packet of every AIFF is lost or the file is called
//! truncated), and a streamed WAV whose size fields are `0xFFFFFFFF` loses its last partial packet.
//! This module reads the few fields needed to refuse the first two and to correct the last two; it
//! allocates nothing that the header sizes.

use std::io::{Read, Seek, SeekFrom};

/// Highest sample rate accepted, Hz (the highest any converter or recorder writes).
pub(crate) const MAX_SAMPLE_RATE: u32 = 768_000;
/// Most channels accepted (beyond the largest production layouts; symphonia's WAV reader stops at 32).
pub(crate) const MAX_CHANNELS: usize = 64;
/// Chunks looked at before the audio data is found (a real header has a handful).
const MAX_CHUNKS: usize = 1024;
/// Frames symphonia's RIFF readers put in one packet (`MAX_FRAMES_PER_PACKET` in symphonia-format-riff).
const RIFF_PACKET_FRAMES: u64 = 1152;

/// How the stream's bytes must be presented to symphonia and how much of its output is audio.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Framing {
    /// Zero bytes appended after the end of the file, so that symphonia's last packet is complete.
    pub pad_bytes: u64,
    /// Exact length in frames; decoded output beyond it is dropped and the declared length is this.
    pub frames: Option<u64>,
    /// MP4/MOV: what the boxes say about each track that symphonia 0.5 does not apply (byte order
    /// of QuickTime PCM, edit lists).
    pub mp4: Option<super::mp4::Movie>,
}

/// Checks the header of a WAV or AIFF file (other containers are left to symphonia) and says how to
/// read it. `Err` is a one-line reason for an `InvalidStream` error.
pub(crate) fn check<R: Read + Seek>(
    file: &mut R,
    file_len: u64,
    container: super::Container,
) -> Result<Framing, String> {
    match container {
        super::Container::Wav => wav(file, file_len),
        super::Container::Aiff => aiff(file, file_len),
        super::Container::Flac => flac(file, file_len).map(|()| Framing::default()),
        super::Container::Ogg => ogg(file, file_len).map(|()| Framing::default()),
        super::Container::Mp4 | super::Container::M4a | super::Container::Mov => {
            let tracks = super::mp4::check(file, file_len)?;
            Ok(Framing {
                mp4: Some(tracks),
                ..Framing::default()
            })
        }
        _ => Ok(Framing::default()),
    }
}

/// Length in bytes of an ID3v2 tag at the start of `head` (header, body and footer), if there is one.
pub(crate) fn id3v2_len(head: &[u8]) -> Option<u64> {
    if head.len() < 10 || &head[0..3] != b"ID3" || head[6..10].iter().any(|b| b & 0x80 != 0) {
        return None;
    }
    let size = head[6..10]
        .iter()
        .fold(0u64, |acc, &b| (acc << 7) | u64::from(b));
    let footer = if head[5] & 0x10 != 0 { 10 } else { 0 };
    Some(10 + size + footer)
}

/// Checks a declared rate and channel count against the limits.
pub(crate) fn check_limits(sample_rate: u64, channels: u64) -> Result<(), String> {
    if sample_rate == 0 || sample_rate > u64::from(MAX_SAMPLE_RATE) {
        return Err(format!(
            "the header declares a sample rate of {sample_rate} Hz (roomtone reads 1 Hz to {} kHz)",
            MAX_SAMPLE_RATE / 1000
        ));
    }
    if channels == 0 || channels > MAX_CHANNELS as u64 {
        return Err(format!(
            "the header declares {channels} channels (roomtone reads 1 to {MAX_CHANNELS})"
        ));
    }
    Ok(())
}

/// One chunk header: its id, its size as declared, and where its body starts.
pub(crate) struct Chunk {
    pub id: [u8; 4],
    pub size: u64,
    pub body: u64,
}

/// Calls `visit` on each chunk of a RIFF (little-endian sizes) or IFF (big-endian) file from byte
/// `start`, until it returns `false`, the file ends, or [`MAX_CHUNKS`] have been seen.
pub(crate) fn chunks<R: Read + Seek>(
    file: &mut R,
    file_len: u64,
    start: u64,
    big_endian: bool,
    mut visit: impl FnMut(&mut R, &Chunk) -> Result<bool, String>,
) -> Result<(), String> {
    let mut pos = start;
    for _ in 0..MAX_CHUNKS {
        if pos + 8 > file_len {
            return Ok(());
        }
        let mut head = [0u8; 8];
        file.seek(SeekFrom::Start(pos))
            .and_then(|_| file.read_exact(&mut head))
            .map_err(|e| format!("cannot read the header: {e}"))?;
        let size_bytes = [head[4], head[5], head[6], head[7]];
        let size = u64::from(if big_endian {
            u32::from_be_bytes(size_bytes)
        } else {
            u32::from_le_bytes(size_bytes)
        });
        let chunk = Chunk {
            id: [head[0], head[1], head[2], head[3]],
            size,
            body: pos + 8,
        };
        if !visit(file, &chunk)? {
            return Ok(());
        }
        // Chunks are padded to an even length.
        pos = chunk.body.saturating_add(size).saturating_add(size & 1);
    }
    Ok(())
}

fn read_body<R: Read + Seek>(file: &mut R, chunk: &Chunk, buf: &mut [u8]) -> Result<(), String> {
    if chunk.size < buf.len() as u64 {
        return Err(format!(
            "the '{}' chunk is {} bytes, too short to hold its fields",
            String::from_utf8_lossy(&chunk.id),
            chunk.size
        ));
    }
    file.seek(SeekFrom::Start(chunk.body))
        .and_then(|_| file.read_exact(buf))
        .map_err(|e| {
            format!(
                "cannot read the '{}' chunk: {e}",
                String::from_utf8_lossy(&chunk.id)
            )
        })
}

fn wav<R: Read + Seek>(file: &mut R, file_len: u64) -> Result<Framing, String> {
    let mut riff = [0u8; 12];
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_exact(&mut riff))
        .map_err(|e| format!("cannot read the header: {e}"))?;
    if &riff[0..4] != b"RIFF" {
        // RF64/BW64 carry their sizes in a ds64 chunk that symphonia 0.5 does not read.
        return Ok(Framing::default());
    }
    let mut block_align = None;
    let mut framing = Framing::default();
    chunks(file, file_len, 12, false, |file, chunk| match &chunk.id {
        b"fmt " => {
            let mut f = [0u8; 14];
            read_body(file, chunk, &mut f)?;
            let channels = u16::from_le_bytes([f[2], f[3]]);
            let rate = u32::from_le_bytes([f[4], f[5], f[6], f[7]]);
            check_limits(u64::from(rate), u64::from(channels))?;
            let align = u16::from_le_bytes([f[12], f[13]]);
            if align == 0 {
                return Err("the header declares a block size of 0 bytes".into());
            }
            block_align = Some(u64::from(align));
            Ok(true)
        }
        b"data" => {
            let align = block_align.ok_or("the data chunk comes before the format chunk")?;
            // Streamed WAVs (written to a pipe) cannot go back to fill in the sizes: 0xFFFFFFFF
            // means "to the end of the file".
            if chunk.size == u64::from(u32::MAX) {
                let bytes = file_len.saturating_sub(chunk.body);
                framing = Framing {
                    pad_bytes: RIFF_PACKET_FRAMES * align,
                    frames: Some(bytes / align),
                    mp4: None,
                };
            }
            Ok(false)
        }
        _ => Ok(true),
    })?;
    if block_align.is_none() {
        return Err("no format chunk in the header".into());
    }
    Ok(framing)
}

fn aiff<R: Read + Seek>(file: &mut R, file_len: u64) -> Result<Framing, String> {
    let mut frames = None;
    let mut sound = false;
    chunks(file, file_len, 12, true, |file, chunk| match &chunk.id {
        b"COMM" => {
            let mut c = [0u8; 18];
            read_body(file, chunk, &mut c)?;
            let channels = i16::from_be_bytes([c[0], c[1]]);
            let n = u32::from_be_bytes([c[2], c[3], c[4], c[5]]);
            let mut ext = [0u8; 10];
            ext.copy_from_slice(&c[8..18]);
            let rate = extended_to_f64(ext);
            if !(rate.is_finite() && rate >= 1.0 && rate.fract() == 0.0) {
                return Err(format!(
                    "the header declares a sample rate of {rate} Hz (roomtone reads 1 Hz to {} kHz)",
                    MAX_SAMPLE_RATE / 1000
                ));
            }
            check_limits(rate.min(u64::MAX as f64) as u64, channels.max(0) as u64)?;
            frames = Some(u64::from(n));
            Ok(true)
        }
        b"SSND" => {
            sound = true;
            Ok(false)
        }
        _ => Ok(true),
    })?;
    if frames.is_none() {
        return Err("no COMM chunk in the header".into());
    }
    Ok(Framing {
        // symphonia counts the SSND chunk's 8-byte offset/block-size prefix as audio: it reads 8
        // bytes past the data, which at the end of the file fails the last packet.
        pad_bytes: if sound { 8 } else { 0 },
        frames,
        mp4: None,
    })
}

/// Checks a Vorbis comment structure (FLAC's VORBIS_COMMENT block, Vorbis' and Opus' comment
/// headers): every length it declares fits in `body`. symphonia 0.5 allocates each declared length
/// before reading it (a 1.4 KB FLAC file declaring a 2.4 GB comment aborts the process).
fn vorbis_comment(body: &[u8], what: &str) -> Result<(), String> {
    let bad = |found: u64, left: usize| {
        format!("the {what} declares a field of {found} bytes where {left} remain")
    };
    let u32_at = |i: usize| -> Option<u64> {
        body.get(i..i + 4)
            .map(|b| u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])))
    };
    let mut pos = 0usize;
    let vendor = u32_at(pos).ok_or_else(|| bad(4, body.len()))?;
    pos += 4;
    if vendor > (body.len() - pos) as u64 {
        return Err(bad(vendor, body.len() - pos));
    }
    pos += vendor as usize;
    let count = u32_at(pos).ok_or_else(|| bad(4, body.len() - pos))?;
    pos += 4;
    for _ in 0..count {
        let len = u32_at(pos).ok_or_else(|| bad(4, body.len() - pos))?;
        pos += 4;
        if len > (body.len() - pos) as u64 {
            return Err(bad(len, body.len() - pos));
        }
        pos += len as usize;
    }
    Ok(())
}

/// Checks a FLAC file's metadata blocks: each fits in the file, and the comment and picture blocks'
/// inner lengths fit in their block.
fn flac<R: Read + Seek>(file: &mut R, file_len: u64) -> Result<(), String> {
    let mut pos = 4u64;
    for _ in 0..MAX_CHUNKS {
        if pos + 4 > file_len {
            return Ok(());
        }
        let mut head = [0u8; 4];
        file.seek(SeekFrom::Start(pos))
            .and_then(|_| file.read_exact(&mut head))
            .map_err(|e| format!("cannot read the FLAC header: {e}"))?;
        let (last, kind) = (head[0] & 0x80 != 0, head[0] & 0x7f);
        let len = u64::from(u32::from_be_bytes([0, head[1], head[2], head[3]]));
        if pos + 4 + len > file_len {
            return Err(format!(
                "the FLAC metadata block at byte {pos} declares {len} bytes, but the file has {} left",
                file_len - pos - 4
            ));
        }
        if kind == 4 || kind == 6 {
            // At most 16 MB (a 24-bit length), and within the file: safe to read whole.
            let mut body = vec![0u8; len as usize];
            file.read_exact(&mut body)
                .map_err(|e| format!("cannot read a FLAC metadata block: {e}"))?;
            if kind == 4 {
                vorbis_comment(&body, "FLAC comment block")?;
            } else {
                picture(&body)?;
            }
        }
        if last {
            return Ok(());
        }
        pos += 4 + len;
    }
    Ok(())
}

/// FLAC's PICTURE block: type, MIME string, description, four sizes, data; lengths big-endian.
fn picture(body: &[u8]) -> Result<(), String> {
    let mut pos = 4usize;
    for field in 0..3 {
        let len = body
            .get(pos..pos + 4)
            .map(|b| u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])))
            .ok_or("the FLAC picture block is cut short")?;
        pos += 4;
        if len > (body.len() - pos) as u64 {
            return Err(format!(
                "the FLAC picture block declares a field of {len} bytes where {} remain",
                body.len() - pos
            ));
        }
        pos += len as usize;
        if field == 1 {
            pos += 16; // width, height, depth, colours
            if pos > body.len() {
                return Err("the FLAC picture block is cut short".into());
            }
        }
    }
    Ok(())
}

/// Checks the comment header of an Ogg Vorbis or Opus stream (the second packet of the first
/// logical stream): its lengths fit in the packet. Pages are read until that packet is whole.
fn ogg<R: Read + Seek>(file: &mut R, file_len: u64) -> Result<(), String> {
    let mut pos = 0u64;
    let mut serial = None;
    let mut packets = 0usize;
    let mut packet: Vec<u8> = Vec::new();
    for _ in 0..64 {
        if pos + 27 > file_len {
            return Ok(());
        }
        let mut head = [0u8; 27];
        file.seek(SeekFrom::Start(pos))
            .and_then(|_| file.read_exact(&mut head))
            .map_err(|e| format!("cannot read an Ogg page: {e}"))?;
        if &head[0..4] != b"OggS" {
            return Ok(()); // not at a page boundary: symphonia resynchronises or refuses
        }
        let page_serial = u32::from_le_bytes([head[14], head[15], head[16], head[17]]);
        let mut lacing = vec![0u8; usize::from(head[26])];
        file.read_exact(&mut lacing)
            .map_err(|e| format!("cannot read an Ogg page: {e}"))?;
        let body_len: u64 = lacing.iter().map(|&l| u64::from(l)).sum();
        let body_start = pos + 27 + lacing.len() as u64;
        pos = body_start + body_len;
        if *serial.get_or_insert(page_serial) != page_serial {
            continue;
        }
        let mut body = vec![0u8; body_len.min(file_len.saturating_sub(body_start)) as usize];
        file.read_exact(&mut body)
            .map_err(|e| format!("cannot read an Ogg page: {e}"))?;
        let mut at = 0usize;
        for &l in &lacing {
            let end = (at + usize::from(l)).min(body.len());
            packet.extend_from_slice(&body[at..end]);
            at = end;
            if l < 255 {
                packets += 1;
                if packets == 2 {
                    if let Some(rest) = packet.strip_prefix(b"\x03vorbis") {
                        return vorbis_comment(rest, "Vorbis comment header");
                    }
                    if let Some(rest) = packet.strip_prefix(b"OpusTags") {
                        return vorbis_comment(rest, "Opus comment header");
                    }
                    return Ok(());
                }
                packet.clear();
            }
        }
    }
    Ok(())
}

/// An IEEE 754 80-bit extended float (AIFF's sample rate field) as f64.
fn extended_to_f64(b: [u8; 10]) -> f64 {
    let sign = if b[0] & 0x80 != 0 { -1.0 } else { 1.0 };
    let exponent = i32::from(u16::from_be_bytes([b[0] & 0x7f, b[1]]));
    let mantissa = u64::from_be_bytes([b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9]]);
    if exponent == 0 && mantissa == 0 {
        return 0.0;
    }
    if exponent == 0x7fff {
        return f64::NAN;
    }
    sign * (mantissa as f64) * 2f64.powi(exponent - 16383 - 63)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extended_floats_of_common_rates() {
        // 44100 Hz and 48000 Hz as AIFF writers store them.
        let r44 = [0x40, 0x0e, 0xac, 0x44, 0, 0, 0, 0, 0, 0];
        let r48 = [0x40, 0x0e, 0xbb, 0x80, 0, 0, 0, 0, 0, 0];
        assert_eq!(extended_to_f64(r44), 44100.0);
        assert_eq!(extended_to_f64(r48), 48000.0);
        assert_eq!(extended_to_f64([0; 10]), 0.0);
        assert!(extended_to_f64([0x7f, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0]).is_nan());
    }

    #[test]
    fn limits() {
        assert!(check_limits(1, 1).is_ok());
        assert!(check_limits(768_000, 64).is_ok());
        assert!(check_limits(0, 2).unwrap_err().contains("0 Hz"));
        assert!(check_limits(768_001, 2).is_err());
        assert!(check_limits(48_000, 0).unwrap_err().contains("0 channels"));
        assert!(check_limits(48_000, 65).is_err());
    }
}
