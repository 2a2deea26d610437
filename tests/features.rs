//! Front-end tests: golden log-mel numbers, known-answer signals, STFT round trip, streaming invariants.

mod common;

use proptest::prelude::*;
use roomtone::features::{Istft, LogMel, MelNorm, MelParams, MelScale, Stft, StftParams, Window};
use serde_json::Value;

fn golden_cases() -> Vec<Value> {
    let text = std::fs::read_to_string(common::data("mel_golden.json")).expect("golden index");
    let v: Value = serde_json::from_str(&text).expect("golden json");
    v["cases"].as_array().expect("cases").clone()
}

fn params_of(case: &Value) -> MelParams {
    let p = &case["params"];
    let u = |k: &str| p[k].as_u64().unwrap_or_else(|| panic!("{k}")) as usize;
    let f = |k: &str| p[k].as_f64().unwrap_or_else(|| panic!("{k}"));
    MelParams {
        sample_rate: u("sample_rate") as u32,
        stft: StftParams {
            n_fft: u("n_fft"),
            win_length: u("win_length"),
            hop_length: u("hop_length"),
            window: Window::HannPeriodic,
        },
        n_mels: u("n_mels"),
        fmin_hz: f("f_min"),
        fmax_hz: f("f_max"),
        scale: p["mel_scale"]
            .as_str()
            .expect("scale")
            .parse()
            .expect("scale"),
        norm: match p["norm"].as_str() {
            None => MelNorm::None,
            Some(s) => s.parse().expect("norm"),
        },
        power: f("power") as f32,
        log_offset: f("log_offset") as f32,
    }
}

#[test]
fn log_mel_matches_the_reference_within_1e_4() {
    let cases = golden_cases();
    assert!(
        cases.len() >= 3,
        "expected the yamnet, slaney and real-recording cases"
    );
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let files = &case["files"];
        let input = common::read_f32(&common::data(files["input"].as_str().expect("input")));
        let expected = common::read_f32(&common::data(files["log_mel"].as_str().expect("log_mel")));
        let params = params_of(&case);
        let n_mels = params.n_mels;
        let mut mel = LogMel::new(params).expect("valid params");
        let got = mel.compute(&input);
        assert_eq!(got.len(), expected.len(), "{name}: frames × bands");
        let (worst, at) = got
            .iter()
            .zip(&expected)
            .map(|(g, e)| (g - e).abs())
            .enumerate()
            .fold(
                (0.0f32, 0),
                |(w, a), (i, d)| if d > w { (d, i) } else { (w, a) },
            );
        assert!(
            worst < 1e-4,
            "{name}: max |Δ log-mel| = {worst:e} at frame {}, band {}",
            at / n_mels,
            at % n_mels
        );
    }
}

#[test]
fn stft_magnitude_matches_the_reference() {
    for case in golden_cases() {
        let files = &case["files"];
        let input = common::read_f32(&common::data(files["input"].as_str().expect("input")));
        let expected = common::read_f32(&common::data(
            files["frame0_magnitude"].as_str().expect("mag"),
        ));
        let params = params_of(&case);
        let mut stft = Stft::new(params.stft).expect("stft");
        let spectrum = stft.analyse(&input[..params.stft.n_fft]);
        let peak = expected.iter().fold(0.0f32, |m, &x| m.max(x));
        for (k, (c, e)) in spectrum.iter().zip(&expected).enumerate() {
            assert!(
                (c.norm() - e).abs() <= 1e-5 * peak.max(1.0),
                "bin {k}: {} vs {e}",
                c.norm()
            );
        }
    }
}

#[test]
fn a_sine_at_a_bin_centre_peaks_in_the_band_whose_centre_is_nearest() {
    let params = MelParams::yamnet();
    let sr = params.sample_rate;
    let bin_hz = f64::from(sr) / params.stft.n_fft as f64; // 31.25 Hz
                                                           // HTK mel centre frequencies of the 64 bands between 125 and 7500 Hz.
    let mel = |f: f64| 2595.0 * (1.0 + f / 700.0).log10();
    let hz = |m: f64| 700.0 * (10f64.powf(m / 2595.0) - 1.0);
    let (lo, hi) = (mel(params.fmin_hz), mel(params.fmax_hz));
    let centres: Vec<f64> = (1..=params.n_mels)
        .map(|i| hz(lo + (hi - lo) * i as f64 / (params.n_mels + 1) as f64))
        .collect();
    let mut front = LogMel::new(params.clone()).expect("params");
    for bin in [16usize, 32, 64, 100, 160, 200] {
        let freq = bin as f64 * bin_hz;
        let x = common::sine(freq, sr, 4000, 0.5);
        let frames = front.compute(&x);
        let frame = &frames[..params.n_mels];
        let loudest = (0..params.n_mels)
            .max_by(|&a, &b| frame[a].total_cmp(&frame[b]))
            .expect("bands");
        let nearest = (0..params.n_mels)
            .min_by(|&a, &b| {
                (centres[a] - freq)
                    .abs()
                    .total_cmp(&(centres[b] - freq).abs())
            })
            .expect("bands");
        assert!(
            loudest.abs_diff(nearest) <= 1,
            "{freq} Hz: loudest band {loudest} ({:.0} Hz), nearest centre is band {nearest} ({:.0} Hz)",
            centres[loudest],
            centres[nearest]
        );
    }
}

