//! Property tests over the input space of `separate` and `remix` (issue 11: nothing a user feeds it
//! brings roomtone down): every model (dfn3, convtasnet, ensemble) through `separate_block` and
//! `separate_file`, lengths from 0 samples to several segments placed at every Conv-TasNet segment,
//! crossfade and context boundary and every DeepFilterNet3 hop, chunk and delay boundary (± 1, at
//! the model's rate, whatever the input rate), rates 8 … 192 kHz, 1/2/6 channels, silence, full
//! scale, denormals. Asserted: no panic, no error, exact length, finite samples, speech + background
//! = input, silence in → silence out; the remix of the stems is finite and exactly as long.
//!
//! The cases run with small segments and chunks (0.1 s) so the file takes about a minute in the test
//! profile; `PROPTEST_CASES` sets the number of cases of every property. The longer run, which adds
//! the default (2 s / 5 s) segmenting over lengths of several default segments:
//!
//! ```text
//! PROPTEST_CASES=500 cargo test --release --test proptest_paths -- --include-ignored
//! ```

mod common;

use std::cell::RefCell;
use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use roomtone::audio::AudioBlock;
use roomtone::mix::{self, DuckConfig, LimiterConfig, RemixConfig};
use roomtone::models::ModelContext;
use roomtone::separate::{
    self, dfn3, Backends, ChunkConfig, ModelChoice, SegmentConfig, SeparateConfig, Separator,
};

/// All three models, loaded once for the whole file.
fn backends() -> &'static Backends {
    static B: OnceLock<Backends> = OnceLock::new();
    B.get_or_init(|| {
        Backends::load(&ModelContext::from_env(), ModelChoice::Ensemble)
            .expect("models fetched by scripts/setup.sh")
    })
}

/// Cases per property: `PROPTEST_CASES`, or `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn runner(default_cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases: cases(default_cases),
        // A failing case is reported as found; shrinking would rerun the models hundreds of times.
        max_shrink_iters: 16,
        // Cases are reported with their inputs; no regression files next to the sources.
        failure_persistence: None,
        ..Config::default()
    })
}

/// Small segmenting, so a few tenths of a second cross several boundaries.
const SMALL_CTN: (f64, f64, f64) = (0.1, 0.05, 0.02);
/// DeepFilterNet3 chunks of 10 frames (0.1 s) after 3 frames of warm-up.
const SMALL_CHUNKS: ChunkConfig = ChunkConfig {
    chunk_frames: 10,
    warmup_frames: 3,
};

const RATES: [u32; 12] = [
    8_000, 11_025, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000, 88_200, 96_000, 176_400, 192_000,
];

/// `round(n · to / from)`, the length `StreamResampler` gives for `n` frames.
fn resampled(n: usize, from: u32, to: u32) -> usize {
    let (n, to, from) = (n as u128, u128::from(to), u128::from(from));
    ((n * to * 2 + from) / (2 * from)) as usize
}

/// Length at the model's rate of `n` frames at `sr`: the stems pipeline goes to 48 kHz, and
/// Conv-TasNet from there to 16 kHz.
fn model_len(n: usize, sr: u32, model_rate: u32) -> usize {
    let n48 = resampled(n, sr, dfn3::SAMPLE_RATE);
    if model_rate == dfn3::SAMPLE_RATE {
        n48
    } else {
        resampled(n48, dfn3::SAMPLE_RATE, model_rate)
    }
}

/// An input length at `sr` that is `target` samples long at the model's rate (or the nearest).
fn input_len(target: usize, sr: u32, model_rate: u32) -> usize {
    let n0 = (target as u128 * u128::from(sr) / u128::from(model_rate)) as usize;
    (n0.saturating_sub(4)..=n0 + 4)
        .min_by_key(|&n| model_len(n, sr, model_rate).abs_diff(target))
        .unwrap_or(n0)
}

