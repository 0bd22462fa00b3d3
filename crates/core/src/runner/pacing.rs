//! When each call is sent: back to back, with a pause between calls, or on a fixed-rate
//! schedule. On a schedule a late send is not forgiven: its lateness is added to the latency
//! (wrk2's correction for coordinated omission).

use std::time::Duration;

use tokio::time::{Instant, Sleep};

pub enum Pacer {
    BackToBack,
    Interval(Duration),
    /// Call `i` is due at `start + offset + i * period`.
    FixedRate {
        start: Instant,
        offset: Duration,
        period: Duration,
    },
}

impl Pacer {
    /// `client` and `clients` stagger the fixed-rate schedules so clients do not fire together.
    pub fn new(interval: Duration, rate: Option<f64>, client: u32, clients: u32) -> Pacer {
        match rate {
            Some(rate) => {
                let period = Duration::from_secs_f64(1.0 / rate);
                let offset = period.mul_f64(f64::from(client) / f64::from(clients.max(1)));
                Pacer::FixedRate { start: Instant::now(), offset, period }
            }
            None if interval.is_zero() => Pacer::BackToBack,
            None => Pacer::Interval(interval),
        }
    }

    /// Waits until call `i` (from 0) is due. Returns how late the send is against its
    /// schedule (always zero unless fixed-rate).
    pub async fn wait(&self, i: u32) -> Duration {
        match self {
            Pacer::BackToBack => Duration::ZERO,
            Pacer::Interval(pause) => {
                if i > 0 {
                    tokio::time::sleep(*pause).await;
                }
                Duration::ZERO
            }
            Pacer::FixedRate { start, offset, period } => {
                let due = *start + *offset + period.saturating_mul(i);
                tokio::time::sleep_until(due).await;
                Instant::now().saturating_duration_since(due)
            }
        }
    }
}

/// A per-call timeout that costs one clock read per call: the deadline is pushed back only
/// when less than half the timeout is left, so a hung call fails after between half and all
/// of the timeout, and the timer wheel is touched rarely (it is on the measured path).
pub struct Watchdog {
    sleep: std::pin::Pin<Box<Sleep>>,
    timeout: Duration,
}

impl Watchdog {
    pub fn new(timeout: Duration) -> Watchdog {
        Watchdog { sleep: Box::pin(tokio::time::sleep(timeout)), timeout }
    }

    pub fn arm(&mut self) {
        let now = Instant::now();
        if self.sleep.deadline() < now + self.timeout / 2 {
            self.sleep.as_mut().reset(now + self.timeout);
        }
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub async fn expired(&mut self) {
        self.sleep.as_mut().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn fixed_rate_reports_lateness_and_keeps_schedule() {
        let pacer = Pacer::new(Duration::ZERO, Some(100.0), 0, 1);
        assert_eq!(pacer.wait(0).await, Duration::ZERO);
        // Pretend call 0 took 35 ms: calls 1..3 (due at 10, 20, 30 ms) are now late.
        tokio::time::advance(Duration::from_millis(35)).await;
        assert_eq!(pacer.wait(1).await, Duration::from_millis(25));
        assert_eq!(pacer.wait(3).await, Duration::from_millis(5));
        // Call 4 is due at 40 ms: the pacer sleeps until then and is on time.
        assert_eq!(pacer.wait(4).await, Duration::ZERO);
        assert_eq!(
            Instant::now().duration_since(match pacer {
                Pacer::FixedRate { start, .. } => start,
                _ => unreachable!(),
            }),
            Duration::from_millis(40)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn staggered_clients_and_intervals() {
        match Pacer::new(Duration::ZERO, Some(10.0), 1, 4) {
            Pacer::FixedRate { offset, .. } => assert_eq!(offset, Duration::from_millis(25)),
            _ => panic!("expected fixed rate"),
        }
        assert!(matches!(Pacer::new(Duration::ZERO, None, 0, 1), Pacer::BackToBack));
        let p = Pacer::new(Duration::from_millis(100), None, 0, 1);
        let t0 = Instant::now();
        p.wait(0).await;
        assert_eq!(t0.elapsed(), Duration::ZERO);
        p.wait(1).await;
        assert_eq!(t0.elapsed(), Duration::from_millis(100));
    }

    #[tokio::test(start_paused = true)]
    async fn watchdog_fires_after_the_timeout_without_calls() {
        let mut dog = Watchdog::new(Duration::from_secs(2));
        dog.arm();
        let t0 = Instant::now();
        dog.expired().await;
        assert!(t0.elapsed() >= Duration::from_secs(1) && t0.elapsed() <= Duration::from_secs(2));
    }
}
