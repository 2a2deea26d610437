//! From patches to what a user reads: clip labels, the ambience, speech, a timeline, top classes.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::analysis::{Analyser, PatchAnalysis};
use super::head::Head;
use super::taxonomy::{LabelKind, Taxonomy};
use super::yamnet::Yamnet;
use super::TagError;
use crate::models::SessionOptions;

/// Which scores choose the ambience.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AmbienceModel {
    /// The trained head over YAMNet's embedding and signal features (the default when present).
    #[default]
    Head,
    /// The plain AudioSet class mapping of `models/tagging/taxonomy.toml` (for comparison).
    Mapping,
}

/// How files are tagged.
#[derive(Debug, Clone, PartialEq)]
pub struct TagConfig {
    /// Hop between 0.96 s patches in seconds.
    pub hop_s: f64,
    /// Timeline segments shorter than this are merged into a neighbour, in seconds.
    pub min_segment_s: f64,
    /// ONNX Runtime threads per worker.
    pub intra_threads: usize,
    /// What chooses the ambience.
    pub ambience_model: AmbienceModel,
}

impl TagConfig {
    /// Checks every setting against its range: hop in (0, 10] s, minimum segment in [0, 3600] s,
    /// at least one thread.
    pub fn validate(&self) -> Result<(), TagError> {
        if !(self.hop_s > 0.0 && self.hop_s <= 10.0) {
            return Err(TagError::InvalidOption {
                name: "--hop",
                reason: format!("{} s is not within (0, 10] seconds", self.hop_s),
            });
        }
        if !(0.0..=3600.0).contains(&self.min_segment_s) {
            return Err(TagError::InvalidOption {
                name: "--min-segment",
                reason: format!("{} s is not within [0, 3600] seconds", self.min_segment_s),
            });
        }
        if self.intra_threads == 0 {
            return Err(TagError::InvalidOption {
                name: "--threads",
                reason: "0 threads; give at least 1".into(),
            });
        }
        Ok(())
    }
}

impl Default for TagConfig {
    fn default() -> Self {
        Self {
            hop_s: 0.48,
            min_segment_s: 2.0,
            intra_threads: 1,
            ambience_model: AmbienceModel::Head,
        }
    }
}

/// A label and its clip-level score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelScore {
    /// Product label.
    pub label: String,
    /// Score in [0, 1].
    pub score: f32,
}

/// A stretch of the timeline with one ambience.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Start in seconds.
    pub start_s: f64,
    /// End in seconds.
    pub end_s: f64,
    /// Ambience label (or `silence` / `other`).
    pub label: String,
    /// Mean score of the label over the segment.
    pub score: f32,
}

/// A raw AudioSet class and its mean probability over the clip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassScore {
    /// AudioSet display name.
    pub class: String,
    /// Mean probability over the patches.
    pub score: f32,
}

/// Everything `roomtone tag` reports for one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagResult {
    /// The file as given.
    pub path: String,
    /// Decoded duration in seconds.
    pub duration_s: f64,
    /// Best ambience label (or `silence` / `other`).
    pub ambience: String,
    /// Every label at or above its threshold, best first.
    pub labels: Vec<LabelScore>,
    /// Whether dialogue is present.
    pub speech: bool,
    /// Ambience timeline.
    pub segments: Vec<Segment>,
    /// The five AudioSet classes with the highest mean probability.
    pub audioset_top: Vec<ClassScore>,
    /// What was repaired while reading the file (e.g. damaged samples replaced by silence).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The shared, read-only part of tagging: model, taxonomy and head.
pub struct Tagger {
    model: Yamnet,
    taxonomy: Taxonomy,
    head: Option<Head>,
}

impl Tagger {
    /// Loads YAMNet, `tagging/taxonomy.toml` and (if present) `tagging/ambience_head.json` from `models_dir`.
    pub fn load(models_dir: &Path) -> Result<Self, TagError> {
        let model = Yamnet::load(models_dir)?;
        let taxonomy = Taxonomy::load(&Taxonomy::path_in(models_dir), model.class_names())?;
        let head_path = models_dir.join("tagging").join("ambience_head.json");
        let head = if head_path.exists() {
            let head = Head::load(&head_path)?;
            for l in &head.labels {
                if taxonomy
                    .index(l)
                    .is_none_or(|i| taxonomy.labels[i].kind != LabelKind::Ambience)
                {
                    return Err(TagError::Config(format!(
                        "{}: label {l:?} is not an ambience label of taxonomy.toml",
                        head_path.display()
                    )));
                }
            }
            Some(head)
        } else {
            None
        };
        Ok(Self {
            model,
            taxonomy,
            head,
        })
    }

