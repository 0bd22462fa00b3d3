//! What a link predicts for a transport's median call: the relay's own arithmetic
//! ([`Schedule`]) run over the call's measured bytes, in the order the transport sends them, at
//! the plan's pace. Nothing else is left out or added: where a measured median is far from this,
//! the difference is not the link's (see the report's notes for what it is).
//!
//! - A kept-alive connection (ws, http, …) runs the plan's calls back to back (or paced) on one
//!   pair of schedules, so its token buckets refill only as much as the time between calls
//!   allows; the model is the median of those calls.
//! - A new connection per call (http-new, https-new; a web view that does not keep a POST's
//!   connection) starts each call with fresh schedules: its handshake round trip, its TLS
//!   flights (shaped like any other bytes), then the request.
//! - A new QUIC connection per call (h3-new), resumed: the request leaves with the handshake's
//!   first flight (0-RTT data) and the answer comes back with the server's (0.5-RTT): one flight
//!   each way of all the call's bytes.
//! - Push transports time one way: an event's bytes down the link, a long-poll's next request
//!   up it first when the event comes before that request.
//!
//! Jitter is left out: it moves single arrivals both ways and the median not at all.

use std::time::Duration;

use super::Link;
use super::schedule::Schedule;
use crate::transport::Transport;

/// How the plan spaces one client's calls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    BackToBack,
    /// This long after each answer, ms.
    Interval(f64),
    /// Calls per second on a fixed schedule; a late call's lateness counts (coordinated
    /// omission), as the runner measures it.
    Rate(f64),
}

/// What one call of a transport carries, as measured, and how the plan paces it.
#[derive(Debug, Clone, PartialEq)]
pub struct Traffic {
    /// Bytes per call the client sent and received on the socket (framing and headers), its
    /// connection's handshakes left out.
    pub bytes_out: f64,
    pub bytes_in: f64,
    /// A new connection's TLS handshake, out and in; 0 without TLS.
    pub handshake_out: f64,
    pub handshake_in: f64,
    /// Share of the calls that opened a connection of their own, measured where the transport
    /// means to keep one (a web view's AJAX); the model follows the median call.
    pub new_connections: f64,
    pub pace: Pace,
    pub poll_interval_ms: f64,
    /// The server's event period (push transports), ms.
    pub tick_ms: f64,
}

impl Traffic {
    /// `bytes_out` up and `bytes_in` down per call, back to back, with the defaults of a plan.
    pub fn echo(bytes_out: f64, bytes_in: f64) -> Traffic {
        Traffic {
            bytes_out,
            bytes_in,
            handshake_out: 0.0,
            handshake_in: 0.0,
            new_connections: 0.0,
            pace: Pace::BackToBack,
            poll_interval_ms: 100.0,
            tick_ms: 100.0,
        }
    }
}

/// Calls (or events) the model runs through the schedules: enough for the buckets to settle,
/// whose median is the steady state.
const CALLS: usize = 41;

impl Link {
    /// The median call of `transport` over this link, µs (see the module's doc).
    pub fn predict_us(&self, transport: Transport, traffic: &Traffic) -> f64 {
        let calls = match transport {
            Transport::HttpNew | Transport::HttpsNew => self.fresh_calls(traffic, transport.is_tls()),
            Transport::H3New => self.early_calls(traffic),
            Transport::Ws
            | Transport::Wss
            | Transport::Http
            | Transport::Https
            | Transport::H2
            | Transport::Xhr => {
                if traffic.new_connections > 0.5 {
                    self.fresh_calls(traffic, transport.is_tls())
                } else {
                    self.kept_alive_calls(traffic)
                }
            }
            // QUIC's handshake, TLS in it, takes 1 RTT, as TCP's alone does (0 RTT resumed with
            // the request in it: `h3-new`).
            Transport::Wt | Transport::WtStreams | Transport::WtDgram | Transport::H3 => {
                if traffic.new_connections > 0.5 {
                    self.fresh_calls(traffic, false)
                } else {
                    self.kept_alive_calls(traffic)
                }
            }
            Transport::WsPush | Transport::Sse | Transport::WtPush | Transport::WtPushDgram => {
                self.pushed(traffic, false)
            }
            Transport::LongPoll => self.pushed(traffic, true),
            Transport::Poll => {
                // An event waits half the poll interval on average for the poll that finds it.
                let mut down = Schedule::for_link(self, true, 0);
                let start = down_open(self);
                let answer = down.deliver(start, bytes(traffic.bytes_in));
                vec![traffic.poll_interval_ms / 2e3 + (answer - start).as_secs_f64()]
            }
        };
        crate::numbers::median(calls).unwrap_or(0.0) * 1e6
    }

