//! Each subcommand: resolved settings in, the library's jobs run, results printed. A problem with
//! one file is printed and counted (exit status 1 at the end); a problem with the whole command is
//! returned as an error, which `main` prints.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::anyhow;
use roomtone::classify::{AmbienceModel, Tagger};
use roomtone::jobs::{self, RemixJob, Stems};
use roomtone::report::json_line;
use roomtone::report::markers::{self, FrameRate, MarkerFormat};
use roomtone::{audio, batch, guard, models, report, separate};

use crate::args::{BatchArgs, Format, InfoArgs, MergeArgs, RemixArgs, SeparateArgs, TagArgs};
use crate::progress::{self, Progress};
use crate::settings::{self, Parallelism};

type Outcome = anyhow::Result<ExitCode>;

pub fn info(args: &InfoArgs) -> Outcome {
    let mut failed = 0usize;
    for path in &args.paths {
        match guard::per_file(path, || audio::inspect(path)) {
            Ok(info) if args.json => println!("{}", json_line(&info)),
            Ok(info) => println!("{}", report::info_line(&info)),
            Err(e) => {
                failed += 1;
                eprintln!("roomtone: {e}");
                if args.json {
                    let shown = path.display().to_string();
                    let record = report::ErrorRecord {
                        path: &shown,
                        error: e.to_string(),
                    };
                    println!("{}", json_line(&record));
                }
            }
        }
    }
    Ok(exit_status(failed, args.paths.len()))
}

pub fn tag(args: &TagArgs) -> Outcome {
    let (config, jobs) = settings::tag(args)?;
    let format = settings::tag_format(args)?;
    let (inputs, unreadable) = audio::expand_inputs(&args.paths);
    for (dir, e) in &unreadable {
        eprintln!("roomtone: {}: cannot read folder: {e}", dir.display());
    }
    if inputs.is_empty() {
        return Err(anyhow!(
            "no audio or video files found in the given folders"
        ));
    }
    if let (Some(out), None) = (&args.output, format.markers()) {
        audio::check_output_path(out, &inputs, args.force)?;
    }
    let marker_outputs = match format.markers() {
        Some(m) => Some(marker_outputs(args, m, &inputs)?),
        None => None,
    };
    let context = settings::model_context(None, args.threads, Parallelism::FilePerWorker);
    let tagger = Tagger::load(&context)?;
    if !tagger.has_head() && matches!(config.ambience_model, AmbienceModel::Head) {
        eprintln!("roomtone: note: models/tagging/ambience_head.json not found; using the plain class mapping");
    }
    if let (Some(format), Some(outputs)) = (format.markers(), marker_outputs) {
        let mut not_written = 0usize;
        let failed = jobs::tag_files(&tagger, &config, &inputs, jobs, |i, result| match result {
            Ok(t) => {
                for w in &t.warnings {
                    eprintln!("roomtone: warning: {}: {w}", t.path);
                }
                if let Err(e) =
                    write_markers(&t, format, args.fps, outputs[i].as_deref(), args.force)
                {
                    eprintln!("roomtone: {e}");
                    not_written += 1;
                }
            }
            Err(e) => eprintln!("roomtone: {e}"),
        })?;
        return Ok(exit_status(
            failed + not_written + unreadable.len(),
            inputs.len() + unreadable.len(),
        ));
    }
    let mut text = String::new();
    let mut emit = |line: String| match args.output {
        Some(_) => {
            text.push_str(&line);
            text.push('\n');
        }
        None => println!("{line}"),
    };
    let mut rows = report::TagWriter::new(format.into(), &mut emit);
    let failed = jobs::tag_files(&tagger, &config, &inputs, jobs, |i, result| {
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
        rows.record(&record);
    })?;
    rows.finish();
    if let Some(out) = &args.output {
        report::write_text_atomic(out, &text, args.force)
            .map_err(|e| anyhow!("{}: cannot write: {e}", out.display()))?;
    }
    // An unreadable folder is a failure too (it is reported above, with its reason).
    Ok(exit_status(
        failed + unreadable.len(),
        inputs.len() + unreadable.len(),
    ))
}