    /// The taxonomy in use.
    pub fn taxonomy(&self) -> &Taxonomy {
        &self.taxonomy
    }

    /// Whether a trained head is loaded.
    pub fn has_head(&self) -> bool {
        self.head.is_some()
    }

    /// A worker (own ONNX session and buffers) for tagging files one after another.
    pub fn worker(&self, config: &TagConfig) -> Result<TagWorker<'_>, TagError> {
        config.validate()?;
        let options = SessionOptions {
            intra_threads: config.intra_threads,
        };
        Ok(TagWorker {
            tagger: self,
            analyser: Analyser::new(&self.model, config.hop_s, options)?,
            config: config.clone(),
        })
    }
}

/// One worker: tags files sequentially.
pub struct TagWorker<'t> {
    tagger: &'t Tagger,
    analyser: Analyser<'t>,
    config: TagConfig,
}

/// Per-patch values kept for the clip decisions (the 521 scores are summed, not kept).
struct PatchRow {
    start_s: f64,
    level_db: f32,
    mapping: Vec<f32>,
    head: Vec<f32>,
}

impl TagWorker<'_> {
    /// Tags one file.
    pub fn tag(&mut self, path: &Path) -> Result<TagResult, TagError> {
        self.tag_with(path, |_| {})
    }

    /// Tags one file and shows every patch to `observe` as well (the batch report draws its
    /// spectrogram from them, so the file is decoded once).
    pub fn tag_with(
        &mut self,
        path: &Path,
        mut observe: impl FnMut(&PatchAnalysis),
    ) -> Result<TagResult, TagError> {
        let tagger = self.tagger;
        let tax = &tagger.taxonomy;
        let head = match self.config.ambience_model {
            AmbienceModel::Head => tagger.head.as_ref(),
            AmbienceModel::Mapping => None,
        };
        let mut rows: Vec<PatchRow> = Vec::new();
        let mut class_sum = vec![0.0f64; tagger.model.class_names().len()];
        let mut mapping = Vec::new();
        let mut head_out = Vec::new();
        let summary = self.analyser.analyse(path, |p: &PatchAnalysis| {
            observe(p);
            tax.patch_scores(&p.scores, &mut mapping);
            if let Some(h) = head {
                h.predict(&p.embedding, &p.signal, &mut head_out);
            }
            for (s, &v) in class_sum.iter_mut().zip(&p.scores) {
                *s += f64::from(v);
            }
            rows.push(PatchRow {
                start_s: p.start_s,
                level_db: p.signal[0],
                mapping: mapping.clone(),
                head: head_out.clone(),
            });
        })?;
        let n = rows.len().max(1);

        // Ambience candidates: (taxonomy index, per-patch scores, threshold).
        let ambience: Vec<(usize, Vec<f32>, f32)> = match head {
            Some(h) => h
                .labels
                .iter()
                .enumerate()
                .filter_map(|(j, name)| {
                    let i = tax.index(name)?;
                    Some((
                        i,
                        smooth(
                            rows.iter().map(|r| r.head[j]).collect(),
                            h.smoothing_patches,
                        ),
                        h.thresholds[j],
                    ))
                })
                .collect(),
            None => tax
                .labels
                .iter()
                .enumerate()
                .filter(|(_, l)| l.kind == LabelKind::Ambience)
                .map(|(i, l)| {
                    (
                        i,
                        smooth(rows.iter().map(|r| r.mapping[i]).collect(), 1),
                        l.threshold,
                    )
                })
                .collect(),
        };

        let silent: Vec<bool> = rows.iter().map(|r| r.level_db < tax.silence_dbfs).collect();
        let silence_score = silent.iter().filter(|&&s| s).count() as f32 / n as f32;

        let mut labels = Vec::new();
        for (i, l) in tax.labels.iter().enumerate() {
            let score = match l.kind {
                LabelKind::Silence => silence_score,
                LabelKind::Ambience => match ambience.iter().find(|(j, ..)| *j == i) {
                    Some((_, s, _)) => mean(s),
                    None => continue,
                },
                // Speech and music may come and go: a clip has them when a quarter of it does.
                LabelKind::Speech | LabelKind::Music => {
                    upper_quartile(smooth(rows.iter().map(|r| r.mapping[i]).collect(), 1))
                }
            };
            let threshold = match l.kind {
                LabelKind::Ambience => ambience
                    .iter()
                    .find(|(j, ..)| *j == i)
                    .map_or(l.threshold, |a| a.2),
                _ => l.threshold,
            };
            if score >= threshold {
                labels.push(LabelScore {
                    label: l.name.clone(),
                    score,
                });
            }
        }
        labels.sort_by(|a, b| b.score.total_cmp(&a.score));

        let mut ranked: Vec<(usize, f32, f32)> =
            ambience.iter().map(|(i, s, t)| (*i, mean(s), *t)).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        let ambience_label = if silence_score >= 0.9 {
            "silence".to_string()
        } else {
            match ranked.first() {
                Some(&(i, score, t)) if score >= t => tax.labels[i].name.clone(),
                // Nothing qualifies: the best guess still wins over `other` when it reaches half
                // its threshold (the head's thresholds are tuned on clips it was trained on, where
                // it is more confident than on new recordings).
                Some(&(i, score, t)) if score >= 0.5 * t => tax.labels[i].name.clone(),
                _ => "other".to_string(),
            }
        };
        let speech_present = labels.iter().any(|l| {
            tax.index(&l.label)
                .is_some_and(|i| tax.labels[i].kind == LabelKind::Speech)
        });

        let segments = timeline(
            &rows,
            &ambience,
            &silent,
            tax,
            summary.duration_s,
            self.config.min_segment_s,
        );

        let mut top: Vec<(usize, f64)> = class_sum.iter().copied().enumerate().collect();
        top.sort_by(|a, b| b.1.total_cmp(&a.1));
        let audioset_top = top
            .iter()
            .take(5)
            .map(|&(i, s)| ClassScore {
                class: tagger.model.class_names()[i].clone(),
                score: (s / n as f64) as f32,
            })
            .collect();

        Ok(TagResult {
            path: path.display().to_string(),
            duration_s: summary.duration_s,
            ambience: ambience_label,
            labels,
            speech: speech_present,
            segments,
            audioset_top,
            warnings: summary.warnings,
        })
    }
}

