//! `roomtone batch` and `roomtone merge` as users meet them (needs scripts/setup.sh for the model).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{roomtone, write_wav};
use serde_json::Value;

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// A small library: the bundled example, coded fixtures, synthetic WAVs in nested folders, a hidden
/// file, a symlink loop, and (when `broken`) two unreadable files.
fn library(root: &Path, broken: bool) {
    let dirs = ["day1", "day1/cam_a", "day2", "day2/sound"];
    for d in dirs {
        std::fs::create_dir_all(root.join(d)).expect("mkdir");
    }
    std::fs::copy(
        repo("examples/speech_over_rain.ogg"),
        root.join("day1/rain.ogg"),
    )
    .expect("cp");
    for (src, dst) in [
        ("tests/data/media/mp3_44100_2ch.mp3", "day1/cam_a/tone.mp3"),
        ("tests/data/media/flac_44100_2ch.flac", "day2/tone.flac"),
        ("tests/data/media/aac_48000_2ch.mp4", "day2/clip.mp4"),
        (
            "tests/data/media/vorbis_48000_1ch.webm",
            "day2/sound/v.webm",
        ),
    ] {
        std::fs::copy(repo(src), root.join(dst)).expect("cp");
    }
    let mut seed = 12345u32;
    for (i, (dir, sr, secs)) in [
        ("day1", 16_000u32, 1.5f32),
        ("day1/cam_a", 44_100, 2.0),
        ("day2", 48_000, 1.0),
        ("day2/sound", 22_050, 2.5),
        ("day2/sound", 8_000, 0.7),
    ]
    .into_iter()
    .enumerate()
    {
        let n = (sr as f32 * secs) as usize;
        let x: Vec<f32> = (0..n)
            .map(|k| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
                0.3 * (std::f32::consts::TAU * 220.0 * (i + 1) as f32 * k as f32 / sr as f32).sin()
                    + 0.2 * noise
            })
            .collect();
        write_wav(&root.join(dir).join(format!("synth_{i}.wav")), sr, &x);
    }
    // Not picked up: hidden, not media, and a link back up the tree.
    std::fs::create_dir_all(root.join(".cache")).expect("mkdir");
    std::fs::copy(
        repo("examples/speech_over_rain.ogg"),
        root.join(".cache/h.ogg"),
    )
    .expect("cp");
    std::fs::copy(
        repo("examples/speech_over_rain.ogg"),
        root.join("day1/.hidden.ogg"),
    )
    .expect("cp");
    std::fs::write(root.join("day1/notes.txt"), "not audio").expect("write");
    #[cfg(unix)]
    std::os::unix::fs::symlink("..", root.join("day2/sound/up")).expect("symlink");
    if broken {
        std::fs::write(
            root.join("day1/broken.wav"),
            b"RIFF\x24\x00\x00\x00WAVEjunkjunk",
        )
        .expect("write");
        std::fs::write(root.join("day2/empty.mp3"), b"").expect("write");
    }
}

/// Files of [`library`]: 10 readable, plus 2 broken.
const GOOD_FILES: usize = 10;

fn batch(args: &[&str], paths: &[&Path]) -> Output {
    let mut cmd = roomtone();
    cmd.arg("batch").args(args);
    for p in paths {
        cmd.arg(p);
    }
    cmd.output().expect("run")
}

fn records(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out.join("labels.jsonl"))
        .expect("labels.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

fn paths_of(recs: &[Value]) -> Vec<String> {
    recs.iter()
        .map(|r| r["path"].as_str().expect("path").to_string())
        .collect()
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn bad_files_become_error_records_and_the_rest_complete_in_path_order() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lib = tmp.path().join("lib");
    library(&lib, true);
    let out = tmp.path().join("out");
    let o = batch(
        &[
            "--quiet",
            "--jobs",
            "2",
            "--out",
            out.to_str().expect("utf8"),
        ],
        &[&lib],
    );
    assert_eq!(o.status.code(), Some(1), "two files failed");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("10 ok, 2 failed, 0 skipped"), "{stderr}");
    assert!(
        stderr.contains("broken.wav") && stderr.contains("empty.mp3"),
        "{stderr}"
    );

    let recs = records(&out);
    let paths = paths_of(&recs);
    assert_eq!(recs.len(), GOOD_FILES + 2);
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted, "sorted by path");
    assert!(
        !paths
            .iter()
            .map(|p| p
                .strip_prefix(lib.to_str().expect("utf8"))
                .expect("under lib"))
            .any(|p| p.contains("/.") || p.contains("notes.txt")),
        "{paths:?}"
    );
    assert!(
        !paths.iter().any(|p| p.contains("/up/")),
        "symlink loop followed: {paths:?}"
    );
    for r in &recs {
        let p = r["path"].as_str().expect("path");
        let size = std::fs::metadata(p).expect("stat").len();
        assert_eq!(r["size_bytes"].as_u64(), Some(size), "{p}");
        assert!(r["mtime_ns"].as_i64().expect("mtime") > 0);
        if p.ends_with("broken.wav") || p.ends_with("empty.mp3") {
            assert!(r["error"].as_str().expect("error").contains(p), "{r}");
            assert!(r.get("ambience").is_none());
        } else {
            assert!(r["duration_s"].as_f64().expect("duration") > 0.4, "{r}");
            assert!(r["ambience"].is_string() && r["segments"].is_array(), "{r}");
        }
    }
    let rain = recs
        .iter()
        .find(|r| r["path"].as_str().is_some_and(|p| p.ends_with("rain.ogg")))
        .expect("rain");
    assert!((rain["duration_s"].as_f64().expect("d") - 12.0).abs() < 0.01);

    let csv = read(&out.join("labels.csv"));
    assert_eq!(csv.lines().count(), 1 + recs.len());
    assert!(csv.starts_with(
        "path,duration_s,ambience,labels,speech,segments,speech_segments,audioset_top,error,size_bytes,mtime_ns\n"
    ));
    assert!(
        !out.join("labels.partial.jsonl").exists(),
        "journal removed at the end"
    );
    let page = read(&out.join("report/page-0001.html"));
    assert_eq!(page.matches("<img class=\"sg\"").count(), GOOD_FILES);
    let index = read(&out.join("report.html"));
    assert!(index.contains("href=\"report/page-0001.html\""));
    for html in [&index, &page] {
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "self-contained"
        );
    }
}

