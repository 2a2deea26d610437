//! AFL target `separate`: `roomtone separate`'s per-file path with DeepFilterNet3 (sessions opened
//! once per process), checking the stems' length, finiteness and that they sum to the input.

use roomtone::models::ModelContext;
use roomtone::separate::{Backends, ModelChoice, Separator};
use roomtone_fuzz::harness;

fn main() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let out = tempfile::tempdir().expect("temporary folder");
    let context = ModelContext::from_env();
    let backends = Backends::load(&context, ModelChoice::Dfn3)
        .expect("DeepFilterNet3 (run scripts/setup.sh)");
    let mut sep = Separator::from_backends(&backends, &context)
        .expect("DeepFilterNet3 sessions");
    // Reused across inputs; a panic that escapes the harness aborts, so nothing sees a
    // half-updated state. `fuzz_nohook!`: a panic the library catches itself (symphonia's, inside
    // `AudioReader`, which makes it the file's error) is not a crash; one that escapes is.
    let mut state = std::panic::AssertUnwindSafe(&mut sep);
    afl::fuzz_nohook!(|data: &[u8]| {
        let path = harness::write_input(dir.path(), data);
        let _ = harness::separate(&mut state, &path, out.path());
    });
}
