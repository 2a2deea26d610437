//! Progress on stderr: an indicatif bar on a terminal, plain lines otherwise, or nothing.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// A bar when stderr is a terminal, plain lines (every few seconds) when it is not.
    Auto,
    /// Plain lines on stderr.
    Lines,
    /// Nothing.
    Quiet,
}

/// Counters the progress display reads.
#[derive(Debug, Clone, Copy, Default)]
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

/// Shows [`Counts`] as they change.
pub struct Progress {
    bar: Option<ProgressBar>,
    lines: bool,
    start: Instant,
    last_line: Instant,
}

impl Progress {
    /// A display for `total` files.
    pub fn new(mode: ProgressMode, total: usize) -> Self {
        let tty = std::io::stderr().is_terminal();
        let (bar, lines) = match mode {
            ProgressMode::Quiet => (None, false),
            ProgressMode::Lines => (None, true),
            ProgressMode::Auto if !tty => (None, true),
            ProgressMode::Auto => {
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
                (Some(bar), false)
            }
        };
        let start = Instant::now();
        Self {
            bar,
            lines,
            start,
            last_line: start,
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

    /// Called after each file.
    pub fn update(&mut self, c: &Counts) {
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

    /// Prints a line (a failed file) on stderr without breaking the bar; shown even when quiet.
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
