//! AFL target `decode`: bytes → file → `AudioReader` blocks → `StreamResampler` to 16 and 48 kHz →
//! mono 16 kHz log-mel (the tagging front end), with every sample finite and every length exact.

use roomtone::features::LogMel;
use roomtone_fuzz::harness;

fn main() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut mel = LogMel::new(harness::yamnet_mel_params()).expect("YAMNet front end");
    // Reused across inputs; AFL aborts on a panic, so nothing sees a half-updated state.
    let mut state = std::panic::AssertUnwindSafe(&mut mel);
    afl::fuzz!(|data: &[u8]| {
        let path = harness::write_input(dir.path(), data);
        let _ = harness::decode(&path, &mut state);
    });
}
