//! The `roomtone` command line: parses arguments, calls the library, prints.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use roomtone::classify::{self, AmbienceModel, TagConfig, Tagger};
use roomtone::{audio, models, report, separate};

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
        #[arg(long, default_value_t = 0.48, value_name = "SECONDS")]
        hop: f64,
        /// Timeline segments shorter than this are merged into a neighbour.
        #[arg(long, default_value_t = 2.0, value_name = "SECONDS")]
        min_segment: f64,
        /// Files tagged in parallel (each worker loads its own copy of the model).
        #[arg(long, short, value_name = "N")]
        jobs: Option<usize>,
        /// ONNX Runtime threads per worker.
        #[arg(long, default_value_t = 1, value_name = "N")]
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
    /// Existing stems are kept unless --force; a file that cannot be read gets one line on stderr and
    /// the others are still processed (exit status 1 if any failed).
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
        #[arg(long, value_name = "DB")]
        atten_lim_db: Option<f32>,
        /// 0..1: blend of the speech stem between the input (0) and the model output (1).
        #[arg(long, default_value_t = 1.0, value_name = "X")]
        strength: f32,
        /// Seconds of audio per model run (memory grows with it; tuning only).
        #[arg(long, default_value_t = 5.0, value_name = "S", hide = true)]
        chunk_seconds: f64,
        /// Seconds of warm-up before each chunk after the first (tuning only).
        #[arg(long, default_value_t = 1.0, value_name = "S", hide = true)]
        warmup_seconds: f64,
        /// Audio or video files.
        #[arg(required = true, value_name = "INPUT")]
        inputs: Vec<PathBuf>,
    },
    /// List the models, check their files, and load each one in ONNX Runtime.
    ///
    /// Use it after scripts/setup.sh to confirm the runtime and the models work on this machine.
    Models,
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
            let jobs =
                jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            tag(&paths, &config, format, output.as_deref(), force, jobs)
        }
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
            inputs,
        } => {
            let config = separate::SeparateConfig {
                atten_lim_db,
                strength,
                format,
                force,
                chunks: separate::ChunkConfig::from_seconds(chunk_seconds, warmup_seconds),
            };
            separate_files(&inputs, &out_dir, &config, json)
        }
    }
}

fn separate_files(
    inputs: &[PathBuf],
    out_dir: &std::path::Path,
    config: &separate::SeparateConfig,
    json: bool,
) -> ExitCode {
    if let Err(e) = config.model_weight() {
        eprintln!("roomtone: {e}");
        return ExitCode::FAILURE;
    }
    if let Err(e) = std::fs::create_dir_all(out_dir) {
        eprintln!("roomtone: {}: cannot create: {e}", out_dir.display());
        return ExitCode::FAILURE;
    }
    let model = match separate::Dfn3::load(&models::models_dir()) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("roomtone: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut worker = match separate::Separator::new(&model, models::SessionOptions::default()) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("roomtone: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut failed = 0;
    for input in inputs {
        let progress = |s: f64| eprintln!("roomtone: {}: {s:.0} s done", input.display());
        match separate::separate_file(&mut worker, input, out_dir, config, progress) {
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

fn tag(
    paths: &[PathBuf],
    config: &TagConfig,
    format: Format,
    output: Option<&std::path::Path>,
    force: bool,
    jobs: usize,
) -> ExitCode {
    let inputs = audio::expand_inputs(paths);
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
            Ok(t) => report::TagRecord::Tagged(t),
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
    exit_status(failed, total)
}

fn info(paths: &[PathBuf], json: bool) -> ExitCode {
    let mut failed = 0usize;
    for path in paths {
        match audio::inspect(path) {
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
