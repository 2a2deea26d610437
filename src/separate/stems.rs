//! Files in, speech and background stems out: decode, resample to 48 kHz, one DeepFilterNet3 stream
//! per channel, resample back, blend, subtract, write atomically.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use super::dfn3::{ChunkConfig, Dfn3, Dfn3Session, Dfn3Stream, SAMPLE_RATE};
use super::SeparateError;
use crate::audio::{AudioBlock, AudioError, AudioReader, OutputFormat, StreamResampler, WavOutput};
use crate::models::SessionOptions;

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
    /// Graph-run chunking (bounded memory).
    pub chunks: ChunkConfig,
}

impl Default for SeparateConfig {
    fn default() -> Self {
        Self {
            atten_lim_db: None,
            strength: 1.0,
            format: OutputFormat::F32,
            force: false,
            chunks: ChunkConfig::default(),
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
}

/// `DIR/<stem>.speech.wav` and `DIR/<stem>.background.wav` for `input`.
pub fn stem_paths(input: &Path, out_dir: &Path) -> (PathBuf, PathBuf) {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    (
        out_dir.join(format!("{stem}.speech.wav")),
        out_dir.join(format!("{stem}.background.wav")),
    )
}

/// One worker: the shared model and this worker's sessions.
pub struct Separator<'m> {
    model: &'m Dfn3,
    session: Dfn3Session,
}

impl<'m> Separator<'m> {
    /// Opens this worker's sessions.
    pub fn new(
        model: &'m Dfn3,
        options: SessionOptions,
    ) -> Result<Self, crate::models::ModelError> {
        Ok(Self {
            model,
            session: model.session(options)?,
        })
    }
}

/// Separates `input` into two stems in `out_dir`. `progress` gets the seconds of input done so far.
pub fn separate_file(
    sep: &mut Separator<'_>,
    input: &Path,
    out_dir: &Path,
    config: &SeparateConfig,
    mut progress: impl FnMut(f64),
) -> Result<SeparateSummary, SeparateError> {
    let started = std::time::Instant::now();
    let weight = config.model_weight()?;
    let (speech_path, background_path) = stem_paths(input, out_dir);
    for p in [&speech_path, &background_path] {
        if !config.force && p.exists() {
            return Err(AudioError::OutputExists { path: p.clone() }.into());
        }
    }
    let mut reader = AudioReader::open(input)?;
    let info = reader.info().clone();
    let (sr, channels) = (info.sample_rate, info.channels);
    let model_err = |source| SeparateError::Model {
        path: input.to_path_buf(),
        source,
    };
    let mut speech_out =
        WavOutput::create(&speech_path, sr, channels, config.format, config.force)?;
    let mut background_out =
        WavOutput::create(&background_path, sr, channels, config.format, config.force)?;
    let mut to48 = StreamResampler::new(sr, SAMPLE_RATE, channels)?;
    let mut back = StreamResampler::new(SAMPLE_RATE, sr, channels)?;
    let mut streams: Vec<Dfn3Stream<'_>> = (0..channels)
        .map(|_| sep.model.stream(config.chunks))
        .collect();
    let mut state = Pipeline {
        pending_in: vec![VecDeque::new(); channels],
        enhanced48: vec![Vec::new(); channels],
        block48: AudioBlock::default(),
        back_out: AudioBlock::default(),
        speech: AudioBlock::new(sr, channels),
        background: AudioBlock::new(sr, channels),
        weight,
        written: 0,
    };
    let mut block = AudioBlock::default();
    let mut frames_in = 0u64;
    let mut last_report = 0.0;
    while reader.next_block(&mut block)? {
        frames_in += block.frames() as u64;
        for (q, ch) in state.pending_in.iter_mut().zip(&block.channels) {
            q.extend(ch.iter().copied());
        }
        to48.process(&block.channels, &mut state.block48)?;
        for (c, stream) in streams.iter_mut().enumerate() {
            stream
                .process(
                    &mut sep.session,
                    &state.block48.channels[c],
                    &mut state.enhanced48[c],
                )
                .map_err(model_err)?;
        }
        state.drain(&mut back, false, &mut speech_out, &mut background_out)?;
        let done = frames_in as f64 / f64::from(sr);
        if done - last_report >= 60.0 {
            last_report = done;
            progress(done);
        }
    }
    to48.finish(&mut state.block48)?;
    for (c, stream) in streams.iter_mut().enumerate() {
        stream
            .process(
                &mut sep.session,
                &state.block48.channels[c],
                &mut state.enhanced48[c],
            )
            .map_err(model_err)?;
        stream
            .finish(&mut sep.session, &mut state.enhanced48[c])
            .map_err(model_err)?;
    }
    state.drain(&mut back, true, &mut speech_out, &mut background_out)?;
    // Exact length: the 48 kHz round trip can be a sample off at rates above 48 kHz.
    if state.written < frames_in {
        let missing = (frames_in - state.written) as usize;
        for c in 0..channels {
            state.back_out.channels[c].clear();
            state.back_out.channels[c].resize(missing, 0.0);
        }
        state.mix(&mut speech_out, &mut background_out)?;
    }
    speech_out.finish()?;
    background_out.finish()?;
    Ok(SeparateSummary {
        input: input.display().to_string(),
        speech: speech_path.display().to_string(),
        background: background_path.display().to_string(),
        sample_rate: sr,
        channels,
        frames: frames_in,
        duration_s: frames_in as f64 / f64::from(sr),
        elapsed_s: started.elapsed().as_secs_f64(),
    })
}

/// Buffers between the model (48 kHz) and the stems (input rate).
struct Pipeline {
    /// Input samples waiting for their enhanced counterpart.
    pending_in: Vec<VecDeque<f32>>,
    /// Enhanced 48 kHz samples per channel not yet resampled back (channels advance unevenly).
    enhanced48: Vec<Vec<f32>>,
    block48: AudioBlock,
    back_out: AudioBlock,
    speech: AudioBlock,
    background: AudioBlock,
    weight: f32,
    written: u64,
}

impl Pipeline {
    /// Resamples the enhanced samples all channels have back to the input rate and writes stems.
    fn drain(
        &mut self,
        back: &mut StreamResampler,
        finish: bool,
        speech_out: &mut WavOutput,
        background_out: &mut WavOutput,
    ) -> Result<(), SeparateError> {
        let ready = self.enhanced48.iter().map(Vec::len).min().unwrap_or(0);
        if ready > 0 {
            let chunk: Vec<&[f32]> = self.enhanced48.iter().map(|c| &c[..ready]).collect();
            back.process(&chunk, &mut self.back_out)?;
            self.enhanced48.iter_mut().for_each(|c| {
                c.drain(..ready);
            });
            self.mix(speech_out, background_out)?;
        }
        if finish {
            back.finish(&mut self.back_out)?;
            self.mix(speech_out, background_out)?;
        }
        Ok(())
    }

    /// speech = w·enhanced + (1 − w)·input, background = input − speech, for `back_out`'s frames.
    fn mix(
        &mut self,
        speech_out: &mut WavOutput,
        background_out: &mut WavOutput,
    ) -> Result<(), SeparateError> {
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
        speech_out.write_block(&self.speech)?;
        background_out.write_block(&self.background)?;
        self.written += n as u64;
        Ok(())
    }
}