#[test]
fn one_job_and_three_jobs_write_the_same_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lib = tmp.path().join("lib");
    library(&lib, true);
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    batch(
        &["--quiet", "--jobs", "1", "--out", a.to_str().expect("utf8")],
        &[&lib],
    );
    batch(
        &["--quiet", "--jobs", "3", "--out", b.to_str().expect("utf8")],
        &[&lib],
    );
    for f in [
        "labels.jsonl",
        "labels.csv",
        "spectrograms.jsonl",
        "report.html",
        "report/index.js",
        "report/page-0001.html",
    ] {
        assert_eq!(
            read(&a.join(f)),
            read(&b.join(f)).replace(b.to_str().expect("utf8"), a.to_str().expect("utf8")),
            "{f}"
        );
    }
    assert_eq!(records(&a).len(), GOOD_FILES + 2);
}

#[test]
fn shards_cover_every_file_once_and_their_merge_equals_a_single_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lib = tmp.path().join("lib");
    library(&lib, true);
    let all = tmp.path().join("all");
    batch(
        &[
            "--quiet",
            "--jobs",
            "2",
            "--out",
            all.to_str().expect("utf8"),
        ],
        &[&lib],
    );
    let everything: Vec<String> = paths_of(&records(&all));
    assert_eq!(everything.len(), GOOD_FILES + 2);

    let n = 3;
    let mut seen = BTreeSet::new();
    let mut dirs = Vec::new();
    let mut nonempty = 0;
    for k in 0..n {
        let d = tmp.path().join(format!("shard{k}"));
        let o = batch(
            &[
                "--quiet",
                "--jobs",
                "1",
                "--shard",
                &format!("{k}/{n}"),
                "--out",
                d.to_str().expect("utf8"),
            ],
            &[&lib],
        );
        let stderr = String::from_utf8_lossy(&o.stderr);
        // Every share writes its outputs, an empty one too (exit 1 only for the broken files).
        assert!(
            matches!(o.status.code(), Some(0 | 1)) && d.join("labels.jsonl").exists(),
            "shard {k}: {stderr}"
        );
        dirs.push(d.clone());
        if records(&d).is_empty() {
            continue;
        }
        nonempty += 1;
        for p in paths_of(&records(&d)) {
            assert!(seen.insert(p.clone()), "{p} in two shards");
        }
    }
    assert!(
        nonempty >= 2,
        "12 files over 3 shares should use at least two"
    );
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        everything,
        "every file in one shard"
    );

    let merged = tmp.path().join("merged");
    let mut cmd = roomtone();
    cmd.arg("merge").arg("--out").arg(&merged).args(&dirs);
    cmd.assert().success();
    for f in ["labels.jsonl", "labels.csv", "spectrograms.jsonl"] {
        assert_eq!(read(&merged.join(f)), read(&all.join(f)), "{f}");
    }
    let strip_title = |s: String| s.lines().skip(2).collect::<Vec<_>>().join("\n");
    for f in ["report.html", "report/page-0001.html"] {
        assert_eq!(
            strip_title(read(&merged.join(f))).replace(merged.to_str().expect("utf8"), ""),
            strip_title(read(&all.join(f))).replace(all.to_str().expect("utf8"), ""),
            "{f}"
        );
    }

    // Merging a shard twice is refused.
    let mut cmd = roomtone();
    cmd.arg("merge")
        .arg("--out")
        .arg(tmp.path().join("twice"))
        .arg(&dirs[0])
        .arg(&dirs[0]);
    cmd.assert()
        .failure()
        .stderr(predicates::str::contains("is in both"));
}

