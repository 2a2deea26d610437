//! The audio of camera and editor files, against ffmpeg's decode of the same file:
//! scripts/make_video_fixtures.sh (run by scripts/setup_test.sh) makes each fixture from lavfi test
//! sources and writes ffmpeg's decode beside it. PCM in every QuickTime flavour must match it bit
//! for bit; AAC must line up with it to the sample (edit lists applied) and last as long as the
//! source. Video files and files read through ffmpeg also go through `separate`, `tag` and `batch`.

mod common;

use std::path::{Path, PathBuf};

use predicates::prelude::PredicateBooleanExt;
use roomtone::audio::read_all;

struct Fixture {
    path: PathBuf,
    channels: usize,
    sample_rate: u32,
    source_frames: usize,
    start_s: f64,
    /// `pcm` (QuickTime PCM), `lossless` (FLAC) or `lossy`.
    kind: String,
}

impl Fixture {
    fn exact(&self) -> bool {
        self.kind == "pcm" || self.kind == "lossless"
    }
}

fn fixtures() -> Vec<Fixture> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fixtures/video");
    let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run scripts/setup_test.sh (or scripts/make_video_fixtures.sh) first",
            dir.join("manifest.tsv").display()
        )
    });
    manifest
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            Fixture {
                path: dir.join(f[0]),
                channels: f[1].parse().unwrap(),
                sample_rate: f[2].parse().unwrap(),
                source_frames: f[3].parse().unwrap(),
                start_s: f[4].parse().unwrap(),
                kind: f[5].to_string(),
            }
        })
        .collect()
}

/// ffmpeg's decode, de-interleaved.
fn reference(f: &Fixture) -> Vec<Vec<f32>> {
    let mut name = f.path.file_name().unwrap().to_os_string();
    name.push(".ref.f32");
    let inter = common::read_f32(&f.path.with_file_name(name));
    (0..f.channels)
        .map(|c| inter.iter().skip(c).step_by(f.channels).copied().collect())
        .collect()
}

/// QuickTime PCM of every flavour (and the `lpcm` entry above 65,535 Hz), FLAC and the other
/// lossless fixtures: our decode equals ffmpeg's, sample for sample, and lasts as long as the
/// source.
#[test]
fn quicktime_pcm_of_every_flavour_and_flac_decode_bit_exact() {
    let all = fixtures();
    let pcm = all.iter().filter(|f| f.kind == "pcm").count();
    assert_eq!(
        pcm, 13,
        "twos, sowt, in24, in32, fl32, fl64 in both byte orders; lpcm s24be, s24le and f32be"
    );
    // At 96 kHz ffmpeg writes the version 2 `lpcm` sample entry (the rate does not fit the
    // version 0/1 sound description), whose flags say depth, float and byte order.
    let lpcm: Vec<&Fixture> = all.iter().filter(|f| f.sample_rate == 96_000).collect();
    assert_eq!(lpcm.len(), 3);
    for f in all.iter().filter(|f| f.kind == "pcm") {
        // Read by roomtone itself, not through the ffmpeg fallback.
        let reader = roomtone::AudioReader::open(&f.path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            reader.info().decoded_by,
            roomtone::audio::DecodedBy::Symphonia,
            "{}",
            f.path.display()
        );
    }
    for f in &lpcm {
        let bytes = std::fs::read(&f.path).unwrap();
        assert!(
            bytes.windows(4).any(|w| w == b"lpcm"),
            "{}: no lpcm sample entry",
            f.path.display()
        );
    }
    for f in all.iter().filter(|f| f.exact()) {
        let ours = read_all(&f.path).unwrap_or_else(|e| panic!("{e}"));
        let theirs = reference(f);
        let name = f.path.display();
        assert_eq!(ours.sample_rate, f.sample_rate, "{name}");
        assert_eq!(ours.channels.len(), f.channels, "{name}");
        for (c, (a, b)) in ours.channels.iter().zip(&theirs).enumerate() {
            assert_eq!(a.len(), f.source_frames, "{name} channel {c}: length");
            assert_eq!(
                a.len(),
                b.len(),
                "{name} channel {c}: length against ffmpeg"
            );
            if let Some(i) = (0..a.len()).find(|&i| a[i] != b[i]) {
                panic!(
                    "{name} channel {c}: sample {i} is {} here, {} in ffmpeg's decode",
                    a[i], b[i]
                );
            }
        }
    }
}

/// SNR of `ours` against `theirs` over their common part, shifted by `lag` samples.
fn snr_at(ours: &[f32], theirs: &[f32], lag: isize) -> f64 {
    let (a, b) = if lag >= 0 {
        (&ours[lag as usize..], theirs)
    } else {
        (ours, &theirs[(-lag) as usize..])
    };
    let n = a.len().min(b.len());
    common::snr_db(&b[..n], &a[..n])
}

