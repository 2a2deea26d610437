//! `ensemble`: fusion of the DeepFilterNet3 and Conv-TasNet speech estimates in DeepFilterNet3's STFT
//! domain (48 kHz, 960-sample Vorbis window, hop 480), per band and per DeepFilterNet3 local-SNR bin.
//!
//! For frame t and bin k: `S = w[b(k)][l(t)][0]·D + w[b][l][1]·C + w[b][l][2]·X` with D, C, X the STFTs
//! of the DeepFilterNet3 estimate, the Conv-TasNet estimate (at 48 kHz) and the mix; b(k) is the band
//! of the bin's centre frequency k·48000/960 in `band_edges_hz`, l(t) the bin of the lsnr DeepFilterNet3
//! uses for that frame, in `lsnr_edges_db`. Frame t covers samples [(t−1)·480, (t+1)·480) of the
//! aligned signals, DeepFilterNet3's analysis frame t; DeepFilterNet3 enhances (and gates by lsnr)
//! frame t at encoder step t + 2 (two frames of lookahead), so frame t pairs with the encoder's
//! `lsnr[t + 2]`, the same pairing as `scripts/fit_fusion.py` (branch `fuse`) fits the weights with.
//! Steps skipped as silent count as −15 dB. Window² overlap-adds to 1 at hop 480, so the synthesis
//! reconstructs perfectly (weights [1, 0, 0] give D back).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use realfft::num_complex::Complex32;

use super::dfn3::{Dfn3, BINS, FFT, HOP, LOOKAHEAD, SAMPLE_RATE};

/// What is wrong with a fusion file.
#[derive(Debug, thiserror::Error)]
#[error("{}: bad fusion weights: {reason}", path.display())]
pub struct FusionError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub reason: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FusionFile {
    version: u32,
    stft: StftSpec,
    band_edges_hz: Vec<f64>,
    lsnr_edges_db: Vec<f64>,
    weights: Vec<Vec<[f64; 3]>>,
    #[serde(default)]
    provenance: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct StftSpec {
    sample_rate: u32,
    n_fft: usize,
    hop: usize,
    window: String,
}

/// Validated fusion weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Fusion {
    band_edges_hz: Vec<f64>,
    lsnr_edges_db: Vec<f64>,
    /// `[band][lsnr bin][D, C, X]`.
    weights: Vec<Vec<[f32; 3]>>,
    /// Band of every bin.
    band_of_bin: Vec<usize>,
    /// Free text from the file.
    pub provenance: String,
}

/// `models/separation/fusion.json` under `models_dir`.
pub fn default_path(models_dir: &Path) -> PathBuf {
    models_dir.join("separation").join("fusion.json")
}

impl Fusion {
    /// Reads and validates a fusion file.
    pub fn load(path: &Path) -> Result<Self, FusionError> {
        let text = std::fs::read_to_string(path).map_err(|e| FusionError {
            path: path.to_path_buf(),
            reason: format!("cannot read: {e}"),
        })?;
        Self::from_json(&text, path)
    }

