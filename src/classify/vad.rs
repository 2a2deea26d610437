//! Dialogue regions: Silero VAD over the tag pass's 16 kHz mono stream, then hysteresis.
//!
//! The model (`models/silero_vad.toml`) gives one speech probability per 32 ms frame. A region opens
//! where the probability reaches [`RegionParams::on`], and closes only after it has stayed below
//! [`RegionParams::off`] for [`RegionParams::min_gap_s`], so the pauses between the words of a
//! line do not split it; regions shorter than [`RegionParams::min_speech_s`] are dropped.

use std::path::Path;

use ort::session::Session;
use ort::value::TensorRef;
use serde::{Deserialize, Serialize};

use crate::models::{self, Manifest, ModelError, SessionOptions};

/// Samples per frame at 16 kHz (32 ms).
pub(crate) const FRAME: usize = 512;
/// Samples of the previous frame put before each frame.
const CONTEXT: usize = 64;
/// LSTM state size.
const STATE: usize = 128;
/// Frames per model call (8.2 s).
const BLOCK_FRAMES: usize = 256;
/// The model's sample rate.
pub(crate) const VAD_RATE: u32 = 16_000;

/// Where someone speaks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeechSegment {
    /// Start in seconds.
    pub start_s: f64,
    /// End in seconds.
    pub end_s: f64,
    /// Mean speech probability over the region's frames.
    pub score: f32,
}

/// How frame probabilities become regions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegionParams {
    /// A region opens at a frame with at least this probability.
    pub on: f32,
    /// Frames below this count as a pause.
    pub off: f32,
    /// A pause shorter than this (seconds) stays inside the region.
    pub min_gap_s: f64,
    /// Regions shorter than this (seconds, before padding) are dropped.
    pub min_speech_s: f64,
    /// Added before and after each region (seconds), within the file.
    pub pad_s: f64,
    /// Run the model only near patches whose YAMNet speech score reaches this (see
    /// [`GatedVad`]); `None` runs it everywhere.
    pub gate: Option<f32>,
}

impl Default for RegionParams {
    /// The package's own defaults for the thresholds (0.5, and 0.15 below it to close); a pause
    /// of 0.5 s rather than its 0.1 s, so a line is one region; 0.25 s minimum; 50 ms padding.
    fn default() -> Self {
        Self {
            on: 0.5,
            off: 0.35,
            min_gap_s: 0.5,
            min_speech_s: 0.25,
            pad_s: 0.05,
            gate: Some(0.02),
        }
    }
}

/// The loaded VAD model (manifest checked; sessions are per worker).
pub struct Vad {
    manifest: Manifest,
}

impl Vad {
    /// Loads `models/silero_vad.toml` from `models_dir` and checks its file.
    pub fn load(models_dir: &Path) -> Result<Self, ModelError> {
        let manifest = Manifest::load(models_dir, "silero_vad")?;
        manifest.check_files()?;
        if manifest.graph("vad").is_none() || manifest.frontend.sample_rate != VAD_RATE {
            return Err(ModelError::Manifest {
                path: manifest.dir.with_extension("toml"),
                reason: format!("expected a graph with role \"vad\" at {VAD_RATE} Hz"),
            });
        }
        Ok(Self { manifest })
    }

    /// Opens the graph for one worker.
    pub fn session(&self, options: SessionOptions) -> Result<VadSession, ModelError> {
        let graph = self.manifest.graph("vad").expect("checked at load");
        let path = self.manifest.file_path(&graph.file);
        Ok(VadSession {
            session: models::session(&path, graph, options)?,
            path,
            h: vec![0.0; STATE],
            c: vec![0.0; STATE],
            context: vec![0.0; CONTEXT],
            rows: Vec::with_capacity(BLOCK_FRAMES * (CONTEXT + FRAME)),
        })
    }
}

/// One worker's VAD session: 16 kHz mono samples in, one speech probability per 32 ms frame out.
/// Consecutive [`VadSession::process`] calls continue one stream (LSTM state and the 64-sample
/// context carried) until [`VadSession::reset`].
pub struct VadSession {
    session: Session,
    path: std::path::PathBuf,
    h: Vec<f32>,
    c: Vec<f32>,
    /// The last `CONTEXT` samples of the stream so far (zeros at its start).
    context: Vec<f32>,
    rows: Vec<f32>,
}

