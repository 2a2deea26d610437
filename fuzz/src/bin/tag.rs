//! AFL target `tag`: `roomtone tag`'s per-file path with the real YAMNet session (loaded once per
//! process: AFL's persistent mode runs many inputs per process), the head, the timeline, and the
//! JSON/CSV/spectrogram outputs `tag` and `batch` write.

use roomtone::classify::{TagConfig, Tagger};
use roomtone_fuzz::harness;

fn main() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let tagger = Tagger::load(&roomtone::models::ModelContext::from_env())
        .expect("YAMNet and the tagging files (run scripts/setup.sh)");
    let mut worker = tagger
        .worker(&TagConfig::default())
        .expect("a YAMNet session");
    // Reused across inputs; a panic that escapes the harness aborts, so nothing sees a
    // half-updated state. `fuzz_nohook!`: a panic the library catches itself (symphonia's, inside
    // `AudioReader`, which makes it the file's error) is not a crash; one that escapes is.
    let mut state = std::panic::AssertUnwindSafe(&mut worker);
    afl::fuzz_nohook!(|data: &[u8]| {
        let path = harness::write_input(dir.path(), data);
        let _ = harness::tag(&mut state, &path);
    });
}
