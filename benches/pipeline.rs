//! criterion benches: each front-end stage, and the whole decode → 16 kHz mono → log-mel chain.
//! Real-time factor = seconds of audio per second of compute = (audio seconds) / (time per iteration).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use roomtone::audio::{AudioBlock, AudioOutput, AudioReader, OutputFormat, StreamResampler};
use roomtone::features::{log_mel_stream, LogMel, MelParams};

const SECONDS: usize = 10;

/// Ten seconds of the bundled example (rain and speech), looped, as 48 kHz stereo.
fn example_48k_stereo() -> AudioBlock {
    let clip = roomtone::audio::read_all(std::path::Path::new("examples/speech_over_rain.ogg"))
        .expect("bundled example decodes");
    let frames = 48_000 * SECONDS;
    AudioBlock {
        sample_rate: 48_000,
        channels: clip
            .channels
            .iter()
            .map(|c| c.iter().copied().cycle().take(frames).collect())
            .collect(),
    }
}

fn stages(c: &mut Criterion) {
    let signal = example_48k_stereo();
    let dir = tempfile::tempdir().expect("tempdir");
    let wav = dir.path().join("bench.wav");
    let mut out = AudioOutput::create(&wav, 48_000, 2, OutputFormat::Wav16, true).expect("create");
    out.write_block(&signal).expect("write");
    out.finish().expect("finish");

    let mut g = c.benchmark_group(format!("front end, {SECONDS} s of 48 kHz stereo"));
    g.throughput(Throughput::Elements((48_000 * SECONDS) as u64));
    g.sample_size(20).measurement_time(Duration::from_secs(8));

    g.bench_function("decode wav16", |b| {
        b.iter(|| {
            let mut r = AudioReader::open(&wav).expect("open");
            let mut block = AudioBlock::default();
            let mut n = 0;
            while r.next_block(&mut block).expect("decode") {
                n += block.frames();
            }
            black_box(n)
        })
    });

    let mut mono = Vec::new();
    signal.downmix_into(&mut mono);
    let mono = vec![mono];
    g.bench_function("resample 48k -> 16k mono", |b| {
        let mut block = AudioBlock::default();
        b.iter(|| {
            let mut r = StreamResampler::new(48_000, 16_000, 1).expect("resampler");
            let mut n = 0;
            for chunk in mono[0].chunks(4096) {
                r.process(&[chunk], &mut block).expect("process");
                n += block.frames();
            }
            r.finish(&mut block).expect("finish");
            black_box(n + block.frames())
        })
    });

    let mut r = StreamResampler::new(48_000, 16_000, 1).expect("resampler");
    let mut at16k = AudioBlock::default();
    r.process(&mono, &mut at16k).expect("process");
    let x16 = at16k.channels[0].clone();
    g.bench_function("log-mel (YAMNet front end)", |b| {
        let mut mel = LogMel::new(MelParams::yamnet()).expect("params");
        let mut out = Vec::with_capacity(x16.len() / 160 * 64 + 64);
        b.iter(|| {
            mel.reset();
            out.clear();
            black_box(mel.push(&x16, &mut out))
        })
    });

    g.bench_function("whole: decode -> 16k mono -> log-mel", |b| {
        let mut mel = LogMel::new(MelParams::yamnet()).expect("params");
        b.iter(|| {
            let mut r = AudioReader::open(&wav).expect("open");
            black_box(log_mel_stream(&mut r, &mut mel, |f| {
                black_box(f);
            }))
            .expect("front end")
        })
    });
    g.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
