//! Changes of regime within a run: a sequence of calls whose level moves part-way (on a 2-core
//! VM, cross-process round trips go from ~14 µs to ~75 µs once the CPUs start idling between
//! calls; a server that slows down under load; a link that changes). One median over such a
//! run describes neither half, so the report says where the change came and how large it is.
//!
//! The test is Pettitt's (1979): a rank-based CUSUM, free of any distribution, that finds the
//! one point where the calls before and after differ most in level, with an approximate
//! p-value, then placed exactly where each call is nearer its own side's median. Several changes
//! are found by binary segmentation: each side is tested again. A change is reported only when
//! it is significant (p < 0.001), with at least [`MIN_SEGMENT`] calls on each side, and large:
//! the medians on either side differ by at least 2.5×. Latencies come in bursts, so significance
//! alone flags drifts nobody cares about; and smaller shifts are everyday on shared machines
//! (on the 2-core test VM, one thread's ws round trip flips between about 71 and 143 µs from one
//! set to the next), where a median still describes both parts within their spread. What the
//! threshold is for: 14 µs against 77 µs (CPUs that idle between calls), a server that slows
//! down under load, a link that changes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use duplex_model::plan::Order;
use duplex_model::record::{ClientKind, RunRecord, Topology};

use super::format::{format_count, format_p, format_us};
use duplex_clients::Transport;

/// Fewest calls on either side of a change.
pub const MIN_SEGMENT: usize = 30;
/// Largest p-value of a change reported.
const ALPHA: f64 = 1e-3;
/// Smallest ratio of the medians on either side of a change reported.
const MIN_RATIO: f64 = 2.5;
/// Changes looked for per transport, at most.
const MAX_CHANGES: usize = 3;

/// One change of level in a transport's calls, in the order they were sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct RegimeChange {
    pub transport: Transport,
    pub client: ClientKind,
    /// Calls of this transport and client before the change (the change is at the next one),
    /// counted in the order they were sent.
    pub after_calls: u64,
    /// Calls of this transport and client in the run.
    pub calls: u64,
    /// Median of the calls since the previous change (or the start) up to this one, µs.
    pub before_p50_us: f64,
    /// Median of the calls from this change to the next (or the end), µs.
    pub after_p50_us: f64,
    /// Pettitt's approximate p-value for the change in its segment.
    pub p_value: f64,
    /// Seconds into the run (from its first recorded call) when the change came.
    pub at_s: f64,
    /// What it means and what to do, in words.
    pub words: String,
}

/// Every change of regime in `record`, per transport and kind of client.
pub fn regime_changes(record: &RunRecord) -> Vec<RegimeChange> {
    let mut keys: Vec<(Transport, ClientKind)> =
        record.samples.iter().filter(|s| s.is_ok()).map(|s| (s.transport, s.client)).collect();
    keys.sort();
    keys.dedup();
    let first_sent = record.samples.iter().map(|s| s.sent_at_unix_ns).min().unwrap_or(0);
    let mut changes = Vec::new();
    for (transport, client) in keys {
        let mut calls: Vec<(i64, f64)> = record
            .samples
            .iter()
            .filter(|s| s.transport == transport && s.client == client && s.is_ok())
            .map(|s| (s.sent_at_unix_ns, s.latency_ns as f64 / 1e3))
            .collect();
        calls.sort_by_key(|(sent, _)| *sent);
        let latencies: Vec<f64> = calls.iter().map(|(_, l)| *l).collect();
        let mut points = Vec::new();
        segment(&latencies, 0, &mut points);
        points.sort_by_key(|(at, _)| *at);
        points.truncate(MAX_CHANGES);
        let bounds: Vec<usize> =
            std::iter::once(0).chain(points.iter().map(|(at, _)| *at)).chain([latencies.len()]).collect();
        for (i, (at, p_value)) in points.iter().enumerate() {
            let before = median(&latencies[bounds[i]..*at]);
            let after = median(&latencies[*at..bounds[i + 2]]);
            let at_s = calls[*at].0.saturating_sub(first_sent).max(0) as f64 / 1e9;
            let mut change = RegimeChange {
                transport,
                client,
                after_calls: *at as u64,
                calls: latencies.len() as u64,
                before_p50_us: before,
                after_p50_us: after,
                p_value: *p_value,
                at_s,
                words: String::new(),
            };
            change.words = words(&change, record);
            changes.push(change);
        }
    }
    changes
}

