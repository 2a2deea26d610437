//! What each fuzz target does with one input, in one place: the AFL targets in `src/bin/` call these
//! functions, and `tests/fuzz_regressions.rs` includes this file (`#[path]`) and replays the saved
//! crashes through the same functions, so a regression test runs exactly the target's code path.
//!
//! Every function returns `Ok` or the library's error for bad input (both fine) and panics when an
//! invariant breaks (a non-finite sample, a length that does not add up): a panic is a crash for AFL
//! and a failure for the test.
//!
//! Only `roomtone`, `serde_json` and `tempfile` are used here: the main crate depends on all three.

#![allow(dead_code)] // each binary uses its own part

use std::path::{Path, PathBuf};

use roomtone::audio::{
    self, AudioBlock, AudioError, AudioReader, Container, StreamResampler, DEFAULT_BLOCK_FRAMES,
};
use roomtone::features::{LogMel, MelParams};

/// Decoded samples (frames × channels) a target looks at per input (≈ 22 s of stereo at 48 kHz).
/// A few kilobytes of FLAC or ADPCM can declare hours of audio; decoding them is correct but slow,
/// and AFL would call it a hang. The library streams, so its memory does not depend on this.
pub const MAX_SAMPLES: u64 = 1 << 21;

/// Decoded samples the model targets (`tag`, `separate`) accept, so one input costs a few model runs.
pub const MAX_MODEL_SAMPLES: u64 = 1 << 17;

/// Decoded samples `remix` accepts: it holds the whole file in memory, as the command does, and
/// its cleanup chain costs far more per sample than decoding.
pub const MAX_REMIX_SAMPLES: u64 = 1 << 19;

/// The file extension `roomtone` would see for these bytes (the container sniffed from the first
/// 16 bytes; symphonia 0.5 probes by content and ignores the extension, the CLI's folder walk does not).
pub fn extension_for(data: &[u8]) -> &'static str {
    match Container::sniff(&data[..data.len().min(16)]) {
        Container::Wav => "wav",
        Container::Aiff => "aiff",
        Container::Flac => "flac",
        Container::Ogg => "ogg",
        Container::Mpeg => "mp3",
        Container::Adts => "aac",
        Container::Mp4 => "mp4",
        Container::M4a => "m4a",
        Container::Mov => "mov",
        Container::Matroska => "mkv",
        Container::Caf => "caf",
        _ => "wav",
    }
}

/// Writes `data` to `dir/input.<ext>` and returns the path (the library reads files, not memory).
pub fn write_input(dir: &Path, data: &[u8]) -> PathBuf {
    let path = dir.join(format!("input.{}", extension_for(data)));
    std::fs::write(&path, data).expect("write the fuzz input to the temporary folder");
    path
}

/// The work `frames` frames of `channels` channels at `rate` Hz cost, in samples at 48 kHz or the
/// input rate, whichever is higher (the pipeline resamples to 16 and 48 kHz: a 400-frame file at
/// 7 Hz is 57 s of audio, and costs as much).
pub fn cost(frames: u64, channels: u64, rate: u32) -> u64 {
    let per_frame = channels.saturating_mul(u64::from(rate.max(48_000)));
    frames.saturating_mul(per_frame) / u64::from(rate.max(1))
}

/// Decodes `path` and returns its length in frames, or `None` as soon as it costs more than `cap`
/// samples (see [`cost`]): the target then skips it.
pub fn frames_within(path: &Path, cap: u64) -> Result<Option<u64>, AudioError> {
    let mut reader = AudioReader::open(path)?;
    let channels = reader.info().channels as u64;
    let rate = reader.info().sample_rate;
    let mut block = AudioBlock::default();
    while reader.next_block(&mut block)? {
        if cost(reader.decoded_frames(), channels, rate) > cap {
            return Ok(None);
        }
    }
    Ok(Some(reader.decoded_frames()))
}

/// What [`decode`] measured (for the test's assertions).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct DecodeCounts {
    /// Input frames decoded (stops after [`MAX_SAMPLES`] samples).
    pub frames: u64,
    /// Output frames at 16 kHz.
    pub frames_16k: u64,
    /// Output frames at 48 kHz.
    pub frames_48k: u64,
    /// Log-mel frames of the mono 16 kHz signal.
    pub mel_frames: u64,
}

