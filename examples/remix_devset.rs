//! Development mixtures for the remix quality checks, and their scoring (see BENCHMARKS.md,
//! "Cleanup and remix (issue 5)"; scripts/bench_remix.sh runs it all).
//!
//! Usage:
//!   remix_devset build SPEECH_LIST AMBIENCE_LIST OUT_DIR [SECONDS]
//!       SPEECH_LIST / AMBIENCE_LIST: text files with one audio path a line. Writes OUT_DIR/mixNN.wav
//!       and the true stems OUT_DIR/stems/mixNN.{speech,background}.wav (32-bit float): speech
//!       clips one after another with 0.4–1.2 s pauses, over one ambience each, at 0 dB SNR
//!       (equal RMS over the clip), speech active level about -26 dBFS.
//!   remix_devset score STEMS_DIR MIX.wav OUT.wav
//!       Fits OUT ≈ a·speech + b·background (least squares over all channels) and prints the speech
//!       and background gains in dB, the speech's level change as energy and as integrated loudness
//!       (OUT − b·background against the true speech), the residual, the output's loudness and true peak, and the
//!       difference between OUT and MIX in dB (identity check).
//!   remix_devset time STEMS_DIR MIX.wav REPEATS
//!       Times roomtone::mix::remix alone (default cleanup, ebu-r128 preset) on one thread and prints
//!       the real-time factor (audio seconds per second of compute), best of REPEATS, in this
//!       thread's CPU time and in wall-clock time.
//!   remix_devset lowband STEMS_DIR MIX.wav
//!       What the rumble high-pass takes from the true speech stem: its DC offset, the energy and
//!       K-weighted loudness (BS.1770, ebur128 crate) change through the default high-pass at
//!       20–120 Hz cutoffs, and the least-squares gain of the filtered speech on the original (which,
//!       unlike energy and loudness, the filter's phase shift lowers).
//!   remix_devset diff A.wav B.wav
//!       Largest sample difference between two files of the same shape, and the difference's energy
//!       relative to A in dB (to check that a speed change left the output alone).
//!   remix_devset stages STEMS_DIR MIX.wav REPEATS
//!       Times the pieces of that remix one by one (best of REPEATS each): loudness measures, each
//!       cleanup step on the speech stem, hum detection on the background, the limiter (CPU time).

use std::path::{Path, PathBuf};
use std::time::Instant;

use roomtone::audio::{read_all, AudioBlock, AudioOutput, OutputFormat};
use roomtone::mix::{self, LimiterConfig, RemixConfig};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn lines(path: &str) -> Res<Vec<PathBuf>> {
    Ok(std::fs::read_to_string(path)?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(PathBuf::from)
        .collect())
}

fn mono(b: &AudioBlock) -> Vec<f32> {
    let mut m = Vec::new();
    b.downmix_into(&mut m);
    m
}

fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

fn write(path: &Path, sr: u32, channels: Vec<Vec<f32>>) -> Res<()> {
    let mut w = AudioOutput::create(path, sr, channels.len(), OutputFormat::F32, true)?;
    w.write_block(&AudioBlock {
        sample_rate: sr,
        channels,
    })?;
    w.finish()?;
    Ok(())
}

