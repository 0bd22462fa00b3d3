//! A quantity's counter read over a transport's blocks: interpolated between readings, the idle
//! baseline's rate subtracted, with the standard error of the per-interval rates.

use super::{Attributed, Quantity, Z95};
use crate::power::{BatteryState, PowerSample, PowerTrace};

/// A quantity as a cumulative series: seconds since the first reading, and the count so far.
pub(super) struct Cumulative {
    pub(super) t: Vec<f64>,
    pub(super) c: Vec<f64>,
}

impl Cumulative {
    pub(super) fn of(trace: &PowerTrace, quantity: Quantity) -> Result<Cumulative, String> {
        let t0 = trace.samples.first().map_or(0, |s| s.at_unix_ns);
        let secs = |s: &PowerSample| (s.at_unix_ns - t0) as f64 / 1e9;
        let mut out = Cumulative { t: Vec::new(), c: Vec::new() };
        match quantity {
            Quantity::ProcessCpu | Quantity::SystemCpu | Quantity::Rapl => {
                for s in &trace.samples {
                    let v = match quantity {
                        Quantity::ProcessCpu => s.process_cpu_s,
                        Quantity::SystemCpu => s.system_cpu_s,
                        _ => s.rapl_j,
                    };
                    if let Some(v) = v {
                        out.t.push(secs(s));
                        out.c.push(v);
                    }
                }
            }
            Quantity::Battery => {
                let readings: Vec<(f64, &crate::power::BatteryReading)> =
                    trace.samples.iter().filter_map(|s| Some((secs(s), s.battery.as_ref()?))).collect();
                if let Some((_, r)) = readings.iter().find(|(_, r)| r.state != BatteryState::Discharging) {
                    return Err(format!(
                        "the battery was {} (on external power), so it does not measure consumption",
                        r.state.name()
                    ));
                }
                if readings.iter().all(|(_, r)| r.power_w.is_some()) {
                    // Integrate the power readings (trapezoids).
                    let mut sum = 0.0;
                    for (i, (t, r)) in readings.iter().enumerate() {
                        if let Some((tp, rp)) = i.checked_sub(1).map(|p| readings[p]) {
                            sum += (r.power_w.unwrap_or(0.0) + rp.power_w.unwrap_or(0.0)) / 2.0 * (t - tp);
                        }
                        out.t.push(*t);
                        out.c.push(sum);
                    }
                } else if readings.iter().all(|(_, r)| r.energy_wh.is_some()) {
                    let first = readings.first().and_then(|(_, r)| r.energy_wh).unwrap_or(0.0);
                    for (t, r) in &readings {
                        out.t.push(*t);
                        out.c.push((first - r.energy_wh.unwrap_or(first)) * 3600.0);
                    }
                } else {
                    return Err("the battery reports neither power nor energy".into());
                }
            }
        }
        if out.t.len() < 2 {
            return Err("fewer than two readings".into());
        }
        Ok(out)
    }

    /// The count at `t`, interpolated between readings (held at the ends).
    fn at(&self, t: f64) -> f64 {
        let i = self.t.partition_point(|&x| x <= t);
        if i == 0 {
            return self.c[0];
        }
        if i == self.t.len() {
            return self.c[i - 1];
        }
        let (t0, t1, c0, c1) = (self.t[i - 1], self.t[i], self.c[i - 1], self.c[i]);
        if t1 <= t0 { c1 } else { c0 + (c1 - c0) * (t - t0) / (t1 - t0) }
    }

    /// Amount counted in the windows and the per-interval rates of the readings inside them.
    pub(super) fn over(&self, windows: &[(f64, f64)]) -> (f64, Vec<f64>) {
        let amount = windows.iter().map(|&(a, b)| self.at(b) - self.at(a)).sum();
        let rates = (1..self.t.len())
            .filter(|&i| {
                let mid = (self.t[i - 1] + self.t[i]) / 2.0;
                self.t[i] > self.t[i - 1] && windows.iter().any(|&(a, b)| (a..=b).contains(&mid))
            })
            .map(|i| (self.c[i] - self.c[i - 1]) / (self.t[i] - self.t[i - 1]))
            .collect();
        (amount, rates)
    }
}

/// Standard error of the mean of `rates`; None with fewer than two.
pub(super) fn standard_error(rates: &[f64]) -> Option<f64> {
    if rates.len() < 2 {
        return None;
    }
    let n = rates.len() as f64;
    let mean = rates.iter().sum::<f64>() / n;
    let var = rates.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0);
    Some((var / n).sqrt())
}

/// The idle rate of a quantity and its standard error.
pub(super) struct Idle {
    pub(super) rate: f64,
    pub(super) se: Option<f64>,
}

/// Attributes `total` over `seconds` against an idle rate, per `messages`.
pub fn attribute(
    total: f64,
    seconds: f64,
    window_se: Option<f64>,
    idle_rate: f64,
    idle_se: Option<f64>,
    messages: u64,
) -> Attributed {
    let idle = idle_rate * seconds;
    let above_idle = total - idle;
    let ci95 = window_se.zip(idle_se).map(|(w, i)| Z95 * seconds * w.hypot(i));
    let n = messages.max(1) as f64;
    Attributed {
        total,
        idle,
        above_idle,
        ci95,
        rate_above_idle: if seconds > 0.0 { above_idle / seconds } else { f64::NAN },
        per_message: above_idle / n,
        per_message_ci95: ci95.map(|c| c / n),
    }
}

/// The ratio `a / b` of two attributed costs per message, with a 95 % interval (log-normal
/// propagation of the two relative errors).
pub fn ratio_with_ci(a: &Attributed, b: &Attributed) -> (f64, Option<(f64, f64)>) {
    let r = a.per_message / b.per_message;
    let rel = |x: &Attributed| x.per_message_ci95.map(|c| c / Z95 / x.per_message);
    let ci = rel(a).zip(rel(b)).map(|(ra, rb)| {
        let spread = (Z95 * ra.hypot(rb)).exp();
        (r / spread, r * spread)
    });
    (r, ci)
}

pub(super) fn seconds_of(windows: &[(f64, f64)]) -> f64 {
    windows.iter().map(|(a, b)| b - a).sum()
}

/// Battery charge lost so far (%), while discharging.
pub(super) fn battery_percent(trace: &PowerTrace) -> Option<Cumulative> {
    let readings: Vec<(i64, f64, BatteryState)> = trace
        .samples
        .iter()
        .filter_map(|s| s.battery.as_ref().and_then(|b| Some((s.at_unix_ns, b.percent?, b.state))))
        .collect();
    if readings.len() < 2 || readings.iter().any(|r| r.2 != BatteryState::Discharging) {
        return None;
    }
    let (t0, p0) = (trace.samples.first()?.at_unix_ns, readings[0].1);
    Some(Cumulative {
        t: readings.iter().map(|r| (r.0 - t0) as f64 / 1e9).collect(),
        c: readings.iter().map(|r| p0 - r.1).collect(),
    })
}
