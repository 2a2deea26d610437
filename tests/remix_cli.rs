//! `roomtone remix` as users meet it: stems given with --stems, JSON report, output rules.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;

const SR: u32 = 44_100;

fn write_f32(path: &Path, channels: &[Vec<f32>]) {
    let spec = hound::WavSpec {
        channels: channels.len() as u16,
        sample_rate: SR,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..channels[0].len() {
        for ch in channels {
            w.write_sample(ch[i]).unwrap();
        }
    }
    w.finalize().unwrap();
}

fn read(path: &Path) -> (hound::WavSpec, Vec<Vec<f32>>) {
    let mut r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    let scale = 1.0 / (1u32 << (spec.bits_per_sample - 1)) as f32;
    let inter: Vec<f32> = r
        .samples::<i32>()
        .map(|s| s.unwrap() as f32 * scale)
        .collect();
    let nch = spec.channels as usize;
    let chans = (0..nch)
        .map(|c| inter.iter().skip(c).step_by(nch).copied().collect())
        .collect();
    (spec, chans)
}

/// Speech-like bursts (harmonic complex, 3 Hz envelope) and a noise bed, stereo, odd length.
fn stems(len: usize) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let mut seed = 42u64;
    let mut noise = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        ((seed >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) as f32
    };
    let speech: Vec<f32> = (0..len)
        .map(|i| {
            let t = i as f64 / f64::from(SR);
            let env = (std::f64::consts::TAU * 1.5 * t).sin().max(0.0);
            let v: f64 = (1..=10)
                .map(|k| (std::f64::consts::TAU * 150.0 * k as f64 * t).sin() / k as f64)
                .sum();
            (0.15 * env * v) as f32
        })
        .collect();
    let bg: Vec<f32> = (0..len).map(|_| 0.1 * noise()).collect();
    let bg2: Vec<f32> = bg.iter().rev().copied().collect();
    (vec![speech.clone(), speech], vec![bg, bg2])
}

/// Least-squares coefficients (a, b) of `out ≈ a·s + b·g` over all channels.
fn fit(out: &[Vec<f32>], s: &[Vec<f32>], g: &[Vec<f32>]) -> (f64, f64) {
    let (mut ss, mut gg, mut sg, mut os, mut og) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for c in 0..out.len() {
        for i in 0..out[c].len() {
            let (o, a, b) = (f64::from(out[c][i]), f64::from(s[c][i]), f64::from(g[c][i]));
            ss += a * a;
            gg += b * b;
            sg += a * b;
            os += o * a;
            og += o * b;
        }
    }
    let det = ss * gg - sg * sg;
    ((os * gg - og * sg) / det, (og * ss - os * sg) / det)
}

#[test]
fn remix_finds_the_stems_batch_writes_before_those_separate_writes() {
    let dir = tempfile::tempdir().unwrap();
    let len = SR as usize + 77;
    let (s, g) = stems(len);
    let mix: Vec<Vec<f32>> = (0..2)
        .map(|c| s[c].iter().zip(&g[c]).map(|(a, b)| a + b).collect())
        .collect();
    let input = dir.path().join("take.wav");
    write_f32(&input, &mix);
    let stems_dir = dir.path().join("stems");
    std::fs::create_dir(&stems_dir).unwrap();
    // `batch --separate` keeps the extension (take.wav.speech.wav); `separate` does not
    // (take.speech.wav, here swapped, as if they were another file's).
    write_f32(&stems_dir.join("take.wav.speech.wav"), &s);
    write_f32(&stems_dir.join("take.wav.background.wav"), &g);
    write_f32(&stems_dir.join("take.speech.wav"), &g);
    write_f32(&stems_dir.join("take.background.wav"), &s);
    let out = dir.path().join("out.wav");
    Command::cargo_bin("roomtone")
        .unwrap()
        .args(["remix", "--no-clean", "--background-gain-db", "-12", "-o"])
        .arg(&out)
        .arg("--stems")
        .arg(&stems_dir)
        .arg(&input)
        .assert()
        .success();
    let (_, y) = read(&out);
    let (a, b) = fit(&y, &s, &g);
    assert!((20.0 * a.log10()).abs() < 0.01, "speech {a}");
    assert!((20.0 * b.log10() + 12.0).abs() < 0.01, "background {b}");
}

