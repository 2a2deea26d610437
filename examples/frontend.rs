//! Whole-process front-end run for BENCHMARKS.md: decode → 16 kHz mono → YAMNet log-mel over a file,
//! printing seconds of audio per second of compute. Run it under `/usr/bin/time -v` for peak memory.
//!
//! Usage: cargo run --release --example frontend -- FILE...

use std::time::Instant;

use roomtone::audio::AudioReader;
use roomtone::features::{log_mel_stream, LogMel, MelParams};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        return Err("usage: frontend FILE...".into());
    }
    let mut mel = LogMel::new(MelParams::yamnet())?;
    for path in paths {
        let start = Instant::now();
        let mut reader = AudioReader::open(path.as_ref())?;
        let mut checksum = 0.0f64;
        let frames = log_mel_stream(&mut reader, &mut mel, |f| {
            checksum += f.iter().map(|&v| f64::from(v)).sum::<f64>();
        })?;
        let secs = start.elapsed().as_secs_f64();
        let audio_s = reader.decoded_frames() as f64 / f64::from(reader.info().sample_rate);
        println!(
            "{path}: {audio_s:.1} s of audio, {frames} log-mel frames (checksum {checksum:.3e}), {secs:.3} s compute, {:.0}x real time",
            audio_s / secs
        );
    }
    Ok(())
}
