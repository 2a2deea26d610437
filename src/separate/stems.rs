//! Files in, speech and background stems out: decode, resample to the model's rate (48 kHz for
//! DeepFilterNet3 and the ensemble, 16 kHz for Conv-TasNet), one [`Estimator`] per channel, resample
//! back, blend, subtract, write atomically.

use std::collections::{HashMap, VecDeque};
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use super::convtasnet::{ConvTasNet, SegmentConfig};
use super::dfn3::{ChunkConfig, Dfn3};
use super::estimator::{
    CtnEstimator, Dfn3Estimator, EnsembleEstimator, Estimator, Failure, Sessions,
};
use super::fusion::{self, Fusion};
use super::{ModelChoice, SeparateError};
use crate::audio::{
    finish_pair, AudioBlock, AudioError, AudioOutput, AudioReader, OutputFormat, StreamResampler,
};
use crate::models::{ModelContext, SessionOptions};

/// Options of a separation run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeparateConfig {
    /// Cap on the noise reduction, dB (`None` or ≥ 100 = no cap): speech keeps at least
    /// `10^(−atten_lim_db/20)` of the input.
    pub atten_lim_db: Option<f32>,
    /// 0 … 1: 1 = the model's output, 0 = the input unchanged (all in the speech stem).
    pub strength: f32,
    /// Stem sample format.
    pub format: OutputFormat,
    /// Replace existing stems.
    pub force: bool,
    /// Graph-run chunking of DeepFilterNet3 (bounded memory).
    pub chunks: ChunkConfig,
    /// Which model runs (the [`Separator`] must have loaded it).
    pub model: ModelChoice,
    /// Segmenting of Conv-TasNet runs (bounded memory).
    pub ctn_segments: SegmentConfig,
}

impl Default for SeparateConfig {
    fn default() -> Self {
        Self {
            atten_lim_db: None,
            strength: 1.0,
            format: OutputFormat::F32,
            force: false,
            chunks: ChunkConfig::default(),
            model: ModelChoice::default(),
            ctn_segments: SegmentConfig::default(),
        }
    }
}

impl SeparateConfig {
    /// Weight of the model output in the speech stem (the rest is the input).
    pub fn model_weight(&self) -> Result<f32, SeparateError> {
        if !(0.0..=1.0).contains(&self.strength) {
            return Err(SeparateError::InvalidOption {
                name: "strength",
                reason: format!("{} is not within 0..1", self.strength),
            });
        }
        let floor = match self.atten_lim_db {
            Some(db) if db.is_nan() || db < 0.0 => {
                return Err(SeparateError::InvalidOption {
                    name: "atten-lim-db",
                    reason: format!("{db} is not a non-negative number of dB"),
                })
            }
            Some(db) if db < 100.0 => 10f32.powf(-db / 20.0),
            _ => 0.0,
        };
        Ok(self.strength * (1.0 - floor))
    }
}

/// What one separated file produced.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SeparateSummary {
    /// The input as given.
    pub input: String,
    /// Speech stem path.
    pub speech: String,
    /// Background stem path.
    pub background: String,
    /// Sample rate, Hz (the input's).
    pub sample_rate: u32,
    /// Channels (the input's).
    pub channels: usize,
    /// Length in sample frames (the input's).
    pub frames: u64,
    /// Duration, s.
    pub duration_s: f64,
    /// Wall-clock processing time, s.
    pub elapsed_s: f64,
    /// What was repaired while reading the input (e.g. damaged samples replaced by silence).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The stems `roomtone separate` writes for `input` in `out_dir` in `format`:
/// `DIR/<name>.speech.wav` and `DIR/<name>.background.wav` (`.flac` for FLAC), where `<name>` is
/// the input's file name without its extension (`take.mov` → `take.speech.wav`). Two inputs with
/// the same name would write the same stems: [`check_stem_names`] refuses them up front.
/// `roomtone remix --stems DIR` reads these names.
pub fn stem_paths(input: &Path, out_dir: &Path, format: OutputFormat) -> (PathBuf, PathBuf) {
    stem_pair(out_dir, &stem_name(input), format.extension())
}

/// `DIR/<name>.speech.EXT` and `DIR/<name>.background.EXT` (`name` taken byte for byte).
pub(crate) fn stem_pair(dir: &Path, name: &OsStr, extension: &str) -> (PathBuf, PathBuf) {
    let with = |stem: &str| {
        let mut n = name.to_os_string();
        n.push(format!(".{stem}.{extension}"));
        dir.join(n)
    };
    (with("speech"), with("background"))
}

