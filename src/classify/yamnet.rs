//! YAMNet through ONNX Runtime: the shared model (graph, weights, quantisation, class names) and one
//! session per worker.

use std::path::Path;
use std::sync::Arc;

use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::TensorRef;

use crate::features::MelParams;
use crate::models::{self, Manifest, ModelError, OnnxGraph, Quantisation, SessionOptions};

/// Number of AudioSet classes YAMNet scores.
pub const N_CLASSES: usize = 521;

/// The loaded model, shared read-only between workers.
pub struct Yamnet {
    manifest: Manifest,
    /// `model.onnx` with the embedding (the classifier layer's input) added as a second graph output.
    graph_bytes: Vec<u8>,
    /// The external weights file, loaded once and handed to every session.
    weights: Arc<[u8]>,
    weights_name: String,
    input_name: String,
    scores_name: String,
    embedding_name: String,
    input_q: Quantisation,
    output_q: Quantisation,
    class_names: Vec<String>,
    mel: MelParams,
    patch_frames: usize,
    patch_hop_frames: usize,
}

/// Scores and embedding of one 0.96 s patch.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOutput {
    /// Sigmoid class probabilities, one per AudioSet class.
    pub scores: Vec<f32>,
    /// The 1024-value embedding the classifier layer reads.
    pub embedding: Vec<f32>,
}

impl Yamnet {
    /// Loads the manifest `models_dir/yamnet.toml`, the graph and its quantisation, and the class map.
    pub fn load(models_dir: &Path) -> Result<Self, ModelError> {
        let manifest = Manifest::load(models_dir, "yamnet")?;
        manifest.check_files()?;
        let spec = manifest
            .graph("classifier")
            .ok_or_else(|| bad(&manifest, "no graph with role \"classifier\""))?
            .clone();
        let graph_path = manifest.file_path(&spec.file);
        let mismatch = |reason: String| ModelError::Mismatch {
            path: graph_path.clone(),
            reason,
        };
        let input_name = spec
            .inputs
            .first()
            .map(|t| t.name.clone())
            .ok_or_else(|| mismatch("no input".into()))?;
        let scores_name = spec
            .outputs
            .first()
            .map(|t| t.name.clone())
            .ok_or_else(|| mismatch("no output".into()))?;

        let graph = OnnxGraph::read(&graph_path)?;
        let input_q = graph
            .consumer("DequantizeLinear", &input_name)
            .and_then(|n| Quantisation::of_node(&graph, n))
            .ok_or_else(|| {
                mismatch(format!(
                    "no DequantizeLinear with scalar parameters reads {input_name:?}"
                ))
            })?;
        let out_node = graph
            .producer("QuantizeLinear", &scores_name)
            .ok_or_else(|| mismatch(format!("no QuantizeLinear writes {scores_name:?}")))?;
        let output_q = Quantisation::of_node(&graph, out_node)
            .ok_or_else(|| mismatch("the output quantiser has no scalar parameters".into()))?;
        // The embedding is what the classifier layer (the node feeding the output quantiser) reads.
        let logits = out_node.inputs.first().cloned().unwrap_or_default();
        let embedding_name = graph
            .nodes
            .iter()
            .find(|n| n.outputs.contains(&logits))
            .and_then(|n| n.inputs.first().cloned())
            .ok_or_else(|| mismatch(format!("cannot find the layer that writes {logits:?}")))?;

        let original = std::fs::read(&graph_path).map_err(|e| mismatch(e.to_string()))?;
        let graph_bytes = with_extra_output(original, &embedding_name);
        let weights_name = manifest
            .files
            .iter()
            .find(|f| f.name.ends_with(".data"))
            .map(|f| f.name.clone())
            .ok_or_else(|| bad(&manifest, "no external weights (.data) file listed"))?;
        let weights: Arc<[u8]> = std::fs::read(manifest.file_path(&weights_name))
            .map_err(|e| ModelError::MissingFile {
                path: manifest.file_path(&weights_name),
                reason: e.to_string(),
            })?
            .into();

        let class_map = manifest.file_path("yamnet_class_map.csv");
        let class_names = read_class_map(&class_map)?;
        let mel = manifest
            .mel_params()
            .map_err(|e| bad(&manifest, &e.to_string()))?
            .ok_or_else(|| bad(&manifest, "no [frontend.mel] table"))?;
        let mel_spec = manifest
            .frontend
            .mel
            .clone()
            .ok_or_else(|| bad(&manifest, "no [frontend.mel] table"))?;
        Ok(Self {
            graph_bytes,
            weights,
            weights_name,
            input_name,
            scores_name,
            embedding_name,
            input_q,
            output_q,
            class_names,
            mel,
            patch_frames: mel_spec.patch_frames,
            patch_hop_frames: mel_spec.patch_hop_frames,
            manifest,
        })
    }

