//! Tags every file of a folder with given dialogue-region settings and writes one JSON line per
//! file (`path`, `speech_segments`, and how many VAD frames ran), for scripts/eval_vad.py.
//!
//! Usage: cargo run --release --example dialogue_eval -- DIR OUT.jsonl [--gate G|none]
//!        [--min-gap S] [--on P] [--off P] [--pad S]
//! Settings not given are `RegionParams::default()`'s (what `roomtone tag` uses).
//!
//!        cargo run --release --example dialogue_eval -- DIR OUT.jsonl --yamnet HOP THRESHOLD
//! instead scores the alternative detector: YAMNet's speech label (taxonomy.toml) per patch at
//! HOP seconds, a patch's centre hop counting as speech at or above THRESHOLD, joined by the same
//! rules (minimum gap, minimum length).

use std::io::Write;
use std::path::PathBuf;

use roomtone::classify::{
    regions, Analyser, LabelKind, RegionParams, TagConfig, Tagger, Taxonomy, Yamnet,
};
use roomtone::models::{self, ModelContext, SessionOptions};

fn wav_files(dir: &str) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "wav"))
        .collect();
    files.sort();
    Ok(files)
}

fn yamnet_only(
    dir: &str,
    out: &str,
    hop_s: f64,
    threshold: f32,
) -> Result<(), Box<dyn std::error::Error>> {
    let models_dir = models::models_dir();
    let model = Yamnet::load(&models_dir)?;
    let tax = Taxonomy::load(&Taxonomy::path_in(&models_dir), model.class_names())?;
    let speech = tax
        .labels
        .iter()
        .position(|l| l.kind == LabelKind::Speech)
        .ok_or("no speech label in taxonomy.toml")?;
    let mut analyser = Analyser::new(&model, hop_s, SessionOptions::default())?;
    let params = RegionParams::default();
    let mut outfile = std::io::BufWriter::new(std::fs::File::create(out)?);
    let mut mapping = Vec::new();
    for f in wav_files(dir)? {
        // Patch i covers [i·hop, i·hop + 0.96 s); its centre hop is the frame it speaks for.
        let mut probs = Vec::new();
        let summary = analyser.analyse(&f, |p| {
            tax.patch_scores(&p.scores, &mut mapping);
            probs.push(mapping[speech]);
        })?;
        let offset = ((0.96 - hop_s) / 2.0 / hop_s).round() as usize;
        let mut framed = vec![0.0f32; offset];
        framed.extend(probs);
        let on = RegionParams {
            on: threshold,
            off: threshold,
            ..params
        };
        let segments = regions(&framed, hop_s, summary.duration_s, &on);
        let line =
            serde_json::json!({"path": f.display().to_string(), "speech_segments": segments});
        writeln!(outfile, "{line}")?;
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, out, rest @ ..] = args.as_slice() else {
        return Err("usage: dialogue_eval DIR OUT.jsonl [--gate G|none] [--min-gap S] [--on P] [--off P] [--pad S]".into());
    };
    if let [flag, hop, threshold] = rest {
        if flag == "--yamnet" {
            return yamnet_only(dir, out, hop.parse()?, threshold.parse()?);
        }
    }
    let mut params = RegionParams::default();
    for pair in rest.chunks(2) {
        let [key, value] = pair else {
            return Err(format!("{pair:?}: expected --option VALUE").into());
        };
        match key.as_str() {
            "--gate" if value == "none" => params.gate = None,
            "--gate" => params.gate = Some(value.parse()?),
            "--min-gap" => params.min_gap_s = value.parse()?,
            "--on" => params.on = value.parse()?,
            "--off" => params.off = value.parse()?,
            "--pad" => params.pad_s = value.parse()?,
            _ => return Err(format!("unknown option {key}").into()),
        }
    }
    let files = wav_files(dir)?;
    let tagger = Tagger::load(&ModelContext::from_env())?;
    let config = TagConfig {
        speech_regions: Some(params),
        ..TagConfig::default()
    };
    let mut worker = tagger.worker(&config)?;
    let mut outfile = std::io::BufWriter::new(std::fs::File::create(out)?);
    let started = std::time::Instant::now();
    let mut audio_s = 0.0;
    for f in &files {
        let t = worker.tag(f)?;
        audio_s += t.duration_s;
        let line = serde_json::json!({
            "path": t.path,
            "speech_segments": t.speech_segments,
            "speech": t.speech,
        });
        writeln!(outfile, "{line}")?;
    }
    eprintln!(
        "{} files, {:.0} s of audio in {:.1} s ({:?})",
        files.len(),
        audio_s,
        started.elapsed().as_secs_f64(),
        params
    );
    Ok(())
}