/// The `<name>` of [`stem_paths`]: the file name without its extension (`output` if there is none).
fn stem_name(input: &Path) -> OsString {
    input
        .file_stem()
        .map_or_else(|| OsString::from("output"), OsStr::to_os_string)
}

/// Refuses inputs that would write the same stems into one folder (`a/take.wav` and
/// `b/take.mov` both give `take.speech.wav`): the error names both, before anything is written.
pub fn check_stem_names(inputs: &[PathBuf]) -> Result<(), SeparateError> {
    let mut seen: HashMap<OsString, &PathBuf> = HashMap::new();
    for input in inputs {
        if let Some(first) = seen.insert(stem_name(input), input) {
            let (speech, _) = stem_paths(input, Path::new(""), OutputFormat::Wav24);
            return Err(SeparateError::StemNameClash {
                first: first.clone(),
                second: input.clone(),
                stem: speech,
            });
        }
    }
    Ok(())
}

/// The loaded models a [`ModelChoice`] needs, shared by all workers.
#[derive(Default)]
pub struct Backends {
    /// DeepFilterNet3 (for `dfn3` and `ensemble`).
    pub dfn3: Option<Dfn3>,
    /// Conv-TasNet (for `convtasnet` and `ensemble`).
    pub convtasnet: Option<ConvTasNet>,
    /// Fusion weights (for `ensemble`).
    pub fusion: Option<Fusion>,
}

impl Backends {
    /// Loads what `choice` needs from `context.dir` (Conv-TasNet at `context.precision`, fusion
    /// weights from `separation/fusion.json`). A missing model is named, with the set-up to run.
    pub fn load(context: &ModelContext, choice: ModelChoice) -> Result<Self, SeparateError> {
        let models_dir = context.dir.as_path();
        let precision = context.precision;
        let mut b = Self::default();
        if matches!(choice, ModelChoice::Dfn3 | ModelChoice::Ensemble) {
            b.dfn3 = Some(
                Dfn3::load(models_dir).map_err(|source| SeparateError::Unavailable {
                    model: "dfn3",
                    source,
                })?,
            );
        }
        if matches!(choice, ModelChoice::ConvTasNet | ModelChoice::Ensemble) {
            b.convtasnet = Some(ConvTasNet::load(models_dir, precision).map_err(|source| {
                SeparateError::Unavailable {
                    model: "convtasnet",
                    source,
                }
            })?);
        }
        if choice == ModelChoice::Ensemble {
            b.fusion = Some(Fusion::load(&fusion::default_path(models_dir))?);
        }
        Ok(b)
    }
}

/// One worker: the shared models and this worker's sessions.
pub struct Separator<'m> {
    dfn3: Option<&'m Dfn3>,
    ctn: Option<&'m ConvTasNet>,
    fusion: Option<&'m Fusion>,
    sessions: Sessions,
}

impl<'m> Separator<'m> {
    /// Opens this worker's DeepFilterNet3 sessions (for `--model dfn3`).
    pub fn new(
        model: &'m Dfn3,
        options: SessionOptions,
    ) -> Result<Self, crate::models::ModelError> {
        Ok(Self {
            dfn3: Some(model),
            ctn: None,
            fusion: None,
            sessions: Sessions {
                dfn3: Some(model.session(options)?),
                ctn: None,
            },
        })
    }

    /// Opens this worker's sessions for every model in `backends`, with the session options of
    /// `context` (Conv-TasNet gains from intra-op threads, DeepFilterNet3's small graphs lose:
    /// BENCHMARKS.md).
    pub fn from_backends(
        backends: &'m Backends,
        context: &ModelContext,
    ) -> Result<Self, SeparateError> {
        let (dfn3_options, ctn_options) = (context.dfn3, context.convtasnet);
        let dfn3_session = match &backends.dfn3 {
            Some(m) => {
                Some(
                    m.session(dfn3_options)
                        .map_err(|source| SeparateError::Unavailable {
                            model: "dfn3",
                            source,
                        })?,
                )
            }
            None => None,
        };
        let ctn_session = match &backends.convtasnet {
            Some(m) => {
                Some(
                    m.session(ctn_options)
                        .map_err(|source| SeparateError::Unavailable {
                            model: "convtasnet",
                            source,
                        })?,
                )
            }
            None => None,
        };
        Ok(Self {
            dfn3: backends.dfn3.as_ref(),
            ctn: backends.convtasnet.as_ref(),
            fusion: backends.fusion.as_ref(),
            sessions: Sessions {
                dfn3: dfn3_session,
                ctn: ctn_session,
            },
        })
    }

