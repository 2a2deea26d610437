//! The cluster files in examples/cluster/ are the ones the README quotes, and they work: the Slurm
//! array script run as each array task would run it (the SLURM_* variables set, no scheduler here)
//! and the Kubernetes Indexed Job's command run once per JOB_COMPLETION_INDEX, each followed by a
//! merge, give the same records as one `roomtone batch` over the whole library.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn cluster(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/cluster")
        .join(name)
}

const BIN: &str = env!("CARGO_BIN_EXE_roomtone");

#[test]
fn the_readme_quotes_the_cluster_files_as_they_are() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    for name in ["label.sbatch", "merge.sbatch", "label-job.yaml"] {
        let text = std::fs::read_to_string(cluster(name)).unwrap();
        assert!(
            readme.contains(text.trim_end()),
            "README.md does not quote examples/cluster/{name} as it is"
        );
        if name.ends_with(".sbatch") {
            let ok = Command::new("bash")
                .arg("-n")
                .arg(cluster(name))
                .status()
                .unwrap();
            assert!(ok.success(), "{name}: bash -n");
        }
    }
}

/// A small library: real speech and noise clips in two folders, and one broken file.
fn library(dir: &Path) -> PathBuf {
    let lib = dir.join("footage");
    std::fs::create_dir_all(lib.join("day1")).unwrap();
    std::fs::create_dir_all(lib.join("day2")).unwrap();
    std::fs::copy(
        common::data("clean_speech_16k.wav"),
        lib.join("day1/speech.wav"),
    )
    .unwrap();
    std::fs::copy(common::data("dfn3_input.wav"), lib.join("day1/noisy.wav")).unwrap();
    for (i, f) in [220.0, 330.0, 440.0, 550.0].iter().enumerate() {
        common::write_wav(
            &lib.join(format!("day2/tone{i}.wav")),
            16_000,
            &common::sine(*f, 16_000, 16_000, 0.3),
        );
    }
    std::fs::write(lib.join("day2/broken.wav"), b"RIFF....WAVEnot really").unwrap();
    lib
}

/// `labels.jsonl` of `dir` as JSON values, without the fields that measure time.
fn records(dir: &Path) -> Vec<serde_json::Value> {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.retain(|k, _| k != "elapsed_s" && k != "wall_s");
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let text = std::fs::read_to_string(dir.join("labels.jsonl")).unwrap();
    text.lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            strip(&mut v);
            v
        })
        .collect()
}

fn whole_library(lib: &Path, out: &Path) -> Vec<serde_json::Value> {
    let status = Command::new(BIN)
        .args(["batch", "--quiet", "--out"])
        .arg(out)
        .arg(lib)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1), "one broken file: exit status 1");
    records(out)
}

fn merge_sbatch(outdir: &Path) {
    let merged = Command::new("bash")
        .arg(cluster("merge.sbatch"))
        .arg(outdir)
        .env("ROOMTONE", BIN)
        .output()
        .unwrap();
    assert!(
        merged.status.success(),
        "merge.sbatch: {}",
        String::from_utf8_lossy(&merged.stderr)
    );
}

#[test]
fn the_slurm_array_script_and_merge_give_one_batch_s_records() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path());
    let expected = whole_library(&lib, &dir.path().join("single"));
    assert_eq!(expected.len(), 7);
    let outdir = dir.path().join("labels");
    for k in 0..3 {
        let task = Command::new("bash")
            .arg(cluster("label.sbatch"))
            .arg(&lib)
            .arg(&outdir)
            .env("ROOMTONE", BIN)
            .env("SLURM_ARRAY_TASK_COUNT", "3")
            .env("SLURM_ARRAY_TASK_ID", k.to_string())
            .env("SLURM_CPUS_PER_TASK", "1")
            .output()
            .unwrap();
        // A share with the broken file ends with status 1; the others 0.
        assert!(task.status.code().is_some_and(|c| c <= 1), "task {k}");
    }
    merge_sbatch(&outdir);
    assert_eq!(records(&outdir.join("all")), expected);
}