impl VadSession {
    /// Starts a new stream: zero state and context.
    pub fn reset(&mut self) {
        self.h.fill(0.0);
        self.c.fill(0.0);
        self.context.fill(0.0);
    }

    /// Runs `samples` (the stream's next samples; a length that is not a whole number of frames
    /// is padded with zeros, so only a stream's last call should have one) and appends one
    /// probability per frame to `probs`.
    pub fn process(&mut self, samples: &[f32], probs: &mut Vec<f32>) -> Result<(), ModelError> {
        for block in samples.chunks(BLOCK_FRAMES * FRAME) {
            let n = block.len().div_ceil(FRAME);
            self.rows.clear();
            for f in 0..n {
                let frame = &block[f * FRAME..((f + 1) * FRAME).min(block.len())];
                self.rows.extend_from_slice(&self.context);
                self.rows.extend_from_slice(frame);
                self.rows.resize(self.rows.len() + FRAME - frame.len(), 0.0);
                let end = self.rows.len();
                self.context.copy_from_slice(&self.rows[end - CONTEXT..end]);
            }
            self.run(n, probs)?;
        }
        Ok(())
    }

    /// Runs the `n` rows in `rows`.
    fn run(&mut self, n: usize, probs: &mut Vec<f32>) -> Result<(), ModelError> {
        let path = &self.path;
        let fail = |e: ort::Error| ModelError::Session {
            path: path.clone(),
            reason: e.to_string(),
        };
        let input = TensorRef::from_array_view(([n, CONTEXT + FRAME], self.rows.as_slice()))
            .map_err(fail)?;
        let h =
            TensorRef::from_array_view(([1usize, 1, STATE], self.h.as_slice())).map_err(fail)?;
        let c =
            TensorRef::from_array_view(([1usize, 1, STATE], self.c.as_slice())).map_err(fail)?;
        let outputs = self
            .session
            .run(ort::inputs!["input" => input, "h" => h, "c" => c])
            .map_err(fail)?;
        let (_, p) = outputs["speech_probs"]
            .try_extract_tensor::<f32>()
            .map_err(fail)?;
        if p.len() != n {
            return Err(ModelError::Mismatch {
                path: path.clone(),
                reason: format!("{} probabilities for {n} frames", p.len()),
            });
        }
        // A NaN can only come from the model; read it as "no speech" rather than spread it.
        probs.extend(p.iter().map(|&v| if v.is_finite() { v } else { 0.0 }));
        let (_, hn) = outputs["hn"].try_extract_tensor::<f32>().map_err(fail)?;
        let (_, cn) = outputs["cn"].try_extract_tensor::<f32>().map_err(fail)?;
        let (hn, cn) = (hn.to_vec(), cn.to_vec());
        drop(outputs);
        self.h.copy_from_slice(&hn);
        self.c.copy_from_slice(&cn);
        Ok(())
    }
}

/// Frames per gating decision (2.05 s).
const GATE_FRAMES: usize = 64;
/// How far (seconds) a patch's speech evidence reaches beyond its own span.
const GATE_MARGIN_S: f64 = 0.5;

/// The VAD of one tag pass, run only where YAMNet hears speech: the stream is cut into blocks of
/// 64 frames (2.05 s); a block runs when a patch overlapping it (widened by 0.5 s each side) has
/// a speech score of at least the gate, or when no patch overlaps it at all (a long `--hop`);
/// otherwise its frames are 0 and the next block that runs starts a fresh stream. With no gate
/// every block runs.
pub struct GatedVad<'s> {
    session: &'s mut VadSession,
    gate: Option<f32>,
    /// Samples not yet decided, from frame `first_frame` on.
    queue: Vec<f32>,
    first_frame: usize,
    /// (start_s, end_s, speech score) of the patches that may still overlap an undecided block.
    evidence: Vec<(f64, f64, f32)>,
    /// Start of the latest patch seen.
    latest_patch_s: f64,
    probs: Vec<f32>,
    fresh: bool,
    /// Frames the model ran on.
    pub frames_run: usize,
    error: Option<ModelError>,
}