#[test]
fn resume_skips_exactly_the_files_done_with_the_same_size_and_time() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lib = tmp.path().join("lib");
    library(&lib, false);
    let out = tmp.path().join("out");
    let outs = out.to_str().expect("utf8");
    let o = batch(&["--quiet", "--out", outs], &[&lib]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let first = records(&out);

    // Without --resume an existing output is refused.
    let o = batch(&["--quiet", "--out", outs], &[&lib]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--resume"));

    // Change one file, add one, and run again with --resume.
    let changed = lib.join("day2/synth_2.wav");
    write_wav(&changed, 16_000, &vec![0.1; 16_000 * 3]);
    let added = lib.join("day2/new.wav");
    write_wav(&added, 16_000, &vec![0.0; 16_000]);
    let o = batch(&["--quiet", "--resume", "--out", outs], &[&lib]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("2 ok, 0 failed, {} skipped", GOOD_FILES - 1)),
        "{stderr}"
    );
    let second = records(&out);
    assert_eq!(second.len(), GOOD_FILES + 1);
    for r in &second {
        let p = r["path"].as_str().expect("path");
        let before = first.iter().find(|f| f["path"] == r["path"]);
        if p == changed.to_str().expect("utf8") {
            assert!(
                (r["duration_s"].as_f64().expect("d") - 3.0).abs() < 0.01,
                "re-tagged"
            );
        } else if p == added.to_str().expect("utf8") {
            assert!(before.is_none());
        } else {
            assert_eq!(Some(r), before, "kept as it was");
        }
    }

    // A run killed outright leaves only its journal (one whole line per finished file, maybe a
    // torn last line): --resume takes the finished files from it.
    let journal: String = read(&out.join("labels.jsonl"))
        .lines()
        .take(4)
        .map(|l| format!("{{\"record\":{l},\"spectrogram\":null}}\n"))
        .collect();
    for f in [
        "labels.jsonl",
        "labels.csv",
        "spectrograms.jsonl",
        "report.html",
    ] {
        std::fs::remove_file(out.join(f)).expect("rm");
    }
    std::fs::write(
        out.join("labels.partial.jsonl"),
        journal + "{\"record\":{\"pa",
    )
    .expect("write");
    let o = batch(&["--quiet", "--resume", "--out", outs], &[&lib]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("{} ok, 0 failed, 4 skipped", GOOD_FILES + 1 - 4)),
        "{stderr}"
    );
    assert_eq!(records(&out), second);
    assert!(!out.join("labels.partial.jsonl").exists());
}

#[test]
fn separate_and_remix_write_stems_and_remixes_mirroring_the_input_tree() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lib = tmp.path().join("lib");
    std::fs::create_dir_all(lib.join("day1")).unwrap();
    std::fs::copy(
        repo("examples/speech_over_rain.ogg"),
        lib.join("day1/take.ogg"),
    )
    .unwrap();
    std::fs::write(lib.join("day1/broken.wav"), b"RIFF....WAVEfmt ").unwrap();
    let out = tmp.path().join("out");
    let mut cmd = roomtone();
    cmd.args(["batch", "--quiet", "--jobs", "1", "--out"])
        .arg(&out)
        .args(["--remix", "--background-gain-db -12 --preset ebu-r128"])
        .arg(&lib);
    let output = cmd.output().unwrap();
    assert_eq!(output.status.code(), Some(1), "the broken file fails");
    assert!(String::from_utf8_lossy(&output.stderr).contains("broken.wav"));
    let recs = records(&out);
    assert_eq!(recs.len(), 2);
    assert!(recs
        .iter()
        .any(|r| r["path"].as_str().unwrap().ends_with("take.ogg") && r.get("error").is_none()));
    for stem in [
        "stems/day1/take.ogg.speech.wav",
        "stems/day1/take.ogg.background.wav",
        "remix/day1/take.ogg.remix.wav",
    ] {
        let r = hound::WavReader::open(out.join(stem)).expect(stem);
        assert_eq!(r.spec().sample_rate, 48_000, "{stem}");
        assert_eq!(r.spec().channels, 2, "{stem}");
        assert_eq!(r.duration(), 12 * 48_000, "{stem}");
        // Readable like the other outputs (not the temporary file's private 0600).
        #[cfg(unix)]
        assert_eq!(
            mode(&out.join(stem)),
            mode(&out.join("labels.jsonl")),
            "{stem}"
        );
    }
    #[cfg(unix)]
    assert_eq!(mode(&out.join("labels.jsonl")), normal_mode(&out));
    assert!(!out.join("stems/day1/broken.wav.speech.wav").exists());

    // Remix options are checked before anything runs.
    let out2 = tmp.path().join("out2");
    let mut cmd = roomtone();
    cmd.args(["batch", "--out"])
        .arg(&out2)
        .args(["--remix", "--loudness -23"])
        .arg(&lib);
    cmd.assert()
        .code(2)
        .stderr(predicates::str::contains("--remix"));
    assert!(!out2.exists(), "nothing written");
}

/// Permission bits of `p`.
#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

/// 0644 less this process's umask (read off a file made in `dir` with mode 0644).
#[cfg(unix)]
fn normal_mode(dir: &Path) -> u32 {
    use std::os::unix::fs::OpenOptionsExt;
    let probe = dir.join("umask-probe");
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(&probe)
        .expect("probe");
    let m = mode(&probe);
    std::fs::remove_file(&probe).expect("rm probe");
    m
}

