//! The voice-activity session over stream lengths at every frame (512) and block (64 and 256
//! frames) boundary ± 1: one probability per started 32 ms frame, and a stream fed in uneven pieces
//! (carried context and LSTM state) gives the same probabilities as one piece. Non-finite samples
//! never reach it: the decoder repairs them (tests/proptest_tag.rs tags damaged signals).

mod common;

use roomtone::classify::{GatedVad, Vad};
use roomtone::models::{self, SessionOptions};

#[test]
fn one_probability_per_frame_and_pieces_equal_the_whole() {
    let vad = Vad::load(&models::models_dir()).expect("scripts/setup.sh fetches the model");
    let mut session = vad.session(SessionOptions::default()).expect("session");
    let mut lengths = vec![0usize];
    for edge in [512usize, 64 * 512, 256 * 512, 2 * 256 * 512] {
        lengths.extend([edge - 1, edge, edge + 1]);
    }
    let signal = common::noise(2 * 256 * 512 + 1, 0.3, 7);
    for &n in &lengths {
        let x = &signal[..n];
        let mut whole = GatedVad::new(&mut session, None);
        whole.samples(x);
        let whole = whole.finish().expect("run");
        assert_eq!(whole.len(), n.div_ceil(512), "{n} samples");
        assert!(whole.iter().all(|p| (0.0..=1.0).contains(p)), "{n}");
        // Pieces of 1, 511, 1000, 4097 … samples.
        let mut pieces = GatedVad::new(&mut session, None);
        let (mut at, mut k) = (0, 0);
        while at < n {
            let len = [1usize, 511, 1000, 4097, 70_001][k % 5].min(n - at);
            pieces.samples(&x[at..at + len]);
            at += len;
            k += 1;
        }
        let pieces = pieces.finish().expect("run");
        assert_eq!(pieces.len(), whole.len(), "{n}");
        for (i, (a, b)) in whole.iter().zip(&pieces).enumerate() {
            assert!((a - b).abs() < 1e-5, "{n} samples, frame {i}: {a} vs {b}");
        }
    }
}

#[test]
fn silence_and_full_scale_give_probabilities() {
    let vad = Vad::load(&models::models_dir()).expect("model");
    let mut session = vad.session(SessionOptions::default()).expect("session");
    let n = 16_000;
    let full: Vec<f32> = (0..n)
        .map(|i| if (i / 37) % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    for (name, x) in [("silence", vec![0.0f32; n]), ("full scale", full)] {
        let mut v = GatedVad::new(&mut session, None);
        v.samples(&x);
        let p = v.finish().expect("run");
        assert_eq!(p.len(), n.div_ceil(512));
        assert!(p.iter().all(|p| (0.0..=1.0).contains(p)), "{name}: {p:?}");
    }
}