    /// A fresh estimator for one channel of a `config.model` run.
    fn estimator(&self, config: &SeparateConfig) -> Result<Box<dyn Estimator + 'm>, SeparateError> {
        let missing = |what| SeparateError::NotLoaded {
            choice: config.model,
            missing: what,
        };
        let dfn3 = self.dfn3.ok_or_else(|| missing("dfn3"));
        let ctn = self.ctn.ok_or_else(|| missing("convtasnet"));
        Ok(match config.model {
            ModelChoice::Dfn3 => Box::new(Dfn3Estimator::new(dfn3?, config.chunks)),
            ModelChoice::ConvTasNet => Box::new(CtnEstimator::new(ctn?, config.ctn_segments)),
            ModelChoice::Ensemble => {
                let fusion = self.fusion.ok_or_else(|| missing("fusion weights"))?;
                Box::new(EnsembleEstimator::new(
                    dfn3?,
                    ctn?,
                    fusion,
                    config.chunks,
                    config.ctn_segments,
                )?)
            }
        })
    }
}

/// An estimator's failure as the error of the input being separated.
fn failure(input: &Path, choice: ModelChoice, f: Failure) -> SeparateError {
    match f {
        Failure::Model(source) => SeparateError::Model {
            path: input.to_path_buf(),
            source,
        },
        Failure::Audio(e) => e.into(),
        Failure::NotLoaded(missing) => SeparateError::NotLoaded { choice, missing },
    }
}

/// Separates `input` into two stems in `out_dir`, named by [`stem_paths`] for `config.format`.
/// `progress` gets the seconds of input done so far.
pub fn separate_file(
    sep: &mut Separator<'_>,
    input: &Path,
    out_dir: &Path,
    config: &SeparateConfig,
    progress: impl FnMut(f64),
) -> Result<SeparateSummary, SeparateError> {
    let (speech, background) = stem_paths(input, out_dir, config.format);
    separate_file_to(sep, input, (&speech, &background), config, progress)
}

/// Separates `input` into the stems `(speech, background)`: both are written or neither is.
///
/// Without `config.force` an existing pair is kept (an error); a lone stem, which only a failed
/// run can leave, is replaced. `progress` gets the seconds of input done so far.
pub(crate) fn separate_file_to(
    sep: &mut Separator<'_>,
    input: &Path,
    (speech_path, background_path): (&Path, &Path),
    config: &SeparateConfig,
    progress: impl FnMut(f64),
) -> Result<SeparateSummary, SeparateError> {
    let started = std::time::Instant::now();
    let (speech_exists, background_exists) = (speech_path.exists(), background_path.exists());
    if !config.force && speech_exists && background_exists {
        return Err(AudioError::OutputExists {
            path: speech_path.to_path_buf(),
        }
        .into());
    }
    let force = config.force || speech_exists || background_exists;
    let mut reader = AudioReader::open(input)?;
    let info = reader.info().clone();
    let (sr, channels) = (info.sample_rate, info.channels);
    let create = |path: &Path| {
        AudioOutput::create_with_layout(path, sr, channels, info.channel_mask, config.format, force)
    };
    let mut sink = WavPair {
        speech: create(speech_path)?,
        background: create(background_path)?,
    };
    let frames_in = run(
        sep,
        input,
        (sr, channels),
        |block| Ok(reader.next_block(block)?),
        &mut sink,
        config,
        progress,
    )?;
    finish_pair(sink.speech, sink.background)?;
    Ok(SeparateSummary {
        input: input.display().to_string(),
        speech: speech_path.display().to_string(),
        background: background_path.display().to_string(),
        sample_rate: sr,
        channels,
        frames: frames_in,
        duration_s: frames_in as f64 / f64::from(sr),
        elapsed_s: started.elapsed().as_secs_f64(),
        warnings: reader
            .damaged_samples()
            .map(|d| d.describe(sr))
            .into_iter()
            .collect(),
    })
}

