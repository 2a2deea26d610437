//! The `roomtone` command line: parses arguments, calls the library, prints.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use roomtone::classify::{self, AmbienceModel, TagConfig, Tagger};
use roomtone::{audio, batch, mix, models, report, separate};

/// Tag, separate, clean and remix the background audio of video and film.
///
/// roomtone reads WAV, AIFF, FLAC, MP3, AAC/M4A, Ogg Vorbis and the audio track of MP4, MOV and MKV
/// files at any sample rate and channel count. Run scripts/setup.sh once to fetch ONNX Runtime and
/// the models.
#[derive(Parser, Debug)]
#[command(name = "roomtone", version, about, long_about, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Show container, codec, sample rate, channels, duration and sample peak of media files.
    ///
    /// Every file is decoded from start to end, so the duration is exact and a damaged or truncated
    /// file is reported. Exit status is 1 if any file could not be read.
    ///
    /// Example: roomtone info --json take1.wav interview.mp4
    Info {
        /// Print one JSON object per file (one per line) instead of a human-readable line.
        #[arg(long)]
        json: bool,
        /// Audio or video files.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Tag the ambience of clips: rain, traffic, crowd, hvac, wind, water, nature, music, speech,
    /// silence or other, with scores, a timeline and YAMNet's own top AudioSet classes.
    ///
    /// Folders are searched recursively for audio and video files. Output is one record per input
    /// file, in input order; a file that cannot be read gets an error record and a line on stderr,
    /// and the others are still tagged (exit status 1 if any failed).
    ///
    /// Examples:
    ///   roomtone tag take1.wav
    ///   roomtone tag --format csv --output labels.csv /footage/day1
    ///   roomtone tag --format jsonl --hop 0.96 interview.mov
    Tag {
        /// Output format: json (one array), jsonl (one object per line) or csv (one row per file).
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
        /// Write to FILE (atomically) instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Replace FILE given to --output if it exists.
        #[arg(long)]
        force: bool,
        /// Seconds between the starts of the 0.96 s analysis patches (smaller = finer timeline, slower).
        #[arg(long, default_value_t = 0.48, value_name = "SECONDS", value_parser = hop_seconds)]
        hop: f64,
        /// Timeline segments shorter than this are merged into a neighbour.
        #[arg(long, default_value_t = 2.0, value_name = "SECONDS", value_parser = seconds_non_negative)]
        min_segment: f64,
        /// Files tagged in parallel (each worker loads its own copy of the model) [default: CPU count].
        #[arg(long, short, value_name = "N", value_parser = at_least_one)]
        jobs: Option<usize>,
        /// ONNX Runtime threads per worker.
        #[arg(long, default_value_t = 1, value_name = "N", value_parser = at_least_one)]
        threads: usize,
        /// What chooses the ambience: the trained classifier head, or the plain AudioSet class
        /// mapping of models/tagging/taxonomy.toml (for comparison).
        #[arg(long, value_enum, default_value_t = AmbienceArg::Head)]
        ambience_model: AmbienceArg,
        /// Audio or video files, or folders.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Split dialogue from background: writes DIR/<name>.speech.wav and DIR/<name>.background.wav
    /// (DeepFilterNet3; input's sample rate, channels and length; speech + background = input).
    ///
    /// <name> is the input's file name without its extension; inputs that share it (a/take.wav,
    /// b/take.mov) are refused before anything runs. Both stems are written or neither. Existing
    /// stems are kept unless --force (a lone stem left by a failed run is replaced); a file that
    /// cannot be read gets one line on stderr and the others are still processed (exit status 1 if
    /// any failed).
    ///
    /// Example: roomtone separate take1.wav interview.mov --out-dir stems
    Separate {
        /// Folder for the stems (created if missing).
        #[arg(long, value_name = "DIR")]
        out_dir: PathBuf,
        /// Stem sample format: wav16, wav24 or f32 (32-bit float WAV).
        #[arg(long, default_value = "f32", value_name = "FORMAT")]
        format: audio::OutputFormat,
        /// Replace existing stems.
        #[arg(long)]
        force: bool,
        /// Print one JSON object per file (one per line).
        #[arg(long)]
        json: bool,
        /// Cap on the noise removed, dB (e.g. 12 keeps the background at least 12 dB down in the
        /// speech stem instead of removing it).
        #[arg(long, value_name = "DB", value_parser = non_negative_db)]
        atten_lim_db: Option<f32>,
        /// 0..1: blend of the speech stem between the input (0) and the model output (1).
        #[arg(long, default_value_t = 1.0, value_name = "X", value_parser = unit_interval)]
        strength: f32,
        /// Seconds of audio per model run (memory grows with it; tuning only).
        #[arg(long, default_value_t = 5.0, value_name = "S", hide = true, value_parser = seconds_positive)]
        chunk_seconds: f64,
        /// Seconds of warm-up before each chunk after the first (tuning only).
        #[arg(long, default_value_t = 1.0, value_name = "S", hide = true, value_parser = seconds_non_negative)]
        warmup_seconds: f64,
        #[command(flatten)]
        model: ModelArgs,
        /// Audio or video files.
        #[arg(required = true, value_name = "INPUT")]
        inputs: Vec<PathBuf>,
    },
    /// Remix dialogue and background: clean the stems, set their levels, duck the background under
    /// speech, and deliver at a loudness target under a true-peak ceiling.
    ///
    /// Without --stems the input is separated first. Cleanup order: high-pass, hum, denoise,
    /// de-ess, level (dialogue); hum only on the background. Output keeps the input's sample
    /// rate, channels and exact length (24-bit WAV).
    ///
    /// Examples:
    ///   roomtone remix take1.wav -o take1.remix.wav --background-gain-db -12 --preset ebu-r128
    ///   roomtone remix take1.wav -o out.wav --stems stems/ --duck-db 6 --clean hum,highpass --json
    Remix(RemixArgs),
    /// Tag a whole library: folders walked recursively, files in parallel, resumable, shardable.
    ///
    /// Writes OUTDIR/labels.jsonl (the `tag` record plus size_bytes and mtime_ns), labels.csv,
    /// spectrograms.jsonl and report.html, sorted by path whatever --jobs is. Finished records are
    /// appended to OUTDIR/labels.partial.jsonl as they come, so Ctrl-C (or a kill) loses nothing that
    /// was done: Ctrl-C stops after the files in progress and writes the outputs; --resume continues.
    /// Hidden files and folders are skipped. Exit status 1 if any file failed, 130 if interrupted.
    /// One run at a time per OUTDIR (it holds OUTDIR/.roomtone.lock); a --shard share that gets no
    /// files writes empty outputs and succeeds.
    ///
    /// Examples:
    ///   roomtone batch /footage --out labels/
    ///   roomtone batch /footage --out labels/ --resume
    ///   roomtone batch /footage --out shard-3/ --shard 3/8     (machine 3 of 8; then `roomtone merge`)
    Batch {
        /// Output folder.
        #[arg(long, value_name = "OUTDIR")]
        out: PathBuf,
        /// Files tagged in parallel, each worker with its own model session [default: CPU count].
        #[arg(long, short, value_name = "N", value_parser = at_least_one)]
        jobs: Option<usize>,
        /// Skip files already recorded in OUTDIR with the same size and modification time.
        #[arg(long)]
        resume: bool,
        /// Take share K of N (0-based) by a hash of each file's path relative to its PATH.
        #[arg(long, value_name = "K/N")]
        shard: Option<roomtone::batch::Shard>,
        /// No progress display (failed files are still reported).
        #[arg(long, short)]
        quiet: bool,
        /// Seconds between the starts of the 0.96 s analysis patches.
        #[arg(long, default_value_t = 0.48, value_name = "SECONDS", value_parser = hop_seconds)]
        hop: f64,
        /// ONNX Runtime threads per worker.
        #[arg(long, default_value_t = 1, value_name = "N", value_parser = at_least_one)]
        threads: usize,
        /// Also separate dialogue and background (DeepFilterNet3) into OUTDIR/stems/, mirroring the
        /// input tree with the extension kept: PATH/day1/take.wav gives
        /// OUTDIR/stems/day1/take.wav.speech.wav and .background.wav (24-bit WAV, the input's rate,
        /// channels and length).
        #[arg(long)]
        separate: bool,
        /// Also remix the stems into OUTDIR/remix/day1/take.wav.remix.wav with the `remix` options,
        /// quoted as one argument, e.g. --remix "--background-gain-db -12 --preset ebu-r128" (implies
        /// --separate).
        #[arg(long, value_name = "OPTIONS", allow_hyphen_values = true)]
        remix: Option<String>,
        /// Separation model for --separate and --remix: dfn3, convtasnet or ensemble.
        #[arg(long, default_value = "dfn3", value_name = "MODEL")]
        model: separate::ModelChoice,
        /// Folders (walked recursively) or files.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Combine the output folders of `roomtone batch --shard` runs into one labels.jsonl/csv/report.
    ///
    /// Example: roomtone merge shard-*/ --out labels/
    Merge {
        /// Output folder for the combined files.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Output folders of the shards.
        #[arg(required = true, value_name = "OUTDIR")]
        dirs: Vec<PathBuf>,
    },
    /// List the models, check their files, and load each one in ONNX Runtime.
    ///
    /// Use it after scripts/setup.sh to confirm the runtime and the models work on this machine.
    Models,
}

/// Which separation model runs (shared by separate, remix and batch).
#[derive(clap::Args, Debug, Clone)]
struct ModelArgs {
    /// Separation model: dfn3 (DeepFilterNet3, fastest), convtasnet (Conv-TasNet), or ensemble
    /// (both, fused per band and per DeepFilterNet3's SNR estimate; models/separation/fusion.json).
    #[arg(long, default_value = "dfn3", value_name = "MODEL")]
    model: separate::ModelChoice,
    /// Conv-TasNet graph: int8 (derived at set-up, faster) or f32 (as shipped) (tuning only).
    #[arg(long, default_value = "int8", value_name = "P", hide = true)]
    ctn_precision: separate::Precision,
    /// Conv-TasNet: new seconds per graph run (tuning only).
    #[arg(long, default_value_t = 2.0, value_name = "S", hide = true, value_parser = seconds_positive)]
    ctn_segment_seconds: f64,
    /// Conv-TasNet: seconds of context on each side of a segment (tuning only).
    #[arg(long, default_value_t = 0.5, value_name = "S", hide = true, value_parser = seconds_non_negative)]
    ctn_context_seconds: f64,
    /// ONNX Runtime threads per Conv-TasNet run [default: the CPUs this process may use]; DeepFilterNet3
    /// runs on one (tuning only).
    #[arg(long, value_name = "N", hide = true, value_parser = at_least_one)]
    intra_threads: Option<usize>,
}

impl ModelArgs {
    fn segments(&self) -> separate::SegmentConfig {
        separate::SegmentConfig::from_seconds(
            self.ctn_segment_seconds,
            self.ctn_context_seconds,
            0.2,
        )
    }

    fn load(&self) -> Result<separate::Backends, separate::SeparateError> {
        separate::Backends::load(&models::models_dir(), self.model, self.ctn_precision)
    }

    /// (DeepFilterNet3, Conv-TasNet) session options: files are separated one after another, so
    /// Conv-TasNet uses every CPU the process may use (`taskset` narrows it); DeepFilterNet3 is
    /// fastest on one thread.
    fn session_options(&self) -> (models::SessionOptions, models::SessionOptions) {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let ctn = models::SessionOptions {
            intra_threads: self.intra_threads.unwrap_or(cpus).max(1),
        };
        (models::SessionOptions::default(), ctn)
    }
}

#[derive(clap::Args, Debug)]
struct RemixArgs {
    /// The original mix (any format roomtone reads).
    #[arg(value_name = "INPUT")]
    input: PathBuf,
    /// Output WAV file (written atomically; never the input).
    #[arg(long, short, value_name = "OUT.wav")]
    output: PathBuf,
    #[command(flatten)]
    levels: RemixLevels,
    /// Read the stems from DIR/<input name>.speech.wav and DIR/<input name>.background.wav
    /// (as `roomtone separate` writes them; DIR/take.wav.speech.wav etc., as `batch --separate`
    /// writes them, is taken first if both exist) instead of separating.
    #[arg(long, value_name = "DIR")]
    stems: Option<PathBuf>,
    /// Print a JSON report (loudness before/after, gains, limiter, cleanup) on stdout.
    #[arg(long)]
    json: bool,
    /// Separation model when separating (no --stems): dfn3, convtasnet or ensemble.
    #[arg(long, default_value = "dfn3", value_name = "MODEL")]
    model: separate::ModelChoice,
    /// Replace the output file if it exists.
    #[arg(long)]
    force: bool,
}

/// The remix settings, shared by `roomtone remix` and `roomtone batch --remix "..."`.
#[derive(clap::Args, Debug)]
struct RemixLevels {
    /// Gain on the dialogue, dB.
    #[arg(
        long,
        default_value_t = 0.0,
        value_name = "DB",
        allow_negative_numbers = true
    )]
    speech_gain_db: f64,
    /// Gain on the background, dB.
    #[arg(
        long,
        default_value_t = 0.0,
        value_name = "DB",
        allow_negative_numbers = true
    )]
    background_gain_db: f64,
    /// Turn the background down by this much more while speech is present, dB (0 = off).
    #[arg(
        long,
        default_value_t = 0.0,
        value_name = "DB",
        allow_negative_numbers = true
    )]
    duck_db: f64,
    /// Cleanup steps to run, comma-separated: highpass, hum, denoise, deess, level
    /// (default: highpass,hum,denoise,deess).
    #[arg(long, value_name = "LIST", conflicts_with = "no_clean")]
    clean: Option<String>,
    /// No cleanup at all.
    #[arg(long)]
    no_clean: bool,
    /// Normalise integrated loudness to this target, LUFS (also turns on the limiter at -1 dBTP
    /// unless --true-peak-db says otherwise).
    #[arg(long, value_name = "LUFS", allow_negative_numbers = true)]
    target_lufs: Option<f64>,
    /// True-peak ceiling of the look-ahead limiter, dBTP.
    #[arg(long, value_name = "DBTP", allow_negative_numbers = true)]
    true_peak_db: Option<f64>,
    /// Delivery preset: ebu-r128 (-23 LUFS, -1 dBTP), atsc-a85 (-24, -2), streaming (-14, -1),
    /// podcast (-16, -1). --target-lufs and --true-peak-db override its values.
    #[arg(long, value_name = "NAME", value_parser = str::parse::<mix::Preset>)]
    preset: Option<mix::Preset>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Json,
    Jsonl,
    Csv,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum AmbienceArg {
    Head,
    Mapping,
}

