//! DeepFilterNet3 around its three ONNX graphs: STFT, ERB and complex features with running
//! normalisation, encoder / ERB decoder / deep-filter decoder, ERB gains, deep filter, ISTFT.
//!
//! The constants and the alignment are the reference implementation's (libDF's `DfTract::process`
//! with `atten_lim = 100`, `compensate_delay = true`, no post filter), as the numpy oracle
//! `scripts/dfn3_oracle.py` restates them step by step; `tests/data/dfn3_reference.f32` is the
//! reference runtime's output that the tests hold this module to. A stream is run in chunks of
//! frames. The `*_state.onnx` graphs (derived at set-up) take and return their GRU states, so each
//! chunk starts its GRUs where the previous run left them; every chunk after the first is preceded by
//! warm-up frames (the end of the previous chunk's features) that restore the convolutions' history
//! and whose outputs are thrown away.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ort::session::{Session, SessionOutputs};
use ort::value::TensorRef;
use realfft::num_complex::Complex32;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use crate::models::{self, Manifest, ModelError, SessionOptions};

/// Sample rate the model runs at, Hz.
pub const SAMPLE_RATE: u32 = 48_000;
/// FFT and frame length, samples.
pub const FFT: usize = 960;
/// Hop between frames, samples.
pub const HOP: usize = 480;
/// Spectrum bins (`FFT / 2 + 1`).
pub(crate) const BINS: usize = FFT / 2 + 1;
/// ERB bands.
pub(crate) const NB_ERB: usize = 32;
/// Bins (from 0 Hz) that get the deep filter (0 .. 4750 Hz).
pub(crate) const NB_DF: usize = 96;
/// Deep-filter taps.
pub(crate) const DF_ORDER: usize = 5;
/// Frames of lookahead: the output of step t belongs to frame t − 2.
pub(crate) const LOOKAHEAD: usize = 2;
/// Algorithmic delay removed from the output, samples (30 ms).
pub const DELAY: usize = (FFT - HOP) + LOOKAHEAD * HOP;
/// Running-normalisation coefficient (libDF rounds exp(−hop/sr/τ) = 0.99005 to 0.99).
const ALPHA: f32 = 0.99;
/// Hops whose mean power is below this are skipped (zeros out, no state change), as in libDF.
const SILENCE_MEAN_POWER: f32 = 1e-7;
/// The model's local-SNR range, dB: below → zero output, above → input unchanged.
const LSNR_MIN: f32 = -15.0;
const LSNR_MAX: f32 = 35.0;
/// Frames of noisy spectrum the deep filter looks back over (taps t−4 .. t).
const X_CONTEXT: usize = DF_ORDER - 1;

/// How a stream is cut into graph runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkConfig {
    /// New frames per graph run (100 frames = 1 s). `usize::MAX` runs the whole stream at once.
    pub chunk_frames: usize,
    /// Frames of the previous chunk run again before each chunk (the convolutions' history; the GRU
    /// state is carried).
    pub warmup_frames: usize,
}

impl Default for ChunkConfig {
    /// 5 s chunks with 1 s of warm-up: 20 % extra compute, about 200 MB peak RSS (20 s chunks
    /// need about 630 MB, because ONNX Runtime's intermediate tensors grow with the frame count).
    fn default() -> Self {
        Self {
            chunk_frames: 500,
            warmup_frames: 100,
        }
    }
}

impl ChunkConfig {
    /// Chunks of `chunk_s` seconds (at least one frame) with `warmup_s` seconds of warm-up.
    pub fn from_seconds(chunk_s: f64, warmup_s: f64) -> Self {
        let frames = |s: f64| (s.max(0.0) * f64::from(SAMPLE_RATE) / HOP as f64).round() as usize;
        Self {
            chunk_frames: frames(chunk_s).max(1),
            warmup_frames: frames(warmup_s),
        }
    }

    /// Everything in one graph run (exact, memory grows with the length).
    pub fn whole() -> Self {
        Self {
            chunk_frames: usize::MAX,
            warmup_frames: 0,
        }
    }
}

/// The loaded model: manifest, window, ERB bands and FFT plans. Shared and immutable; give each worker
/// its own [`Dfn3Session`] and each channel its own [`Dfn3Stream`].
pub struct Dfn3 {
    manifest: Manifest,
    window: Vec<f32>,
    /// Band index of every bin.
    band_of_bin: Vec<usize>,
    /// Bins per band.
    erb_widths: Vec<usize>,
    forward: Arc<dyn RealToComplex<f32>>,
    inverse: Arc<dyn ComplexToReal<f32>>,
}

