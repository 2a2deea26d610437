//! Defence in depth (issue 11): a bug hit while processing one file (a panic, injected here in a
//! debug build with ROOMTONE_INJECT_PANIC) becomes that file's error; the other files go on, a
//! batch finishes and writes its outputs, and nothing says "panicked at".

mod common;

use std::path::{Path, PathBuf};

fn library(dir: &Path) -> Vec<PathBuf> {
    ["a.wav", "boom.wav", "c.wav"]
        .iter()
        .map(|n| {
            let p = dir.join(n);
            common::write_wav(&p, 16_000, &common::sine(300.0, 16_000, 8_000, 0.2));
            p
        })
        .collect()
}

fn run(args: &[&str], files: &[PathBuf]) -> (i32, String, String) {
    let out = common::roomtone()
        .args(args)
        .args(files)
        .env("ROOMTONE_INJECT_PANIC", "boom")
        .timeout(std::time::Duration::from_secs(300))
        .output()
        .expect("run");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(!stderr.contains("panicked at"), "{stderr}");
    assert!(stderr.contains("boom.wav: internal error"), "{stderr}");
    (out.status.code().unwrap_or(-1), stdout, stderr)
}

#[test]
fn info_tag_and_separate_go_on_past_a_file_that_hits_a_bug() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = library(dir.path());
    let (code, stdout, _) = run(&["info"], &files);
    assert_eq!(code, 1);
    assert_eq!(stdout.lines().count(), 2, "{stdout}");

    let (code, stdout, _) = run(&["tag", "--format", "jsonl", "--jobs", "2"], &files);
    assert_eq!(code, 1);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0].contains("\"ambience\"") && lines[2].contains("\"ambience\""));
    assert!(lines[1].contains("internal error"), "{}", lines[1]);

    let stems = dir.path().join("stems");
    let out = stems.to_string_lossy().into_owned();
    let (code, _, _) = run(&["separate", "--out-dir", &out], &files);
    assert_eq!(code, 1);
    for n in ["a", "c"] {
        assert!(stems.join(format!("{n}.speech.wav")).is_file());
    }
    assert!(!stems.join("boom.speech.wav").exists());
    assert!(!stems.join("boom.background.wav").exists());
}

#[test]
fn a_batch_finishes_and_records_the_file_that_hit_a_bug() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lib = dir.path().join("lib");
    std::fs::create_dir_all(&lib).expect("mkdir");
    library(&lib);
    let out = dir.path().join("out").to_string_lossy().into_owned();
    let (code, _, _) = run(
        &[
            "batch",
            "--quiet",
            "--separate",
            "--jobs",
            "2",
            "--out",
            &out,
        ],
        &[lib],
    );
    assert_eq!(code, 1);
    let labels = std::fs::read_to_string(dir.path().join("out/labels.jsonl")).expect("labels");
    let lines: Vec<&str> = labels.lines().collect();
    assert_eq!(lines.len(), 3, "{labels}");
    assert!(lines[1].contains("boom.wav") && lines[1].contains("internal error"));
    assert!(lines[0].contains("\"ambience\"") && lines[2].contains("\"ambience\""));
    assert!(dir.path().join("out/report.html").is_file());
}
