//! Which container a file is, from its first bytes (symphonia 0.5 does not name the format it probed).

use std::fmt;

/// A container format, told apart by its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Container {
    /// RIFF/WAVE (also RF64/Wave64 headers are reported as WAV).
    Wav,
    /// AIFF or AIFF-C.
    Aiff,
    /// Native FLAC.
    Flac,
    /// Ogg (Vorbis, Opus, FLAC in Ogg).
    Ogg,
    /// MPEG audio elementary stream (MP1/2/3), optionally behind an ID3v2 tag.
    Mpeg,
    /// ADTS AAC elementary stream.
    Adts,
    /// ISO base media: MP4.
    Mp4,
    /// ISO base media: M4A audio.
    M4a,
    /// ISO base media: QuickTime MOV.
    Mov,
    /// Matroska or WebM.
    Matroska,
    /// Core Audio Format.
    Caf,
    /// Not recognised from the first bytes.
    Unknown,
}

impl Container {
    /// Guesses the container from a file's first bytes (16 are enough).
    pub fn sniff(head: &[u8]) -> Self {
        let at = |i: usize, m: &[u8]| head.len() >= i + m.len() && &head[i..i + m.len()] == m;
        if (at(0, b"RIFF") || at(0, b"RF64") || at(0, b"BW64")) && at(8, b"WAVE") {
            Self::Wav
        } else if at(0, b"FORM") && (at(8, b"AIFF") || at(8, b"AIFC")) {
            Self::Aiff
        } else if at(0, b"fLaC") {
            Self::Flac
        } else if at(0, b"OggS") {
            Self::Ogg
        } else if at(0, b"caff") {
            Self::Caf
        } else if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
            Self::Matroska
        } else if at(4, b"ftyp") {
            if at(8, b"qt  ") {
                Self::Mov
            } else if at(8, b"M4A ") || at(8, b"M4B ") {
                Self::M4a
            } else {
                Self::Mp4
            }
        } else if at(0, b"ID3") {
            Self::Mpeg
        } else if head.len() >= 2 && head[0] == 0xFF && head[1] & 0xF6 == 0xF0 {
            Self::Adts
        } else if head.len() >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0 {
            Self::Mpeg
        } else {
            Self::Unknown
        }
    }

    /// The containers only ffmpeg reads here, by their first bytes (192 are enough): MPEG-TS,
    /// MXF, RF64/BW64, Wave64, AVI, ASF/WMA.
    pub fn ffmpeg_only(head: &[u8]) -> Option<&'static str> {
        let at = |i: usize, m: &[u8]| head.len() >= i + m.len() && &head[i..i + m.len()] == m;
        if at(0, &[0x47]) && at(188, &[0x47]) {
            Some("MPEG-TS")
        } else if at(0, &[0x06, 0x0E, 0x2B, 0x34, 0x02, 0x05, 0x01, 0x01]) {
            Some("MXF")
        } else if at(0, b"RF64") || at(0, b"BW64") {
            Some("RF64/BW64")
        } else if at(0, b"riff") && at(24, b"wave") {
            Some("Wave64")
        } else if at(0, b"RIFF") && at(8, b"AVI ") {
            Some("AVI")
        } else if at(0, &[0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11]) {
            Some("ASF/WMA")
        } else {
            None
        }
    }

    /// Short lower-case name, as printed by `roomtone info`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Wav => "wav",
            Self::Aiff => "aiff",
            Self::Flac => "flac",
            Self::Ogg => "ogg",
            Self::Mpeg => "mpeg-audio",
            Self::Adts => "adts",
            Self::Mp4 => "mp4",
            Self::M4a => "m4a",
            Self::Mov => "mov",
            Self::Matroska => "matroska",
            Self::Caf => "caf",
            Self::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Container {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_common_headers() {
        assert_eq!(Container::sniff(b"RIFF\0\0\0\0WAVEfmt "), Container::Wav);
        assert_eq!(Container::sniff(b"fLaC\0\0\0\x22"), Container::Flac);
        assert_eq!(Container::sniff(b"\0\0\0\x20ftypqt  \0\0"), Container::Mov);
        assert_eq!(Container::sniff(b"\0\0\0\x20ftypisom\0\0"), Container::Mp4);
        assert_eq!(Container::sniff(b"ID3\x04\0\0\0\0"), Container::Mpeg);
        assert_eq!(Container::sniff(&[0xFF, 0xFB, 0x90, 0x00]), Container::Mpeg);
        assert_eq!(Container::sniff(&[0xFF, 0xF1, 0x50, 0x80]), Container::Adts);
        assert_eq!(Container::sniff(b"hello world12345"), Container::Unknown);
    }
}