impl Dfn3 {
    /// Loads `models/dfn3.toml` from `models_dir` and checks the files are there.
    pub fn load(models_dir: &Path) -> Result<Self, ModelError> {
        let manifest = Manifest::load(models_dir, "dfn3")?;
        manifest.check_files()?;
        for role in ["encoder", "erb-decoder", "df-decoder"] {
            if manifest.graph(role).is_none() {
                return Err(ModelError::Manifest {
                    path: manifest.dir.with_extension("toml"),
                    reason: format!("no graph with role {role:?}"),
                });
            }
        }
        let erb_widths = erb_widths();
        let band_of_bin = erb_widths
            .iter()
            .enumerate()
            .flat_map(|(b, &w)| std::iter::repeat_n(b, w))
            .collect();
        let mut planner = RealFftPlanner::<f32>::new();
        Ok(Self {
            manifest,
            window: vorbis_window(),
            band_of_bin,
            erb_widths,
            forward: planner.plan_fft_forward(FFT),
            inverse: planner.plan_fft_inverse(FFT),
        })
    }

    /// Opens the three graphs for one worker.
    pub fn session(&self, options: SessionOptions) -> Result<Dfn3Session, ModelError> {
        let open = |role: &str| -> Result<(Session, PathBuf), ModelError> {
            let graph = self
                .manifest
                .graph(role)
                .ok_or_else(|| ModelError::Manifest {
                    path: self.manifest.dir.with_extension("toml"),
                    reason: format!("no graph with role {role:?}"),
                })?;
            let path = self.manifest.file_path(&graph.file);
            Ok((models::session(&path, graph, options)?, path))
        };
        let (enc, enc_path) = open("encoder")?;
        let (erb_dec, erb_path) = open("erb-decoder")?;
        let (df_dec, df_path) = open("df-decoder")?;
        Ok(Dfn3Session {
            enc,
            erb_dec,
            df_dec,
            paths: [enc_path, erb_path, df_path],
            erb_in: Vec::new(),
            spec_in: Vec::new(),
        })
    }

    /// A fresh per-channel stream.
    pub fn stream(&self, chunks: ChunkConfig) -> Dfn3Stream<'_> {
        Dfn3Stream::new(self, chunks)
    }

    /// Forward STFT of one 960-sample frame (`[previous hop, this hop]`): window, real FFT, × 1/960.
    /// `frame` (960) is used as scratch, `spec` gets 481 bins, `scratch` needs [`Dfn3::scratch_len`].
    pub(crate) fn analyse(
        &self,
        frame: &mut [f32],
        spec: &mut [Complex32],
        scratch: &mut [Complex32],
    ) {
        frame
            .iter_mut()
            .zip(&self.window)
            .for_each(|(s, w)| *s *= w);
        // Lengths are fixed by construction, so the transform cannot fail.
        let _ = self.forward.process_with_scratch(frame, spec, scratch);
        let wnorm = 1.0 / FFT as f32;
        spec.iter_mut().for_each(|c| *c *= wnorm);
    }

    /// FFT scratch length for [`Dfn3::analyse`] and [`Dfn3::synthesise`].
    pub(crate) fn scratch_len(&self) -> usize {
        self.forward
            .get_scratch_len()
            .max(self.inverse.get_scratch_len())
    }

    /// Unnormalised inverse FFT of `spec` (modified), windowed; 960 samples into `frame`. Overlap-adding
    /// consecutive frames of [`Dfn3::analyse`]'s spectra reconstructs the input delayed by 480 samples.
    pub(crate) fn synthesise(
        &self,
        spec: &mut [Complex32],
        frame: &mut [f32],
        scratch: &mut [Complex32],
    ) {
        spec[0].im = 0.0;
        spec[BINS - 1].im = 0.0;
        let _ = self.inverse.process_with_scratch(spec, frame, scratch);
        frame
            .iter_mut()
            .zip(&self.window)
            .for_each(|(s, w)| *s *= w);
    }
}

/// `w[n] = sin(π/2 · sin²(π (n + 0.5) / 480))`, computed in f64.
fn vorbis_window() -> Vec<f32> {
    (0..FFT)
        .map(|n| {
            let s = (0.5 * std::f64::consts::PI * (n as f64 + 0.5) / (FFT / 2) as f64).sin();
            (0.5 * std::f64::consts::PI * s * s).sin() as f32
        })
        .collect()
}

