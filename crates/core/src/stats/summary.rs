//! Descriptive statistics of one group of latencies (one transport, one client, one set or
//! all sets). Quantiles are exact (statrs, R-8 method) since every sample is kept.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};
use statrs::statistics::{Data, OrderStatistics};
use ts_rs::TS;

use super::format::{format_bytes, format_us};

/// Latencies in microseconds, the unit people read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default, TS, JsonSchema)]
pub struct Summary {
    pub count: u64,
    pub errors: u64,
    /// Of the errors, datagrams lost (an unreliable transport's loss: counted, never sent again).
    #[serde(default)]
    pub lost: u64,
    pub mean_us: f64,
    /// Sample standard deviation (n - 1).
    pub sd_us: f64,
    /// Standard error of the mean.
    pub se_us: f64,
    /// 95 % confidence interval of the mean (Student's t).
    pub ci95_low_us: f64,
    pub ci95_high_us: f64,
    pub min_us: f64,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
    /// Successful exchanges per millisecond of wall time (the paper's "data points per
    /// millisecond"); None when the wall time is unknown.
    pub per_ms: Option<f64>,
    pub bytes_out_per_msg: f64,
    pub bytes_in_per_msg: f64,
    /// The step of the clock that timed these calls, µs, when it is coarse enough to matter
    /// (a web page's `performance.now()`); None for the engine's nanosecond clock. A reading
    /// below one step is censored: the call took less than a step, not zero.
    #[serde(default)]
    pub clock_step_us: Option<f64>,
    /// Successful calls that read below one clock step (stored as 0).
    #[serde(default)]
    pub below_step: u64,
    /// The t interval reaches below the fastest call: the sample is too skewed for it, and
    /// the bootstrap interval beside it is the one to read.
    #[serde(default)]
    pub ci95_unreliable: bool,
    /// 95 % percentile-bootstrap interval of the mean (2,000 resamples, fixed seed), given
    /// when the t interval is unreliable.
    #[serde(default)]
    pub bootstrap_ci95_low_us: Option<f64>,
    #[serde(default)]
    pub bootstrap_ci95_high_us: Option<f64>,
    /// The figures above in words, as every table of every view and printer shows them.
    #[serde(default)]
    pub words: SummaryWords,
}

/// A summary's figures in words: a reading below the clock's step as a bound ("< 1.00 ms (clock
/// step)"), "-" for a percentile the sample is too small for and for everything without calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default, TS, JsonSchema)]
pub struct SummaryWords {
    pub min: String,
    pub p50: String,
    pub p90: String,
    pub p99: String,
    pub p999: String,
    pub max: String,
    pub mean: String,
    pub sd: String,
    /// The mean's 95 % interval: "± 1.2 µs" (Student's t), "1.0 µs–2.0 µs (bootstrap)" when
    /// the t interval reaches below the fastest call, "≤ 1.94 ms (bootstrap)" when its low end
    /// is below the clock's step.
    pub ci: String,
    /// Bytes per message on the wire each way: "812 B", "1.0 KiB".
    pub bytes_out: String,
    pub bytes_in: String,
    /// Lost datagrams as a share of the calls: "3.9 % lost"; empty when none was lost.
    #[serde(default)]
    pub loss: String,
}

impl Summary {
    /// Whether a reading (a quantile) lies below the clock step: a bound, not a value.
    pub fn censored(&self, value_us: f64) -> bool {
        self.clock_step_us.is_some_and(|step| step > 0.0 && value_us < step)
    }

    /// A quantile as people should read it: "< 1.00 ms (clock step)" when below the step.
    pub fn show(&self, value_us: f64) -> String {
        if self.count == 0 {
            // No call answered: there is no latency to show (the errors say why).
            return "-".into();
        }
        match self.clock_step_us {
            Some(step) if self.censored(value_us) => format!("< {} (clock step)", format_us(step)),
            _ => format_us(value_us),
        }
    }

    /// Whether the sample is large enough for the quantile q to be more than its maximum: at
    /// least one call above it (p99 needs 100 calls, p99.9 a thousand).
    pub fn supports(&self, q: f64) -> bool {
        (self.count as f64) * (1.0 - q) >= 1.0 - 1e-9
    }

    /// A plain figure of the sample (a mean, a σ): "-" when no call answered.
    pub fn show_plain(&self, value_us: f64) -> String {
        if self.count == 0 { "-".into() } else { format_us(value_us) }
    }

    /// A percentile cell: "-" where the sample is too small for it, else as [`Summary::show`].
    pub fn show_quantile(&self, q: f64, value_us: f64) -> String {
        if self.supports(q) { self.show(value_us) } else { "-".into() }
    }

    /// `value / reference` when neither is censored; None when either is only a bound.
    pub fn ratio(value: (&Summary, f64), reference: (&Summary, f64)) -> Option<f64> {
        let ok = |(s, v): (&Summary, f64)| !s.censored(v) && v > 0.0 && v.is_finite();
        (ok(value) && ok(reference)).then(|| value.1 / reference.1)
    }
}