fn mean(v: &[f32]) -> f32 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f32>() / v.len() as f32
    }
}

fn upper_quartile(mut v: Vec<f32>) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f32::total_cmp);
    v[(v.len() - 1) * 3 / 4]
}

/// Moving average over `±radius` patches.
fn smooth(v: Vec<f32>, radius: usize) -> Vec<f32> {
    if radius == 0 || v.len() < 2 {
        return v;
    }
    (0..v.len())
        .map(|i| {
            let (a, b) = (i.saturating_sub(radius), (i + radius + 1).min(v.len()));
            v[a..b].iter().sum::<f32>() / (b - a) as f32
        })
        .collect()
}

/// Per-patch ambience decisions, smoothed with hysteresis (a label only takes over when it beats the
/// current one by a margin) and a minimum segment length.
fn timeline(
    rows: &[PatchRow],
    ambience: &[(usize, Vec<f32>, f32)],
    silent: &[bool],
    tax: &Taxonomy,
    duration_s: f64,
    min_segment_s: f64,
) -> Vec<Segment> {
    const MARGIN: f32 = 0.1;
    if rows.is_empty() {
        return Vec::new();
    }
    // (label, score) per patch; None = other, usize::MAX = silence.
    let mut current: Option<usize> = None;
    let mut per_patch: Vec<(Option<usize>, f32)> = Vec::with_capacity(rows.len());
    for (k, &is_silent) in silent.iter().enumerate() {
        if is_silent {
            per_patch.push((Some(usize::MAX), 1.0));
            continue;
        }
        let score_of = |label: Option<usize>| {
            label
                .and_then(|l| ambience.iter().find(|(i, ..)| *i == l))
                .map_or(0.0, |(_, s, _)| s[k])
        };
        let best = ambience
            .iter()
            .filter(|(_, s, t)| s[k] >= *t)
            .max_by(|a, b| a.1[k].total_cmp(&b.1[k]))
            .map(|(i, s, _)| (*i, s[k]));
        let keep = current.filter(|&c| c != usize::MAX);
        current = match (best, keep) {
            (Some((b, sb)), Some(c)) if b != c && sb < score_of(Some(c)) + MARGIN => Some(c),
            (Some((b, _)), _) => Some(b),
            (None, Some(c))
                if score_of(Some(c))
                    >= ambience.iter().find(|(i, ..)| *i == c).map_or(1.0, |a| a.2) - MARGIN =>
            {
                Some(c)
            }
            (None, _) => None,
        };
        per_patch.push((current, score_of(current)));
    }
    // Runs of equal labels.
    let mut runs: Vec<(Option<usize>, usize, usize)> = Vec::new(); // (label, first, last)
    for (k, (l, _)) in per_patch.iter().enumerate() {
        match runs.last_mut() {
            Some(r) if r.0 == *l => r.2 = k,
            _ => runs.push((*l, k, k)),
        }
    }
    let start = |k: usize| rows[k].start_s;
    let end_of = |runs: &[(Option<usize>, usize, usize)], j: usize| {
        if j + 1 < runs.len() {
            start(runs[j + 1].1)
        } else {
            duration_s
        }
    };
    // Merge runs shorter than the minimum into the previous run (or the next, for the first).
    let mut j = 0;
    while runs.len() > 1 && j < runs.len() {
        let len = end_of(&runs, j) - start(runs[j].1);
        if len < min_segment_s {
            if j > 0 {
                runs[j - 1].2 = runs[j].2;
                runs.remove(j);
                // Neighbours may now share a label.
                if j < runs.len() && runs[j].0 == runs[j - 1].0 {
                    runs[j - 1].2 = runs[j].2;
                    runs.remove(j);
                }
                j = j.saturating_sub(1);
            } else {
                runs[1].1 = runs[0].1;
                runs.remove(0);
            }
        } else {
            j += 1;
        }
    }
    runs.iter()
        .enumerate()
        .map(|(j, &(label, a, b))| {
            let name = match label {
                Some(usize::MAX) => "silence".to_string(),
                Some(i) => tax.labels[i].name.clone(),
                None => "other".to_string(),
            };
            let scores: Vec<f32> = (a..=b)
                .map(|k| match label {
                    Some(usize::MAX) => 1.0,
                    Some(i) => ambience
                        .iter()
                        .find(|(x, ..)| *x == i)
                        .map_or(0.0, |(_, s, _)| s[k]),
                    None => 1.0 - ambience.iter().map(|(_, s, _)| s[k]).fold(0.0, f32::max),
                })
                .collect();
            Segment {
                start_s: if j == 0 { 0.0 } else { start(a) },
                end_s: end_of(&runs, j),
                label: name,
                score: mean(&scores),
            }
        })
        .collect()
}