/// Bins per ERB band, computed in f32 like libDF (at least 2 bins per band, 481 in all).
pub(crate) fn erb_widths() -> Vec<usize> {
    let freq2erb = |f: f32| 9.265 * (1.0 + f / (24.7 * 9.265)).ln();
    let erb2freq = |e: f32| 24.7 * 9.265 * ((e / 9.265).exp() - 1.0);
    let lo = freq2erb(0.0);
    let hi = freq2erb((SAMPLE_RATE / 2) as f32);
    let step = (hi - lo) / NB_ERB as f32;
    let bin_hz = SAMPLE_RATE as f32 / FFT as f32;
    let (mut widths, mut prev, mut over) = (Vec::with_capacity(NB_ERB), 0i64, 0i64);
    for i in 1..=NB_ERB {
        let f = erb2freq(lo + i as f32 * step);
        let fb = (f / bin_hz).round() as i64;
        let mut n = fb - prev - over;
        if n < 2 {
            over = 2 - n;
            n = 2;
        } else {
            over = 0;
        }
        widths.push(n);
        prev = fb;
    }
    widths[NB_ERB - 1] += 1;
    let too_large = widths.iter().sum::<i64>() - BINS as i64;
    if too_large > 0 {
        widths[NB_ERB - 1] -= too_large;
    }
    widths.into_iter().map(|w| w.max(0) as usize).collect()
}

/// One worker's three ONNX Runtime sessions (they run with `&mut self`).
pub struct Dfn3Session {
    enc: Session,
    erb_dec: Session,
    df_dec: Session,
    paths: [PathBuf; 3],
    erb_in: Vec<f32>,
    spec_in: Vec<f32>,
}

/// Hidden size of every GRU in the three graphs.
const GRU_HIDDEN: usize = 256;

/// The recurrent state of one stream: the hidden state of each GRU (encoder 1, ERB decoder 2,
/// deep-filter decoder 2; inputs `h0_i` / outputs `hseq_i` of the `*_state.onnx` graphs). Zeros at the
/// start of a stream; carried from one chunk to the next so chunking does not restart the GRUs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GruState {
    h: [Vec<f32>; 5],
}

impl Default for GruState {
    fn default() -> Self {
        Self {
            h: std::array::from_fn(|_| vec![0.0; GRU_HIDDEN]),
        }
    }
}

impl GruState {
    /// Back to zeros (a new stream).
    pub(crate) fn reset(&mut self) {
        self.h
            .iter_mut()
            .for_each(|h| h.iter_mut().for_each(|v| *v = 0.0));
    }
}

/// What the graphs decide for a run of frames.
#[derive(Debug, Default, Clone)]
pub(crate) struct GraphOutput {
    /// ERB gains, `[frames][32]`.
    pub(crate) gains: Vec<f32>,
    /// Deep-filter coefficients, `[frames][96][5 taps × (re, im)]`.
    pub(crate) coefs: Vec<f32>,
    /// Local SNR estimate per frame, dB.
    pub(crate) lsnr: Vec<f32>,
}

