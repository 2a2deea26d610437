//! The command line as clap parses it: subcommands, flags, their help, and the checks a value can
//! have on its own (ranges). What the flags mean together is settled in `settings.rs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use roomtone::report::markers::{FrameRate, MarkerFormat};
use roomtone::{audio, batch, mix, models, separate};

/// Tag, separate, clean and remix the background audio of video and film.
///
/// roomtone reads WAV, AIFF, FLAC, MP3, AAC/M4A, Ogg Vorbis and the audio track of MP4, MOV, MKV and
/// WebM files at any sample rate and channel count; with ffmpeg installed, also what only ffmpeg
/// reads (AC-3, Opus, MXF, MPEG-TS, RF64 …). `remix -o clip.mov|mp4|mkv|webm` puts the result back
/// under the picture (ffmpeg muxes). Run scripts/setup.sh once to fetch ONNX Runtime and the models.
#[derive(Parser, Debug)]
#[command(
    name = "roomtone",
    version,
    about,
    long_about,
    max_term_width = 100,
    after_help = "Examples:
  roomtone info take1.wav
  roomtone tag --format csv --output labels.csv /footage
  roomtone separate --out-dir stems take1.wav
  roomtone remix take1.wav -o take1.remix.wav --background-gain-db -12 --preset ebu-r128
  roomtone batch /footage --out labels/

