//! What a batch does after tagging a file: `--separate` writes its dialogue/background stems under
//! `OUTDIR/stems/`, `--remix` also remixes them into `OUTDIR/remix/`, both mirroring the input tree.
//!
//! `--markers FORMAT` writes each tagged file's timeline markers into `OUTDIR/markers/`.
//!
//! Names: a file found as `day1/take.wav` below a PATH given to the batch (a file given directly is
//! found as its bare file name) gets `OUTDIR/stems/day1/take.wav.speech.wav`,
//! `OUTDIR/stems/day1/take.wav.background.wav` (`.flac` with `--stem-format flac`), `OUTDIR/remix/day1/take.wav.remix.wav` and
//! `OUTDIR/markers/day1/take.wav.edl` (or the format's extension). The
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
use crate::audio::OutputFormat;
use crate::classify::TagResult;
use crate::jobs::{self, JobError, RemixJob, Stems};
use crate::mix::RemixConfig;
use crate::models::ModelContext;
use crate::report::markers::{self, FrameRate, MarkerFormat};
use crate::separate::{self, Backends, SeparateConfig, Separator};
use crate::video::{Ffmpeg, VideoContainer, VideoOut};

/// Folder of OUTDIR that holds the stems.
pub(crate) const STEMS_DIR: &str = "stems";
/// Folder of OUTDIR that holds the remixes.
pub(crate) const REMIX_DIR: &str = "remix";
/// Folder of OUTDIR that holds the timeline markers.
pub(crate) const MARKERS_DIR: &str = "markers";

/// `--markers`: each tagged clip's timeline markers, as `OUTDIR/markers/<relative path>.<ext>`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarkerOptions {
    /// The format.
    pub format: MarkerFormat,
    /// The timecode's frame rate, if given (else each file's own; see [`markers::clip_of`]).
    pub fps: Option<FrameRate>,
}

/// Which stages after tagging a batch runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StageOptions {
    /// `--separate`: write dialogue/background stems under `OUTDIR/stems/` (names: module docs).
    pub separate: bool,
    /// `--remix OPTIONS`: remix the stems with these settings into `OUTDIR/remix/` (implies
    /// `--separate`).
    pub remix: Option<RemixConfig>,
    /// `--model` and its tuning flags: which separation model writes the stems, and how (its
    /// `format` and `force` do not apply: the stems are in `stem_format`, replaced when a file is
    /// redone).
    pub separation: SeparateConfig,
    /// `--stem-format`: the stems' format (24-bit WAV unless asked; FLAC names them `.flac`).
    pub stem_format: OutputFormat,
    /// `--remix-container`: deliver each remix as a video under the input's picture (in this
    /// container, or the input's own), instead of a WAV.
    pub remix_video: Option<RemixVideo>,
    /// `--markers`: timeline markers per clip under `OUTDIR/markers/`.
    pub markers: Option<MarkerOptions>,
}

/// Remixes delivered as video: the remix under each input's picture (see [`crate::video`]).
#[derive(Debug, Clone)]
pub struct RemixVideo {
    /// ffmpeg, found.
    pub ffmpeg: Ffmpeg,
    /// The container: one for all, or `None` for each input's own (`--remix-container same`;
    /// inputs that are not video get a WAV).
    pub container: Option<VideoContainer>,
}

impl PartialEq for RemixVideo {
    fn eq(&self, other: &Self) -> bool {
        self.container == other.container
    }
}

impl RemixVideo {
    /// The container `input`'s remix goes into, if a video one.
    fn container_for(&self, input: &Path) -> Option<VideoContainer> {
        self.container.or_else(|| VideoContainer::for_path(input))
    }
}

/// The stages a batch runs after tagging, with the separation model loaded once.
#[derive(Default)]
pub struct StagePlan {
    backends: Option<Backends>,
    context: Option<ModelContext>,
    separation: SeparateConfig,
    remix: Option<RemixConfig>,
    remix_video: Option<RemixVideo>,
    markers: Option<MarkerOptions>,
}

impl std::fmt::Debug for StagePlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StagePlan")
            .field("separate", &self.backends.is_some())
            .field("model", &self.separation.model)
            .field("remix", &self.remix)
            .finish()
    }
}

/// Checks the requested stages and loads what they need from `context`, before any file is
/// processed.
pub fn plan_stages(
    options: &StageOptions,
    context: &ModelContext,
) -> Result<StagePlan, BatchError> {
    let backends = if options.separate || options.remix.is_some() {
        Some(Backends::load(context, options.separation.model)?)
    } else {
        None
    };
    Ok(StagePlan {
        backends,
        context: Some(context.clone()),
        separation: SeparateConfig {
            format: options.stem_format,
            force: true,
            ..options.separation
        },
        remix: options.remix.clone(),
        remix_video: options.remix_video.clone(),
        markers: options.markers,
    })
}

impl StagePlan {
    /// Whether any stage runs after tagging.
    pub(crate) fn is_empty(&self) -> bool {
        self.backends.is_none() && self.markers.is_none()
    }

    /// The `--markers` settings.
    pub(crate) fn markers(&self) -> Option<MarkerOptions> {
        self.markers
    }