/// Lengths at 16 kHz that sit on the Conv-TasNet segmenting's edges: each boundary `k·hop`
/// (k = 0 … `segments`) ± 1 and ± 2, inside the crossfade around it, at its ends ± 1, at ± context
/// ± 1, and the shortest graph run ± 1.
fn ctn_edges(seg: SegmentConfig, segments: usize) -> Vec<usize> {
    let half = seg.crossfade / 2;
    let mut v = vec![0, 1, 2, 31, 32, 1599, 1600, 1601];
    for k in 0..=segments {
        let b = k * seg.hop;
        let ctx = seg.context;
        for d in [
            0,
            1,
            2,
            half / 2,
            half.saturating_sub(1),
            half,
            half + 1,
            ctx.saturating_sub(1),
            ctx,
            ctx + 1,
        ] {
            v.extend([b + d, b.saturating_sub(d)]);
        }
    }
    v
}

/// Lengths at 48 kHz on DeepFilterNet3's edges: hops, chunks (after warm-up) and the flushed
/// 30 ms delay, each ± 1.
fn dfn3_edges(chunks: ChunkConfig, n_chunks: usize) -> Vec<usize> {
    let hop = dfn3::HOP;
    let mut v = vec![0, 1, 2];
    let mut anchors: Vec<usize> = (0..=4).map(|j| j * hop).collect();
    anchors.extend((0..=n_chunks).map(|k| k * chunks.chunk_frames * hop));
    anchors.extend([dfn3::DELAY, dfn3::DELAY + hop, dfn3::FFT]);
    for a in anchors {
        for d in [0, 1, 2] {
            v.extend([a + d, a.saturating_sub(d)]);
        }
        v.extend([a + dfn3::DELAY, a.saturating_sub(dfn3::DELAY)]);
    }
    v
}

/// What a channel holds.
#[derive(Debug, Clone, Copy)]
enum Signal {
    Silence,
    /// ±1.0 square wave (period in samples).
    FullScale(usize),
    /// +1.0 everywhere.
    Dc,
    /// ±1e-40 (denormal) alternating.
    Denormal,
    /// White noise of this amplitude.
    Noise(f32),
    /// Noise with stretches of silence and a full-scale click.
    Gappy,
    /// Noise with NaN, ±Inf and 1e30 samples (a damaged float file): only through a file, where
    /// the decoder replaces them by 0 (the stems must then sum to the repaired input).
    Damaged,
}

fn signal() -> impl Strategy<Value = Signal> {
    prop_oneof![
        Just(Signal::Silence),
        (2usize..200).prop_map(Signal::FullScale),
        Just(Signal::Dc),
        Just(Signal::Denormal),
        prop_oneof![Just(0.3f32), Just(1.0), Just(1e-4)].prop_map(Signal::Noise),
        Just(Signal::Gappy),
        Just(Signal::Damaged),
    ]
}

fn render(sig: Signal, n: usize, seed: u64) -> Vec<f32> {
    match sig {
        Signal::Silence => vec![0.0; n],
        Signal::FullScale(p) => (0..n)
            .map(|i| if (i / p.max(1)) % 2 == 0 { 1.0 } else { -1.0 })
            .collect(),
        Signal::Dc => vec![1.0; n],
        Signal::Denormal => (0..n)
            .map(|i| if i % 2 == 0 { 1e-40 } else { -1e-40 })
            .collect(),
        Signal::Noise(a) => common::noise(n, a, seed),
        Signal::Damaged => {
            let mut x = common::noise(n, 0.3, seed);
            let bad = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1e30, -1e30];
            for (k, i) in (0..n).step_by(997).enumerate() {
                x[i] = bad[(k + seed as usize) % bad.len()];
            }
            x
        }
        Signal::Gappy => {
            let mut x = common::noise(n, 0.5, seed);
            for (i, v) in x.iter_mut().enumerate() {
                if (i / 3000) % 3 == 1 {
                    *v = 0.0;
                }
            }
            if let Some(v) = x.get_mut(n / 2) {
                *v = -1.0;
            }
            x
        }
    }
}