    /// Parses and validates fusion JSON; `path` is used in messages.
    pub fn from_json(text: &str, path: &Path) -> Result<Self, FusionError> {
        let bad = |reason: String| FusionError {
            path: path.to_path_buf(),
            reason,
        };
        let f: FusionFile = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        if f.version != 1 {
            return Err(bad(format!("version {} (this build reads 1)", f.version)));
        }
        let s = &f.stft;
        if (s.sample_rate, s.n_fft, s.hop, s.window.as_str()) != (SAMPLE_RATE, FFT, HOP, "vorbis") {
            return Err(bad(format!(
                "stft is {} Hz / n_fft {} / hop {} / {:?}; DeepFilterNet3's is {SAMPLE_RATE} / {FFT} / {HOP} / \"vorbis\"",
                s.sample_rate, s.n_fft, s.hop, s.window
            )));
        }
        let nyquist = f64::from(SAMPLE_RATE) / 2.0;
        let e = &f.band_edges_hz;
        if e.len() < 2 {
            return Err(bad("band_edges_hz needs at least 2 edges (one band)".into()));
        }
        if !e
            .iter()
            .all(|v| v.is_finite() && (0.0..=nyquist).contains(v))
        {
            return Err(bad(format!(
                "band_edges_hz {e:?} must lie within 0..={nyquist}"
            )));
        }
        if e.windows(2).any(|w| w[0] >= w[1]) {
            return Err(bad(format!(
                "band_edges_hz {e:?} is not strictly increasing"
            )));
        }
        let l = &f.lsnr_edges_db;
        if !l.iter().all(|v| v.is_finite()) || l.windows(2).any(|w| w[0] >= w[1]) {
            return Err(bad(format!(
                "lsnr_edges_db {l:?} must be finite and strictly increasing"
            )));
        }
        let (bands, bins) = (e.len() - 1, l.len() + 1);
        if f.weights.len() != bands || f.weights.iter().any(|b| b.len() != bins) {
            let found: Vec<usize> = f.weights.iter().map(Vec::len).collect();
            return Err(bad(format!(
                "weights must be [{bands} bands][{bins} lsnr bins][3]; found {} bands with {found:?} lsnr bins",
                f.weights.len()
            )));
        }
        if f.weights.iter().flatten().flatten().any(|w| !w.is_finite()) {
            return Err(bad("weights must be finite numbers".into()));
        }
        let weights = f
            .weights
            .iter()
            .map(|b| {
                b.iter()
                    .map(|w| [w[0] as f32, w[1] as f32, w[2] as f32])
                    .collect()
            })
            .collect();
        let band_of_bin = (0..BINS)
            .map(|k| {
                let hz = k as f64 * f64::from(SAMPLE_RATE) / FFT as f64;
                e[1..bands].iter().filter(|&&edge| edge <= hz).count()
            })
            .collect();
        Ok(Self {
            band_edges_hz: f.band_edges_hz,
            lsnr_edges_db: f.lsnr_edges_db,
            weights,
            band_of_bin,
            provenance: f.provenance,
        })
    }

    /// The same weights `[D, C, X]` everywhere (one band, one lsnr bin).
    pub fn uniform(w: [f32; 3]) -> Self {
        Self {
            band_edges_hz: vec![0.0, f64::from(SAMPLE_RATE) / 2.0],
            lsnr_edges_db: Vec::new(),
            weights: vec![vec![w]],
            band_of_bin: vec![0; BINS],
            provenance: "uniform".into(),
        }
    }

    /// Number of bands.
    pub fn bands(&self) -> usize {
        self.band_edges_hz.len() - 1
    }

    /// LSNR bin of `lsnr` dB.
    fn lsnr_bin(&self, lsnr: f32) -> usize {
        self.lsnr_edges_db
            .iter()
            .filter(|&&e| e <= f64::from(lsnr))
            .count()
    }
}

/// Streaming fusion of one channel: D, C, X at 48 kHz (sample-aligned) and DeepFilterNet3's `lsnr`
/// per hop in, S out, exactly as long as the inputs after [`Fuser::finish`].
pub(crate) struct Fuser<'m> {
    dfn3: &'m Dfn3,
    fusion: &'m Fusion,
    /// Pending samples of D, C, X.
    queues: [VecDeque<f32>; 3],
    lsnr: VecDeque<f32>,
    /// lsnr values still to drop (the first `LOOKAHEAD` steps belong to no frame).
    lsnr_skip: usize,
    /// Previous hop of D, C, X.
    prev: [Vec<f32>; 3],
    ola: Vec<f32>,
    /// Frames done (the next frame is `frames`); output lags one hop.
    frames: u64,
    frame: Vec<f32>,
    specs: [Vec<Complex32>; 3],
    scratch: Vec<Complex32>,
}

/// lsnr used for hops DeepFilterNet3 did not run (silence) and past its end: its minimum.
const LSNR_SILENT: f32 = -15.0;

