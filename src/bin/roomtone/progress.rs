//! A batch's progress on stderr: an indicatif bar on a terminal, plain lines (every few seconds)
//! otherwise, or nothing with --quiet. Failed files are always reported.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use roomtone::batch::{Counts, Entry, Observer};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A bar when stderr is a terminal, plain lines when it is not.
    Auto,
    /// Nothing but the failed files.
    Quiet,
}

/// Shows a batch's [`Counts`] as they change.
pub struct Progress {
    mode: Mode,
    bar: Option<ProgressBar>,
    lines: bool,
    start: Instant,
    last_line: Instant,
}

impl Progress {
    pub fn new(mode: Mode) -> Self {
        let now = Instant::now();
        Self {
            mode,
            bar: None,
            lines: false,
            start: now,
            last_line: now,
        }
    }

    fn message(&self, c: &Counts) -> String {
        let wall = self.start.elapsed().as_secs_f64().max(1e-9);
        format!(
            "{:.2} h audio, {:.0}× real time{}",
            c.audio_s / 3600.0,
            c.audio_s / wall,
            if c.failed > 0 {
                format!(", {} failed", c.failed)
            } else {
                String::new()
            }
        )
    }
}

impl Observer for Progress {
    fn started(&mut self, total: usize) {
        self.start = Instant::now();
        self.last_line = self.start;
        match self.mode {
            Mode::Quiet => {}
            Mode::Auto if !std::io::stderr().is_terminal() => self.lines = true,
            Mode::Auto => {
                let bar = ProgressBar::with_draw_target(
                    Some(total as u64),
                    ProgressDrawTarget::stderr_with_hz(4),
                );
                bar.set_style(
                    ProgressStyle::with_template(
                        "{elapsed_precise} [{bar:30}] {pos}/{len} files  {msg}  ETA {eta}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                self.bar = Some(bar);
            }
        }
    }

    fn file_done(&mut self, _entry: &Entry, c: &Counts) {
        if let Some(bar) = &self.bar {
            bar.set_position(c.done as u64);
            bar.set_message(self.message(c));
        } else if self.lines
            && (self.last_line.elapsed() >= Duration::from_secs(5) || c.done == c.total)
        {
            self.last_line = Instant::now();
            let wall = self.start.elapsed().as_secs_f64();
            let eta = if c.done > 0 && c.done < c.total {
                format!(
                    ", ETA {:.0} s",
                    wall / c.done as f64 * (c.total - c.done) as f64
                )
            } else {
                String::new()
            };
            eprintln!(
                "roomtone: {}/{} files, {}{eta}",
                c.done,
                c.total,
                self.message(c)
            );
        }
    }

    fn problem(&mut self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn finished(&mut self, _counts: &Counts) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
