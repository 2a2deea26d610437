//! From patches to what a user reads: clip labels, the ambience, speech, a timeline, top classes.

use std::cell::RefCell;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::analysis::{Analyser, PatchAnalysis};
use super::head::{Head, Pooling};
use super::taxonomy::{LabelKind, Taxonomy};
use super::vad::{self, GatedVad, RegionParams, SpeechSegment, Vad, VadSession};
use super::yamnet::Yamnet;
use super::TagError;
use crate::models::{ModelContext, SessionOptions};

/// Which scores choose the ambience.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AmbienceModel {
    /// The trained head over YAMNet's embedding and signal features (the default when present).
    #[default]
    Head,
    /// The plain AudioSet class mapping of `models/tagging/taxonomy.toml` (for comparison).
    Mapping,
}

/// How files are tagged.
#[derive(Debug, Clone, PartialEq)]
pub struct TagConfig {
    /// Hop between 0.96 s patches in seconds.
    pub hop_s: f64,
    /// Timeline segments shorter than this are merged into a neighbour, in seconds.
    pub min_segment_s: f64,
    /// What chooses the ambience.
    pub ambience_model: AmbienceModel,
    /// Dialogue regions (`speech_segments`): how the voice-activity model's frames are joined, or
    /// `None` to skip the model (the records then have no regions).
    pub speech_regions: Option<RegionParams>,
}

impl TagConfig {
    /// Checks every setting against its range: hop in (0, 10] s, minimum segment in [0, 3600] s.
    pub fn validate(&self) -> Result<(), TagError> {
        if !(self.hop_s > 0.0 && self.hop_s <= 10.0) {
            return Err(TagError::InvalidOption {
                name: "--hop",
                reason: format!("{} s is not within (0, 10] seconds", self.hop_s),
            });
        }
        if !(0.0..=3600.0).contains(&self.min_segment_s) {
            return Err(TagError::InvalidOption {
                name: "--min-segment",
                reason: format!("{} s is not within [0, 3600] seconds", self.min_segment_s),
            });
        }
        Ok(())
    }
}

impl Default for TagConfig {
    fn default() -> Self {
        Self {
            hop_s: 0.48,
            min_segment_s: 2.0,
            ambience_model: AmbienceModel::Head,
            speech_regions: Some(RegionParams::default()),
        }
    }
}

/// A label and its clip-level score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelScore {
    /// Product label.
    pub label: String,
    /// Score in [0, 1].
    pub score: f32,
}

/// A stretch of the timeline with one ambience.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Start in seconds.
    pub start_s: f64,
    /// End in seconds.
    pub end_s: f64,
    /// Ambience label (or `silence` / `other`).
    pub label: String,
    /// Mean score of the label over the segment.
    pub score: f32,
}

/// A raw AudioSet class and its mean probability over the clip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassScore {
    /// AudioSet display name.
    pub class: String,
    /// Mean probability over the patches.
    pub score: f32,
}

/// Everything `roomtone tag` reports for one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagResult {
    /// The file as given.
    pub path: String,
    /// Decoded duration in seconds.
    pub duration_s: f64,
    /// Best ambience label (or `silence` / `other`).
    pub ambience: String,
    /// Every label at or above its threshold, best first.
    pub labels: Vec<LabelScore>,
    /// Whether dialogue is present.
    pub speech: bool,
    /// Ambience timeline.
    pub segments: Vec<Segment>,
    /// Where someone speaks (a voice-activity model's regions; pauses within a line do not split
    /// it). Empty when none, or when tagged with `speech_regions: None`.
    #[serde(default)]
    pub speech_segments: Vec<SpeechSegment>,
    /// The five AudioSet classes with the highest mean probability.
    pub audioset_top: Vec<ClassScore>,
    /// What was repaired while reading the file (e.g. damaged samples replaced by silence).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The shared, read-only part of tagging: model, taxonomy and head.
pub struct Tagger {
    model: Yamnet,
    vad: Vad,
    taxonomy: Taxonomy,
    head: Option<Head>,
    session: SessionOptions,
}

