//! AFL target `separate`: `roomtone separate`'s per-file path with DeepFilterNet3 (sessions opened
//! once per process), checking the stems' length, finiteness and that they sum to the input.

use roomtone::models::{models_dir, SessionOptions};
use roomtone::separate::{Backends, ModelChoice, Precision, Separator};
use roomtone_fuzz::harness;

fn main() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let out = tempfile::tempdir().expect("temporary folder");
    let backends = Backends::load(&models_dir(), ModelChoice::Dfn3, Precision::default())
        .expect("DeepFilterNet3 (run scripts/setup.sh)");
    let mut sep = Separator::from_backends(&backends, SessionOptions::default())
        .expect("DeepFilterNet3 sessions");
    // Reused across inputs; AFL aborts on a panic, so nothing sees a half-updated state.
    let mut state = std::panic::AssertUnwindSafe(&mut sep);
    afl::fuzz!(|data: &[u8]| {
        let path = harness::write_input(dir.path(), data);
        let _ = harness::separate(&mut state, &path, out.path());
    });
}
