//! A watching session, push against poll: what each feed showed and when, and its summary —
//! how stale the data was when it appeared, how old what was on screen was on average, what it
//! missed, and what it spent in bytes, requests and the watcher's own CPU time.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use statrs::statistics::{Data, OrderStatistics};
use ts_rs::TS;

pub use duplex_model::monitor::{Feed, Observation, Session};

/// Milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct Spread {
    pub mean: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct FeedSummary {
    pub feed: Feed,
    /// Messages (push) or answers (poll), new snapshot or not.
    pub messages: u64,
    /// New snapshots shown.
    pub snapshots: u64,
    /// Snapshots published between the first and last shown that this feed never showed.
    pub missed: u64,
    /// Age of each new snapshot when it appeared (shown − created), ms.
    pub staleness_ms: Option<Spread>,
    /// Time-averaged age of what was on screen, from the first snapshot to the session's end, ms.
    pub mean_age_ms: Option<f64>,
    pub bytes_per_s: f64,
    pub messages_per_s: f64,
    pub bytes_per_snapshot: Option<f64>,
    /// Watcher CPU time per second of session, ms/s.
    pub handler_ms_per_s: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct SessionSummary {
    pub duration_s: f64,
    pub feeds: Vec<FeedSummary>,
    pub notes: Vec<String>,
    /// The session in one sentence: push against the other feed, freshness, misses and bytes.
    #[serde(default)]
    pub verdict: Option<String>,
}

/// "push showed snapshots 1.8 ms after they were made (median) and missed none; poll 250 ms
/// (140× staler) and missed 3, for 2.1× the bytes per snapshot".
fn verdict(feeds: &[FeedSummary]) -> Option<String> {
    let push = feeds.iter().find(|f| f.feed == Feed::Push)?;
    let other = feeds.iter().find(|f| f.feed != Feed::Push)?;
    let (a, b) = (push.staleness_ms.as_ref()?.p50, other.staleness_ms.as_ref()?.p50);
    let name = |f: &FeedSummary| match f.feed {
        Feed::Push => "push",
        Feed::Poll => "poll",
        Feed::LongPoll => "long-poll",
    };
    let missed = |n: u64| if n == 0 { "missed none".to_owned() } else { format!("missed {n}") };
    let fresher = if a > 0.0 && b >= a {
        format!(" ({:.0}× staler)", b / a)
    } else if b > 0.0 && a > b {
        format!(" ({:.1}× fresher than push)", a / b)
    } else {
        String::new()
    };
    let bytes = match (push.bytes_per_snapshot, other.bytes_per_snapshot) {
        (Some(p), Some(o)) if p > 0.0 => format!(", for {:.1}× the bytes per snapshot", o / p),
        _ => String::new(),
    };
    Some(format!(
        "{} showed snapshots {:.1} ms after they were made (median) and {}; {} {:.1} ms{fresher} and {}{bytes}.",
        name(push),
        a,
        missed(push.missed),
        name(other),
        b,
        missed(other.missed)
    ))
}

/// Mean and exact quantiles (statrs, R-8, as the run statistics).
fn spread(xs: Vec<f64>) -> Option<Spread> {
    if xs.is_empty() {
        return None;
    }
    let mean = xs.iter().sum::<f64>() / xs.len() as f64;
    let mut data = Data::new(xs);
    Some(Spread {
        mean,
        p50: data.quantile(0.5),
        p95: data.quantile(0.95),
        p99: data.quantile(0.99),
        max: data.quantile(1.0),
    })
}

/// The summary of one feed's observations over a session lasting to `ended_ns`.
fn summarize_feed(feed: Feed, observations: &[&Observation], ended_ns: i64, duration_s: f64) -> FeedSummary {
    // New snapshots in the order they appeared: a repeated or older sequence is not news.
    let mut fresh: Vec<(u64, i64, i64)> = Vec::new();
    for o in observations {
        if let (Some(seq), Some(created)) = (o.seq, o.created_ns)
            && fresh.last().is_none_or(|&(last, _, _)| seq > last)
        {
            fresh.push((seq, created, o.shown_ns));
        }
    }
    let staleness: Vec<f64> =
        fresh.iter().map(|&(_, created, shown)| (shown - created) as f64 / 1e6).collect();
    // What is on screen ages from its staleness when it appears until the next one replaces it:
    // over a stretch of Δ it averages staleness + Δ/2.
    let mut weighted = 0.0;
    let mut span = 0.0;
    for (i, &(_, _, shown)) in fresh.iter().enumerate() {
        let until = fresh.get(i + 1).map_or(ended_ns, |next| next.2);
        let delta = (until - shown).max(0) as f64 / 1e6;
        weighted += (staleness[i] + delta / 2.0) * delta;
        span += delta;
    }
    let missed = match (fresh.first(), fresh.last()) {
        (Some(first), Some(last)) => (last.0 - first.0 + 1).saturating_sub(fresh.len() as u64),
        _ => 0,
    };
    let bytes: u64 = observations.iter().map(|o| o.bytes_in + o.bytes_out).sum();
    let handler_ns: u64 = observations.iter().map(|o| o.handler_ns).sum();
    let per_s = |x: f64| if duration_s > 0.0 { x / duration_s } else { 0.0 };
    FeedSummary {
        feed,
        messages: observations.len() as u64,
        snapshots: fresh.len() as u64,
        missed,
        staleness_ms: spread(staleness),
        mean_age_ms: (span > 0.0).then(|| weighted / span),
        bytes_per_s: per_s(bytes as f64),
        messages_per_s: per_s(observations.len() as f64),
        bytes_per_snapshot: (!fresh.is_empty()).then(|| bytes as f64 / fresh.len() as f64),
        handler_ms_per_s: per_s(handler_ns as f64 / 1e6),
    }
}

pub fn summarize(session: &Session) -> SessionSummary {
    let duration_s = (session.ended_ns - session.started_ns).max(0) as f64 / 1e9;
    // Push first, then poll, then long-poll.
    let mut order: Vec<Feed> = session.observations.iter().map(|o| o.feed).collect();
    order.sort();
    order.dedup();
    let feeds: Vec<FeedSummary> = order
        .into_iter()
        .map(|feed| {
            let mine: Vec<&Observation> = session.observations.iter().filter(|o| o.feed == feed).collect();
            summarize_feed(feed, &mine, session.ended_ns, duration_s)
        })
        .collect();
    let mut notes = vec![
        "CPU is the watcher's own time receiving, parsing and drawing; the network stack and the server are not in it"
            .to_owned(),
    ];
    if !session.one_clock {
        notes.push(
            "server and watcher on two machines: staleness compares their clocks, so an offset between them shifts it"
                .to_owned(),
        );
    }
    let verdict = verdict(&feeds);
    SessionSummary { duration_s, feeds, notes, verdict }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1_000_000;

    fn obs(feed: Feed, seq: Option<u64>, created_ms: i64, shown_ms: i64) -> Observation {
        Observation {
            feed,
            seq,
            created_ns: seq.map(|_| created_ms * MS),
            shown_ns: shown_ms * MS,
            bytes_out: 100,
            bytes_in: 400,
            handler_ns: 250_000,
        }
    }

    #[test]
    fn staleness_age_and_misses_by_hand() {
        // Snapshots 1..=4 published at 0, 1000, 2000, 3000 ms. Push shows each 2 ms later; poll
        // asks at 500, 1500, 2500 and 3500 ms but the second answer repeats snapshot 2 and
        // snapshot 3 is never seen.
        let session = Session {
            started_ns: 0,
            ended_ns: 4000 * MS,
            one_clock: true,
            observations: vec![
                obs(Feed::Push, Some(1), 0, 2),
                obs(Feed::Poll, Some(1), 0, 500),
                obs(Feed::Push, Some(2), 1000, 1002),
                obs(Feed::Poll, Some(2), 1000, 1500),
                obs(Feed::Push, Some(3), 2000, 2002),
                obs(Feed::Poll, Some(2), 1000, 2500),
                obs(Feed::Push, Some(4), 3000, 3002),
                obs(Feed::Poll, Some(4), 3000, 3500),
            ],
        };
        let s = summarize(&session);
        assert_eq!(s.duration_s, 4.0);
        let push = &s.feeds[0];
        assert_eq!((push.feed, push.messages, push.snapshots, push.missed), (Feed::Push, 4, 4, 0));
        let st = push.staleness_ms.as_ref().expect("staleness");
        assert_eq!((st.mean, st.p50, st.max), (2.0, 2.0, 2.0));
        // On screen: 2 ms old rising by 1000 ms each stretch, the last stretch 998 ms to the end.
        let want = (3.0 * (2.0 + 500.0) * 1000.0 + (2.0 + 499.0) * 998.0) / 3998.0;
        assert!((push.mean_age_ms.expect("age") - want).abs() < 1e-9);
        assert_eq!(push.bytes_per_s, 4.0 * 500.0 / 4.0);
        assert_eq!(push.handler_ms_per_s, 4.0 * 0.25 / 4.0);

        let poll = &s.feeds[1];
        assert_eq!((poll.messages, poll.snapshots, poll.missed), (4, 3, 1), "snapshot 3 missed");
        let st = poll.staleness_ms.as_ref().expect("staleness");
        assert_eq!((st.mean, st.max), (500.0, 500.0));
        // Shown at 500 (age 500), 1500 (500), 3500 (500); stretches 1000, 2000, 500.
        let want = ((500.0 + 500.0) * 1000.0 + (500.0 + 1000.0) * 2000.0 + (500.0 + 250.0) * 500.0) / 3500.0;
        assert!((poll.mean_age_ms.expect("age") - want).abs() < 1e-9);
        assert_eq!(poll.bytes_per_snapshot, Some(4.0 * 500.0 / 3.0));
        assert_eq!(poll.messages_per_s, 1.0);
        assert_eq!(s.notes.len(), 1, "one clock: no clock note");
        // Push at 2 ms, poll at 500 ms (p50), one snapshot missed, 4/3 the bytes per snapshot.
        assert_eq!(
            s.verdict.as_deref(),
            Some(
                "push showed snapshots 2.0 ms after they were made (median) and missed none; poll 500.0 ms (250× staler) and missed 1, for 1.3× the bytes per snapshot."
            )
        );
    }

    #[test]
    fn empty_answers_and_two_clocks() {
        let session = Session {
            started_ns: 0,
            ended_ns: 1000 * MS,
            one_clock: false,
            observations: vec![obs(Feed::LongPoll, None, 0, 100)],
        };
        let s = summarize(&session);
        let f = &s.feeds[0];
        assert_eq!((f.messages, f.snapshots, f.missed), (1, 0, 0));
        assert!(f.staleness_ms.is_none() && f.mean_age_ms.is_none() && f.bytes_per_snapshot.is_none());
        assert!(s.notes.iter().any(|n| n.contains("two machines")));
        let json = serde_json::to_string(&s).expect("json");
        assert!(json.contains("\"long-poll\""), "{json}");
    }
}