fn main() -> ExitCode {
    // A bug is reported in roomtone's words; the file's own error line (or record) follows, and
    // the other files go on (see roomtone::guard).
    std::panic::set_hook(Box::new(|info| {
        let message = roomtone::guard::panic_message(info.payload());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("roomtone: internal error{at}: {message}");
    }));
    let cli = Cli::parse();
    match cli.command {
        Command::Info { json, paths } => info(&paths, json),
        Command::Tag {
            format,
            output,
            force,
            hop,
            min_segment,
            jobs,
            threads,
            ambience_model,
            paths,
        } => {
            let config = TagConfig {
                hop_s: hop,
                min_segment_s: min_segment,
                intra_threads: threads,
                ambience_model: match ambience_model {
                    AmbienceArg::Head => AmbienceModel::Head,
                    AmbienceArg::Mapping => AmbienceModel::Mapping,
                },
            };
            if let Err(e) = config.validate() {
                return usage_error(&e);
            }
            let jobs =
                jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            tag(&paths, &config, format, output.as_deref(), force, jobs)
        }
        Command::Batch {
            out,
            jobs,
            resume,
            shard,
            quiet,
            hop,
            threads,
            separate,
            remix,
            model,
            paths,
        } => {
            let config = batch::BatchConfig {
                out_dir: out,
                jobs: jobs
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
                resume,
                tag: TagConfig {
                    hop_s: hop,
                    intra_threads: threads,
                    ..TagConfig::default()
                },
                progress: if quiet {
                    batch::ProgressMode::Quiet
                } else {
                    batch::ProgressMode::Auto
                },
                stages: batch::StageOptions {
                    separate,
                    remix: match remix.as_deref().map(parse_batch_remix).transpose() {
                        Ok(r) => r,
                        Err(e) => return usage_error(&format!("--remix: {e:#}")),
                    },
                    model,
                },
            };
            if let Err(e) = config.tag.validate() {
                return usage_error(&e);
            }
            run_batch(&paths, shard, &config)
        }
        Command::Merge { out, dirs } => match batch::merge(&dirs, &out) {
            Ok(entries) => {
                let failed = entries.iter().filter(|e| !e.record.is_ok()).count();
                println!(
                    "roomtone: merged {} records ({failed} errors) from {} folders into {}",
                    entries.len(),
                    dirs.len(),
                    out.display()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("roomtone: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Models => models_check(),
        Command::Separate {
            out_dir,
            format,
            force,
            json,
            atten_lim_db,
            strength,
            chunk_seconds,
            warmup_seconds,
            model,
            inputs,
        } => {
            let config = separate::SeparateConfig {
                atten_lim_db,
                strength,
                format,
                force,
                chunks: separate::ChunkConfig::from_seconds(chunk_seconds, warmup_seconds),
                model: model.model,
                ctn_segments: model.segments(),
            };
            separate_files(&inputs, &out_dir, &config, &model, json)
        }
        Command::Remix(args) => {
            let config = match remix_config(&args.levels) {
                Ok(c) => c,
                Err(e) => return usage_error(&e),
            };
            match roomtone::guard::per_file(&args.input, || remix_cmd(&args, &config)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("roomtone: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Maps the remix arguments to a [`mix::RemixConfig`].
fn remix_config(args: &RemixLevels) -> anyhow::Result<mix::RemixConfig> {
    let preset = args.preset;
    let mut cleanup = roomtone::dsp::CleanupConfig::default();
    if args.no_clean {
        cleanup.steps.clear();
    } else if let Some(list) = &args.clean {
        cleanup.steps = roomtone::dsp::CleanupConfig::parse_steps(list)?;
    }
    let target_lufs = args.target_lufs.or(preset.map(|p| p.target_lufs));
    let ceiling = args
        .true_peak_db
        .or(preset.map(|p| p.ceiling_dbtp))
        .or(target_lufs.map(|_| -1.0));
    let config = mix::RemixConfig {
        speech_gain_db: args.speech_gain_db,
        background_gain_db: args.background_gain_db,
        duck: (args.duck_db != 0.0).then(|| mix::DuckConfig {
            depth_db: args.duck_db.abs(),
            ..mix::DuckConfig::default()
        }),
        cleanup,
        target_lufs,
        limiter: ceiling.map(|c| mix::LimiterConfig {
            ceiling_dbtp: c,
            ..mix::LimiterConfig::default()
        }),
    };
    config.validate()?;
    Ok(config)
}

/// The options of `batch --remix "..."`: the `remix` flags, e.g. "--background-gain-db -12 --preset ebu-r128".
#[derive(Parser, Debug)]
#[command(no_binary_name = true)]
struct BatchRemixOptions {
    #[command(flatten)]
    levels: RemixLevels,
}

fn parse_batch_remix(options: &str) -> anyhow::Result<mix::RemixConfig> {
    let parsed = BatchRemixOptions::try_parse_from(options.split_whitespace())
        .map_err(|e| {
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or_default().trim_start_matches("error: ");
            anyhow::anyhow!("{first} (it takes the flags of `roomtone remix`, e.g. \"--background-gain-db -12 --preset ebu-r128\")")
        })?;
    remix_config(&parsed.levels)
}

fn remix_cmd(args: &RemixArgs, config: &mix::RemixConfig) -> anyhow::Result<()> {
    audio::check_output_path(&args.output, std::slice::from_ref(&args.input), args.force)?;
    let (mixture, damaged) = audio::read_all_checked(&args.input)?;
    if let Some(d) = damaged {
        eprintln!(
            "roomtone: warning: {}: {}",
            args.input.display(),
            d.describe(mixture.sample_rate)
        );
    }
    let (speech, background) = match &args.stems {
        Some(dir) => {
            let (s, b, _) = mix::load_stems(dir, &args.input, &mixture)?;
            (s, b)
        }
        None => mix::separate_for_remix(&args.input, &mixture, args.model)?,
    };
    let (out, report) = mix::remix(&mixture, speech, background, config)?;
    let mut writer = audio::WavOutput::create(
        &args.output,
        out.sample_rate,
        out.channel_count(),
        audio::OutputFormat::Wav24,
        args.force,
    )?;
    writer.write_block(&out)?;
    writer.finish()?;
    if args.json {
        println!("{}", to_json(&report));
    } else {
        eprintln!("{}", report::remix_summary(&args.output, &report));
    }
    Ok(())
}

fn separate_files(
    inputs: &[PathBuf],
    out_dir: &std::path::Path,
    config: &separate::SeparateConfig,
    model_args: &ModelArgs,
    json: bool,
) -> ExitCode {
    if let Err(e) = config.model_weight() {
        return usage_error(&e);
    }
    if let Err(e) = separate::check_stem_names(inputs) {
        eprintln!("roomtone: {e}");
        return ExitCode::FAILURE;
    }
    if let Err(e) = std::fs::create_dir_all(out_dir) {
        eprintln!("roomtone: {}: cannot create: {e}", out_dir.display());
        return ExitCode::FAILURE;
    }
    let backends = match model_args.load() {
        Ok(m) => m,
        Err(e) => {
            eprintln!("roomtone: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (dfn3_options, ctn_options) = model_args.session_options();
    let mut worker =
        match separate::Separator::from_backends_with(&backends, dfn3_options, ctn_options) {
            Ok(w) => w,
            Err(e) => {
                eprintln!("roomtone: {e}");
                return ExitCode::FAILURE;
            }
        };
    let mut failed = 0;
    for input in inputs {
        let progress = |s: f64| eprintln!("roomtone: {}: {s:.0} s done", input.display());
        let result = roomtone::guard::per_file(input, || {
            separate::separate_file(&mut worker, input, out_dir, config, progress)
        });
        if let Ok(summary) = &result {
            for w in &summary.warnings {
                eprintln!("roomtone: warning: {}: {w}", summary.input);
            }
        }
        match result {
            Ok(summary) if json => println!("{}", to_json(&summary)),
            Ok(summary) => println!(
                "{} -> {}, {}",
                summary.input, summary.speech, summary.background
            ),
            Err(e) => {
                failed += 1;
                eprintln!("roomtone: {e}");
            }
        }
    }
    exit_status(failed, inputs.len())
}

fn run_batch(
    paths: &[PathBuf],
    shard: Option<batch::Shard>,
    config: &batch::BatchConfig,
) -> ExitCode {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    // Fails at once for stages this build does not have (see src/batch/stages.rs).
    if let Err(e) = batch::plan_stages(&config.stages) {
        eprintln!("roomtone: {e}");
        return ExitCode::FAILURE;
    }
    let (inputs, warnings) = match batch::discover(paths, shard, &config.out_dir) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("roomtone: {e}");
            return ExitCode::FAILURE;
        }
    };
    for w in &warnings {
        eprintln!("roomtone: {w}");
    }
    let tagger = match Tagger::load(&models::models_dir()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("roomtone: {e}");
            return ExitCode::FAILURE;
        }
    };
    // First Ctrl-C: finish the files in progress, write the outputs. Second: leave at once (the
    // journal keeps every finished record; --resume picks it up).
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&cancel);
    let handler = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            eprintln!(
                "\nroomtone: stopped; finished records are in labels.partial.jsonl (use --resume)"
            );
            std::process::exit(130);
        }
        eprintln!("\nroomtone: stopping after the files in progress (Ctrl-C again to quit now)");
    });
    if let Err(e) = handler {
        eprintln!("roomtone: note: cannot handle Ctrl-C: {e}");
    }
    let summary = match batch::run(&tagger, &inputs, config, &cancel) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("roomtone: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "roomtone: {} ok, {} failed, {} skipped{}; {:.2} h of audio in {:.1} s ({:.0}× real time); results in {}",
        summary.ok,
        summary.failed,
        summary.skipped,
        if summary.interrupted {
            format!(", {} not started (interrupted)", summary.not_started)
        } else {
            String::new()
        },
        summary.audio_s / 3600.0,
        summary.wall_s,
        summary.realtime_factor(),
        config.out_dir.display()
    );
    if summary.interrupted {
        ExitCode::from(130)
    } else if summary.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn tag(
    paths: &[PathBuf],
    config: &TagConfig,
    format: Format,
    output: Option<&std::path::Path>,
    force: bool,
    jobs: usize,
) -> ExitCode {
    let (inputs, unreadable) = audio::expand_inputs(paths);
    for (dir, e) in &unreadable {
        eprintln!("roomtone: {}: cannot read folder: {e}", dir.display());
    }
    if inputs.is_empty() {
        eprintln!("roomtone: no audio or video files found in the given folders");
        return ExitCode::FAILURE;
    }
    if let Some(out) = output {
        if let Err(e) = audio::check_output_path(out, &inputs, force) {
            eprintln!("roomtone: {e}");
            return ExitCode::FAILURE;
        }
    }
    let tagger = match Tagger::load(&models::models_dir()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("roomtone: {e}");
            return ExitCode::FAILURE;
        }
    };
    if !tagger.has_head() && matches!(config.ambience_model, AmbienceModel::Head) {
        eprintln!("roomtone: note: models/tagging/ambience_head.json not found; using the plain class mapping");
    }
    let mut text = String::new();
    let mut emit = |line: String| match output {
        Some(_) => {
            text.push_str(&line);
            text.push('\n');
        }
        None => println!("{line}"),
    };
    match format {
        Format::Csv => emit(report::TAG_CSV_HEADER.to_string()),
        Format::Json => emit("[".to_string()),
        Format::Jsonl => {}
    }
    let total = inputs.len();
    let result = classify::tag_files(&tagger, config, &inputs, jobs, |i, result| {
        let record = match result {
            Ok(t) => {
                for w in &t.warnings {
                    eprintln!("roomtone: warning: {}: {w}", t.path);
                }
                report::TagRecord::Tagged(t)
            }
            Err(e) => {
                eprintln!("roomtone: {e}");
                report::TagRecord::Failed {
                    path: inputs[i].display().to_string(),
                    error: e.to_string(),
                }
            }
        };
        match format {
            Format::Csv => emit(report::tag_csv_row(&record)),
            Format::Jsonl => emit(to_json(&record)),
            Format::Json => {
                let sep = if i + 1 < total { "," } else { "" };
                emit(format!("  {}{sep}", to_json(&record)));
            }
        }
    });
    let failed = match result {
        Ok(n) => n,
        Err(e) => {
            eprintln!("roomtone: {e}");
            return ExitCode::FAILURE;
        }
    };
    if matches!(format, Format::Json) {
        emit("]".to_string());
    }
    if let Some(out) = output {
        if let Err(e) = report::write_text_atomic(out, &text, force) {
            eprintln!("roomtone: {}: cannot write: {e}", out.display());
            return ExitCode::FAILURE;
        }
    }
    // An unreadable folder is a failure too (it is reported above, with its reason).
    exit_status(failed + unreadable.len(), total + unreadable.len())
}

fn info(paths: &[PathBuf], json: bool) -> ExitCode {
    let mut failed = 0usize;
    for path in paths {
        match roomtone::guard::per_file(path, || audio::inspect(path)) {
            Ok(info) if json => println!("{}", to_json(&info)),
            Ok(info) => println!("{}", report::info_line(&info)),
            Err(e) => {
                failed += 1;
                eprintln!("roomtone: {e}");
                if json {
                    let shown = path.display().to_string();
                    let record = report::ErrorRecord {
                        path: &shown,
                        error: e.to_string(),
                    };
                    println!("{}", to_json(&record));
                }
            }
        }
    }
    exit_status(failed, paths.len())
}

fn models_check() -> ExitCode {
    let dir = models::models_dir();
    let names = match models::manifest_names(&dir) {
        Ok(n) if !n.is_empty() => n,
        Ok(_) => {
            eprintln!("roomtone: no model manifests in {}", dir.display());
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("roomtone: {e}");
            return ExitCode::FAILURE;
        }
    };
    match models::runtime_library() {
        Ok(lib) => println!("ONNX Runtime: {}", lib.display()),
        Err(e) => {
            eprintln!("roomtone: {e}");
            return ExitCode::FAILURE;
        }
    }
    let mut failed = 0;
    for name in &names {
        match models::verify(&dir, name) {
            Ok(m) => println!(
                "{name}: ok ({}; {} graph(s) loaded; from {} {})",
                m.task,
                m.graphs.len(),
                m.source.package,
                m.source.version
            ),
            Err(e) => {
                failed += 1;
                eprintln!("roomtone: {name}: {e}");
            }
        }
    }
    exit_status(failed, names.len())
}

/// A value the program found wrong before doing any work: one line, exit status 2 (as clap's own).
fn usage_error(e: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("roomtone: error: {e}");
    ExitCode::from(2)
}

/// Parses a finite number and checks it with `ok`; `what` says the accepted range.
fn number<T: std::str::FromStr + Copy + Into<f64>>(
    s: &str,
    ok: impl Fn(f64) -> bool,
    what: &str,
) -> Result<T, String> {
    let v: T = s
        .trim()
        .parse()
        .map_err(|_| format!("not a number (expected {what})"))?;
    if ok(v.into()) {
        Ok(v)
    } else {
        Err(format!("out of range (expected {what})"))
    }
}

fn hop_seconds(s: &str) -> Result<f64, String> {
    number(s, |v| v > 0.0 && v <= 10.0, "seconds in (0, 10]")
}

fn seconds_positive(s: &str) -> Result<f64, String> {
    number(s, |v| v > 0.0 && v <= 3600.0, "seconds in (0, 3600]")
}

fn seconds_non_negative(s: &str) -> Result<f64, String> {
    number(s, |v| (0.0..=3600.0).contains(&v), "seconds in [0, 3600]")
}

fn unit_interval(s: &str) -> Result<f32, String> {
    number(s, |v| (0.0..=1.0).contains(&v), "a number from 0 to 1")
}

fn non_negative_db(s: &str) -> Result<f32, String> {
    number(s, |v| (0.0..=200.0).contains(&v), "dB from 0 to 200")
}

fn at_least_one(s: &str) -> Result<usize, String> {
    let n: u32 = number(
        s,
        |v| (1.0..=4096.0).contains(&v),
        "a whole number from 1 to 4096",
    )?;
    Ok(n as usize)
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value)
        .unwrap_or_else(|e| format!("{{\"error\":\"cannot serialise: {e}\"}}"))
}

fn exit_status(failed: usize, total: usize) -> ExitCode {
    if failed > 0 {
        if total > 1 {
            eprintln!("roomtone: {failed} of {total} failed");
        }
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