`roomtone COMMAND --help` explains each command."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show container, codec, sample rate, channels, duration and sample peak of media files.
    ///
    /// Every file is decoded from start to end, so the duration is exact and a damaged or truncated
    /// file is reported. Exit status is 1 if any file could not be read.
    #[command(after_help = "Example:\n  roomtone info --json take1.wav interview.mp4")]
    Info(InfoArgs),
    /// Tag the ambience of clips: rain, traffic, crowd, hvac, wind, water, nature, music, speech,
    /// silence or other, with scores, a timeline and YAMNet's own top AudioSet classes.
    ///
    /// Folders are searched recursively for audio and video files. Output is one record per input
    /// file, in input order; a file that cannot be read gets an error record and a line on stderr,
    /// and the others are still tagged (exit status 1 if any failed).
    #[command(after_help = "Examples:
  roomtone tag take1.wav
  roomtone tag --format csv --output labels.csv /footage/day1
  roomtone tag --format jsonl --hop 0.96 interview.mov")]
    Tag(TagArgs),
    /// Split dialogue from background: writes DIR/<name>.speech.wav and DIR/<name>.background.wav
    /// (the input's sample rate, channels and length; speech + background = input).
    ///
    /// <name> is the input's file name without its extension; inputs that share it (a/take.wav,
    /// b/take.mov) are refused before anything runs. Both stems are written or neither. Existing
    /// stems are kept unless --force (a lone stem left by a failed run is replaced); a file that
    /// cannot be read gets one line on stderr and the others are still processed (exit status 1 if
    /// any failed).
    #[command(after_help = "Examples:
  roomtone separate take1.wav interview.mov --out-dir stems
  roomtone separate --model ensemble --format wav24 --out-dir stems take1.wav")]
    Separate(SeparateArgs),
    /// Remix dialogue and background: clean the stems, set their levels, duck the background under
    /// speech, and deliver at a loudness target under a true-peak ceiling.
    ///
    /// Without --stems the input is separated first. Cleanup order: high-pass, hum, denoise,
    /// de-ess, level (dialogue); hum only on the background. Output keeps the input's sample
    /// rate, channels and exact length (24-bit WAV).
    #[command(after_help = "Examples:
  roomtone remix take1.wav -o take1.remix.wav --background-gain-db -12 --preset ebu-r128
  roomtone remix take1.wav -o out.wav --stems stems/ --duck-db 6 --clean hum,highpass --json")]
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
    #[command(after_help = "Examples:
  roomtone batch /footage --out labels/
  roomtone batch /footage --out labels/ --resume
  roomtone batch /footage --out shard-3/ --shard 3/8     (machine 3 of 8; then `roomtone merge`)
  roomtone batch /footage --out labels/ --remix \"--background-gain-db -12 --preset ebu-r128\"")]
    Batch(BatchArgs),
    /// Combine the output folders of `roomtone batch --shard` runs into one labels.jsonl/csv/report.
    #[command(after_help = "Example:\n  roomtone merge shard-*/ --out labels/")]
    Merge(MergeArgs),
    /// List the models, check their files, and load each one in ONNX Runtime.
    ///
    /// Use it after scripts/setup.sh to confirm the runtime and the models work on this machine.
    Models,
}

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// Print one JSON object per file (one per line) instead of a human-readable line.
    #[arg(long)]
    pub json: bool,
    /// Audio or video files.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct TagArgs {
    /// Output format: json (one array), jsonl (one object per line) or csv (one row per file);
    /// or timeline markers for an editor, one file per clip: edl (CMX 3600 with DaVinci Resolve
    /// marker events), fcpxml (Final Cut Pro / Resolve), xmeml (Final Cut 7 XML, for Premiere
    /// Pro), otio (OpenTimelineIO) or csv-markers (one row per marker)
    /// [default: the one --output's extension names (.json, .jsonl, .csv, .edl, .fcpxml, .xml,
    /// .otio), else json].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write to FILE (atomically) instead of standard output. Markers of several clips need a
    /// folder: one file per clip, named after it (take1.mov -> take1.mov.edl).
    #[arg(long, short, value_name = "FILE|FOLDER")]
    pub output: Option<PathBuf>,
    /// Frame rate of the markers' timecode, e.g. 25, 24, 23.976, 29.97 (drop frame), 29.97ndf,
    /// 30000/1001 [default: the video's rate, a Broadcast WAV's iXML rate, else 25].
    #[arg(long, value_name = "RATE", value_parser = frame_rate)]
    pub fps: Option<FrameRate>,
    /// Replace FILE given to --output if it exists.
    #[arg(long)]
    pub force: bool,
    /// Seconds between the starts of the 0.96 s analysis patches (smaller = finer timeline, slower).
    #[arg(long, default_value_t = 0.48, value_name = "SECONDS", value_parser = hop_seconds)]
    pub hop: f64,
    /// Timeline segments shorter than this are merged into a neighbour.
    #[arg(long, default_value_t = 2.0, value_name = "SECONDS", value_parser = seconds_non_negative)]
    pub min_segment: f64,
    /// Files tagged in parallel (each worker loads its own copy of the model) [default: CPU count].
    #[arg(long, short, value_name = "N", value_parser = at_least_one)]
    pub jobs: Option<usize>,
    /// ONNX Runtime threads per worker.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = at_least_one)]
    pub threads: usize,
    /// What chooses the ambience: the trained classifier head, or the plain AudioSet class
    /// mapping of models/tagging/taxonomy.toml (for comparison).
    #[arg(long, value_enum, default_value_t = AmbienceArg::Head)]
    pub ambience_model: AmbienceArg,
    /// Skip the dialogue regions (speech_segments; the voice-activity model is not run). Faster,
    /// but `speech` then rests on YAMNet's speech score alone, which calls crowd babble speech.
    #[arg(long)]
    pub no_speech_segments: bool,
    /// Audio or video files, or folders.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct SeparateArgs {
    /// Folder for the stems (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,
    /// Stem format: wav16, wav24, f32 (32-bit float WAV), flac16 or flac24 (flac): the stems are
    /// named .speech.wav/.background.wav or .speech.flac/.background.flac.
    #[arg(long, default_value = "f32", value_name = "FORMAT")]
    pub format: audio::OutputFormat,
    /// Replace existing stems.
    #[arg(long)]
    pub force: bool,
    /// Print one JSON object per file (one per line).
    #[arg(long)]
    pub json: bool,
    /// Cap on the noise removed, dB (e.g. 12 keeps the background at least 12 dB down in the
    /// speech stem instead of removing it).
    #[arg(long, value_name = "DB", value_parser = non_negative_db)]
    pub atten_lim_db: Option<f32>,
    /// 0..1: blend of the speech stem between the input (0) and the model output (1).
    #[arg(long, default_value_t = 1.0, value_name = "X", value_parser = unit_interval)]
    pub strength: f32,
    /// Seconds of audio per model run (memory grows with it; tuning only).
    #[arg(long, default_value_t = 5.0, value_name = "S", hide = true, value_parser = seconds_positive)]
    pub chunk_seconds: f64,
    /// Seconds of warm-up before each chunk after the first (tuning only).
    #[arg(long, default_value_t = 1.0, value_name = "S", hide = true, value_parser = seconds_non_negative)]
    pub warmup_seconds: f64,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Audio or video files.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct BatchArgs {
    /// Output folder.
    #[arg(long, value_name = "OUTDIR")]
    pub out: PathBuf,
    /// Files tagged in parallel, each worker with its own model session [default: CPU count].
    #[arg(long, short, value_name = "N", value_parser = at_least_one)]
    pub jobs: Option<usize>,
    /// Skip files already recorded in OUTDIR with the same size and modification time.
    #[arg(long)]
    pub resume: bool,
    /// Take share K of N (0-based) by a hash of each file's path relative to its PATH.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<batch::Shard>,
    /// No progress display (failed files are still reported).
    #[arg(long, short)]
    pub quiet: bool,
    /// Seconds between the starts of the 0.96 s analysis patches.
    #[arg(long, default_value_t = 0.48, value_name = "SECONDS", value_parser = hop_seconds)]
    pub hop: f64,
    /// ONNX Runtime threads per worker for tagging.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = at_least_one)]
    pub threads: usize,
    /// Also separate dialogue and background (with --model) into OUTDIR/stems/, mirroring the
    /// input tree with the extension kept: PATH/day1/take.wav gives
    /// OUTDIR/stems/day1/take.wav.speech.wav and .background.wav (24-bit WAV unless
    /// --stem-format, the input's rate, channels and length).
    #[arg(long)]
    pub separate: bool,
    /// Stem format of --separate and --remix: wav16, wav24 (wav), f32 (32-bit float WAV), flac16
    /// or flac24 (flac); FLAC stems are named .speech.flac/.background.flac [default: wav24].
    #[arg(long, value_name = "FORMAT")]
    pub stem_format: Option<audio::OutputFormat>,
    /// Also remix the stems into OUTDIR/remix/day1/take.wav.remix.wav with the `remix` options,
    /// quoted as one argument, e.g. --remix "--background-gain-db -12 --preset ebu-r128" (implies
    /// --separate).
    #[arg(long, value_name = "OPTIONS", allow_hyphen_values = true)]
    pub remix: Option<String>,
    /// Deliver each remix as a video: the input's picture and other streams copied, the remix in
    /// place of its audio (needs ffmpeg), as OUTDIR/remix/day1/take.mov.remix.mov: mov, mp4, mkv,
    /// webm, or same (each input's own container; audio-only inputs get a WAV).
    #[arg(long, value_name = "CONTAINER", requires = "remix")]
    pub remix_container: Option<String>,
    /// Also write each clip's timeline markers (ambience segments and dialogue regions) in this
    /// format beside the labels, as OUTDIR/markers/day1/take.mov.edl: edl, fcpxml, xmeml, otio or
    /// csv-markers (see `roomtone tag --help`).
    #[arg(long, value_name = "FORMAT", value_parser = marker_format)]
    pub markers: Option<MarkerFormat>,
    /// Frame rate of the markers' timecode [default: each file's video rate, iXML rate, else 25].
    #[arg(long, value_name = "RATE", value_parser = frame_rate, requires = "markers")]
    pub fps: Option<FrameRate>,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Folders (walked recursively) or files.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Output folder for the combined files.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Output folders of the shards.
    #[arg(required = true, value_name = "OUTDIR")]
    pub dirs: Vec<PathBuf>,
}

