//! Audio in and out: generated files decode to the samples written; resampling keeps frequency,
//! alignment and exact length; WAV output is atomic and never clobbers.

mod common;

use std::path::Path;

use proptest::prelude::*;
use roomtone::audio::{
    check_output_path, read_all, AudioBlock, AudioError, AudioOutput, AudioReader, OutputFormat,
    StreamResampler,
};

/// Channel `c` of the test signal: a sine at `base · (c+1)` Hz, amplitude 0.5, plus a small DC-free
/// ramp pattern so channels and sample order are all distinguishable.
fn test_signal(sr: u32, channels: usize, frames: usize) -> Vec<Vec<f32>> {
    let base = (f64::from(sr) * 0.4 / (channels as f64 + 1.0)).min(440.0);
    (0..channels)
        .map(|c| common::sine(base * (c + 1) as f64, sr, frames, 0.5))
        .collect()
}

#[derive(Clone, Copy, Debug)]
enum Pcm {
    U8,
    I16,
    I24,
    I32,
    F32,
}

/// Writes `signal` with hound as `pcm`, returns what a perfect decoder must return.
fn write_wav(path: &Path, sr: u32, signal: &[Vec<f32>], pcm: Pcm) -> Vec<Vec<f32>> {
    let (bits, fmt) = match pcm {
        Pcm::U8 => (8, hound::SampleFormat::Int),
        Pcm::I16 => (16, hound::SampleFormat::Int),
        Pcm::I24 => (24, hound::SampleFormat::Int),
        Pcm::I32 => (32, hound::SampleFormat::Int),
        Pcm::F32 => (32, hound::SampleFormat::Float),
    };
    let spec = hound::WavSpec {
        channels: signal.len() as u16,
        sample_rate: sr,
        bits_per_sample: bits,
        sample_format: fmt,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    let frames = signal[0].len();
    let mut expected = vec![Vec::with_capacity(frames); signal.len()];
    for i in 0..frames {
        for (c, ch) in signal.iter().enumerate() {
            let s = ch[i];
            let back = match pcm {
                Pcm::U8 => {
                    let q = (f64::from(s) * 128.0).round() as i8;
                    w.write_sample(q).expect("write");
                    f64::from(q) / 128.0
                }
                Pcm::I16 => {
                    let q = (f64::from(s) * 32768.0).round() as i16;
                    w.write_sample(q).expect("write");
                    f64::from(q) / 32768.0
                }
                Pcm::I24 => {
                    let q = (f64::from(s) * 8_388_608.0).round() as i32;
                    w.write_sample(q).expect("write");
                    f64::from(q) / 8_388_608.0
                }
                Pcm::I32 => {
                    let q = (f64::from(s) * 2_147_483_648.0).round() as i32;
                    w.write_sample(q).expect("write");
                    f64::from(q) / 2_147_483_648.0
                }
                Pcm::F32 => {
                    w.write_sample(s).expect("write");
                    f64::from(s)
                }
            };
            expected[c].push(back as f32);
        }
    }
    w.finalize().expect("finalize");
    expected
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn generated_wav_matrix_decodes_to_the_written_samples() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rates = [
        8_000u32, 11_025, 16_000, 22_050, 32_000, 44_100, 48_000, 88_200, 96_000, 176_400, 192_000,
    ];
    let mut checked = 0;
    for (i, &sr) in rates.iter().enumerate() {
        for channels in [1usize, 2, 6] {
            for pcm in [Pcm::U8, Pcm::I16, Pcm::I24, Pcm::I32, Pcm::F32] {
                // Odd lengths so the last block is partial.
                let frames = (sr as usize / 20) + 7 * i + channels;
                let path = dir.path().join(format!("t_{sr}_{channels}_{pcm:?}.wav"));
                let expected = write_wav(&path, sr, &test_signal(sr, channels, frames), pcm);
                // A block size that does not divide the length.
                let mut reader = AudioReader::open_with_block(&path, 1000 + i).expect("open");
                let info = reader.info().clone();
                assert_eq!(
                    (info.sample_rate, info.channels),
                    (sr, channels),
                    "{path:?}"
                );
                assert_eq!(info.container.name(), "wav");
                let mut got = vec![Vec::new(); channels];
                let mut block = AudioBlock::default();
                while reader.next_block(&mut block).expect("decode") {
                    assert!(block.frames() <= 1000 + i);
                    for (g, b) in got.iter_mut().zip(&block.channels) {
                        g.extend_from_slice(b);
                    }
                }
                let tol = match pcm {
                    Pcm::I32 => 1e-7,
                    _ => 0.0,
                };
                for c in 0..channels {
                    assert_eq!(got[c].len(), frames, "{path:?} channel {c} length");
                    let d = max_abs_diff(&got[c], &expected[c]);
                    assert!(d <= tol, "{path:?} channel {c}: max |Δ| {d}");
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, rates.len() * 3 * 5);
}

#[test]
fn a_long_file_is_read_in_blocks_not_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("long.wav");
    let sr = 48_000;
    let frames = sr as usize * 20;
    write_wav(&path, sr, &test_signal(sr, 2, frames), Pcm::I16);
    let mut reader = AudioReader::open(&path).expect("open");
    let mut block = AudioBlock::default();
    let mut total = 0;
    let mut biggest_capacity = 0;
    while reader.next_block(&mut block).expect("decode") {
        total += block.frames();
        biggest_capacity = biggest_capacity.max(block.channels[0].capacity());
    }
    assert_eq!(total, frames);
    assert!(
        biggest_capacity <= 4 * roomtone::audio::DEFAULT_BLOCK_FRAMES,
        "{biggest_capacity}"
    );
}

fn resample_all(from: u32, to: u32, x: &[Vec<f32>], cuts: &[usize]) -> Vec<Vec<f32>> {
    let mut r = StreamResampler::new(from, to, x.len()).expect("resampler");
    let mut out = vec![Vec::new(); x.len()];
    let mut block = AudioBlock::default();
    let mut pos = 0;
    let len = x[0].len();
    for &c in cuts.iter().cycle() {
        if pos >= len {
            break;
        }
        let end = (pos + c).min(len);
        let piece: Vec<Vec<f32>> = x.iter().map(|ch| ch[pos..end].to_vec()).collect();
        r.process(&piece, &mut block).expect("process");
        out.iter_mut()
            .zip(&block.channels)
            .for_each(|(o, b)| o.extend_from_slice(b));
        pos = end;
    }
    r.finish(&mut block).expect("finish");
    out.iter_mut()
        .zip(&block.channels)
        .for_each(|(o, b)| o.extend_from_slice(b));
    out
}

#[test]
fn resampling_keeps_frequency_alignment_and_exact_length() {
    let pairs = [
        (48_000u32, 16_000u32),
        (44_100, 16_000),
        (44_100, 48_000),
        (16_000, 48_000),
        (8_000, 48_000),
        (96_000, 44_100),
        (192_000, 48_000),
        (22_050, 16_000),
        (44_101, 16_000), // odd rate pair: long transforms
        (48_048, 16_000), // NTSC pull-up rate
        (16_000, 44_101),
        (48_000, 48_000), // passthrough
    ];
    for (from, to) in pairs {
        for len in [from as usize / 2 + 3, from as usize * 2 + 1] {
            let freq = 997.0;
            let x = vec![common::sine(freq, from, len, 0.5)];
            let y = resample_all(from, to, &x, &[4096, 333, 1]);
            let expected_len =
                ((len as u128 * to as u128 * 2 + from as u128) / (2 * from as u128)) as usize;
            assert_eq!(y[0].len(), expected_len, "{from}->{to}, {len} frames");
            // Same sine, same phase: the delay was removed. Edges excluded (filter ramp-up/down).
            let ideal = common::sine(freq, to, expected_len, 0.5);
            let edge = to as usize / 50;
            let (a, b) = (edge, expected_len - edge);
            let snr = common::snr_db(&ideal[a..b], &y[0][a..b]);
            assert!(
                snr > 40.0,
                "{from}->{to}: SNR vs ideal sine {snr:.1} dB (misaligned?)"
            );
            let f = common::dominant_frequency(&y[0][a..a.max(b.min(a + 4096))], to);
            assert!((f - freq).abs() < 2.0, "{from}->{to}: {f:.2} Hz");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Feeding the resampler in any block sizes gives the same output as feeding it in one block.
    #[test]
    fn chunked_resampling_equals_whole(cuts in proptest::collection::vec(1usize..5000, 1..8)) {
        let x = vec![common::sine(440.0, 44_100, 30_001, 0.5), common::sine(1234.0, 44_100, 30_001, 0.3)];
        let whole = resample_all(44_100, 16_000, &x, &[x[0].len()]);
        let chunked = resample_all(44_100, 16_000, &x, &cuts);
        prop_assert_eq!(whole, chunked);
    }
}

#[test]
fn wav_output_round_trips_each_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sr = 44_100;
    let signal = AudioBlock {
        sample_rate: sr,
        channels: test_signal(sr, 2, 10_000),
    };
    for (fmt, tol) in [
        (OutputFormat::Wav16, 1.0 / 32768.0),
        (OutputFormat::Wav24, 1.0 / 8_388_608.0),
        (OutputFormat::F32, 0.0),
    ] {
        let path = dir.path().join(format!("{fmt:?}.wav"));
        let mut out = AudioOutput::create(&path, sr, 2, fmt, false).expect("create");
        out.write_block(&signal).expect("write");
        out.finish().expect("finish");
        let back = read_all(&path).expect("read back");
        assert_eq!(back.sample_rate, sr);
        for c in 0..2 {
            assert_eq!(back.channels[c].len(), 10_000);
            let d = max_abs_diff(&back.channels[c], &signal.channels[c]);
            assert!(d <= tol as f32 * 0.51 + 1e-7, "{fmt:?}: {d}");
        }
    }
    // Only the finished files are left: no temporary files.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
}

#[test]
fn outputs_are_never_clobbered_without_force_and_inputs_never() {
    let dir = tempfile::tempdir().expect("tempdir");
    let existing = dir.path().join("out.wav");
    std::fs::write(&existing, b"keep me").expect("write");
    let input = dir.path().join("in.wav");
    std::fs::write(&input, b"input").expect("write");

    assert!(matches!(
        check_output_path(&existing, &[], false),
        Err(AudioError::OutputExists { .. })
    ));
    assert!(check_output_path(&existing, &[], true).is_ok());
    assert!(matches!(
        check_output_path(&input, std::slice::from_ref(&input), true),
        Err(AudioError::WouldOverwriteInput { .. })
    ));
    // Also through another spelling of the same path.
    let dotted = dir.path().join(".").join("in.wav");
    assert!(matches!(
        check_output_path(&dotted, std::slice::from_ref(&input), true),
        Err(AudioError::WouldOverwriteInput { .. })
    ));

    // Even if the check was skipped, the final rename refuses to replace without force.
    let block = AudioBlock {
        sample_rate: 8000,
        channels: vec![vec![0.1; 100]],
    };
    let mut out =
        AudioOutput::create(&existing, 8000, 1, OutputFormat::Wav16, false).expect("create");
    out.write_block(&block).expect("write");
    assert!(matches!(out.finish(), Err(AudioError::OutputExists { .. })));
    assert_eq!(std::fs::read(&existing).expect("read"), b"keep me");

    // An abandoned writer leaves nothing behind.
    let fresh = dir.path().join("fresh.wav");
    let mut out = AudioOutput::create(&fresh, 8000, 1, OutputFormat::Wav16, false).expect("create");
    out.write_block(&block).expect("write");
    drop(out);
    assert!(!fresh.exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".part") || n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let mut out =
        AudioOutput::create(&existing, 8000, 1, OutputFormat::Wav16, true).expect("create");
    out.write_block(&block).expect("write");
    out.finish().expect("force replaces");
    assert_eq!(read_all(&existing).expect("read").frames(), 100);
}
