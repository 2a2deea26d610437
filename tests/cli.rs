//! The command line as users meet it: good files, broken files, usage errors.

mod common;

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::{Path, PathBuf};

fn roomtone() -> Command {
    Command::cargo_bin("roomtone").expect("binary built")
}

fn wav(dir: &Path, name: &str, sr: u32, channels: u16, frames: usize) -> PathBuf {
    let path = dir.join(name);
    let spec = hound::WavSpec {
        channels,
        sample_rate: sr,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).expect("create");
    let s = common::sine(1000.0, sr, frames, 0.5);
    for x in s {
        for _ in 0..channels {
            w.write_sample((x * 32768.0) as i16).expect("write");
        }
    }
    w.finalize().expect("finalize");
    path
}

#[test]
fn info_reports_format_duration_and_peak() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = wav(dir.path(), "take 1.wav", 48_000, 2, 48_000 * 3 / 2);
    roomtone()
        .args(["info"])
        .arg(&good)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "take 1.wav: wav/pcm_s16le, 48000 Hz, 2 ch, 16-bit, 0:01.500, peak -6.0 dBFS",
        ));

    let out = roomtone()
        .args(["info", "--json"])
        .arg(&good)
        .output()
        .expect("run");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["sample_rate"], 48_000);
    assert_eq!(v["channels"], 2);
    assert_eq!(v["frames"], 72_000);
    assert_eq!(v["container"], "wav");
    assert!((v["duration_s"].as_f64().expect("duration") - 1.5).abs() < 1e-9);
    assert!((v["peak_dbfs"].as_f64().expect("peak") + 6.02).abs() < 0.01);
}

/// Every kind of broken input: one line on stderr naming the file and the reason, exit status 1,
/// and the good files in the same run are still reported.
#[test]
fn broken_files_give_one_line_naming_the_file_and_exit_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let good = wav(d, "good.wav", 44_100, 1, 4410);

    let empty = d.join("empty.wav");
    std::fs::write(&empty, b"").expect("write");

    let full = wav(d, "full.wav", 44_100, 2, 44_100);
    let bytes = std::fs::read(&full).expect("read");
    let truncated = d.join("truncated.wav");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).expect("write");

    let corrupt = d.join("corrupt.flac");
    let mut junk = b"fLaC".to_vec();
    junk.extend((0..5000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    std::fs::write(&corrupt, &junk).expect("write");

    let text = d.join("notes.mp3");
    std::fs::write(
        &text,
        "these are not audio samples, just a text file\n".repeat(50),
    )
    .expect("write");

    let missing = d.join("missing.wav");

    let cases: [(&Path, &str); 6] = [
        (&empty, "file is empty"),
        (&truncated, "truncated"),
        (&corrupt, "corrupt.flac"),
        (&text, "not a supported audio or video file"),
        (&missing, "cannot read"),
        (d, "is a directory"),
    ];
    for (path, reason) in cases {
        let out = roomtone()
            .arg("info")
            .arg(&good)
            .arg(path)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(1), "{path:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        let shown = path.display().to_string();
        assert!(
            lines
                .iter()
                .any(|l| l.contains(&shown) && l.contains(reason)),
            "{path:?}: stderr was {stderr:?}"
        );
        let about_it: Vec<_> = lines.iter().filter(|l| l.contains(&shown)).collect();
        assert_eq!(about_it.len(), 1, "one line per failed file: {stderr:?}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("good.wav"),
            "the good file is still reported"
        );
    }
}

#[test]
fn json_mode_reports_failures_as_records_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = wav(dir.path(), "a.wav", 16_000, 1, 1600);
    let missing = dir.path().join("b.wav");
    let out = roomtone()
        .args(["info", "--json"])
        .arg(&good)
        .arg(&missing)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let records: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["frames"], 1600);
    assert_eq!(records[1]["path"], missing.display().to_string());
    assert!(records[1]["error"]
        .as_str()
        .expect("error")
        .contains("cannot read"));
}

#[test]
fn csv_cells_a_spreadsheet_would_run_are_defused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let formula = "=HYPERLINK(\"http:x\",\"y\").wav";
    for name in [formula, "+1.wav", "@SUM(A1).wav", "-2.wav", "plain.wav"] {
        wav(dir.path(), name, 16_000, 1, 16_000);
    }
    let out = roomtone()
        .current_dir(dir.path())
        .args(["tag", "--format", "csv", "--"])
        .args([formula, "+1.wav", "@SUM(A1).wav", "-2.wav", "plain.wav"])
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<&str> = stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), 5, "{stdout}");
    let starts = [
        "\"'=HYPERLINK(\"\"http:x\"\",\"\"y\"\").wav\",",
        "\"'+1.wav\",",
        "\"'@SUM(A1).wav\",",
        "\"'-2.wav\",",
        "plain.wav,",
    ];
    for start in starts {
        assert!(
            rows.iter().any(|r| r.starts_with(start)),
            "no row starts with {start}: {stdout}"
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    roomtone().assert().code(2);
    roomtone()
        .arg("info")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("PATH"));
    roomtone()
        .args(["info", "--bogus", "x.wav"])
        .assert()
        .code(2);
    roomtone().arg("frobnicate").assert().code(2);
}

#[test]
fn help_explains_the_commands() {
    roomtone()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("info").and(predicate::str::contains("models")));
    roomtone()
        .args(["info", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Example"));
}
