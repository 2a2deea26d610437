//! Start timecode and frame rate of media files (`audio::read_timing`), on files ffmpeg makes
//! here from lavfi sources: MOV and MP4 with a timecode track (29.97 drop frame, 25, 23.976), a MOV
//! without one, Matroska with a `TIMECODE` tag (through ffprobe), a Broadcast WAV from ffmpeg, a
//! WAV with `bext` and iXML written by hand; and damaged copies of them, which give `None`s.

use std::path::{Path, PathBuf};
use std::process::Command;

use roomtone::audio::{read_timing, AudioError, StartTimecode, Timing};

/// Runs ffmpeg with `args` (output last) and returns the output path in `dir`.
fn ffmpeg(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .arg(&out)
        .status()
        .expect("ffmpeg (scripts/setup_test.sh installs it)");
    assert!(status.success(), "ffmpeg failed making {name}");
    out
}

/// A 2 s clip: lavfi test picture at `rate`, a sine, and `extra` options (a timecode …).
fn clip(dir: &Path, name: &str, rate: &str, extra: &[&str]) -> PathBuf {
    let picture = format!("testsrc=r={rate}:d=2:s=160x120");
    let mut args = vec![
        "-f", "lavfi", "-i", &picture, "-f", "lavfi", "-i", "sine=d=2",
    ];
    args.extend_from_slice(extra);
    ffmpeg(dir, name, &args)
}

fn timing(path: &Path) -> Timing {
    read_timing(path).unwrap_or_else(|e| panic!("{e}"))
}

fn frames(frames: u64, rate: (u32, u32), drop_frame: bool) -> Option<StartTimecode> {
    Some(StartTimecode::Frames {
        frames,
        rate,
        drop_frame,
    })
}

#[test]
fn quicktime_timecode_tracks_give_the_first_frame_number_and_rate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pcm = ["-c:v", "mpeg4", "-c:a", "pcm_s16le"];
    // 00:59:59;28 in drop frame is 107,998 frame labels less 2 × 54 dropped.
    let df = clip(
        d,
        "df.mov",
        "30000/1001",
        &[&["-timecode", "00:59:59;28"], &pcm[..]].concat(),
    );
    assert_eq!(
        timing(&df),
        Timing {
            video_rate: Some((30_000, 1001)),
            start: frames(107_890, (30_000, 1001), true),
        }
    );
    let pal = clip(
        d,
        "pal.mov",
        "25",
        &[&["-timecode", "10:00:00:00"], &pcm[..]].concat(),
    );
    assert_eq!(
        timing(&pal),
        Timing {
            video_rate: Some((25, 1)),
            start: frames(900_000, (25, 1), false),
        }
    );
    // ffmpeg's MP4 muxer writes a timecode track too.
    let mp4 = clip(
        d,
        "pal.mp4",
        "25",
        &["-timecode", "10:00:00:00", "-c:v", "mpeg4", "-c:a", "aac"],
    );
    assert_eq!(
        timing(&mp4),
        Timing {
            video_rate: Some((25, 1)),
            start: frames(900_000, (25, 1), false),
        }
    );
    let film = clip(
        d,
        "film.mov",
        "24000/1001",
        &[&["-timecode", "01:00:00:00"], &pcm[..]].concat(),
    );
    assert_eq!(
        timing(&film),
        Timing {
            video_rate: Some((24_000, 1001)),
            start: frames(86_400, (24_000, 1001), false),
        }
    );
    let start = timing(&film).start.unwrap().seconds();
    assert!((start - 86_400.0 * 1.001 / 24.0).abs() < 1e-9, "{start}");
}

