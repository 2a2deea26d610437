#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

// The pipeline, in the order the data flows through it.
pub mod audio;
pub mod batch;
pub mod classify;
pub mod dsp;
pub mod features;
pub mod guard;
pub mod mix;
pub mod models;
pub mod report;
pub mod separate;

pub use audio::{AudioBlock, AudioError, AudioReader};
