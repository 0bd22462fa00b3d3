//! WebSocket versus each AJAX transport: ratios of medians and means, Welch's t-test and the
//! Mann–Whitney U test, and a verdict in plain words.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

use crate::clients::{Pattern, Transport};
use crate::record::ClientKind;

/// Below this p-value a difference is called significant.
pub const ALPHA: f64 = 0.05;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub client: ClientKind,
    pub websocket: Transport,
    pub other: Transport,
    pub ws_median_us: f64,
    pub other_median_us: f64,
    /// other / websocket: above 1 means the WebSocket is faster.
    pub median_ratio: f64,
    pub mean_ratio: f64,
    pub welch_t: f64,
    pub welch_df: f64,
    pub welch_p: f64,
    pub mann_whitney_u: f64,
    pub mann_whitney_p: f64,
    /// other / websocket bytes per message, both directions together.
    pub bytes_ratio: f64,
    pub verdict: String,
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

/// "p < 0.001" or "p = 0.042".
pub fn format_p(p: f64) -> String {
    if p < 0.001 { "p < 0.001".into() } else { format!("p = {p:.3}") }
}

/// Formats microseconds with a sensible unit.
pub fn format_us(us: f64) -> String {
    if us >= 10_000.0 {
        format!("{:.1} ms", us / 1e3)
    } else if us >= 1_000.0 {
        format!("{:.2} ms", us / 1e3)
    } else {
        format!("{us:.1} µs")
    }
}

pub struct Side<'a> {
    pub transport: Transport,
    pub latencies_us: &'a [f64],
    pub median_us: f64,
    pub mean_us: f64,
    pub bytes_per_msg: f64,
}

pub fn compare(client: ClientKind, ws: &Side<'_>, other: &Side<'_>) -> Option<Comparison> {
    let welch = welch(ws.latencies_us, other.latencies_us)?;
    let mw = mann_whitney(ws.latencies_us, other.latencies_us)?;
    let median_ratio = other.median_us / ws.median_us;
    let what = match ws.transport.pattern() {
        Pattern::RoundTrip => "round trip",
        Pattern::Push => "event delivery",
    };
    let medians = format!("median {} vs {}", format_us(ws.median_us), format_us(other.median_us));
    let verdict = if mw.p >= ALPHA {
        format!(
            "{} and {} {what} times do not differ significantly ({medians}, {}, Mann–Whitney U)",
            ws.transport,
            other.transport,
            format_p(mw.p)
        )
    } else {
        let (factor, word) =
            if median_ratio >= 1.0 { (median_ratio, "faster") } else { (1.0 / median_ratio, "slower") };
        format!(
            "{} {what} is {factor:.1}× {word} than {} ({medians}), {} (Mann–Whitney U)",
            ws.transport,
            other.transport,
            format_p(mw.p)
        )
    };
    Some(Comparison {
        client,
        websocket: ws.transport,
        other: other.transport,
        ws_median_us: ws.median_us,
        other_median_us: other.median_us,
        median_ratio,
        mean_ratio: other.mean_us / ws.mean_us,
        welch_t: welch.statistic,
        welch_df: welch.df,
        welch_p: welch.p,
        mann_whitney_u: mw.statistic,
        mann_whitney_p: mw.p,
        bytes_ratio: other.bytes_per_msg / ws.bytes_per_msg,
        verdict,
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
    fn p_and_unit_formatting() {
        assert_eq!(format_p(0.0001), "p < 0.001");
        assert_eq!(format_p(0.0421), "p = 0.042");
        assert_eq!(format_us(21.34), "21.3 µs");
        assert_eq!(format_us(1234.0), "1.23 ms");
        assert_eq!(format_us(12345.0), "12.3 ms");
    }
}
