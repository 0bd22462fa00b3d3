//! Pass/fail thresholds on a run's results, for gating a build (`duplex bench --assert`), as
//! k6's thresholds do. An expression compares a statistic with a duration, with another
//! transport's statistic, or a ratio of two transports with a number:
//!
//! ```text
//! ws.p99<5ms            the native ws client's p99 below 5 ms
//! webview:ws.mean<=2ms  the web view's ws mean at most 2 ms
//! ws<http               ws's median below http's
//! http/ws>=1.5          http's median at least 1.5 times ws's
//! ws.errors<1           no failed ws call
//! ```
//!
//! Statistics: p50 (the default), p90, p99, p999, mean, min, max, errors. Units: ns, us (µs),
//! ms, s. Every expression is parsed, and checked against the plan, before a run starts.

use std::fmt;

use duplex_model::record::ClientKind;
use duplex_model::transport::Transport;

use super::{Report, Summary, format_us};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    P50,
    P90,
    P99,
    P999,
    Mean,
    Min,
    Max,
    Errors,
}

impl Stat {
    fn parse(word: &str) -> Option<Stat> {
        Some(match word {
            "p50" | "median" => Stat::P50,
            "p90" => Stat::P90,
            "p99" => Stat::P99,
            "p999" | "p99.9" => Stat::P999,
            "mean" | "avg" => Stat::Mean,
            "min" => Stat::Min,
            "max" => Stat::Max,
            "errors" => Stat::Errors,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Stat::P50 => "p50",
            Stat::P90 => "p90",
            Stat::P99 => "p99",
            Stat::P999 => "p999",
            Stat::Mean => "mean",
            Stat::Min => "min",
            Stat::Max => "max",
            Stat::Errors => "errors",
        }
    }

    /// The value in µs (a count for errors), and whether it is only an upper bound (a
    /// quantile below the clock's step).
    fn of(self, s: &Summary) -> (f64, bool) {
        let value = match self {
            Stat::P50 => s.p50_us,
            Stat::P90 => s.p90_us,
            Stat::P99 => s.p99_us,
            Stat::P999 => s.p999_us,
            Stat::Mean => s.mean_us,
            Stat::Min => s.min_us,
            Stat::Max => s.max_us,
            Stat::Errors => return (s.errors as f64, false),
        };
        let quantile = !matches!(self, Stat::Mean);
        match s.clock_step_us {
            Some(step) if quantile && s.censored(value) => (step, true),
            _ => (value, false),
        }
    }
}

/// One transport's statistic, for one kind of client.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Operand {
    pub client: ClientKind,
    pub transport: Transport,
    pub stat: Stat,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Right {
    /// A duration in µs, or a plain number for errors and ratios.
    Value(f64),
    Operand(Operand),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Gt => a > b,
            Op::Ge => a >= b,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
}

/// A parsed threshold: `left op right`, or `left / divisor op right` for a ratio.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub text: String,
    pub left: Operand,
    pub divisor: Option<Operand>,
    pub op: Op,
    pub right: Right,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("--assert {text:?}: {reason}")]
pub struct ThresholdError {
    pub text: String,
    pub reason: String,
}

/// How one threshold came out.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub text: String,
    pub passed: bool,
    /// What was measured, in words ("ws p99 1.23 ms").
    pub measured: String,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = if self.passed { "ok    " } else { "FAILED" };
        write!(f, "threshold {word} {}: {}", self.text, self.measured)
    }
}

