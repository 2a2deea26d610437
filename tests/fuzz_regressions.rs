//! Every input the fuzzers found a crash, hang or out-of-memory with (`tests/data/fuzz/`, see its
//! README) is replayed through the fuzz targets' own per-input code (`fuzz/src/harness.rs`,
//! included here): `decode`, `info`, `remix`, `tag` and `separate` must each give a clean `Err` or
//! finite, consistent output: never a panic, an abort or a hang.
//!
//! Each file runs in a child process (this test binary again, under the fuzzers' 2 GB address-space
//! limit and a time limit), so an abort on a failed allocation is one failed file, not a dead run.

#[path = "../fuzz/src/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/fuzz");
/// The address-space limit scripts/fuzz.sh gives afl-fuzz (`-m`), in MB.
const MEM_MB: u64 = 2048;
/// A hang: the fuzzers give an input 2 s in the release build (`afl-fuzz -t`); here the child loads
/// two models and runs every harness in a dev build, 0.2–0.5 s for a fixed reproducer on an idle
/// machine. The limit is generous because the suite's tests share two loaded cores (5 s was once
/// exceeded so); a real hang never ends, so it still fails.
const TIME_LIMIT: Duration = Duration::from_secs(30);
const CHILD_ENV: &str = "ROOMTONE_FUZZ_REPLAY";

/// Reproducers of crashes that are known and not fixed yet, and why. The main test skips them;
/// `cargo test --test fuzz_regressions -- --ignored` replays them (and fails until they are fixed).
/// Remove an entry when its fix lands.
const KNOWN_OPEN: &[(&str, &str)] = &[
    // Not a crash: a valid but odd rate (192,001 Hz shares no factor with 16 or 48 kHz) makes the
    // exact resampler plan 384,002-point transforms, ≈ 0.5 s per file in a release build, more
    // than this replay's 5 s in a debug build running all five harnesses.
    (
        "wav-rate-192001hz.wav",
        "a rate coprime with 16/48 kHz: 384 002-point FFTs, seconds per file in a debug build",
    ),
];

/// The reproducers: every file in `tests/data/fuzz/` but its README.
fn reproducers() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(DATA)
        .expect("tests/data/fuzz")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.file_name().is_some_and(|n| n != "README.md"))
        .collect();
    files.sort();
    files
}

fn name(path: &Path) -> &str {
    path.file_name()
        .and_then(|n| n.to_str())
        .expect("file name")
}

/// Runs every target's harness on `path` in a child process; `Err` says how it failed.
fn replay(path: &Path) -> Result<(), String> {
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {}; exec \"$0\" \"$@\"", MEM_MB * 1024))
        .arg(exe)
        .args(["--ignored", "--exact", "replay_child", "--nocapture"])
        .env(CHILD_ENV, path)
        // As the fuzz targets ran: roomtone's own decoding, no ffmpeg fallback.
        .env("ROOMTONE_FFMPEG", "")
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the replay child");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        if started.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{}: hang (over {TIME_LIMIT:?})", name(path)));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("child's stderr");
    if status.success() {
        return Ok(());
    }
    let why: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("panicked at") || l.contains("memory allocation"))
        .collect();
    let next: Vec<&str> = stderr
        .lines()
        .skip_while(|l| !l.contains("panicked at"))
        .skip(1)
        .take(1)
        .collect();
    Err(format!(
        "{}: {status}: {} {}",
        name(path),
        why.join(" / "),
        next.join("")
    ))
}

/// The child: `ROOMTONE_FUZZ_REPLAY` names one file, run through each fuzz target's harness.
#[test]
#[ignore = "the child process of the replay tests; needs ROOMTONE_FUZZ_REPLAY"]
fn replay_child() {
    let path = PathBuf::from(std::env::var_os(CHILD_ENV).expect("ROOMTONE_FUZZ_REPLAY"));
    let dir = tempfile::tempdir().expect("temporary folder");
    // Like the targets, each harness reads the file under the name its first bytes suggest.
    let input = harness::write_input(dir.path(), &std::fs::read(&path).expect("reproducer"));
    let out = tempfile::tempdir().expect("temporary folder");

    let mut mel = roomtone::features::LogMel::new(harness::yamnet_mel_params()).expect("front end");
    let _ = harness::decode(&input, &mut mel);
    let _ = harness::info(&input);
    let _ = harness::remix(&input, out.path());

    let models = roomtone::models::ModelContext::from_env();
    let tagger = roomtone::classify::Tagger::load(&models).expect("YAMNet (scripts/setup.sh)");
    let mut worker = tagger
        .worker(&roomtone::classify::TagConfig::default())
        .expect("a YAMNet session");
    let _ = harness::tag(&mut worker, &input);

    use roomtone::separate::{Backends, ModelChoice, Separator};
    let backends =
        Backends::load(&models, ModelChoice::Dfn3).expect("DeepFilterNet3 (scripts/setup.sh)");
    let mut sep = Separator::from_backends(&backends, &models).expect("DeepFilterNet3 sessions");
    let _ = harness::separate(&mut sep, &input, out.path());
}

#[test]
fn fuzz_findings_give_an_error_or_finite_output() {
    let files = reproducers();
    assert!(
        files.len() > KNOWN_OPEN.len(),
        "tests/data/fuzz holds the reproducers"
    );
    let failures: Vec<String> = files
        .iter()
        .filter(|p| !KNOWN_OPEN.iter().any(|(n, _)| *n == name(p)))
        .filter_map(|p| replay(p).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} reproducer(s) still crash:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn known_open_entries_name_reproducers() {
    let files = reproducers();
    for (n, why) in KNOWN_OPEN {
        assert!(
            files.iter().any(|p| name(p) == *n),
            "KNOWN_OPEN names {n} ({why}), which is not in tests/data/fuzz"
        );
    }
}

#[test]
#[ignore = "known crashes whose fixes have not landed (KNOWN_OPEN); run with --ignored"]
fn known_open_crashes_are_fixed() {
    let failures: Vec<String> = KNOWN_OPEN
        .iter()
        .filter_map(|(n, why)| {
            replay(&Path::new(DATA).join(n))
                .err()
                .map(|e| format!("{e}\n    ({why})"))
        })
        .collect();
    assert!(failures.is_empty(), "still open:\n{}", failures.join("\n"));
}

/// The replay passes a good file and fails when the child fails (here: a file that is not there),
/// so the tests above cannot pass by running nothing.
#[test]
fn replay_passes_a_good_file_and_reports_a_failing_child() {
    let good = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/media/flac_8000_2ch.flac"
    );
    assert_eq!(replay(Path::new(good)), Ok(()));
    let err = replay(&Path::new(DATA).join("no-such-file.wav")).expect_err("a failing child");
    assert!(err.contains("panicked at"), "{err}");
}
