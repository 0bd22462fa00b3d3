//! Wall-clock helpers. Round trips are timed with `Instant` (monotonic); the wall clock is only
//! used to stamp samples and to compare an event's creation time with its arrival.

use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds since the Unix epoch, now.
pub fn now_unix_ns() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX),
    }
}

/// A duration in nanoseconds, saturating (a u64 holds 584 years).
pub fn nanos(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Seconds since the Unix epoch as a float, the unit of the paper's `client_time`/`server_time`.
pub fn unix_ns_to_secs(ns: i64) -> f64 {
    ns as f64 / 1e9
}

/// The inverse of [`unix_ns_to_secs`], saturating on absurd values instead of panicking.
pub fn secs_to_unix_ns(secs: f64) -> Option<i64> {
    if !secs.is_finite() {
        return None;
    }
    let ns = (secs * 1e9).round();
    if ns.abs() >= i64::MAX as f64 {
        return None;
    }
    Some(ns as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secs_round_trip_keeps_microseconds() {
        let ns = 1_764_000_000_123_456_000;
        let back = secs_to_unix_ns(unix_ns_to_secs(ns)).expect("finite");
        assert!((back - ns).abs() < 1_000, "{back} vs {ns}");
    }

    #[test]
    fn absurd_seconds_are_rejected() {
        assert_eq!(secs_to_unix_ns(f64::NAN), None);
        assert_eq!(secs_to_unix_ns(1e300), None);
    }
}