fn build(speech_list: &str, amb_list: &str, out: &str, seconds: f64) -> Res<()> {
    let speech_files = lines(speech_list)?;
    let amb_files = lines(amb_list)?;
    let out = Path::new(out);
    std::fs::create_dir_all(out.join("stems"))?;
    let mut next_speech = 0usize;
    let mut rng = 12345u64;
    let mut rand = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng >> 11) as f64 / (1u64 << 53) as f64
    };
    for (i, amb_path) in amb_files.iter().enumerate() {
        let amb = read_all(amb_path)?;
        let sr = amb.sample_rate;
        let n = ((seconds * f64::from(sr)) as usize).min(amb.frames());
        // Stereo bed (a mono ambience is copied to both sides).
        let bed: Vec<Vec<f32>> = (0..2)
            .map(|c| amb.channels[c.min(amb.channel_count() - 1)][..n].to_vec())
            .collect();
        let mut speech = vec![0.0f32; n];
        let mut active = vec![false; n];
        let mut at = (0.5 * f64::from(sr)) as usize;
        let mut misses = 0usize;
        while at < n && misses < speech_files.len() {
            let clip = read_all(&speech_files[next_speech % speech_files.len()])?;
            next_speech += 1;
            if clip.sample_rate != sr {
                misses += 1;
                continue;
            }
            misses = 0;
            let m = mono(&clip);
            let end = (at + m.len()).min(n);
            speech[at..end].copy_from_slice(&m[..end - at]);
            active[at..end].iter_mut().for_each(|a| *a = true);
            at = end + ((0.4 + 0.8 * rand()) * f64::from(sr)) as usize;
        }
        if !active.iter().any(|&a| a) {
            println!("skipped {}: no speech clip at {sr} Hz", amb_path.display());
            continue;
        }
        // Speech active level to -26 dBFS.
        let act: Vec<f32> = speech
            .iter()
            .zip(&active)
            .filter(|(_, &a)| a)
            .map(|(&s, _)| s)
            .collect();
        let gs = (10f64.powf(-26.0 / 20.0) / rms(&act).max(1e-9)) as f32;
        speech.iter_mut().for_each(|s| *s *= gs);
        // Background to the speech's RMS over the whole clip (0 dB SNR).
        let bed_rms = rms(&bed.concat());
        let gb = (rms(&speech) / bed_rms.max(1e-9)) as f32;
        let bed: Vec<Vec<f32>> = bed
            .into_iter()
            .map(|c| c.into_iter().map(|x| x * gb).collect())
            .collect();
        let mixture: Vec<Vec<f32>> = bed
            .iter()
            .map(|c| c.iter().zip(&speech).map(|(b, s)| b + s).collect())
            .collect();
        let name = format!("mix{i:02}");
        write(&out.join(format!("{name}.wav")), sr, mixture)?;
        write(
            &out.join("stems").join(format!("{name}.speech.wav")),
            sr,
            vec![speech.clone(), speech],
        )?;
        write(
            &out.join("stems").join(format!("{name}.background.wav")),
            sr,
            bed,
        )?;
        println!(
            "{name}: {} s at {sr} Hz over {}",
            n as f64 / f64::from(sr),
            amb_path.display()
        );
    }
    Ok(())
}

fn stems_for(dir: &str, mix_path: &str) -> (PathBuf, PathBuf) {
    mix::find_stems(Path::new(dir), Path::new(mix_path))
}

