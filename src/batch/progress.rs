//! What a batch reports as it goes. The library prints nothing: the caller draws a bar or prints
//! lines from these calls (the command line's is in `src/bin/roomtone/progress.rs`).

use super::Entry;

/// Counters of the files this run processes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counts {
    /// Files finished this run (tagged or failed).
    pub done: usize,
    /// Files to process this run.
    pub total: usize,
    /// Files that failed this run.
    pub failed: usize,
    /// Seconds of audio tagged this run.
    pub audio_s: f64,
}

/// Receives a batch's progress. Every method does nothing unless implemented, so `()` is an
/// observer that ignores it all.
pub trait Observer {
    /// Before the first file: how many files this run processes.
    fn started(&mut self, _total: usize) {}
    /// After each file (tagged or failed), with the counts so far.
    fn file_done(&mut self, _entry: &Entry, _counts: &Counts) {}
    /// Something the user should be told, in one line that names its file: a file that failed, a
    /// journal that could not be written.
    fn problem(&mut self, _message: &str) {}
    /// After the last file, before the output files are written.
    fn finished(&mut self, _counts: &Counts) {}
}

impl Observer for () {}
