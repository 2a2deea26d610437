//! YAMNet through the real runtime (needs scripts/setup.sh): the class map, and known signals get
//! the right family of AudioSet classes (the quantisation read from the graph is a unit test).

mod common;

use roomtone::classify::{Yamnet, N_CLASSES};
use roomtone::features::LogMel;
use roomtone::models::{self, SessionOptions};

fn top(model: &Yamnet, scores: &[f32], k: usize) -> Vec<(String, f32)> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    idx.iter()
        .take(k)
        .map(|&i| (model.class_names()[i].clone(), scores[i]))
        .collect()
}

fn patch_scores(model: &Yamnet, x16k: &[f32]) -> Vec<f32> {
    let mut mel = LogMel::new(model.mel_params().clone()).expect("front end");
    let frames = mel.compute(x16k);
    let n = model.patch_frames() * model.mel_params().n_mels;
    assert!(frames.len() >= n, "need at least one patch");
    let mut session = model.session(SessionOptions::default()).expect("session");
    session.run(&frames[..n]).expect("run").scores
}

#[test]
fn class_names_are_audioset() {
    let model = Yamnet::load(&models::models_dir()).expect("load");
    assert_eq!(model.class_names().len(), N_CLASSES);
    assert_eq!(model.class_names()[0], "Speech");
}

#[test]
fn silence_is_silence_and_mains_hum_is_a_hum() {
    let model = Yamnet::load(&models::models_dir()).expect("load");

    let silent = patch_scores(&model, &vec![0.0; 16_000]);
    let t = top(&model, &silent, 1);
    assert_eq!(t[0].0, "Silence", "{t:?}");

    // 50 Hz mains hum with odd and even harmonics, as a buzzing ballast or a ground loop sounds.
    let hum: Vec<f32> = (0..16_000)
        .map(|n| {
            let t = n as f64 / 16_000.0;
            (1..=12)
                .map(|h| 0.3 / h as f64 * (std::f64::consts::TAU * 50.0 * h as f64 * t).sin())
                .sum::<f64>() as f32
        })
        .collect();
    let scores = patch_scores(&model, &hum);
    let t = top(&model, &scores, 5);
    // Raw YAMNet hears a clean hum as a tone (sine wave, harmonic, tuner, synthesiser) rather than
    // as "Hum": that is why the tagger adds its own mains-harmonic detector. Here: a tonal class, and
    // no environmental-noise class on top.
    let tonal = [
        "Hum",
        "Mains hum",
        "Buzz",
        "Sine wave",
        "Harmonic",
        "Electronic tuner",
        "Synthesizer",
        "Music",
        "Keyboard (musical)",
    ];
    assert!(tonal.contains(&t[0].0.as_str()), "hum heard as {t:?}");
    let embedding = {
        let mut mel = LogMel::new(model.mel_params().clone()).expect("front end");
        let frames = mel.compute(&hum);
        let mut s = model.session(SessionOptions::default()).expect("session");
        s.run(&frames[..96 * 64]).expect("run").embedding
    };
    assert_eq!(embedding.len(), 1024);
    assert!(embedding.iter().any(|&e| e != 0.0));
}
