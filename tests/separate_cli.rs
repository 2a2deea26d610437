//! `roomtone separate` as users meet it: stems written, kept without --force, bad inputs reported.

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
