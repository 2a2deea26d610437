//! The `roomtone` command line: parses arguments, calls the library, prints.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use roomtone::{audio, models, report};

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
    /// List the models, check their files, and load each one in ONNX Runtime.
    ///
    /// Use it after scripts/setup.sh to confirm the runtime and the models work on this machine.
    Models,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Info { json, paths } => info(&paths, json),
        Command::Models => models_check(),
    }
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