fn score(dir: &str, mix_path: &str, out_path: &str) -> Res<()> {
    let (sp, bp) = stems_for(dir, mix_path);
    let (s, g, y, m) = (
        read_all(&sp)?,
        read_all(&bp)?,
        read_all(Path::new(out_path))?,
        read_all(Path::new(mix_path))?,
    );
    let (mut ss, mut gg, mut sg, mut os, mut og, mut oo) = (0.0f64, 0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut diff, mut mm) = (0.0f64, 0.0f64);
    for c in 0..y.channel_count() {
        for i in 0..y.frames() {
            let (o, a, b) = (
                f64::from(y.channels[c][i]),
                f64::from(s.channels[c][i]),
                f64::from(g.channels[c][i]),
            );
            ss += a * a;
            gg += b * b;
            sg += a * b;
            os += o * a;
            og += o * b;
            oo += o * o;
            let x = f64::from(m.channels[c][i]);
            diff += (o - x).powi(2);
            mm += x * x;
        }
    }
    let det = ss * gg - sg * sg;
    let a = (os * gg - og * sg) / det;
    let b = (og * ss - os * sg) / det;
    let resid = oo - 2.0 * (a * os + b * og) + a * a * ss + 2.0 * a * b * sg + b * b * gg;
    // Level of the speech in the output without assuming it is a scaled copy of the true stem (the
    // cleanup's filters shift its phase): energy of OUT − b·background against the true speech.
    let mut rest = 0.0f64;
    let mut speech_out = AudioBlock::new(y.sample_rate, y.channel_count());
    for c in 0..y.channel_count() {
        let mut ch = Vec::with_capacity(y.frames());
        for i in 0..y.frames() {
            let r = f64::from(y.channels[c][i]) - b * f64::from(g.channels[c][i]);
            rest += r * r;
            ch.push(r as f32);
        }
        speech_out.channels[c] = ch;
    }
    // The same as loudness (K-weighted, gated, BS.1770; ebur128 crate).
    let speech_lufs_change = mix::measure_ebur128(&speech_out)?
        .integrated_lufs
        .zip(mix::measure_ebur128(&s)?.integrated_lufs)
        .map_or(f64::NAN, |(o, i)| o - i);
    // The reference meter (the ebur128 crate), independent of the one the remix uses.
    let l = mix::measure_ebur128(&y)?;
    println!(
        "{{\"file\":\"{out_path}\",\"frames_out\":{},\"frames_in\":{},\"speech_db\":{:.3},\"speech_energy_db\":{:.3},\"speech_loudness_db\":{:.3},\"background_db\":{:.3},\"residual_db\":{:.1},\"integrated_lufs\":{:.2},\"true_peak_dbtp\":{:.2},\"out_minus_mix_db\":{:.1}}}",
        y.frames(),
        m.frames(),
        20.0 * a.abs().log10(),
        10.0 * (rest / ss).log10(),
        speech_lufs_change,
        20.0 * b.abs().log10(),
        10.0 * (resid.max(1e-30) / oo).log10(),
        l.integrated_lufs.unwrap_or(f64::NAN),
        l.true_peak_dbtp.unwrap_or(f64::NAN),
        10.0 * (diff.max(1e-30) / mm).log10(),
    );
    Ok(())
}

fn time(dir: &str, mix_path: &str, repeats: usize) -> Res<()> {
    let mixture = read_all(Path::new(mix_path))?;
    let (s, b, _) = mix::load_stems(Path::new(dir), Path::new(mix_path), &mixture)?;
    let config = RemixConfig {
        background_gain_db: -12.0,
        target_lufs: Some(-23.0),
        limiter: Some(LimiterConfig::default()),
        ..RemixConfig::default()
    };
    let secs = mixture.frames() as f64 / f64::from(mixture.sample_rate);
    let (mut best, mut best_wall) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..repeats {
        // The stems' copies are made before the clock starts: remix consumes its stems.
        let (s, b) = (s.clone(), b.clone());
        let t = CpuClock::start();
        let _ = mix::remix(&mixture, s, b, &config)?;
        let (cpu, wall) = t.elapsed();
        best = best.min(cpu);
        best_wall = best_wall.min(wall);
    }
    println!(
        "{{\"audio_s\":{secs:.1},\"best_cpu_s\":{best:.3},\"best_wall_s\":{best_wall:.3},\"realtime_factor_cpu\":{:.0},\"realtime_factor_wall\":{:.0}}}",
        secs / best,
        secs / best_wall
    );
    Ok(())
}

/// A clock of this thread's time on a CPU, seconds (Linux scheduler statistics; the machine the
/// benchmarks ran on is shared, and wall time counts the time other processes had the core), or
/// wall-clock time where that is not available.
struct CpuClock(Option<f64>, Instant);

impl CpuClock {
    fn thread_cpu() -> Option<f64> {
        let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
        let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
        Some(ns * 1e-9)
    }
    fn start() -> Self {
        Self(Self::thread_cpu(), Instant::now())
    }
    /// (CPU seconds, wall seconds) since `start`.
    fn elapsed(&self) -> (f64, f64) {
        let wall = self.1.elapsed().as_secs_f64();
        match (self.0, Self::thread_cpu()) {
            (Some(a), Some(b)) => (b - a, wall),
            _ => (wall, wall),
        }
    }
}

