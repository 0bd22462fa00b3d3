//! When each chunk of one direction of a link arrives at the far end: the link's one-way delay
//! with jitter, its bandwidth as a token bucket, and, for a new connection, its handshake's round
//! trip. Pure arithmetic over instants, so it is tested without a clock.

use std::time::Duration;

use tokio::time::Instant;

/// One direction of one connection.
#[derive(Debug)]
pub struct Schedule {
    one_way: Duration,
    jitter: Duration,
    /// Seconds per byte; 0 when unlimited.
    per_byte_s: f64,
    /// The token bucket's depth, in seconds of the link's time.
    burst_s: f64,
    /// GCRA's theoretical arrival time: when the bucket would be full again.
    tat: Option<Instant>,
    /// Held once, before the first byte (a new connection's handshake), then zero.
    hold: Duration,
    last_arrival: Option<Instant>,
    rng: fastrand::Rng,
}

impl Schedule {
    /// A direction with `one_way` delay ± `jitter` (uniform), `bytes_per_second` (None:
    /// unlimited) after a burst of `burst_bytes`, and `hold` added to its first chunk.
    pub fn new(
        one_way: Duration,
        jitter: Duration,
        bytes_per_second: Option<f64>,
        burst_bytes: u64,
        hold: Duration,
        seed: u64,
    ) -> Schedule {
        let per_byte_s = bytes_per_second.map_or(0.0, |r| 1.0 / r);
        Schedule {
            one_way,
            jitter,
            per_byte_s,
            burst_s: burst_bytes as f64 * per_byte_s,
            tat: None,
            hold,
            last_arrival: None,
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// When `len` bytes read at `now` arrive at the far end. Arrivals never go backwards: TCP
    /// delivers a stream in order, so a chunk's jitter cannot overtake the one before it.
    pub fn arrival(&mut self, now: Instant, len: usize) -> Instant {
        // Token bucket as GCRA: the chunk's last byte leaves once the bucket has room for it.
        let mut departure = now;
        if self.per_byte_s > 0.0 {
            let tat =
                self.tat.map_or(now, |t| t.max(now)) + Duration::from_secs_f64(len as f64 * self.per_byte_s);
            self.tat = Some(tat);
            departure = departure.max(tat - Duration::from_secs_f64(self.burst_s).min(tat - now));
        }
        let mut delay = self.one_way + std::mem::take(&mut self.hold);
        if !self.jitter.is_zero() {
            let span = self.jitter.as_secs_f64();
            let offset = (self.rng.f64() * 2.0 - 1.0) * span;
            delay = Duration::from_secs_f64((delay.as_secs_f64() + offset).max(0.0));
        }
        let arrival = (departure + delay).max(self.last_arrival.unwrap_or(now));
        self.last_arrival = Some(arrival);
        arrival
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(x: f64) -> Duration {
        Duration::from_secs_f64(x / 1e3)
    }

    #[test]
    fn a_chunk_arrives_one_way_later_and_the_first_after_the_handshake() {
        let t0 = Instant::now();
        let mut s = Schedule::new(ms(25.0), Duration::ZERO, None, 0, ms(50.0), 1);
        assert_eq!(s.arrival(t0, 100) - t0, ms(75.0), "held one round trip, then one way");
        assert_eq!(s.arrival(t0 + ms(100.0), 100) - t0, ms(125.0), "then one way only");
    }

    #[test]
    fn bandwidth_paces_bytes_after_the_burst() {
        let t0 = Instant::now();
        // 1,000 bytes per second, a burst of 100 bytes, no delay.
        let mut s = Schedule::new(Duration::ZERO, Duration::ZERO, Some(1000.0), 100, Duration::ZERO, 1);
        assert_eq!(s.arrival(t0, 100) - t0, Duration::ZERO, "within the burst: at once");
        assert_eq!(s.arrival(t0, 100) - t0, ms(100.0), "the next 100 bytes wait for their tokens");
        assert_eq!(s.arrival(t0, 500) - t0, ms(600.0));
        // An idle second refills the bucket (to its depth, no more).
        let later = t0 + ms(2000.0);
        assert_eq!(s.arrival(later, 100) - later, Duration::ZERO);
        assert_eq!(s.arrival(later, 100) - later, ms(100.0));
        // 64 KiB at 8 Mbit/s with a 16 KiB burst: 48 KiB paced, 49.152 ms.
        let mut s = Schedule::new(Duration::ZERO, Duration::ZERO, Some(1e6), 16384, Duration::ZERO, 1);
        let d = s.arrival(t0, 65536) - t0;
        assert!((d.as_secs_f64() - 0.049152).abs() < 1e-6, "{d:?}");
    }

    #[test]
    fn jitter_stays_within_its_bounds_and_never_reorders() {
        let t0 = Instant::now();
        let mut s = Schedule::new(ms(20.0), ms(5.0), None, 0, Duration::ZERO, 7);
        let mut last = t0;
        let mut spread = (f64::MAX, 0.0f64);
        for i in 0..2000 {
            let now = t0 + ms(f64::from(i) * 10.0);
            let at = s.arrival(now, 10);
            assert!(at >= last, "in order");
            let delay = (at - now).as_secs_f64() * 1e3;
            assert!((15.0 - 1e-9..=25.0 + 1e-9).contains(&delay), "{delay} ms outside 20 ± 5");
            spread = (spread.0.min(delay), spread.1.max(delay));
            last = at;
        }
        assert!(spread.0 < 16.0 && spread.1 > 24.0, "uniform over the whole range: {spread:?}");
    }
}