/// One generated input.
#[derive(Debug, Clone)]
struct Case {
    sr: u32,
    signals: Vec<Signal>,
    frames: usize,
    seed: u64,
}

impl Case {
    /// The input as the decoder hands it out: damaged samples replaced by 0.
    fn block(&self) -> AudioBlock {
        let mut b = self.raw_block();
        for v in b.channels.iter_mut().flatten() {
            if !v.is_finite() || v.abs() > roomtone::audio::SAMPLE_LIMIT {
                *v = 0.0;
            }
        }
        b
    }

    /// The input as written to a file, damaged samples and all.
    fn raw_block(&self) -> AudioBlock {
        AudioBlock {
            sample_rate: self.sr,
            channels: self
                .signals
                .iter()
                .enumerate()
                .map(|(c, &s)| render(s, self.frames, self.seed + c as u64))
                .collect(),
        }
    }
}

/// Inputs whose length at the model's rate is one of `edges` (an edge of the model's segmenting),
/// or a few blocks of the in-memory reader (8192 frames) ± 1 at the input rate.
fn case(model_rate: u32, edges: Vec<usize>) -> impl Strategy<Value = Case> {
    (
        proptest::sample::select(RATES.to_vec()),
        proptest::sample::select(vec![1usize, 2, 6]),
        proptest::sample::select(edges),
        prop_oneof![4 => Just(None), 1 => (1usize..3, 0usize..3).prop_map(Some)],
        proptest::collection::vec(signal(), 6),
        any::<u64>(),
    )
        .prop_map(move |(sr, ch, edge, block, sigs, seed)| {
            let frames = match block {
                Some((k, d)) => (k * 8192 + d).saturating_sub(1),
                None => input_len(edge, sr, model_rate),
            };
            Case {
                sr,
                signals: sigs[..ch].to_vec(),
                frames,
                seed,
            }
        })
}

fn config(model: ModelChoice, ctn: SegmentConfig, chunks: ChunkConfig) -> SeparateConfig {
    SeparateConfig {
        model,
        force: true,
        chunks,
        ctn_segments: ctn,
        ..SeparateConfig::default()
    }
}

/// The properties of a separation of `input` into (`speech`, `background`).
fn check_stems(
    input: &AudioBlock,
    speech: &AudioBlock,
    background: &AudioBlock,
    silent: &[bool],
) -> Result<(), TestCaseError> {
    for (name, stem) in [("speech", speech), ("background", background)] {
        prop_assert_eq!(stem.sample_rate, input.sample_rate, "{} rate", name);
        prop_assert_eq!(
            stem.channel_count(),
            input.channel_count(),
            "{} channels",
            name
        );
        for (c, ch) in stem.channels.iter().enumerate() {
            prop_assert_eq!(ch.len(), input.frames(), "{} channel {} length", name, c);
            let bad = ch.iter().position(|v| !v.is_finite());
            prop_assert!(
                bad.is_none(),
                "{} channel {} sample {:?} not finite",
                name,
                c,
                bad
            );
        }
    }
    for (c, x) in input.channels.iter().enumerate() {
        let (s, b) = (&speech.channels[c], &background.channels[c]);
        for i in 0..x.len() {
            // background = x − speech in f32: two roundings of values at most this large.
            let scale = x[i].abs() + s[i].abs() + b[i].abs();
            let err = (s[i] + b[i] - x[i]).abs();
            prop_assert!(
                err <= 4.0 * f32::EPSILON * scale + f32::MIN_POSITIVE,
                "channel {}, sample {}: {} + {} != {}",
                c,
                i,
                s[i],
                b[i],
                x[i]
            );
        }
        if silent[c] {
            // A silent channel stays silent in both stems (no model runs on it, nothing leaks in
            // from other channels).
            prop_assert!(
                s.iter().chain(b).all(|&v| v == 0.0),
                "silent channel {} not silent",
                c
            );
        }
    }
    Ok(())
}

