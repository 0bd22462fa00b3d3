//! WebSocket versus each AJAX transport: ratios of medians and means, Welch's t-test and the
//! Mann–Whitney U test, and a verdict in plain words.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};
use ts_rs::TS;

use duplex_clients::{Pattern, Transport};
use duplex_model::record::ClientKind;

use super::format::{format_median_ratio, format_p, format_ratio, format_us};
use super::summary::Summary;

/// Below this p-value a difference is called significant.
pub const ALPHA: f64 = 0.05;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct Comparison {
    pub client: ClientKind,
    /// [`ClientKind::title`]: how the page heads it.
    #[serde(default)]
    pub who: String,
    pub websocket: Transport,
    pub other: Transport,
    pub ws_median_us: f64,
    pub other_median_us: f64,
    /// other / websocket: above 1 means the WebSocket is faster. None when a median is below
    /// its clock's step (only a bound is known): see `median_ratio_at_least`.
    pub median_ratio: Option<f64>,
    /// When the WebSocket median is below the clock step and the other's is not, the ratio
    /// is at least other's median over the step.
    #[serde(default)]
    pub median_ratio_at_least: Option<f64>,
    pub mean_ratio: f64,
    pub welch_t: f64,
    pub welch_df: f64,
    pub welch_p: f64,
    pub mann_whitney_u: f64,
    pub mann_whitney_p: f64,
    /// other / websocket bytes per message, both directions together.
    pub bytes_ratio: f64,
    /// The verdict rests on means (the client's clock is too coarse for medians).
    #[serde(default)]
    pub by_means: bool,
    /// Who the verdict says is faster: `ws`, `other`, or `neither` (not significant, or under
    /// 5 % apart).
    #[serde(default)]
    pub faster: Faster,
    pub verdict: String,
    /// The figures behind the verdict in words: "medians 2.10×, means 2.05× (Welch p < 0.001),
    /// bytes per message 1.50×".
    #[serde(default)]
    pub details: String,
}

/// Who a verdict says is faster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Faster {
    Ws,
    Other,
    #[default]
    Neither,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TestResult {
    pub statistic: f64,
    pub df: f64,
    pub p: f64,
}

/// Welch's unequal-variances t-test, two-sided.
pub fn welch(a: &[f64], b: &[f64]) -> Option<TestResult> {
    let (na, nb) = (a.len() as f64, b.len() as f64);
    if na < 2.0 || nb < 2.0 {
        return None;
    }
    let (ma, va) = mean_var(a);
    let (mb, vb) = mean_var(b);
    let (qa, qb) = (va / na, vb / nb);
    let se = (qa + qb).sqrt();
    if se.is_nan() || se <= 0.0 {
        return None;
    }
    let t = (ma - mb) / se;
    let df = (qa + qb).powi(2) / (qa * qa / (na - 1.0) + qb * qb / (nb - 1.0));
    let p = 2.0 * StudentsT::new(0.0, 1.0, df).ok()?.sf(t.abs());
    Some(TestResult { statistic: t, df, p: p.min(1.0) })
}

/// Mann–Whitney U test, two-sided, normal approximation with tie and continuity correction
/// (scipy's `mannwhitneyu(method="asymptotic")`). Returns U of `a`.
pub fn mann_whitney(a: &[f64], b: &[f64]) -> Option<TestResult> {
    let (n1, n2) = (a.len(), b.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let mut all: Vec<(f64, bool)> =
        a.iter().map(|&x| (x, true)).chain(b.iter().map(|&x| (x, false))).collect();
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    let n = all.len();
    let (mut rank_sum_a, mut tie_term) = (0.0, 0.0);
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        let t = (j - i + 1) as f64;
        tie_term += t * t * t - t;
        rank_sum_a += avg_rank * all[i..=j].iter().filter(|x| x.1).count() as f64;
        i = j + 1;
    }
    let (n1f, n2f, nf) = (n1 as f64, n2 as f64, n as f64);
    let u = rank_sum_a - n1f * (n1f + 1.0) / 2.0;
    let mean = n1f * n2f / 2.0;
    let var = n1f * n2f / 12.0 * ((nf + 1.0) - tie_term / (nf * (nf - 1.0)));
    if var.is_nan() || var <= 0.0 {
        return Some(TestResult { statistic: u, df: f64::NAN, p: 1.0 });
    }
    let z = ((u - mean).abs() - 0.5).max(0.0) / var.sqrt();
    let p = 2.0 * Normal::new(0.0, 1.0).ok()?.sf(z);
    Some(TestResult { statistic: u, df: f64::NAN, p: p.min(1.0) })
}

