//! Many files: walk a library, tag every clip in parallel (one ONNX session per worker), stream
//! finished records to a journal, and write `labels.jsonl`, `labels.csv`, `spectrograms.jsonl` and
//! `report.html` atomically in path order. Resumable, shardable across machines, and mergeable.

mod output;
mod progress;
mod shard;
mod stages;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Instant, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::classify::{TagConfig, TagError, TagWorker, Tagger};
use crate::report::html::{base64, spectrogram_png};
use crate::report::TagRecord;

use output::{folder_entries, read_stamps, write_outputs, Entries, OutdirLock, Overlay};
pub use output::{merge, Entry, Written, LABELS_CSV_HEADER, LOCK};
pub(crate) use output::{JOURNAL, LABELS_CSV, LABELS_JSONL, REPORT_HTML, SPECTROGRAMS_JSONL};
pub use progress::{Counts, Observer};
pub use shard::{Shard, ShardParseError};
use stages::{check_output_names, StageWorker};
pub use stages::{plan_stages, MarkerOptions, RemixVideo, StageOptions, StagePlan};

/// What went wrong with a batch as a whole (a file that cannot be read is a record, not this).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BatchError {
    /// Reading or writing a file or folder failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A line of an output file is not a batch record.
    #[error("{}:{line}: not a batch record: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What the parser said.
        message: String,
    },
    /// The output folder already holds results and `--resume` was not given.
    #[error("{}: holds results of an earlier run; add --resume to continue it, or choose another --out", path.display())]
    Exists {
        /// The output folder.
        path: PathBuf,
    },
    /// A path given does not exist.
    #[error("{}: no such file or folder", path.display())]
    Missing {
        /// The path as given.
        path: PathBuf,
    },
    /// The same file is in two of the folders being merged.
    #[error("{path} is in both {} and {}", first.display(), second.display())]
    Duplicate {
        /// The file's path as recorded.
        path: String,
        /// The first output folder holding it.
        first: PathBuf,
        /// The second.
        second: PathBuf,
    },
    /// No media file was found under the paths given (before any `--shard` selection).
    #[error("no audio or video files found{}", if warnings.is_empty() { String::new() } else { format!(" ({})", warnings.join("; ")) })]
    NoFiles {
        /// The folders that could not be read, as [`discover`] words them.
        warnings: Vec<String>,
    },
    /// A folder given to `merge` holds no batch results.
    #[error("{}: holds neither {LABELS_JSONL} nor {JOURNAL}: not the output folder of a `roomtone batch` run", path.display())]
    NoResults {
        /// The folder.
        path: PathBuf,
    },
    /// Another run holds the output folder's lock.
    #[error("{}: another roomtone run{} is writing to this folder; wait for it to finish or choose another output folder", path.display(), pid.as_ref().map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Locked {
        /// The output folder.
        path: PathBuf,
        /// The process id the holder wrote into the lock file, if readable.
        pid: Option<String>,
    },
    /// Two inputs would write the same stem or remix files.
    #[error("{} and {} would both write OUTDIR/{}: their paths below the PATHs given are the same (a file given directly counts as its bare name); give their common parent folder as the PATH, or run them into different --out folders", first.display(), second.display(), output.display())]
    NameClash {
        /// The first input.
        first: PathBuf,
        /// The second input.
        second: PathBuf,
        /// The output both would write, relative to the output folder.
        output: PathBuf,
    },
    /// The separation model for `--separate` or `--remix` could not be loaded.
    #[error(transparent)]
    Separation(#[from] crate::separate::SeparateError),
    /// The model could not be loaded or a worker could not be made.
    #[error(transparent)]
    Tag(#[from] TagError),
    /// The worker threads could not be started.
    #[error(transparent)]
    Pool(#[from] crate::jobs::PoolError),
}

/// One line of `labels.jsonl`: the `roomtone tag` record plus what `--resume` compares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchRecord {
    /// The tag result or the error, exactly as `roomtone tag --format jsonl` writes it.
    #[serde(flatten)]
    pub record: TagRecord,
    /// File size in bytes when it was processed.
    pub size_bytes: u64,
    /// Modification time when it was processed, in nanoseconds since 1970-01-01 UTC.
    pub mtime_ns: i64,
}

impl BatchRecord {
    /// The file's path as recorded (the sort key).
    pub(crate) fn path(&self) -> &str {
        match &self.record {
            TagRecord::Tagged(t) => &t.path,
            TagRecord::Failed { path, .. } => path,
        }
    }

    /// Whether the file was tagged (not an error record).
    pub(crate) fn is_ok(&self) -> bool {
        matches!(self.record, TagRecord::Tagged(_))
    }
}

/// A file found for a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// Path to open.
    pub path: PathBuf,
    /// The path as recorded in the output (its display form) and sorted by.
    pub key: String,
    /// Path relative to the root it was found under, `/`-separated: what `--shard` hashes.
    pub relative: String,
}