impl Dfn3Session {
    /// Runs encoder and both decoders over `frames` frames of features: `feat_erb` is
    /// `[frames][32]`, `feat_spec` is `[frames][re 96, im 96]`. The GRUs start from `state`; with
    /// `carry_after = Some(f)` (f < frames), `state` becomes their state after frame `f` of this run,
    /// ready for a next run that starts at frame `f + 1`.
    pub(crate) fn run(
        &mut self,
        feat_erb: &[f32],
        feat_spec: &[f32],
        frames: usize,
        state: &mut GruState,
        carry_after: Option<usize>,
        out: &mut GraphOutput,
    ) -> Result<(), ModelError> {
        self.stage_inputs(feat_erb, feat_spec, frames)?;
        let paths = &self.paths;
        let fail = |graph: usize| session_error(paths, graph);
        let erb = TensorRef::from_array_view(([1usize, 1, frames, NB_ERB], self.erb_in.as_slice()))
            .map_err(fail(0))?;
        let spec =
            TensorRef::from_array_view(([1usize, 2, frames, NB_DF], self.spec_in.as_slice()))
                .map_err(fail(0))?;
        let h =
            |i: usize| TensorRef::from_array_view(([1usize, 1, GRU_HIDDEN], state.h[i].as_slice()));
        let enc = self
            .enc
            .run(ort::inputs![
                "feat_erb" => erb,
                "feat_spec" => spec,
                "h0_0" => h(0).map_err(fail(0))?,
            ])
            .map_err(fail(0))?;
        let erb_dec = self
            .erb_dec
            .run(ort::inputs![
                "emb" => &enc["emb"],
                "e3" => &enc["e3"],
                "e2" => &enc["e2"],
                "e1" => &enc["e1"],
                "e0" => &enc["e0"],
                "h0_0" => h(1).map_err(fail(1))?,
                "h0_1" => h(2).map_err(fail(1))?,
            ])
            .map_err(fail(1))?;
        let df_dec = self
            .df_dec
            .run(ort::inputs![
                "emb" => &enc["emb"],
                "c0" => &enc["c0"],
                "h0_0" => h(3).map_err(fail(2))?,
                "h0_1" => h(4).map_err(fail(2))?,
            ])
            .map_err(fail(2))?;
        copy_output(&erb_dec, "m", &mut out.gains).map_err(fail(1))?;
        copy_output(&df_dec, "coefs", &mut out.coefs).map_err(fail(2))?;
        copy_output(&enc, "lsnr", &mut out.lsnr).map_err(fail(0))?;
        if let Some(f) = carry_after.filter(|&f| f < frames) {
            let gru = |outputs, graph, index| GruOutput {
                outputs,
                graph,
                index,
            };
            let grus = [
                gru(&enc, 0, 0),
                gru(&erb_dec, 1, 0),
                gru(&erb_dec, 1, 1),
                gru(&df_dec, 2, 0),
                gru(&df_dec, 2, 1),
            ];
            state.h = state_after(&grus, f, frames, paths)?;
        }
        check_output_sizes(out, frames, &paths[0])
    }

    /// Checks the feature lengths and lays them out as the encoder takes them: ERB features as they
    /// are, the complex features from `[frames][re 96, im 96]` to `[re, im][frames][96]`.
    fn stage_inputs(
        &mut self,
        feat_erb: &[f32],
        feat_spec: &[f32],
        frames: usize,
    ) -> Result<(), ModelError> {
        if feat_erb.len() != frames * NB_ERB || feat_spec.len() != frames * 2 * NB_DF {
            return Err(ModelError::Mismatch {
                path: self.paths[0].clone(),
                reason: format!(
                    "{frames} frames need {} ERB and {} spectrum values, got {} and {}",
                    frames * NB_ERB,
                    frames * 2 * NB_DF,
                    feat_erb.len(),
                    feat_spec.len()
                ),
            });
        }
        self.erb_in.clear();
        self.erb_in.extend_from_slice(feat_erb);
        self.spec_in.clear();
        self.spec_in.resize(frames * 2 * NB_DF, 0.0);
        let (re, im) = self.spec_in.split_at_mut(frames * NB_DF);
        for (t, f) in feat_spec.chunks_exact(2 * NB_DF).enumerate() {
            re[t * NB_DF..(t + 1) * NB_DF].copy_from_slice(&f[..NB_DF]);
            im[t * NB_DF..(t + 1) * NB_DF].copy_from_slice(&f[NB_DF..]);
        }
        Ok(())
    }
}

/// The three graphs alone on ready-made features, for `benches/separate.rs` (feature
/// `bench-internals`; not part of the API).
#[cfg(feature = "bench-internals")]
#[doc(hidden)]
#[derive(Default)]
pub struct GraphBench {
    state: GruState,
    out: GraphOutput,
}

#[cfg(feature = "bench-internals")]
impl GraphBench {
    /// One run from zero GRU state over `frames` frames (see [`Dfn3Session::run`]'s layout).
    pub fn run(
        &mut self,
        session: &mut Dfn3Session,
        feat_erb: &[f32],
        feat_spec: &[f32],
        frames: usize,
    ) -> Result<(), ModelError> {
        self.state.reset();
        session.run(
            feat_erb,
            feat_spec,
            frames,
            &mut self.state,
            None,
            &mut self.out,
        )
    }
}

/// Where one GRU's hidden-state sequence (`hseq_{index}`, `[frames][256]`) is among a run's outputs:
/// those of graph `graph` (0 encoder, 1 ERB decoder, 2 deep-filter decoder).
struct GruOutput<'o, 'r> {
    outputs: &'o SessionOutputs<'r>,
    graph: usize,
    index: usize,
}