fn mean_var(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    (m, xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0))
}

pub struct Side<'a> {
    pub transport: Transport,
    pub latencies_us: &'a [f64],
    pub summary: &'a Summary,
}

impl Side<'_> {
    fn median(&self) -> f64 {
        self.summary.p50_us
    }

    fn mean(&self) -> f64 {
        self.summary.mean_us
    }

    fn bytes_per_msg(&self) -> f64 {
        self.summary.bytes_out_per_msg + self.summary.bytes_in_per_msg
    }
}

/// Compares a WebSocket group with an AJAX one. Each summary knows how finely its client's
/// clock ticks (web pages: often 1 ms). When that step is not far below the medians, single
/// latencies are mostly 0 or one step and medians say little (below one step, only a bound);
/// but over many calls started at random phases of the tick the mean stays unbiased, so the
/// verdict then rests on the means and Welch's t-test, and says so, and no ratio of medians
/// is formed from a bound.
/// The smallest ratio a verdict calls a difference in practice.
const PRACTICAL: f64 = 1.05;

pub fn compare(client: ClientKind, ws: &Side<'_>, other: &Side<'_>) -> Option<Comparison> {
    let welch = welch(ws.latencies_us, other.latencies_us)?;
    let mw = mann_whitney(ws.latencies_us, other.latencies_us)?;
    let median_ratio = Summary::ratio((other.summary, other.median()), (ws.summary, ws.median()));
    let median_ratio_at_least = match (ws.summary.clock_step_us, median_ratio) {
        (Some(step), None) if ws.summary.censored(ws.median()) && !other.summary.censored(other.median()) => {
            Some(other.median() / step)
        }
        _ => None,
    };
    let mean_ratio = other.mean() / ws.mean();
    let clock_step_us = match (ws.summary.clock_step_us, other.summary.clock_step_us) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    let coarse = clock_step_us.filter(|step| *step > 0.2 * ws.median().min(other.median()));
    let what = match ws.transport.pattern() {
        Pattern::RoundTrip => "round trip",
        Pattern::Push => "event delivery",
    };
    let (ratio, p, test, centres) = match coarse {
        None => (
            median_ratio.unwrap_or(f64::NAN),
            mw.p,
            "Mann–Whitney U".to_owned(),
            format!("median {} vs {}", format_us(ws.median()), format_us(other.median())),
        ),
        Some(step) => (
            mean_ratio,
            welch.p,
            format!("Welch's t; compared by means because the clock steps by {}", format_us(step)),
            format!("mean {} vs {}", format_us(ws.mean()), format_us(other.mean())),
        ),
    };
    let significant = p < ALPHA && ratio.is_finite();
    // Thousands of calls make a 1 % difference significant: below 5 % it is said to be no
    // practical difference, with its size.
    let small = ratio.is_finite() && (1.0 / PRACTICAL..=PRACTICAL).contains(&ratio);
    let verdict = if significant && small {
        format!(
            "{} and {} {what} times differ by under {:.0} % ({centres}): no practical difference, though a measurable one ({}, {test})",
            ws.transport,
            other.transport,
            (PRACTICAL - 1.0) * 100.0,
            format_p(p)
        )
    } else if !significant {
        format!(
            "{} and {} {what} times do not differ significantly ({centres}, {}, {test})",
            ws.transport,
            other.transport,
            format_p(p)
        )
    } else {
        let (factor, word) = if ratio >= 1.0 { (ratio, "faster") } else { (1.0 / ratio, "slower") };
        format!(
            "{} {what} is {factor:.1}× {word} than {} ({centres}), {} ({test})",
            ws.transport,
            other.transport,
            format_p(p)
        )
    };
    let bytes_ratio = other.bytes_per_msg() / ws.bytes_per_msg();
    let details = format!(
        "medians {}, means {} (Welch {}), bytes per message {}",
        format_median_ratio(median_ratio, median_ratio_at_least),
        format_ratio(mean_ratio),
        format_p(welch.p),
        format_ratio(bytes_ratio)
    );
    Some(Comparison {
        who: client.title().to_owned(),
        client,
        websocket: ws.transport,
        other: other.transport,
        ws_median_us: ws.median(),
        other_median_us: other.median(),
        median_ratio,
        median_ratio_at_least,
        mean_ratio,
        welch_t: welch.statistic,
        welch_df: welch.df,
        welch_p: welch.p,
        mann_whitney_u: mw.statistic,
        mann_whitney_p: mw.p,
        bytes_ratio,
        by_means: coarse.is_some(),
        faster: match (significant && !small, ratio >= 1.0) {
            (false, _) => Faster::Neither,
            (true, true) => Faster::Ws,
            (true, false) => Faster::Other,
        },
        verdict,
        details,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_groups_are_not_different() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert!(welch(&a, &a).expect("defined").p > 0.99);
        assert!(mann_whitney(&a, &a).expect("defined").p > 0.99);
    }

    #[test]
    fn a_coarse_clock_moves_the_verdict_to_means() {
        // A 1 ms clock: ws takes 0.3 ms, http 0.6 ms, so most single readings are 0 or 1000 µs.
        let ws: Vec<f64> = (0..1000).map(|i| if i % 10 < 3 { 1000.0 } else { 0.0 }).collect();
        let http: Vec<f64> = (0..1000).map(|i| if i % 10 < 6 { 1000.0 } else { 0.0 }).collect();
        let summary = |xs: &[f64], step: Option<f64>| {
            super::super::summarize(&super::super::Group {
                latencies_us: xs.to_vec(),
                bytes_out: 100 * xs.len() as u64,
                clock_step_us: step,
                ..Default::default()
            })
        };
        let (ws_coarse, http_coarse) = (summary(&ws, Some(1000.0)), summary(&http, Some(1000.0)));
        let a = Side { transport: Transport::Ws, latencies_us: &ws, summary: &ws_coarse };
        let b = Side { transport: Transport::Http, latencies_us: &http, summary: &http_coarse };
        let c = compare(ClientKind::Webview, &a, &b).expect("comparable");
        assert!(c.by_means);
        assert!((c.mean_ratio - 2.0).abs() < 1e-9);
        // The ws median (0) is below the step: no ratio from it, only a bound (1 ms / 1 ms).
        assert_eq!(c.median_ratio, None);
        assert_eq!(c.median_ratio_at_least, Some(1.0));
        assert!(
            c.verdict.starts_with("ws round trip is 2.0× faster than http (mean 300.0 µs vs 600.0 µs)"),
            "{}",
            c.verdict
        );
        assert!(c.verdict.contains("clock steps by 1.00 ms"), "{}", c.verdict);
        // The same numbers from a fine clock are judged by medians.
        let (ws_fine, http_fine) = (summary(&ws, None), summary(&http, None));
        let a = Side { transport: Transport::Ws, latencies_us: &ws, summary: &ws_fine };
        let b = Side { transport: Transport::Http, latencies_us: &http, summary: &http_fine };
        let fine = compare(ClientKind::Native, &a, &b).expect("comparable");
        assert!(!fine.by_means && fine.verdict.contains("Mann–Whitney"), "{}", fine.verdict);
    }

    /// Over a 50 ms link both take the round trip: a 1 % difference is significant with
    /// thousands of calls, and is said to be no practical difference, not "1.0× faster".
    #[test]
    fn a_significant_but_tiny_difference_is_no_practical_difference() {
        let ws: Vec<f64> = (0..2000).map(|i| 50_000.0 + f64::from(i % 100)).collect();
        let http: Vec<f64> = ws.iter().map(|x| x * 1.01).collect();
        let summary = |xs: &[f64]| {
            super::super::summarize(&super::super::Group { latencies_us: xs.to_vec(), ..Default::default() })
        };
        let (a_s, b_s) = (summary(&ws), summary(&http));
        let a = Side { transport: Transport::Ws, latencies_us: &ws, summary: &a_s };
        let b = Side { transport: Transport::Http, latencies_us: &http, summary: &b_s };
        let c = compare(ClientKind::Native, &a, &b).expect("comparable");
        assert!(c.mann_whitney_p < 0.001, "{}", c.mann_whitney_p);
        assert!(
            c.verdict.starts_with("ws and http round trip times differ by under 5 % (median 50.0 ms vs 50.5 ms): no practical difference"),
            "{}",
            c.verdict
        );
        assert!(!c.verdict.contains("faster"), "{}", c.verdict);
        assert_eq!(c.faster, Faster::Neither);
    }

    #[test]
    fn p_and_unit_formatting() {
        assert_eq!(format_p(0.0001), "p < 0.001");
        assert_eq!(format_p(0.0421), "p = 0.042");
        assert_eq!(format_us(21.34), "21.3 µs");
        assert_eq!(format_us(1234.0), "1.23 ms");
        assert_eq!(format_us(12345.0), "12.3 ms");
    }
}
