//! ffmpeg as a second decoder, for what symphonia cannot open or decode (AC-3, E-AC-3, DTS, MP2,
//! Opus, WMA; MXF, MPEG-TS, RF64, Wave64, AVI, ASF …): ffprobe describes the audio track, ffmpeg
//! decodes it to interleaved 32-bit float on a pipe, read block by block (memory stays at one
//! block). The samples then go through the same checks and the same block interface as
//! symphonia's.
//!
//! The tools are the binary at `ROOMTONE_FFMPEG` (ffprobe beside it), else `ffmpeg` and `ffprobe`
//! on `PATH`; looked up once per process. Without them, such files are refused as before.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::OnceLock;

/// ffmpeg and ffprobe, found and checked to run.
#[derive(Debug, Clone)]
pub(crate) struct FfmpegTools {
    /// The ffmpeg binary.
    pub ffmpeg: PathBuf,
    /// The ffprobe binary.
    pub ffprobe: PathBuf,
}

impl FfmpegTools {
    /// Finds the tools (`ROOMTONE_FFMPEG`, else `PATH`; ffprobe beside ffmpeg, else on `PATH`) and
    /// checks that both run. `Err` names the one missing.
    pub(crate) fn locate() -> Result<Self, String> {
        let ffmpeg = match std::env::var_os("ROOMTONE_FFMPEG") {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            Some(_) => return Err("ffmpeg (ROOMTONE_FFMPEG is empty)".into()),
            None => on_path("ffmpeg").ok_or("ffmpeg")?,
        };
        let beside = ffmpeg.with_file_name("ffprobe");
        let ffprobe = if beside.is_file() {
            beside
        } else {
            on_path("ffprobe").ok_or("ffprobe")?
        };
        for (tool, path) in [("ffmpeg", &ffmpeg), ("ffprobe", &ffprobe)] {
            let runs = Command::new(path)
                .arg("-version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !runs {
                return Err(format!("{tool} ({})", path.display()));
            }
        }
        Ok(Self { ffmpeg, ffprobe })
    }

    /// [`FfmpegTools::locate`], once per process.
    pub(crate) fn cached() -> Option<&'static Self> {
        Self::cached_or_missing().ok()
    }

    /// [`FfmpegTools::locate`], once per process; `Err` names the tool missing.
    pub(crate) fn cached_or_missing() -> Result<&'static Self, &'static str> {
        static TOOLS: OnceLock<Result<FfmpegTools, String>> = OnceLock::new();
        TOOLS
            .get_or_init(Self::locate)
            .as_ref()
            .map_err(String::as_str)
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// What ffprobe says of one audio track.
#[derive(Debug, Clone)]
pub(crate) struct Probed {
    /// The container (ffprobe's first format name: `mxf`, `mpegts`, `wav` …).
    pub format: String,
    /// The codec (`ac3`, `opus`, `pcm_s24le` …).
    pub codec: String,
    pub sample_rate: u32,
    pub channels: usize,
    pub bits_per_sample: Option<u32>,
    /// ffprobe's name of the channel layout (`5.1(side)` …).
    pub layout: Option<String>,
    /// Seconds from the file's earliest stream to the track's start.
    pub start_s: f64,
}

/// Asks ffprobe about audio track `track` (0 = the first) of `path`. `Err` is ffprobe's reason.
pub(crate) fn probe(tools: &FfmpegTools, path: &Path, track: usize) -> Result<Probed, String> {
    let out = Command::new(&tools.ffprobe)
        .args(["-v", "error", "-select_streams", &format!("a:{track}")])
        .args([
            "-show_entries",
            "stream=codec_name,sample_rate,channels,channel_layout,bits_per_raw_sample,bits_per_sample,start_time:format=format_name,start_time",
            "-of",
            "json",
        ])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("ffprobe could not run: {e}"))?;
    if !out.status.success() {
        return Err(last_line(&out.stderr));
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("ffprobe's answer: {e}"))?;
    let stream = v["streams"]
        .get(0)
        .ok_or_else(|| format!("ffmpeg finds no audio track {track}"))?;
    let number = |key: &str| -> Option<u64> {
        match &stream[key] {
            serde_json::Value::String(s) => s.parse().ok(),
            serde_json::Value::Number(n) => n.as_u64(),
            _ => None,
        }
    };
    let sample_rate = number("sample_rate")
        .and_then(|r| u32::try_from(r).ok())
        .ok_or("ffprobe gives no sample rate")?;
    let channels = number("channels").ok_or("ffprobe gives no channel count")? as usize;
    let bits = number("bits_per_raw_sample")
        .or_else(|| number("bits_per_sample"))
        .filter(|&b| b > 0)
        .map(|b| b as u32);
    let seconds = |v: &serde_json::Value| {
        v.as_str()
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|s| s.is_finite())
            .unwrap_or(0.0)
    };
    // Relative to the file's earliest stream, as ffmpeg's own timeline is (an MPEG-TS clock may
    // start anywhere).
    let start_s = (seconds(&stream["start_time"]) - seconds(&v["format"]["start_time"])).max(0.0);
    Ok(Probed {
        format: v["format"]["format_name"]
            .as_str()
            .unwrap_or("unknown")
            .split(',')
            .next()
            .unwrap_or("unknown")
            .to_string(),
        codec: stream["codec_name"]
            .as_str()
            .unwrap_or("unknown")
            .to_string(),
        sample_rate,
        channels,
        bits_per_sample: bits,
        layout: stream["channel_layout"].as_str().map(str::to_string),
        start_s,
    })
}

