//! Known answers for the cleanup and remix stages, from synthetic signals.

use roomtone::audio::AudioBlock;
use roomtone::dsp::{
    self, run_aligned, CleanupConfig, CleanupStep, HighPass, HighpassConfig, HumNotch,
    NoiseProfile, SpectralGate, Stage, StemRole,
};
use roomtone::mix::{self, Limiter, LimiterConfig, RemixConfig, PRESETS};

const SR: u32 = 48_000;

fn sine(freq: f64, len: usize, amp: f64) -> Vec<f32> {
    (0..len)
        .map(|n| (amp * (std::f64::consts::TAU * freq * n as f64 / f64::from(SR)).sin()) as f32)
        .collect()
}

/// Deterministic white noise in [-amp, amp] (xorshift).
fn noise(len: usize, amp: f64, seed: u64) -> Vec<f32> {
    let mut s = seed.max(1);
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) as f32 * amp as f32
        })
        .collect()
}

fn add(a: &[f32], b: &[f32]) -> Vec<f32> {
    a.iter().zip(b).map(|(x, y)| x + y).collect()
}

/// Amplitude of the component at `freq` in `x` (Hann-windowed single-frequency DFT).
fn tone_amp(x: &[f32], freq: f64) -> f64 {
    let n = x.len();
    let (mut re, mut im, mut ws) = (0.0f64, 0.0f64, 0.0f64);
    for (i, &s) in x.iter().enumerate() {
        let w = 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / n as f64).cos();
        let ph = std::f64::consts::TAU * freq * i as f64 / f64::from(SR);
        re += f64::from(s) * w * ph.cos();
        im += f64::from(s) * w * ph.sin();
        ws += w;
    }
    2.0 * (re * re + im * im).sqrt() / ws
}

fn energy_db(x: &[f32]) -> f64 {
    10.0 * x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>().log10()
}

fn block(channels: Vec<Vec<f32>>) -> AudioBlock {
    AudioBlock {
        sample_rate: SR,
        channels,
    }
}

#[test]
fn ebu_3341_stereo_sine_at_minus_23_dbfs_reads_minus_23_lufs() {
    let s = sine(1000.0, SR as usize * 20, 10f64.powf(-23.0 / 20.0));
    let b = block(vec![s.clone(), s]);
    for l in [mix::measure(&b).unwrap(), mix::measure_ebur128(&b).unwrap()] {
        let i = l.integrated_lufs.unwrap();
        assert!((i + 23.0).abs() <= 0.1, "measured {i} LUFS");
    }
}