fn best_of(repeats: usize, mut f: impl FnMut() -> Res<()>) -> Res<f64> {
    let mut best = f64::INFINITY;
    for _ in 0..repeats.max(1) {
        let t = CpuClock::start();
        f()?;
        best = best.min(t.elapsed().0);
    }
    Ok(best)
}

fn stages(dir: &str, mix_path: &str, repeats: usize) -> Res<()> {
    use roomtone::dsp::{clean_stem, CleanupConfig, CleanupStep, StemRole};
    let mixture = read_all(Path::new(mix_path))?;
    let (s, b, _) = mix::load_stems(Path::new(dir), Path::new(mix_path), &mixture)?;
    let secs = mixture.frames() as f64 / f64::from(mixture.sample_rate);
    let mut rows: Vec<(String, f64)> = Vec::new();
    rows.push((
        "measure (I, LRA, true peak, sample peak)".into(),
        best_of(repeats, || {
            mix::measure(&mixture)?;
            Ok(())
        })?,
    ));
    rows.push((
        "ebur128 crate: measure (I, LRA, true peak, sample peak)".into(),
        best_of(repeats, || {
            mix::measure_ebur128(&mixture)?;
            Ok(())
        })?,
    ));
    rows.push((
        "integrated only".into(),
        best_of(repeats, || {
            mix::integrated(&mixture)?;
            Ok(())
        })?,
    ));
    for (name, step) in [
        ("highpass", CleanupStep::Highpass),
        ("hum", CleanupStep::Hum),
        ("denoise", CleanupStep::Denoise),
        ("deess", CleanupStep::Deess),
    ] {
        let config = CleanupConfig {
            steps: vec![step],
            ..CleanupConfig::default()
        };
        let mut work = s.clone();
        let t = best_of(repeats, || {
            work.channels.clone_from(&s.channels);
            clean_stem(&mut work, StemRole::Speech, &config)?;
            Ok(())
        })?;
        // The copy of the stem is part of the timing; take it out.
        let copy = best_of(repeats, || {
            work.channels.clone_from(&s.channels);
            Ok(())
        })?;
        rows.push((format!("speech: {name}"), t - copy));
    }
    let config = CleanupConfig::default();
    let mut work = b.clone();
    let t = best_of(repeats, || {
        work.channels.clone_from(&b.channels);
        clean_stem(&mut work, StemRole::Background, &config)?;
        Ok(())
    })?;
    let copy = best_of(repeats, || {
        work.channels.clone_from(&b.channels);
        Ok(())
    })?;
    rows.push(("background: hum".into(), t - copy));
    let mut work = mixture.clone();
    let t = best_of(repeats, || {
        work.channels.clone_from(&mixture.channels);
        let mut lim = mix::Limiter::new(&LimiterConfig::default(), 2, mixture.sample_rate);
        lim.run_aligned(&mut work.channels);
        Ok(())
    })?;
    rows.push(("limiter (-1 dBTP)".into(), t - copy));
    let (ours, crate_) = (mix::measure(&mixture)?, mix::measure_ebur128(&mixture)?);
    println!("ours:    {ours:?}\nebur128: {crate_:?}");
    for (name, t) in rows {
        println!("{name:45} {t:7.3} s  {:6.0}x", secs / t);
    }
    Ok(())
}