/// Writes two stems in memory to `(speech, background)` (`format`, replacing what is there with
/// `force`): both files or neither.
pub(crate) fn write_stems(
    (speech_path, background_path): (&Path, &Path),
    speech: &AudioBlock,
    background: &AudioBlock,
    (format, channel_mask): (OutputFormat, Option<u32>),
    force: bool,
) -> Result<(), AudioError> {
    let create = |path: &Path, block: &AudioBlock| {
        let mut w = AudioOutput::create_with_layout(
            path,
            block.sample_rate,
            block.channel_count(),
            channel_mask,
            format,
            force,
        )?;
        w.write_block(block)?;
        Ok::<_, AudioError>(w)
    };
    let s = create(speech_path, speech)?;
    let b = create(background_path, background)?;
    finish_pair(s, b).map(|_| ())
}

/// Separates audio already in memory (`mixture`, decoded from `input`, which only names it in
/// errors) and returns `(speech, background)` with the mixture's rate, channels and length. This is
/// what `roomtone remix` uses when it separates: no second decode, no stems on disk.
pub fn separate_block(
    sep: &mut Separator<'_>,
    input: &Path,
    mixture: &AudioBlock,
    config: &SeparateConfig,
) -> Result<(AudioBlock, AudioBlock), SeparateError> {
    let (sr, channels) = (mixture.sample_rate, mixture.channel_count());
    let total = mixture.frames();
    // The block's fields are public: a caller can build one decode never would.
    let invalid = |reason: String| AudioError::InvalidStream {
        path: input.to_path_buf(),
        reason,
    };
    if sr == 0 || channels == 0 {
        return Err(invalid(format!("{sr} Hz, {channels} channels")).into());
    }
    if let Some((c, ch)) = mixture
        .channels
        .iter()
        .enumerate()
        .find(|(_, ch)| ch.len() != total)
    {
        return Err(invalid(format!(
            "channel {c} has {} frames, channel 0 has {total}",
            ch.len()
        ))
        .into());
    }
    let mut sink = MemoryPair(AudioBlock::new(sr, channels), AudioBlock::new(sr, channels));
    let mut at = 0usize;
    run(
        sep,
        input,
        (sr, channels),
        |block| {
            if at >= total {
                return Ok(false);
            }
            let n = MEMORY_BLOCK.min(total - at);
            block.sample_rate = sr;
            block.channels.resize(channels, Vec::new());
            for (dst, src) in block.channels.iter_mut().zip(&mixture.channels) {
                dst.clear();
                dst.extend_from_slice(&src[at..at + n]);
            }
            at += n;
            Ok(true)
        },
        &mut sink,
        config,
        |_| {},
    )?;
    Ok((sink.0, sink.1))
}

/// Frames per block when separating audio held in memory.
const MEMORY_BLOCK: usize = 8192;

/// Where finished stem frames go.
trait StemSink {
    fn write(&mut self, speech: &AudioBlock, background: &AudioBlock) -> Result<(), SeparateError>;
}

/// The two stem files.
struct WavPair {
    speech: AudioOutput,
    background: AudioOutput,
}

impl StemSink for WavPair {
    fn write(&mut self, speech: &AudioBlock, background: &AudioBlock) -> Result<(), SeparateError> {
        self.speech.write_block(speech)?;
        self.background.write_block(background)?;
        Ok(())
    }
}

/// The two stems in memory.
struct MemoryPair(AudioBlock, AudioBlock);

impl StemSink for MemoryPair {
    fn write(&mut self, speech: &AudioBlock, background: &AudioBlock) -> Result<(), SeparateError> {
        for (dst, src) in [(&mut self.0, speech), (&mut self.1, background)] {
            for (d, s) in dst.channels.iter_mut().zip(&src.channels) {
                d.extend_from_slice(s);
            }
        }
        Ok(())
    }
}