/// Finds the media files under `roots` (files are taken as given; folders are walked by one
/// [`crate::audio::Walker`], which never enters `out_dir`, its stems and remixes, or any other
/// roomtone output folder), keeps the share of `shard`, and sorts by path. Returns the files and
/// one warning per folder that could not be read.
///
/// Finding no file at all is an error ([`BatchError::NoFiles`]); a shard whose share is empty is
/// not (it gets empty outputs, so `merge` has every shard's folder).
pub fn discover(
    roots: &[PathBuf],
    shard: Option<Shard>,
    out_dir: &Path,
) -> Result<(Vec<Input>, Vec<String>), BatchError> {
    let mut inputs = Vec::new();
    let mut warnings = Vec::new();
    let mut walker = crate::audio::Walker::new();
    walker.exclude(out_dir);
    for root in roots {
        if root.is_dir() {
            // Below the output folder (when it is itself a root): its stems and remixes.
            walker.exclude(&out_dir.join(stages::STEMS_DIR));
            walker.exclude(&out_dir.join(stages::REMIX_DIR));
            walker.exclude(&out_dir.join(stages::MARKERS_DIR));
            for f in walker.walk(root) {
                let relative = f
                    .strip_prefix(root)
                    .unwrap_or(&f)
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                inputs.push(Input {
                    key: f.display().to_string(),
                    path: f,
                    relative,
                });
            }
        } else if root.exists() {
            let relative = root.file_name().map_or_else(
                || root.display().to_string(),
                |n| n.to_string_lossy().into(),
            );
            inputs.push(Input {
                key: root.display().to_string(),
                path: root.clone(),
                relative,
            });
        } else {
            return Err(BatchError::Missing { path: root.clone() });
        }
    }
    for (p, e) in walker.into_unreadable() {
        warnings.push(format!("{}: cannot read folder: {e}", p.display()));
    }
    if inputs.is_empty() {
        return Err(BatchError::NoFiles { warnings });
    }
    if let Some(s) = shard {
        inputs.retain(|i| s.contains(&i.relative));
    }
    inputs.sort_by(|a, b| a.key.cmp(&b.key));
    inputs.dedup_by(|a, b| a.key == b.key);
    Ok((inputs, warnings))
}

/// How a batch runs.
#[derive(Debug, Clone)]
pub struct BatchConfig {
    /// Output folder (created if missing).
    pub out_dir: PathBuf,
    /// Parallel workers, each with its own ONNX session.
    pub jobs: usize,
    /// Keep the records of files already tagged with the same size and modification time.
    pub resume: bool,
    /// Tagging options.
    pub tag: TagConfig,
    /// Stages after tagging (see [`plan_stages`]).
    pub stages: StageOptions,
}

/// What a batch did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Files tagged this run.
    pub ok: usize,
    /// Files that failed this run (error records).
    pub failed: usize,
    /// Files skipped by `--resume` (already recorded with the same size and time).
    pub skipped: usize,
    /// Files not started because the run was interrupted.
    pub not_started: usize,
    /// Whether the run was interrupted (Ctrl-C).
    pub interrupted: bool,
    /// Seconds of audio tagged this run.
    pub audio_s: f64,
    /// Wall-clock seconds of this run.
    pub wall_s: f64,
}

