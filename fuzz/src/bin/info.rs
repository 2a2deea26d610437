//! AFL target `info`: `roomtone info`'s per-file path (`audio::inspect`, the text line, the JSON record).

use roomtone_fuzz::harness;

fn main() {
    let dir = tempfile::tempdir().expect("temporary folder");
    // `fuzz_nohook!`: a panic the library catches itself (symphonia's, inside `AudioReader`, which
    // makes it the file's error) is not a crash; one that escapes the harness aborts and is.
    afl::fuzz_nohook!(|data: &[u8]| {
        let path = harness::write_input(dir.path(), data);
        let _ = harness::info(&path);
    });
}
