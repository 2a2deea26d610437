//! The ambience classifier head: one-vs-rest logistic regression over YAMNet's embedding and the
//! signal features, trained by scripts/train_tagger.py and stored in `models/tagging/ambience_head.json`.

use std::path::Path;

use serde::Deserialize;

use super::signal::SIGNAL_FEATURES;
use super::TagError;

/// The trained head.
#[derive(Debug, Clone, Deserialize)]
pub struct Head {
    /// Ambience labels it scores, in output order.
    pub labels: Vec<String>,
    /// Signal feature names it was trained with, in input order (after the embedding).
    pub signal_features: Vec<String>,
    /// Embedding length it expects.
    pub embedding_len: usize,
    /// Per-input mean subtracted before scaling.
    pub mean: Vec<f32>,
    /// Per-input scale (1 / standard deviation).
    pub scale: Vec<f32>,
    /// `labels × inputs` weights.
    pub weights: Vec<Vec<f32>>,
    /// Per-label bias.
    pub bias: Vec<f32>,
    /// Per-label probability at or above which the label is reported (same order as `labels`).
    pub thresholds: Vec<f32>,
    /// Patches on each side averaged into a patch's probabilities (temporal context).
    pub smoothing_patches: usize,
}

impl Head {
    /// Reads and checks the head file against the feature layout of this build.
    pub fn load(path: &Path) -> Result<Self, TagError> {
        let bad = |reason: String| TagError::Data {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let head: Head = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let inputs = head.embedding_len + head.signal_features.len();
        if head
            .signal_features
            .iter()
            .map(String::as_str)
            .ne(SIGNAL_FEATURES.iter().copied())
        {
            return Err(bad(format!(
                "trained with signal features {:?}, this build computes {SIGNAL_FEATURES:?}; retrain with scripts/train_tagger.py",
                head.signal_features
            )));
        }
        let n = head.labels.len();
        if head.mean.len() != inputs
            || head.scale.len() != inputs
            || head.weights.len() != n
            || head.weights.iter().any(|w| w.len() != inputs)
            || head.bias.len() != n
            || head.thresholds.len() != n
        {
            return Err(bad("inconsistent array sizes".into()));
        }
        Ok(head)
    }

    /// Probabilities per label for one patch.
    pub fn predict(&self, embedding: &[f32], signal: &[f32], out: &mut Vec<f32>) {
        out.clear();
        out.extend_from_slice(&self.bias);
        for (i, &v) in embedding.iter().chain(signal).enumerate() {
            let s = (v - self.mean[i]) * self.scale[i];
            for (z, w) in out.iter_mut().zip(&self.weights) {
                *z += w[i] * s;
            }
        }
        out.iter_mut().for_each(|z| *z = 1.0 / (1.0 + (-*z).exp()));
    }
}
