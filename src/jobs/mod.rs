//! One file's work, the same whoever asks for it: `roomtone remix` and `roomtone batch --remix`
//! run the same [`RemixJob`], and `roomtone tag` and `roomtone batch` run their files on the same
//! [`pool`].
//!
//! Separating alone is [`crate::separate::separate_file_to`] (streamed, bounded memory) for both
//! `roomtone separate` and `batch --separate`; tagging one file is [`crate::classify::TagWorker`].
//!
//! ```no_run
//! use roomtone::jobs::{RemixJob, Stems};
//! use roomtone::mix::{RemixConfig, PRESETS};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Background 12 dB down, delivered at EBU R128, from stems `roomtone separate` wrote.
//! let config = RemixConfig {
//!     background_gain_db: -12.0,
//!     target_lufs: Some(PRESETS[0].target_lufs),
//!     ..RemixConfig::default()
//! };
//! let done = RemixJob {
//!     input: "take1.wav".as_ref(),
//!     output: "take1.remix.wav".as_ref(),
//!     format: roomtone::audio::OutputFormat::Wav24,
//!     stems: Stems::Folder("stems".as_ref()),
//!     config: &config,
//!     force: false,
//! }
//! .run()?;
//! println!("{:?} LUFS", done.report.after.integrated_lufs);
//! # Ok(())
//! # }
//! ```

pub mod pool;

use std::path::{Path, PathBuf};

use crate::audio::{self, AudioBlock, AudioError, AudioOutput, OutputFormat};
use crate::classify::{TagConfig, TagError, TagResult, TagWorker, Tagger};
use crate::guard::InternalError;
use crate::mix::{self, MixError, RemixConfig, RemixReport};
use crate::separate::{self, SeparateConfig, SeparateError, Separator};

pub use pool::PoolError;