/// A file without samples: a clean error that names it (the decoder's policy), and no stems.
fn check_empty_file_refused(
    result: Result<(), separate::SeparateError>,
    path: &Path,
    out_dir: &Path,
) -> Result<(), TestCaseError> {
    let Err(e) = result else {
        // Empty stems would do as well, as long as they are empty.
        let (sp, bg) = separate::stem_paths(path, out_dir, Default::default());
        for stem in [sp, bg] {
            let frames = roomtone::audio::read_all(&stem).map_or(0, |b| b.frames());
            prop_assert_eq!(frames, 0);
        }
        return Ok(());
    };
    let msg = e.to_string();
    prop_assert!(msg.contains(&*path.to_string_lossy()), "{}", msg);
    let (sp, bg) = separate::stem_paths(path, out_dir, Default::default());
    prop_assert!(!sp.exists() && !bg.exists(), "stems left behind: {}", msg);
    Ok(())
}

/// Separates every generated case with `model` through `separate_block` (and, for one case in
/// four, `separate_file` on a float WAV) and checks the stems.
fn separate_property(
    model: ModelChoice,
    default_cases: u32,
    ctn: SegmentConfig,
    chunks: ChunkConfig,
    edges: (u32, Vec<usize>),
) {
    let b = backends();
    // `TestRunner::run` takes a `Fn`: the worker is borrowed mutably per case.
    let sep = RefCell::new(Separator::from_backends(b, &ModelContext::from_env()).unwrap());
    let cfg = config(model, ctn, chunks);
    let strategy = (case(edges.0, edges.1), prop::bool::weighted(0.25));
    runner(default_cases)
        .run(&strategy, |(case, via_file)| {
            let input = case.block();
            // Damaged samples exist only in files: the decoder is where they are repaired, and
            // the stems must sum to the repaired input.
            let damaged = case.signals.iter().any(|s| matches!(s, Signal::Damaged));
            let via_file = via_file || damaged;
            let silent: Vec<bool> = case
                .signals
                .iter()
                .map(|s| matches!(s, Signal::Silence))
                .collect();
            let (speech, background) = if via_file {
                // A fresh folder per case: stems of an earlier case must not count.
                let case_dir = tempfile::tempdir().unwrap();
                let path = case_dir.path().join("in.wav");
                common::write_block(&path, &case.raw_block());
                let out = case_dir.path().join("out");
                std::fs::create_dir_all(&out).unwrap();
                let result =
                    separate::separate_file(&mut sep.borrow_mut(), &path, &out, &cfg, |_| {});
                if input.frames() == 0 {
                    // An empty file is refused at decode, with an error that names it.
                    return check_empty_file_refused(result.map(|_| ()), &path, &out);
                }
                let summary = result.map_err(|e| TestCaseError::fail(format!("{model}: {e}")))?;
                prop_assert_eq!(summary.frames, input.frames() as u64);
                let (sp, bg) = separate::stem_paths(&path, &out, Default::default());
                (
                    roomtone::audio::read_all(&sp).unwrap(),
                    roomtone::audio::read_all(&bg).unwrap(),
                )
            } else {
                separate::separate_block(&mut sep.borrow_mut(), Path::new("case.wav"), &input, &cfg)
                    .map_err(|e| TestCaseError::fail(format!("{model}: {e}")))?
            };
            check_stems(&input, &speech, &background, &silent)
        })
        .unwrap();
}

fn small_ctn() -> SegmentConfig {
    SegmentConfig::from_seconds(SMALL_CTN.0, SMALL_CTN.1, SMALL_CTN.2)
}

fn ctn_rate() -> u32 {
    separate::convtasnet::SAMPLE_RATE
}

#[test]
fn dfn3_any_length_rate_channels_and_level() {
    separate_property(
        ModelChoice::Dfn3,
        24,
        small_ctn(),
        SMALL_CHUNKS,
        (dfn3::SAMPLE_RATE, dfn3_edges(SMALL_CHUNKS, 5)),
    );
}

#[test]
fn convtasnet_any_length_rate_channels_and_level() {
    separate_property(
        ModelChoice::ConvTasNet,
        24,
        small_ctn(),
        SMALL_CHUNKS,
        (ctn_rate(), ctn_edges(small_ctn(), 5)),
    );
}