/// Our meter against the ebur128 crate: integrated and LRA within 0.01 LU, true and sample peak
/// within 0.01 dB (the remix reports our meter's figures).
#[test]
fn loudness_meter_agrees_with_the_ebur128_crate() {
    let at = |sr: u32, channels: Vec<Vec<f32>>| AudioBlock {
        sample_rate: sr,
        channels,
    };
    // Noise whose level steps every 2.5 s over 40 dB (both gates and the LRA percentiles act).
    let stepped = |len: usize, seed: u64| -> Vec<f32> {
        noise(len, 0.5, seed)
            .into_iter()
            .enumerate()
            .map(|(n, v)| v * 10f32.powf(-(((n / 120_000) % 5) as f32) * 0.5))
            .collect()
    };
    // Syllable-like bursts of a harmonic tone with pauses (gated blocks of silence).
    let bursts = |len: usize, sr: u32| -> Vec<f32> {
        (0..len)
            .map(|n| {
                let t = n as f64 / f64::from(sr);
                let env = if (t * 3.0).fract() < 0.6 {
                    (t * 7.0).sin().abs()
                } else {
                    0.0
                };
                (0.4 * env
                    * ((std::f64::consts::TAU * 180.0 * t).sin()
                        + 0.5 * (std::f64::consts::TAU * 2300.0 * t).sin())) as f32
            })
            .collect()
    };
    // A sine at a quarter of the rate, phase 45°: the samples miss the peaks by 3 dB.
    let quarter = |len: usize, sr: u32| -> Vec<f32> {
        (0..len)
            .map(|n| {
                let ph = std::f64::consts::TAU * 0.25 * n as f64 + std::f64::consts::FRAC_PI_4;
                let t = n as f64 / f64::from(sr);
                (0.9 * ph.sin() * (0.5 + 0.5 * (t * 0.7).sin())) as f32
            })
            .collect()
    };
    let cases = vec![
        (
            "stereo stepped noise 48k",
            at(48_000, vec![stepped(960_000, 1), stepped(960_000, 2)]),
        ),
        (
            "mono bursts 44.1k",
            at(44_100, vec![bursts(700_000, 44_100)]),
        ),
        (
            "5.1 noise and bursts 48k",
            at(
                48_000,
                (0..6)
                    .map(|c| add(&stepped(500_000, 10 + c), &bursts(500_000, 48_000)))
                    .collect(),
            ),
        ),
        (
            "stereo quarter-rate sine 44.1k",
            at(
                44_100,
                vec![quarter(300_000, 44_100), bursts(300_000, 44_100)],
            ),
        ),
        (
            "square 48k",
            at(48_000, vec![square(997.0, 200_000, 48_000)]),
        ),
        // 2× oversampling at 96 kHz, none at 192 kHz (as the crate does).
        (
            "stereo quarter-rate sine 96k",
            at(96_000, vec![quarter(400_000, 96_000), stepped(400_000, 3)]),
        ),
        (
            "quarter-rate sine 192k",
            at(192_000, vec![quarter(700_000, 192_000)]),
        ),
        ("short (0.3 s)", at(48_000, vec![noise(14_400, 0.3, 5)])),
        ("silence", at(44_100, vec![vec![0.0; 100_000]; 2])),
    ];
    for (name, b) in cases {
        let (ours, reference) = (mix::measure(&b).unwrap(), mix::measure_ebur128(&b).unwrap());
        let close = |x: Option<f64>, y: Option<f64>| match (x, y) {
            (Some(x), Some(y)) => (x - y).abs() <= 0.01,
            (None, None) => true,
            _ => false,
        };
        assert!(
            close(ours.integrated_lufs, reference.integrated_lufs)
                && close(ours.lra_lu, reference.lra_lu)
                && close(ours.true_peak_dbtp, reference.true_peak_dbtp)
                && close(ours.sample_peak_dbfs, reference.sample_peak_dbfs),
            "{name}: ours {ours:?}, ebur128 {reference:?}"
        );
        assert_eq!(
            mix::integrated(&b).unwrap(),
            ours.integrated_lufs,
            "{name}: integrated() and measure() differ"
        );
    }
}

#[test]
fn sine_normalised_to_minus_23_measures_minus_23() {
    let s = sine(1000.0, SR as usize * 10, 0.05);
    let mixture = block(vec![s.clone(), s.clone()]);
    let zeros = block(vec![vec![0.0; s.len()]; 2]);
    let config = RemixConfig {
        cleanup: CleanupConfig::off(),
        target_lufs: Some(-23.0),
        limiter: Some(LimiterConfig::default()),
        ..RemixConfig::default()
    };
    let (out, report) = mix::remix(&mixture, mixture.clone(), zeros, &config).unwrap();
    let i = mix::measure(&out).unwrap().integrated_lufs.unwrap();
    assert!((i + 23.0).abs() <= 0.1, "measured {i} LUFS");
    assert!((report.after.integrated_lufs.unwrap() + 23.0).abs() <= 0.1);
}

