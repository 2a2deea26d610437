//! What a batch does after tagging a file: `--separate` writes its dialogue/background stems under
//! `OUTDIR/stems/`, `--remix` also remixes them into `OUTDIR/remix/`, both mirroring the input tree.
//!
//! Names: a file found as `day1/take.wav` below a PATH given to the batch (a file given directly is
//! found as its bare file name) gets `OUTDIR/stems/day1/take.wav.speech.wav`,
//! `OUTDIR/stems/day1/take.wav.background.wav` and `OUTDIR/remix/day1/take.wav.remix.wav`. The
//! extension is kept, so `take.wav` and `take.mp3` side by side get their own files, and the name
//! does not depend on what else is in the batch (or in the shard). Two inputs that would still share
//! names (the same relative path below two PATHs) are refused before anything runs
//! ([`check_output_names`]).
//!
//! The separation model is loaded once, before any file is read ([`plan_stages`]); each worker opens
//! its own sessions on it ([`StageWorker`]).

use std::collections::HashMap;
use std::ffi::OsStr;
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
    /// `--separate`: write dialogue/background stems under `OUTDIR/stems/` (names: module docs).
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

/// The file name the stage outputs of `input` are named after: its own, extension included.
fn output_name(input: &Input) -> &OsStr {
    Path::new(&input.relative)
        .file_name()
        .or_else(|| input.path.file_name())
        .unwrap_or_else(|| OsStr::new("output"))
}

/// `(speech, background)` stem paths of `input` in `out_dir` (see the module docs).
pub fn batch_stem_paths(out_dir: &Path, input: &Input) -> (PathBuf, PathBuf) {
    separate::stem_pair(&mirror_dir(out_dir, STEMS_DIR, input), output_name(input))
}

/// The remix path of `input` in `out_dir`: `OUTDIR/remix/<relative path>.remix.wav`.
pub fn batch_remix_path(out_dir: &Path, input: &Input) -> PathBuf {
    let mut name = output_name(input).to_os_string();
    name.push(".remix.wav");
    mirror_dir(out_dir, REMIX_DIR, input).join(name)
}

/// Refuses a batch with stages in which two inputs would write the same stems (the same path below
/// two different PATHs, or two files of the same name given directly): the error names both.
pub fn check_output_names(inputs: &[Input]) -> Result<(), BatchError> {
    let mut seen: HashMap<PathBuf, &Input> = HashMap::new();
    for input in inputs {
        let (speech, _) = batch_stem_paths(Path::new(""), input);
        if let Some(first) = seen.insert(speech.clone(), input) {
            return Err(BatchError::NameClash {
                first: first.path.clone(),
                second: input.path.clone(),
                output: speech,
            });
        }
    }
    Ok(())
}

impl StageWorker<'_> {
    /// Runs the stages on one tagged file. Outputs are replaced (a batch reruns a file only when it
    /// changed or failed before); the two stems are written both or neither. The error names the
    /// file and the stage.
    pub fn run(&mut self, input: &Input, out_dir: &Path) -> Result<(), String> {
        let Some(sep) = self.separator.as_mut() else {
            return Ok(());
        };
        let name = input.path.display();
        let (speech_path, background_path) = batch_stem_paths(out_dir, input);
        if let Some(stems) = speech_path.parent() {
            std::fs::create_dir_all(stems).map_err(|e| format!("{}: {e}", stems.display()))?;
        }
        let config = SeparateConfig {
            format: OutputFormat::Wav24,
            force: true,
            model: self.model,
            ..SeparateConfig::default()
        };
        let stems = (speech_path.as_path(), background_path.as_path());
        let Some(remix) = self.remix else {
            // Stems only: streamed, bounded memory for any length.
            separate::separate_file_to(sep, &input.path, stems, &config, |_| {})
                .map_err(|e| format!("{name}: separation failed: {e}"))?;
            return Ok(());
        };
        // Stems and remix: decode once, separate in memory, write the stems, remix the same
        // (unquantised) stems.
        let fail = |e: &dyn std::fmt::Display| format!("{name}: remix failed: {e}");
        let mixture = read_all(&input.path).map_err(|e| format!("{name}: {e}"))?;
        let (speech, background) = separate::separate_block(sep, &input.path, &mixture, &config)
            .map_err(|e| format!("{name}: separation failed: {e}"))?;
        separate::write_stems(stems, &speech, &background, OutputFormat::Wav24, true)
            .map_err(|e| format!("{name}: separation failed: {e}"))?;
        let (out, _) = mix::remix(&mixture, speech, background, remix).map_err(|e| fail(&e))?;
        let target = batch_remix_path(out_dir, input);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        write_wav24(&target, &out).map_err(|e| fail(&e))?;
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