impl<'m> Fuser<'m> {
    /// A new stream.
    pub(crate) fn new(dfn3: &'m Dfn3, fusion: &'m Fusion) -> Self {
        Self {
            dfn3,
            fusion,
            queues: Default::default(),
            lsnr: VecDeque::new(),
            lsnr_skip: LOOKAHEAD,
            prev: [vec![0.0; HOP], vec![0.0; HOP], vec![0.0; HOP]],
            ola: vec![0.0; HOP],
            frames: 0,
            frame: vec![0.0; FFT],
            specs: [
                vec![Complex32::default(); BINS],
                vec![Complex32::default(); BINS],
                vec![Complex32::default(); BINS],
            ],
            scratch: vec![Complex32::default(); dfn3.scratch_len()],
        }
    }

    /// Adds samples of D, C, X (any amounts) and the encoder's lsnr values (one per encoder step,
    /// i.e. per 480-sample input hop, in order, as [`super::Dfn3Stream::take_lsnr`] gives them);
    /// appends the fused output that is ready to `out`.
    pub(crate) fn push(
        &mut self,
        d: &[f32],
        c: &[f32],
        x: &[f32],
        lsnr: &[f32],
        out: &mut Vec<f32>,
    ) {
        self.queues[0].extend(d);
        self.queues[1].extend(c);
        self.queues[2].extend(x);
        let skip = self.lsnr_skip.min(lsnr.len());
        self.lsnr_skip -= skip;
        self.lsnr.extend(&lsnr[skip..]);
        while self.queues.iter().all(|q| q.len() >= HOP) && !self.lsnr.is_empty() {
            let l = self.lsnr.pop_front().unwrap_or(LSNR_SILENT);
            self.frame_step(l, out);
        }
    }

    /// Ends the stream: `total` is the length of the inputs; pads with zeros, flushes, and makes the
    /// total output exactly `total`.
    pub(crate) fn finish(&mut self, total: u64, out: &mut Vec<f32>) {
        // Frames needed: hops 0..ceil(total/480), plus one to complete the last hop.
        let hops = total.div_ceil(HOP as u64);
        while self.frames <= hops {
            for q in &mut self.queues {
                if q.len() < HOP {
                    q.resize(HOP, 0.0);
                }
            }
            let l = self.lsnr.pop_front().unwrap_or(LSNR_SILENT);
            self.frame_step(l, out);
        }
        let emitted = self.frames.saturating_sub(1) * HOP as u64;
        // Drop what lies past the end.
        let extra = emitted.saturating_sub(total) as usize;
        out.truncate(out.len() - extra.min(out.len()));
    }

    fn frame_step(&mut self, lsnr: f32, out: &mut Vec<f32>) {
        for i in 0..3 {
            self.frame[..HOP].copy_from_slice(&self.prev[i]);
            for (j, s) in self.queues[i].drain(..HOP).enumerate() {
                self.frame[HOP + j] = s;
                self.prev[i][j] = s;
            }
            self.dfn3
                .analyse(&mut self.frame, &mut self.specs[i], &mut self.scratch);
        }
        let l = self.fusion.lsnr_bin(lsnr);
        let [d, c, x] = &mut self.specs;
        for k in 0..BINS {
            let w = self.fusion.weights[self.fusion.band_of_bin[k]][l];
            d[k] = d[k] * w[0] + c[k] * w[1] + x[k] * w[2];
        }
        self.dfn3.synthesise(d, &mut self.frame, &mut self.scratch);
        if self.frames > 0 {
            out.extend((0..HOP).map(|i| self.frame[i] + self.ola[i]));
        }
        self.ola.copy_from_slice(&self.frame[HOP..]);
        self.frames += 1;
    }
}

/// Fuses whole signals at once (tests and tools).
pub fn fuse(
    dfn3: &Dfn3,
    fusion: &Fusion,
    d: &[f32],
    c: &[f32],
    x: &[f32],
    lsnr: &[f32],
) -> Vec<f32> {
    let mut fuser = Fuser::new(dfn3, fusion);
    let mut out = Vec::with_capacity(x.len());
    fuser.push(d, c, x, lsnr, &mut out);
    fuser.finish(x.len() as u64, &mut out);
    out
}