fn assert_finite(what: &str, x: &[f32]) {
    if let Some(i) = x.iter().position(|v| !v.is_finite()) {
        panic!("{what}: sample {i} is {} (not finite)", x[i]);
    }
}

fn check_block(what: &str, block: &AudioBlock, rate: u32, channels: usize) {
    assert_eq!(block.sample_rate, rate, "{what}: block rate");
    assert_eq!(block.channel_count(), channels, "{what}: channel count");
    let n = block.frames();
    for (c, ch) in block.channels.iter().enumerate() {
        assert_eq!(
            ch.len(),
            n,
            "{what}: channel {c} length differs from channel 0"
        );
        assert_finite(what, ch);
    }
}

/// The tagging front end's log-mel parameters (`models/yamnet.toml`), read without ONNX Runtime.
pub fn yamnet_mel_params() -> MelParams {
    let dir = roomtone::models::models_dir();
    roomtone::models::Manifest::load(&dir, "yamnet")
        .ok()
        .and_then(|m| m.mel_params().ok().flatten())
        .unwrap_or_else(MelParams::yamnet)
}

/// Target `decode`: `AudioReader` blocks → `StreamResampler` to 16 and 48 kHz (all channels) and
/// mono → 16 kHz → log-mel (the tagging front end). Checks every block's rate, channel count and
/// lengths, that every sample is finite, and that the resamplers' totals are
/// `round(n · to / from)` and the mel frame count is what the mono signal's length gives.
pub fn decode(path: &Path, mel: &mut LogMel) -> Result<DecodeCounts, AudioError> {
    let mut reader = AudioReader::open(path)?;
    let info = reader.info().clone();
    let (rate, channels) = (info.sample_rate, info.channels);
    assert!(rate > 0, "opened with a 0 Hz rate");
    assert!(channels > 0, "opened with 0 channels");
    let mel_rate = mel.params().sample_rate;
    let mut r16 = StreamResampler::new(rate, 16_000, channels)?;
    let mut r48 = StreamResampler::new(rate, 48_000, channels)?;
    let mut rmono = StreamResampler::new(rate, mel_rate, 1)?;
    let (mut block, mut out) = (AudioBlock::default(), AudioBlock::default());
    let mut mono = vec![Vec::new()];
    let mut mel_out = Vec::new();
    let mut counts = DecodeCounts::default();
    let mut mono_samples = 0u64;
    mel.reset();
    let n_mels = mel.n_mels() as u64;
    let mut mel_push = |x: &[f32], mel: &mut LogMel, counts: &mut DecodeCounts| {
        mel_out.clear();
        let n = mel.push(x, &mut mel_out);
        assert_eq!(mel_out.len() as u64, n as u64 * n_mels, "mel frame size");
        assert_finite("log-mel", &mel_out);
        counts.mel_frames += n as u64;
    };
    loop {
        let more = reader.next_block(&mut block)?;
        if more {
            check_block("decoded block", &block, rate, channels);
            assert!(
                (1..=DEFAULT_BLOCK_FRAMES).contains(&block.frames()),
                "block of {} frames",
                block.frames()
            );
            counts.frames += block.frames() as u64;
            r16.process(&block.channels, &mut out)?;
            check_block("16 kHz", &out, 16_000, channels);
            counts.frames_16k += out.frames() as u64;
            r48.process(&block.channels, &mut out)?;
            check_block("48 kHz", &out, 48_000, channels);
            counts.frames_48k += out.frames() as u64;
            block.downmix_into(&mut mono[0]);
            rmono.process(&mono, &mut out)?;
        } else {
            assert_eq!(block.frames(), 0, "the last call returns an empty block");
            r16.finish(&mut out)?;
            check_block("16 kHz tail", &out, 16_000, channels);
            counts.frames_16k += out.frames() as u64;
            r48.finish(&mut out)?;
            check_block("48 kHz tail", &out, 48_000, channels);
            counts.frames_48k += out.frames() as u64;
            rmono.finish(&mut out)?;
        }
        check_block("mono", &out, mel_rate, 1);
        mono_samples += out.frames() as u64;
        mel_push(&out.channels[0], mel, &mut counts);
        if !more || cost(counts.frames, channels as u64, rate) > MAX_SAMPLES {
            break;
        }
    }
    if cost(counts.frames, channels as u64, rate) <= MAX_SAMPLES {
        // The whole stream went through: lengths must add up exactly.
        assert_eq!(reader.decoded_frames(), counts.frames, "decoded_frames()");
        assert_eq!(
            counts.frames_16k,
            r16.output_len(counts.frames),
            "16 kHz length"
        );
        assert_eq!(
            counts.frames_48k,
            r48.output_len(counts.frames),
            "48 kHz length"
        );
        assert_eq!(mono_samples, rmono.output_len(counts.frames), "mono length");
        let expected = mel.params().stft.frames_in(mono_samples as usize) as u64;
        assert_eq!(counts.mel_frames, expected, "mel frame count");
    }
    Ok(counts)
}