    /// A session for one worker.
    pub fn session(&self, options: SessionOptions) -> Result<YamnetSession<'_>, ModelError> {
        let path = self.manifest.file_path("model.onnx");
        let fail = |e: &dyn std::fmt::Display| ModelError::Session {
            path: path.clone(),
            reason: e.to_string(),
        };
        let env = models::environment()?;
        let session = Session::builder(env)
            .map_err(|e| fail(&e))?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(|e| fail(&e))?
            .with_intra_threads(options.intra_threads.max(1))
            .map_err(|e| fail(&e))?
            .with_external_initializer_file_in_memory(&self.weights_name, self.weights.clone())
            .map_err(|e| fail(&e))?
            .commit_from_memory(&self.graph_bytes)
            .map_err(|e| fail(&e))?;
        Ok(YamnetSession {
            model: self,
            session,
            input: vec![0; self.patch_frames * self.mel.n_mels],
        })
    }

    /// AudioSet display names, in output order.
    pub fn class_names(&self) -> &[String] {
        &self.class_names
    }

    /// Front-end parameters from the manifest.
    pub fn mel_params(&self) -> &MelParams {
        &self.mel
    }

    /// Frames per patch (96 = 0.96 s).
    pub fn patch_frames(&self) -> usize {
        self.patch_frames
    }

    /// Default hop between patches in frames (48 = 0.48 s).
    pub fn default_patch_hop_frames(&self) -> usize {
        self.patch_hop_frames
    }
}

/// One worker's session (ONNX Runtime sessions run with `&mut self`).
pub struct YamnetSession<'m> {
    model: &'m Yamnet,
    session: Session,
    input: Vec<u8>,
}

impl YamnetSession<'_> {
    /// Runs one patch of `patch_frames × n_mels` log-mel values (row-major).
    pub fn run(&mut self, patch: &[f32]) -> Result<PatchOutput, ModelError> {
        let m = self.model;
        let path = || m.manifest.file_path("model.onnx");
        let fail = |e: &dyn std::fmt::Display| ModelError::Session {
            path: path(),
            reason: e.to_string(),
        };
        if patch.len() != self.input.len() {
            return Err(ModelError::Mismatch {
                path: path(),
                reason: format!(
                    "patch has {} values, the model takes {}",
                    patch.len(),
                    self.input.len()
                ),
            });
        }
        for (q, &x) in self.input.iter_mut().zip(patch) {
            *q = m.input_q.quantise_u8(x);
        }
        let shape = [1usize, 1, m.patch_frames, m.mel.n_mels];
        let tensor =
            TensorRef::from_array_view((shape, self.input.as_slice())).map_err(|e| fail(&e))?;
        let outputs = self
            .session
            .run(ort::inputs![m.input_name.as_str() => tensor])
            .map_err(|e| fail(&e))?;
        let (_, q) = outputs[m.scores_name.as_str()]
            .try_extract_tensor::<u8>()
            .map_err(|e| fail(&e))?;
        let scores = q
            .iter()
            .map(|&v| sigmoid(m.output_q.dequantise(v)))
            .collect();
        let (_, e) = outputs[m.embedding_name.as_str()]
            .try_extract_tensor::<f32>()
            .map_err(|e| fail(&e))?;
        Ok(PatchOutput {
            scores,
            embedding: e.to_vec(),
        })
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

fn bad(manifest: &Manifest, reason: &str) -> ModelError {
    ModelError::Manifest {
        path: manifest.dir.with_extension("toml"),
        reason: reason.to_string(),
    }
}

/// Reads `index,mid,display_name` rows (display names may be quoted and contain commas).
fn read_class_map(path: &Path) -> Result<Vec<String>, ModelError> {
    let text = std::fs::read_to_string(path).map_err(|e| ModelError::MissingFile {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let names: Vec<String> = text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| {
            let mut parts = l.splitn(3, ',');
            parts.next()?;
            parts.next()?;
            Some(parts.next()?.trim().trim_matches('"').to_string())
        })
        .collect();
    if names.len() != N_CLASSES {
        return Err(ModelError::Mismatch {
            path: path.to_path_buf(),
            reason: format!(
                "{} class names, the model has {N_CLASSES} outputs",
                names.len()
            ),
        });
    }
    Ok(names)
}

/// Appends a float graph output named `tensor` to a serialised ONNX model.
///
/// Protobuf merges a message that is concatenated onto another (repeated fields are appended), so
/// adding `ModelProto { graph: GraphProto { output: [ValueInfoProto { name, type: float tensor }] } }`
/// to the end of the file adds one output and leaves everything else untouched.
fn with_extra_output(mut model: Vec<u8>, tensor: &str) -> Vec<u8> {
    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    fn field(number: u64, payload: &[u8], out: &mut Vec<u8>) {
        varint(number << 3 | 2, out);
        varint(payload.len() as u64, out);
        out.extend_from_slice(payload);
    }
    let tensor_type = [0x08, 0x01]; // TypeProto.Tensor { elem_type (1) = FLOAT (1) }
    let mut type_proto = Vec::new();
    field(1, &tensor_type, &mut type_proto); // TypeProto.tensor_type
    let mut value_info = Vec::new();
    field(1, tensor.as_bytes(), &mut value_info); // ValueInfoProto.name
    field(2, &type_proto, &mut value_info); // ValueInfoProto.type
    let mut graph = Vec::new();
    field(12, &value_info, &mut graph); // GraphProto.output
    field(7, &graph, &mut model); // ModelProto.graph
    model
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantisation_comes_from_the_graph() {
        let model =
            Yamnet::load(&models::models_dir()).expect("models/yamnet fetched by scripts/setup.sh");
        let q = model.input_q;
        // ln(0.001), the log of silence, must be representable: it sits at the bottom of the range.
        assert!(q.scale > 0.01 && q.scale < 0.2, "{q:?}");
        assert_eq!(q.quantise_u8(0.001f32.ln()), 0);
        assert!(model.output_q.scale > 0.0);
    }
}