impl Summary {
    /// Seconds of audio per second of wall time.
    pub fn realtime_factor(&self) -> f64 {
        self.audio_s / self.wall_s.max(1e-9)
    }
}

fn file_stamp(path: &Path) -> (u64, i64) {
    let Ok(m) = std::fs::metadata(path) else {
        return (0, 0);
    };
    let mtime = m
        .modified()
        .ok()
        .map_or(0, |t| match t.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX),
        });
    (m.len(), mtime)
}

/// One worker's state: its tagging session and its stage sessions.
struct Worker<'t> {
    tag: TagWorker<'t>,
    stages: StageWorker<'t>,
}

/// Tags one file and runs the stages on it; a panic becomes the file's error record.
fn process(
    worker: &mut Worker<'_>,
    out_dir: &Path,
    input: &Input,
    stamp: (u64, i64),
    markers: Option<MarkerOptions>,
) -> Entry {
    let mut columns: Vec<Vec<f32>> = Vec::new();
    let result = crate::guard::per_file(&input.path, || {
        let tagged = worker
            .tag
            .tag_with(&input.path, |p| columns.push(p.mel_band_mean.clone()))?;
        // A file whose separation, remix or markers fail is an error record, so --resume runs
        // it again.
        worker.stages.run(input, out_dir)?;
        if let Some(options) = markers {
            stages::write_markers(out_dir, input, &tagged, options)?;
        }
        Ok::<_, crate::jobs::JobError>(tagged)
    });
    let (record, spectrogram) = match result {
        Ok(t) => (
            TagRecord::Tagged(t),
            spectrogram_png(&columns).map(|png| base64(&png)),
        ),
        Err(e) => (
            TagRecord::Failed {
                path: input.key.clone(),
                error: e.to_string(),
            },
            None,
        ),
    };
    Entry {
        record: BatchRecord {
            record,
            size_bytes: stamp.0,
            mtime_ns: stamp.1,
        },
        spectrogram,
    }
}