#[test]
fn remix_with_stems_sets_the_levels_and_reports_json() {
    let dir = tempfile::tempdir().unwrap();
    let len = SR as usize * 4 + 123;
    let (s, g) = stems(len);
    let mix: Vec<Vec<f32>> = (0..2)
        .map(|c| s[c].iter().zip(&g[c]).map(|(a, b)| a + b).collect())
        .collect();
    let input = dir.path().join("take.wav");
    write_f32(&input, &mix);
    let stems_dir = dir.path().join("stems");
    std::fs::create_dir(&stems_dir).unwrap();
    write_f32(&stems_dir.join("take.speech.wav"), &s);
    write_f32(&stems_dir.join("take.background.wav"), &g);
    let out = dir.path().join("out.wav");

    let assert = Command::cargo_bin("roomtone")
        .unwrap()
        .args([
            "remix",
            "--no-clean",
            "--background-gain-db",
            "-12",
            "--json",
            "-o",
        ])
        .arg(&out)
        .arg("--stems")
        .arg(&stems_dir)
        .arg(&input)
        .assert()
        .success();
    let report: serde_json::Value =
        serde_json::from_slice(&assert.get_output().stdout).expect("JSON report");
    assert_eq!(report["background_gain_db"], -12.0);
    assert!(report["before"]["integrated_lufs"].is_number());
    assert!(report["after"]["true_peak_dbtp"].is_number());
    assert!(report["limiter"].is_null());

    let (spec, y) = read(&out);
    assert_eq!((spec.sample_rate, spec.channels), (SR, 2));
    assert_eq!(y[0].len(), len);
    let (a, b) = fit(&y, &s, &g);
    assert!((20.0 * a.log10()).abs() < 0.01, "speech {a}");
    assert!((20.0 * b.log10() + 12.0).abs() < 0.01, "background {b}");

    // Existing output is refused without --force, accepted with it; normalisation hits its target.
    Command::cargo_bin("roomtone")
        .unwrap()
        .args(["remix", "-o"])
        .arg(&out)
        .arg("--stems")
        .arg(&stems_dir)
        .arg(&input)
        .assert()
        .failure()
        .stderr(contains("exists"));
    let assert = Command::cargo_bin("roomtone")
        .unwrap()
        .args([
            "remix",
            "--preset",
            "podcast",
            "--duck-db",
            "6",
            "--json",
            "--force",
            "-o",
        ])
        .arg(&out)
        .arg("--stems")
        .arg(&stems_dir)
        .arg(&input)
        .assert()
        .success();
    let report: serde_json::Value = serde_json::from_slice(&assert.get_output().stdout).unwrap();
    let i = report["after"]["integrated_lufs"].as_f64().unwrap();
    let tp = report["after"]["true_peak_dbtp"].as_f64().unwrap();
    assert!((i + 16.0).abs() <= 0.5, "{i} LUFS");
    assert!(tp <= -1.0, "{tp} dBTP");
    assert!(report["ducking"]["depth_db"] == 6.0);
    assert_eq!(read(&out).1[0].len(), len);
}

#[test]
fn remix_refuses_to_overwrite_its_input_and_separates_without_stems() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = stems(10_000);
    let input = dir.path().join("a.wav");
    write_f32(&input, &s);
    Command::cargo_bin("roomtone")
        .unwrap()
        .args(["remix", "--force", "-o"])
        .arg(&input)
        .arg(&input)
        .assert()
        .failure()
        .stderr(contains("input"));
    Command::cargo_bin("roomtone")
        .unwrap()
        .args(["remix", "-o"])
        .arg(dir.path().join("b.wav"))
        .arg(&input)
        .assert()
        .success();
    // Without --stems the input is separated first (DeepFilterNet3); the output keeps its shape.
    let out = hound::WavReader::open(dir.path().join("b.wav")).unwrap();
    let inp = hound::WavReader::open(&input).unwrap();
    assert_eq!(out.spec().sample_rate, inp.spec().sample_rate);
    assert_eq!(out.spec().channels, inp.spec().channels);
    assert_eq!(out.duration(), inp.duration());
    // Stems that are missing are named.
    Command::cargo_bin("roomtone")
        .unwrap()
        .args(["remix", "--stems"])
        .arg(dir.path())
        .arg("-o")
        .arg(dir.path().join("c.wav"))
        .arg(&input)
        .assert()
        .failure()
        .stderr(contains("a.speech.wav"));
    Command::cargo_bin("roomtone")
        .unwrap()
        .args(["remix", "--preset", "loud", "-o"])
        .arg(dir.path().join("d.wav"))
        .arg(&input)
        .assert()
        .failure()
        .stderr(contains("unknown preset"));
}