    /// Every call on one connection, spaced as the plan says; seconds each.
    fn kept_alive_calls(&self, traffic: &Traffic) -> Vec<f64> {
        let mut up = Schedule::for_link(self, false, 0);
        let mut down = Schedule::for_link(self, true, 0);
        // The connection and its own handshakes are done before the first call.
        let first = down_open(self) + Duration::from_secs_f64(self.rtt_ms / 2e3);
        let (out, inn) = (bytes(traffic.bytes_out), bytes(traffic.bytes_in));
        let mut free_at = first;
        (0..CALLS)
            .map(|i| {
                let due = match traffic.pace {
                    Pace::Rate(per_s) => first + Duration::from_secs_f64(i as f64 / per_s),
                    _ => free_at,
                };
                let sent = due.max(free_at);
                let answered = down.deliver(up.deliver(sent, out), inn);
                free_at = match traffic.pace {
                    Pace::Interval(ms) => answered + Duration::from_secs_f64(ms / 1e3),
                    _ => answered,
                };
                (answered - due).as_secs_f64()
            })
            .collect()
    }

    /// A call on a connection of its own: TCP's handshake (the schedules' gates), TLS's flights
    /// when `tls` (a round trip even where their bytes were not counted: a web page's), then the
    /// request; seconds.
    fn fresh_calls(&self, traffic: &Traffic, tls: bool) -> Vec<f64> {
        let mut up = Schedule::for_link(self, false, 0);
        let mut down = Schedule::for_link(self, true, 0);
        let mut at = Duration::ZERO;
        if tls {
            let flight = |b: f64| bytes(b).max(1);
            at = down.deliver(up.deliver(at, flight(traffic.handshake_out)), flight(traffic.handshake_in));
        }
        let answered = down.deliver(up.deliver(at, bytes(traffic.bytes_out)), bytes(traffic.bytes_in));
        vec![answered.as_secs_f64()]
    }

    /// A call on a resumed QUIC connection of its own: its bytes (the handshake's with them)
    /// one flight up, then one down; no gate before them (UDP has no handshake of its own);
    /// seconds.
    fn early_calls(&self, traffic: &Traffic) -> Vec<f64> {
        let mut up = Schedule::for_datagrams(self, false, 0);
        let mut down = Schedule::for_datagrams(self, true, 0);
        let out = bytes(traffic.bytes_out + traffic.handshake_out);
        let inn = bytes(traffic.bytes_in + traffic.handshake_in);
        vec![down.deliver(up.deliver(Duration::ZERO, out), inn).as_secs_f64()]
    }

    /// Events every tick down one connection: creation to arrival, seconds. A long-poll asks
    /// again once it has an event, so an event made before that request arrives waits for it.
    fn pushed(&self, traffic: &Traffic, long_poll: bool) -> Vec<f64> {
        let mut up = Schedule::for_link(self, false, 0);
        let mut down = Schedule::for_link(self, true, 0);
        let tick = Duration::from_secs_f64(traffic.tick_ms.max(1.0) / 1e3);
        let start = down_open(self) + Duration::from_secs_f64(self.rtt_ms / 2e3);
        // The first long-poll request is waiting when the first event is made.
        let mut asked = start;
        (0..CALLS)
            .map(|i| {
                let created = start + tick * (i as u32 + 1);
                let sent = if long_poll { created.max(asked) } else { created };
                let arrived = down.deliver(sent, bytes(traffic.bytes_in));
                if long_poll {
                    asked = up.deliver(arrived, bytes(traffic.bytes_out));
                }
                (arrived - created).as_secs_f64()
            })
            .collect()
    }

    /// How the model arrives at its figure for `transport`, in words.
    pub fn model_words(transport: Transport, traffic: &Traffic) -> &'static str {
        match transport {
            Transport::HttpNew => "TCP handshake, request: 2 RTT + bytes beyond the burst",
            Transport::HttpsNew => {
                "TCP, TLS 1.3 (its flights shaped too), request: 3 RTT + bytes beyond the burst"
            }
            Transport::H3New => {
                "QUIC resumed, the request in its first flight (0-RTT) and the answer in the server's: 1 RTT + bytes beyond the burst"
            }
            Transport::Ws
            | Transport::Wss
            | Transport::Http
            | Transport::Https
            | Transport::H2
            | Transport::Xhr
                if traffic.new_connections > 0.5 =>
            {
                if transport.is_tls() {
                    "a new connection per call: TCP, TLS 1.3, request: 3 RTT + bytes beyond the burst"
                } else {
                    "a new connection per call: TCP handshake, request: 2 RTT + bytes beyond the burst"
                }
            }
            Transport::Wt | Transport::WtStreams | Transport::WtDgram | Transport::H3
                if traffic.new_connections > 0.5 =>
            {
                "a new connection per call: QUIC's handshake with TLS in it, request: 2 RTT + bytes beyond the burst"
            }
            Transport::WsPush | Transport::Sse | Transport::WtPush | Transport::WtPushDgram => {
                "one way + bytes beyond the burst"
            }
            Transport::LongPoll => "one way + bytes beyond the burst (after the next request, if later)",
            Transport::Poll => "half the poll interval + one way + bytes beyond the burst",
            _ => "1 RTT + bytes beyond the burst, at the plan's pace",
        }
    }
}