/// `secs` seconds of a 440 Hz tone with noise at 16 kHz.
fn short_wav(path: &Path, secs: f32) {
    let n = (16_000.0 * secs) as usize;
    let x: Vec<f32> = common::sine(440.0, 16_000, n, 0.3)
        .iter()
        .zip(common::noise(n, 0.1, 3))
        .map(|(a, b)| a + b)
        .collect();
    write_wav(path, 16_000, &x);
}

/// Frames of a WAV file.
fn wav_frames(p: &Path) -> u32 {
    hound::WavReader::open(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .duration()
}

#[test]
fn stems_of_files_sharing_a_name_get_their_own_files_or_are_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lib = tmp.path().join("lib");
    std::fs::create_dir_all(lib.join("a")).expect("mkdir");
    std::fs::create_dir_all(lib.join("b")).expect("mkdir");
    short_wav(&lib.join("a/take.wav"), 1.0);
    std::fs::copy(
        repo("tests/data/media/mp3_44100_2ch.mp3"),
        lib.join("a/take.mp3"),
    )
    .expect("cp");
    short_wav(&lib.join("b/take.wav"), 1.5);
    let out = tmp.path().join("out");
    let o = batch(
        &["--quiet", "--jobs", "1", "--separate", "--out"],
        &[&out, &lib],
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("3 ok, 0 failed"), "{stderr}");
    // The input tree mirrored, the extension kept: three pairs, each as long as its input.
    let mp3_frames = roomtone::audio::read_all(&lib.join("a/take.mp3"))
        .expect("mp3")
        .frames() as u32;
    for (name, frames) in [
        ("a/take.wav", 16_000),
        ("a/take.mp3", mp3_frames),
        ("b/take.wav", 24_000),
    ] {
        for kind in ["speech", "background"] {
            let stem = out.join(format!("stems/{name}.{kind}.wav"));
            assert_eq!(wav_frames(&stem), frames, "{}", stem.display());
        }
    }
    let mut written: Vec<String> = std::fs::read_dir(out.join("stems/a"))
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(
        written,
        [
            "take.mp3.background.wav",
            "take.mp3.speech.wav",
            "take.wav.background.wav",
            "take.wav.speech.wav"
        ]
    );

    // Given directly, a/take.wav and b/take.wav are both "take.wav": refused before anything runs,
    // naming both.
    let out2 = tmp.path().join("out2");
    let (a, b) = (lib.join("a/take.wav"), lib.join("b/take.wav"));
    let o = batch(&["--quiet", "--separate", "--out"], &[&out2, &a, &b]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(a.to_str().expect("utf8"))
            && stderr.contains(b.to_str().expect("utf8"))
            && stderr.contains("stems/take.wav.speech.wav"),
        "{stderr}"
    );
    assert!(!out2.exists(), "nothing written");
}

#[test]
fn a_stem_pair_is_written_whole_or_not_at_all_and_resume_redoes_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lib = tmp.path().join("lib");
    std::fs::create_dir_all(&lib).expect("mkdir");
    short_wav(&lib.join("take.wav"), 1.0);
    let out = tmp.path().join("out");
    // The background stem cannot be put in place (its name is taken by a folder), as when the
    // disk fills up between the two stems.
    let blocker = out.join("stems/take.wav.background.wav");
    std::fs::create_dir_all(blocker.join("x")).expect("mkdir");
    let o = batch(&["--quiet", "--separate", "--out"], &[&out, &lib]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("separation failed"), "{stderr}");
    let recs = records(&out);
    assert!(recs[0]["error"].as_str().is_some(), "{recs:?}");
    let left: Vec<String> = std::fs::read_dir(out.join("stems"))
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        left,
        ["take.wav.background.wav"],
        "no lone speech stem, no temporary file"
    );

    // The cause gone, --resume redoes the file and writes both stems.
    std::fs::remove_dir_all(&blocker).expect("rm");
    let o = batch(
        &["--quiet", "--separate", "--resume", "--out"],
        &[&out, &lib],
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("1 ok, 0 failed, 0 skipped"), "{stderr}");
    for kind in ["speech", "background"] {
        assert_eq!(
            wav_frames(&out.join(format!("stems/take.wav.{kind}.wav"))),
            16_000
        );
    }
}