/// Where each clip's markers go: `None` for standard output (one clip, no `--output`), else a
/// file (one clip, `--output FILE`) or `FOLDER/<file name>.<ext>` (`--output FOLDER`, or several
/// clips). Refuses several clips without a folder, two clips that would share a file, and files
/// that exist (without `--force`), before any work.
fn marker_outputs(
    args: &TagArgs,
    format: MarkerFormat,
    inputs: &[std::path::PathBuf],
) -> anyhow::Result<Vec<Option<std::path::PathBuf>>> {
    let Some(out) = &args.output else {
        if inputs.len() > 1 {
            return Err(anyhow!(
                "markers for {} clips need a folder: add --output FOLDER (one file per clip), or use `roomtone batch --markers {}`",
                inputs.len(),
                format.name()
            ));
        }
        return Ok(vec![None]);
    };
    if inputs.len() == 1 && !out.is_dir() {
        audio::check_output_path(out, inputs, args.force)?;
        return Ok(vec![Some(out.clone())]);
    }
    std::fs::create_dir_all(out)
        .map_err(|e| anyhow!("{}: cannot create the folder: {e}", out.display()))?;
    let mut seen: std::collections::HashMap<std::path::PathBuf, &std::path::Path> =
        std::collections::HashMap::new();
    let mut outputs = Vec::with_capacity(inputs.len());
    for input in inputs {
        let mut name = input.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".{}", format.extension()));
        let path = out.join(name);
        if let Some(first) = seen.insert(path.clone(), input) {
            return Err(anyhow!(
                "{} and {} would both write {}: tag them into different folders",
                first.display(),
                input.display(),
                path.display()
            ));
        }
        if !args.force && path.exists() {
            return Err(anyhow!(
                "{}: exists; add --force to replace it",
                path.display()
            ));
        }
        outputs.push(Some(path));
    }
    Ok(outputs)
}

/// Writes one clip's markers (standard output for `None`), with a note when the frame rate is a
/// guess.
fn write_markers(
    tags: &roomtone::classify::TagResult,
    format: MarkerFormat,
    fps: Option<FrameRate>,
    output: Option<&std::path::Path>,
    force: bool,
) -> Result<(), String> {
    let clip = markers::clip_of(tags, fps);
    if clip.rate_is_default() {
        eprintln!(
            "roomtone: note: {}: markers at {} fps ({}); --fps sets another",
            tags.path, clip.rate, clip.rate_source
        );
    }
    let text = markers::render(format, &clip);
    match output {
        None => {
            print!("{text}");
            Ok(())
        }
        Some(path) => report::write_text_atomic(path, &text, force)
            .map_err(|e| format!("{}: cannot write: {e}", path.display())),
    }
}