/// When a new connection's server side may first send: 1.5 RTT (see [`Schedule::for_link`]).
fn down_open(link: &Link) -> Duration {
    Duration::from_secs_f64(link.rtt_ms * 1.5 / 1e3)
}

fn bytes(x: f64) -> usize {
    if x.is_finite() && x > 0.0 { x.round() as usize } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(us: f64) -> f64 {
        us / 1e3
    }

    #[test]
    fn round_trips_and_handshakes_without_bandwidth() {
        let link = Link::parse("rtt=50ms").expect("valid");
        let p = |t| ms(link.predict_us(t, &Traffic::echo(100.0, 100.0)));
        assert!((p(Transport::Ws) - 50.0).abs() < 1e-6);
        assert!((p(Transport::HttpNew) - 100.0).abs() < 1e-6);
        let tls = Traffic { handshake_out: 50.0, handshake_in: 50.0, ..Traffic::echo(50.0, 50.0) };
        assert!((ms(link.predict_us(Transport::HttpsNew, &tls)) - 150.0).abs() < 1e-6);
        assert!((ms(link.predict_us(Transport::H3New, &tls)) - 50.0).abs() < 1e-6, "0-RTT: one round trip");
        assert!((p(Transport::LongPoll) - 25.0).abs() < 1e-6);
        assert!((p(Transport::WsPush) - 25.0).abs() < 1e-6);
        assert!((p(Transport::Poll) - 75.0).abs() < 1e-6);
    }

    /// The case: 64 KiB each way over rtt=80ms,down=8mbit,up=2mbit with a 16 KiB burst
    /// measured 326 ms, which is the relay's arithmetic: the burst passes at once.
    #[test]
    fn the_burst_passes_at_once_and_the_rest_at_the_line_rate() {
        let link = Link::parse("rtt=80ms,down=8mbit,up=2mbit,burst=16kib").expect("valid");
        let traffic = Traffic::echo(65607.0, 65607.0);
        let expected = 80.0 + (65607.0 - 16384.0) * 8.0 / 2e3 + (65607.0 - 16384.0) * 8.0 / 8e3;
        assert!((ms(link.predict_us(Transport::Ws, &traffic)) - expected).abs() < 0.01);
        // A new connection costs its handshake's round trip more, before the transfer.
        let fresh = ms(link.predict_us(Transport::HttpNew, &traffic));
        assert!((fresh - expected - 80.0).abs() < 0.01, "{fresh} vs {expected} + 80");
    }

    #[test]
    fn buckets_that_cannot_refill_between_calls_pace_every_byte() {
        // A 64 KiB burst at 8 Mbit/s (1 MB/s) refills in 65.5 ms. Without a round trip, calls of
        // 16 KiB each way follow each other at once: a direction's bucket refills only while
        // the other direction sends. In the steady state each sends half its bytes paced
        // (8,192 B, 8.192 ms) and gets 16 ms of tokens back per call, what it spends: 16.4 ms.
        let link = Link::parse("down=8mbit,up=8mbit,burst=64kib").expect("valid");
        let steady = ms(link.predict_us(Transport::Ws, &Traffic::echo(16384.0, 16384.0)));
        assert!((steady - 16.384).abs() < 0.05, "{steady} ms");
        // At 10 calls a second the buckets are full again each time: nothing is paced.
        let paced = Traffic { pace: Pace::Interval(100.0), ..Traffic::echo(16384.0, 16384.0) };
        assert!(ms(link.predict_us(Transport::Ws, &paced)) < 0.01);
    }

    #[test]
    fn a_web_view_that_opens_a_connection_per_call_pays_its_handshake() {
        let link = Link::parse("rtt=50ms").expect("valid");
        let kept = Traffic::echo(300.0, 200.0);
        let fresh = Traffic { new_connections: 1.0, ..kept.clone() };
        assert!((ms(link.predict_us(Transport::Xhr, &kept)) - 50.0).abs() < 1e-6);
        assert!((ms(link.predict_us(Transport::Xhr, &fresh)) - 100.0).abs() < 1e-6);
        assert!(Link::model_words(Transport::Http, &fresh).contains("new connection per call"));
    }

    #[test]
    fn a_long_poll_whose_event_comes_before_its_request_waits_for_it() {
        // Events every 20 ms over a 100 ms RTT: each long-poll asks again 100 ms after the
        // last event was made, so events wait for requests; the median is no longer one way.
        let link = Link::parse("rtt=100ms").expect("valid");
        let traffic = Traffic { tick_ms: 20.0, ..Traffic::echo(100.0, 100.0) };
        assert!(ms(link.predict_us(Transport::LongPoll, &traffic)) > 50.0 + 1.0);
        assert!((ms(link.predict_us(Transport::WsPush, &traffic)) - 50.0).abs() < 1e-6);
    }
}
