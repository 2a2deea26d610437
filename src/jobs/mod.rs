//! One file's work, the same whoever asks for it: `roomtone remix` and `roomtone batch --remix`
//! run the same [`RemixJob`], and `roomtone tag` and `roomtone batch` run their files on the same
//! worker pool (`pool`, crate-internal).
//!
//! Separating alone is `separate_file_to` (streamed, bounded memory; behind
//! [`crate::separate::separate_file`]) for both `roomtone separate` and `batch --separate`; tagging
//! one file is [`crate::classify::TagWorker`].
//!
//! ```no_run
//! use roomtone::jobs::{Delivery, RemixJob, Stems};
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
//!     audio_track: 0,
//!     output: "take1.remix.wav".as_ref(),
//!     delivery: Delivery::Audio(roomtone::audio::OutputFormat::Wav24),
//!     stems: Stems::Folder("stems".as_ref()),
//!     config: &config,
//!     force: false,
//! }
//! .run()?;
//! println!("{:?} LUFS", done.report.after.integrated_lufs);
//! # Ok(())
//! # }
//! ```

pub(crate) mod pool;

use std::path::{Path, PathBuf};

use crate::audio::{self, AudioBlock, AudioError, AudioOutput, AudioReader, OutputFormat};
use crate::classify::{TagConfig, TagError, TagResult, TagWorker, Tagger};
use crate::guard::InternalError;
use crate::mix::{self, MixError, RemixConfig, RemixReport};
use crate::separate::{self, SeparateConfig, SeparateError, Separator};
use crate::video::{VideoContainer, VideoError, VideoOut};

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
    /// Putting the remix back into the video container failed.
    #[error(transparent)]
    Video(#[from] VideoError),
    /// The worker threads could not be started.
    #[error(transparent)]
    Pool(#[from] PoolError),
    /// A clip's timeline markers could not be written.
    #[error("{}: cannot write the markers: {source}", path.display())]
    Markers {
        /// The marker file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
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
    pub(crate) fn in_stage(self, input: &Path, stage: &'static str) -> Self {
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
        /// Which model (or the ensemble) runs, and how (its `format` is the kept stems' format;
        /// its `force` does not apply).
        config: &'a SeparateConfig,
        /// Also write the stems to these `(speech, background)` paths, in `config.format`, both
        /// or neither, replacing what is there (`batch --remix` keeps its stems).
        keep: Option<(&'a Path, &'a Path)>,
    },
}

/// How a remix is delivered.
#[derive(Debug, Clone)]
pub enum Delivery {
    /// An audio file (`.wav`, `.flac`) in this format.
    Audio(OutputFormat),
    /// The input's picture and other streams with the remix in place of the audio track processed
    /// (ffmpeg muxes; see [`crate::video`]).
    Video(VideoOut),
}

/// Remix one file: decode it, get its stems, clean them, set their levels and loudness, and write
/// the result (WAV, FLAC, or under the input's picture) with the input's rate, channels and length.
pub struct RemixJob<'a, 'm> {
    /// The original mix.
    pub input: &'a Path,
    /// Which of its audio tracks is remixed (0 = the first).
    pub audio_track: usize,
    /// The file to write (atomically; never the input), named for its format (`.wav`, `.flac`,
    /// `.mov`, …).
    pub output: &'a Path,
    /// How `output` is written.
    pub delivery: Delivery,
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
        check_delivery(self.output, &self.delivery)?;
        audio::check_output_path(self.output, &[input.to_path_buf()], self.force)?;
        let reader = AudioReader::open_track(input, audio::DEFAULT_BLOCK_FRAMES, self.audio_track)?;
        let mask = reader.info().channel_mask;
        if let Delivery::Video(video) = &self.delivery {
            // A layout the codec cannot carry is refused before the decode and the separation.
            video
                .codec
                .encoder_layout(self.output, reader.info().channels, mask)?;
        }
        let (mixture, damaged) = audio::read_reader(reader)?;
        let mut warnings: Vec<String> = damaged
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
                    separate::write_stems(paths, &s, &b, (config.format, mask), true)?;
                }
                (s, b)
            }
        };
        let (out, report) =
            mix::remix(&mixture, speech, background, self.config).map_err(remix_error)?;
        match &self.delivery {
            Delivery::Audio(format) => write_audio(self.output, &out, (*format, mask), self.force)?,
            Delivery::Video(video) => warnings.extend(put_under_picture(
                video,
                input,
                self.audio_track,
                out,
                mask,
                self.output,
                self.force,
            )?),
        }
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

/// Refuses an output whose name says another format than `delivery` writes.
fn check_delivery(output: &Path, delivery: &Delivery) -> Result<(), AudioError> {
    match delivery {
        Delivery::Audio(format) => audio::check_output_format(output, *format),
        Delivery::Video(v) if VideoContainer::for_path(output) == Some(v.container) => Ok(()),
        Delivery::Video(v) => Err(AudioError::MislabelledOutput {
            path: output.to_path_buf(),
            format: format!("{:?} video", v.container),
            extension: output
                .extension()
                .map(|e| e.to_string_lossy().into_owned())
                .unwrap_or_default(),
            expected: v.container.extension(),
        }),
    }
}

/// Writes `remix` (at the codec's rate) as raw 24-bit PCM in a temporary folder (the samples a
/// 24-bit WAV holds), has ffmpeg put it under `input`'s picture into a temporary file beside
/// `output`, and renames that onto `output`. Returns notes on streams that were left out.
fn put_under_picture(
    video: &VideoOut,
    input: &Path,
    audio_track: usize,
    remix: AudioBlock,
    mask: Option<u32>,
    output: &Path,
    force: bool,
) -> Result<Vec<String>, JobError> {
    let rate = video.codec.rate_for(remix.sample_rate);
    let remix = if rate == remix.sample_rate {
        remix
    } else {
        let mut resampler =
            audio::StreamResampler::new(remix.sample_rate, rate, remix.channel_count())?;
        let (mut head, mut tail) = (AudioBlock::default(), AudioBlock::default());
        resampler.process(&remix.channels, &mut head)?;
        resampler.finish(&mut tail)?;
        for (h, t) in head.channels.iter_mut().zip(tail.channels) {
            h.extend(t);
        }
        head
    };
    let write_err = |e: std::io::Error| AudioError::Write {
        path: output.to_path_buf(),
        reason: format!("cannot make a temporary file: {e}"),
    };
    let scratch = tempfile::tempdir().map_err(write_err)?;
    let raw = scratch.path().join("remix.s24le");
    audio::write_raw_s24le(&raw, &remix)?;
    let temp = audio::temp_file_beside(output).map_err(write_err)?;
    let format = (remix.sample_rate, remix.channel_count(), mask);
    let notes = video.mux(input, audio_track, &raw, format, temp.path(), output)?;
    audio::CompletedOutput::new(output, force, temp).persist()?;
    Ok(notes)
}

/// Writes `block` to `path` in `format` with the channel layout `mask`, atomically.
fn write_audio(
    path: &Path,
    block: &AudioBlock,
    (format, mask): (OutputFormat, Option<u32>),
    force: bool,
) -> Result<(), AudioError> {
    let mut w = AudioOutput::create_with_layout(
        path,
        block.sample_rate,
        block.channel_count(),
        mask,
        format,
        force,
    )?;
    w.write_block(block)?;
    w.finish().map(|_| ())
}