/// Tags `paths` with `jobs` workers (each its own ONNX session) and hands every result to
/// `on_result` in input order, as soon as it and all before it are done. Returns how many failed.
pub fn tag_files(
    tagger: &Tagger,
    config: &TagConfig,
    paths: &[std::path::PathBuf],
    jobs: usize,
    mut on_result: impl FnMut(usize, Result<TagResult, TagError>),
) -> Result<usize, TagError> {
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;

    let jobs = jobs.clamp(1, paths.len().max(1));
    // Build the workers first so a model problem is reported once, not per file.
    let workers: Vec<TagWorker<'_>> = (0..jobs)
        .map(|_| tagger.worker(config))
        .collect::<Result<_, _>>()?;
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel();
    let mut failed = 0;
    std::thread::scope(|scope| {
        for mut worker in workers {
            let tx = tx.clone();
            let next = &next;
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(path) = paths.get(i) else { break };
                let result = crate::guard::per_file(path, || worker.tag(path));
                if tx.send((i, result)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut waiting = BTreeMap::new();
        let mut due = 0;
        for (i, result) in rx {
            waiting.insert(i, result);
            while let Some(result) = waiting.remove(&due) {
                if result.is_err() {
                    failed += 1;
                }
                on_result(due, result);
                due += 1;
            }
        }
    });
    Ok(failed)
}