impl Tagger {
    /// Loads YAMNet, `tagging/taxonomy.toml` and (if present) `tagging/ambience_head.json` from
    /// `context.dir`; its workers' sessions run with `context.yamnet`.
    pub fn load(context: &ModelContext) -> Result<Self, TagError> {
        let models_dir = context.dir.as_path();
        let model = Yamnet::load(models_dir)?;
        let vad = Vad::load(models_dir)?;
        let taxonomy = Taxonomy::load(&Taxonomy::path_in(models_dir), model.class_names())?;
        let head_path = models_dir.join("tagging").join("ambience_head.json");
        let head = if head_path.exists() {
            let head = Head::load(&head_path)?;
            // Every label is an ambience of the taxonomy, but the head's "no ambience".
            for l in head
                .labels
                .iter()
                .filter(|&l| head.abstain_label.as_ref() != Some(l))
            {
                if taxonomy
                    .index(l)
                    .is_none_or(|i| taxonomy.labels[i].kind != LabelKind::Ambience)
                {
                    return Err(TagError::Data {
                        path: head_path,
                        reason: format!("label {l:?} is not an ambience label of taxonomy.toml"),
                    });
                }
            }
            Some(head)
        } else {
            None
        };
        Ok(Self {
            model,
            vad,
            taxonomy,
            head,
            session: context.yamnet,
        })
    }

    /// Whether a trained head is loaded.
    pub fn has_head(&self) -> bool {
        self.head.is_some()
    }

    /// A worker (own ONNX session and buffers) for tagging files one after another.
    pub fn worker(&self, config: &TagConfig) -> Result<TagWorker<'_>, TagError> {
        config.validate()?;
        Ok(TagWorker {
            tagger: self,
            analyser: Analyser::new(&self.model, config.hop_s, self.session)?,
            vad: match config.speech_regions {
                Some(_) => Some(self.vad.session(self.session)?),
                None => None,
            },
            config: config.clone(),
        })
    }
}

/// One worker: tags files sequentially.
pub struct TagWorker<'t> {
    tagger: &'t Tagger,
    analyser: Analyser<'t>,
    vad: Option<VadSession>,
    config: TagConfig,
}

/// Per-patch values kept for the clip decisions (the 521 scores are summed, not kept).
struct PatchRow {
    start_s: f64,
    level_db: f32,
    mapping: Vec<f32>,
    /// The head's probabilities.
    head: Vec<f32>,
    /// The head's logits, kept for a clip-pooled head (empty otherwise).
    logits: Vec<f32>,
}

impl TagWorker<'_> {
    /// Tags one file.
    pub fn tag(&mut self, path: &Path) -> Result<TagResult, TagError> {
        self.tag_with(path, |_| {})
    }

    /// Tags one file and shows every patch to `observe` as well (the batch report draws its
    /// spectrogram from them, so the file is decoded once).
    pub fn tag_with(
        &mut self,
        path: &Path,
        mut observe: impl FnMut(&PatchAnalysis),
    ) -> Result<TagResult, TagError> {
        let tagger = self.tagger;
        let head = match self.config.ambience_model {
            AmbienceModel::Head => tagger.head.as_ref(),
            AmbienceModel::Mapping => None,
        };
        let mut patches = Patches::new(&tagger.taxonomy, head, tagger.model.class_names().len());
        let gate = self.config.speech_regions.and_then(|r| r.gate);
        let dialogue = self
            .vad
            .as_mut()
            .map(|session| RefCell::new(GatedVad::new(session, gate)));
        let on_samples = |samples: &[f32]| {
            if let Some(d) = &dialogue {
                d.borrow_mut().samples(samples);
            }
            Ok(())
        };
        let analysed = self.analyser.analyse_with(
            path,
            |p: &PatchAnalysis| {
                observe(p);
                patches.push(p, dialogue.as_ref());
            },
            on_samples,
        );
        let probs = dialogue.map(|d| d.into_inner().finish());
        let summary = analysed?;
        let speech_segments = match (probs, &self.config.speech_regions) {
            (Some(probs), Some(params)) => vad::regions(
                &probs?,
                vad::FRAME as f64 / f64::from(vad::VAD_RATE),
                summary.duration_s,
                params,
            ),
            _ => Vec::new(),
        };
        let regions = self
            .config
            .speech_regions
            .map(|_| speech_segments.as_slice());
        let calls = patches.decide(summary.duration_s, self.config.min_segment_s, regions);
        Ok(TagResult {
            path: path.display().to_string(),
            duration_s: summary.duration_s,
            ambience: calls.ambience,
            labels: calls.labels,
            speech: calls.speech,
            segments: calls.segments,
            speech_segments,
            audioset_top: patches.audioset_top(tagger.model.class_names()),
            warnings: summary.warnings,
        })
    }
}

/// What a file's patches leave for the clip decisions, taken in one patch at a time.
struct Patches<'a> {
    tax: &'a Taxonomy,
    /// The trained head, when it chooses the ambience.
    head: Option<&'a Head>,
    /// The taxonomy's speech label, whose score goes to the dialogue regions.
    speech_label: Option<usize>,
    rows: Vec<PatchRow>,
    /// The AudioSet scores summed over the patches.
    class_sum: Vec<f64>,
    /// One patch's mapping scores.
    mapping: Vec<f32>,
    /// One patch's head scores.
    head_out: Vec<f32>,
}

