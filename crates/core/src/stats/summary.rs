//! Descriptive statistics of one group of latencies (one transport, one client, one set or
//! all sets). Quantiles are exact (statrs, R-8 method) since every sample is kept.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};
use statrs::statistics::{Data, OrderStatistics};
use ts_rs::TS;

/// Latencies in microseconds, the unit people read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default, TS, JsonSchema)]
pub struct Summary {
    pub count: u64,
    pub errors: u64,
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
}

/// Inputs of one group.
#[derive(Debug, Default, Clone)]
pub struct Group {
    pub latencies_us: Vec<f64>,
    pub errors: u64,
    pub bytes_out: u64,
    pub bytes_in: u64,
    pub elapsed_ns: Option<u64>,
}

pub fn summarize(group: &Group) -> Summary {
    let xs = &group.latencies_us;
    let n = xs.len();
    let mut s = Summary { count: n as u64, errors: group.errors, ..Summary::default() };
    if n == 0 {
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
    s
}