    /// One worker's sessions for the stages.
    pub(crate) fn worker(&self) -> Result<StageWorker<'_>, BatchError> {
        let separator = match (&self.backends, &self.context) {
            (Some(b), Some(context)) => Some(Separator::from_backends(b, context)?),
            _ => None,
        };
        Ok(StageWorker {
            separator,
            separation: &self.separation,
            remix: self.remix.as_ref(),
            remix_video: self.remix_video.as_ref(),
        })
    }
}

/// One worker's state for the stages after tagging.
pub(crate) struct StageWorker<'p> {
    separator: Option<Separator<'p>>,
    separation: &'p SeparateConfig,
    remix: Option<&'p RemixConfig>,
    remix_video: Option<&'p RemixVideo>,
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

/// `(speech, background)` stem paths of `input` in `out_dir` in `format` (see the module docs).
pub(crate) fn batch_stem_paths(
    out_dir: &Path,
    input: &Input,
    format: OutputFormat,
) -> (PathBuf, PathBuf) {
    separate::stem_pair(
        &mirror_dir(out_dir, STEMS_DIR, input),
        output_name(input),
        format.extension(),
    )
}

/// The remix path of `input` in `out_dir`: `OUTDIR/remix/<relative path>.remix.EXT` (`wav`, or
/// the video container's extension).
pub(crate) fn batch_remix_path(out_dir: &Path, input: &Input, extension: &str) -> PathBuf {
    let mut name = output_name(input).to_os_string();
    name.push(format!(".remix.{extension}"));
    mirror_dir(out_dir, REMIX_DIR, input).join(name)
}

/// The marker file of `input` in `out_dir`: `OUTDIR/markers/<relative path>.<ext>`.
pub(crate) fn batch_markers_path(out_dir: &Path, input: &Input, format: MarkerFormat) -> PathBuf {
    let mut name = output_name(input).to_os_string();
    name.push(format!(".{}", format.extension()));
    mirror_dir(out_dir, MARKERS_DIR, input).join(name)
}

/// Writes `tags`' markers for `input` (replacing an earlier file).
pub(crate) fn write_markers(
    out_dir: &Path,
    input: &Input,
    tags: &TagResult,
    options: MarkerOptions,
) -> Result<(), JobError> {
    let path = batch_markers_path(out_dir, input, options.format);
    if let Some(dir) = path.parent() {
        jobs::create_folder(dir)?;
    }
    let text = markers::render(options.format, &markers::clip_of(tags, options.fps));
    crate::report::write_text_atomic(&path, &text, true)
        .map_err(|source| JobError::Markers { path, source })
}

/// Refuses a batch with stages in which two inputs would write the same stems (the same path below
/// two different PATHs, or two files of the same name given directly): the error names both.
pub(crate) fn check_output_names(inputs: &[Input]) -> Result<(), BatchError> {
    let mut seen: HashMap<PathBuf, &Input> = HashMap::new();
    for input in inputs {
        let (speech, _) = batch_stem_paths(Path::new(""), input, OutputFormat::Wav24);
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
    /// changed or failed before); the two stems are written both or neither.
    pub(crate) fn run(&mut self, input: &Input, out_dir: &Path) -> Result<(), JobError> {
        let Some(separator) = self.separator.as_mut() else {
            return Ok(());
        };
        let separation = |e: JobError| e.in_stage(&input.path, "separation");
        let (speech_path, background_path) =
            batch_stem_paths(out_dir, input, self.separation.format);
        if let Some(stems) = speech_path.parent() {
            jobs::create_folder(stems).map_err(separation)?;
        }
        let stems = (speech_path.as_path(), background_path.as_path());
        let Some(config) = self.remix else {
            // Stems only: streamed, bounded memory for any length.
            separate::separate_file_to(separator, &input.path, stems, self.separation, |_| {})
                .map_err(|e| separation(e.into()))?;
            return Ok(());
        };
        // Stems and remix: decoded once, separated in memory, the stems written, and the same
        // (unquantised) stems remixed.
        let remix = |e: JobError| e.in_stage(&input.path, "remix");
        let video = self.remix_video.and_then(|v| {
            let container = v.container_for(&input.path)?;
            let codec = container.default_codec();
            Some(VideoOut {
                ffmpeg: v.ffmpeg.clone(),
                container,
                codec,
                bitrate_kbps: None,
                keep_original_audio: false,
            })
        });
        let (delivery, extension) = match video {
            Some(v) => {
                let ext = v.container.extension();
                (jobs::Delivery::Video(v), ext)
            }
            None => (jobs::Delivery::Audio(OutputFormat::Wav24), "wav"),
        };
        let output = batch_remix_path(out_dir, input, extension);
        if let Some(dir) = output.parent() {
            jobs::create_folder(dir).map_err(remix)?;
        }
        RemixJob {
            input: &input.path,
            audio_track: 0,
            output: &output,
            delivery,
            stems: Stems::Separate {
                separator,
                config: self.separation,
                keep: Some(stems),
            },
            config,
            force: true,
        }
        .run()
        .map_err(remix)?;
        Ok(())
    }
}