/// The Indexed Job's command, as its YAML folds it into one line.
fn job_command() -> String {
    let yaml = std::fs::read_to_string(cluster("label-job.yaml")).unwrap();
    let mut lines = yaml.lines().skip_while(|l| l.trim() != "- >-").skip(1);
    let mut parts = Vec::new();
    for l in lines.by_ref() {
        if !l.starts_with("              ") {
            break;
        }
        parts.push(l.trim());
    }
    assert!(!parts.is_empty(), "no folded command in label-job.yaml");
    parts.join(" ")
}

#[test]
fn the_indexed_job_command_for_every_index_and_merge_give_one_batch_s_records() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path());
    // More work, so that a pod can be killed while it is at it.
    std::fs::create_dir_all(lib.join("day3")).unwrap();
    for i in 0..24 {
        std::fs::copy(
            common::data("dfn3_input.wav"),
            lib.join(format!("day3/take{i:02}.wav")),
        )
        .unwrap();
    }
    let expected = whole_library(&lib, &dir.path().join("single"));
    let outdir = dir.path().join("labels");
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let command = job_command();
    let pod = |k: usize| {
        let mut c = Command::new("sh");
        c.args(["-c", &command])
            .env("PATH", &path)
            .env("SHARDS", "3")
            .env("LIBRARY", &lib)
            .env("OUTDIR", &outdir)
            .env("JOB_COMPLETION_INDEX", k.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        c
    };
    // Index 0 is killed (SIGKILL, as a node loss or an OOM kill) once it has finished a file, and
    // started again, as backoffLimitPerIndex does; --resume continues its share.
    let mut first = pod(0).spawn().unwrap();
    let journal = outdir.join("shard-0/labels.partial.jsonl");
    let started = std::time::Instant::now();
    while std::fs::read_to_string(&journal).map_or(true, |j| j.lines().count() < 2) {
        assert!(
            first.try_wait().unwrap().is_none(),
            "index 0 ended before it could be killed"
        );
        assert!(started.elapsed().as_secs() < 120, "no record from index 0");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(
        !outdir.join("shard-0/labels.jsonl").exists(),
        "killed before it finished"
    );
    for k in [0, 1, 2] {
        let status = pod(k).status().unwrap();
        assert!(status.code().is_some_and(|c| c <= 1), "index {k}");
    }
    // One index run again after it succeeded: --resume makes it a no-op.
    assert!(pod(1).status().unwrap().code().is_some_and(|c| c <= 1));
    merge_sbatch(&outdir);
    assert_eq!(records(&outdir.join("all")), expected);
}

/// The Indexed Job's YAML against Kubernetes' own schema for a Job (kubernetes-validate, strict:
/// an unknown field is an error), at 1.33, the first release with backoffLimitPerIndex in GA.
#[test]
fn the_indexed_job_yaml_is_a_valid_kubernetes_job() {
    let tools = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/k8s-py");
    assert!(
        tools.join("kubernetes_validate").is_dir(),
        "{} is missing: run scripts/setup_pytools.sh k8s (make test does)",
        tools.display()
    );
    let validate = |file: &Path| {
        Command::new("python3")
            .args(["-m", "kubernetes_validate", "--strict", "-k", "1.33"])
            .arg(file)
            .env("PYTHONPATH", &tools)
            .output()
            .unwrap()
    };
    let ok = validate(&cluster("label-job.yaml"));
    assert!(
        ok.status.success(),
        "{}{}",
        String::from_utf8_lossy(&ok.stdout),
        String::from_utf8_lossy(&ok.stderr)
    );
    // The check is real: a misspelt field fails it.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    let yaml = std::fs::read_to_string(cluster("label-job.yaml")).unwrap();
    std::fs::write(
        &bad,
        yaml.replace("backoffLimitPerIndex", "backoffLimitPerIndx"),
    )
    .unwrap();
    let out = validate(&bad);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("backoffLimitPerIndx"));
}