/// Binary segmentation: the strongest change in `xs` (offset `base` in the whole), if it is
/// reported, then the same in each side.
fn segment(xs: &[f64], base: usize, found: &mut Vec<(usize, f64)>) {
    if found.len() >= MAX_CHANGES || xs.len() < 2 * MIN_SEGMENT {
        return;
    }
    let Some((k, p)) = pettitt(xs) else { return };
    let k = locate(xs, k);
    let (left, right) = xs.split_at(k);
    let ratio = {
        let (a, b) = (median(left), median(right));
        if a.min(b) > 0.0 { a.max(b) / a.min(b) } else { f64::INFINITY }
    };
    if p >= ALPHA || ratio < MIN_RATIO || left.len() < MIN_SEGMENT || right.len() < MIN_SEGMENT {
        return;
    }
    found.push((base + k, p));
    segment(left, base, found);
    segment(right, base + k, found);
}

/// Pettitt's test over `xs`: where the strongest change is (the first index of the new level),
/// only among points leaving [`MIN_SEGMENT`] on each side, and its approximate p-value.
pub fn pettitt(xs: &[f64]) -> Option<(usize, f64)> {
    let n = xs.len();
    if n < 2 * MIN_SEGMENT {
        return None;
    }
    let ranks = ranks(xs);
    let mut best = (0usize, 0.0f64);
    let mut sum = 0.0;
    for (t, r) in ranks.iter().enumerate().take(n - MIN_SEGMENT) {
        sum += r;
        let u = (2.0 * sum - (t + 1) as f64 * (n as f64 + 1.0)).abs();
        if t + 1 >= MIN_SEGMENT && u > best.1 {
            best = (t + 1, u);
        }
    }
    let nf = n as f64;
    let p = (2.0 * (-6.0 * best.1 * best.1 / (nf.powi(3) + nf.powi(2))).exp()).min(1.0);
    (best.0 > 0).then_some((best.0, p))
}

/// Where exactly the change near `k` is: Pettitt's maximum drifts past it when the new level's
/// first calls are its lowest (ranks below the middle still add to the sum), so the change is
/// put where each call is nearer its own side's median (least absolute deviations, the medians
/// of Pettitt's split held).
fn locate(xs: &[f64], k: usize) -> usize {
    let (left, right) = (median(&xs[..k]), median(&xs[k..]));
    let mut best = (k, f64::INFINITY);
    let mut cost = 0.0;
    for (t, x) in xs.iter().enumerate().take(xs.len() - MIN_SEGMENT) {
        // Moving call t to the left side changes the cost by this much.
        cost += (x - left).abs() - (x - right).abs();
        if t + 1 >= MIN_SEGMENT && (cost < best.1 || (t + 1 == k && cost <= best.1)) {
            best = (t + 1, cost);
        }
    }
    best.0
}

/// Ranks 1..=n, ties given their average rank.
fn ranks(xs: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..xs.len()).collect();
    order.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
    let mut ranks = vec![0.0; xs.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && xs[order[j + 1]] == xs[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = rank;
        }
        i = j + 1;
    }
    ranks
}

fn median(xs: &[f64]) -> f64 {
    duplex_model::numbers::median(xs.iter().copied()).unwrap_or(f64::NAN)
}

