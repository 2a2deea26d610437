//! The separation models as the stem pipeline drives them: one [`Estimator`] per channel, each at
//! the rate its model runs at (as rubato's `Resampler` trait is to its resamplers). The pipeline
//! (`stems.rs`) resamples the input to that rate and the estimate back, once each way.

use super::convtasnet::{ConvTasNet, CtnResampled, CtnSession, CtnStream, SegmentConfig};
use super::dfn3::{ChunkConfig, Dfn3, Dfn3Session, Dfn3Stream};
use super::fusion::{Fuser, Fusion};
use crate::audio::AudioError;
use crate::models::ModelError;

/// One worker's ONNX sessions, lent in turn to the estimator of every channel.
#[derive(Default)]
pub(crate) struct Sessions {
    pub(crate) dfn3: Option<Dfn3Session>,
    pub(crate) ctn: Option<CtnSession>,
}

/// What an estimator can run into; the pipeline names the input it was separating.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A graph run failed.
    Model(ModelError),
    /// A resampler inside the estimator refused its input.
    Audio(AudioError),
    /// The worker has no session for this model.
    NotLoaded(&'static str),
}

impl From<ModelError> for Failure {
    fn from(e: ModelError) -> Self {
        Self::Model(e)
    }
}

impl From<AudioError> for Failure {
    fn from(e: AudioError) -> Self {
        Self::Audio(e)
    }
}

/// A separation model on one channel: mono samples in at [`Estimator::sample_rate`], the speech
/// estimate out, sample-aligned with the input and, once finished, exactly as long.
pub(crate) trait Estimator: Send {
    /// The rate the model runs at.
    fn sample_rate(&self) -> u32;
    /// Feeds `input` and appends the estimate that is ready to `out`.
    fn process(
        &mut self,
        sessions: &mut Sessions,
        input: &[f32],
        out: &mut Vec<f32>,
    ) -> Result<(), Failure>;
    /// Ends the stream and appends the rest of the estimate to `out`.
    fn finish(&mut self, sessions: &mut Sessions, out: &mut Vec<f32>) -> Result<(), Failure>;
}

fn dfn3_session(s: &mut Sessions) -> Result<&mut Dfn3Session, Failure> {
    s.dfn3.as_mut().ok_or(Failure::NotLoaded("dfn3"))
}

fn ctn_session(s: &mut Sessions) -> Result<&mut CtnSession, Failure> {
    s.ctn.as_mut().ok_or(Failure::NotLoaded("convtasnet"))
}

/// DeepFilterNet3 at 48 kHz.
pub(crate) struct Dfn3Estimator<'m>(Dfn3Stream<'m>);

impl<'m> Dfn3Estimator<'m> {
    pub(crate) fn new(model: &'m Dfn3, chunks: ChunkConfig) -> Self {
        Self(model.stream(chunks))
    }
}

impl Estimator for Dfn3Estimator<'_> {
    fn sample_rate(&self) -> u32 {
        super::dfn3::SAMPLE_RATE
    }

    fn process(
        &mut self,
        sessions: &mut Sessions,
        input: &[f32],
        out: &mut Vec<f32>,
    ) -> Result<(), Failure> {
        Ok(self.0.process(dfn3_session(sessions)?, input, out)?)
    }

    fn finish(&mut self, sessions: &mut Sessions, out: &mut Vec<f32>) -> Result<(), Failure> {
        Ok(self.0.finish(dfn3_session(sessions)?, out)?)
    }
}

/// Conv-TasNet at its own 16 kHz.
pub(crate) struct CtnEstimator(CtnStream);

impl CtnEstimator {
    pub(crate) fn new(model: &ConvTasNet, segments: SegmentConfig) -> Self {
        Self(model.stream(segments))
    }
}

impl Estimator for CtnEstimator {
    fn sample_rate(&self) -> u32 {
        super::convtasnet::SAMPLE_RATE
    }

    fn process(
        &mut self,
        sessions: &mut Sessions,
        input: &[f32],
        out: &mut Vec<f32>,
    ) -> Result<(), Failure> {
        Ok(self.0.process(ctn_session(sessions)?, input, out)?)
    }

    fn finish(&mut self, sessions: &mut Sessions, out: &mut Vec<f32>) -> Result<(), Failure> {
        Ok(self.0.finish(ctn_session(sessions)?, out)?)
    }
}

/// Both models fused per band and per DeepFilterNet3's SNR estimate, at DeepFilterNet3's 48 kHz
/// (the fusion weights are per 48 kHz band): Conv-TasNet runs on its 16 kHz copy of the stream.
pub(crate) struct EnsembleEstimator<'m> {
    d: Dfn3Stream<'m>,
    c: CtnResampled,
    fuser: Fuser<'m>,
    dbuf: Vec<f32>,
    cbuf: Vec<f32>,
    lsnr: Vec<f32>,
    samples_in: u64,
}

impl<'m> EnsembleEstimator<'m> {
    pub(crate) fn new(
        dfn3: &'m Dfn3,
        ctn: &ConvTasNet,
        fusion: &'m Fusion,
        chunks: ChunkConfig,
        segments: SegmentConfig,
    ) -> Result<Self, AudioError> {
        let mut d = dfn3.stream(chunks);
        d.collect_lsnr();
        Ok(Self {
            d,
            c: CtnResampled::new(ctn, segments, super::dfn3::SAMPLE_RATE)?,
            fuser: Fuser::new(dfn3, fusion),
            dbuf: Vec::new(),
            cbuf: Vec::new(),
            lsnr: Vec::new(),
            samples_in: 0,
        })
    }

    /// Fuses what both models have produced so far.
    fn fuse(&mut self, input: &[f32], out: &mut Vec<f32>) {
        self.d.take_lsnr(&mut self.lsnr);
        self.fuser
            .push(&self.dbuf, &self.cbuf, input, &self.lsnr, out);
        self.dbuf.clear();
        self.cbuf.clear();
        self.lsnr.clear();
    }
}

impl Estimator for EnsembleEstimator<'_> {
    fn sample_rate(&self) -> u32 {
        super::dfn3::SAMPLE_RATE
    }

    fn process(
        &mut self,
        sessions: &mut Sessions,
        input: &[f32],
        out: &mut Vec<f32>,
    ) -> Result<(), Failure> {
        self.samples_in += input.len() as u64;
        self.d
            .process(dfn3_session(sessions)?, input, &mut self.dbuf)?;
        self.c
            .process(ctn_session(sessions)?, input, &mut self.cbuf)?;
        self.fuse(input, out);
        Ok(())
    }

    fn finish(&mut self, sessions: &mut Sessions, out: &mut Vec<f32>) -> Result<(), Failure> {
        self.d.finish(dfn3_session(sessions)?, &mut self.dbuf)?;
        self.c.finish(ctn_session(sessions)?, &mut self.cbuf)?;
        self.fuse(&[], out);
        self.fuser.finish(self.samples_in, out);
        Ok(())
    }
}