/// The hidden state of each GRU (`grus`, in [`GruState`] order) after frame `f` of a run of `frames`
/// frames.
fn state_after(
    grus: &[GruOutput<'_, '_>; 5],
    f: usize,
    frames: usize,
    paths: &[PathBuf; 3],
) -> Result<[Vec<f32>; 5], ModelError> {
    let mut next: [Vec<f32>; 5] = Default::default();
    for (h, gru) in next.iter_mut().zip(grus) {
        let k = gru.index;
        let (_, seq) = gru.outputs[format!("hseq_{k}").as_str()]
            .try_extract_tensor::<f32>()
            .map_err(session_error(paths, gru.graph))?;
        let after_f = seq
            .get(f * GRU_HIDDEN..(f + 1) * GRU_HIDDEN)
            .ok_or_else(|| ModelError::Mismatch {
                path: paths[gru.graph].clone(),
                reason: format!("hseq_{k} has {} values for {frames} frames", seq.len()),
            })?;
        *h = after_f.to_vec();
    }
    Ok(next)
}

/// Checks that the graphs gave one value set per frame: 32 gains, 96 × 5 complex deep-filter
/// coefficients and one local SNR (an error names `encoder`, the encoder's file).
fn check_output_sizes(out: &GraphOutput, frames: usize, encoder: &Path) -> Result<(), ModelError> {
    let expect = [frames * NB_ERB, frames * NB_DF * 2 * DF_ORDER, frames];
    let found = [out.gains.len(), out.coefs.len(), out.lsnr.len()];
    if expect != found {
        return Err(ModelError::Mismatch {
            path: encoder.to_path_buf(),
            reason: format!("output sizes {found:?}, expected {expect:?}"),
        });
    }
    Ok(())
}

/// Turns a runtime error of graph `graph` (0 encoder, 1 ERB decoder, 2 deep-filter decoder) into a
/// model error naming that graph's file.
fn session_error(paths: &[PathBuf; 3], graph: usize) -> impl Fn(ort::Error) -> ModelError + '_ {
    move |e| ModelError::Session {
        path: paths[graph].clone(),
        reason: e.to_string(),
    }
}

/// Copies the f32 output `name` of one graph run into `into`.
fn copy_output(
    outputs: &SessionOutputs<'_>,
    name: &str,
    into: &mut Vec<f32>,
) -> Result<(), ort::Error> {
    let (_, values) = outputs[name].try_extract_tensor::<f32>()?;
    into.clear();
    into.extend_from_slice(values);
    Ok(())
}

/// Per-channel streaming state: 48 kHz mono samples in, enhanced samples out, sample-aligned with
/// the input (the 1440-sample delay is removed) and, after [`Dfn3Stream::finish`], exactly as long.
pub struct Dfn3Stream<'m> {
    model: &'m Dfn3,
    chunks: ChunkConfig,
    /// Samples of the hop being filled.
    partial: Vec<f32>,
    /// The previous processed (not gated) hop, for the analysis frame.
    prev_hop: Vec<f32>,
    erb_state: [f32; NB_ERB],
    spec_state: [f32; NB_DF],
    /// Features of warm-up frames followed by pending frames.
    feat_erb: Vec<f32>,
    feat_spec: Vec<f32>,
    /// How many of the leading feature frames are warm-up (already enhanced).
    warm: usize,
    /// Noisy spectra: 4 frames of context, then one per pending frame.
    spectra: Vec<Complex32>,
    /// Overlap-add memory of the synthesis.
    ola: Vec<f32>,
    /// Per input hop, in order: `true` if it goes through the model, `false` if gated (zeros).
    schedule: VecDeque<bool>,
    /// Synthesised output of processed hops not yet emitted.
    synth: VecDeque<f32>,
    /// Output samples still to drop for the delay compensation.
    to_skip: usize,
    samples_in: u64,
    samples_out: u64,
    /// Whether the local-SNR estimates are kept for [`Dfn3Stream::take_lsnr`].
    collect_lsnr: bool,
    /// lsnr of processed frames not yet emitted, in order.
    lsnr_pending: VecDeque<f32>,
    /// lsnr per emitted input hop (gated hops get `LSNR_MIN`), not yet taken.
    lsnr_out: Vec<f32>,
    graph: GraphOutput,
    /// GRU states at the start of the next chunk's first (warm-up) frame.
    gru: GruState,
    frame: Vec<f32>,
    spec: Vec<Complex32>,
    scratch: Vec<Complex32>,
}