#[test]
fn a_torn_journal_tail_is_cut_off_so_resume_keeps_working() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lib = tmp.path().join("lib");
    std::fs::create_dir_all(&lib).expect("mkdir");
    for i in 0..4 {
        short_wav(&lib.join(format!("t{i}.wav")), 1.0 + 0.25 * i as f32);
    }
    let straight = tmp.path().join("straight");
    let o = batch(&["--quiet", "--out"], &[&straight, &lib]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let all = read(&straight.join("labels.jsonl"));

    // A run killed while writing its second record: one whole line and a torn one.
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).expect("mkdir");
    let first = all.lines().next().expect("a record");
    let journal = out.join("labels.partial.jsonl");
    std::fs::write(
        &journal,
        format!("{{\"record\":{first},\"spectrogram\":null}}\n{{\"record\":{{\"pa"),
    )
    .expect("write");
    // The next run appends its records, then dies before its final files are in place (here
    // labels.csv cannot be written), so its journal stays.
    std::fs::create_dir_all(out.join("labels.csv/x")).expect("mkdir");
    let o = batch(
        &["--quiet", "--resume", "--jobs", "1", "--out"],
        &[&out, &lib],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = read(&journal);
    assert!(text.ends_with('\n'), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        4,
        "the kept record and the three redone: {text}"
    );
    for l in &lines {
        let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        assert!(v["record"]["path"].is_string(), "{l}");
    }

    // And the run after that resumes from it.
    std::fs::remove_dir_all(out.join("labels.csv")).expect("rm");
    let o = batch(&["--quiet", "--resume", "--out"], &[&out, &lib]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("0 ok, 0 failed, 4 skipped"), "{stderr}");
    assert_eq!(read(&out.join("labels.jsonl")), all);
    assert!(!journal.exists());
}

#[test]
fn an_empty_shard_succeeds_and_merge_takes_a_shard_left_with_only_its_journal() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lib = tmp.path().join("lib");
    std::fs::create_dir_all(&lib).expect("mkdir");
    short_wav(&lib.join("only.wav"), 1.0);
    // The share "only.wav" hashes to, of 2.
    let full = (0..2)
        .find(|&k| {
            format!("{k}/2")
                .parse::<roomtone::batch::Shard>()
                .expect("shard")
                .contains("only.wav")
        })
        .expect("one share holds it");
    let empty = 1 - full;

    let d_empty = tmp.path().join("shard-empty");
    let o = batch(
        &["--quiet", "--shard", &format!("{empty}/2"), "--out"],
        &[&d_empty, &lib],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(read(&d_empty.join("labels.jsonl")), "");
    assert_eq!(read(&d_empty.join("spectrograms.jsonl")), "");
    assert_eq!(
        read(&d_empty.join("labels.csv")),
        format!("{}\n", roomtone::batch::LABELS_CSV_HEADER)
    );
    assert!(read(&d_empty.join("report.html")).contains("</html>"));

    // The other shard was killed: only its journal is there.
    let d_full = tmp.path().join("shard-full");
    let o = batch(
        &["--quiet", "--shard", &format!("{full}/2"), "--out"],
        &[&d_full, &lib],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let labels = read(&d_full.join("labels.jsonl"));
    let journal: String = labels
        .lines()
        .map(|l| format!("{{\"record\":{l},\"spectrogram\":null}}\n"))
        .collect();
    for f in [
        "labels.jsonl",
        "labels.csv",
        "spectrograms.jsonl",
        "report.html",
    ] {
        std::fs::remove_file(d_full.join(f)).expect("rm");
    }
    std::fs::write(d_full.join("labels.partial.jsonl"), journal).expect("write");

    let merged = tmp.path().join("merged");
    let mut cmd = roomtone();
    cmd.arg("merge")
        .arg("--out")
        .arg(&merged)
        .arg(&d_empty)
        .arg(&d_full);
    cmd.assert().success();
    assert_eq!(read(&merged.join("labels.jsonl")), labels);

    // A folder with neither file is still refused, by name.
    let nothing = tmp.path().join("nothing");
    std::fs::create_dir_all(&nothing).expect("mkdir");
    let mut cmd = roomtone();
    cmd.arg("merge")
        .arg("--out")
        .arg(tmp.path().join("m2"))
        .arg(&nothing);
    cmd.assert()
        .failure()
        .stderr(predicates::str::contains("nothing: holds neither"));
}

#[test]
fn labels_csv_cells_a_spreadsheet_would_run_are_defused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let formula = "=HYPERLINK(\"http:x\",\"y\").wav";
    short_wav(&tmp.path().join(formula), 1.0);
    std::fs::write(tmp.path().join("-broken.wav"), b"RIFF....WAVEfmt ").expect("write");
    let o = roomtone()
        .current_dir(tmp.path())
        .args([
            "batch",
            "--quiet",
            "--out",
            "out",
            "--",
            formula,
            "-broken.wav",
        ])
        .output()
        .expect("run");
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let csv = read(&tmp.path().join("out/labels.csv"));
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{csv}");
    // Sorted by path: "-broken.wav" < "=HYPERLINK...".
    assert!(
        rows[0].starts_with("\"'-broken.wav\",,,,,,,,\"'-broken.wav: "),
        "path and error cells: {}",
        rows[0]
    );
    assert!(
        rows[1].starts_with("\"'=HYPERLINK(\"\"http:x\"\",\"\"y\"\").wav\","),
        "{}",
        rows[1]
    );
    // No cell of any row starts with a formula character.
    for row in rows {
        for cell in row.split(',') {
            assert!(!cell.starts_with(['=', '+', '-', '@']), "{cell} in {row}");
        }
    }
}

