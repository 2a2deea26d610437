//! Parsed flags turned into the library's settings, in one place: presets and the limiter's
//! default ceiling, the CPU count, how many threads each model session gets, and where the models
//! are. The commands only ever see the resolved settings.

use std::path::Path;

use clap::Parser;

use roomtone::classify::{AmbienceModel, RegionParams, TagConfig};
use roomtone::dsp::CleanupConfig;
use roomtone::jobs::Delivery;
use roomtone::models::{ModelContext, SessionOptions};
use roomtone::video::{Ffmpeg, VideoContainer, VideoOut};
use roomtone::{audio, batch, mix, separate};

use crate::args::{
    AmbienceArg, BatchArgs, BatchRemixOptions, Format, ModelArgs, RemixArgs, RemixLevels,
    SeparateArgs, TagArgs,
};

/// A value found wrong before any work is done: reported in one line, exit status 2 (as clap's own
/// usage errors).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn usage(e: impl std::fmt::Display) -> UsageError {
    UsageError(e.to_string())
}

/// The CPUs this process may use (`taskset` narrows it).
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// How files run, which decides the session threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parallelism {
    /// One file after another (`separate`, `remix`): Conv-TasNet takes every CPU.
    OneFileAtATime,
    /// Many files at once, one per worker (`batch`): one thread per session.
    FilePerWorker,
}

/// The models folder and the session settings for the separation flags (`--model` group) and
/// YAMNet's `--threads`. DeepFilterNet3's small graphs are fastest on one thread (BENCHMARKS.md).
pub fn model_context(
    model: Option<&ModelArgs>,
    tag_threads: usize,
    run: Parallelism,
) -> ModelContext {
    let mut context = ModelContext::from_env();
    context.yamnet = SessionOptions {
        intra_threads: tag_threads,
    };
    if let Some(m) = model {
        context.precision = m.ctn_precision;
        let default = match run {
            Parallelism::OneFileAtATime => cpus(),
            Parallelism::FilePerWorker => 1,
        };
        context.convtasnet = SessionOptions {
            intra_threads: m.intra_threads.unwrap_or(default).max(1),
        };
    }
    context
}

/// `roomtone tag`: the tagging options and the number of workers.
pub fn tag(args: &TagArgs) -> Result<(TagConfig, usize), UsageError> {
    let config = TagConfig {
        hop_s: args.hop,
        min_segment_s: args.min_segment,
        ambience_model: match args.ambience_model {
            AmbienceArg::Head => AmbienceModel::Head,
            AmbienceArg::Mapping => AmbienceModel::Mapping,
        },
        speech_regions: (!args.no_speech_segments).then(RegionParams::default),
    };
    config.validate().map_err(usage)?;
    Ok((config, args.jobs.unwrap_or_else(cpus)))
}

/// The format `tag` writes: `--format`, else the one `--output`'s extension names, else JSON. An
/// output named for another format (`--format csv -o labels.json`, or labels named `.wav`) is
/// refused before any work.
pub fn tag_format(args: &TagArgs) -> Result<Format, UsageError> {
    let Some(out) = &args.output else {
        return Ok(args.format.unwrap_or(Format::Json));
    };
    let ext = out
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    // A folder (markers, one file per clip) names no format.
    if out.is_dir() {
        return Ok(args.format.unwrap_or(Format::Json));
    }
    let named = match ext.as_str() {
        "json" => Some(Format::Json),
        "jsonl" | "ndjson" => Some(Format::Jsonl),
        "csv" => Some(Format::Csv),
        "edl" => Some(Format::Edl),
        "fcpxml" => Some(Format::Fcpxml),
        "xml" => Some(Format::Xmeml),
        "otio" => Some(Format::Otio),
        _ if audio::is_media(out) => {
            return Err(UsageError(format!(
                "{}: labels are text, which would be mislabelled as .{ext}; name it .json, .jsonl, .csv, .edl, .fcpxml, .xml or .otio",
                out.display()
            )))
        }
        _ => None,
    };
    let format = args.format.or(named).unwrap_or(Format::Json);
    match named {
        Some(n) if n.extension() != format.extension() => Err(UsageError(format!(
            "{}: --format {} would be mislabelled as .{ext}; name it .{}",
            out.display(),
            format.name(),
            format.extension()
        ))),
        _ => Ok(format),
    }
}

/// `roomtone separate`.
pub fn separate(args: &SeparateArgs) -> Result<separate::SeparateConfig, UsageError> {
    let config = separate::SeparateConfig {
        atten_lim_db: args.atten_lim_db,
        strength: args.strength,
        format: args.format,
        force: args.force,
        chunks: separate::ChunkConfig::from_seconds(args.chunk_seconds, args.warmup_seconds),
        model: args.model.model,
        ctn_segments: ctn_segments(&args.model),
    };
    config.model_weight().map_err(usage)?;
    Ok(config)
}

fn ctn_segments(m: &ModelArgs) -> separate::SegmentConfig {
    separate::SegmentConfig::from_seconds(m.ctn_segment_seconds, m.ctn_context_seconds, 0.2)
}

/// How `remix` and `batch` separate: the model and its tuning flags, the library's defaults for
/// the rest.
pub fn separation(m: &ModelArgs) -> separate::SeparateConfig {
    separate::SeparateConfig {
        model: m.model,
        ctn_segments: ctn_segments(m),
        ..separate::SeparateConfig::default()
    }
}