#[test]
fn presets_deliver_their_targets_and_ceilings() {
    // A loud, peaky programme: speech-like bursts over noise, so the limiter has work to do.
    let len = SR as usize * 12;
    let speech: Vec<f32> = sine(220.0, len, 0.6)
        .iter()
        .zip(sine(3.0, len, 1.0))
        .map(|(s, m)| s * m.max(0.0))
        .collect();
    let bg = noise(len, 0.2, 7);
    let mixture = block(vec![add(&speech, &bg); 2]);
    for p in PRESETS {
        let config = RemixConfig {
            cleanup: CleanupConfig::off(),
            target_lufs: Some(p.target_lufs),
            limiter: Some(LimiterConfig {
                ceiling_dbtp: p.ceiling_dbtp,
                ..LimiterConfig::default()
            }),
            ..RemixConfig::default()
        };
        let (out, _) = mix::remix(
            &mixture,
            block(vec![speech.clone(); 2]),
            block(vec![bg.clone(); 2]),
            &config,
        )
        .unwrap();
        let m = mix::measure_ebur128(&out).unwrap();
        let i = m.integrated_lufs.unwrap();
        let tp = m.true_peak_dbtp.unwrap();
        assert!((i - p.target_lufs).abs() <= 0.5, "{}: {i} LUFS", p.name);
        assert!(
            tp <= p.ceiling_dbtp + 1e-3,
            "{}: true peak {tp} dBTP",
            p.name
        );
        let parsed: mix::Preset = p.name.parse().unwrap();
        assert_eq!(parsed, p);
    }
    assert!("ebu".parse::<mix::Preset>().is_err());
}

#[test]
fn hum_notches_take_60_hz_and_harmonics_down_30_db_and_leave_1_khz() {
    let len = SR as usize * 6;
    let freqs = [60.0, 120.0, 180.0, 240.0];
    let mut x = add(&sine(1000.0, len, 0.1), &noise(len, 1e-4, 3));
    for (k, f) in freqs.iter().enumerate() {
        x = add(&x, &sine(*f, len, 0.1 / (k + 1) as f64));
    }
    let mut b = block(vec![x.clone()]);
    let config = CleanupConfig {
        steps: vec![CleanupStep::Hum],
        ..CleanupConfig::default()
    };
    let report = dsp::clean_stem(&mut b, StemRole::Background, &config).unwrap();
    let hum = report.hum.unwrap();
    assert!(hum.found);
    assert_eq!(hum.mains_hz, Some(60.0));
    assert!(hum.lines.len() >= 4, "{hum:?}");
    assert!((hum.fundamental_hz.unwrap() - 60.0).abs() < 0.05);
    // Steady state: skip the first second while the notches settle.
    let (a, y) = (&x[SR as usize..], &b.channels[0][SR as usize..]);
    for f in freqs {
        let drop = 20.0 * (tone_amp(a, f) / tone_amp(y, f)).log10();
        assert!(drop >= 30.0, "{f} Hz down only {drop:.1} dB");
    }
    let moved = 20.0 * (tone_amp(y, 1000.0) / tone_amp(a, 1000.0)).log10();
    assert!(moved.abs() < 0.5, "1 kHz moved {moved:.2} dB");
}

#[test]
fn hum_free_input_is_not_notched() {
    let len = SR as usize * 6;
    // A 1 kHz tone, noise, and a speech-like harmonic complex whose pitch glides (no fixed lines).
    let glide: Vec<f32> = (0..len)
        .map(|n| {
            let t = n as f64 / f64::from(SR);
            let f0 = 130.0 + 30.0 * (0.7 * t).sin();
            let phase = std::f64::consts::TAU * (130.0 * t - 30.0 / 0.7 * ((0.7 * t).cos() - 1.0));
            let _ = f0;
            (0.05 * (phase.sin() + 0.5 * (2.0 * phase).sin())) as f32
        })
        .collect();
    let x = add(&add(&sine(1000.0, len, 0.1), &noise(len, 0.01, 5)), &glide);
    let mut b = block(vec![x.clone()]);
    let config = CleanupConfig {
        steps: vec![CleanupStep::Hum],
        ..CleanupConfig::default()
    };
    let report = dsp::clean_stem(&mut b, StemRole::Background, &config).unwrap();
    let hum = report.hum.unwrap();
    assert!(!hum.found, "{hum:?}");
    assert_eq!(b.channels[0], x);
}