/// What is decided for a whole clip.
struct ClipCalls {
    /// Every label at or above its threshold, best first.
    labels: Vec<LabelScore>,
    /// The ambience label (or `silence` / `other`).
    ambience: String,
    /// Whether a speech label is among `labels`.
    speech: bool,
    /// The timeline.
    segments: Vec<Segment>,
}

impl<'a> Patches<'a> {
    /// None yet, for `classes` AudioSet classes.
    fn new(tax: &'a Taxonomy, head: Option<&'a Head>, classes: usize) -> Self {
        Self {
            tax,
            head,
            speech_label: tax.labels.iter().position(|l| l.kind == LabelKind::Speech),
            rows: Vec::new(),
            class_sum: vec![0.0f64; classes],
            mapping: Vec::new(),
            head_out: Vec::new(),
        }
    }

    /// Takes in patch `p`, and gives its speech score to `dialogue` (the voice-activity model,
    /// when dialogue regions are wanted).
    fn push(&mut self, p: &PatchAnalysis, dialogue: Option<&RefCell<GatedVad<'_>>>) {
        self.tax.patch_scores(&p.scores, &mut self.mapping);
        if let Some(d) = dialogue {
            let speech = self.speech_label.map_or(1.0, |i| self.mapping[i]);
            d.borrow_mut().patch(p.start_s, p.end_s, speech);
        }
        let mut logits = Vec::new();
        if let Some(h) = self.head {
            h.logits(&p.embedding, &p.signal, &mut self.head_out);
            if h.pooling == Pooling::Clip {
                logits.clone_from(&self.head_out);
            }
            h.activate(&mut self.head_out);
        }
        for (s, &v) in self.class_sum.iter_mut().zip(&p.scores) {
            *s += f64::from(v);
        }
        self.rows.push(PatchRow {
            start_s: p.start_s,
            level_db: p.signal[0],
            mapping: self.mapping.clone(),
            head: self.head_out.clone(),
            logits,
        });
    }

    /// The clip's labels, ambience, speech and timeline, for a clip of `duration_s` seconds
    /// whose timeline segments are at least `min_segment_s` long. With its dialogue `regions`
    /// (when the voice-activity model ran), speech is whether there are any.
    fn decide(
        &self,
        duration_s: f64,
        min_segment_s: f64,
        regions: Option<&[SpeechSegment]>,
    ) -> ClipCalls {
        let (tax, rows) = (self.tax, &self.rows);
        let n = rows.len().max(1);
        // Shorter than one analysis window (25 ms), a clip holds nothing that can be heard.
        let too_short = duration_s < MIN_AUDIBLE_S;
        let silent: Vec<bool> = rows
            .iter()
            .map(|r| too_short || r.level_db < tax.silence_dbfs)
            .collect();
        let silence_score = if too_short {
            1.0
        } else {
            silent.iter().filter(|&&s| s).count() as f32 / n as f32
        };
        let (candidates, abstain) = candidates(self.head, tax, rows, &silent);

        let mut labels = clip_labels(tax, rows, &candidates, silence_score);
        let accept = self.head.map_or(0.5, |h| h.accept_fraction);
        let ambience = clip_ambience(
            tax,
            &candidates,
            abstain.as_ref().map(|a| a.clip_score),
            silence_score,
            accept,
            &mut labels,
        );
        if let Some(regions) = regions {
            speech_follows_regions(tax, rows, &mut labels, !regions.is_empty());
        }
        let speech = labels.iter().any(|l| {
            tax.index(&l.label)
                .is_some_and(|i| tax.labels[i].kind == LabelKind::Speech)
        });

        let starts: Vec<f64> = rows.iter().map(|r| r.start_s).collect();
        let none = abstain.as_ref().map(|a| a.scores.as_slice());
        let segments = timeline(
            &starts,
            &candidates,
            none,
            &silent,
            duration_s,
            min_segment_s,
        )
        .into_iter()
        .map(|span| span.segment(tax))
        .collect();
        ClipCalls {
            labels,
            ambience,
            speech,
            segments,
        }
    }

    /// The five AudioSet classes (named by `class_names`) with the highest mean score.
    fn audioset_top(&self, class_names: &[String]) -> Vec<ClassScore> {
        let n = self.rows.len().max(1);
        let mut top: Vec<(usize, f64)> = self.class_sum.iter().copied().enumerate().collect();
        top.sort_by(|a, b| b.1.total_cmp(&a.1));
        top.iter()
            .take(5)
            .map(|&(i, s)| ClassScore {
                class: class_names[i].clone(),
                score: (s / n as f64) as f32,
            })
            .collect()
    }
}