#[test]
fn files_without_a_timecode_give_the_video_rate_only_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let plain = clip(
        d,
        "plain.mov",
        "24000/1001",
        &["-c:v", "mpeg4", "-c:a", "pcm_s16le"],
    );
    assert_eq!(
        timing(&plain),
        Timing {
            video_rate: Some((24_000, 1001)),
            start: None,
        }
    );
    let m4a = ffmpeg(
        d,
        "a.m4a",
        &["-f", "lavfi", "-i", "sine=d=1", "-c:a", "aac"],
    );
    assert_eq!(timing(&m4a), Timing::default());
    let wav = ffmpeg(d, "a.wav", &["-f", "lavfi", "-i", "sine=d=1"]);
    assert_eq!(timing(&wav), Timing::default());
    let flac = ffmpeg(d, "a.flac", &["-f", "lavfi", "-i", "sine=d=1"]);
    assert_eq!(timing(&flac), Timing::default());
}

#[test]
fn matroska_timecode_tags_are_read_through_ffprobe() {
    let dir = tempfile::tempdir().unwrap();
    let mkv = clip(
        dir.path(),
        "film.mkv",
        "24000/1001",
        &["-timecode", "01:00:00:00", "-c:v", "mpeg4", "-c:a", "flac"],
    );
    assert_eq!(
        timing(&mkv),
        Timing {
            video_rate: Some((24_000, 1001)),
            start: frames(86_400, (24_000, 1001), false),
        }
    );
}

#[test]
fn broadcast_wav_time_reference_is_seconds_since_midnight() {
    let dir = tempfile::tempdir().unwrap();
    // 172,800,000 samples at 48 kHz: 01:00:00.
    let bwf = ffmpeg(
        dir.path(),
        "bwf.wav",
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=d=1:sample_rate=48000",
            "-write_bext",
            "1",
            "-metadata",
            "time_reference=172800000",
        ],
    );
    assert_eq!(
        timing(&bwf),
        Timing {
            video_rate: None,
            start: Some(StartTimecode::Seconds {
                seconds: 3600.0,
                rate: None,
                drop_frame: None,
            }),
        }
    );
    // Cut inside the bext chunk: no start, no error.
    let bytes = std::fs::read(&bwf).unwrap();
    let at = find(&bytes, b"bext").unwrap();
    let cut = dir.path().join("cut.wav");
    for len in [at + 8 + 100, at + 8 + 340, at + 4] {
        std::fs::write(&cut, &bytes[..len]).unwrap();
        assert_eq!(timing(&cut), Timing::default(), "cut at {len}");
    }
}

