//! Writes a long benchmark input by looping the bundled example (48 kHz stereo rain and speech),
//! optionally resampled to another rate.
//!
//! Usage: cargo run --release --example make_bench_input -- OUT.wav MINUTES [RATE]

use std::path::Path;

use roomtone::audio::{read_all, AudioBlock, AudioOutput, OutputFormat, StreamResampler};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (out, minutes, rate) = match args.as_slice() {
        [out, minutes] => (out, minutes.parse::<f64>()?, None),
        [out, minutes, rate] => (out, minutes.parse::<f64>()?, Some(rate.parse::<u32>()?)),
        _ => return Err("usage: make_bench_input OUT.wav MINUTES [RATE]".into()),
    };
    let mut clip = read_all(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/speech_over_rain.ogg"
    )))?;
    if let Some(rate) = rate.filter(|&r| r != clip.sample_rate) {
        let mut resampler = StreamResampler::new(clip.sample_rate, rate, clip.channel_count())?;
        let (mut a, mut b) = (AudioBlock::default(), AudioBlock::default());
        resampler.process(&clip.channels, &mut a)?;
        resampler.finish(&mut b)?;
        for (x, y) in a.channels.iter_mut().zip(b.channels) {
            x.extend(y);
        }
        clip = a;
    }
    let total = (minutes * 60.0 * f64::from(clip.sample_rate)).round() as usize;
    let mut w = AudioOutput::create(
        Path::new(out),
        clip.sample_rate,
        clip.channel_count(),
        OutputFormat::Wav16,
        true,
    )?;
    let mut written = 0;
    while written < total {
        let n = (total - written).min(clip.frames());
        let block = AudioBlock {
            sample_rate: clip.sample_rate,
            channels: clip.channels.iter().map(|c| c[..n].to_vec()).collect(),
        };
        w.write_block(&block)?;
        written += n;
    }
    w.finish()?;
    println!(
        "{out}: {minutes} min, {} Hz, {} ch",
        clip.sample_rate,
        clip.channel_count()
    );
    Ok(())
}