#[test]
fn notch_response_is_deep_at_the_line_and_flat_away() {
    let n = HumNotch::new(&[60.0, 120.0], SR, 4.0).unwrap();
    assert!(n.response_db(60.0, SR) < -60.0);
    assert!(n.response_db(1000.0, SR).abs() < 0.01);
    assert_eq!(n.len(), 2);
}

#[test]
fn highpass_is_3_db_down_at_its_cutoff() {
    for slope in [12, 24, 48] {
        for cutoff in [80.0, 120.0] {
            let config = HighpassConfig {
                cutoff_hz: cutoff,
                slope_db_per_octave: slope,
            };
            let mut hp = HighPass::new(&config, SR).unwrap();
            let mut x = sine(cutoff, SR as usize * 3, 0.5);
            let reference = x.clone();
            run_aligned(&mut hp, &mut x);
            let s = SR as usize;
            let g = 20.0 * (tone_amp(&x[s..], cutoff) / tone_amp(&reference[s..], cutoff)).log10();
            assert!(
                (g + 3.0).abs() <= 0.5,
                "{slope} dB/oct at {cutoff} Hz: {g:.2} dB"
            );
            // An octave and more above, nothing happens.
            let mut hp = HighPass::new(&config, SR).unwrap();
            let mut y = sine(1000.0, SR as usize * 2, 0.5);
            let r = y.clone();
            run_aligned(&mut hp, &mut y);
            let g1k = 20.0 * (tone_amp(&y[s..], 1000.0) / tone_amp(&r[s..], 1000.0)).log10();
            assert!(g1k.abs() < 0.05, "1 kHz: {g1k:.3} dB");
        }
    }
    assert!(HighPass::new(&HighpassConfig::default(), 100).is_err());
}

fn square(freq: f64, len: usize, sr: u32) -> Vec<f32> {
    (0..len)
        .map(|n| {
            if (freq * n as f64 / f64::from(sr)).fract() < 0.5 {
                1.0
            } else {
                -1.0
            }
        })
        .collect()
}

#[test]
fn limiter_keeps_a_full_scale_square_wave_under_its_ceiling() {
    for (freq, sr) in [
        (1000.0, 48_000),
        (997.0, 48_000),
        (441.0, 44_100),
        (5000.0, 48_000),
    ] {
        for ceiling in [-1.0, -2.0] {
            let len = sr as usize * 2;
            let x = square(freq, len, sr);
            let mut ch = vec![x.clone(), x];
            let mut lim = Limiter::new(
                &LimiterConfig {
                    ceiling_dbtp: ceiling,
                    ..LimiterConfig::default()
                },
                2,
                sr,
            );
            lim.run_aligned(&mut ch);
            assert_eq!(ch[0].len(), len);
            let m = mix::measure_ebur128(&AudioBlock {
                sample_rate: sr,
                channels: ch,
            })
            .unwrap();
            let tp = m.true_peak_dbtp.unwrap();
            assert!(
                tp <= ceiling,
                "{freq} Hz at {sr} Hz: {tp:.3} dBTP over {ceiling}"
            );
            assert!(
                tp > ceiling - 1.0,
                "{freq} Hz: limited too hard, {tp:.3} dBTP"
            );
        }
    }
}

#[test]
fn limiter_is_transparent_below_the_ceiling_and_aligned() {
    // Lengths where the latency tail fills a block of its own, or does not.
    for len in [20_000, 4096 * 3 - 10, 4096 * 3, 4096 * 3 + 1, 100] {
        let x = sine(440.0, len, 0.5);
        let mut ch = vec![x.clone()];
        let mut lim = Limiter::new(&LimiterConfig::default(), 1, SR);
        lim.run_aligned(&mut ch);
        assert_eq!(ch[0], x, "length {len}");
    }
}