/// The separation itself: blocks from `next_block` (at `sr` Hz, `channels` channels) through the
/// models, stems into `sink`, exactly as many frames as came in (returned).
fn run(
    sep: &mut Separator<'_>,
    input: &Path,
    (sr, channels): (u32, usize),
    mut next_block: impl FnMut(&mut AudioBlock) -> Result<bool, SeparateError>,
    sink: &mut dyn StemSink,
    config: &SeparateConfig,
    mut progress: impl FnMut(f64),
) -> Result<u64, SeparateError> {
    let weight = config.model_weight()?;
    let mut estimators = (0..channels)
        .map(|_| sep.estimator(config))
        .collect::<Result<Vec<_>, _>>()?;
    let rate = estimators.first().map_or(sr, |e| e.sample_rate());
    let mut to_model = StreamResampler::new(sr, rate, channels)?;
    let mut back = StreamResampler::new(rate, sr, channels)?;
    let mut state = Pipeline {
        pending_in: vec![VecDeque::new(); channels],
        estimate: vec![Vec::new(); channels],
        block: AudioBlock::default(),
        model: config.model,
        back_out: AudioBlock::default(),
        speech: AudioBlock::new(sr, channels),
        background: AudioBlock::new(sr, channels),
        weight,
        written: 0,
    };
    let mut block = AudioBlock::default();
    let mut frames_in = 0u64;
    let mut last_report = 0.0;
    while next_block(&mut block)? {
        frames_in += block.frames() as u64;
        for (q, ch) in state.pending_in.iter_mut().zip(&block.channels) {
            q.extend(ch.iter().copied());
        }
        to_model.process(&block.channels, &mut state.block)?;
        state.step(&mut estimators, sep, false, input)?;
        state.drain(&mut back, false, sink)?;
        let done = frames_in as f64 / f64::from(sr);
        if done - last_report >= 60.0 {
            last_report = done;
            progress(done);
        }
    }
    to_model.finish(&mut state.block)?;
    state.step(&mut estimators, sep, true, input)?;
    state.drain(&mut back, true, sink)?;
    // Exact length: the round trip through the model's rate can be a sample off above that rate.
    if state.written < frames_in {
        let missing = (frames_in - state.written) as usize;
        for c in 0..channels {
            state.back_out.channels[c].clear();
            state.back_out.channels[c].resize(missing, 0.0);
        }
        state.mix(sink)?;
    }
    Ok(frames_in)
}

/// Buffers between the model (at its rate) and the stems (at the input's).
struct Pipeline {
    /// Input samples waiting for their enhanced counterpart.
    pending_in: Vec<VecDeque<f32>>,
    /// The estimate per channel, not yet resampled back (channels advance unevenly).
    estimate: Vec<Vec<f32>>,
    /// The input at the model's rate.
    block: AudioBlock,
    /// The model, for errors.
    model: ModelChoice,
    back_out: AudioBlock,
    speech: AudioBlock,
    background: AudioBlock,
    weight: f32,
    written: u64,
}

impl Pipeline {
    /// Runs each channel's estimator on its part of `block` (`finish`: the last block).
    fn step(
        &mut self,
        estimators: &mut [Box<dyn Estimator + '_>],
        sep: &mut Separator<'_>,
        finish: bool,
        input: &Path,
    ) -> Result<(), SeparateError> {
        for (c, estimator) in estimators.iter_mut().enumerate() {
            let out = &mut self.estimate[c];
            let mut run = || {
                estimator.process(&mut sep.sessions, &self.block.channels[c], out)?;
                if finish {
                    estimator.finish(&mut sep.sessions, out)?;
                }
                Ok(())
            };
            run().map_err(|f| failure(input, self.model, f))?;
        }
        Ok(())
    }

    /// Resamples the enhanced samples all channels have back to the input rate and writes stems.
    fn drain(
        &mut self,
        back: &mut StreamResampler,
        finish: bool,
        sink: &mut dyn StemSink,
    ) -> Result<(), SeparateError> {
        let ready = self.estimate.iter().map(Vec::len).min().unwrap_or(0);
        if ready > 0 {
            let chunk: Vec<&[f32]> = self.estimate.iter().map(|c| &c[..ready]).collect();
            back.process(&chunk, &mut self.back_out)?;
            self.estimate.iter_mut().for_each(|c| {
                c.drain(..ready);
            });
            self.mix(sink)?;
        }
        if finish {
            back.finish(&mut self.back_out)?;
            self.mix(sink)?;
        }
        Ok(())
    }

    /// speech = w·enhanced + (1 − w)·input, background = input − speech, for `back_out`'s frames.
    fn mix(&mut self, sink: &mut dyn StemSink) -> Result<(), SeparateError> {
        let available = self.pending_in.first().map_or(0, VecDeque::len);
        let n = self.back_out.frames().min(available);
        if n == 0 {
            return Ok(());
        }
        let w = self.weight;
        for c in 0..self.pending_in.len() {
            let (s, b) = (
                &mut self.speech.channels[c],
                &mut self.background.channels[c],
            );
            s.clear();
            b.clear();
            for (x, &e) in self.pending_in[c]
                .drain(..n)
                .zip(&self.back_out.channels[c][..n])
            {
                let sp = w * e + (1.0 - w) * x;
                s.push(sp);
                b.push(x - sp);
            }
        }
        sink.write(&self.speech, &self.background)?;
        self.written += n as u64;
        Ok(())
    }
}