fn lowband(dir: &str, mix_path: &str) -> Res<()> {
    use roomtone::dsp::{HighPass, HighpassConfig, Stage};
    let (sp, _) = stems_for(dir, mix_path);
    let speech = read_all(&sp)?;
    let energy = |b: &AudioBlock| -> f64 {
        b.channels
            .iter()
            .flat_map(|c| c.iter())
            .map(|&x| f64::from(x).powi(2))
            .sum()
    };
    let lufs = |b: &AudioBlock| -> Res<f64> {
        Ok(mix::measure_ebur128(b)?.integrated_lufs.unwrap_or(f64::NAN))
    };
    let x = &speech.channels[0];
    let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / x.len().max(1) as f64;
    let rms = (energy(&speech) / (x.len() * speech.channel_count()).max(1) as f64).sqrt();
    let (e0, l0) = (energy(&speech), lufs(&speech)?);
    // Share of the energy in the 100 ms means (what is left below about 5 Hz: offsets that move
    // from clip to clip).
    let win = (speech.sample_rate / 10) as usize;
    let slow: f64 = speech
        .channels
        .iter()
        .flat_map(|c| c.chunks(win))
        .map(|w| {
            let m = w.iter().map(|&v| f64::from(v)).sum::<f64>() / w.len() as f64;
            m * m * w.len() as f64
        })
        .sum();
    print!(
        "{{\"file\":\"{}\",\"dc_offset_db_re_rms\":{:.1},\"energy_in_100ms_means_db\":{:.2}",
        sp.display(),
        20.0 * (mean.abs() / rms).log10(),
        10.0 * (slow / e0).log10()
    );
    for cutoff in [20.0, 40.0, 60.0, 80.0, 100.0, 120.0] {
        let config = HighpassConfig {
            cutoff_hz: cutoff,
            ..HighpassConfig::default()
        };
        let mut filtered = speech.clone();
        let mut corr = 0.0f64;
        for (out, orig) in filtered.channels.iter_mut().zip(&speech.channels) {
            let mut hp = HighPass::new(&config, speech.sample_rate)?;
            hp.process(orig, out);
            corr += out
                .iter()
                .zip(orig)
                .map(|(&a, &b)| f64::from(a) * f64::from(b))
                .sum::<f64>();
        }
        print!(
            ",\"hp{cutoff:.0}\":{{\"energy_db\":{:.3},\"loudness_db\":{:.3},\"fit_gain_db\":{:.3}}}",
            10.0 * (energy(&filtered) / e0).log10(),
            lufs(&filtered)? - l0,
            20.0 * (corr / e0).log10()
        );
    }
    println!("}}");
    Ok(())
}

fn diff(a: &str, b: &str) -> Res<()> {
    let (x, y) = (read_all(Path::new(a))?, read_all(Path::new(b))?);
    if x.channel_count() != y.channel_count() || x.frames() != y.frames() {
        return Err("the files differ in shape".into());
    }
    let (mut max, mut d, mut e) = (0.0f64, 0.0f64, 0.0f64);
    for (p, q) in x.channels.iter().zip(&y.channels) {
        for (&u, &v) in p.iter().zip(q) {
            let (u, v) = (f64::from(u), f64::from(v));
            max = max.max((u - v).abs());
            d += (u - v).powi(2);
            e += u * u;
        }
    }
    println!(
        "{{\"max_abs_diff\":{max:e},\"diff_db\":{:.1}}}",
        10.0 * (d.max(1e-300) / e.max(1e-300)).log10()
    );
    Ok(())
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["build", sp, amb, out] => build(sp, amb, out, 30.0),
        ["build", sp, amb, out, secs] => build(sp, amb, out, secs.parse()?),
        ["score", dir, m, o] => score(dir, m, o),
        ["time", dir, m, r] => time(dir, m, r.parse()?),
        ["stages", dir, m, r] => stages(dir, m, r.parse()?),
        ["diff", a, b] => diff(a, b),
        ["lowband", dir, m] => lowband(dir, m),
        _ => Err("usage: remix_devset build SPEECH_LIST AMB_LIST OUT_DIR [SECONDS] | score STEMS_DIR MIX OUT | time|stages STEMS_DIR MIX REPEATS | diff A B | lowband STEMS_DIR MIX".into()),
    }
}