impl Threshold {
    pub fn parse(text: &str) -> Result<Threshold, ThresholdError> {
        let error = |reason: String| ThresholdError { text: text.to_owned(), reason };
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let (at, op) = ["<=", ">=", "<", ">"]
            .iter()
            .find_map(|sym| compact.find(sym).map(|at| (at, *sym)))
            .ok_or_else(|| error("no comparison: use <, <=, > or >= (e.g. ws.p99<5ms)".into()))?;
        let op = match op {
            "<=" => Op::Le,
            ">=" => Op::Ge,
            "<" => Op::Lt,
            _ => Op::Gt,
        };
        let (lhs, rhs) = (&compact[..at], &compact[at + op.symbol().len()..]);
        if rhs.contains(['<', '>']) {
            return Err(error("one comparison per threshold".into()));
        }
        let (left, divisor) = match lhs.split_once('/') {
            Some((a, b)) => (operand(a).map_err(error)?, Some(operand(b).map_err(error)?)),
            None => (operand(lhs).map_err(error)?, None),
        };
        let right = if divisor.is_some() {
            Right::Value(
                rhs.parse::<f64>()
                    .map_err(|_| error(format!("a ratio compares with a number, not {rhs:?}")))?,
            )
        } else if rhs.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
            Right::Value(if left.stat == Stat::Errors {
                rhs.parse::<f64>().map_err(|_| error(format!("errors compare with a count, not {rhs:?}")))?
            } else {
                duration_us(rhs).map_err(error)?
            })
        } else {
            Right::Operand(operand(rhs).map_err(error)?)
        };
        Ok(Threshold { text: text.trim().to_owned(), left, divisor, op, right })
    }

    /// Every transport and client the threshold reads.
    pub fn operands(&self) -> Vec<Operand> {
        let mut all = vec![self.left];
        all.extend(self.divisor);
        if let Right::Operand(o) = self.right {
            all.push(o);
        }
        all
    }

    /// Checks the threshold against a run's report. A statistic the run lacks fails it.
    pub fn check(&self, report: &Report) -> Outcome {
        let outcome = |passed: bool, measured: String| Outcome { text: self.text.clone(), passed, measured };
        let read = |o: &Operand| -> Result<(f64, bool, String), String> {
            let t = report
                .transport(o.transport, o.client)
                .filter(|t| t.overall.count > 0 || o.stat == Stat::Errors)
                .ok_or_else(|| {
                    format!("no {} calls from the {} client were measured", o.transport, o.client.name())
                })?;
            let (value, bound) = o.stat.of(&t.overall);
            let shown = match o.stat {
                Stat::Errors => format!("{value}"),
                _ if bound => format!("< {} (clock step)", format_us(value)),
                _ => format_us(value),
            };
            Ok((value, bound, format!("{} {} {shown}", label(o), o.stat.name())))
        };
        let left = match read(&self.left) {
            Ok(v) => v,
            Err(e) => return outcome(false, e),
        };
        if let Some(divisor) = &self.divisor {
            let (bottom, bottom_bound, words) = match read(divisor) {
                Ok(v) => v,
                Err(e) => return outcome(false, e),
            };
            let Right::Value(limit) = self.right else {
                return outcome(false, "a ratio needs a number".into());
            };
            if left.1 || bottom_bound || bottom <= 0.0 {
                return outcome(
                    false,
                    format!("{}, {words}: no ratio from a value below the clock step", left.2),
                );
            }
            let ratio = left.0 / bottom;
            return outcome(self.op.holds(ratio, limit), format!("{}, {words}: ratio {ratio:.2}", left.2));
        }
        let (right, right_bound, right_words) = match self.right {
            Right::Value(v) => (v, false, None),
            Right::Operand(o) => match read(&o) {
                Ok((v, b, words)) => (v, b, Some(words)),
                Err(e) => return outcome(false, e),
            },
        };
        let words = match right_words {
            Some(r) => format!("{}, {r}", left.2),
            None => left.2.clone(),
        };
        // A bound (value < step) decides only when the whole interval [0, step) is on one side.
        let passed = match (left.1, right_bound) {
            (false, false) => self.op.holds(left.0, right),
            (true, false) => matches!(self.op, Op::Lt | Op::Le) && left.0 <= right,
            (false, true) => matches!(self.op, Op::Gt | Op::Ge) && left.0 >= right,
            (true, true) => false,
        };
        let undecided = (left.1 || right_bound) && !passed;
        outcome(passed, if undecided { format!("{words}: below the clock step, cannot tell") } else { words })
    }
}

fn label(o: &Operand) -> String {
    match o.client {
        ClientKind::Native => o.transport.name().to_owned(),
        client => format!("{}:{}", client.name(), o.transport.name()),
    }
}

fn operand(text: &str) -> Result<Operand, String> {
    let (client, rest) = match text.split_once(':') {
        Some(("native", rest)) => (ClientKind::Native, rest),
        Some(("webview", rest)) => (ClientKind::Webview, rest),
        Some(("k6", rest)) => (ClientKind::K6, rest),
        Some((other, _)) => return Err(format!("unknown client {other:?}: native, webview or k6")),
        None => (ClientKind::Native, text),
    };
    // "p99.9" has a dot of its own: split at the first dot after the transport's name.
    let (name, stat) = match rest.split_once('.') {
        Some((name, stat)) => (
            name,
            Stat::parse(stat).ok_or_else(|| {
                format!("unknown statistic {stat:?}: p50, p90, p99, p999, mean, min, max or errors")
            })?,
        ),
        None => (rest, Stat::P50),
    };
    let transport: Transport = name.parse().map_err(|_| format!("unknown transport {name:?}"))?;
    Ok(Operand { client, transport, stat })
}

/// "5ms", "250us", "250µs", "1.5s", "800ns" in µs.
fn duration_us(text: &str) -> Result<f64, String> {
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().map_err(|_| format!("{text:?} is not a duration such as 5ms"))?;
    let scale = match unit {
        "ns" => 1e-3,
        "us" | "µs" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "" => return Err(format!("{text:?} needs a unit: ns, us, ms or s")),
        other => return Err(format!("unknown unit {other:?}: ns, us, ms or s")),
    };
    Ok(value * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_parse_or_say_why_not() {
        let t = Threshold::parse("ws.p99 < 5ms").expect("parses");
        assert_eq!(t.left, Operand { client: ClientKind::Native, transport: Transport::Ws, stat: Stat::P99 });
        assert_eq!((t.op, t.right), (Op::Lt, Right::Value(5000.0)));
        let t = Threshold::parse("webview:ws.p99.9<=250us").expect("parses");
        assert_eq!(
            (t.left.client, t.left.stat, t.right),
            (ClientKind::Webview, Stat::P999, Right::Value(250.0))
        );
        let t = Threshold::parse("ws<http").expect("parses");
        assert!(matches!(
            t.right,
            Right::Operand(Operand { transport: Transport::Http, stat: Stat::P50, .. })
        ));
        let t = Threshold::parse("http/ws>=1.5").expect("parses");
        assert_eq!((t.divisor.map(|d| d.transport), t.right), (Some(Transport::Ws), Right::Value(1.5)));
        assert_eq!(Threshold::parse("ws.errors<1").expect("parses").right, Right::Value(1.0));
        for (bad, why) in [
            ("ws.p99", "no comparison"),
            ("ws.p99<5", "needs a unit"),
            ("ws.p99<5parsecs", "unknown unit"),
            ("wsx.p99<5ms", "unknown transport"),
            ("ws.p42<5ms", "unknown statistic"),
            ("phone:ws<http", "unknown client"),
            ("http/ws>fast", "a ratio compares with a number"),
            ("ws<http<ws", "one comparison"),
        ] {
            let e = Threshold::parse(bad).expect_err(bad);
            assert!(e.to_string().contains(why), "{bad}: {e}");
        }
    }
}
