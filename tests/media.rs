//! Codec and container fixtures made by scripts/make_media_fixtures.sh: every file decodes to the
//! signal that was encoded (bit-exact for lossless codecs), and broken files fail with the right error.

mod common;

use std::path::PathBuf;

use roomtone::audio::{read_all, AudioError, AudioReader, DecodedBy};
use serde_json::Value;

fn media(name: &str) -> PathBuf {
    common::data("media").join(name)
}

/// The encoded source: channel c = amp · sin(2π · base · (c+1) · n / sr), quantised to `bits`.
fn source(case: &Value, channel: usize) -> Vec<f32> {
    let sr = case["sample_rate"].as_f64().expect("rate");
    let frames = case["frames"].as_u64().expect("frames") as usize;
    let amp = case["amp"].as_f64().expect("amp");
    let f = case["base_hz"].as_f64().expect("base") * (channel + 1) as f64;
    let bits = case["bits"].as_u64();
    (0..frames)
        .map(|n| {
            let x = amp * (std::f64::consts::TAU * f * n as f64 / sr).sin();
            match bits {
                Some(b) => {
                    let full = (1u64 << (b - 1)) as f64;
                    ((x * full).round() / full) as f32
                }
                None => x as f32,
            }
        })
        .collect()
}

#[test]
fn every_fixture_decodes_to_what_was_encoded() {
    let text = std::fs::read_to_string(media("cases.json")).expect("cases.json");
    let cases: Vec<Value> = serde_json::from_str(&text).expect("json");
    assert!(cases.len() >= 25, "{} cases", cases.len());
    let mut checked = 0;
    for case in &cases {
        let file = case["file"].as_str().expect("file");
        let path = media(file);
        let channels = case["channels"].as_u64().expect("channels") as usize;
        if file == "aac_48000_6ch.m4a" {
            // symphonia 0.5's AAC decoder refuses 5.1 ("aac too complex"); ffmpeg (installed by
            // scripts/setup_test.sh) reads it instead.
            let reader = AudioReader::open(&path).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(reader.info().decoded_by, DecodedBy::Ffmpeg, "{file}");
            assert_eq!(reader.info().channels, 6, "{file}");
            continue;
        }
        let reader = AudioReader::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let info = reader.info().clone();
        assert_eq!(
            info.container.name(),
            case["container"].as_str().expect("container"),
            "{file}"
        );
        assert_eq!(
            u64::from(info.sample_rate),
            case["sample_rate"].as_u64().expect("rate"),
            "{file}"
        );
        assert_eq!(info.channels, channels, "{file}");
        let got = read_all(&path).unwrap_or_else(|e| panic!("{e}"));
        let frames = case["frames"].as_u64().expect("frames") as usize;
        for c in 0..channels {
            let want = source(case, c);
            let have = &got.channels[c];
            if case["lossless"].as_bool() == Some(true) {
                assert_eq!(have.len(), frames, "{file}: length");
                let worst = want
                    .iter()
                    .zip(have)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f32::max);
                assert!(worst < 1e-6, "{file} channel {c}: max |Δ| {worst}");
                continue;
            }
            // Lossy: the last packet may run over (MP3, Vorbis in Matroska); AAC in MP4/MOV has
            // exactly the source's length (the edit list skips the priming and ends the track).
            if case["codec"] == "aac" {
                assert_eq!(have.len(), frames, "{file}: length");
            }
            assert!(
                have.len() + 16 >= frames && have.len() <= frames + 2048,
                "{file}: {} frames",
                have.len()
            );
            // Every format lines up with the source (no lag). A sine makes every period an equally
            // good alignment, so this checks the expected one, and that it beats the old AAC bug's.
            let n = frames.min(have.len());
            let snr = common::snr_db(&want[2048..n - 2048], &have[2048..n - 2048]);
            assert!(snr > 20.0, "{file} channel {c}: SNR {snr:.1} dB");
            if n > 1024 + 4096 {
                let late = common::snr_db(&want[2048..n - 3072], &have[3072..n - 2048]);
                assert!(late < snr, "{file} channel {c}: better 1024 frames late");
            }
        }
        checked += 1;
    }
    assert!(checked >= 25);
}

#[test]
fn broken_fixtures_fail_with_the_right_reason() {
    let truncated = media("broken/truncated.flac");
    match read_all(&truncated) {
        Err(AudioError::Truncated {
            expected_s,
            found_s,
            ..
        }) => {
            assert!(
                (expected_s - 0.5).abs() < 1e-9 && found_s < 0.3,
                "{expected_s} {found_s}"
            )
        }
        other => panic!("truncated.flac: {other:?}"),
    }
    let corrupt = media("broken/corrupt.mp3");
    let err = read_all(&corrupt).expect_err("corrupt");
    assert!(err.to_string().contains("corrupt.mp3"), "{err}");
    let noaudio = media("broken/noaudio.mp4");
    assert!(matches!(
        read_all(&noaudio),
        Err(AudioError::NoAudioTrack { .. })
    ));
}