#[test]
fn limiter_gives_the_same_output_for_any_block_size() {
    // Quiet stretches (the limiter's idle path) between loud bursts it has to turn down.
    let len = 60_000;
    let x: Vec<Vec<f32>> = (0..2)
        .map(|c| {
            add(
                &sine(300.0 + 50.0 * c as f64, len, 0.2),
                &noise(len, 0.05, 30 + c),
            )
            .into_iter()
            .enumerate()
            .map(|(n, v)| if (n / 7000) % 3 == 1 { v * 4.5 } else { v })
            .collect()
        })
        .collect();
    let config = LimiterConfig::default();
    let run = |chunk: usize| -> Vec<Vec<f32>> {
        let mut lim = Limiter::new(&config, 2, SR);
        let mut out = vec![vec![0.0f32; len]; 2];
        let mut pos = 0;
        while pos < len {
            let n = chunk.min(len - pos);
            let ins: Vec<&[f32]> = x.iter().map(|c| &c[pos..pos + n]).collect();
            let mut outs: Vec<&mut [f32]> = out.iter_mut().map(|c| &mut c[pos..pos + n]).collect();
            lim.process(&ins, &mut outs);
            pos += n;
        }
        assert!(lim.report(config.ceiling_dbtp).max_reduction_db > 3.0);
        out
    };
    let whole = run(len);
    for chunk in [1usize, 7, 256, 4097] {
        assert!(run(chunk) == whole, "block size {chunk}");
    }
}

#[test]
fn spectral_gate_lowers_stationary_noise_10_db_and_keeps_speech_like_energy() {
    let len = SR as usize * 4;
    let profile = NoiseProfile::from_noise(&noise(len, 0.02, 11), SR).unwrap();
    let config = dsp::DenoiseConfig::default();

    let n = noise(len, 0.02, 12);
    let mut y = n.clone();
    run_aligned(
        &mut SpectralGate::new(&config, &profile, SR).unwrap(),
        &mut y,
    );
    let drop = energy_db(&n) - energy_db(&y);
    assert!(drop >= 10.0, "noise down only {drop:.1} dB");

    // Speech-like: a 140 Hz harmonic complex (1/k amplitudes) with a 4 Hz syllable envelope.
    let speech: Vec<f32> = (0..len)
        .map(|i| {
            let t = i as f64 / f64::from(SR);
            let env = (std::f64::consts::TAU * 4.0 * t).sin().max(0.0).powi(2);
            let v: f64 = (1..=25)
                .map(|k| (std::f64::consts::TAU * 140.0 * k as f64 * t).sin() / k as f64)
                .sum();
            (0.2 * env * v) as f32
        })
        .collect();
    let mut s = speech.clone();
    run_aligned(
        &mut SpectralGate::new(&config, &profile, SR).unwrap(),
        &mut s,
    );
    let moved = energy_db(&s) - energy_db(&speech);
    assert!(moved.abs() < 1.0, "speech-like energy moved {moved:.2} dB");
}

#[test]
fn spectral_gate_without_noise_is_an_aligned_identity() {
    let len = 30_000;
    let profile = NoiseProfile::from_noise(&vec![0.0; 10_000], SR).unwrap();
    let mut gate = SpectralGate::new(&dsp::DenoiseConfig::default(), &profile, SR).unwrap();
    assert!(gate.latency() > 0);
    let x = add(&sine(300.0, len, 0.3), &noise(len, 0.1, 9));
    let mut y = x.clone();
    run_aligned(&mut gate, &mut y);
    let err: f64 = x
        .iter()
        .zip(&y)
        .map(|(a, b)| f64::from(a - b).powi(2))
        .sum::<f64>();
    let snr = 10.0 * (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / err).log10();
    assert!(snr > 100.0, "reconstruction SNR {snr:.1} dB");
    // reset() reproduces the output exactly.
    gate.reset();
    let mut z = x.clone();
    run_aligned(&mut gate, &mut z);
    assert_eq!(y, z);
}