/// What went wrong with one file's job. Every message about a file names it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// Reading the input or writing an output failed.
    #[error(transparent)]
    Audio(#[from] AudioError),
    /// Tagging failed.
    #[error(transparent)]
    Tag(#[from] TagError),
    /// Separating failed.
    #[error(transparent)]
    Separate(#[from] SeparateError),
    /// Remixing failed (the stems do not fit the input, a loudness measurement was refused).
    #[error("{}: remix failed: {source}", path.display())]
    Remix {
        /// The input.
        path: PathBuf,
        /// What the remix said.
        #[source]
        source: MixError,
    },
    /// A folder for the outputs could not be made.
    #[error("{}: cannot create the folder: {source}", path.display())]
    Folder {
        /// The folder.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A bug was hit while processing this file (a caught panic).
    #[error(transparent)]
    Internal(#[from] InternalError),
    /// The worker threads could not be started.
    #[error(transparent)]
    Pool(#[from] PoolError),
    /// A stage of a batch failed for this input (the source says where and why).
    #[error("{}: {stage} failed: {source}", input.display())]
    Stage {
        /// The input being processed.
        input: PathBuf,
        /// `separation` or `remix`.
        stage: &'static str,
        /// What went wrong.
        #[source]
        source: Box<JobError>,
    },
}

impl JobError {
    /// This error as the failure of `stage` for `input`.
    pub fn in_stage(self, input: &Path, stage: &'static str) -> Self {
        Self::Stage {
            input: input.to_path_buf(),
            stage,
            source: Box::new(self),
        }
    }
}

/// Where a remix gets its dialogue and background stems.
pub enum Stems<'a, 'm> {
    /// Read from a folder that `roomtone separate` or `roomtone batch --separate` wrote (named as
    /// [`mix::find_stems`] says) and conformed to the input.
    Folder(&'a Path),
    /// Separated from the input in memory (decoded once) by `separator`.
    Separate {
        /// This worker's model sessions.
        separator: &'a mut Separator<'m>,
        /// Which model (or the ensemble) runs, and how (its `format` and `force` do not apply).
        config: &'a SeparateConfig,
        /// Also write the stems to these `(speech, background)` paths, as 24-bit WAV, both or
        /// neither, replacing what is there (`batch --remix` keeps its stems).
        keep: Option<(&'a Path, &'a Path)>,
    },
}

/// Remix one file: decode it, get its stems, clean them, set their levels and loudness, and write
/// the result (WAV or FLAC) with the input's rate, channels and length.
pub struct RemixJob<'a, 'm> {
    /// The original mix.
    pub input: &'a Path,
    /// The file to write (atomically; never the input), named for its format (`.wav`, `.flac`).
    pub output: &'a Path,
    /// How `output` is written.
    pub format: OutputFormat,
    /// Where the stems come from.
    pub stems: Stems<'a, 'm>,
    /// Levels, cleanup, ducking, loudness and limiter.
    pub config: &'a RemixConfig,
    /// Replace `output` if it exists.
    pub force: bool,
}

/// What a [`RemixJob`] did.
#[derive(Debug, Clone)]
pub struct Remixed {
    /// Loudness before and after, gains, limiter and cleanup.
    pub report: RemixReport,
    /// What was repaired while reading the input (damaged samples replaced by silence).
    pub warnings: Vec<String>,
}

impl RemixJob<'_, '_> {
    /// Runs the job. Nothing is decoded if the output may not be written (or its name says another
    /// format); nothing is written unless the whole remix succeeded.
    pub fn run(self) -> Result<Remixed, JobError> {
        let input = self.input;
        audio::check_output_format(self.output, self.format)?;
        audio::check_output_path(self.output, &[input.to_path_buf()], self.force)?;
        let (mixture, damaged) = audio::read_all_checked(input)?;
        let warnings = damaged
            .map(|d| d.describe(mixture.sample_rate))
            .into_iter()
            .collect();
        let remix_error = |source| JobError::Remix {
            path: input.to_path_buf(),
            source,
        };
        let (speech, background) = match self.stems {
            Stems::Folder(dir) => {
                let (s, b, _) = mix::load_stems(dir, input, &mixture).map_err(remix_error)?;
                (s, b)
            }
            Stems::Separate {
                separator,
                config,
                keep,
            } => {
                let (s, b) = separate::separate_block(separator, input, &mixture, config)?;
                if let Some(paths) = keep {
                    separate::write_stems(paths, &s, &b, OutputFormat::Wav24, true)?;
                }
                (s, b)
            }
        };
        let (out, report) =
            mix::remix(&mixture, speech, background, self.config).map_err(remix_error)?;
        write_audio(self.output, &out, self.format, self.force)?;
        Ok(Remixed { report, warnings })
    }
}

/// Tags `paths` with `jobs` workers (each its own ONNX session) and hands every result to
/// `on_result` in input order, as soon as it and all before it are done; a panic while tagging a
/// file is that file's error. Returns how many failed.
pub fn tag_files(
    tagger: &Tagger,
    config: &TagConfig,
    paths: &[PathBuf],
    jobs: usize,
    mut on_result: impl FnMut(usize, Result<TagResult, TagError>),
) -> Result<usize, JobError> {
    // The workers first, so that a model problem is reported once, not per file.
    let workers: Vec<TagWorker<'_>> = (0..jobs.clamp(1, paths.len().max(1)))
        .map(|_| tagger.worker(config))
        .collect::<Result<_, _>>()?;
    let mut failed = 0;
    pool::run_in_order(
        workers,
        paths.len(),
        |worker, i| crate::guard::per_file(&paths[i], || worker.tag(&paths[i])),
        |i, result| {
            failed += usize::from(result.is_err());
            on_result(i, result);
        },
    )?;
    Ok(failed)
}

/// Makes `dir` and its parents, naming it in the error.
pub(crate) fn create_folder(dir: &Path) -> Result<(), JobError> {
    std::fs::create_dir_all(dir).map_err(|source| JobError::Folder {
        path: dir.to_path_buf(),
        source,
    })
}

/// Writes `block` to `path` in `format`, atomically.
fn write_audio(
    path: &Path,
    block: &AudioBlock,
    format: OutputFormat,
    force: bool,
) -> Result<(), AudioError> {
    let mut w = AudioOutput::create(
        path,
        block.sample_rate,
        block.channel_count(),
        format,
        force,
    )?;
    w.write_block(block)?;
    w.finish().map(|_| ())
}
