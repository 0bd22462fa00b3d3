//! When each chunk of one direction of one connection arrives at the far end: the link's
//! one-way delay with jitter, its bandwidth as a token bucket, its queue, and a new connection's
//! handshake. Pure arithmetic over times since the connection began, so that the relay that
//! carries real bytes and the model that predicts a call are the same code
//! ([`super::predict`]), and it is tested without a clock.

use std::collections::VecDeque;
use std::time::Duration;

use super::Link;

/// Bytes the relay reads at once from either side; the model splits messages the same way.
pub const CHUNK: usize = 16 << 10;

/// One direction of one connection. Times are [`Duration`]s since the connection was accepted.
#[derive(Debug)]
pub struct Schedule {
    one_way: Duration,
    jitter: Duration,
    /// Seconds per byte; 0 when unlimited.
    per_byte_s: f64,
    /// The token bucket's depth, in seconds of the link's time.
    burst_s: f64,
    /// GCRA's theoretical arrival time: when the bucket would be full again.
    tat: Option<Duration>,
    /// Nothing leaves before this: a new connection's handshake (see [`Schedule::for_link`]).
    opens_at: Duration,
    last_arrival: Duration,
    /// Bytes on their way (read, not yet arrived), when the direction's queue is limited.
    queue: Option<Queue>,
    /// Each packet's chance of loss (0–1).
    loss: f64,
    /// Over TCP, what a lost segment costs: Linux's tail-loss probe, 2 RTT. None for
    /// datagrams, which stay lost ([`Schedule::drops`]).
    probe: Option<Duration>,
    rng: fastrand::Rng,
}

/// A TCP segment's payload on an Ethernet path (1500 − 40 − 12 bytes of timestamps).
const MSS: usize = 1448;

#[derive(Debug)]
struct Queue {
    capacity: u64,
    /// (arrival, bytes) of the chunks on their way, in arrival order.
    on_the_way: VecDeque<(Duration, u64)>,
}

impl Queue {
    fn held(&self) -> u64 {
        self.on_the_way.iter().map(|(_, n)| n).sum()
    }
}

impl Schedule {
    /// One direction of a new connection over `link` (`down`: server to client).
    ///
    /// A connection is accepted by the relay at once, but over a real link its TCP handshake
    /// takes a round trip first: the client's bytes cannot leave before one RTT (SYN, SYN-ACK),
    /// and the server, which learns of the connection half a round trip later (the ACK), sends
    /// nothing before 1.5 RTT. Both gates come before the bandwidth: a transfer longer than a
    /// round trip still starts after the handshake, not during it.
    ///
    /// A lost segment (the link's loss, per 1,448-byte segment) arrives one retransmission
    /// later, holding back what follows it (TCP delivers in order): Linux's tail-loss probe
    /// fires 2 RTT after the send, plus 200 ms when the segment was alone in flight (an echo's
    /// message), plus 2 ms otherwise (`tcp_schedule_loss_probe`).
    pub fn for_link(link: &Link, down: bool, seed: u64) -> Schedule {
        let rtt = Duration::from_secs_f64(link.rtt_ms / 1e3);
        let opens_at = if down { rtt + rtt / 2 } else { rtt };
        Schedule { probe: Some(2 * rtt), ..Schedule::over(link, down, opens_at, seed) }
    }

    /// One direction of a flow of datagrams (UDP) over `link`: no handshake of its own (QUIC's
    /// crosses the link as any packets do), each datagram delayed and paced as a chunk, and
    /// lost at the link's rate ([`Schedule::drops`]).
    pub fn for_datagrams(link: &Link, down: bool, seed: u64) -> Schedule {
        Schedule::over(link, down, Duration::ZERO, seed)
    }

    /// One direction over `link`, opening at `opens_at`, losing at the link's rate.
    fn over(link: &Link, down: bool, opens_at: Duration, seed: u64) -> Schedule {
        let schedule = Schedule::new(
            link.one_way(),
            Duration::from_secs_f64(link.jitter_ms / 1e3),
            link.bytes_per_second(down),
            link.burst_bytes,
            link.queue_bytes,
            opens_at,
            seed,
        );
        Schedule { loss: link.loss_percent / 100.0, ..schedule }
    }

    /// Whether the next datagram is lost (drawn at the link's loss rate).
    pub fn drops(&mut self) -> bool {
        self.loss > 0.0 && self.rng.f64() < self.loss
    }

