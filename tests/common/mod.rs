//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// `tests/data/<name>`.
pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Reads a raw little-endian f32 file.
pub fn read_f32(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// `amp · sin(2π f n / sr)` for n in 0..len, computed in f64.
pub fn sine(freq: f64, sr: u32, len: usize, amp: f64) -> Vec<f32> {
    (0..len)
        .map(|n| (amp * (std::f64::consts::TAU * freq * n as f64 / f64::from(sr)).sin()) as f32)
        .collect()
}

/// Signal-to-error ratio in dB of `test` against `reference`.
pub fn snr_db(reference: &[f32], test: &[f32]) -> f64 {
    assert_eq!(reference.len(), test.len(), "lengths differ");
    let (mut sig, mut err) = (0.0f64, 0.0f64);
    for (&r, &t) in reference.iter().zip(test) {
        sig += f64::from(r) * f64::from(r);
        err += (f64::from(r) - f64::from(t)).powi(2);
    }
    10.0 * (sig / err.max(1e-300)).log10()
}

/// Frequency in Hz of the strongest DFT bin of `x` (plain O(n·bins) DFT over a Hann window,
/// refined by parabolic interpolation): a slow reference, independent of the code under test.
pub fn dominant_frequency(x: &[f32], sr: u32) -> f64 {
    let n = x.len();
    let w: Vec<f64> = (0..n)
        .map(|i| 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / n as f64).cos())
        .collect();
    let mag = |k: usize| {
        let (mut re, mut im) = (0.0, 0.0);
        for (i, (&s, &wi)) in x.iter().zip(&w).enumerate() {
            let ph = std::f64::consts::TAU * (k * i) as f64 / n as f64;
            re += f64::from(s) * wi * ph.cos();
            im -= f64::from(s) * wi * ph.sin();
        }
        (re * re + im * im).sqrt()
    };
    let mags: Vec<f64> = (0..n / 2).map(mag).collect();
    let k = (1..mags.len() - 1)
        .max_by(|&a, &b| mags[a].total_cmp(&mags[b]))
        .unwrap_or(1);
    let (a, b, c) = (mags[k - 1].ln(), mags[k].ln(), mags[k + 1].ln());
    let delta = 0.5 * (a - c) / (a - 2.0 * b + c);
    (k as f64 + delta) * f64::from(sr) / n as f64
}

/// The `roomtone` binary under test.
pub fn roomtone() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("roomtone").expect("binary")
}

/// Writes mono 16-bit PCM.
pub fn write_wav(path: &Path, sr: u32, samples: &[f32]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: sr,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create");
    for &s in samples {
        w.write_sample((s * 32767.0) as i16).expect("write");
    }
    w.finalize().expect("finalize");
}

/// Reads a mono 16-bit PCM WAV: its rate and samples in ±1.
pub fn read_wav(path: &Path) -> (u32, Vec<f32>) {
    let mut r = hound::WavReader::open(path).expect("open");
    let sr = r.spec().sample_rate;
    let samples = r
        .samples::<i16>()
        .map(|s| f32::from(s.expect("sample")) / 32768.0)
        .collect();
    (sr, samples)
}

/// Deterministic white noise (xorshift), uniform in ±`amp`.
pub fn noise(len: usize, amp: f32, seed: u64) -> Vec<f32> {
    let mut s = seed | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * amp
        })
        .collect()
}

/// Sum of squares.
pub fn energy(x: &[f32]) -> f64 {
    x.iter().map(|&v| f64::from(v) * f64::from(v)).sum()
}

/// `ch` channels of `len` samples at `sr`: a sine (300 Hz + 100 Hz per channel, amplitude 0.3) plus
/// white noise (±0.05, one seed per channel).
pub fn noisy_tones(sr: u32, ch: usize, len: usize) -> roomtone::audio::AudioBlock {
    let channels = (0..ch)
        .map(|c| {
            let mut v = sine(300.0 + 100.0 * c as f64, sr, len, 0.3);
            v.iter_mut()
                .zip(noise(len, 0.05, c as u64 + 1))
                .for_each(|(a, b)| *a += b);
            v
        })
        .collect();
    roomtone::audio::AudioBlock {
        sample_rate: sr,
        channels,
    }
}

/// Writes `block` as a 32-bit float WAV (exact).
pub fn write_block(path: &Path, block: &roomtone::audio::AudioBlock) {
    use roomtone::audio::{AudioOutput, OutputFormat};
    let mut w = AudioOutput::create(
        path,
        block.sample_rate,
        block.channel_count(),
        OutputFormat::F32,
        true,
    )
    .unwrap();
    w.write_block(block).unwrap();
    w.finish().unwrap();
}
