//! The product taxonomy (`models/tagging/taxonomy.toml`): labels, their AudioSet classes, aggregation and
//! thresholds.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::TagError;

/// What a label describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LabelKind {
    /// A background ambience (rain, traffic …).
    Ambience,
    /// Dialogue.
    Speech,
    /// Music.
    Music,
    /// Digital or near silence, from the signal level.
    Silence,
}

/// How the mapped classes' probabilities combine within one patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Aggregate {
    /// The largest probability.
    Max,
    /// `1 - Π(1 - p)`.
    NoisyOr,
}

#[derive(Debug, Deserialize)]
struct LabelFile {
    name: String,
    kind: LabelKind,
    aggregate: Aggregate,
    threshold: f32,
    classes: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct TaxonomyFile {
    silence_dbfs: f32,
    labels: Vec<LabelFile>,
}

/// One product label with its classes resolved to YAMNet output indices.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    /// Product name (`rain`, `speech` …).
    pub name: String,
    /// What it describes.
    pub kind: LabelKind,
    /// Per-patch combination rule.
    pub aggregate: Aggregate,
    /// Clip-level score at or above which it is reported.
    pub threshold: f32,
    /// YAMNet output indices.
    pub classes: Vec<usize>,
}

/// The loaded taxonomy.
#[derive(Debug, Clone, PartialEq)]
pub struct Taxonomy {
    /// Patch RMS level below which a patch is silence, in dBFS.
    pub silence_dbfs: f32,
    /// Labels in file order.
    pub labels: Vec<Label>,
}

impl Taxonomy {
    /// Reads `path` and resolves every class against `class_names`; an unknown class is an error.
    pub fn load(path: &Path, class_names: &[String]) -> Result<Self, TagError> {
        let bad = |reason: String| TagError::Data {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let file: TaxonomyFile = toml::from_str(&text).map_err(|e| bad(e.message().to_string()))?;
        let mut labels = Vec::with_capacity(file.labels.len());
        for l in file.labels {
            let classes = l
                .classes
                .iter()
                .map(|c| {
                    class_names.iter().position(|n| n == c).ok_or_else(|| {
                        bad(format!(
                            "label {:?}: {c:?} is not an AudioSet class of this model",
                            l.name
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            if classes.is_empty() && l.kind != LabelKind::Silence {
                return Err(bad(format!("label {:?} maps no class", l.name)));
            }
            if labels.iter().any(|x: &Label| x.name == l.name) {
                return Err(bad(format!("label {:?} appears twice", l.name)));
            }
            labels.push(Label {
                name: l.name,
                kind: l.kind,
                aggregate: l.aggregate,
                threshold: l.threshold,
                classes,
            });
        }
        Ok(Self {
            silence_dbfs: file.silence_dbfs,
            labels,
        })
    }

    /// The committed taxonomy, `models_dir/tagging/taxonomy.toml`.
    pub fn path_in(models_dir: &Path) -> PathBuf {
        models_dir.join("tagging").join("taxonomy.toml")
    }

    /// Index of a label by name.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.labels.iter().position(|l| l.name == name)
    }

    /// Per-label scores of one patch from YAMNet's class probabilities (silence scores 0 here; it
    /// comes from the level).
    pub fn patch_scores(&self, scores: &[f32], out: &mut Vec<f32>) {
        out.clear();
        out.extend(self.labels.iter().map(|l| match l.aggregate {
            Aggregate::Max => l.classes.iter().map(|&c| scores[c]).fold(0.0, f32::max),
            Aggregate::NoisyOr => 1.0 - l.classes.iter().map(|&c| 1.0 - scores[c]).product::<f32>(),
        }));
    }
}