/// Inputs of one group.
#[derive(Debug, Default, Clone)]
pub struct Group {
    pub latencies_us: Vec<f64>,
    pub errors: u64,
    /// Of the errors, datagrams lost.
    pub lost: u64,
    pub bytes_out: u64,
    pub bytes_in: u64,
    pub elapsed_ns: Option<u64>,
    /// The clock's step, µs, if coarse (see [`Summary::clock_step_us`]).
    pub clock_step_us: Option<f64>,
}

pub fn summarize(group: &Group) -> Summary {
    let xs = &group.latencies_us;
    let n = xs.len();
    let step = group.clock_step_us.filter(|s| *s > 0.0);
    let mut s = Summary {
        count: n as u64,
        errors: group.errors,
        lost: group.lost,
        clock_step_us: step,
        ..Summary::default()
    };
    if n == 0 {
        s.words = words_of(&s);
        return s;
    }
    let nf = n as f64;
    let mean = xs.iter().sum::<f64>() / nf;
    let sd =
        if n > 1 { (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (nf - 1.0)).sqrt() } else { 0.0 };
    let se = sd / nf.sqrt();
    let half = if n > 1 {
        StudentsT::new(0.0, 1.0, nf - 1.0).map_or(f64::NAN, |t| t.inverse_cdf(0.975)) * se
    } else {
        f64::NAN
    };
    let mut data = Data::new(xs.clone());
    s.mean_us = mean;
    s.sd_us = sd;
    s.se_us = se;
    s.ci95_low_us = mean - half;
    s.ci95_high_us = mean + half;
    s.min_us = data.quantile(0.0);
    s.p50_us = data.quantile(0.5);
    s.p90_us = data.quantile(0.9);
    s.p99_us = data.quantile(0.99);
    s.p999_us = data.quantile(0.999);
    s.max_us = data.quantile(1.0);
    s.per_ms = group.elapsed_ns.filter(|ns| *ns > 0).map(|ns| nf / (ns as f64 / 1e6));
    s.bytes_out_per_msg = group.bytes_out as f64 / nf;
    s.bytes_in_per_msg = group.bytes_in as f64 / nf;
    s.below_step = step.map_or(0, |step| xs.iter().filter(|x| **x < step).count() as u64);
    s.ci95_unreliable = n > 1 && s.ci95_low_us < s.min_us;
    if s.ci95_unreliable {
        let (low, high) = bootstrap_mean_ci95(xs);
        (s.bootstrap_ci95_low_us, s.bootstrap_ci95_high_us) = (Some(low), Some(high));
    }
    s.words = words_of(&s);
    s
}

fn words_of(s: &Summary) -> SummaryWords {
    SummaryWords {
        min: s.show(s.min_us),
        p50: s.show(s.p50_us),
        p90: s.show_quantile(0.9, s.p90_us),
        p99: s.show_quantile(0.99, s.p99_us),
        p999: s.show_quantile(0.999, s.p999_us),
        max: s.show(s.max_us),
        mean: s.show_plain(s.mean_us),
        sd: s.show_plain(s.sd_us),
        ci: if s.count == 0 { "-".into() } else { ci_words(s) },
        bytes_out: format_bytes(s.bytes_out_per_msg),
        bytes_in: format_bytes(s.bytes_in_per_msg),
        loss: super::format::format_loss(s.lost, s.count + s.errors),
    }
}

/// [`SummaryWords::ci`]. A low end below the clock's step is no reading (every resampled call
/// read 0): the interval is only bounded above.
fn ci_words(s: &Summary) -> String {
    match (s.bootstrap_ci95_low_us, s.bootstrap_ci95_high_us) {
        (Some(low), Some(high)) if s.ci95_unreliable && s.censored(low) => {
            format!("≤ {} (bootstrap)", format_us(high))
        }
        (Some(low), Some(high)) if s.ci95_unreliable => {
            format!("{}–{} (bootstrap)", format_us(low), format_us(high))
        }
        _ => format!("± {}", format_us((s.ci95_high_us - s.ci95_low_us) / 2.0)),
    }
}

/// Percentile bootstrap of the mean: 2,000 resamples with replacement, a fixed seed so that
/// the same samples give the same interval.
fn bootstrap_mean_ci95(xs: &[f64]) -> (f64, f64) {
    const RESAMPLES: usize = 2_000;
    let mut rng = fastrand::Rng::with_seed(0x00d0_7e1e);
    let n = xs.len();
    let mut means: Vec<f64> =
        (0..RESAMPLES).map(|_| (0..n).map(|_| xs[rng.usize(..n)]).sum::<f64>() / n as f64).collect();
    means.sort_by(f64::total_cmp);
    let at = |q: f64| means[((RESAMPLES as f64 - 1.0) * q).round() as usize];
    (at(0.025), at(0.975))
}
