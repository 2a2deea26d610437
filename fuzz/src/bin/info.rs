//! AFL target `info`: `roomtone info`'s per-file path (`audio::inspect`, the text line, the JSON record).

use roomtone_fuzz::harness;

fn main() {
    let dir = tempfile::tempdir().expect("temporary folder");
    afl::fuzz!(|data: &[u8]| {
        let path = harness::write_input(dir.path(), data);
        let _ = harness::info(&path);
    });
}
