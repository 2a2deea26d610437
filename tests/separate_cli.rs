//! `roomtone separate` as users meet it: stems written, kept without --force, bad inputs reported,
//! stem names unique, stems written in pairs.

mod common;

use assert_cmd::Command;
use predicates::prelude::*;

fn roomtone() -> Command {
    Command::cargo_bin("roomtone").expect("binary built")
}

#[test]
fn writes_stems_keeps_them_and_reports_bad_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stems");
    let good = common::data("clean_speech_16k.wav");
    let broken = dir.path().join("broken.wav");
    std::fs::write(&broken, b"RIFF this is not a wav file at all").unwrap();
    let missing = dir.path().join("missing.wav");
    roomtone()
        .args(["separate", "--json", "--format", "wav24", "--out-dir"])
        .arg(&out)
        .arg(&broken)
        .arg(&good)
        .arg(&missing)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("clean_speech_16k.speech.wav"))
        .stderr(predicate::str::contains("broken.wav"))
        .stderr(predicate::str::contains("missing.wav"));
    let speech = out.join("clean_speech_16k.speech.wav");
    let background = out.join("clean_speech_16k.background.wav");
    for p in [&speech, &background] {
        let r = hound::WavReader::open(p).unwrap();
        assert_eq!(r.spec().sample_rate, 16_000);
        assert_eq!(r.spec().bits_per_sample, 24);
        assert_eq!(r.duration(), 32_000);
    }
    assert!(!out.join("broken.speech.wav").exists());
    // No stray temporary files.
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 2);
    // Existing stems are kept without --force ...
    std::fs::write(&speech, b"keep me").unwrap();
    roomtone()
        .args(["separate", "--out-dir"])
        .arg(&out)
        .arg(&good)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already exists"));
    assert_eq!(std::fs::read(&speech).unwrap(), b"keep me");
    // ... and replaced with it.
    roomtone()
        .args(["separate", "--force", "--out-dir"])
        .arg(&out)
        .arg(&good)
        .assert()
        .success();
    assert_eq!(hound::WavReader::open(&speech).unwrap().duration(), 32_000);
}

fn names(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn inputs_that_would_write_the_same_stems_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["a", "b"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
    }
    let a = dir.path().join("a/take.wav");
    let b = dir.path().join("b/take.wav");
    std::fs::copy(common::data("clean_speech_16k.wav"), &a).unwrap();
    std::fs::copy(common::data("clean_speech_16k.wav"), &b).unwrap();
    let out = dir.path().join("stems");
    for force in [false, true] {
        let mut cmd = roomtone();
        cmd.args(["separate", "--out-dir"]).arg(&out);
        if force {
            cmd.arg("--force");
        }
        cmd.arg(&a)
            .arg(&b)
            .assert()
            .code(1)
            .stderr(predicate::str::contains(format!(
                "{} and {} would both write take.speech.wav",
                a.display(),
                b.display()
            )));
        assert!(!out.exists() || names(&out).is_empty(), "{:?}", names(&out));
    }
}

#[test]
fn a_stem_pair_is_written_whole_or_not_at_all_and_a_lone_stem_does_not_block_a_retry() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stems");
    let good = common::data("clean_speech_16k.wav");
    let speech = out.join("clean_speech_16k.speech.wav");
    let background = out.join("clean_speech_16k.background.wav");
    // The background stem cannot be put in place (a folder has its name), as when the disk fills
    // up between the two stems: neither stem is left, nor a temporary file.
    std::fs::create_dir_all(background.join("x")).unwrap();
    roomtone()
        .args(["separate", "--force", "--out-dir"])
        .arg(&out)
        .arg(&good)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("clean_speech_16k.background.wav"));
    assert_eq!(names(&out), ["clean_speech_16k.background.wav"]);
    std::fs::remove_dir_all(&background).unwrap();

    // A lone stem (what a failed run of an older version could leave) does not block the retry,
    // even without --force.
    std::fs::write(&speech, b"half a pair").unwrap();
    roomtone()
        .args(["separate", "--format", "wav24", "--out-dir"])
        .arg(&out)
        .arg(&good)
        .assert()
        .success();
    for p in [&speech, &background] {
        assert_eq!(hound::WavReader::open(p).unwrap().duration(), 32_000);
    }
    assert_eq!(names(&out).len(), 2);
}