/// The remix flags: a preset gives the target and the ceiling unless they are given; a loudness
/// target without a ceiling limits at -1 dBTP.
pub fn remix(levels: &RemixLevels) -> Result<mix::RemixConfig, UsageError> {
    let preset = levels.preset;
    let mut cleanup = CleanupConfig::default();
    if levels.no_clean {
        cleanup.steps.clear();
    } else if let Some(list) = &levels.clean {
        cleanup.steps = CleanupConfig::parse_steps(list).map_err(usage)?;
    }
    let target_lufs = levels.target_lufs.or(preset.map(|p| p.target_lufs));
    let ceiling = levels
        .true_peak_db
        .or(preset.map(|p| p.ceiling_dbtp))
        .or(target_lufs.map(|_| -1.0));
    let config = mix::RemixConfig {
        speech_gain_db: levels.speech_gain_db,
        background_gain_db: levels.background_gain_db,
        duck: (levels.duck_db != 0.0).then(|| mix::DuckConfig {
            depth_db: levels.duck_db.abs(),
            ..mix::DuckConfig::default()
        }),
        cleanup,
        target_lufs,
        limiter: ceiling.map(|c| mix::LimiterConfig {
            ceiling_dbtp: c,
            ..mix::LimiterConfig::default()
        }),
    };
    config.validate().map_err(usage)?;
    Ok(config)
}

/// What `remix -o OUT` writes, by OUT's extension: a video container (the picture copied, the remix
/// in the container's codec or `--audio-codec`; ffmpeg must be there), or audio (`.wav`: 24-bit
/// WAV, `.flac`: 24-bit FLAC, or `--format` if it is of that kind). Any other name (a WAV called
/// `.mp3`) and any flag that does not apply is refused before any work.
pub fn remix_delivery(args: &RemixArgs) -> anyhow::Result<Delivery> {
    let output = &args.output;
    let Some(container) = VideoContainer::for_path(output) else {
        if args.audio_codec.is_some() || args.audio_bitrate.is_some() || args.keep_original_audio {
            return Err(usage(
                "--audio-codec, --audio-bitrate and --keep-original-audio apply to video outputs (.mov, .mp4, .mkv, .webm)",
            )
            .into());
        }
        let format = args
            .format
            .or_else(|| audio::OutputFormat::for_path(output, None))
            .unwrap_or_default();
        audio::check_output_format(output, format).map_err(usage)?;
        return Ok(Delivery::Audio(format));
    };
    if args.format.is_some() {
        return Err(usage(
            "--format applies to .wav and .flac outputs; for video, --audio-codec chooses",
        )
        .into());
    }
    let codec = args.audio_codec.unwrap_or(container.default_codec());
    if !container.holds(codec) {
        return Err(usage(format!(
            "{}: a {container:?} file cannot hold {codec:?} audio (use {:?})",
            output.display(),
            container.default_codec()
        ))
        .into());
    }
    Ok(Delivery::Video(VideoOut {
        ffmpeg: Ffmpeg::find(output)?,
        container,
        codec,
        bitrate_kbps: args.audio_bitrate,
        keep_original_audio: args.keep_original_audio,
    }))
}

/// `batch --remix "OPTIONS"`: the `remix` flags, quoted as one argument.
fn batch_remix(options: &str) -> Result<mix::RemixConfig, UsageError> {
    let parsed = BatchRemixOptions::try_parse_from(options.split_whitespace()).map_err(|e| {
        let text = e.render().to_string();
        let first = text.lines().next().unwrap_or_default().trim_start_matches("error: ");
        UsageError(format!(
            "--remix: {first} (it takes the flags of `roomtone remix`, e.g. \"--background-gain-db -12 --preset ebu-r128\")"
        ))
    })?;
    remix(&parsed.levels).map_err(|e| UsageError(format!("--remix: {e}")))
}

/// `batch --remix-container`: the container (or each input's own), and ffmpeg, found now.
fn remix_video(container: &str, out: &Path) -> anyhow::Result<batch::RemixVideo> {
    let container = match container {
        "same" => None,
        name => Some(
            VideoContainer::for_path(Path::new(&format!("x.{name}"))).ok_or_else(|| {
                usage(format!(
                    "--remix-container: {name:?} is not one of mov, mp4, mkv, webm, same"
                ))
            })?,
        ),
    };
    Ok(batch::RemixVideo {
        ffmpeg: Ffmpeg::find(&out.join("remix"))?,
        container,
    })
}

/// `roomtone batch`.
pub fn batch(args: &BatchArgs) -> anyhow::Result<batch::BatchConfig> {
    if args.stem_format.is_some() && !args.separate && args.remix.is_none() {
        return Err(usage(
            "--stem-format applies with --separate or --remix (it sets their stems' format)",
        )
        .into());
    }
    let tag = TagConfig {
        hop_s: args.hop,
        ..TagConfig::default()
    };
    tag.validate().map_err(usage)?;
    Ok(batch::BatchConfig {
        out_dir: args.out.clone(),
        jobs: args.jobs.unwrap_or_else(cpus),
        resume: args.resume,
        tag,
        stages: batch::StageOptions {
            separate: args.separate,
            remix: args.remix.as_deref().map(batch_remix).transpose()?,
            separation: separation(&args.model),
            stem_format: args.stem_format.unwrap_or_default(),
            markers: args.markers.map(|format| batch::MarkerOptions {
                format,
                fps: args.fps,
            }),
            remix_video: args
                .remix_container
                .as_deref()
                .map(|c| remix_video(c, &args.out))
                .transpose()?,
        },
    })
}