/// "after 2,600 of 5,000 calls (1.2 s in) the median of http (native) moved from 14.0 µs to
/// 77.0 µs (5.5×; Pettitt p < 0.001)", then what it means for this run and what to do.
fn words(c: &RegimeChange, record: &RunRecord) -> String {
    let who = c.client.label(c.transport);
    let ratio = c.after_p50_us.max(c.before_p50_us) / c.after_p50_us.min(c.before_p50_us);
    let p = format_p(c.p_value);
    let mut text = format!(
        "{who}: after {} of {} calls ({} in) the median moved from {} to {} ({ratio:.1}×, Pettitt's test {p}): one median describes neither part",
        format_count(c.after_calls),
        format_count(c.calls),
        if c.at_s < 1.0 { format_us(c.at_s * 1e6) } else { format!("{:.1} s", c.at_s) },
        format_us(c.before_p50_us),
        format_us(c.after_p50_us),
    );
    let several = record.plan.transports.len() > 1;
    let interleaved = record.plan.order == Order::Interleaved && record.plan.sets > 1;
    if several && interleaved {
        text.push_str(
            "; the comparisons stay fair: the transports took turns set by set, so each met both regimes",
        );
    } else if several {
        text.push_str("; the transports ran in turn, so one may have met a regime the others did not: run them interleaved (--order interleaved, several sets)");
    }
    let slower_later = c.after_p50_us > c.before_p50_us;
    let early = c.after_calls * 10 < c.calls;
    // A CPU that wakes late costs tens of µs a hop: more than that is not idling.
    let wake_ups = (c.after_p50_us - c.before_p50_us).abs() < 250.0;
    let between = matches!(record.topology, Topology::SeparateProcess | Topology::CrossThread);
    if !slower_later && early {
        text.push_str("; the first calls were the slow ones: a longer warm-up (--warmup) leaves them out");
    } else if slower_later && wake_ups && between {
        text.push_str(
            "; calls that slow down by tens of µs between processes or threads are most often CPUs going idle between calls and waking late: pin client and server to one core (--pin on duplex bench and duplex serve)",
        );
    } else if slower_later {
        text.push_str(
            "; from then on the server, or what lies between, answered slower: load, another program, a change of network; the per-set figures show which sets",
        );
    } else {
        text.push_str("; the calls before were the slow ones: something else was busy until then");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A noisy level of `base` µs, deterministic.
    fn noisy(n: usize, base: f64, seed: u64) -> Vec<f64> {
        let mut rng = fastrand::Rng::with_seed(seed);
        (0..n)
            .map(|_| base * (0.85 + 0.3 * rng.f64()) + if rng.f64() < 0.02 { base * 5.0 } else { 0.0 })
            .collect()
    }

    #[test]
    fn a_step_is_found_where_it_is() {
        let mut xs = noisy(400, 14.0, 1);
        xs.extend(noisy(600, 77.0, 2));
        let (k, p) = pettitt(&xs).expect("a change");
        assert_eq!(k, 400);
        assert!(p < 1e-10, "{p}");
        let mut found = Vec::new();
        segment(&xs, 0, &mut found);
        assert_eq!(found.iter().map(|(k, _)| *k).collect::<Vec<_>>(), [400]);
    }

    #[test]
    fn two_steps_are_both_found() {
        let mut xs = noisy(300, 14.0, 1);
        xs.extend(noisy(300, 77.0, 2));
        xs.extend(noisy(300, 20.0, 3));
        let mut found = Vec::new();
        segment(&xs, 0, &mut found);
        let mut at: Vec<usize> = found.iter().map(|(k, _)| *k).collect();
        at.sort_unstable();
        assert_eq!(at, [300, 600]);
    }

    #[test]
    fn a_steady_noisy_sequence_has_no_change() {
        for seed in 0..50 {
            let mut found = Vec::new();
            segment(&noisy(2000, 14.0, seed), 0, &mut found);
            assert!(found.is_empty(), "seed {seed}: {found:?}");
        }
        // A small drift is significant with enough calls, but not large: not reported.
        let mut xs = noisy(2000, 14.0, 7);
        xs.extend(noisy(2000, 15.0, 8));
        let mut found = Vec::new();
        segment(&xs, 0, &mut found);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn ties_share_their_rank() {
        assert_eq!(ranks(&[3.0, 1.0, 3.0, 2.0]), [3.5, 1.0, 3.5, 2.0]);
    }
}
