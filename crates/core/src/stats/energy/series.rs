//! Rates over time for the power chart.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::power::{PowerSample, PowerTrace};

/// Rates over time for charts: for each reading after the first, the rate since the one before.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, TS, JsonSchema)]
pub struct PowerSeries {
    pub at_unix_ns: Vec<i64>,
    pub process_cpu_cores: Vec<Option<f64>>,
    pub system_cpu_cores: Vec<Option<f64>>,
    pub rapl_w: Vec<Option<f64>>,
    pub battery_w: Vec<Option<f64>>,
    pub memory_bytes: Vec<Option<u64>>,
}

pub fn power_series(trace: &PowerTrace) -> PowerSeries {
    let mut out = PowerSeries::default();
    for pair in trace.samples.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let dt = (b.at_unix_ns - a.at_unix_ns) as f64 / 1e9;
        if dt <= 0.0 {
            continue;
        }
        let rate = |f: fn(&PowerSample) -> Option<f64>| Some((f(b)? - f(a)?) / dt);
        out.at_unix_ns.push(b.at_unix_ns);
        out.process_cpu_cores.push(rate(|s| s.process_cpu_s));
        out.system_cpu_cores.push(rate(|s| s.system_cpu_s));
        out.rapl_w.push(rate(|s| s.rapl_j));
        out.battery_w.push(b.battery.as_ref().and_then(|r| r.power_w));
        out.memory_bytes.push(b.process_memory_bytes);
    }
    out
}