#[test]
fn ensemble_any_length_rate_channels_and_level() {
    // Half the cases on Conv-TasNet's edges, half on DeepFilterNet3's.
    separate_property(
        ModelChoice::Ensemble,
        12,
        small_ctn(),
        SMALL_CHUNKS,
        (ctn_rate(), ctn_edges(small_ctn(), 4)),
    );
    separate_property(
        ModelChoice::Ensemble,
        12,
        small_ctn(),
        SMALL_CHUNKS,
        (dfn3::SAMPLE_RATE, dfn3_edges(SMALL_CHUNKS, 4)),
    );
}

/// The default segmenting (2 s + 0.5 s context, 5 s DeepFilterNet3 chunks) over lengths of up to
/// five Conv-TasNet segments (10 s): slow, see the command at the top of the file.
#[test]
#[ignore]
fn default_segmenting_every_model() {
    let (ctn, chunks) = (SegmentConfig::default(), ChunkConfig::default());
    for model in [ModelChoice::ConvTasNet, ModelChoice::Ensemble] {
        separate_property(model, 8, ctn, chunks, (ctn_rate(), ctn_edges(ctn, 5)));
    }
    for model in [ModelChoice::Dfn3, ModelChoice::Ensemble] {
        separate_property(
            model,
            8,
            ctn,
            chunks,
            (dfn3::SAMPLE_RATE, dfn3_edges(chunks, 2)),
        );
    }
}