/// Takes OUTDIR for this run: creates it, holds its lock, refuses earlier results without
/// `--resume`, and marks it as roomtone's output.
fn open_outdir(config: &BatchConfig) -> Result<OutdirLock, BatchError> {
    let out = &config.out_dir;
    std::fs::create_dir_all(out).map_err(io_error(out))?;
    // First the lock, so a second run on a busy folder is told so (not to add --resume).
    let lock = OutdirLock::acquire(out)?;
    if !config.resume && (out.join(LABELS_JSONL).exists() || out.join(JOURNAL).exists()) {
        return Err(BatchError::Exists { path: out.clone() });
    }
    // Marks OUTDIR as ours, so that no later walk of a tree holding it takes outputs for inputs.
    let marker = out.join(crate::audio::OUTPUT_MARKER);
    if !marker.exists() {
        std::fs::write(
            &marker,
            "roomtone batch output folder: skipped when folders are walked\n",
        )
        .map_err(io_error(&marker))?;
    }
    Ok(lock)
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> BatchError {
    let path = path.to_path_buf();
    move |source| BatchError::Io { path, source }
}

/// Which inputs this run does, and what it keeps from an earlier one.
struct Plan {
    /// Size and modification time of every input.
    stamps: Vec<(u64, i64)>,
    /// Inputs whose earlier records are kept as they are (same size and time, tagged before).
    kept: usize,
    /// Indices of the inputs to process, largest first.
    todo: Vec<usize>,
    /// Kept inputs whose marker file (`--markers`) is missing: written from their records.
    markers_missing: HashMap<String, usize>,
    /// Whether the outputs must be written again although nothing is to be done: earlier records
    /// of files no longer among the inputs, a journal of an interrupted run, or an output missing.
    rewrite: bool,
}

/// Plans a run by reading the earlier records' stamps (not the records) and walking them beside
/// the inputs, both sorted by path.
fn plan(
    inputs: &[Input],
    config: &BatchConfig,
    markers: Option<MarkerOptions>,
) -> Result<Plan, BatchError> {
    let out = &config.out_dir;
    let (previous, journal) = if config.resume {
        read_stamps(out)?
    } else {
        (Vec::new(), false)
    };
    let stamps: Vec<(u64, i64)> = inputs.iter().map(|i| file_stamp(&i.path)).collect();
    let mut kept = 0;
    let mut todo = Vec::new();
    let mut markers_missing = HashMap::new();
    let mut matched = 0;
    let mut earlier = previous.iter().peekable();
    for (i, input) in inputs.iter().enumerate() {
        while earlier.next_if(|p| p.path < input.key).is_some() {}
        let Some(p) = earlier.next_if(|p| p.path == input.key) else {
            todo.push(i);
            continue;
        };
        matched += 1;
        if p.keepable && (p.size_bytes, p.mtime_ns) == stamps[i] {
            kept += 1;
            if let Some(m) = markers {
                if !stages::batch_markers_path(out, input, m.format).exists() {
                    markers_missing.insert(input.key.clone(), i);
                }
            }
        } else {
            todo.push(i);
        }
    }
    let outputs_missing = [LABELS_JSONL, LABELS_CSV, SPECTROGRAMS_JSONL, REPORT_HTML]
        .iter()
        .any(|name| !out.join(name).exists());
    // Longest first (by size), so the last files do not leave one worker busy alone.
    todo.sort_by(|&a, &b| stamps[b].0.cmp(&stamps[a].0).then(a.cmp(&b)));
    Ok(Plan {
        stamps,
        kept,
        todo,
        markers_missing,
        rewrite: matched < previous.len() || journal || outputs_missing,
    })
}

/// The entries of `all` (in path order) whose paths are among `inputs` (sorted by key).
fn among<'a>(all: Entries<'a>, inputs: &'a [Input]) -> Entries<'a> {
    let mut keys = inputs.iter().map(|i| i.key.as_str()).peekable();
    Box::new(all.filter(move |e| {
        let Ok(e) = e else { return true };
        while keys.next_if(|k| *k < e.record.path()).is_some() {}
        keys.peek() == Some(&e.record.path())
    }))
}

/// Processes the inputs `todo` (indices into `inputs`) with a pool of workers, appending each
/// finished entry to the journal. Returns the counts and the entries the journal could not take
/// (after a write to it failed, the rest are kept in memory for the final files).
#[allow(clippy::too_many_arguments)]
fn process_all(
    tagger: &Tagger,
    stages: &StagePlan,
    inputs: &[Input],
    config: &BatchConfig,
    stamps: &[(u64, i64)],
    todo: &[usize],
    cancel: &AtomicBool,
    observer: &mut dyn Observer,
) -> Result<(Counts, Vec<Entry>), BatchError> {
    let out = &config.out_dir;
    let mut journal = output::Journal::open(&out.join(JOURNAL), config.resume)?;
    let workers = (0..config.jobs.clamp(1, todo.len().max(1)))
        .map(|_| {
            Ok(Worker {
                tag: tagger.worker(&config.tag)?,
                stages: stages.worker()?,
            })
        })
        .collect::<Result<Vec<_>, BatchError>>()?;
    let mut counts = Counts {
        total: todo.len(),
        ..Counts::default()
    };
    observer.started(todo.len());
    let mut unjournalled: Vec<Entry> = Vec::new();
    let mut journal_error = None;
    crate::jobs::pool::run(
        workers,
        todo,
        cancel,
        |worker, i| process(worker, out, &inputs[i], stamps[i], stages.markers()),
        |_, entry| {
            counts.done += 1;
            match &entry.record.record {
                TagRecord::Tagged(t) => counts.audio_s += t.duration_s,
                TagRecord::Failed { error, .. } => {
                    counts.failed += 1;
                    // The message names the file.
                    observer.problem(&format!("roomtone: {error}"));
                }
            }
            if journal_error.is_none() {
                if let Err(e) = journal.append(&entry) {
                    // Keep going: only Ctrl-C safety is lost.
                    observer.problem(&format!("roomtone: {e}"));
                    journal_error = Some(e);
                }
            }
            observer.file_done(&entry, &counts);
            if journal_error.is_some() {
                unjournalled.push(entry);
            }
        },
    )?;
    observer.finished(&counts);
    Ok((counts, unjournalled))
}

/// Writes the final files of a run: the folder's earlier records with this run's over them (from
/// the journal, and `unjournalled` over those), of the inputs only, streamed in path order; the
/// marker files `markers_missing` names are written from their records on the way. Then the
/// journal goes.
fn write_final(
    out: &Path,
    inputs: &[Input],
    mut unjournalled: Vec<Entry>,
    markers: Option<MarkerOptions>,
    markers_missing: &HashMap<String, usize>,
    observer: &mut dyn Observer,
) -> Result<(), BatchError> {
    unjournalled.sort_by(|a, b| a.record.path().cmp(b.record.path()));
    let folder: Entries<'_> = Box::new(folder_entries(out)?);
    let all = Overlay::new(folder, Box::new(unjournalled.into_iter().map(Ok)));
    write_outputs(out, among(Box::new(all), inputs), |entry| {
        let (Some(options), TagRecord::Tagged(tags)) = (markers, &entry.record.record) else {
            return;
        };
        let Some(&i) = markers_missing.get(entry.record.path()) else {
            return;
        };
        if let Err(e) = stages::write_markers(out, &inputs[i], tags, options) {
            // Reported; the labels are right and the next run tries again.
            observer.problem(&format!("roomtone: {e}"));
        }
    })?;
    let journal = out.join(JOURNAL);
    match std::fs::remove_file(&journal) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error(&journal)(e)),
    }
}

