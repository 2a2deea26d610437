//! The `roomtone` command line. `args` is what clap parses, `settings` turns it into the library's
//! settings (presets, defaults, threads, models), `commands` runs each subcommand and prints, and
//! `progress` draws a batch's progress. The work itself is the library's.

mod args;
mod commands;
mod progress;
mod settings;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};
use settings::UsageError;

fn main() -> ExitCode {
    report_panics_as_bugs();
    let cli = Cli::parse();
    match try_main(cli) {
        Ok(code) => code,
        Err(e) => match e.downcast_ref::<UsageError>() {
            // A value found wrong before any work: one line, exit status 2 (as clap's own).
            Some(usage) => {
                eprintln!("roomtone: error: {usage}");
                ExitCode::from(2)
            }
            // Our errors say their cause in their own message: the outermost is the whole story.
            None => {
                eprintln!("roomtone: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

fn try_main(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Info(args) => commands::info(&args),
        Command::Tag(args) => commands::tag(&args),
        Command::Separate(args) => commands::separate(&args),
        Command::Remix(args) => commands::remix(&args),
        Command::Batch(args) => commands::batch(&args),
        Command::Merge(args) => commands::merge(&args),
        Command::Models => commands::models(),
    }
}

/// A bug is reported in roomtone's words; the file's own error line (or record) follows, and the
/// other files go on (see `roomtone::guard`).
fn report_panics_as_bugs() {
    std::panic::set_hook(Box::new(|info| {
        let message = roomtone::guard::panic_message(info.payload());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("roomtone: internal error{at}: {message}");
    }));
}
