//! AFL target `remix`: `roomtone remix --stems`'s per-file path without a separation model (stems
//! made from the decoded input): every cleanup step, ducking, loudness normalisation, the
//! true-peak limiter and the 24-bit WAV writer.

use roomtone_fuzz::harness;

fn main() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let out = tempfile::tempdir().expect("temporary folder");
    // `fuzz_nohook!`: a panic the library catches itself (symphonia's, inside `AudioReader`, which
    // makes it the file's error) is not a crash; one that escapes the harness aborts and is.
    afl::fuzz_nohook!(|data: &[u8]| {
        let path = harness::write_input(dir.path(), data);
        let _ = harness::remix(&path, out.path());
    });
}