fn mean(v: &[f32]) -> f32 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f32>() / v.len() as f32
    }
}

fn upper_quartile(mut v: Vec<f32>) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f32::total_cmp);
    v[(v.len() - 1) * 3 / 4]
}

/// Moving average over `±radius` patches.
fn smooth(v: Vec<f32>, radius: usize) -> Vec<f32> {
    if radius == 0 || v.len() < 2 {
        return v;
    }
    (0..v.len())
        .map(|i| {
            let (a, b) = (i.saturating_sub(radius), (i + radius + 1).min(v.len()));
            v[a..b].iter().sum::<f32>() / (b - a) as f32
        })
        .collect()
}

/// An ambience label a clip may have: its taxonomy index, its per-patch scores (smoothed), its
/// score over the clip and the score it must reach.
#[derive(Debug, Clone, PartialEq)]
struct Candidate {
    label: usize,
    scores: Vec<f32>,
    clip_score: f32,
    threshold: f32,
}

/// A head's "no ambience" label: its per-patch scores (smoothed like the candidates') and its
/// score over the clip.
#[derive(Debug, Clone, PartialEq)]
struct Abstain {
    scores: Vec<f32>,
    clip_score: f32,
}

impl Candidate {
    /// A candidate whose clip score is the mean of its per-patch `scores` over the audible patches.
    fn patch_pooled(label: usize, scores: Vec<f32>, threshold: f32, silent: &[bool]) -> Self {
        Self {
            label,
            clip_score: audible_mean(&scores, silent),
            scores,
            threshold,
        }
    }
}

/// The ambience candidates: the head's labels with its thresholds, or without a head (or with
/// `--ambience-model mapping`) every ambience label of the taxonomy with the mapping's scores.
/// Clip scores leave out the `silent` patches. Also the head's abstain label (no ambience), when
/// it has one.
fn candidates(
    head: Option<&Head>,
    tax: &Taxonomy,
    rows: &[PatchRow],
    silent: &[bool],
) -> (Vec<Candidate>, Option<Abstain>) {
    let Some(h) = head else {
        let mapped = tax
            .labels
            .iter()
            .enumerate()
            .filter(|(_, l)| l.kind == LabelKind::Ambience)
            .map(|(i, l)| {
                let scores = smooth(rows.iter().map(|r| r.mapping[i]).collect(), 1);
                Candidate::patch_pooled(i, scores, l.threshold, silent)
            })
            .collect();
        return (mapped, None);
    };
    let clip = (h.pooling == Pooling::Clip).then(|| clip_pooled(h, rows, silent));
    let mut abstain = None;
    let mut out = Vec::new();
    for (j, name) in h.labels.iter().enumerate() {
        let scores = smooth(
            rows.iter().map(|r| r.head[j]).collect(),
            h.smoothing_patches,
        );
        let clip_score = clip
            .as_ref()
            .map_or_else(|| audible_mean(&scores, silent), |p| p[j]);
        if h.abstain_label.as_ref() == Some(name) {
            abstain = Some(Abstain { scores, clip_score });
        } else if let Some(label) = tax.index(name) {
            out.push(Candidate {
                label,
                scores,
                clip_score,
                threshold: h.thresholds[j],
            });
        }
    }
    (out, abstain)
}

/// A clip-pooled head's probabilities for the clip: the activation of its mean logits over the
/// audible patches (all zero when none is audible).
fn clip_pooled(h: &Head, rows: &[PatchRow], silent: &[bool]) -> Vec<f32> {
    let mut sum = vec![0.0f64; h.labels.len()];
    let mut n = 0usize;
    for r in rows.iter().zip(silent).filter(|(_, &s)| !s).map(|(r, _)| r) {
        for (a, &z) in sum.iter_mut().zip(&r.logits) {
            *a += f64::from(z);
        }
        n += 1;
    }
    if n == 0 {
        return vec![0.0; h.labels.len()];
    }
    let mut p: Vec<f32> = sum.iter().map(|&a| (a / n as f64) as f32).collect();
    h.activate(&mut p);
    p
}

/// Clips shorter than this (one analysis window) are silence: nothing in them can be heard.
const MIN_AUDIBLE_S: f64 = 0.025;

/// The mean of per-patch scores over the patches that are not silent (what the head says of
/// digital silence is not an ambience), 0 when every patch is.
fn audible_mean(scores: &[f32], silent: &[bool]) -> f32 {
    let (sum, n) = scores
        .iter()
        .zip(silent)
        .filter(|(_, &s)| !s)
        .fold((0.0f32, 0usize), |(a, n), (&v, _)| (a + v, n + 1));
    if n == 0 {
        0.0
    } else {
        sum / n as f32
    }
}