/// ffmpeg decoding one audio track to interleaved f32 on a pipe.
pub(crate) struct FfmpegStream {
    child: Child,
    out: BufReader<ChildStdout>,
    stderr: File,
    channels: usize,
    bytes: Vec<u8>,
}

/// Frames read from the pipe per call.
const READ_FRAMES: usize = 4096;

impl FfmpegStream {
    /// Starts ffmpeg on audio track `track` of `path`, `channels` channels.
    pub(crate) fn start(
        tools: &FfmpegTools,
        path: &Path,
        track: usize,
        channels: usize,
    ) -> Result<Self, String> {
        let stderr = tempfile::tempfile().map_err(|e| format!("a temporary file: {e}"))?;
        let mut child = Command::new(&tools.ffmpeg)
            .args(["-nostdin", "-v", "error", "-i"])
            .arg(path)
            .args(["-map", &format!("0:a:{track}"), "-vn", "-sn", "-dn"])
            .args(["-f", "f32le", "-c:a", "pcm_f32le", "-"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr.try_clone().map_err(|e| e.to_string())?)
            .spawn()
            .map_err(|e| format!("ffmpeg could not start: {e}"))?;
        let out = child.stdout.take().ok_or("ffmpeg has no output pipe")?;
        Ok(Self {
            child,
            out: BufReader::with_capacity(1 << 16, out),
            stderr,
            channels,
            bytes: Vec::new(),
        })
    }

    /// Appends up to [`READ_FRAMES`] frames to the planar `pending` buffers. `Ok(0)` at the end
    /// of the stream (ffmpeg exited cleanly); `Err` with ffmpeg's reason if it failed.
    pub(crate) fn read_into(&mut self, pending: &mut [Vec<f32>]) -> Result<usize, String> {
        let frame_bytes = 4 * self.channels;
        let want = READ_FRAMES * frame_bytes;
        let have = self.bytes.len();
        self.bytes.resize(want, 0);
        let mut filled = have;
        while filled < frame_bytes {
            match self.out.read(&mut self.bytes[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("reading ffmpeg's output: {e}")),
            }
        }
        let frames = filled / frame_bytes;
        if frames == 0 {
            self.bytes.clear();
            return self.wait().map(|()| 0);
        }
        for frame in self.bytes[..frames * frame_bytes].chunks_exact(frame_bytes) {
            for (c, s) in frame.chunks_exact(4).enumerate() {
                pending[c].push(f32::from_le_bytes([s[0], s[1], s[2], s[3]]));
            }
        }
        // A partial frame waits for the rest.
        self.bytes.copy_within(frames * frame_bytes..filled, 0);
        self.bytes.truncate(filled - frames * frame_bytes);
        Ok(frames)
    }

    fn wait(&mut self) -> Result<(), String> {
        let status = self
            .child
            .wait()
            .map_err(|e| format!("waiting for ffmpeg: {e}"))?;
        if status.success() {
            return Ok(());
        }
        let mut text = Vec::new();
        let _ = self.stderr.seek(SeekFrom::Start(0));
        let _ = (&self.stderr).take(64 * 1024).read_to_end(&mut text);
        Err(format!("ffmpeg failed: {}", last_line(&text)))
    }
}

impl Drop for FfmpegStream {
    fn drop(&mut self) {
        // A reader dropped before the end stops ffmpeg rather than leave it writing to a pipe
        // nobody reads.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn last_line(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message")
        .trim()
        .to_string()
}
