//! Progress of a run: a bar on a terminal; plain lines on stderr when stderr is a file or a
//! pipe (CI logs, a parent process), at most one every two seconds; nothing with `--json`.

use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// How often plain progress lines are written.
const LINE_EVERY: Duration = Duration::from_secs(2);

pub enum Progress {
    Bar(ProgressBar),
    Lines { total: u64, unit: &'static str, last: Option<Instant>, started: Instant },
    Quiet,
}

impl Progress {
    pub fn new(total: u64, quiet: bool) -> Progress {
        Progress::counting(total, "calls", quiet)
    }

    /// Progress in `unit`s (the plain lines name it: "3/30 broadcasts").
    pub fn counting(total: u64, unit: &'static str, quiet: bool) -> Progress {
        if quiet {
            return Progress::Quiet;
        }
        if !std::io::stderr().is_terminal() {
            return Progress::Lines { total, unit, last: None, started: Instant::now() };
        }
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(
                // Fixed widths before the message, which takes the rest of the line: the bar
                // does not jump as the counts grow.
                "{spinner} [{elapsed_precise}] {bar:30} {pos:>7}/{len:<7} eta {eta:>4} {wide_msg}",
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

    /// Units done so far, and what is going on.
    pub fn update(&mut self, done: u64, message: String) {
        match self {
            Progress::Bar(bar) => {
                bar.set_position(done);
                bar.set_message(message);
            }
            Progress::Lines { total, unit, last, started } => {
                if last.is_none_or(|t| t.elapsed() >= LINE_EVERY) {
                    *last = Some(Instant::now());
                    let eta = eta_words(started.elapsed(), done, *total);
                    crate::err(&format!("{done}/{total} {unit}{eta}: {message}\n"));
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

/// ", about 12 s left" from the pace so far; nothing before there is a pace.
fn eta_words(elapsed: Duration, done: u64, total: u64) -> String {
    if done == 0 || done >= total {
        return String::new();
    }
    let left = elapsed.as_secs_f64() * (total - done) as f64 / done as f64;
    format!(" ({:.0} %, about {left:.0} s left)", 100.0 * done as f64 / total as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_left_follows_the_pace_so_far() {
        assert_eq!(eta_words(Duration::from_secs(10), 250, 1000), " (25 %, about 30 s left)");
        assert_eq!(eta_words(Duration::from_secs(10), 0, 1000), "");
        assert_eq!(eta_words(Duration::from_secs(10), 1000, 1000), "");
    }
}
