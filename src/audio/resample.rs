//! Streaming sample-rate conversion with rubato, delay-compensated and length-exact.

use rubato::{FftFixedIn, Resampler};

use super::{AudioBlock, AudioError};

/// Input frames per resampler call (the FFT resampler rounds it to its own period).
const CHUNK_FRAMES: usize = 2048;

/// Most output frames one resampler call may produce (per channel), unless two periods need more.
const MAX_OUT_FRAMES: usize = 1 << 17;

/// Converts planar blocks from one rate to another, in a stream.
///
/// The resampler's own delay is removed, and after [`StreamResampler::finish`] exactly
/// `round(n · to_hz / from_hz)` frames have come out for `n` frames in, so output and input stay
/// sample-aligned. Equal rates pass samples through untouched.
pub struct StreamResampler {
    from_hz: u32,
    to_hz: u32,
    /// rubato's synchronous FFT resampler (`None` when the rates are equal). It works for any pair of
    /// integer rates; odd pairs (44 101 → 16 000 Hz, 48 048 Hz pull-up) just get longer transforms.
    /// rubato 0.16's sinc resampler was tried for those and left a fractional-sample offset.
    engine: Option<FftFixedIn<f32>>,
    /// Input waiting for a full chunk: `fifo[c][fifo_start..]`.
    fifo: Vec<Vec<f32>>,
    fifo_start: usize,
    scratch: Vec<Vec<f32>>,
    delay: usize,
    to_skip: usize,
    frames_in: u64,
    frames_out: u64,
}

impl StreamResampler {
    /// A resampler for `channels` channels from `from_hz` to `to_hz`.
    pub fn new(from_hz: u32, to_hz: u32, channels: usize) -> Result<Self, AudioError> {
        let err = |reason: String| AudioError::Resample {
            from_hz,
            to_hz,
            reason,
        };
        if from_hz == 0 || to_hz == 0 || channels == 0 {
            return Err(err("rates and channel count must be positive".into()));
        }
        let engine = if from_hz == to_hz {
            None
        } else {
            let (a, b) = (from_hz as usize, to_hz as usize);
            let period = a / gcd(a, b);
            // An even number of periods per transform keeps the resampler's delay a whole number
            // of output frames (an odd one leaves a half-frame offset); a power of two keeps the
            // transform lengths' prime factors small (48 → 16 kHz: 3072 → 1024, not 2052 → 684).
            let mut periods = CHUNK_FRAMES.div_ceil(period).next_power_of_two().max(2);
            // Memory is bounded whatever the rates: extreme up-sampling (a 1 Hz header to 48 kHz)
            // gets fewer periods per call, so one call's output stays under MAX_OUT_FRAMES.
            while periods > 2 && periods * period * b / a > MAX_OUT_FRAMES {
                periods /= 2;
            }
            Some(
                FftFixedIn::new(a, b, periods * period, 1, channels)
                    .map_err(|e| err(e.to_string()))?,
            )
        };
        let (delay, out_max) = engine
            .as_ref()
            .map_or((0, 0), |r| (r.output_delay(), r.output_frames_max()));
        Ok(Self {
            from_hz,
            to_hz,
            engine,
            fifo: vec![Vec::with_capacity(2 * CHUNK_FRAMES); channels],
            fifo_start: 0,
            scratch: vec![vec![0.0; out_max]; channels],
            delay,
            to_skip: delay,
            frames_in: 0,
            frames_out: 0,
        })
    }

    /// Output frames for `frames` input frames: `round(frames · to / from)`.
    pub fn output_len(&self, frames: u64) -> u64 {
        let (to, from) = (u128::from(self.to_hz), u128::from(self.from_hz));
        ((u128::from(frames) * to * 2 + from) / (2 * from)) as u64
    }