/// Empty input: every model gives empty stems of the input's rate and channels in memory (not an
/// error, not a panic); an empty file is a clean error that names it.
#[test]
fn zero_length_input_gives_empty_stems() {
    let b = backends();
    let mut sep = Separator::from_backends(b, &ModelContext::from_env()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for model in [
        ModelChoice::Dfn3,
        ModelChoice::ConvTasNet,
        ModelChoice::Ensemble,
    ] {
        for (sr, ch) in [(48_000, 1), (44_100, 2), (8_000, 6), (192_000, 2)] {
            let input = AudioBlock::new(sr, ch);
            let cfg = config(model, SegmentConfig::default(), ChunkConfig::default());
            let (s, bg) = separate::separate_block(&mut sep, Path::new("empty.wav"), &input, &cfg)
                .unwrap_or_else(|e| panic!("{model} {sr} Hz {ch} ch: {e}"));
            for stem in [&s, &bg] {
                assert_eq!(
                    (stem.sample_rate, stem.channel_count(), stem.frames()),
                    (sr, ch, 0)
                );
            }
            let path = dir.path().join(format!("empty_{sr}_{ch}.wav"));
            common::write_block(&path, &input);
            let result = separate::separate_file(&mut sep, &path, dir.path(), &cfg, |_| {});
            check_empty_file_refused(result.map(|_| ()), &path, dir.path()).unwrap();
            // And the remix of empty stems is empty.
            let (out, _) = mix::remix(&input, s, bg, &remix_config(true)).unwrap();
            assert_eq!((out.channel_count(), out.frames()), (ch, 0));
        }
    }
}

/// Blocks that decode never makes (channels of different lengths, no channels, 0 Hz) are errors
/// that name the input, in `separate_block` and `remix`, not panics.
#[test]
fn malformed_blocks_are_errors() {
    let b = backends();
    let mut sep = Separator::from_backends(b, &ModelContext::from_env()).unwrap();
    let ragged = AudioBlock {
        sample_rate: 48_000,
        channels: vec![vec![0.1; 5000], vec![0.1; 4000]],
    };
    let cfg = config(ModelChoice::Dfn3, small_ctn(), SMALL_CHUNKS);
    for block in [
        ragged.clone(),
        AudioBlock::new(48_000, 0),
        AudioBlock::new(0, 2),
    ] {
        let e = separate::separate_block(&mut sep, Path::new("odd.wav"), &block, &cfg)
            .expect_err("malformed block")
            .to_string();
        assert!(e.contains("odd.wav"), "{e}");
    }
    let stems = || AudioBlock {
        sample_rate: 48_000,
        channels: vec![vec![0.05; 5000]; 2],
    };
    for all_on in [false, true] {
        let e = mix::remix(&ragged, stems(), stems(), &remix_config(all_on)).expect_err("ragged");
        assert!(e.to_string().contains("length"), "{e}");
        for (sr, ch) in [(0, 2), (48_000, 0)] {
            let empty = AudioBlock::new(sr, ch);
            mix::remix(&empty, empty.clone(), empty.clone(), &remix_config(all_on))
                .expect_err("0 Hz or no channels");
        }
    }
}

/// The remix with everything on (cleanup, ducking, loudness target, limiter) or off.
fn remix_config(all_on: bool) -> RemixConfig {
    if all_on {
        RemixConfig {
            speech_gain_db: 3.0,
            background_gain_db: -12.0,
            duck: Some(DuckConfig {
                depth_db: 10.0,
                ..DuckConfig::default()
            }),
            target_lufs: Some(-23.0),
            limiter: Some(LimiterConfig::default()),
            ..RemixConfig::default()
        }
    } else {
        RemixConfig {
            cleanup: roomtone::dsp::CleanupConfig::off(),
            ..RemixConfig::default()
        }
    }
}

fn check_remix(input: &AudioBlock, out: &AudioBlock) -> Result<(), TestCaseError> {
    prop_assert_eq!(out.sample_rate, input.sample_rate);
    prop_assert_eq!(out.channel_count(), input.channel_count());
    for (c, ch) in out.channels.iter().enumerate() {
        prop_assert_eq!(ch.len(), input.frames(), "channel {} length", c);
        let bad = ch.iter().position(|v| !v.is_finite());
        prop_assert!(bad.is_none(), "channel {} sample {:?} not finite", c, bad);
    }
    Ok(())
}

/// The remix alone, over the same input space, with stems that are any split of the input (no model:
/// fast, so many cases).
#[test]
fn remix_any_stems() {
    let strategy = (
        case(48_000, dfn3_edges(SMALL_CHUNKS, 8)),
        0.0f32..=1.0,
        any::<bool>(),
    );
    runner(48)
        .run(&strategy, |(case, split, all_on)| {
            let input = case.block();
            let mut speech = input.clone();
            let mut background = input.clone();
            for (s, b) in speech.channels.iter_mut().zip(&mut background.channels) {
                s.iter_mut().for_each(|v| *v *= split);
                b.iter_mut().for_each(|v| *v *= 1.0 - split);
            }
            let (out, report) = mix::remix(&input, speech, background, &remix_config(all_on))
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            check_remix(&input, &out)?;
            // The report serialises (no NaN or infinity in it).
            prop_assert!(serde_json::to_string(&report).is_ok(), "{:?}", report);
            Ok(())
        })
        .unwrap();
}

/// The remix of real separations (the path `roomtone remix --model` takes), a few cases per model.
#[test]
fn remix_of_separated_stems() {
    let b = backends();
    let sep = RefCell::new(Separator::from_backends(b, &ModelContext::from_env()).unwrap());
    for model in [
        ModelChoice::Dfn3,
        ModelChoice::ConvTasNet,
        ModelChoice::Ensemble,
    ] {
        let cfg = config(model, small_ctn(), SMALL_CHUNKS);
        let strategy = (case(ctn_rate(), ctn_edges(small_ctn(), 3)), any::<bool>());
        runner(4)
            .run(&strategy, |(case, all_on)| {
                let input = case.block();
                let (s, bg) = separate::separate_block(
                    &mut sep.borrow_mut(),
                    Path::new("case.wav"),
                    &input,
                    &cfg,
                )
                .map_err(|e| TestCaseError::fail(format!("{model}: {e}")))?;
                let (out, _) = mix::remix(&input, s, bg, &remix_config(all_on))
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                check_remix(&input, &out)
            })
            .unwrap();
    }
}
