//! A value the program can check is checked before any work, with one line naming it and exit
//! status 2, as clap's own usage errors (issue 11, 11): nothing decoded, separated or written.

mod common;

use std::path::Path;

fn refused(dir: &Path, args: &[&str], needle: &str) {
    let out = common::roomtone()
        .current_dir(dir)
        .args(args)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(out.stdout.is_empty(), "{args:?} wrote to stdout");
    assert!(stderr.contains(needle), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Nothing was written: the folder holds only the input.
    let names: Vec<_> = std::fs::read_dir(dir)
        .expect("read")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, ["in.wav"], "{args:?} left {names:?}");
}

#[test]
fn bad_values_exit_2_before_any_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    common::write_wav(
        &dir.path().join("in.wav"),
        16_000,
        &common::sine(300.0, 16_000, 4_000, 0.2),
    );
    let d = dir.path();
    for (args, needle) in [
        (&["tag", "--hop", "0", "in.wav"][..], "--hop"),
        (&["tag", "--hop", "nan", "in.wav"], "--hop"),
        (&["tag", "--min-segment=-1", "in.wav"], "--min-segment"),
        (&["tag", "--jobs", "0", "in.wav"], "--jobs"),
        (&["tag", "--threads", "0", "in.wav"], "--threads"),
        (
            &["separate", "--strength", "2", "--out-dir", "s", "in.wav"],
            "--strength",
        ),
        (
            &["separate", "--atten-lim-db=-3", "--out-dir", "s", "in.wav"],
            "--atten-lim-db",
        ),
        (
            &[
                "separate",
                "--chunk-seconds",
                "0",
                "--out-dir",
                "s",
                "in.wav",
            ],
            "--chunk-seconds",
        ),
        (
            &["remix", "--target-lufs", "20", "in.wav", "-o", "o.wav"],
            "target loudness",
        ),
        (
            &["remix", "--true-peak-db", "3", "in.wav", "-o", "o.wav"],
            "true-peak",
        ),
        (
            &[
                "remix",
                "--background-gain-db",
                "inf",
                "in.wav",
                "-o",
                "o.wav",
            ],
            "background gain",
        ),
        (
            &["remix", "--duck-db", "90", "in.wav", "-o", "o.wav"],
            "duck",
        ),
        (
            &["remix", "--preset", "loud", "in.wav", "-o", "o.wav"],
            "loud",
        ),
        (&["remix", "--clean", "foo", "in.wav", "-o", "o.wav"], "foo"),
        (&["batch", "--hop", "0", "--out", "b", "in.wav"], "--hop"),
        (&["batch", "--jobs", "0", "--out", "b", "in.wav"], "--jobs"),
        (
            &[
                "batch",
                "--remix",
                "--target-lufs 20",
                "--out",
                "b",
                "in.wav",
            ],
            "target loudness",
        ),
        (
            &["batch", "--remix", "--preset loud", "--out", "b", "in.wav"],
            "loud",
        ),
        (
            &["batch", "--shard", "3/3", "--out", "b", "in.wav"],
            "--shard",
        ),
        // Outputs named for another format than the one written.
        (&["remix", "in.wav", "-o", "o.ogg"], "mislabelled"),
        (&["remix", "in.wav", "-o", "o.aiff"], "mislabelled"),
        (
            &["remix", "--format", "flac24", "in.wav", "-o", "o.wav"],
            "mislabelled",
        ),
        (
            &["tag", "--format", "csv", "-o", "l.json", "in.wav"],
            "mislabelled",
        ),
        (&["tag", "-o", "l.wav", "in.wav"], "mislabelled"),
        (
            &["tag", "--format", "jsonl", "-o", "l.CSV", "in.wav"],
            "mislabelled",
        ),
    ] {
        refused(d, args, needle);
    }
}

#[test]
fn an_output_path_that_cannot_be_written_is_refused_before_the_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in.wav");
    common::write_wav(&input, 16_000, &common::sine(300.0, 16_000, 4_000, 0.2));
    std::fs::create_dir(dir.path().join("folder")).expect("mkdir");
    for (cmd, out, needle) in [
        ("remix", "missing/o.wav", "does not exist"),
        ("remix", "folder", "is a folder"),
        ("tag", "missing/l.json", "does not exist"),
        ("tag", "folder", "is a folder"),
    ] {
        let o = common::roomtone()
            .current_dir(dir.path())
            .args([cmd, "in.wav", "-o", out])
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{cmd} -o {out}: {stderr}");
        assert!(stderr.contains(needle) && stderr.contains(out), "{stderr}");
        assert!(o.stdout.is_empty());
        // Refused up front: the remix did not separate first (no progress lines), tag printed no `[`.
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}