#[test]
fn zero_gains_no_cleanup_no_normalisation_reproduce_the_input() {
    let len = SR as usize * 3;
    let s = vec![sine(200.0, len, 0.3), sine(310.0, len, 0.3)];
    let b = vec![noise(len, 0.3, 1), noise(len, 0.3, 2)];
    let mixture = block(vec![add(&s[0], &b[0]), add(&s[1], &b[1])]);
    let config = RemixConfig {
        cleanup: CleanupConfig::off(),
        ..RemixConfig::default()
    };
    let (out, report) = mix::remix(&mixture, block(s), block(b), &config).unwrap();
    assert_eq!(out.frames(), len);
    for (o, m) in out.channels.iter().zip(&mixture.channels) {
        let err: f64 = o.iter().zip(m).map(|(a, b)| f64::from(a - b).powi(2)).sum();
        let sig: f64 = m.iter().map(|&v| f64::from(v).powi(2)).sum();
        assert!(10.0 * (err / sig).log10() < -80.0);
    }
    assert!(report.limiter.is_none() && report.normalisation.is_none());
    // Stems that do not fit the input are refused, not cut or padded silently.
    let short = block(vec![vec![0.0; len - 1]; 2]);
    let fits = block(vec![vec![0.0; len]; 2]);
    assert!(mix::remix(&mixture, short, fits.clone(), &config).is_err());
    assert!(mix::remix(&mixture, fits, block(vec![vec![0.0; len]]), &config).is_err());
}

#[test]
fn ducking_turns_the_background_down_only_under_speech() {
    let len = SR as usize * 6;
    // Speech from 2 s to 4 s with 0.2 s gaps every 0.6 s (gaps shorter than the hold).
    let speech: Vec<f32> = sine(300.0, len, 0.3)
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let t = i as f64 / f64::from(SR);
            let on = (2.0..4.0).contains(&t) && (t - 2.0) % 0.6 < 0.4;
            if on {
                v
            } else {
                0.0
            }
        })
        .collect();
    let cfg = mix::DuckConfig {
        depth_db: 10.0,
        ..mix::DuckConfig::default()
    };
    let (g, report) = mix::ducking_gains(&block(vec![speech]), &cfg);
    let at = |t: f64| 20.0 * f64::from(g[(t * f64::from(SR)) as usize]).log10();
    assert!(at(1.0).abs() < 0.01);
    assert!((at(3.0) + 10.0).abs() < 0.2, "{}", at(3.0));
    // In a 0.2 s gap the background stays down.
    assert!((at(2.55) + 10.0).abs() < 0.2, "{}", at(2.55));
    assert!(at(5.9).abs() < 0.3, "{}", at(5.9));
    assert!(report.speech_fraction > 0.3 && report.speech_fraction < 0.5);
}

#[test]
fn cleanup_steps_parse_and_keep_length() {
    let steps = CleanupConfig::parse_steps("hum, highpass,deess").unwrap();
    assert_eq!(
        steps,
        vec![CleanupStep::Hum, CleanupStep::Highpass, CleanupStep::Deess]
    );
    assert!(CleanupConfig::parse_steps("hum,reverb").is_err());
    let mut all = CleanupConfig::default();
    all.steps.push(CleanupStep::Level);
    let len = 12_345;
    let mut b = block(vec![noise(len, 0.1, 4), sine(500.0, len, 0.2)]);
    let r = dsp::clean_stem(&mut b, StemRole::Speech, &all).unwrap();
    assert_eq!(b.frames(), len);
    assert_eq!(r.applied.len(), 5);
}