    /// Resamples `input` and replaces `out`'s contents with whatever output is ready (possibly none).
    pub fn process<V: AsRef<[f32]>>(
        &mut self,
        input: &[V],
        out: &mut AudioBlock,
    ) -> Result<(), AudioError> {
        self.prepare(out);
        self.frames_in += input.first().map_or(0, |c| c.as_ref().len()) as u64;
        if self.engine.is_none() {
            for (dst, src) in out.channels.iter_mut().zip(input) {
                dst.extend_from_slice(src.as_ref());
            }
            self.frames_out += out.frames() as u64;
            return Ok(());
        }
        if self.fifo_start > 0 {
            let start = self.fifo_start;
            self.fifo.iter_mut().for_each(|c| {
                c.drain(..start);
            });
            self.fifo_start = 0;
        }
        for (dst, src) in self.fifo.iter_mut().zip(input) {
            dst.extend_from_slice(src.as_ref());
        }
        loop {
            let need = self.input_frames_next();
            if self.fifo[0].len() - self.fifo_start < need {
                break;
            }
            let start = self.fifo_start;
            let (used, produced) = {
                let chunk: Vec<&[f32]> =
                    self.fifo.iter().map(|c| &c[start..start + need]).collect();
                let Self {
                    engine, scratch, ..
                } = self;
                let engine = engine.as_mut().expect("checked above");
                engine
                    .process_into_buffer(&chunk, scratch, None)
                    .map_err(|e| self.error(e.to_string()))?
            };
            self.fifo_start += used;
            self.emit(produced, out, u64::MAX);
        }
        Ok(())
    }

    /// Ends the stream: pushes the tail through and replaces `out`'s contents with the last frames,
    /// so that the total output is exactly [`StreamResampler::output_len`] of the total input.
    pub fn finish(&mut self, out: &mut AudioBlock) -> Result<(), AudioError> {
        self.prepare(out);
        let target = self.output_len(self.frames_in);
        if self.engine.is_none() {
            return Ok(());
        }
        let start = self.fifo_start;
        // rubato treats an empty input slice as a disabled channel, so an empty rest is passed as None.
        let mut rest: Option<Vec<&[f32]>> =
            (self.fifo[0].len() > start).then(|| self.fifo.iter().map(|c| &c[start..]).collect());
        // Zero-padded calls until the delayed tail is out; bounded, because each call yields output.
        let mut guard = 0;
        while self.frames_out < target && guard < 64 {
            let (_, produced) = {
                let Self {
                    engine, scratch, ..
                } = self;
                let engine = engine.as_mut().expect("checked above");
                engine
                    .process_partial_into_buffer(rest.as_deref(), scratch, None)
                    .map_err(|e| self.error(e.to_string()))?
            };
            rest = None;
            self.emit(produced, out, target);
            guard += 1;
        }
        self.fifo.iter_mut().for_each(Vec::clear);
        self.fifo_start = 0;
        Ok(())
    }

    /// Clears all state so a new stream can start.
    pub fn reset(&mut self) {
        if let Some(e) = self.engine.as_mut() {
            e.reset();
        }
        self.fifo.iter_mut().for_each(Vec::clear);
        self.fifo_start = 0;
        self.to_skip = self.delay;
        self.frames_in = 0;
        self.frames_out = 0;
    }

    fn prepare(&self, out: &mut AudioBlock) {
        out.sample_rate = self.to_hz;
        out.channels.resize_with(self.fifo.len(), Vec::new);
        out.clear();
    }

    fn input_frames_next(&self) -> usize {
        match self.engine.as_ref() {
            Some(e) => e.input_frames_next(),
            None => usize::MAX,
        }
    }

    /// Appends `produced` scratch frames to `out`, dropping the leading delay and anything past `limit`.
    fn emit(&mut self, produced: usize, out: &mut AudioBlock, limit: u64) {
        let skip = self.to_skip.min(produced);
        self.to_skip -= skip;
        let room = limit.saturating_sub(self.frames_out) as usize;
        let take = (produced - skip).min(room);
        for (dst, src) in out.channels.iter_mut().zip(&self.scratch) {
            dst.extend_from_slice(&src[skip..skip + take]);
        }
        self.frames_out += take as u64;
    }

    fn error(&self, reason: String) -> AudioError {
        AudioError::Resample {
            from_hz: self.from_hz,
            to_hz: self.to_hz,
            reason,
        }
    }
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_stay_bounded_for_extreme_rate_pairs() {
        for (from, to) in [
            (1, 48_000),
            (1, 16_000),
            (7, 768_000),
            (768_000, 1),
            (44_101, 16_000),
        ] {
            let rs = StreamResampler::new(from, to, 2).expect("resampler");
            let out = rs.scratch[0].len();
            assert!(
                out <= 2 * MAX_OUT_FRAMES + 2 * to as usize,
                "{from} -> {to}: {out} frames"
            );
        }
    }
}