/// Target `info`: `roomtone info`'s per-file path (`audio::inspect`, then the text line and the JSON
/// record it prints). Checks the figures against themselves. Returns `None` for a skipped (too
/// long) input.
pub fn info(path: &Path) -> Result<Option<audio::FileInfo>, AudioError> {
    let Some(frames) = frames_within(path, MAX_SAMPLES)? else {
        return Ok(None);
    };
    let info = audio::inspect(path)?;
    assert!(info.sample_rate > 0 && info.channels > 0, "{info:?}");
    assert!(info.frames > 0, "inspect succeeded on 0 frames: {info:?}");
    assert_eq!(
        info.frames, frames,
        "inspect and a block loop disagree on the length"
    );
    assert!(
        info.duration_s.is_finite() && info.duration_s > 0.0,
        "{info:?}"
    );
    if let Some(p) = info.peak_dbfs {
        assert!(p.is_finite(), "peak {p} dBFS");
    }
    let line = roomtone::report::info_line(&info);
    assert!(!line.is_empty());
    serde_json::to_string(&info).expect("FileInfo serialises");
    Ok(Some(info))
}

/// Target `tag` (and `batch`'s per-file job without the later stages): `TagWorker::tag_with`
/// (decode → 16 kHz → log-mel → YAMNet → head → timeline), then what `tag` and `batch` write from
/// it: the JSON record, the CSV row and the spectrogram thumbnail. Returns `None` for a skipped
/// (too long) input.
pub fn tag(
    worker: &mut roomtone::classify::TagWorker<'_>,
    path: &Path,
) -> Result<Option<roomtone::classify::TagResult>, String> {
    use roomtone::report::html::spectrogram_png;
    use roomtone::report::{tag_csv_row, TagRecord};
    if frames_within(path, MAX_MODEL_SAMPLES)
        .map_err(|e| e.to_string())?
        .is_none()
    {
        return Ok(None);
    }
    let mut columns: Vec<Vec<f32>> = Vec::new();
    let result = worker
        .tag_with(path, |p| {
            assert_finite("patch scores", &p.scores);
            assert_finite("patch embedding", &p.embedding);
            assert_finite("patch signal features", &p.signal);
            assert_finite("patch mel band means", &p.mel_band_mean);
            assert!(p.end_s >= p.start_s, "patch ends before it starts");
            columns.push(p.mel_band_mean.clone());
        })
        .map_err(|e| e.to_string())?;
    assert!(result.duration_s.is_finite() && result.duration_s > 0.0);
    for l in &result.labels {
        assert!((0.0..=1.0).contains(&l.score), "label score {l:?}");
    }
    for s in &result.segments {
        assert!(s.start_s <= s.end_s && s.score.is_finite(), "segment {s:?}");
    }
    let _ = spectrogram_png(&columns);
    let record = TagRecord::Tagged(result.clone());
    serde_json::to_string(&record).expect("record serialises");
    assert!(!tag_csv_row(&record).is_empty());
    Ok(Some(result))
}