pub fn separate(args: &SeparateArgs) -> Outcome {
    let config = settings::separate(args)?;
    separate::check_stem_names(&args.inputs)?;
    std::fs::create_dir_all(&args.out_dir)
        .map_err(|e| anyhow!("{}: cannot create: {e}", args.out_dir.display()))?;
    let context = settings::model_context(Some(&args.model), 1, Parallelism::OneFileAtATime);
    let backends = separate::Backends::load(&context, config.model)?;
    let mut worker = separate::Separator::from_backends(&backends, &context)?;
    let mut failed = 0;
    for input in &args.inputs {
        let progress = |s: f64| eprintln!("roomtone: {}: {s:.0} s done", input.display());
        let result = guard::per_file(input, || {
            separate::separate_file(&mut worker, input, &args.out_dir, &config, progress)
        });
        match result {
            Ok(summary) => {
                for w in &summary.warnings {
                    eprintln!("roomtone: warning: {}: {w}", summary.input);
                }
                if args.json {
                    println!("{}", json_line(&summary));
                } else {
                    println!(
                        "{} -> {}, {}",
                        summary.input, summary.speech, summary.background
                    );
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("roomtone: {e}");
            }
        }
    }
    Ok(exit_status(failed, args.inputs.len()))
}

pub fn remix(args: &RemixArgs) -> Outcome {
    let config = settings::remix(&args.levels)?;
    // A refused output is reported before any model loads (the job checks again when it writes).
    audio::check_output_path(&args.output, std::slice::from_ref(&args.input), args.force)?;
    let delivery = settings::remix_delivery(args)?;
    let separation = settings::separation(&args.model);
    let context = settings::model_context(Some(&args.model), 1, Parallelism::OneFileAtATime);
    // The models load only when this remix separates.
    let (backends, mut separator);
    let stems = match &args.stems {
        Some(dir) => Stems::Folder(dir),
        None => {
            backends = separate::Backends::load(&context, separation.model)?;
            separator = separate::Separator::from_backends(&backends, &context)?;
            Stems::Separate {
                separator: &mut separator,
                config: &separation,
                keep: None,
            }
        }
    };
    let job = RemixJob {
        input: &args.input,
        audio_track: args.audio_track,
        output: &args.output,
        delivery,
        stems,
        config: &config,
        force: args.force,
    };
    let done = guard::per_file(&args.input, || job.run())?;
    for w in &done.warnings {
        eprintln!("roomtone: warning: {}: {w}", args.input.display());
    }
    if args.json {
        println!("{}", json_line(&done.report));
    } else {
        eprintln!("{}", report::remix_summary(&args.output, &done.report));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn batch(args: &BatchArgs) -> Outcome {
    let config = settings::batch(args)?;
    let context =
        settings::model_context(Some(&args.model), args.threads, Parallelism::FilePerWorker);
    // Loads the separation model once, and fails at once if it is missing.
    let stages = batch::plan_stages(&config.stages, &context)?;
    let (inputs, warnings) = batch::discover(&args.paths, args.shard, &config.out_dir)?;
    for w in &warnings {
        eprintln!("roomtone: {w}");
    }
    let tagger = Tagger::load(&context)?;
    let cancel = cancel_on_ctrl_c();
    let mut progress = Progress::new(if args.quiet {
        progress::Mode::Quiet
    } else {
        progress::Mode::Auto
    });
    let summary = batch::run(&tagger, &stages, &inputs, &config, &cancel, &mut progress)?;
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
    Ok(if summary.interrupted {
        ExitCode::from(130)
    } else if summary.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// First Ctrl-C: finish the files in progress and write the outputs. Second: leave at once (the
/// journal keeps every finished record; --resume picks it up).
fn cancel_on_ctrl_c() -> Arc<AtomicBool> {
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
    cancel
}

pub fn merge(args: &MergeArgs) -> Outcome {
    let written = batch::merge(&args.dirs, &args.out)?;
    println!(
        "roomtone: merged {} records ({} errors) from {} folders into {}",
        written.records,
        written.failed,
        args.dirs.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn models() -> Outcome {
    let dir = models::models_dir();
    let names = models::manifest_names(&dir)?;
    if names.is_empty() {
        return Err(anyhow!("no model manifests in {}", dir.display()));
    }
    println!("ONNX Runtime: {}", models::runtime_library()?.display());
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
    Ok(exit_status(failed, names.len()))
}

/// Failure if any of `total` files failed (saying how many when there were several).
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

impl From<Format> for report::TagFormat {
    fn from(f: Format) -> Self {
        match f {
            Format::Json => Self::Json,
            Format::Jsonl => Self::Jsonl,
            Format::Csv => Self::Csv,
            // Marker formats are written per clip (`write_markers`), never as records.
            _ => unreachable!("marker formats are not record formats"),
        }
    }
}
