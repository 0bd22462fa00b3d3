//! Progress of a run: a bar on a terminal; plain lines on stderr when stderr is a file or a
//! pipe (CI logs, a parent process), at most one every two seconds; nothing with `--json`.

use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// How often plain progress lines are written.
const LINE_EVERY: Duration = Duration::from_secs(2);

pub enum Progress {
    Bar(ProgressBar),
    Lines { total: u64, last: Option<Instant> },
    Quiet,
}

impl Progress {
    pub fn new(total: u64, quiet: bool) -> Progress {
        if quiet {
            return Progress::Quiet;
        }
        if !std::io::stderr().is_terminal() {
            return Progress::Lines { total, last: None };
        }
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} eta {eta} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress::Bar(bar)
    }

    /// A line that stays (above the bar on a terminal).
    pub fn say(&self, line: &str) {
        match self {
            Progress::Bar(bar) => bar.println(line),
            Progress::Lines { .. } => crate::err(&format!("{line}\n")),
            Progress::Quiet => {}
        }
    }

    /// Calls done so far, and what is going on.
    pub fn update(&mut self, done: u64, message: String) {
        match self {
            Progress::Bar(bar) => {
                bar.set_position(done);
                bar.set_message(message);
            }
            Progress::Lines { total, last } => {
                if last.is_none_or(|t| t.elapsed() >= LINE_EVERY) {
                    *last = Some(Instant::now());
                    crate::err(&format!("{done}/{total} calls: {message}\n"));
                }
            }
            Progress::Quiet => {}
        }
    }

    /// A state without a call count (the idle baseline).
    pub fn status(&self, message: String) {
        match self {
            Progress::Bar(bar) => bar.set_message(message),
            Progress::Lines { .. } => crate::err(&format!("{message}\n")),
            Progress::Quiet => {}
        }
    }

    pub fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}