/// The clip's labels, best first: every label whose clip score reaches its threshold. Ambience
/// scores are the mean over the clip's audible patches; speech and music, which come and go, the
/// upper quartile.
fn clip_labels(
    tax: &Taxonomy,
    rows: &[PatchRow],
    candidates: &[Candidate],
    silence_score: f32,
) -> Vec<LabelScore> {
    let mut labels = Vec::new();
    for (i, l) in tax.labels.iter().enumerate() {
        let candidate = candidates.iter().find(|c| c.label == i);
        let (score, threshold) = match l.kind {
            LabelKind::Silence => (silence_score, l.threshold),
            LabelKind::Ambience => match candidate {
                Some(c) => (c.clip_score, c.threshold),
                None => continue,
            },
            LabelKind::Speech | LabelKind::Music => (come_and_go_score(rows, i), l.threshold),
        };
        if score >= threshold {
            labels.push(LabelScore {
                label: l.name.clone(),
                score,
            });
        }
    }
    labels.sort_by(|a, b| b.score.total_cmp(&a.score));
    labels
}

/// The clip score of a label that comes and goes (speech, music), taxonomy index `i`: a clip has
/// it when a quarter of it does (the upper quartile of its smoothed per-patch scores).
fn come_and_go_score(rows: &[PatchRow], i: usize) -> f32 {
    upper_quartile(smooth(rows.iter().map(|r| r.mapping[i]).collect(), 1))
}

/// Where the voice-activity model ran, the speech label follows its dialogue regions: dropped
/// when it found none, added with its score when it found some. YAMNet's speech score alone calls
/// crowds dialogue (babble is speech to AudioSet); the regions rarely do (BENCHMARKS.md, "Speech
/// on crowds").
fn speech_follows_regions(
    tax: &Taxonomy,
    rows: &[PatchRow],
    labels: &mut Vec<LabelScore>,
    has_regions: bool,
) {
    let is_speech = |name: &str| {
        tax.index(name)
            .is_some_and(|i| tax.labels[i].kind == LabelKind::Speech)
    };
    if !has_regions {
        labels.retain(|l| !is_speech(&l.label));
        return;
    }
    if labels.iter().any(|l| is_speech(&l.label)) {
        return;
    }
    if let Some(i) = tax.labels.iter().position(|l| l.kind == LabelKind::Speech) {
        labels.push(LabelScore {
            label: tax.labels[i].name.clone(),
            score: come_and_go_score(rows, i),
        });
        labels.sort_by(|a, b| b.score.total_cmp(&a.score));
    }
}

/// The clip's one ambience: `silence` when 90 % of it is silent, else the best candidate (the
/// first of equals) when it reaches `accept` × its threshold (a head says which fraction: half for
/// the older heads, whose thresholds were tuned on the clips they were trained on, where they are
/// more confident than on new recordings) and scores above the head's `abstain` label (no
/// ambience), else `other`.
///
/// What a user reads stays consistent: an ambience named is always among `labels` (added with its
/// score when it was taken at less than its threshold), and a silent clip's ambience is `silence`.
fn clip_ambience(
    tax: &Taxonomy,
    candidates: &[Candidate],
    abstain: Option<f32>,
    silence_score: f32,
    accept: f32,
    labels: &mut Vec<LabelScore>,
) -> String {
    if silence_score >= 0.9 {
        return "silence".to_string();
    }
    let best = candidates
        .iter()
        .map(|c| (c.label, c.clip_score, c.threshold))
        .max_by(|a, b| a.1.total_cmp(&b.1).then(std::cmp::Ordering::Greater));
    match best {
        Some((i, score, t))
            if score > 0.0 && score >= accept * t && abstain.is_none_or(|a| score > a) =>
        {
            let name = tax.labels[i].name.clone();
            if !labels.iter().any(|l| l.label == name) {
                labels.push(LabelScore {
                    label: name.clone(),
                    score,
                });
                labels.sort_by(|a, b| b.score.total_cmp(&a.score));
            }
            name
        }
        _ => "other".to_string(),
    }
}

/// What the timeline calls one patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    /// Below the taxonomy's silence level.
    Silence,
    /// No ambience candidate qualifies.
    Other,
    /// This taxonomy label.
    Ambience(usize),
}

impl Call {
    /// The segment label for this call: the ambience label's name, `silence` or `other`.
    fn name(self, tax: &Taxonomy) -> String {
        match self {
            Call::Silence => "silence".to_string(),
            Call::Other => "other".to_string(),
            Call::Ambience(i) => tax.labels[i].name.clone(),
        }
    }
}