#[test]
fn silence_gives_the_log_offset_floor() {
    let params = MelParams::yamnet();
    let floor = params.log_offset.ln();
    let mut front = LogMel::new(params).expect("params");
    let out = front.compute(&vec![0.0; 16_000]);
    assert_eq!(out.len(), 97 * 64);
    assert!(
        out.iter().all(|&v| (v - floor).abs() < 1e-6),
        "floor {floor}"
    );
}

#[test]
fn stft_then_istft_reconstructs_above_100_db() {
    for (n_fft, win, hop) in [
        (512, 512, 128),
        (1024, 1024, 256),
        (960, 960, 240),
        (512, 400, 100),
    ] {
        let params = StftParams {
            n_fft,
            win_length: win,
            hop_length: hop,
            window: Window::HannPeriodic,
        };
        let mut stft = Stft::new(params).expect("stft");
        let mut istft = Istft::new(params).expect("istft");
        let sr = 16_000;
        let len = 20 * n_fft;
        let x: Vec<f32> = common::sine(440.0, sr, len, 0.4)
            .iter()
            .zip(common::sine(3001.7, sr, len, 0.2))
            .map(|(a, b)| a + b)
            .collect();
        let mut y = vec![0.0f32; len];
        let frames = params.frames_in(len);
        for k in 0..frames {
            let spec = stft.analyse(&x[k * hop..k * hop + n_fft]).to_vec();
            istft.synthesise(&spec, &mut y[k * hop..k * hop + hop]);
        }
        // Exact where every overlapping frame was present.
        let (a, b) = (n_fft, (frames - 1) * hop);
        let snr = common::snr_db(&x[a..b], &y[a..b]);
        assert!(snr > 100.0, "n_fft {n_fft}, hop {hop}: SNR {snr:.1} dB");
    }
}

#[test]
fn slaney_and_htk_filterbanks_differ() {
    // Guards against the scale or norm flag being ignored.
    let mut p = MelParams::yamnet();
    let x = common::sine(1000.0, p.sample_rate, 2000, 0.5);
    let htk = LogMel::new(p.clone()).expect("htk").compute(&x);
    p.scale = MelScale::Slaney;
    let slaney = LogMel::new(p.clone()).expect("slaney").compute(&x);
    p.norm = MelNorm::Slaney;
    let slaney_norm = LogMel::new(p).expect("slaney norm").compute(&x);
    let diff = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    };
    assert!(diff(&htk, &slaney) > 0.1);
    assert!(diff(&slaney, &slaney_norm) > 0.1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Pushing a signal in arbitrary pieces gives exactly the frames of pushing it whole.
    #[test]
    fn chunked_log_mel_equals_whole(cuts in proptest::collection::vec(1usize..3000, 1..12)) {
        let params = MelParams::yamnet();
        let x = common::read_f32(&common::data("mel_yamnet_real_input.f32"));
        let mut front = LogMel::new(params).expect("params");
        let whole = front.compute(&x);
        front.reset();
        let mut chunked = Vec::new();
        let mut pos = 0;
        for c in cuts.iter().cycle() {
            if pos >= x.len() { break; }
            let end = (pos + c).min(x.len());
            front.push(&x[pos..end], &mut chunked);
            pos = end;
        }
        prop_assert_eq!(whole, chunked);
    }
}

#[test]
fn invalid_parameters_are_refused() {
    let mut p = MelParams::yamnet();
    p.fmax_hz = 9000.0; // above Nyquist at 16 kHz
    assert!(LogMel::new(p).is_err());
    let mut p = MelParams::yamnet();
    p.stft.win_length = 600; // longer than the FFT
    assert!(LogMel::new(p).is_err());
}