impl<'s> GatedVad<'s> {
    /// A pass over one file (the session is reset first).
    pub fn new(session: &'s mut VadSession, gate: Option<f32>) -> Self {
        session.reset();
        Self {
            session,
            gate,
            queue: Vec::new(),
            first_frame: 0,
            evidence: Vec::new(),
            latest_patch_s: f64::NEG_INFINITY,
            probs: Vec::new(),
            fresh: false,
            frames_run: 0,
            error: None,
        }
    }

    /// The stream's next samples (16 kHz mono).
    pub fn samples(&mut self, samples: &[f32]) {
        self.queue.extend_from_slice(samples);
        self.decide(false);
    }

    /// A patch's speech evidence (patches arrive in time order).
    pub(crate) fn patch(&mut self, start_s: f64, end_s: f64, speech: f32) {
        self.evidence.push((start_s, end_s, speech));
        self.latest_patch_s = start_s;
        self.decide(false);
    }

    /// Decides the rest and returns one probability per frame of the stream.
    pub fn finish(mut self) -> Result<Vec<f32>, ModelError> {
        self.decide(true);
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(std::mem::take(&mut self.probs)),
        }
    }

    fn decide(&mut self, last: bool) {
        let block = GATE_FRAMES * FRAME;
        let sr = f64::from(VAD_RATE);
        while self.error.is_none()
            && (self.queue.len() >= block || (last && !self.queue.is_empty()))
        {
            let n = self.queue.len().min(block);
            let b0 = (self.first_frame * FRAME) as f64 / sr;
            let b1 = b0 + n as f64 / sr;
            // Every patch that can overlap the widened block has been seen once one starts
            // beyond it.
            if !last && self.gate.is_some() && self.latest_patch_s < b1 + GATE_MARGIN_S {
                break;
            }
            let open = self
                .gate
                .is_none_or(|g| heard_or_unheard(&self.evidence, b0, b1, g));
            if open {
                if self.fresh {
                    self.session.reset();
                    self.fresh = false;
                }
                if let Err(e) = self.session.process(&self.queue[..n], &mut self.probs) {
                    self.error = Some(e);
                }
                self.frames_run += n.div_ceil(FRAME);
            } else {
                self.probs.resize(self.probs.len() + n.div_ceil(FRAME), 0.0);
                self.fresh = true;
            }
            self.queue.drain(..n);
            self.first_frame += n.div_ceil(FRAME);
            let next_b0 = (self.first_frame * FRAME) as f64 / sr;
            self.evidence
                .retain(|&(_, e, _)| e > next_b0 - GATE_MARGIN_S);
        }
    }
}

/// Whether a patch near `[b0, b1)` (`evidence`: (start, end, speech score), sorted by start)
/// reaches the gate `g`, or part of the block is near no patch at all (a `--hop` longer than a
/// patch leaves gaps: nothing says there is no speech there).
fn heard_or_unheard(evidence: &[(f64, f64, f32)], b0: f64, b1: f64, g: f32) -> bool {
    let mut covered_to = b0;
    for &(s, e, p) in evidence {
        if e + GATE_MARGIN_S <= b0 || s - GATE_MARGIN_S >= b1 {
            continue;
        }
        if p >= g || s - GATE_MARGIN_S > covered_to {
            return true;
        }
        covered_to = covered_to.max(e + GATE_MARGIN_S);
    }
    covered_to < b1
}

