//! AFL++ fuzz targets for roomtone (one binary per target in `src/bin/`); the per-input work is in
//! [`harness`], which `tests/fuzz_regressions.rs` of the main crate replays the saved crashes through.

pub mod harness;
