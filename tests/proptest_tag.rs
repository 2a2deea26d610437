//! Property tests over the input space of `tag` (issue 11): the per-file path the CLI and `batch`
//! run (`TagWorker::tag` on a file), over lengths at every YAMNet patch and hop boundary ± 1 (at
//! 16 kHz, mapped to the input rate), rates 8 … 192 kHz including odd ones, 1/2/6 channels, and
//! silence, full scale, denormals, noise and damaged (NaN/Inf/1e30) samples. Asserted: no panic, the
//! exact duration, finite scores in [0, 1], a timeline that covers the clip in order, and a warning
//! exactly when samples were damaged. An empty file is a clean error that names it.
//!
//! `PROPTEST_CASES` sets the number of cases (default 24, about 10 s); a longer run:
//!
//! ```text
//! PROPTEST_CASES=1000 cargo test --release --test proptest_tag
//! ```

mod common;

use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use roomtone::audio::AudioBlock;
use roomtone::classify::{TagConfig, Tagger};

fn tagger() -> &'static Tagger {
    static T: OnceLock<Tagger> = OnceLock::new();
    T.get_or_init(|| {
        Tagger::load(&roomtone::models::ModelContext::from_env())
            .expect("models fetched by scripts/setup.sh")
    })
}

const RATES: [u32; 10] = [
    8_000, 11_025, 16_000, 22_050, 32_000, 44_100, 48_000, 88_200, 96_000, 192_000,
];
/// YAMNet's patch (0.96 s) and the default hop (0.48 s), in samples at 16 kHz.
const PATCH: usize = 15_600;
const HOP: usize = 7_680;

/// Lengths at 16 kHz: 0, 1, and every patch/hop edge ± 1 up to three patches.
fn edges() -> Vec<usize> {
    let mut e = vec![0, 1, 2, 400];
    for k in 0..6 {
        let edge = PATCH + k * HOP;
        e.extend([edge - 1, edge, edge + 1, edge - HOP / 2, edge + HOP / 2 + 1]);
    }
    e
}

#[derive(Debug, Clone, Copy)]
enum Signal {
    Silence,
    FullScale,
    Denormal,
    Noise,
    Damaged,
}

fn render(s: Signal, n: usize, seed: u64) -> Vec<f32> {
    match s {
        Signal::Silence => vec![0.0; n],
        Signal::FullScale => (0..n)
            .map(|i| if (i / 37) % 2 == 0 { 1.0 } else { -1.0 })
            .collect(),
        Signal::Denormal => (0..n)
            .map(|i| if i % 2 == 0 { 1e-40 } else { -1e-40 })
            .collect(),
        Signal::Noise => common::noise(n, 0.3, seed),
        Signal::Damaged => {
            let mut x = common::noise(n, 0.3, seed);
            let bad = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1e30];
            for (k, i) in (0..n).step_by(1_009).enumerate() {
                x[i] = bad[k % bad.len()];
            }
            x
        }
    }
}

fn signal() -> impl Strategy<Value = Signal> {
    prop_oneof![
        Just(Signal::Silence),
        Just(Signal::FullScale),
        Just(Signal::Denormal),
        Just(Signal::Noise),
        Just(Signal::Damaged),
    ]
}

#[test]
fn tag_any_length_rate_channels_and_level() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    let mut runner = TestRunner::new(Config {
        cases,
        max_shrink_iters: 16,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        proptest::sample::select(RATES.to_vec()),
        proptest::sample::select(vec![1usize, 2, 6]),
        proptest::sample::select(edges()),
        proptest::collection::vec(signal(), 6),
        any::<u64>(),
        proptest::sample::select(vec![0.1f64, 0.48, 0.96, 2.0]),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    runner
        .run(&strategy, |(sr, ch, edge16, sigs, seed, hop)| {
            // The input length whose 16 kHz length is `edge16`.
            let frames = ((edge16 as u64 * u64::from(sr)) / 16_000) as usize;
            let block = AudioBlock {
                sample_rate: sr,
                channels: (0..ch)
                    .map(|c| render(sigs[c], frames, seed + c as u64))
                    .collect(),
            };
            let path = dir.path().join("case.wav");
            common::write_block(&path, &block);
            let config = TagConfig {
                hop_s: hop,
                ..TagConfig::default()
            };
            let mut worker = tagger().worker(&config).expect("worker");
            let result = worker.tag(&path);
            if frames == 0 {
                let e = result.expect_err("an empty file is an error");
                prop_assert!(e.to_string().contains("case.wav"), "{}", e);
                return Ok(());
            }
            let t = result.map_err(|e| TestCaseError::fail(e.to_string()))?;
            let duration = frames as f64 / f64::from(sr);
            prop_assert!(
                (t.duration_s - duration).abs() < 1e-9,
                "{} vs {}",
                t.duration_s,
                duration
            );
            for l in &t.labels {
                prop_assert!(
                    l.score.is_finite() && (0.0..=1.0).contains(&l.score),
                    "{:?}",
                    l
                );
            }
            for c in &t.audioset_top {
                prop_assert!(
                    c.score.is_finite() && (0.0..=1.0).contains(&c.score),
                    "{:?}",
                    c
                );
            }
            prop_assert!(!t.segments.is_empty());
            prop_assert!(t.segments[0].start_s == 0.0, "{:?}", t.segments);
            let end = t.segments.last().map_or(0.0, |s| s.end_s);
            prop_assert!((end - duration).abs() < 1e-6, "{} vs {}", end, duration);
            for w in t.segments.windows(2) {
                prop_assert!(
                    w[0].end_s == w[1].start_s && w[0].start_s <= w[0].end_s,
                    "{:?}",
                    w
                );
            }
            for s in &t.segments {
                prop_assert!(s.score.is_finite(), "{:?}", s);
            }
            // Dialogue regions: within the file, in order, apart, scores are probabilities.
            for s in &t.speech_segments {
                prop_assert!(
                    0.0 <= s.start_s && s.start_s < s.end_s && s.end_s <= duration + 1e-9,
                    "{:?} in {} s",
                    s,
                    duration
                );
                prop_assert!((0.0..=1.0).contains(&s.score), "{:?}", s);
            }
            for w in t.speech_segments.windows(2) {
                prop_assert!(w[0].end_s < w[1].start_s, "{:?}", w);
            }
            let damaged = sigs[..ch].iter().any(|s| matches!(s, Signal::Damaged));
            prop_assert_eq!(!t.warnings.is_empty(), damaged, "{:?}", t.warnings);
            // The record serialises (no NaN in it).
            prop_assert!(serde_json::to_string(&t).is_ok());
            Ok(())
        })
        .unwrap();
}