    /// A direction with `one_way` delay ± `jitter` (uniform), `bytes_per_second` (None:
    /// unlimited) after a burst of `burst_bytes`, at most `queue_bytes` on their way (None: no
    /// limit), and nothing leaving before `opens_at`.
    pub fn new(
        one_way: Duration,
        jitter: Duration,
        bytes_per_second: Option<f64>,
        burst_bytes: u64,
        queue_bytes: Option<u64>,
        opens_at: Duration,
        seed: u64,
    ) -> Schedule {
        let per_byte_s = bytes_per_second.map_or(0.0, |r| 1.0 / r);
        Schedule {
            one_way,
            jitter,
            per_byte_s,
            burst_s: burst_bytes as f64 * per_byte_s,
            tat: None,
            opens_at,
            last_arrival: Duration::ZERO,
            queue: queue_bytes
                .map(|capacity| Queue { capacity: capacity.max(1), on_the_way: VecDeque::new() }),
            loss: 0.0,
            probe: None,
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// When a chunk of `len` bytes, ready at `now`, may be read: at once, or, with a queue
    /// limit, once enough of what is on its way has arrived (a chunk bigger than the whole
    /// queue waits for all of it). Meanwhile the sender's TCP window fills and it waits.
    pub fn admit(&mut self, now: Duration, len: usize) -> Duration {
        let Some(queue) = &mut self.queue else { return now };
        let want = (len as u64).min(queue.capacity);
        let mut at = now;
        let mut held = queue.held();
        while held + want > queue.capacity {
            let Some((arrival, n)) = queue.on_the_way.pop_front() else { break };
            at = at.max(arrival);
            held -= n;
        }
        // Whatever else arrived by then is gone too.
        while queue.on_the_way.front().is_some_and(|(arrival, _)| *arrival <= at) {
            queue.on_the_way.pop_front();
        }
        at
    }

    /// When `len` bytes read at `now` arrive at the far end (and, with a queue limit, they are
    /// counted on their way until then). Arrivals never go backwards: TCP delivers a stream in
    /// order, so a chunk's jitter cannot overtake the one before it.
    pub fn arrival(&mut self, now: Duration, len: usize) -> Duration {
        let start = now.max(self.opens_at);
        // Token bucket as GCRA: the chunk's last byte leaves once the bucket has room for it.
        let mut departure = start;
        if self.per_byte_s > 0.0 {
            let tat = self.tat.map_or(start, |t| t.max(start)) + secs(len as f64 * self.per_byte_s);
            self.tat = Some(tat);
            departure = departure.max(tat.saturating_sub(secs(self.burst_s)));
        }
        let mut delay = self.one_way;
        if !self.jitter.is_zero() {
            let span = self.jitter.as_secs_f64();
            let offset = (self.rng.f64() * 2.0 - 1.0) * span;
            delay = secs((delay.as_secs_f64() + offset).max(0.0));
        }
        if let Some(probe) = self.probe
            && self.loss > 0.0
        {
            let segments = len.div_ceil(MSS).max(1);
            let delivered_first_time = (1.0 - self.loss).powi(segments as i32);
            if self.rng.f64() >= delivered_first_time {
                let alone = if segments == 1 { Duration::from_millis(200) } else { Duration::from_millis(2) };
                delay += probe + alone;
            }
        }
        let arrival = (departure + delay).max(self.last_arrival);
        self.last_arrival = arrival;
        if let Some(queue) = &mut self.queue {
            let want = (len as u64).min(queue.capacity);
            queue.on_the_way.push_back((arrival, want));
        }
        arrival
    }

    /// A whole message of `len` bytes written at `now`, read chunk by chunk as the relay reads
    /// it: when its last byte arrives.
    pub fn deliver(&mut self, now: Duration, len: usize) -> Duration {
        let mut read_at = now;
        let mut arrived = now.max(self.opens_at);
        let mut left = len;
        while left > 0 {
            let chunk = left.min(CHUNK);
            read_at = self.admit(read_at, chunk);
            arrived = self.arrival(read_at, chunk);
            left -= chunk;
        }
        arrived
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(x: f64) -> Duration {
        Duration::from_secs_f64(x / 1e3)
    }

    fn plain(one_way_ms: f64, rate: Option<f64>, burst: u64, queue: Option<u64>, opens_ms: f64) -> Schedule {
        Schedule::new(ms(one_way_ms), Duration::ZERO, rate, burst, queue, ms(opens_ms), 1)
    }

    #[test]
    fn a_new_connection_sends_after_its_handshake_then_one_way_later() {
        let link = Link::parse("rtt=50ms").expect("link");
        let mut up = Schedule::for_link(&link, false, 1);
        assert_eq!(up.arrival(Duration::ZERO, 100), ms(75.0), "held one round trip, then one way");
        assert_eq!(up.arrival(ms(100.0), 100), ms(125.0), "then one way only");
        let mut down = Schedule::for_link(&link, true, 2);
        assert_eq!(down.arrival(Duration::ZERO, 100), ms(100.0), "the server learns of it at 1.5 RTT");
    }

    #[test]
    fn the_handshake_comes_before_the_bandwidth_not_beside_it() {
        // 64 KiB at 2 Mbit/s (250 kB/s) with a 1,500-byte burst behind an 80 ms handshake: the
        // upload starts at 80 ms, so its last byte leaves at 80 + (65,536 − 1,500) / 250 ms.
        let link = Link::parse("rtt=80ms,up=2mbit,burst=1500b").expect("link");
        let mut up = Schedule::for_link(&link, false, 1);
        let arrived = up.deliver(Duration::ZERO, 65536);
        let expected = 80.0 + (65536.0 - 1500.0) / 250e3 * 1e3 + 40.0;
        assert!((arrived.as_secs_f64() * 1e3 - expected).abs() < 1e-6, "{arrived:?} vs {expected} ms");
    }

    #[test]
    fn bandwidth_paces_bytes_after_the_burst() {
        // 1,000 bytes per second, a burst of 100 bytes, no delay.
        let mut s = plain(0.0, Some(1000.0), 100, None, 0.0);
        let t0 = Duration::ZERO;
        assert_eq!(s.arrival(t0, 100), t0, "within the burst: at once");
        assert_eq!(s.arrival(t0, 100), ms(100.0), "the next 100 bytes wait for their tokens");
        assert_eq!(s.arrival(t0, 500), ms(600.0));
        // An idle second refills the bucket (to its depth, no more).
        let later = ms(2000.0);
        assert_eq!(s.arrival(later, 100) - later, Duration::ZERO);
        assert_eq!(s.arrival(later, 100) - later, ms(100.0));
        // 64 KiB at 8 Mbit/s with a 16 KiB burst: 48 KiB paced, 49.152 ms.
        let mut s = plain(0.0, Some(1e6), 16384, None, 0.0);
        let d = s.deliver(Duration::ZERO, 65536);
        assert!((d.as_secs_f64() - 0.049152).abs() < 1e-6, "{d:?}");
    }

    #[test]
    fn a_full_queue_holds_reading_until_bytes_arrive() {
        // 10 kB/s, no burst, 100 ms one way, 2,000 bytes of queue: the third 1,000-byte chunk
        // is read once the first has arrived (at 200 ms).
        let mut s = plain(100.0, Some(10e3), 0, Some(2000), 0.0);
        let t0 = Duration::ZERO;
        assert_eq!(s.admit(t0, 1000), t0);
        assert_eq!(s.arrival(t0, 1000), ms(200.0));
        assert_eq!(s.admit(t0, 1000), t0);
        assert_eq!(s.arrival(t0, 1000), ms(300.0));
        assert_eq!(s.admit(t0, 1000), ms(200.0), "waits for the first to arrive");
        // Without a limit the same chunk is read at once.
        let mut free = plain(100.0, Some(10e3), 0, None, 0.0);
        assert_eq!(free.admit(t0, 1000), t0);
    }

    #[test]
    fn loss_drops_datagrams_and_delays_tcp_segments_by_a_loss_probe() {
        let link = Link::parse("rtt=50ms,loss=10%").expect("link");
        let mut udp = Schedule::for_datagrams(&link, false, 3);
        let dropped = (0..20_000).filter(|_| udp.drops()).count();
        assert!((1_800..2_200).contains(&dropped), "10 % of 20,000: {dropped}");
        assert_eq!(udp.arrival(Duration::ZERO, 100), ms(25.0), "a datagram waits for no handshake");
        let mut tcp = Schedule::for_link(&link, false, 4);
        let mut late = 0;
        for i in 0..2_000 {
            let now = ms(1_000.0 + f64::from(i) * 1_000.0);
            let delay = tcp.arrival(now, 100) - now;
            if delay > ms(25.0) {
                // One probe: 2 RTT and 200 ms for a segment alone, then one way.
                assert_eq!(delay, ms(25.0 + 100.0 + 200.0));
                late += 1;
            }
        }
        assert!((150..250).contains(&late), "about 10 % of 2,000 segments come late: {late}");
        assert!(!Link::parse("rtt=50ms").expect("link").is_direct());
        assert!(!Link::parse("loss=1%").expect("link").is_direct(), "loss alone needs the relay");
    }

    #[test]
    fn jitter_stays_within_its_bounds_and_never_reorders() {
        let mut s = Schedule::new(ms(20.0), ms(5.0), None, 0, None, Duration::ZERO, 7);
        let mut last = Duration::ZERO;
        let mut spread = (f64::MAX, 0.0f64);
        for i in 0..2000 {
            let now = ms(f64::from(i) * 10.0);
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