#[test]
fn a_second_run_on_a_busy_outdir_fails_at_once_and_a_dead_runs_lock_does_not_block() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lib = tmp.path().join("lib");
    std::fs::create_dir_all(&lib).expect("mkdir");
    short_wav(&lib.join("take.wav"), 1.0);
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).expect("mkdir");
    // Another run holds the folder (this test process plays it).
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(out.join(".roomtone.lock"))
        .expect("lock file");
    lock.try_lock().expect("lock");
    for resume in [false, true] {
        let mut args = vec!["--quiet", "--out"];
        if resume {
            args.insert(0, "--resume");
        }
        let t0 = std::time::Instant::now();
        let o = batch(&args, &[&out, &lib]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(&format!("{}: another roomtone run", out.display())),
            "{stderr}"
        );
        assert!(t0.elapsed().as_secs() < 30, "failed at once");
        assert!(!out.join("labels.jsonl").exists());
    }
    // The holder dies (its lock goes with it; the file stays): the next run goes ahead.
    drop(lock);
    assert!(out.join(".roomtone.lock").exists());
    let o = batch(&["--quiet", "--out"], &[&out, &lib]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(records(&out).len(), 1);

    // merge locks its output folder the same way.
    let merged = tmp.path().join("merged");
    std::fs::create_dir_all(&merged).expect("mkdir");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(merged.join(".roomtone.lock"))
        .expect("lock file");
    lock.try_lock().expect("lock");
    let mut cmd = roomtone();
    cmd.arg("merge").arg("--out").arg(&merged).arg(&out);
    cmd.assert()
        .failure()
        .stderr(predicates::str::contains(format!(
            "{}: another roomtone run",
            merged.display()
        )));
    assert!(!merged.join("labels.jsonl").exists());
}

#[test]
fn bad_shard_values_are_refused() {
    let mut cmd = roomtone();
    cmd.args(["batch", "--out", "x", "--shard", "4/4", "."]);
    cmd.assert()
        .failure()
        .stderr(predicates::str::contains("0 <= K < N"));
}

/// Path of a headless Chromium: `$CHROMIUM`, else `chromium` on PATH (scripts/setup_test.sh
/// installs Debian's package).
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join(name))
                    .find(|p| p.is_file())
            })
        })
}