/// Target `separate`: `roomtone separate`'s per-file path (`separate_file` with DeepFilterNet3)
/// into `out_dir`; the two stems must have the input's rate, channels and length, finite samples,
/// and sum back to the input. Returns `false` for a skipped (too long) input.
pub fn separate(
    sep: &mut roomtone::separate::Separator<'_>,
    path: &Path,
    out_dir: &Path,
) -> Result<bool, String> {
    use roomtone::audio::OutputFormat;
    use roomtone::separate::{separate_file, SeparateConfig};
    let Some(frames) = frames_within(path, MAX_MODEL_SAMPLES).map_err(|e| e.to_string())? else {
        return Ok(false);
    };
    let config = SeparateConfig {
        format: OutputFormat::F32,
        force: true,
        ..SeparateConfig::default()
    };
    let summary = separate_file(sep, path, out_dir, &config, |_| {}).map_err(|e| e.to_string())?;
    assert_eq!(summary.frames, frames, "stem length");
    let speech = audio::read_all(Path::new(&summary.speech)).expect("speech stem reads back");
    let background =
        audio::read_all(Path::new(&summary.background)).expect("background stem reads back");
    let input = audio::read_all(path).map_err(|e| e.to_string())?;
    for stem in [&speech, &background] {
        check_block("stem", stem, input.sample_rate, input.channel_count());
        assert_eq!(stem.frames(), input.frames(), "stem length");
    }
    for c in 0..input.channel_count() {
        for i in 0..input.frames() {
            let sum = speech.channels[c][i] + background.channels[c][i];
            let x = input.channels[c][i];
            assert!(
                (sum - x).abs() <= 1e-4 * (1.0 + x.abs()),
                "channel {c} sample {i}: speech + background = {sum}, input {x}"
            );
        }
    }
    Ok(true)
}

/// Target `remix`: `roomtone remix --stems`'s per-file path without a separation model: the decoded
/// input is split into two stems (speech and background = input − speech, alternating 0.1 s
/// stretches where speech dominates) and remixed with every cleanup step, ducking, EBU R128
/// normalisation and the true-peak limiter, then written as a 24-bit WAV into `out_dir`. The output
/// must have the input's rate, channels and length and finite samples. Returns `false` for a skipped
/// (too long) input.
pub fn remix(path: &Path, out_dir: &Path) -> Result<bool, String> {
    use roomtone::dsp::{CleanupConfig, CLEANUP_ORDER};
    use roomtone::mix::{self, DuckConfig, LimiterConfig, RemixConfig};
    match frames_within(path, MAX_REMIX_SAMPLES) {
        Ok(Some(_)) => {}
        Ok(None) => return Ok(false),
        Err(e) => {
            // The stream fails within the cap, so reading it whole fails the same way at the same
            // point, and must do so without allocating what the header claims (a lying length).
            let whole = audio::read_all(path);
            assert!(
                whole.is_err(),
                "read_all reads what the block loop rejects: {e}"
            );
            return Err(e.to_string());
        }
    }
    let mixture = audio::read_all(path).map_err(|e| e.to_string())?;
    // A fixed, input-independent split: speech is the input scaled by a slow ramp, so both stems
    // carry signal and the ducker sees speech come and go.
    let mut speech = mixture.clone();
    let mut background = mixture.clone();
    for (s, b) in speech.channels.iter_mut().zip(&mut background.channels) {
        for (i, (s, b)) in s.iter_mut().zip(b.iter_mut()).enumerate() {
            let w = if (i / 4800) % 2 == 0 { 0.8 } else { 0.1 };
            *s *= w;
            *b *= 1.0 - w;
        }
    }
    let cleanup = CleanupConfig {
        steps: CLEANUP_ORDER.to_vec(),
        ..CleanupConfig::default()
    };
    let config = RemixConfig {
        background_gain_db: -6.0,
        duck: Some(DuckConfig {
            depth_db: 6.0,
            ..DuckConfig::default()
        }),
        cleanup,
        target_lufs: Some(-23.0),
        limiter: Some(LimiterConfig {
            ceiling_dbtp: -1.0,
            ..LimiterConfig::default()
        }),
        ..RemixConfig::default()
    };
    let (out, report) =
        mix::remix(&mixture, speech, background, &config).map_err(|e| e.to_string())?;
    check_block("remix", &out, mixture.sample_rate, mixture.channel_count());
    assert_eq!(out.frames(), mixture.frames(), "remix length");
    let json = serde_json::to_string(&report).expect("report serialises");
    assert!(!json.is_empty());
    let _ = roomtone::report::remix_summary(&out_dir.join("out.wav"), &report);
    let mut writer = audio::AudioOutput::create(
        &out_dir.join("out.wav"),
        out.sample_rate,
        out.channel_count(),
        audio::OutputFormat::Wav24,
        true,
    )
    .map_err(|e| e.to_string())?;
    writer.write_block(&out).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(true)
}