/// An output that exists is refused before any model is loaded: with an empty models folder the
/// error is about the output, not the models (and the output is left as it was).
#[test]
fn existing_output_is_refused_before_models_load() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("take.wav");
    write_f32(&input, &[vec![0.1; 4_410]]);
    let out = dir.path().join("out.wav");
    std::fs::write(&out, b"keep me").unwrap();
    let no_models = dir.path().join("no-models");
    std::fs::create_dir(&no_models).unwrap();
    Command::cargo_bin("roomtone")
        .unwrap()
        .env("ROOMTONE_MODELS", &no_models)
        .args(["remix", "-o"])
        .arg(&out)
        .arg(&input)
        .assert()
        .failure()
        .stderr(contains("exists"))
        .stderr(contains("models").not());
    assert_eq!(std::fs::read(&out).unwrap(), b"keep me");
}

/// `-o x.flac` writes FLAC holding the same 24-bit samples `-o x.wav` writes; FLAC stems (as
/// `separate --format flac` names them) are found; a name for any other format is refused before
/// any work, with exit status 2 and nothing written.
#[test]
fn remix_writes_flac_reads_flac_stems_and_refuses_mislabelled_names() {
    let dir = tempfile::tempdir().unwrap();
    let len = SR as usize + 4097;
    let (s, g) = stems(len);
    let mix: Vec<Vec<f32>> = (0..2)
        .map(|c| s[c].iter().zip(&g[c]).map(|(a, b)| a + b).collect())
        .collect();
    let input = dir.path().join("take.wav");
    write_f32(&input, &mix);
    let stems_dir = dir.path().join("stems");
    std::fs::create_dir(&stems_dir).unwrap();
    write_f32(&stems_dir.join("take.speech.wav"), &s);
    write_f32(&stems_dir.join("take.background.wav"), &g);
    let remix = |out: &Path, stems: &Path, extra: &[&str]| {
        let mut cmd = Command::cargo_bin("roomtone").unwrap();
        cmd.args(["remix", "--no-clean", "--background-gain-db", "-12"])
            .args(extra)
            .arg("-o")
            .arg(out)
            .arg("--stems")
            .arg(stems)
            .arg(&input);
        cmd.assert()
    };
    let wav = dir.path().join("out.wav");
    let flac = dir.path().join("out.FLAC");
    remix(&wav, &stems_dir, &[]).success();
    remix(&flac, &stems_dir, &[]).success();
    let (_, w) = read(&wav);
    let f = roomtone::audio::read_all(&flac).unwrap();
    assert_eq!(f.channels, w, "FLAC and WAV hold the same 24-bit samples");

    // FLAC stems, as `separate --format flac` writes them.
    let flac_stems = dir.path().join("flac-stems");
    std::fs::create_dir(&flac_stems).unwrap();
    for (name, x) in [("take.speech.flac", &s), ("take.background.flac", &g)] {
        let mut out = roomtone::audio::AudioOutput::create(
            &flac_stems.join(name),
            SR,
            2,
            roomtone::audio::OutputFormat::Flac24,
            false,
        )
        .unwrap();
        out.write_block(&roomtone::audio::AudioBlock {
            sample_rate: SR,
            channels: x.clone(),
        })
        .unwrap();
        out.finish().unwrap();
    }
    let from_flac = dir.path().join("from-flac.wav");
    remix(&from_flac, &flac_stems, &[]).success();
    let (_, y) = read(&from_flac);
    let (a, b) = fit(&y, &s, &g);
    assert!(
        (20.0 * b.log10() - 20.0 * a.log10() + 12.0).abs() < 0.01,
        "{a} {b}"
    );

    for (name, extra) in [
        ("out.ogg", &[][..]),
        ("out.m4a", &[][..]),
        ("out.mp3", &[][..]),
        ("noextension", &[][..]),
        ("out2.wav", &["--format", "flac16"][..]),
        ("out2.flac", &["--format", "wav16"][..]),
    ] {
        let out = dir.path().join(name);
        remix(&out, &stems_dir, extra)
            .code(2)
            .stderr(contains(name))
            .stderr(contains("mislabelled"));
        assert!(!out.exists(), "{name} written");
    }
    // --format of the extension's kind is taken.
    let w16 = dir.path().join("w16.wav");
    remix(&w16, &stems_dir, &["--format", "wav16"]).success();
    assert_eq!(read(&w16).0.bits_per_sample, 16);
}
