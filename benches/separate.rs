//! criterion bench: DeepFilterNet3 on 10 s of 48 kHz mono (the bundled example, channel 0, looped):
//! the three graphs alone, and the whole stream (STFT, features, graphs, deep filter, ISTFT); and
//! Conv-TasNet on the same 10 s at 16 kHz (segmented stream, int8 and float graphs).
//! Real-time factor = 10 s / time per iteration.
//! Run: `taskset -c 0 cargo bench --features bench-internals --bench separate` (without the
//! feature, the graphs-alone measurement is left out).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use roomtone::models::{self, Precision, SessionOptions};
use roomtone::separate::{self, convtasnet, ChunkConfig, ConvTasNet, Dfn3, SegmentConfig};

const SECONDS: usize = 10;

fn dfn3(c: &mut Criterion) {
    let clip = roomtone::audio::read_all(std::path::Path::new("examples/speech_over_rain.ogg"))
        .expect("bundled example decodes");
    let x: Vec<f32> = clip.channels[0]
        .iter()
        .copied()
        .cycle()
        .take(48_000 * SECONDS)
        .collect();
    let model = Dfn3::load(&models::models_dir()).expect("models fetched");
    let mut session = model.session(SessionOptions::default()).expect("session");
    let mut g = c.benchmark_group(format!("dfn3, {SECONDS} s of 48 kHz mono"));
    g.throughput(Throughput::Elements((48_000 * SECONDS) as u64));
    g.sample_size(10).measurement_time(Duration::from_secs(15));
    // The graphs alone need the crate's internals: `cargo bench --features bench-internals`.
    #[cfg(feature = "bench-internals")]
    {
        let frames = 48_000 * SECONDS / 480;
        let erb = vec![0.1f32; frames * 32];
        let spec = vec![0.1f32; frames * 192];
        let mut graphs = separate::GraphBench::default();
        g.bench_function("three graphs only", |b| {
            b.iter(|| graphs.run(&mut session, black_box(&erb), black_box(&spec), frames))
        });
    }
    g.bench_function("whole stream (default chunks)", |b| {
        b.iter(|| separate::enhance(&model, &mut session, black_box(&x), ChunkConfig::default()))
    });
    g.finish();
}

fn convtasnet(c: &mut Criterion) {
    let clip = roomtone::audio::read_all(std::path::Path::new("examples/speech_over_rain.ogg"))
        .expect("bundled example decodes");
    // 48 kHz -> 16 kHz by taking every third sample is enough for timing.
    let x: Vec<f32> = clip.channels[0]
        .iter()
        .step_by(3)
        .copied()
        .cycle()
        .take(16_000 * SECONDS)
        .collect();
    let mut g = c.benchmark_group(format!("convtasnet, {SECONDS} s of 16 kHz mono"));
    g.throughput(Throughput::Elements((16_000 * SECONDS) as u64));
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    for (name, p) in [("int8", Precision::Int8), ("float32", Precision::Float32)] {
        let model = ConvTasNet::load(&models::models_dir(), p).expect("models fetched");
        let mut session = model.session(SessionOptions::default()).expect("session");
        g.bench_function(format!("segmented stream, {name} graph"), |b| {
            b.iter(|| {
                convtasnet::enhance(
                    &model,
                    &mut session,
                    black_box(&x),
                    SegmentConfig::default(),
                )
            })
        });
    }
    g.finish();
}

criterion_group!(benches, dfn3, convtasnet);
criterion_main!(benches);