#[test]
fn lossy_audio_lines_up_with_ffmpeg_to_the_sample_and_lasts_as_long_as_the_source() {
    let all = fixtures();
    let lossy: Vec<&Fixture> = all.iter().filter(|f| f.kind == "lossy").collect();
    assert!(lossy.len() >= 3);
    for f in lossy {
        let name = f.path.display();
        let ours = read_all(&f.path).unwrap_or_else(|e| panic!("{e}"));
        let theirs = reference(f);
        assert_eq!(ours.channels.len(), f.channels, "{name}");
        // MP4/M4A: the edit list gives the length. The audio plays from start_s on the file's
        // timeline; a track that starts after the picture keeps the encoder's priming in its media
        // (ffmpeg moves the start earlier instead of skipping it), so its length is the source's
        // plus that priming. Matroska/WebM Vorbis says nothing of the end: ffmpeg's length.
        // (A fragmented MP4 as ffmpeg writes it has no edit list.)
        let mp4 = f.path.extension().is_some_and(|e| e == "mp4" || e == "m4a")
            && !f.path.to_string_lossy().contains("fragmented");
        let priming = if f.start_s > 0.0 { 1024 } else { 0 };
        for (c, (a, b)) in ours.channels.iter().zip(&theirs).enumerate() {
            let expected = if mp4 {
                f.source_frames + priming
            } else {
                b.len()
            };
            assert_eq!(
                a.len(),
                expected,
                "{name} channel {c}: length (ffmpeg's decode has {}, its last packet's padding included)",
                b.len()
            );
            let aligned = snr_at(a, b, 0);
            let late = snr_at(a, b, 1024);
            let early = snr_at(a, b, -1024);
            eprintln!("{name} channel {c}: {aligned:.1} dB aligned, {late:.1} / {early:.1} dB shifted by ±1024");
            assert!(
                aligned >= 40.0,
                "{name} channel {c}: {aligned:.1} dB against ffmpeg's decode"
            );
            for lag in [-2, -1, 1, 2] {
                assert!(
                    snr_at(a, b, lag) < aligned,
                    "{name} channel {c}: better aligned at lag {lag}"
                );
            }
        }
    }
}

#[test]
fn a_track_that_starts_after_the_picture_says_when() {
    for f in fixtures() {
        let reader = roomtone::AudioReader::open(&f.path).unwrap_or_else(|e| panic!("{e}"));
        let start = reader.info().start_s;
        assert!(
            (start - f.start_s).abs() <= 0.03,
            "{}: starts at {start} s, made to start at {} s",
            f.path.display(),
            f.start_s
        );
    }
}

/// What symphonia cannot read (AC-3, MP2, Opus, WMA; MPEG-TS, MXF, RF64, Wave64, AVI) is read
/// through ffmpeg: the same samples as ffmpeg's own decode, and `info` says so.
#[test]
fn what_symphonia_cannot_read_is_read_through_ffmpeg() {
    let all = fixtures();
    let through: Vec<&Fixture> = all.iter().filter(|f| f.kind == "ffmpeg").collect();
    assert!(through.len() >= 9);
    for f in through {
        let name = f.path.display();
        let reader = roomtone::AudioReader::open(&f.path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            reader.info().decoded_by,
            roomtone::audio::DecodedBy::Ffmpeg,
            "{name}"
        );
        let (ours, _) = roomtone::audio::read_reader(reader).unwrap();
        let theirs = reference(f);
        assert_eq!(ours.sample_rate, f.sample_rate, "{name}");
        assert_eq!(ours.channels.len(), f.channels, "{name}");
        for (c, (a, b)) in ours.channels.iter().zip(&theirs).enumerate() {
            assert!(a == b, "{name} channel {c}: not ffmpeg's samples");
        }
        let info = common::roomtone()
            .args(["info", "--json"])
            .arg(&f.path)
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
        assert_eq!(v["decoder"], "ffmpeg", "{name}: {v}");
    }
}

/// Without ffmpeg (`ROOMTONE_FFMPEG=''`, as the fuzz replays run), each file only ffmpeg decodes
/// here is refused with a message that says so and how to install it, not "no audio track" or
/// "not a supported file"; a file that is no media at all keeps its own message.
#[test]
fn without_ffmpeg_what_needs_it_says_so() {
    let all = fixtures();
    let through: Vec<&Fixture> = all.iter().filter(|f| f.kind == "ffmpeg").collect();
    assert!(through.len() >= 9);
    for f in through {
        let out = common::roomtone()
            .env("ROOMTONE_FFMPEG", "")
            .arg("info")
            .arg(&f.path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let name = f.path.display().to_string();
        assert!(!out.status.success(), "{name}: read without ffmpeg");
        for want in [
            name.as_str(),
            "decoded through ffmpeg",
            "apt-get install ffmpeg",
            "ROOMTONE_FFMPEG",
        ] {
            assert!(stderr.contains(want), "{name}: {want:?} not in {stderr}");
        }
        match f.path.extension().and_then(|e| e.to_str()) {
            Some("mkv") => assert!(stderr.contains("AC-3"), "{stderr}"),
            Some("webm") => assert!(stderr.contains("(Opus)"), "{stderr}"),
            _ => {}
        }
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.mov");
    std::fs::write(&text, "not a film, only a note about one\n").unwrap();
    common::roomtone()
        .env("ROOMTONE_FFMPEG", "")
        .arg("info")
        .arg(&text)
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "not a supported audio or video file",
        ))
        .stderr(predicates::str::contains("apt-get").not());
}