impl<'m> Dfn3Stream<'m> {
    fn new(model: &'m Dfn3, chunks: ChunkConfig) -> Self {
        let scratch_len = model.scratch_len();
        let mut s = Self {
            model,
            chunks: ChunkConfig {
                chunk_frames: chunks.chunk_frames.max(1),
                warmup_frames: chunks.warmup_frames,
            },
            partial: Vec::with_capacity(HOP),
            prev_hop: vec![0.0; HOP],
            erb_state: [0.0; NB_ERB],
            spec_state: [0.0; NB_DF],
            feat_erb: Vec::new(),
            feat_spec: Vec::new(),
            warm: 0,
            spectra: Vec::new(),
            ola: vec![0.0; HOP],
            schedule: VecDeque::new(),
            synth: VecDeque::new(),
            to_skip: DELAY,
            samples_in: 0,
            samples_out: 0,
            collect_lsnr: false,
            lsnr_pending: VecDeque::new(),
            lsnr_out: Vec::new(),
            graph: GraphOutput::default(),
            gru: GruState::default(),
            frame: vec![0.0; FFT],
            spec: vec![Complex32::default(); BINS],
            scratch: vec![Complex32::default(); scratch_len],
        };
        s.reset();
        s
    }

    /// Back to the state of a new stream.
    pub fn reset(&mut self) {
        self.partial.clear();
        self.prev_hop.iter_mut().for_each(|s| *s = 0.0);
        for (b, s) in self.erb_state.iter_mut().enumerate() {
            *s = -60.0 - 30.0 * b as f32 / (NB_ERB - 1) as f32;
        }
        for (k, s) in self.spec_state.iter_mut().enumerate() {
            *s = 0.001 - 0.0009 * k as f32 / (NB_DF - 1) as f32;
        }
        self.feat_erb.clear();
        self.feat_spec.clear();
        self.gru.reset();
        self.warm = 0;
        self.spectra.clear();
        self.spectra.resize(X_CONTEXT * BINS, Complex32::default());
        self.ola.iter_mut().for_each(|s| *s = 0.0);
        self.schedule.clear();
        self.synth.clear();
        self.to_skip = DELAY;
        self.samples_in = 0;
        self.samples_out = 0;
        self.lsnr_pending.clear();
        self.lsnr_out.clear();
    }

    /// Keeps the encoder's local-SNR estimate of every input hop for [`Dfn3Stream::take_lsnr`].
    pub(crate) fn collect_lsnr(&mut self) {
        self.collect_lsnr = true;
    }

    /// Appends the encoder's lsnr (dB) of the input hops emitted since the last call to `out`, one per
    /// 480-sample hop in input order: entry t is encoder step t, whose output (and lsnr gate) belongs
    /// to frame t − 2 (samples [(t−3)·480, (t−1)·480) of the input). Hops skipped as silent get
    /// the model's minimum, −15 dB.
    /// Empty unless [`Dfn3Stream::collect_lsnr`] was called.
    pub(crate) fn take_lsnr(&mut self, out: &mut Vec<f32>) {
        out.append(&mut self.lsnr_out);
    }

    /// Feeds `input` (48 kHz) and appends the output that is ready to `out`.
    pub fn process(
        &mut self,
        session: &mut Dfn3Session,
        input: &[f32],
        out: &mut Vec<f32>,
    ) -> Result<(), ModelError> {
        self.samples_in += input.len() as u64;
        let mut rest = input;
        while !rest.is_empty() {
            let take = (HOP - self.partial.len()).min(rest.len());
            self.partial.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.partial.len() == HOP {
                self.push_hop(false);
                self.partial.clear();
                if self.pending() >= self.chunks.chunk_frames {
                    self.run_chunk(session)?;
                }
            }
        }
        self.emit(out, u64::MAX);
        Ok(())
    }

    /// Ends the stream: pads the last hop, pushes three zero hops through the model (bypassing the
    /// silence gate) to flush the 30 ms delay, and appends the rest of the output to `out`. Total
    /// output equals total input.
    pub fn finish(
        &mut self,
        session: &mut Dfn3Session,
        out: &mut Vec<f32>,
    ) -> Result<(), ModelError> {
        if !self.partial.is_empty() {
            self.partial.resize(HOP, 0.0);
            self.push_hop(false);
        }
        for _ in 0..DELAY / HOP {
            self.partial.clear();
            self.partial.resize(HOP, 0.0);
            self.push_hop(true);
        }
        self.partial.clear();
        if self.pending() > 0 {
            self.run_chunk(session)?;
        }
        let total = self.samples_in;
        self.emit(out, total);
        // Every hop is out now; anything short (cannot happen) is padded so the length is exact.
        while self.samples_out < total {
            out.push(0.0);
            self.samples_out += 1;
        }
        Ok(())
    }