/// Turns frame probabilities (one per `frame_s` seconds from 0) into dialogue regions within
/// `[0, duration_s]`.
pub fn regions(
    probs: &[f32],
    frame_s: f64,
    duration_s: f64,
    params: &RegionParams,
) -> Vec<SpeechSegment> {
    let gap_frames = (params.min_gap_s / frame_s).round() as usize;
    // (first frame, last frame) of each region, before the minimum-length rule.
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut open: Option<(usize, usize)> = None; // (start, last frame at or above `off`)
    for (i, &p) in probs.iter().enumerate() {
        match open {
            None if p >= params.on => open = Some((i, i)),
            None => {}
            Some((start, _)) if p >= params.off => open = Some((start, i)),
            Some((start, last)) if i - last > gap_frames => {
                spans.push((start, last));
                open = None;
            }
            Some(_) => {}
        }
    }
    spans.extend(open);
    spans
        .into_iter()
        .filter(|&(a, b)| (b + 1 - a) as f64 * frame_s >= params.min_speech_s)
        .filter_map(|(a, b)| {
            // Milliseconds are finer than any editor's frame.
            let ms = |t: f64| (t * 1000.0).round() / 1000.0;
            let start_s = ms((a as f64 * frame_s - params.pad_s).max(0.0));
            let end_s = ms(((b + 1) as f64 * frame_s + params.pad_s).min(duration_s));
            (end_s > start_s).then(|| SpeechSegment {
                start_s,
                end_s,
                score: probs[a..=b].iter().sum::<f32>() / (b + 1 - a) as f32,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: f64 = 0.032;

    fn frames(pattern: &[(f32, usize)]) -> Vec<f32> {
        pattern
            .iter()
            .flat_map(|&(p, n)| std::iter::repeat_n(p, n))
            .collect()
    }

    #[test]
    fn a_short_pause_stays_inside_a_line_and_a_long_one_splits_it() {
        let p = RegionParams::default();
        // 1 s speech, 0.32 s pause (10 frames), 1 s speech, 1.6 s pause, 0.64 s speech.
        let probs = frames(&[
            (0.0, 10),
            (0.9, 31),
            (0.1, 10),
            (0.9, 31),
            (0.1, 50),
            (0.8, 20),
            (0.0, 10),
        ]);
        let r = regions(&probs, F, 10.0, &p);
        assert_eq!(r.len(), 2, "{r:?}");
        assert!((r[0].start_s - (10.0 * F - 0.05)).abs() < 6e-4);
        assert!((r[0].end_s - (82.0 * F + 0.05)).abs() < 6e-4);
        assert!((r[1].start_s - (132.0 * F - 0.05)).abs() < 6e-4);
        assert!(r[0].score > 0.7 && r[0].score < 0.9);
    }

    #[test]
    fn hysteresis_keeps_a_region_open_between_the_two_thresholds() {
        let p = RegionParams::default();
        let probs = frames(&[(0.6, 10), (0.4, 100), (0.2, 30)]);
        let r = regions(&probs, F, 10.0, &p);
        assert_eq!(r.len(), 1);
        assert!((r[0].end_s - (110.0 * F + 0.05)).abs() < 6e-4);
        // Below `on` throughout: nothing opens.
        assert!(regions(&frames(&[(0.45, 200)]), F, 10.0, &p).is_empty());
    }

    #[test]
    fn the_gate_opens_for_speech_nearby_or_where_no_patch_listened() {
        // Patches of 0.96 s every 0.48 s with no speech: closed.
        let quiet: Vec<(f64, f64, f32)> = (0..20)
            .map(|i| (i as f64 * 0.48, i as f64 * 0.48 + 0.96, 0.0))
            .collect();
        assert!(!heard_or_unheard(&quiet, 2.048, 4.096, 0.02));
        // One patch with speech near the block (within the 0.5 s margin): open.
        let mut speech = quiet.clone();
        speech[10].2 = 0.3; // 4.8-5.76 s: 0.5 s margin reaches back to 4.3, not to 4.096
        assert!(!heard_or_unheard(&speech, 2.048, 4.096, 0.02));
        speech[9].2 = 0.3; // 4.32-5.28 s: reaches back to 3.82
        assert!(heard_or_unheard(&speech, 2.048, 4.096, 0.02));
        // Patches every 10 s (--hop 10): the gaps between them are unheard, so open.
        let sparse = [(0.0, 0.96, 0.0), (10.0, 10.96, 0.0)];
        assert!(heard_or_unheard(&sparse, 2.048, 4.096, 0.02));
        assert!(!heard_or_unheard(&sparse, 0.0, 1.0, 0.02));
        // No patch at all: open.
        assert!(heard_or_unheard(&[], 0.0, 2.048, 0.02));
    }

    #[test]
    fn blips_are_dropped_and_regions_stay_within_the_file() {
        let p = RegionParams::default();
        assert!(regions(&frames(&[(0.0, 5), (0.99, 5), (0.0, 50)]), F, 2.0, &p).is_empty());
        let r = regions(&frames(&[(0.9, 40)]), F, 1.2, &p);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].start_s, 0.0);
        assert_eq!(r[0].end_s, 1.2);
        assert!(regions(&[], F, 0.0, &p).is_empty());
    }
}