#[test]
fn the_report_renders_rows_and_images_in_headless_chromium() {
    let Some(browser) = chromium() else {
        panic!("chromium not found: run scripts/setup_test.sh (make test does) or set CHROMIUM");
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let lib = tmp.path().join("lib");
    library(&lib, true);
    let out = tmp.path().join("out");
    batch(&["--quiet", "--out", out.to_str().expect("utf8")], &[&lib]);
    let profile = tmp.path().join("profile");
    let dump = |url: String, extra: &[&str]| -> String {
        let o = std::process::Command::new(&browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--virtual-time-budget=10000",
            ])
            .args(extra)
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("--dump-dom")
            .arg(&url)
            .output()
            .expect("run chromium");
        let dom = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(
            o.status.success() && dom.contains("</html>"),
            "{url}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        dom
    };
    let page = format!("file://{}", out.join("report/page-0001.html").display());
    let dom = dump(page.clone(), &[]);
    // The script ran: it counted rows and decoded thumbnails.
    let total = GOOD_FILES + 2;
    assert!(
        dom.contains(&format!("{total} of {total} files")),
        "filter script did not run"
    );
    assert!(
        dom.contains(&format!("data-images=\"{GOOD_FILES}/{GOOD_FILES}\"")),
        "thumbnails not all decoded: {}",
        dom.lines().find(|l| l.contains("<body")).unwrap_or("")
    );
    let body = dom
        .split("<table id=\"files\">")
        .nth(1)
        .expect("files table");
    assert_eq!(body.matches("<tr id=\"r").count(), total);
    assert_eq!(body.matches("<svg class=\"tl\"").count(), GOOD_FILES);
    // The rain clip's dialogue regions are drawn under its timeline.
    assert!(
        body.contains("<rect class=\"dl\""),
        "no dialogue regions drawn"
    );

    // The index page finds files by label through report/index.js, loaded on demand.
    let recs = records(&out);
    let label = recs
        .iter()
        .find_map(|r| r["ambience"].as_str())
        .expect("a tagged file")
        .to_string();
    let with_label = recs
        .iter()
        .filter(|r| {
            r["ambience"] == label.as_str()
                || r["labels"]
                    .as_array()
                    .is_some_and(|ls| ls.iter().any(|l| l["label"] == label.as_str()))
        })
        .count();
    let index = format!("file://{}", out.join("report.html").display());
    for (l, n) in [(label.as_str(), with_label), ("error", 2)] {
        let dom = dump(format!("{index}#label={l}"), &[]);
        assert!(
            dom.contains(&format!("data-matches=\"{l}:{n}\"")),
            "label {l}: {}",
            dom.lines().find(|x| x.contains("<body")).unwrap_or("")
        );
        assert_eq!(
            dom.split("<ol id=\"found\">")
                .nth(1)
                .unwrap()
                .matches("<li>")
                .count(),
            n
        );
    }

    // Listening: page-0001.html#selftest presses the first file's play button, waits for its
    // metadata, clicks the middle of its timeline and records what the player did.
    let first = records(&out)
        .into_iter()
        .find(|r| r.get("error").is_none())
        .expect("a tagged file");
    // The page's click is the gesture a user's would be; headless has no user.
    let dom = dump(
        format!("{page}#selftest"),
        &["--autoplay-policy=no-user-gesture-required"],
    );
    let selftest = dom
        .split("data-selftest=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("no self-test result: {}", &dom[..dom.len().min(400)]));
    let field = |k: &str| {
        selftest
            .split(' ')
            .find_map(|f| f.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("{k} missing in {selftest:?}"))
            .to_string()
    };
    assert_eq!(field("player"), "audio", "{selftest}");
    // The player's source resolves to the file itself (a relative link from the report).
    let path = first["path"].as_str().unwrap();
    assert_eq!(field("src"), format!("file://{path}"), "{selftest}");
    let duration: f64 = field("duration").parse().unwrap();
    let tagged = first["duration_s"].as_f64().unwrap();
    assert!((duration - tagged).abs() < 0.05, "{duration} vs {tagged}");
    // A click at the middle of the timeline seeks to the middle of the file.
    let seeked: f64 = field("seeked").parse().unwrap();
    assert!(
        (seeked - tagged / 2.0).abs() < 0.1,
        "seeked to {seeked} of {tagged}"
    );
    // A click on the thumbnail opens it enlarged (960 pixels wide).
    assert_eq!(field("enlarged"), "960", "{selftest}");
}

/// Ctrl-C (SIGINT) mid-run: exit 130, finished records written in order, no journal or temporary
/// file left, and `--resume` completes to the same records as an uninterrupted run.
#[cfg(unix)]
#[test]
fn ctrl_c_keeps_finished_records_and_resume_completes_them() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lib = tmp.path().join("lib");
    std::fs::create_dir_all(&lib).expect("mkdir");
    let n = 16;
    for i in 0..n {
        std::fs::copy(
            repo("examples/speech_over_rain.ogg"),
            lib.join(format!("take_{i:02}.ogg")),
        )
        .expect("cp");
    }
    let out = tmp.path().join("out");
    let bin = assert_cmd::cargo::cargo_bin("roomtone");
    let child = std::process::Command::new(&bin)
        .args(["batch", "--quiet", "--jobs", "1", "--out"])
        .arg(&out)
        .arg(&lib)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    // Wait for two finished records in the journal, then interrupt.
    let journal = out.join("labels.partial.jsonl");
    let t0 = std::time::Instant::now();
    while std::fs::read_to_string(&journal).map_or(0, |s| s.lines().count()) < 2 {
        assert!(t0.elapsed().as_secs() < 120, "no progress");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let o = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&o.stderr);
    let recs = records(&out);
    if o.status.code() == Some(130) {
        assert!(recs.len() >= 2 && recs.len() < n, "{} records", recs.len());
        assert!(stderr.contains("not started (interrupted)"), "{stderr}");
    } else {
        // The run finished before the signal arrived: nothing to check but completeness.
        assert_eq!(recs.len(), n, "{stderr}");
    }
    let paths = paths_of(&recs);
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);
    let left: Vec<_> = std::fs::read_dir(&out)
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|f| f.contains("partial") || f.ends_with(".part") || f.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    let o = batch(
        &["--quiet", "--resume", "--out", out.to_str().expect("utf8")],
        &[&lib],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let straight = tmp.path().join("straight");
    batch(
        &["--quiet", "--out", straight.to_str().expect("utf8")],
        &[&lib],
    );
    assert_eq!(
        read(&out.join("labels.jsonl")),
        read(&straight.join("labels.jsonl"))
    );
}

#[test]
fn markers_are_written_per_clip_beside_the_labels_and_resume_adds_missing_ones() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lib = tmp.path().join("lib");
    library(&lib, true);
    let out = tmp.path().join("out");
    let outs = out.to_str().expect("utf8");
    let o = batch(&["--quiet", "--markers", "fcpxml", "--out", outs], &[&lib]);
    assert_eq!(o.status.code(), Some(1), "the broken files fail");
    let tagged: Vec<Value> = records(&out)
        .into_iter()
        .filter(|r| r.get("error").is_none())
        .collect();
    assert_eq!(tagged.len(), GOOD_FILES);
    let lib_prefix = format!("{}/", lib.display());
    for r in &tagged {
        let relative = r["path"]
            .as_str()
            .unwrap()
            .strip_prefix(&lib_prefix)
            .unwrap();
        let file = out.join("markers").join(format!("{relative}.fcpxml"));
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(
            text.contains("<fcpxml version=\"1.9\">"),
            "{}",
            file.display()
        );
    }
    // The rain clip's dialogue is on its timeline.
    let rain = std::fs::read_to_string(out.join("markers/day1/rain.ogg.fcpxml")).unwrap();
    assert!(rain.contains("value=\"dialogue\""), "{rain}");
    // Failed files get no marker file.
    let written = walk_files(&out.join("markers"));
    assert_eq!(written.len(), GOOD_FILES, "{written:?}");
    // --resume with another format: the kept files get their markers in it too.
    let o = batch(
        &[
            "--quiet",
            "--resume",
            "--markers",
            "csv-markers",
            "--out",
            outs,
        ],
        &[&lib],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(out.join("markers/day1/rain.ogg.csv").is_file());
    assert_eq!(walk_files(&out.join("markers")).len(), 2 * GOOD_FILES);
}

fn walk_files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                found.push(p.display().to_string());
            }
        }
    }
    found.sort();
    found
}