/// Which separation model runs and how (shared by separate, remix and batch).
#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    /// Separation model: dfn3 (DeepFilterNet3, fastest), convtasnet (Conv-TasNet), or ensemble
    /// (both, fused per band and per DeepFilterNet3's SNR estimate; models/separation/fusion.json).
    #[arg(long, default_value = "dfn3", value_name = "MODEL")]
    pub model: separate::ModelChoice,
    /// Conv-TasNet graph: int8 (derived at set-up, faster) or f32 (as shipped) (tuning only).
    #[arg(long, default_value = "int8", value_name = "P", hide = true)]
    pub ctn_precision: models::Precision,
    /// Conv-TasNet: new seconds per graph run (tuning only).
    #[arg(long, default_value_t = 2.0, value_name = "S", hide = true, value_parser = seconds_positive)]
    pub ctn_segment_seconds: f64,
    /// Conv-TasNet: seconds of context on each side of a segment (tuning only).
    #[arg(long, default_value_t = 0.5, value_name = "S", hide = true, value_parser = seconds_non_negative)]
    pub ctn_context_seconds: f64,
    /// ONNX Runtime threads per Conv-TasNet run [default: the CPUs this process may use when files
    /// run one at a time, 1 in a batch]; DeepFilterNet3 runs on one (tuning only).
    #[arg(long, value_name = "N", hide = true, value_parser = at_least_one)]
    pub intra_threads: Option<usize>,
}

