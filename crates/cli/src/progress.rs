//! Progress of a run: a bar on a terminal; plain lines on stderr when stderr is a file or a
//! pipe (CI logs, a parent process), at most one every two seconds; nothing with `--json`.

use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// How often plain progress lines are written.
const LINE_EVERY: Duration = Duration::from_secs(2);

pub enum Progress {
    Bar { bar: ProgressBar, pace: Pace },
    Lines { total: u64, unit: &'static str, last: Option<Instant>, pace: Pace },
    Quiet,
}

/// The pace of the calls so far, from the first one counted: the idle baseline and the
/// connections before it are not calls, and would make an early estimate absurd.
#[derive(Debug, Default)]
pub struct Pace {
    first: Option<(Instant, u64)>,
}

impl Pace {
    /// ", 25 %, about 30 s left" once there is a pace to go by (3 s and 2 % of the calls since
    /// the first), else ", 0 %".
    fn left(&mut self, done: u64, total: u64) -> String {
        let (since, from) = *self.first.get_or_insert((Instant::now(), done));
        let percent = 100.0 * done as f64 / total.max(1) as f64;
        let counted = done.saturating_sub(from);
        if done >= total || since.elapsed() < Duration::from_secs(3) || (counted as f64) < 0.02 * total as f64
        {
            return format!(", {percent:.0} %");
        }
        let left = since.elapsed().as_secs_f64() * (total - done) as f64 / counted as f64;
        format!(", {percent:.0} %, about {} left", crate::duration_words(left))
    }
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
            return Progress::Lines { total, unit, last: None, pace: Pace::default() };
        }
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(
                // Fixed widths before the message, which takes the rest of the line: the bar
                // does not jump as the counts grow. The time left is ours (see `Pace`).
                "{spinner} [{elapsed_precise}] {bar:30} {pos:>7}/{len:<7} {wide_msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress::Bar { bar, pace: Pace::default() }
    }

    /// A line that stays (above the bar on a terminal).
    pub fn say(&self, line: &str) {
        match self {
            Progress::Bar { bar, .. } => bar.println(line),
            Progress::Lines { .. } => crate::err(&format!("{line}\n")),
            Progress::Quiet => {}
        }
    }

    /// Units done so far, and what is going on.
    pub fn update(&mut self, done: u64, message: String) {
        match self {
            Progress::Bar { bar, pace } => {
                bar.set_position(done);
                let left = pace.left(done, bar.length().unwrap_or(done));
                bar.set_message(format!("{}: {message}", left.trim_start_matches(", ")));
            }
            Progress::Lines { total, unit, last, pace } => {
                let left = pace.left(done, *total);
                if last.is_none_or(|t| t.elapsed() >= LINE_EVERY) {
                    *last = Some(Instant::now());
                    crate::err(&format!("{done}/{total} {unit}{left}: {message}\n"));
                }
            }
            Progress::Quiet => {}
        }
    }

    /// A state without a call count (the idle baseline).
    pub fn status(&self, message: String) {
        match self {
            Progress::Bar { bar, .. } => bar.set_message(message),
            Progress::Lines { .. } => crate::err(&format!("{message}\n")),
            Progress::Quiet => {}
        }
    }

    pub fn finish(&self) {
        if let Progress::Bar { bar, .. } = self {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_left_waits_for_a_pace_and_counts_from_the_first_call() {
        let mut pace = Pace::default();
        // Early: the percentage only.
        assert_eq!(pace.left(34, 9000), ", 0 %");
        // Three seconds after the first counted call, 3,000 calls later: 6,000 more take 6 s.
        pace.first = Some((Instant::now() - Duration::from_secs(3), 0));
        assert_eq!(pace.left(3000, 9000), ", 33 %, about 6 s left");
        assert_eq!(pace.left(9000, 9000), ", 100 %");
    }
}
