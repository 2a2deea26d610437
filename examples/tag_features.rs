//! Dumps per-patch tagging features for a labelled set, for scripts/train_tagger.py.
//!
//! Usage: cargo run --release --example tag_features -- LABELS.csv OUT_PREFIX [JOBS]
//! LABELS.csv has a header and a `path` column (relative to the CSV's folder). Writes
//! OUT_PREFIX.f32 (rows of [clip index, start_s, 1024 embedding, signal features, 521 scores],
//! little-endian f32) and OUT_PREFIX.json (the layout and the clips, in row order).

use std::io::Write;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use roomtone::classify::{Analyser, Yamnet, SIGNAL_FEATURES};
use roomtone::models::{self, SessionOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (labels, out) = match args.as_slice() {
        [l, o, ..] => (PathBuf::from(l), PathBuf::from(o)),
        _ => return Err("usage: tag_features LABELS.csv OUT_PREFIX [JOBS]".into()),
    };
    let jobs: usize = args.get(2).map_or(Ok(2), |j| j.parse())?;
    let root = labels.parent().unwrap_or(Path::new(".")).to_path_buf();
    let text = std::fs::read_to_string(&labels)?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .ok_or("empty labels file")?
        .split(',')
        .collect();
    let path_col = header
        .iter()
        .position(|h| *h == "path")
        .ok_or("no path column")?;
    let rows: Vec<Vec<String>> = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();

    let model = Yamnet::load(&models::models_dir())?;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build()?;
    let results: Vec<Result<Vec<f32>, String>> = pool.install(|| {
        rows.par_iter()
            .enumerate()
            .map_init(
                || Analyser::new(&model, 0.48, SessionOptions::default()).expect("worker"),
                |analyser, (i, row)| {
                    let path = root.join(&row[path_col]);
                    let mut data = Vec::new();
                    analyser
                        .analyse(&path, |p| {
                            data.push(i as f32);
                            data.push(p.start_s as f32);
                            data.extend_from_slice(&p.embedding);
                            data.extend_from_slice(&p.signal);
                            data.extend_from_slice(&p.scores);
                        })
                        .map_err(|e| e.to_string())?;
                    Ok(data)
                },
            )
            .collect()
    });

    let mut f = std::io::BufWriter::new(std::fs::File::create(out.with_extension("f32"))?);
    let mut clips = Vec::new();
    for (row, r) in rows.iter().zip(results) {
        match r {
            Ok(data) => {
                for v in data {
                    f.write_all(&v.to_le_bytes())?;
                }
                let obj: serde_json::Map<String, serde_json::Value> = header
                    .iter()
                    .zip(row)
                    .map(|(h, v)| (h.to_string(), serde_json::Value::String(v.clone())))
                    .collect();
                clips.push(serde_json::Value::Object(obj));
            }
            Err(e) => {
                // Kept in the list (with no rows), so a row's clip index is its CSV row.
                eprintln!("{e}");
                let mut obj: serde_json::Map<String, serde_json::Value> = header
                    .iter()
                    .zip(row)
                    .map(|(h, v)| (h.to_string(), serde_json::Value::String(v.clone())))
                    .collect();
                obj.insert("error".into(), serde_json::Value::String(e));
                clips.push(serde_json::Value::Object(obj));
            }
        }
    }
    f.flush()?;
    let index = serde_json::json!({
        "columns": {"clip": 0, "start_s": 1, "embedding": [2, 1026], "signal": [1026, 1026 + SIGNAL_FEATURES.len()],
                    "scores": [1026 + SIGNAL_FEATURES.len(), 1026 + SIGNAL_FEATURES.len() + 521]},
        "row_len": 1026 + SIGNAL_FEATURES.len() + 521,
        "signal_features": SIGNAL_FEATURES,
        "class_names": model.class_names(),
        "clips": clips,
    });
    std::fs::write(out.with_extension("json"), serde_json::to_string(&index)?)?;
    Ok(())
}