#[test]
fn channel_pairs_filter_like_single_channels() {
    let len = 30_000;
    let a = add(&sine(6500.0, len, 0.3), &noise(len, 0.2, 40));
    let b = add(&sine(40.0, len, 0.5), &noise(len, 0.1, 41));
    let single = |stage: &mut dyn Stage, x: &[f32]| {
        let mut out = vec![0.0f32; x.len()];
        stage.process(x, &mut out);
        out
    };
    let hp = || HighPass::new(&HighpassConfig::default(), SR).unwrap();
    let (mut pa, mut pb) = (a.clone(), b.clone());
    HighPass::process_pair([&mut hp(), &mut hp()], &mut pa, &mut pb);
    assert_eq!(pa, single(&mut hp(), &a));
    assert_eq!(pb, single(&mut hp(), &b));
    let de = || dsp::DeEsser::new(&dsp::DeessConfig::default(), SR).unwrap();
    let (mut pa, mut pb) = (a.clone(), b.clone());
    let (mut d1, mut d2) = (de(), de());
    dsp::DeEsser::process_pair([&mut d1, &mut d2], &mut pa, &mut pb);
    let mut s1 = de();
    assert_eq!(pa, single(&mut s1, &a));
    assert_eq!(pb, single(&mut de(), &b));
    assert_eq!(d1.report(), s1.report());
    assert!(d1.report().max_reduction_db > 1.0, "{:?}", d1.report());
}

#[test]
fn stages_give_the_same_output_for_any_block_size() {
    let len = 20_000;
    let x = add(&sine(300.0, len, 0.3), &noise(len, 0.05, 21));
    let profile = NoiseProfile::from_noise(&noise(len, 0.05, 22), SR).unwrap();
    let make: Vec<Box<dyn Fn() -> Box<dyn Stage>>> = vec![
        Box::new(|| Box::new(HighPass::new(&HighpassConfig::default(), SR).unwrap())),
        Box::new(|| Box::new(HumNotch::new(&[60.0, 120.0], SR, 4.0).unwrap())),
        Box::new(move || {
            Box::new(SpectralGate::new(&dsp::DenoiseConfig::default(), &profile, SR).unwrap())
        }),
        Box::new(|| Box::new(dsp::DeEsser::new(&dsp::DeessConfig::default(), SR).unwrap())),
    ];
    for mk in &make {
        let mut whole = vec![0.0f32; len];
        mk().process(&x, &mut whole);
        for chunk in [1usize, 7, 256, 4097] {
            let mut stage = mk();
            let mut out = vec![0.0f32; len];
            for (i, o) in x.chunks(chunk).zip(out.chunks_mut(chunk)) {
                stage.process(i, o);
            }
            assert_eq!(out, whole, "block size {chunk}");
        }
    }
}

#[test]
fn leveller_narrows_the_loudness_range_and_leaves_quiet_passages_alone() {
    // 40 s of a 1 kHz tone alternating every 4 s between -17 and -33.5 dBFS RMS: 16.5 dB apart
    // (within the 20 LU relative gate, so both count in the loudness range), the quiet passages
    // below the leveller's -30 dBFS threshold.
    let len = 40 * SR as usize;
    let mut x = sine(1000.0, len, 1.0);
    for (k, v) in x.iter_mut().enumerate() {
        let loud = (k / (4 * SR as usize)).is_multiple_of(2);
        *v *= if loud { 0.2 } else { 0.03 };
    }
    let before = mix::measure(&block(vec![x.clone()])).unwrap();
    let mut b = block(vec![x.clone()]);
    let config = CleanupConfig {
        steps: vec![CleanupStep::Level],
        ..CleanupConfig::default()
    };
    dsp::clean_stem(&mut b, StemRole::Speech, &config).unwrap();
    let after = mix::measure(&b).unwrap();
    let (lra_before, lra_after) = (before.lra_lu.unwrap(), after.lra_lu.unwrap());
    // Ratio 2 above -30 dBFS: the loud passages come down by about (−17 − −30) / 2 = 6.5 dB.
    assert!(
        lra_before > 14.0 && lra_before - lra_after > 4.0 && lra_after > 5.0,
        "loudness range {lra_before:.1} LU -> {lra_after:.1} LU"
    );
    // The middle of a quiet passage (12 s .. 16 s) is untouched (within 0.5 dB).
    let quiet = 13 * SR as usize..15 * SR as usize;
    let change = energy_db(&b.channels[0][quiet.clone()]) - energy_db(&x[quiet]);
    assert!(
        change.abs() < 0.5,
        "quiet passage changed by {change:.2} dB"
    );
}
