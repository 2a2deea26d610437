//! The ambience classifier head: logistic regression over YAMNet's embedding and the signal
//! features, stored in `models/tagging/ambience_head.json`. Either one-vs-rest sigmoids fitted on
//! patches (scripts/train_tagger.py, the first heads) or a softmax with a "no ambience" label,
//! fitted on patches or on clips and chosen by leave-one-source-out cross-validation
//! (scripts/loso_tagger.py).

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
    /// How the scores become probabilities: one sigmoid per label (one-vs-rest), or a softmax
    /// over all labels (one of them may be no ambience at all; see [`Head::abstain_label`]).
    #[serde(default)]
    pub activation: Activation,
    /// A head label that means "none of the ambiences" (not a taxonomy label): it takes its share
    /// of a softmax, so where it wins the ambiences stay under their thresholds and the clip is
    /// `other`.
    #[serde(default)]
    pub abstain_label: Option<String>,
    /// The clip's best ambience is named when its score reaches this fraction of its threshold
    /// (the older one-vs-rest heads were tuned on the clips they were trained on and are named at
    /// half; heads whose thresholds were chosen on held-out sources use 1).
    #[serde(default = "half")]
    pub accept_fraction: f32,
    /// How a clip's ambience scores come from its patches.
    #[serde(default)]
    pub pooling: Pooling,
}

/// How a head's per-patch outputs become a clip's ambience scores.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// The mean of the patches' (smoothed) probabilities: heads fitted on patches.
    #[default]
    Patch,
    /// The activation of the patches' mean scores (logits): heads fitted on clips, each the mean
    /// of its patches' inputs. The head is linear, so this is the head applied to the clip's mean
    /// input.
    Clip,
}

fn half() -> f32 {
    0.5
}

/// How a head's scores become probabilities.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// One independent sigmoid per label.
    #[default]
    Sigmoid,
    /// A softmax over all the head's labels.
    Softmax,
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
                "trained with signal features {:?}, this build computes {SIGNAL_FEATURES:?}; retrain with scripts/loso_tagger.py --write",
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
        if let Some(a) = &head.abstain_label {
            if !head.labels.contains(a) {
                return Err(bad(format!("abstain_label {a:?} is not one of its labels")));
            }
        }
        if !(head.accept_fraction > 0.0 && head.accept_fraction <= 1.0) {
            return Err(bad(format!(
                "accept_fraction {} is not in (0, 1]",
                head.accept_fraction
            )));
        }
        Ok(head)
    }

    /// Scores (logits, before the activation) per label for one patch.
    pub(crate) fn logits(&self, embedding: &[f32], signal: &[f32], out: &mut Vec<f32>) {
        out.clear();
        out.extend_from_slice(&self.bias);
        for (i, &v) in embedding.iter().chain(signal).enumerate() {
            let s = (v - self.mean[i]) * self.scale[i];
            for (z, w) in out.iter_mut().zip(&self.weights) {
                *z += w[i] * s;
            }
        }
    }

    /// Turns scores (logits) into probabilities, in place.
    pub(crate) fn activate(&self, out: &mut [f32]) {
        match self.activation {
            Activation::Sigmoid => out.iter_mut().for_each(|z| *z = 1.0 / (1.0 + (-*z).exp())),
            Activation::Softmax => {
                let max = out.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                out.iter_mut().for_each(|z| *z = (*z - max).exp());
                let sum: f32 = out.iter().sum();
                out.iter_mut().for_each(|z| *z /= sum);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Probabilities per label for one patch.
    fn predict(head: &Head, embedding: &[f32], signal: &[f32], out: &mut Vec<f32>) {
        head.logits(embedding, signal, out);
        head.activate(out);
    }

    fn head(activation: &str) -> Head {
        let n = 1 + SIGNAL_FEATURES.len();
        let row = |first: f32| {
            let mut w = vec![0.0f32; n];
            w[0] = first;
            w
        };
        let weights = vec![row(1.0), row(-1.0), row(0.0)];
        let json = serde_json::json!({
            "labels": ["rain", "wind", "none"],
            "signal_features": SIGNAL_FEATURES,
            "embedding_len": 1,
            "mean": vec![0.0; n],
            "scale": vec![1.0; n],
            "weights": weights,
            "bias": [0.0, 0.0, 0.5],
            "thresholds": [0.5, 0.5, 0.5],
            "smoothing_patches": 0,
            "activation": activation,
            "abstain_label": "none",
            "accept_fraction": 1.0,
        });
        serde_json::from_value(json).expect("head")
    }

    #[test]
    fn softmax_shares_one_unit_among_the_labels_and_sigmoid_does_not() {
        let signal = vec![0.0; SIGNAL_FEATURES.len()];
        let mut out = Vec::new();
        for x in [-3.0f32, 0.0, 2.5] {
            predict(&head("softmax"), &[x], &signal, &mut out);
            assert!((out.iter().sum::<f32>() - 1.0).abs() < 1e-6, "{out:?}");
            let z = [x, -x, 0.5];
            let e: Vec<f32> = z.iter().map(|v| v.exp()).collect();
            let sum: f32 = e.iter().sum();
            for (p, e) in out.iter().zip(&e) {
                assert!((p - e / sum).abs() < 1e-6);
            }
            predict(&head("sigmoid"), &[x], &signal, &mut out);
            assert!((out[0] - 1.0 / (1.0 + (-x).exp())).abs() < 1e-6);
            assert!((out[2] - 1.0 / (1.0 + (-0.5f32).exp())).abs() < 1e-6);
        }
    }
}