    fn pending(&self) -> usize {
        self.feat_erb.len() / NB_ERB - self.warm
    }

    /// Analyses the full hop in `partial`: either gated (no state change) or analysed and its
    /// features queued.
    fn push_hop(&mut self, force: bool) {
        let power = self.partial.iter().map(|s| s * s).sum::<f32>() / HOP as f32;
        if !force && power < SILENCE_MEAN_POWER {
            self.schedule.push_back(false);
            return;
        }
        self.schedule.push_back(true);
        let m = self.model;
        self.frame[..HOP].copy_from_slice(&self.prev_hop);
        self.frame[HOP..].copy_from_slice(&self.partial);
        self.prev_hop.copy_from_slice(&self.partial);
        m.analyse(&mut self.frame, &mut self.spec, &mut self.scratch);
        // ERB features: mean band power in dB, minus a running mean, / 40.
        let mut start = 0;
        for (b, &w) in m.erb_widths.iter().enumerate() {
            let p = self.spec[start..start + w]
                .iter()
                .map(|c| c.re * c.re + c.im * c.im)
                .sum::<f32>()
                / w as f32;
            start += w;
            let db = 10.0 * (p + 1e-10).log10();
            let s = &mut self.erb_state[b];
            *s = db * (1.0 - ALPHA) + *s * ALPHA;
            self.feat_erb.push((db - *s) / 40.0);
        }
        // Complex features: spectrum / sqrt(running mean magnitude).
        let base = self.feat_spec.len();
        self.feat_spec.resize(base + 2 * NB_DF, 0.0);
        for k in 0..NB_DF {
            let c = self.spec[k];
            let u = &mut self.spec_state[k];
            *u = c.norm() * (1.0 - ALPHA) + *u * ALPHA;
            let d = u.sqrt();
            self.feat_spec[base + k] = c.re / d;
            self.feat_spec[base + NB_DF + k] = c.im / d;
        }
        self.spectra.extend_from_slice(&self.spec);
    }

    /// Runs the graphs over warm-up + pending frames and synthesises the pending ones.
    fn run_chunk(&mut self, session: &mut Dfn3Session) -> Result<(), ModelError> {
        let total = self.feat_erb.len() / NB_ERB;
        let warm = self.warm;
        let pending = total - warm;
        // The next run starts `keep` frames before this one's end (its warm-up, which restores the
        // convolutions' history); its GRUs start from their state just before those frames.
        let keep = self.chunks.warmup_frames.min(total);
        let carry_after = (total - keep).checked_sub(1);
        session.run(
            &self.feat_erb,
            &self.feat_spec,
            total,
            &mut self.gru,
            carry_after,
            &mut self.graph,
        )?;
        let m = self.model;
        let mut y = std::mem::take(&mut self.spec);
        for j in 0..pending {
            let t = warm + j;
            let cur = X_CONTEXT + j; // index of step t's frame in `spectra`
            let target = &self.spectra[(cur - LOOKAHEAD) * BINS..(cur - LOOKAHEAD + 1) * BINS];
            let lsnr = self.graph.lsnr[t];
            if self.collect_lsnr {
                self.lsnr_pending.push_back(lsnr);
            }
            if lsnr < LSNR_MIN {
                y.iter_mut().for_each(|c| *c = Complex32::default());
            } else if lsnr > LSNR_MAX {
                y.copy_from_slice(target);
            } else {
                let gains = &self.graph.gains[t * NB_ERB..(t + 1) * NB_ERB];
                for (k, (yk, xk)) in y.iter_mut().zip(target).enumerate().skip(NB_DF) {
                    *yk = xk * gains[m.band_of_bin[k]];
                }
                let coefs =
                    &self.graph.coefs[t * NB_DF * 2 * DF_ORDER..(t + 1) * NB_DF * 2 * DF_ORDER];
                for (k, yk) in y.iter_mut().enumerate().take(NB_DF) {
                    let c = &coefs[k * 2 * DF_ORDER..(k + 1) * 2 * DF_ORDER];
                    let mut acc = Complex32::default();
                    for i in 0..DF_ORDER {
                        let x = self.spectra[(cur + i - X_CONTEXT) * BINS + k];
                        acc += x * Complex32::new(c[2 * i], c[2 * i + 1]);
                    }
                    *yk = acc;
                }
            }
            m.synthesise(&mut y, &mut self.frame, &mut self.scratch);
            for i in 0..HOP {
                self.synth.push_back(self.frame[i] + self.ola[i]);
            }
            self.ola.copy_from_slice(&self.frame[HOP..]);
        }
        self.spec = y;
        // Keep the last `warmup_frames` frames of features and the last 4 spectra.
        self.feat_erb.drain(..(total - keep) * NB_ERB);
        self.feat_spec.drain(..(total - keep) * 2 * NB_DF);
        self.warm = keep;
        let frames = self.spectra.len() / BINS;
        self.spectra.drain(..(frames - X_CONTEXT) * BINS);
        Ok(())
    }