#[test]
fn resume_tags_again_the_files_an_older_version_recorded_without_dialogue_regions() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lib = tmp.path().join("lib");
    library(&lib, false);
    let out = tmp.path().join("out");
    let outs = out.to_str().expect("utf8");
    assert!(batch(&["--quiet", "--out", outs], &[&lib]).status.success());
    let now = records(&out);
    // labels.jsonl as a batch before speech_segments existed wrote it (one file left as today's).
    let old: String = std::fs::read_to_string(out.join("labels.jsonl"))
        .unwrap()
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            if i > 0 {
                v.as_object_mut().unwrap().remove("speech_segments");
            }
            format!("{v}\n")
        })
        .collect();
    std::fs::write(out.join("labels.jsonl"), old).unwrap();
    let o = batch(&["--quiet", "--resume", "--out", outs], &[&lib]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains(&format!("{} ok, 0 failed, 1 skipped", GOOD_FILES - 1)),
        "{stderr}"
    );
    assert_eq!(records(&out), now, "the same records as a fresh run");
}

/// `--stem-format flac`: `batch --separate` writes FLAC stems (`take.wav.speech.flac`), 24-bit, no
/// WAV beside them, summing to the input; `--resume` leaves them be; `roomtone remix --stems` finds
/// them (all gains 0 and no cleanup: the remix is their sum, the input); `batch --remix` keeps its
/// stems as `flac16` when asked; `--stem-format` without a stage is a usage error.
#[test]
fn stems_in_flac_are_written_kept_on_resume_and_found_by_remix() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lib = tmp.path().join("lib");
    std::fs::create_dir_all(lib.join("day1")).unwrap();
    let input = lib.join("day1/take.wav");
    short_wav(&input, 1.5);
    let out = tmp.path().join("out");
    let args = [
        "--quiet",
        "--jobs",
        "1",
        "--separate",
        "--stem-format",
        "flac",
    ];
    let run = |args: &[&str], out: &Path| {
        let o = batch(&[args, &["--out", out.to_str().unwrap()]].concat(), &[&lib]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    run(&args, &out);
    let stems = out.join("stems/day1");
    let x = roomtone::audio::read_all(&input).unwrap();
    let mut sum = vec![0f32; x.frames()];
    for stem in ["speech", "background"] {
        let path = stems.join(format!("take.wav.{stem}.flac"));
        assert!(!stems.join(format!("take.wav.{stem}.wav")).exists());
        let info = roomtone::AudioReader::open(&path).unwrap().info().clone();
        assert_eq!(
            (info.codec.as_str(), info.bits_per_sample),
            ("flac", Some(24))
        );
        let s = roomtone::audio::read_all(&path).unwrap();
        assert_eq!(s.frames(), x.frames());
        sum.iter_mut()
            .zip(&s.channels[0])
            .for_each(|(a, b)| *a += b);
    }
    let worst = sum
        .iter()
        .zip(&x.channels[0])
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(
        worst <= 2.0 / 8_388_608.0 + 1e-9,
        "stems sum to the input within {worst}"
    );

    // --resume: nothing to redo, the stems untouched.
    let stamp = |p: &Path| std::fs::metadata(p).unwrap().modified().unwrap();
    let speech = stems.join("take.wav.speech.flac");
    let before = stamp(&speech);
    run(&[&args[..], &["--resume"]].concat(), &out);
    assert_eq!(stamp(&speech), before, "resume rewrote the stems");

    // remix --stems finds the FLAC stems by the names batch gives them.
    let remixed = tmp.path().join("remixed.wav");
    roomtone()
        .args(["remix", "--no-clean", "--stems"])
        .arg(&stems)
        .arg(&input)
        .arg("-o")
        .arg(&remixed)
        .assert()
        .success();
    let r = roomtone::audio::read_all(&remixed).unwrap();
    let worst = r.channels[0]
        .iter()
        .zip(&x.channels[0])
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(
        worst <= 4.0 / 8_388_608.0,
        "the remix of the FLAC stems is {worst} off the input"
    );

    // batch --remix keeps its stems in the format asked.
    let out2 = tmp.path().join("out2");
    run(
        &[
            "--quiet",
            "--jobs",
            "1",
            "--remix",
            "--background-gain-db -6",
            "--stem-format",
            "flac16",
        ],
        &out2,
    );
    let kept = out2.join("stems/day1/take.wav.background.flac");
    let info = roomtone::AudioReader::open(&kept).unwrap().info().clone();
    assert_eq!(info.bits_per_sample, Some(16), "{}", kept.display());
    assert!(out2.join("remix/day1/take.wav.remix.wav").is_file());

    // Without --separate or --remix there are no stems to format.
    let out3 = tmp.path().join("out3");
    let o = batch(
        &["--stem-format", "flac", "--out", out3.to_str().unwrap()],
        &[&lib],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--stem-format"));
    assert!(!out3.exists());
}