#[test]
fn rejects_bad_options() {
    let dir = tempfile::tempdir().unwrap();
    roomtone()
        .args(["separate", "--strength", "2", "--out-dir"])
        .arg(dir.path())
        .arg(common::data("clean_speech_16k.wav"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("strength"));
    roomtone()
        .args(["separate", "--format", "mp3", "--out-dir"])
        .arg(dir.path())
        .arg(common::data("clean_speech_16k.wav"))
        .assert()
        .failure();
}

/// The tuning flags are hidden from --help, checked like the others, and reach the models: each
/// one changes the stems it should change.
#[test]
fn hidden_tuning_flags_are_checked_and_take_effect() {
    let dir = tempfile::tempdir().unwrap();
    let input = common::data("clean_speech_16k.wav");
    let help = roomtone().args(["separate", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--chunk-seconds",
        "--warmup-seconds",
        "--ctn-precision",
        "--ctn-segment-seconds",
        "--ctn-context-seconds",
        "--intra-threads",
    ] {
        assert!(!help.contains(flag), "{flag} is shown in --help");
    }
    let run = |name: &str, args: &[&str]| -> Vec<u8> {
        let out = dir.path().join(name);
        roomtone()
            .args(["separate", "--out-dir"])
            .arg(&out)
            .args(args)
            .arg(&input)
            .assert()
            .success();
        std::fs::read(out.join("clean_speech_16k.speech.wav")).unwrap()
    };
    let dfn3 = run("dfn3", &[]);
    assert_ne!(
        dfn3,
        run(
            "chunks",
            &["--chunk-seconds", "0.5", "--warmup-seconds", "0.25"]
        )
    );
    let ctn = run("ctn", &["--model", "convtasnet"]);
    let ctn_f32 = ["--model", "convtasnet", "--ctn-precision", "f32"];
    assert_ne!(ctn, run("ctn-f32", &ctn_f32));
    let segments = ["--model", "convtasnet", "--ctn-segment-seconds", "0.5"];
    assert_ne!(ctn, run("ctn-segments", &segments));
    // Threads change the speed, not the result.
    assert_eq!(
        ctn,
        run("ctn-1", &["--model", "convtasnet", "--intra-threads", "1"])
    );
    for bad in [
        &["--chunk-seconds", "0"][..],
        &["--warmup-seconds", "-1"],
        &["--ctn-precision", "f16"],
        &["--ctn-context-seconds", "nan"],
        &["--intra-threads", "0"],
    ] {
        roomtone()
            .args(["separate", "--out-dir"])
            .arg(dir.path().join("bad"))
            .args(bad)
            .arg(&input)
            .assert()
            .code(2);
    }
    assert!(!dir.path().join("bad").exists());
    // The same group of flags belongs to remix and batch.
    for command in [&["remix", "-o", "x.wav"][..], &["batch", "--out", "o"]] {
        roomtone()
            .args(command)
            .args(["--ctn-precision", "f16"])
            .arg(&input)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("f16"));
    }
}

/// `--format flac` writes .speech.flac/.background.flac: 24-bit FLAC that decodes (here and in
/// ffmpeg) to the samples the WAV stems hold, and the two stems still sum to the input within
/// the bit depth.
#[test]
fn flac_stems_hold_the_wav_stems_samples_and_sum_to_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let input = common::data("clean_speech_16k.wav");
    for (format, out) in [("wav24", "wav"), ("flac", "flac")] {
        roomtone()
            .args(["separate", "--format", format, "--out-dir"])
            .arg(dir.path().join(out))
            .arg(&input)
            .assert()
            .success();
    }
    let x = roomtone::audio::read_all(&input).unwrap();
    let mut sum = vec![0f32; x.frames()];
    for stem in ["speech", "background"] {
        let wav =
            roomtone::audio::read_all(&dir.path().join(format!("wav/clean_speech_16k.{stem}.wav")))
                .unwrap();
        let flac_path = dir
            .path()
            .join(format!("flac/clean_speech_16k.{stem}.flac"));
        let flac = roomtone::audio::read_all(&flac_path).unwrap();
        assert_eq!(
            flac.channels, wav.channels,
            "{stem}: FLAC and WAV stems differ"
        );
        assert_eq!(flac.frames(), x.frames());
        let ffmpeg = std::process::Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-i"])
            .arg(&flac_path)
            .args(["-f", "f32le", "-c:a", "pcm_f32le", "-"])
            .output()
            .expect("ffmpeg (scripts/setup_test.sh installs it)");
        assert!(ffmpeg.status.success());
        let theirs: Vec<f32> = ffmpeg
            .stdout
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        assert_eq!(
            theirs, flac.channels[0],
            "{stem}: ffmpeg decodes other samples"
        );
        sum.iter_mut()
            .zip(&flac.channels[0])
            .for_each(|(s, v)| *s += v);
    }
    // Each stem is rounded to 24 bits: the sum is within two half-steps of the input.
    let worst = sum
        .iter()
        .zip(&x.channels[0])
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(
        worst <= 2.0 / 8_388_608.0 + 1e-9,
        "stems sum to the input within {worst}"
    );
}
