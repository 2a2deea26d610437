//! The bare YAMNet model on one core: quantised patch in, scores out, no front end. The reference
//! figure for `roomtone tag`'s end-to-end speed (BENCHMARKS.md).
//!
//! Usage: cargo run --release --example yamnet_bare -- [PATCHES]

use std::time::Instant;

use roomtone::classify::Yamnet;
use roomtone::features::LogMel;
use roomtone::models::{self, SessionOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).map_or(Ok(2000), |s| s.parse())?;
    let model = Yamnet::load(&models::models_dir())?;
    let mut session = model.session(SessionOptions { intra_threads: 1 })?;
    // A real patch: the first 0.96 s of the bundled example at 16 kHz.
    let clip = roomtone::audio::read_all(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/speech_over_rain.ogg"
    )))?;
    let mut mono = Vec::new();
    clip.downmix_into(&mut mono);
    let mut r = roomtone::audio::StreamResampler::new(clip.sample_rate, 16_000, 1)?;
    let mut at16 = roomtone::audio::AudioBlock::default();
    r.process(&[mono], &mut at16)?;
    let frames = LogMel::new(model.mel_params().clone())?.compute(&at16.channels[0]);
    let patch = &frames[..model.patch_frames() * model.mel_params().n_mels];
    for _ in 0..20 {
        session.run(patch)?;
    }
    let t = Instant::now();
    for _ in 0..n {
        session.run(patch)?;
    }
    let per = t.elapsed().as_secs_f64() / n as f64;
    let hop = model.default_patch_hop_frames() as f64 * 0.01;
    println!(
        "bare YAMNet: {:.3} ms per patch over {n} patches; at a {hop:.2} s hop that is {:.0}x real time",
        per * 1e3,
        hop / per
    );
    Ok(())
}