/// One stretch of the timeline: its call, where it starts and ends in seconds, and the call's mean
/// score over its patches.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Span {
    call: Call,
    start_s: f64,
    end_s: f64,
    score: f32,
}

impl Span {
    /// The timeline segment a user reads, labelled by the taxonomy `tax`.
    fn segment(self, tax: &Taxonomy) -> Segment {
        Segment {
            start_s: self.start_s,
            end_s: self.end_s,
            label: self.call.name(tax),
            score: self.score,
        }
    }
}

/// Patches `first..=last`, all with the same call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    call: Call,
    first: usize,
    last: usize,
}

/// How much a new ambience must beat the current one by to take over, and how far the current one
/// may fall below its threshold and stay.
const HYSTERESIS: f32 = 0.1;

/// The timeline: per-patch calls with hysteresis, runs shorter than `min_segment_s` merged into a
/// neighbour, each a [`Span`] (its call, start, end and mean score). `starts` are the patches'
/// start times; `none`, the head's per-patch "no ambience" scores, if it has them.
fn timeline(
    starts: &[f64],
    candidates: &[Candidate],
    none: Option<&[f32]>,
    silent: &[bool],
    duration_s: f64,
    min_segment_s: f64,
) -> Vec<Span> {
    if starts.is_empty() {
        return Vec::new();
    }
    let calls = patch_calls(candidates, none, silent);
    let runs = merge_short_runs(runs_of(&calls), starts, duration_s, min_segment_s);
    let score = |call: Call, k: usize| match call {
        Call::Silence => 1.0,
        Call::Ambience(i) => candidates
            .iter()
            .find(|c| c.label == i)
            .map_or(0.0, |c| c.scores[k]),
        Call::Other => 1.0 - candidates.iter().map(|c| c.scores[k]).fold(0.0, f32::max),
    };
    runs.iter()
        .enumerate()
        .map(|(j, run)| {
            let scores: Vec<f32> = (run.first..=run.last).map(|k| score(run.call, k)).collect();
            let start_s = if j == 0 { 0.0 } else { starts[run.first] };
            Span {
                call: run.call,
                start_s,
                end_s: run_end(&runs, j, starts, duration_s),
                score: mean(&scores),
            }
        })
        .collect()
}

/// Each patch's call. The ambience carried from patch to patch changes only when another beats it
/// by [`HYSTERESIS`], and lapses to `other` only when it falls more than that below its threshold
/// or below the head's `none` score (no ambience; a patch where `none` scores highest names none);
/// a silent patch is called silence and leaves the carried ambience as it was.
fn patch_calls(candidates: &[Candidate], none: Option<&[f32]>, silent: &[bool]) -> Vec<Call> {
    let find = |label: usize| candidates.iter().find(|c| c.label == label);
    let mut current: Option<usize> = None;
    silent
        .iter()
        .enumerate()
        .map(|(k, &is_silent)| {
            if is_silent {
                return Call::Silence;
            }
            let none_k = none.map_or(f32::NEG_INFINITY, |n| n[k]);
            let score_of = |label: usize| find(label).map_or(0.0, |c| c.scores[k]);
            let best = candidates
                .iter()
                .filter(|c| c.scores[k] >= c.threshold && c.scores[k] > none_k)
                .max_by(|a, b| a.scores[k].total_cmp(&b.scores[k]))
                .map(|c| (c.label, c.scores[k]));
            current = match (best, current) {
                (Some((b, sb)), Some(c)) if b != c && sb < score_of(c) + HYSTERESIS => Some(c),
                (Some((b, _)), _) => Some(b),
                (None, Some(c))
                    if score_of(c) >= find(c).map_or(1.0, |x| x.threshold) - HYSTERESIS
                        && score_of(c) + HYSTERESIS > none_k =>
                {
                    Some(c)
                }
                (None, _) => None,
            };
            current.map_or(Call::Other, Call::Ambience)
        })
        .collect()
}

/// Consecutive equal calls as runs.
fn runs_of(calls: &[Call]) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for (k, &call) in calls.iter().enumerate() {
        match runs.last_mut() {
            Some(r) if r.call == call => r.last = k,
            _ => runs.push(Run {
                call,
                first: k,
                last: k,
            }),
        }
    }
    runs
}

/// Where run `j` ends: where the next one starts, or at the end of the clip.
fn run_end(runs: &[Run], j: usize, starts: &[f64], duration_s: f64) -> f64 {
    runs.get(j + 1)
        .map_or(duration_s, |next| starts[next.first])
}