    /// Moves finished hops to `out` in input order (zeros for gated hops), dropping the first
    /// `DELAY` samples and anything past `limit` samples.
    fn emit(&mut self, out: &mut Vec<f32>, limit: u64) {
        while let Some(&active) = self.schedule.front() {
            if active && self.synth.len() < HOP {
                break;
            }
            self.schedule.pop_front();
            if self.collect_lsnr {
                let l = if active {
                    self.lsnr_pending.pop_front().unwrap_or(LSNR_MIN)
                } else {
                    LSNR_MIN
                };
                self.lsnr_out.push(l);
            }
            for _ in 0..HOP {
                let s = if active {
                    self.synth.pop_front().unwrap_or(0.0)
                } else {
                    0.0
                };
                if self.to_skip > 0 {
                    self.to_skip -= 1;
                } else if self.samples_out < limit {
                    out.push(s);
                    self.samples_out += 1;
                }
            }
        }
    }
}

/// Enhances a whole 48 kHz mono signal at once (tests and tools; holds everything in memory).
pub fn enhance(
    model: &Dfn3,
    session: &mut Dfn3Session,
    input: &[f32],
    chunks: ChunkConfig,
) -> Result<Vec<f32>, ModelError> {
    let mut stream = model.stream(chunks);
    let mut out = Vec::with_capacity(input.len());
    stream.process(session, input, &mut out)?;
    stream.finish(session, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erb_bands_match_libdf() {
        let w = erb_widths();
        let expect = [
            2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 5, 5, 7, 7, 8, 10, 12, 13, 15, 18, 20, 24, 28,
            31, 37, 42, 50, 56, 67,
        ];
        assert_eq!(w, expect);
        assert_eq!(w.iter().sum::<usize>(), BINS);
    }

    /// Overlap-adding `synthesise(analyse(frame))` over consecutive frames gives the input back,
    /// one hop late (the Vorbis window satisfies the Princen-Bradley condition).
    #[test]
    fn stft_istft_is_identity_delayed_by_one_hop() {
        let m = Dfn3::load(&models::models_dir()).expect("models/dfn3 fetched by scripts/setup.sh");
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let x: Vec<f32> = (0..SAMPLE_RATE as usize)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.5
            })
            .collect();
        let mut scratch = vec![Complex32::default(); m.scratch_len()];
        let mut frame = vec![0.0; FFT];
        let mut spec = vec![Complex32::default(); BINS];
        let mut ola = vec![0.0f32; HOP];
        let mut prev = vec![0.0f32; HOP];
        let mut out = Vec::new();
        for hop in x.chunks_exact(HOP) {
            frame[..HOP].copy_from_slice(&prev);
            frame[HOP..].copy_from_slice(hop);
            prev.copy_from_slice(hop);
            m.analyse(&mut frame, &mut spec, &mut scratch);
            m.synthesise(&mut spec, &mut frame, &mut scratch);
            out.extend(frame[..HOP].iter().zip(&ola).map(|(a, b)| a + b));
            ola.copy_from_slice(&frame[HOP..]);
        }
        let (mut signal, mut error) = (0.0f64, 0.0f64);
        for (&a, &b) in x.iter().zip(&out[HOP..]) {
            signal += f64::from(a).powi(2);
            error += f64::from(a - b).powi(2);
        }
        let snr = 10.0 * (signal / error.max(1e-300)).log10();
        assert!(snr > 100.0, "STFT -> ISTFT SNR {snr:.1} dB");
    }
}
