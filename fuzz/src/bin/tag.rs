//! AFL target `tag`: `roomtone tag`'s per-file path with the real YAMNet session (loaded once per
//! process: AFL's persistent mode runs many inputs per process), the head, the timeline, and the
//! JSON/CSV/spectrogram outputs `tag` and `batch` write.

use roomtone::classify::{TagConfig, Tagger};
use roomtone_fuzz::harness;

fn main() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let tagger = Tagger::load(&roomtone::models::models_dir())
        .expect("YAMNet and the tagging files (run scripts/setup.sh)");
    let mut worker = tagger
        .worker(&TagConfig::default())
        .expect("a YAMNet session");
    // Reused across inputs; AFL aborts on a panic, so nothing sees a half-updated state.
    let mut state = std::panic::AssertUnwindSafe(&mut worker);
    afl::fuzz!(|data: &[u8]| {
        let path = harness::write_input(dir.path(), data);
        let _ = harness::tag(&mut state, &path);
    });
}