#[derive(Args, Debug)]
pub struct RemixArgs {
    /// The original mix (any format roomtone reads).
    #[arg(value_name = "INPUT")]
    pub input: PathBuf,
    /// Output file (written atomically; never the input). Its extension sets what is written:
    /// .mov, .mp4/.m4v, .mkv or .webm: the input's picture and other streams, copied, with the remix
    /// in place of its audio (needs ffmpeg); .wav or .flac: the audio alone.
    #[arg(long, short, value_name = "OUT")]
    pub output: PathBuf,
    /// Sample format of an audio output: wav16, wav24 or f32 for a .wav; flac16 or flac24 for a
    /// .flac [default: wav24 or flac24, by the extension].
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<audio::OutputFormat>,
    /// Which audio track of the input to remix (0 = the first); a video output carries the remix
    /// in its place.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub audio_track: usize,
    /// Video output: keep the original audio as a second track after the remix.
    #[arg(long)]
    pub keep_original_audio: bool,
    /// Video output: the remix's codec: pcm24 (.mov/.mkv default), aac (.mp4 default), alac
    /// (lossless, .mp4/.mov/.mkv) or opus (.webm default).
    #[arg(long, value_name = "CODEC")]
    pub audio_codec: Option<roomtone::video::VideoAudio>,
    /// Video output: bit rate of AAC or Opus, kbit/s [default: 256 for AAC, 160 for Opus, up to
    /// stereo; beyond it 128 (AAC) or 96 (Opus) per channel: 768 or 576 for 5.1].
    #[arg(long, value_name = "KBPS", value_parser = clap::value_parser!(u32).range(16..=1024))]
    pub audio_bitrate: Option<u32>,
    #[command(flatten)]
    pub levels: RemixLevels,
    /// Read the stems from DIR/<input name>.speech.wav and DIR/<input name>.background.wav
    /// (as `roomtone separate` writes them; DIR/take.wav.speech.wav etc., as `batch --separate`
    /// writes them, is taken first if both exist) instead of separating.
    #[arg(long, value_name = "DIR")]
    pub stems: Option<PathBuf>,
    /// Print a JSON report (loudness before/after, gains, limiter, cleanup) on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,
}

/// The remix settings, shared by `roomtone remix` and `roomtone batch --remix "..."`.
#[derive(Args, Debug)]
pub struct RemixLevels {
    /// Gain on the dialogue, dB.
    #[arg(
        long,
        default_value_t = 0.0,
        value_name = "DB",
        allow_negative_numbers = true
    )]
    pub speech_gain_db: f64,
    /// Gain on the background, dB.
    #[arg(
        long,
        default_value_t = 0.0,
        value_name = "DB",
        allow_negative_numbers = true
    )]
    pub background_gain_db: f64,
    /// Turn the background down by this much more while speech is present, dB (0 = off).
    #[arg(
        long,
        default_value_t = 0.0,
        value_name = "DB",
        allow_negative_numbers = true
    )]
    pub duck_db: f64,
    /// Cleanup steps to run, comma-separated: highpass, hum, denoise, deess, level
    /// (default: highpass,hum,denoise,deess).
    #[arg(long, value_name = "LIST", conflicts_with = "no_clean")]
    pub clean: Option<String>,
    /// No cleanup at all.
    #[arg(long)]
    pub no_clean: bool,
    /// Normalise integrated loudness to this target, LUFS (also turns on the limiter at -1 dBTP
    /// unless --true-peak-db says otherwise).
    #[arg(long, value_name = "LUFS", allow_negative_numbers = true)]
    pub target_lufs: Option<f64>,
    /// True-peak ceiling of the look-ahead limiter, dBTP.
    #[arg(long, value_name = "DBTP", allow_negative_numbers = true)]
    pub true_peak_db: Option<f64>,
    /// Delivery preset: ebu-r128 (-23 LUFS, -1 dBTP), atsc-a85 (-24, -2), streaming (-14, -1),
    /// podcast (-16, -1). --target-lufs and --true-peak-db override its values.
    #[arg(long, value_name = "NAME", value_parser = str::parse::<mix::Preset>)]
    pub preset: Option<mix::Preset>,
}

/// The options of `batch --remix "..."`: the `remix` flags, e.g. "--background-gain-db -12 --preset ebu-r128".
#[derive(Parser, Debug)]
#[command(no_binary_name = true)]
pub struct BatchRemixOptions {
    #[command(flatten)]
    pub levels: RemixLevels,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Json,
    Jsonl,
    Csv,
    Edl,
    Fcpxml,
    Xmeml,
    Otio,
    CsvMarkers,
}

impl Format {
    /// The value's name.
    pub fn name(self) -> &'static str {
        match self.markers() {
            Some(m) => m.name(),
            None => self.extension(),
        }
    }

    /// The extension of a file in this format.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Jsonl => "jsonl",
            Self::Csv => "csv",
            _ => self.markers().map_or("", MarkerFormat::extension),
        }
    }

    /// The marker format, for the timeline formats.
    pub fn markers(self) -> Option<MarkerFormat> {
        match self {
            Self::Json | Self::Jsonl | Self::Csv => None,
            Self::Edl => Some(MarkerFormat::Edl),
            Self::Fcpxml => Some(MarkerFormat::Fcpxml),
            Self::Xmeml => Some(MarkerFormat::Xmeml),
            Self::Otio => Some(MarkerFormat::Otio),
            Self::CsvMarkers => Some(MarkerFormat::CsvMarkers),
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum AmbienceArg {
    Head,
    Mapping,
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

fn marker_format(s: &str) -> Result<MarkerFormat, String> {
    MarkerFormat::parse(s).map_err(|e| e.to_string())
}

fn frame_rate(s: &str) -> Result<FrameRate, String> {
    FrameRate::parse(s).map_err(|e| e.to_string())
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