/// Merges runs shorter than `min_segment_s` into the run before (the first into the one after);
/// neighbours that then share a call become one run.
fn merge_short_runs(
    mut runs: Vec<Run>,
    starts: &[f64],
    duration_s: f64,
    min_segment_s: f64,
) -> Vec<Run> {
    let mut j = 0;
    while runs.len() > 1 && j < runs.len() {
        let len = run_end(&runs, j, starts, duration_s) - starts[runs[j].first];
        if len >= min_segment_s {
            j += 1;
        } else if j > 0 {
            runs[j - 1].last = runs[j].last;
            runs.remove(j);
            if j < runs.len() && runs[j].call == runs[j - 1].call {
                runs[j - 1].last = runs[j].last;
                runs.remove(j);
            }
            j -= 1;
        } else {
            runs[1].first = runs[0].first;
            runs.remove(0);
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(label: usize, scores: &[f32], threshold: f32) -> Candidate {
        Candidate::patch_pooled(
            label,
            scores.to_vec(),
            threshold,
            &vec![false; scores.len()],
        )
    }

    /// A softmax head over rain, wind and none, pooled `pooling`, whose logits are its inputs' first
    /// three values (the rest of its inputs weigh nothing).
    fn head(pooling: &str) -> Head {
        let n = 3 + crate::classify::signal::SIGNAL_FEATURES.len();
        let row = |k: usize| {
            (0..n)
                .map(|i| f32::from(u8::from(i == k)))
                .collect::<Vec<_>>()
        };
        serde_json::from_value(serde_json::json!({
            "labels": ["rain", "wind", "none"],
            "signal_features": crate::classify::signal::SIGNAL_FEATURES,
            "embedding_len": 3,
            "mean": vec![0.0; n],
            "scale": vec![1.0; n],
            "weights": [row(0), row(1), row(2)],
            "bias": [0.0, 0.0, 0.0],
            "thresholds": [0.3, 0.3, 1.0],
            "smoothing_patches": 0,
            "activation": "softmax",
            "abstain_label": "none",
            "accept_fraction": 1.0,
            "pooling": pooling,
        }))
        .expect("head")
    }

    fn rows(h: &Head, logits: &[[f32; 3]]) -> Vec<PatchRow> {
        let signal = vec![0.0; crate::classify::signal::SIGNAL_FEATURES.len()];
        logits
            .iter()
            .enumerate()
            .map(|(k, z)| {
                let mut out = Vec::new();
                h.logits(z, &signal, &mut out);
                let logits = out.clone();
                h.activate(&mut out);
                PatchRow {
                    start_s: k as f64 * 0.48,
                    level_db: -20.0,
                    mapping: Vec::new(),
                    head: out,
                    logits,
                }
            })
            .collect()
    }

    #[test]
    fn a_clip_pooled_head_scores_the_clip_by_its_mean_logits_over_the_audible_patches() {
        // One patch sure of rain, one leaning to wind: the mean of the probabilities says rain
        // (0.49 against 0.37), the softmax of the mean logits says wind (0.45 against 0.27).
        let h = head("clip");
        let r = rows(&h, &[[5.0, 0.0, 0.0], [-5.0, 1.0, 0.0], [9.0, -9.0, 0.0]]);
        let p = clip_pooled(&h, &r, &[false, false, true]);
        let e = [0.0f32.exp(), 0.5f32.exp(), 0.0f32.exp()];
        let sum: f32 = e.iter().sum();
        for (p, e) in p.iter().zip(&e) {
            assert!((p - e / sum).abs() < 1e-5, "{p} against {}", e / sum);
        }
        let mean_prob = audible_mean(
            &r.iter().map(|r| r.head[0]).collect::<Vec<_>>(),
            &[false, false, true],
        );
        assert!(mean_prob > p[0] && mean_prob > 0.45, "{mean_prob}");
        assert_eq!(
            clip_pooled(&h, &r, &[true; 3]),
            vec![0.0; 3],
            "no audible patch: no score"
        );
        // A patch-pooled head keeps no logits.
        assert_eq!(head("patch").pooling, Pooling::Patch);
    }

    /// Patch starts every 0.5 s.
    fn starts(n: usize) -> Vec<f64> {
        (0..n).map(|k| k as f64 * 0.5).collect()
    }

    #[test]
    fn a_new_ambience_takes_over_only_when_it_beats_the_current_one_by_the_margin() {
        // Rain holds at 0.6; traffic rises to 0.65 (not enough), then 0.75 (enough).
        let rain = candidate(0, &[0.6, 0.6, 0.6, 0.6], 0.5);
        let traffic = candidate(1, &[0.1, 0.65, 0.65, 0.75], 0.5);
        let calls = patch_calls(&[rain, traffic], None, &[false; 4]);
        use Call::Ambience as A;
        assert_eq!(calls, [A(0), A(0), A(0), A(1)]);
    }

    #[test]
    fn the_current_ambience_lapses_only_below_its_threshold_less_the_margin() {
        let rain = candidate(0, &[0.6, 0.45, 0.41, 0.39, 0.3], 0.5);
        let calls = patch_calls(&[rain], None, &[false; 5]);
        use Call::{Ambience as A, Other as O};
        // 0.45 and 0.41 are within 0.1 of the threshold: still rain; 0.39 is not.
        assert_eq!(calls, [A(0), A(0), A(0), O, O]);
        // Without a current ambience, the threshold itself applies.
        let calls = patch_calls(&[candidate(0, &[0.45], 0.5)], None, &[false]);
        assert_eq!(calls, [O]);
    }

    #[test]
    fn silence_does_not_change_the_ambience_carried_across_it() {
        // Traffic at 0.65 after a silent patch does not beat rain (carried) by the margin.
        let rain = candidate(0, &[0.6, 0.0, 0.6], 0.5);
        let traffic = candidate(1, &[0.1, 0.0, 0.65], 0.5);
        let calls = patch_calls(&[rain, traffic], None, &[false, true, false]);
        assert_eq!(calls, [Call::Ambience(0), Call::Silence, Call::Ambience(0)]);
    }

    #[test]
    fn runs_shorter_than_the_minimum_merge_into_the_run_before() {
        use Call::{Ambience as A, Other as O};
        // 0.5 s patches: rain 2 s, one patch of other (0.5 s), rain 2 s, traffic 2 s.
        let calls = [vec![A(0); 4], vec![O], vec![A(0); 4], vec![A(1); 4]].concat();
        let runs = merge_short_runs(runs_of(&calls), &starts(13), 6.5, 1.0);
        // The lone `other` joins the rain before it, and the two rains become one run.
        assert_eq!(
            runs,
            [
                Run {
                    call: A(0),
                    first: 0,
                    last: 8
                },
                Run {
                    call: A(1),
                    first: 9,
                    last: 12
                }
            ]
        );
        // A short first run joins the run after it.
        let calls = [vec![O], vec![A(1); 6]].concat();
        let runs = merge_short_runs(runs_of(&calls), &starts(7), 3.5, 1.0);
        assert_eq!(
            runs,
            [Run {
                call: A(1),
                first: 0,
                last: 6
            }]
        );
        // With no minimum nothing merges; one run is never merged away.
        assert_eq!(
            merge_short_runs(runs_of(&calls), &starts(7), 3.5, 0.0).len(),
            2
        );
        assert_eq!(
            merge_short_runs(runs_of(&[O]), &starts(1), 0.5, 10.0).len(),
            1
        );
    }

    #[test]
    fn a_patch_where_none_scores_highest_names_no_ambience_with_the_same_hysteresis() {
        // Rain over its threshold throughout; "no ambience" beats it in the middle, first by less
        // than the hysteresis (rain carried on), then by more (other), then falls back.
        let rain = candidate(0, &[0.6, 0.5, 0.5, 0.3, 0.3, 0.6], 0.2);
        let none = [0.1, 0.55, 0.55, 0.6, 0.6, 0.1];
        let calls = patch_calls(std::slice::from_ref(&rain), Some(&none), &[false; 6]);
        let a = Call::Ambience(0);
        assert_eq!(calls, [a, a, a, Call::Other, Call::Other, a]);
        // A patch that starts where none wins is other, and without a none score it is rain.
        let calls = patch_calls(std::slice::from_ref(&rain), Some(&[0.7, 0.1]), &[false; 2]);
        assert_eq!(calls, [Call::Other, a]);
        assert_eq!(patch_calls(&[rain], None, &[false; 6]), [a; 6]);
    }

    #[test]
    fn the_timeline_covers_the_clip_from_zero_to_its_duration() {
        let rain = candidate(0, &[0.9; 6], 0.5);
        let segments = timeline(
            &starts(6),
            &[rain],
            None,
            &[false, false, false, true, true, true],
            3.2,
            1.0,
        );
        let spans: Vec<(Call, f64, f64)> = segments
            .iter()
            .map(|s| (s.call, s.start_s, s.end_s))
            .collect();
        assert_eq!(
            spans,
            [(Call::Ambience(0), 0.0, 1.5), (Call::Silence, 1.5, 3.2)]
        );
        assert!((segments[0].score - 0.9).abs() < 1e-6 && segments[1].score == 1.0);
        assert!(timeline(&[], &[], None, &[], 0.0, 1.0).is_empty());
    }
}
