use std::path::PathBuf;

/// What went wrong reading, resampling or writing audio. Every variant names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AudioError {
    /// A bug was hit while reading this file (a caught panic).
    #[error(transparent)]
    Internal(#[from] crate::guard::InternalError),
    /// The file could not be opened or read.
    #[error("{}: cannot read: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The file has no bytes.
    #[error("{}: file is empty (0 bytes)", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// No demuxer recognised the bytes.
    #[error("{}: not a supported audio or video file ({reason}); roomtone reads WAV, AIFF, FLAC, MP3, AAC/M4A, Ogg Vorbis and the audio of MP4/MOV/MKV/WebM, and with ffmpeg installed whatever ffmpeg reads", path.display())]
    UnrecognisedFormat {
        /// The file.
        path: PathBuf,
        /// What the demuxer said.
        reason: String,
    },
    /// The container holds no audio track.
    #[error("{}: no audio track in this {container} file", path.display())]
    NoAudioTrack {
        /// The file.
        path: PathBuf,
        /// The container that was recognised.
        container: String,
    },
    /// The file is one that only ffmpeg decodes here (or may be: a container whose audio track
    /// roomtone cannot decode itself), and ffmpeg is not there.
    #[error("{}: {what}, and {missing} was not found: install ffmpeg (Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg) or set ROOMTONE_FFMPEG to the ffmpeg binary", path.display())]
    NeedsFfmpeg {
        /// The file.
        path: PathBuf,
        /// What in it needs ffmpeg.
        what: String,
        /// The tool not found (`ffmpeg`, `ffprobe`, or why `ROOMTONE_FFMPEG` was not used).
        missing: String,
    },
    /// The audio track's codec has no decoder.
    #[error("{}: audio codec {codec} is not supported; convert it to WAV or FLAC first", path.display())]
    UnsupportedCodec {
        /// The file.
        path: PathBuf,
        /// The codec's name.
        codec: String,
    },
    /// The stream does not say what it needs to be decoded.
    #[error("{}: invalid audio stream: {reason}", path.display())]
    InvalidStream {
        /// The file.
        path: PathBuf,
        /// What is missing or out of range.
        reason: String,
    },
    /// Decoding failed part-way through.
    #[error("{}: corrupt audio data at {at_s:.2} s: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where, in seconds from the start.
        at_s: f64,
        /// What the decoder said.
        reason: String,
    },
    /// The file ends before the length its header declares.
    #[error("{}: truncated: the header declares {expected_s:.3} s of audio but the data ends at {found_s:.3} s", path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Declared duration in seconds.
        expected_s: f64,
        /// Decoded duration in seconds.
        found_s: f64,
    },
    /// The resampler could not be built for these rates.
    #[error("cannot resample from {from_hz} Hz to {to_hz} Hz: {reason}")]
    Resample {
        /// Input rate in Hz.
        from_hz: u32,
        /// Output rate in Hz.
        to_hz: u32,
        /// The resampler's reason.
        reason: String,
    },
    /// An output already exists and `--force` was not given.
    #[error("{}: already exists; pass --force to overwrite it", path.display())]
    OutputExists {
        /// The output path.
        path: PathBuf,
    },
    /// An output path is one of the inputs.
    #[error("{}: refusing to overwrite an input file; choose another output path", path.display())]
    WouldOverwriteInput {
        /// The output path.
        path: PathBuf,
    },
    /// Writing the output failed (nothing is left at the output path).
    #[error("{}: cannot write: {reason}", path.display())]
    Write {
        /// The output path.
        path: PathBuf,
        /// The reason.
        reason: String,
    },
    /// An output name whose extension says another format than the one that would be written
    /// (a WAV named `.mp4`): refused before any work.
    #[error("{}: roomtone writes {format} here, which would be mislabelled as .{extension}; name it .{expected} (audio outputs are .wav or .flac)", path.display())]
    MislabelledOutput {
        /// The output path.
        path: PathBuf,
        /// The format that would be written (`24-bit WAV`, `16-bit FLAC`, …).
        format: String,
        /// The extension the path has (empty if none).
        extension: String,
        /// The extension that format needs.
        expected: &'static str,
    },
}
