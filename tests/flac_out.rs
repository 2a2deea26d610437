//! FLAC output: what is written decodes (in roomtone and in ffmpeg) to exactly the samples that
//! were quantised, for every length around the 4,096-frame block edge, 1 to 8 channels, several
//! rates, both bit depths and the extremes of the sample range; written in any block sizes.

mod common;

use std::path::Path;
use std::process::Command;

use proptest::prelude::*;
use roomtone::audio::{read_all, AudioBlock, AudioOutput, OutputFormat};

/// What a 16- or 24-bit file holds for `x`: round(x · 2^(bits-1)), clipped; read back as q / 2^(bits-1).
fn on_grid(x: f32, bits: u32) -> f32 {
    let full = (1i64 << (bits - 1)) as f32;
    (x * full).round().clamp(-full, full - 1.0) / full
}

fn signal(channels: usize, frames: usize, seed: u64) -> Vec<Vec<f32>> {
    (0..channels)
        .map(|c| {
            let mut v = common::noise(frames, 0.9, seed + c as u64);
            // The extremes and the clipping edge are in every file.
            for (i, x) in [1.0, -1.0, 1.5, -1.5, 0.0, 1e-9].into_iter().enumerate() {
                if i < v.len() {
                    v[i] = x;
                }
            }
            v
        })
        .collect()
}

fn write(path: &Path, sr: u32, x: &[Vec<f32>], format: OutputFormat, piece: usize) {
    let mut w = AudioOutput::create(path, sr, x.len(), format, false).expect("create");
    let frames = x[0].len();
    let mut at = 0;
    loop {
        let end = (at + piece).min(frames);
        w.write_block(&AudioBlock {
            sample_rate: sr,
            channels: x.iter().map(|c| c[at..end].to_vec()).collect(),
        })
        .expect("write");
        at = end;
        if at >= frames {
            break;
        }
    }
    w.finish().expect("finish");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]
    #[test]
    fn flac_decodes_to_the_quantised_samples(
        frames in prop::sample::select(vec![1usize, 2, 4095, 4096, 4097, 8191, 8192, 8193, 12_289]),
        channels in 1usize..=8,
        sr in prop::sample::select(vec![8000u32, 22_050, 44_100, 48_000, 88_200, 96_000]),
        flac24 in any::<bool>(),
        piece in prop::sample::select(vec![1usize, 1000, 4096, 100_000]),
        seed in any::<u64>(),
    ) {
        let (format, bits) = if flac24 { (OutputFormat::Flac24, 24) } else { (OutputFormat::Flac16, 16) };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.flac");
        let x = signal(channels, frames, seed);
        write(&path, sr, &x, format, piece.min(frames.max(1)));
        let y = read_all(&path).expect("decodes");
        prop_assert_eq!(y.sample_rate, sr);
        prop_assert_eq!(y.channels.len(), channels);
        for (a, b) in x.iter().zip(&y.channels) {
            prop_assert_eq!(a.len(), b.len());
            for (i, (&s, &t)) in a.iter().zip(b).enumerate() {
                prop_assert_eq!(on_grid(s, bits), t, "frame {}", i);
            }
        }
    }
}

#[test]
fn ffmpeg_decodes_our_flac_to_the_same_samples() {
    let dir = tempfile::tempdir().unwrap();
    for (format, frames, channels) in [
        (OutputFormat::Flac16, 48_037, 2),
        (OutputFormat::Flac24, 48_037, 6),
        (OutputFormat::Flac24, 4_097, 1),
    ] {
        let path = dir.path().join(format!("{format:?}-{channels}.flac"));
        let x = signal(channels, frames, 9);
        write(&path, 48_000, &x, format, 1000);
        let out = Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-i"])
            .arg(&path)
            .args(["-f", "f32le", "-c:a", "pcm_f32le", "-"])
            .output()
            .expect("ffmpeg (scripts/setup_test.sh installs it)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs: Vec<f32> = out
            .stdout
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        assert_eq!(
            theirs.len(),
            frames * channels,
            "{format:?}: length in ffmpeg"
        );
        let ours = read_all(&path).unwrap();
        for (i, t) in theirs.iter().enumerate() {
            let (f, c) = (i / channels, i % channels);
            assert_eq!(ours.channels[c][f], *t, "{format:?}: frame {f} channel {c}");
        }
    }
}

#[test]
fn more_channels_or_a_higher_rate_than_flac_takes_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = match AudioOutput::create(
        &dir.path().join("x.flac"),
        48_000,
        9,
        OutputFormat::Flac24,
        false,
    ) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("9 channels accepted"),
    };
    assert!(
        err.contains("x.flac") && err.contains("8 channels") && err.contains("WAV"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing left behind"
    );
}
