#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![forbid(unsafe_code)]
// A type a public function hands out can be named by its user (re-exported where it lives).
#![warn(unnameable_types)]

// The modules in the order the data flows through them (each line its own group, so that rustfmt
// keeps the order).

// Decode any format at any rate, resample, walk folders, write WAV.
pub mod audio;

// STFT and log-mel front ends.
pub mod features;

// Model manifests, ONNX Runtime, the models folder and session settings.
pub mod models;

// Ambience tagging (YAMNet, signal features, the taxonomy and the classifier head).
pub mod classify;

// Dialogue/background separation (DeepFilterNet3, Conv-TasNet, their fusion).
pub mod separate;

// Cleanup of the stems (high-pass, hum, denoise, de-ess, leveller).
pub mod dsp;

// Remix: levels, ducking, loudness, true-peak limiter.
pub mod mix;

// Video out: the remix under the input's picture (ffmpeg muxes).
pub mod video;

// Records, CSV/JSON, the HTML report.
pub mod report;

// One file's jobs and the worker pool, shared by the commands and the batch.
pub mod jobs;

// Libraries: walk, tag, separate, remix in parallel; resume, shard, merge.
pub mod batch;

// A panic contained to the file that caused it.
pub mod guard;

pub use audio::{AudioBlock, AudioError, AudioReader};