/// A 16-bit mono WAV of `frames` silent frames at `rate` Hz with `bext` and `iXML` chunks (iXML
/// after the audio, where some recorders put it).
fn bwf_with_ixml(rate: u32, frames: u32, time_reference: u64, ixml: &str) -> Vec<u8> {
    let mut chunks: Vec<(&[u8; 4], Vec<u8>)> = Vec::new();
    let mut fmt = vec![1, 0, 1, 0];
    fmt.extend_from_slice(&rate.to_le_bytes());
    fmt.extend_from_slice(&(rate * 2).to_le_bytes());
    fmt.extend_from_slice(&[2, 0, 16, 0]);
    chunks.push((b"fmt ", fmt));
    let mut bext = vec![0u8; 602];
    bext[..8].copy_from_slice(b"roomtone");
    bext[338..346].copy_from_slice(&time_reference.to_le_bytes());
    chunks.push((b"bext", bext));
    chunks.push((b"data", vec![0u8; frames as usize * 2]));
    chunks.push((b"iXML", ixml.as_bytes().to_vec()));
    let mut body = b"WAVE".to_vec();
    for (id, data) in chunks {
        body.extend_from_slice(id);
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(&data);
        if data.len() % 2 == 1 {
            body.push(0);
        }
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend(body);
    out
}

#[test]
fn ixml_gives_the_timecode_rate_and_drop_frame_flag() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("recorder.wav");
    let xml = "<?xml version=\"1.0\"?>\n<BWFXML><IXML_VERSION>2.10</IXML_VERSION><SPEED>\
        <TIMECODE_RATE>30000/1001</TIMECODE_RATE><TIMECODE_FLAG>DF</TIMECODE_FLAG>\
        </SPEED></BWFXML>";
    // 13:00:00 at 96 kHz.
    std::fs::write(&path, bwf_with_ixml(96_000, 9_601, 13 * 3600 * 96_000, xml)).unwrap();
    assert_eq!(
        timing(&path),
        Timing {
            video_rate: None,
            start: Some(StartTimecode::Seconds {
                seconds: 46_800.0,
                rate: Some((30_000, 1001)),
                drop_frame: Some(true),
            }),
        }
    );
    let xml = "<BWFXML><SPEED><TIMECODE_RATE>25</TIMECODE_RATE>\
        <TIMECODE_FLAG>NDF</TIMECODE_FLAG></SPEED></BWFXML>";
    std::fs::write(&path, bwf_with_ixml(48_000, 480, 24_000, xml)).unwrap();
    assert_eq!(
        timing(&path).start,
        Some(StartTimecode::Seconds {
            seconds: 0.5,
            rate: Some((25, 1)),
            drop_frame: Some(false),
        })
    );
    // The file the test wrote is a WAV roomtone decodes.
    assert_eq!(roomtone::audio::read_all(&path).unwrap().frames(), 480);
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn damaged_timecode_tracks_give_nones_not_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let df = clip(
        d,
        "df.mov",
        "30000/1001",
        &[
            "-timecode",
            "00:59:59;28",
            "-c:v",
            "mpeg4",
            "-c:a",
            "pcm_s16le",
        ],
    );
    let bytes = std::fs::read(&df).unwrap();
    let out = d.join("damaged.mov");
    // Truncated anywhere: never an error, never a panic.
    for len in (0..bytes.len()).step_by(997).chain([bytes.len() - 1]) {
        std::fs::write(&out, &bytes[..len]).unwrap();
        let t = read_timing(&out).unwrap_or_else(|e| panic!("cut at {len}: {e}"));
        if let Some(StartTimecode::Frames { frames, .. }) = t.start {
            assert_eq!(frames, 107_890, "cut at {len}");
        }
    }
    // The timecode sample entry's fields zeroed (timescale, frame duration, frames per second):
    // no rate, so no start; the video rate is still read.
    let entry = find(&bytes, b"tmcd\0\0\0\0\0\0\0\x01").expect("a tmcd sample entry");
    let mut zeroed = bytes.clone();
    zeroed[entry + 16..entry + 30].fill(0);
    std::fs::write(&out, &zeroed).unwrap();
    assert_eq!(
        timing(&out),
        Timing {
            video_rate: Some((30_000, 1001)),
            start: None,
        }
    );
    // Its sample entry cut short (the stsd box's entry size says 20 bytes).
    let mut short = bytes.clone();
    short[entry - 4..entry].copy_from_slice(&20u32.to_be_bytes());
    std::fs::write(&out, &short).unwrap();
    assert_eq!(timing(&out).start, None);
    // The timecode track's first chunk (the last track's `stco`: ffmpeg writes the timecode
    // track last) placed beyond the end of the file.
    let stco = bytes.windows(4).rposition(|w| w == b"stco").unwrap();
    let mut beyond = bytes.clone();
    beyond[stco + 12..stco + 16].copy_from_slice(&(bytes.len() as u32 - 2).to_be_bytes());
    std::fs::write(&out, &beyond).unwrap();
    assert_eq!(
        timing(&out),
        Timing {
            video_rate: Some((30_000, 1001)),
            start: None,
        }
    );
    // Garbage everywhere after the file type box.
    let mut garbage = bytes.clone();
    for (i, b) in garbage.iter_mut().enumerate().skip(32) {
        *b = (i as u8).wrapping_mul(151).wrapping_add(7);
    }
    std::fs::write(&out, &garbage).unwrap();
    assert_eq!(timing(&out), Timing::default());
}

#[test]
fn only_a_file_that_cannot_be_opened_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.mov");
    assert!(matches!(
        read_timing(&missing),
        Err(AudioError::Open { path, .. }) if path == missing
    ));
    let empty = dir.path().join("empty.wav");
    std::fs::write(&empty, b"").unwrap();
    assert_eq!(timing(&empty), Timing::default());
}
