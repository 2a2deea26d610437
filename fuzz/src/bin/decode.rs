//! AFL target `decode`: bytes → file → `AudioReader` blocks → `StreamResampler` to 16 and 48 kHz →
//! mono 16 kHz log-mel (the tagging front end), with every sample finite and every length exact.

use roomtone::features::LogMel;
use roomtone_fuzz::harness;

fn main() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut mel = LogMel::new(harness::yamnet_mel_params()).expect("YAMNet front end");
    // Reused across inputs; a panic that escapes the harness aborts, so nothing sees a
    // half-updated state. `fuzz_nohook!`: a panic the library catches itself (symphonia's, inside
    // `AudioReader`, which makes it the file's error) is not a crash; one that escapes is.
    let mut state = std::panic::AssertUnwindSafe(&mut mel);
    afl::fuzz_nohook!(|data: &[u8]| {
        let path = harness::write_input(dir.path(), data);
        let _ = harness::decode(&path, &mut state);
    });
}