/// Runs a batch over `inputs` (from [`discover`]) into `config.out_dir`, with the stages of
/// `stages` (from [`plan_stages`] on `config.stages`), telling `observer` how it goes. Each finished record is appended to the journal
/// (`labels.partial.jsonl`) at once; at the end, or when `cancel` is set (Ctrl-C), the records so
/// far are written in path order to the output files (each atomically) and the journal is
/// removed. A run killed outright leaves the journal, which `--resume` reads (a torn last line is
/// cut off and that file done again).
///
/// The run holds `OUTDIR/.roomtone.lock` ([`LOCK`]): a second run on the same folder fails at
/// once. No inputs (an empty `--shard` share) is a success with empty outputs.
pub fn run(
    tagger: &Tagger,
    stages: &StagePlan,
    inputs: &[Input],
    config: &BatchConfig,
    cancel: &AtomicBool,
    observer: &mut dyn Observer,
) -> Result<Summary, BatchError> {
    let start = Instant::now();
    let out = &config.out_dir;
    if !stages.is_empty() {
        check_output_names(inputs)?;
    }
    let _lock = open_outdir(config)?;
    let Plan {
        stamps,
        kept,
        todo,
        markers_missing,
        rewrite,
    } = plan(inputs, config, stages.markers())?;
    if todo.is_empty() && markers_missing.is_empty() && !rewrite {
        // Nothing to do: the outputs are as they should be and stay untouched.
        observer.started(0);
        observer.finished(&Counts::default());
        return Ok(Summary {
            skipped: kept,
            wall_s: start.elapsed().as_secs_f64(),
            ..Summary::default()
        });
    }
    let (counts, unjournalled) = process_all(
        tagger, stages, inputs, config, &stamps, &todo, cancel, observer,
    )?;
    let interrupted = cancel.load(Ordering::Relaxed) && counts.done < todo.len();
    write_final(
        out,
        inputs,
        unjournalled,
        stages.markers(),
        &markers_missing,
        observer,
    )?;
    Ok(Summary {
        ok: counts.done - counts.failed,
        failed: counts.failed,
        skipped: kept,
        not_started: todo.len() - counts.done,
        interrupted,
        audio_s: counts.audio_s,
        wall_s: start.elapsed().as_secs_f64(),
    })
}
