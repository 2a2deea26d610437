//! What a batch does after tagging a file: `--separate` writes its dialogue/background stems under
//! `OUTDIR/stems/`, `--remix` also remixes them into `OUTDIR/remix/`, both mirroring the input tree.
//!
//! The separation model is loaded once, before any file is read ([`plan_stages`]); each worker opens
//! its own sessions on it ([`StageWorker`]).

use std::path::{Path, PathBuf};

use super::{BatchError, Input};
use crate::audio::{read_all, AudioBlock, OutputFormat, WavOutput};
use crate::mix::{self, RemixConfig};
use crate::models::{self, SessionOptions};
use crate::separate::{self, Backends, ModelChoice, Precision, SeparateConfig, Separator};

/// Folder of OUTDIR that holds the stems.
pub(crate) const STEMS_DIR: &str = "stems";
/// Folder of OUTDIR that holds the remixes.
pub(crate) const REMIX_DIR: &str = "remix";

/// Which stages after tagging a batch runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StageOptions {
    /// `--separate`: write dialogue/background stems under `OUTDIR/stems/`.
    pub separate: bool,
    /// `--remix OPTIONS`: remix the stems with these settings into `OUTDIR/remix/` (implies
    /// `--separate`).
    pub remix: Option<RemixConfig>,
    /// `--model`: which separation model writes the stems.
    pub model: ModelChoice,
}

/// The stages a batch runs after tagging, with the separation model loaded once.
#[derive(Default)]
pub struct StagePlan {
    backends: Option<Backends>,
    model: ModelChoice,
    remix: Option<RemixConfig>,
}

impl std::fmt::Debug for StagePlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StagePlan")
            .field("separate", &self.backends.is_some())
            .field("model", &self.model)
            .field("remix", &self.remix)
            .finish()
    }
}

/// Checks the requested stages and loads what they need, before any file is processed.
pub fn plan_stages(options: &StageOptions) -> Result<StagePlan, BatchError> {
    let backends = if options.separate || options.remix.is_some() {
        let dir = models::models_dir();
        Some(
            Backends::load(&dir, options.model, Precision::default())
                .map_err(|e| BatchError::Unavailable(format!("separation: {e}")))?,
        )
    } else {
        None
    };
    Ok(StagePlan {
        backends,
        model: options.model,
        remix: options.remix.clone(),
    })
}

impl StagePlan {
    /// Whether any stage runs after tagging.
    pub fn is_empty(&self) -> bool {
        self.backends.is_none()
    }

    /// One worker's sessions for the stages.
    pub fn worker(&self) -> Result<StageWorker<'_>, BatchError> {
        let separator = match &self.backends {
            Some(b) => Some(
                Separator::from_backends(b, SessionOptions::default())
                    .map_err(|e| BatchError::Unavailable(format!("separation: {e}")))?,
            ),
            None => None,
        };
        Ok(StageWorker {
            separator,
            model: self.model,
            remix: self.remix.as_ref(),
        })
    }
}

/// One worker's state for the stages after tagging.
pub struct StageWorker<'p> {
    separator: Option<Separator<'p>>,
    model: ModelChoice,
    remix: Option<&'p RemixConfig>,
}

/// `OUTDIR/<kind>/<folders of input.relative>`.
fn mirror_dir(out_dir: &Path, kind: &str, input: &Input) -> PathBuf {
    let mut dir = out_dir.join(kind);
    if let Some(parent) = Path::new(&input.relative).parent() {
        dir.push(parent);
    }
    dir
}

impl StageWorker<'_> {
    /// Runs the stages on one tagged file. Outputs are replaced (a batch reruns a file only when it
    /// changed or failed before). The error names the file and the stage.
    pub fn run(&mut self, input: &Input, out_dir: &Path) -> Result<(), String> {
        let Some(sep) = self.separator.as_mut() else {
            return Ok(());
        };
        let name = input.path.display();
        let stems = mirror_dir(out_dir, STEMS_DIR, input);
        std::fs::create_dir_all(&stems).map_err(|e| format!("{}: {e}", stems.display()))?;
        let config = SeparateConfig {
            format: OutputFormat::Wav24,
            force: true,
            model: self.model,
            ..SeparateConfig::default()
        };
        let Some(remix) = self.remix else {
            // Stems only: streamed, bounded memory for any length.
            separate::separate_file(sep, &input.path, &stems, &config, |_| {})
                .map_err(|e| format!("{name}: separation failed: {e}"))?;
            return Ok(());
        };
        // Stems and remix: decode once, separate in memory, write the stems, remix the same
        // (unquantised) stems.
        let fail = |e: &dyn std::fmt::Display| format!("{name}: remix failed: {e}");
        let mixture = read_all(&input.path).map_err(|e| format!("{name}: {e}"))?;
        let (speech, background) = separate::separate_block(sep, &input.path, &mixture, &config)
            .map_err(|e| format!("{name}: separation failed: {e}"))?;
        let (speech_path, background_path) = separate::stem_paths(&input.path, &stems);
        write_wav24(&speech_path, &speech)
            .map_err(|e| format!("{name}: separation failed: {e}"))?;
        write_wav24(&background_path, &background)
            .map_err(|e| format!("{name}: separation failed: {e}"))?;
        let (out, _) = mix::remix(&mixture, speech, background, remix).map_err(|e| fail(&e))?;
        let dir = mirror_dir(out_dir, REMIX_DIR, input);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let stem = input
            .path
            .file_stem()
            .map_or_else(|| "output".into(), |s| s.to_string_lossy().into_owned());
        write_wav24(&dir.join(format!("{stem}.remix.wav")), &out).map_err(|e| fail(&e))?;
        Ok(())
    }
}

/// Writes `block` to `path` as 24-bit WAV, atomically, replacing what is there.
fn write_wav24(path: &Path, block: &AudioBlock) -> Result<(), crate::audio::AudioError> {
    let mut w = WavOutput::create(
        path,
        block.sample_rate,
        block.channel_count(),
        OutputFormat::Wav24,
        true,
    )?;
    w.write_block(block)?;
    w.finish().map(|_| ())
}