fn fixture_path(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/fixtures/video")
        .join(name);
    assert!(p.is_file(), "{}: run scripts/setup_test.sh", p.display());
    p
}

/// The stems `speech` and `background` are as long as `input`'s decode, have its rate and
/// channels, and sum to it within two 24-bit half-steps (each stem is rounded to 24 bits);
/// returns them.
fn stems_sum_to(input: &Path, speech: &Path, background: &Path) -> [roomtone::AudioBlock; 2] {
    let x = read_all(input).unwrap();
    let s = read_all(speech).unwrap_or_else(|e| panic!("{e}"));
    let b = read_all(background).unwrap_or_else(|e| panic!("{e}"));
    for stem in [&s, &b] {
        assert_eq!(stem.sample_rate, x.sample_rate, "{}", speech.display());
        assert_eq!(stem.channel_count(), x.channel_count());
        assert_eq!(stem.frames(), x.frames(), "{}", speech.display());
    }
    let worst = (0..x.channel_count())
        .flat_map(|c| (0..x.frames()).map(move |i| (c, i)))
        .map(|(c, i)| (s.channels[c][i] + b.channels[c][i] - x.channels[c][i]).abs())
        .fold(0.0, f32::max);
    assert!(
        worst <= 2.0 / 8_388_608.0 + 1e-9,
        "{}: stems sum to the input within {worst}",
        speech.display()
    );
    [s, b]
}

/// `roomtone separate` on a camera MOV and on an MXF (read through ffmpeg): WAV stems and FLAC
/// stems (`--format flac`) with the same samples, which sum to the file's audio.
#[test]
fn separate_takes_video_and_ffmpeg_decoded_inputs() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["camera_pcm_s24le.mov", "pcm.mxf"] {
        let input = fixture_path(name);
        let stem = input.file_stem().unwrap().to_string_lossy().into_owned();
        let mut got = Vec::new();
        for (format, ext) in [("wav24", "wav"), ("flac", "flac")] {
            let out = dir.path().join(format!("{name}-{ext}"));
            common::roomtone()
                .args(["separate", "--format", format, "--out-dir"])
                .arg(&out)
                .arg(&input)
                .assert()
                .success();
            got.push(stems_sum_to(
                &input,
                &out.join(format!("{stem}.speech.{ext}")),
                &out.join(format!("{stem}.background.{ext}")),
            ));
        }
        for (wav, flac) in got[0].iter().zip(&got[1]) {
            assert!(
                wav.channels == flac.channels,
                "{name}: FLAC and WAV stems differ"
            );
        }
    }
}

/// `roomtone tag` and `roomtone batch --separate` on files read through ffmpeg (AC-3 in MKV, PCM in
/// MXF) beside a camera MOV: tagged records, not error records, whose top AudioSet class is the
/// fixtures' sine and whose duration is the source's (1 s; AC-3 and MXF pad to their frames);
/// batch's stems sum to each file's audio.
#[test]
fn tag_and_batch_take_ffmpeg_decoded_inputs() {
    let names = ["h264_ac3_51.mkv", "pcm.mxf", "camera_pcm_s24le.mov"];
    let check = |r: &serde_json::Value| {
        assert!(r.get("error").is_none(), "an error record: {r}");
        assert_eq!(r["audioset_top"][0]["class"], "Sine wave", "{r}");
        let d = r["duration_s"].as_f64().unwrap();
        assert!((d - 1.0).abs() < 0.05, "{r}");
    };
    let out = common::roomtone()
        .args(["tag", "--format", "jsonl"])
        .args(names[..2].iter().map(|n| fixture_path(n)))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recs: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs.len(), 2);
    recs.iter().for_each(check);

    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib");
    std::fs::create_dir(&lib).unwrap();
    for name in names {
        std::fs::copy(fixture_path(name), lib.join(name)).unwrap();
    }
    let out = dir.path().join("out");
    common::roomtone()
        .args(["batch", "--quiet", "--jobs", "1", "--separate", "--out"])
        .arg(&out)
        .arg(&lib)
        .assert()
        .success();
    let recs: Vec<serde_json::Value> = std::fs::read_to_string(out.join("labels.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs.len(), 3);
    recs.iter().for_each(check);
    for name in names {
        stems_sum_to(
            &lib.join(name),
            &out.join(format!("stems/{name}.speech.wav")),
            &out.join(format!("stems/{name}.background.wav")),
        );
    }
}
