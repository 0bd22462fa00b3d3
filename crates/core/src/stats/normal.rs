//! The paper's normal fit (μ, σ, P(a ≤ X ≤ b)) and an honest check of how well it fits.
//! Latency is usually right-skewed and heavy-tailed; when a normal does not describe the data
//! the fit says so, and says whether a log-normal does better.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ChiSquared, ContinuousCDF, LogNormal, Normal};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct IntervalProbability {
    pub a_us: f64,
    pub b_us: f64,
    /// P(a ≤ X ≤ b) under the fitted normal (the paper's equation 1).
    pub normal: f64,
    /// The share of samples actually in [a, b].
    pub observed: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct NormalFit {
    pub mu_us: f64,
    pub sigma_us: f64,
    pub skewness: f64,
    pub excess_kurtosis: f64,
    /// Jarque–Bera test of normality (skewness and kurtosis), p-value.
    pub jarque_bera_p: f64,
    /// Kolmogorov–Smirnov distance between the data and the fitted normal.
    pub ks_normal: f64,
    /// The same distance for a log-normal fitted to the data.
    pub ks_lognormal: Option<f64>,
    /// Largest distance at which a normal is still a fair description (Lilliefors, 5 %).
    pub ks_critical: f64,
    pub fits: bool,
    pub interval: Option<IntervalProbability>,
    /// One sentence for people.
    pub verdict: String,
}

/// Fits a normal to `xs` (µs). `interval` is the paper's [a, b] in µs, if asked for.
pub fn fit(xs: &[f64], interval: Option<(f64, f64)>) -> Option<NormalFit> {
    let n = xs.len();
    if n < 3 {
        return None;
    }
    let nf = n as f64;
    let mu = xs.iter().sum::<f64>() / nf;
    let m2 = xs.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / nf;
    let m3 = xs.iter().map(|x| (x - mu).powi(3)).sum::<f64>() / nf;
    let m4 = xs.iter().map(|x| (x - mu).powi(4)).sum::<f64>() / nf;
    let sigma = (m2 * nf / (nf - 1.0)).sqrt();
    if sigma.is_nan() || sigma <= 0.0 {
        return None;
    }
    let skewness = m3 / m2.powf(1.5);
    let excess_kurtosis = m4 / (m2 * m2) - 3.0;
    let jb = nf / 6.0 * (skewness.powi(2) + excess_kurtosis.powi(2) / 4.0);
    let jarque_bera_p = ChiSquared::new(2.0).map_or(f64::NAN, |c| c.sf(jb));

    let normal = Normal::new(mu, sigma).ok()?;
    let mut sorted = xs.to_vec();
    sorted.sort_by(f64::total_cmp);
    let ks_normal = ks_distance(&sorted, |x| normal.cdf(x));
    let ks_lognormal = lognormal_of(&sorted).map(|ln| ks_distance(&sorted, |x| ln.cdf(x)));
    let ks_critical = 0.886 / nf.sqrt();
    let fits = ks_normal <= ks_critical;

    let interval = interval.map(|(a, b)| IntervalProbability {
        a_us: a,
        b_us: b,
        normal: normal.cdf(b) - normal.cdf(a),
        observed: xs.iter().filter(|x| (a..=b).contains(*x)).count() as f64 / nf,
    });
    let verdict = if fits {
        format!("a normal fits (KS distance {ks_normal:.3} ≤ {ks_critical:.3})")
    } else {
        let better = match ks_lognormal {
            Some(d) if d < ks_normal => format!("; a log-normal fits better (KS {d:.3})"),
            _ => String::new(),
        };
        // Name the shape only when the moments say so, and by the side its tail is on; a
        // lumpy or bimodal shape fails the test too, for other reasons.
        let shape = if skewness > 1.0 {
            "latency is right-skewed, a long tail of slow calls"
        } else if skewness < -1.0 {
            "latency is left-skewed, most calls near the slowest with a tail of fast ones"
        } else if excess_kurtosis > 3.0 {
            "latency has heavy tails on both sides"
        } else {
            "the shape is not normal"
        };
        format!(
            "a normal fits poorly (KS distance {ks_normal:.3} > {ks_critical:.3}, skewness {skewness:.1}){better}: \
             {shape}, read the median and percentiles rather than μ ± σ"
        )
    };
    Some(NormalFit {
        mu_us: mu,
        sigma_us: sigma,
        skewness,
        excess_kurtosis,
        jarque_bera_p,
        ks_normal,
        ks_lognormal,
        ks_critical,
        fits,
        interval,
        verdict,
    })
}

/// sup |F_n(x) - F(x)| over sorted data.
fn ks_distance(sorted: &[f64], cdf: impl Fn(f64) -> f64) -> f64 {
    let n = sorted.len() as f64;
    sorted
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let f = cdf(x);
            (f - i as f64 / n).abs().max(((i + 1) as f64 / n - f).abs())
        })
        .fold(0.0, f64::max)
}

fn lognormal_of(sorted: &[f64]) -> Option<LogNormal> {
    if sorted.first().is_none_or(|x| *x <= 0.0) {
        return None;
    }
    let logs: Vec<f64> = sorted.iter().map(|x| x.ln()).collect();
    let n = logs.len() as f64;
    let m = logs.iter().sum::<f64>() / n;
    let s = (logs.iter().map(|l| (l - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    LogNormal::new(m, s).ok()
}
