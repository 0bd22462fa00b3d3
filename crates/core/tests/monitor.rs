//! The live monitor against a real server: snapshots published to a WebSocket subscriber, a
//! poller and a long-poller at once, and the session summary of what each saw.

use std::time::Duration;

use duplex_core::clients::Endpoints;
use duplex_core::clock::now_unix_ns;
use duplex_core::monitor::watch::{Watched, watch_long_poll, watch_poll, watch_push};
use duplex_core::monitor::{Feed, Session, summarize};
use duplex_core::server::{Server, ServerConfig, ServerError};
use tokio_util::sync::CancellationToken;

use crate::util::server_with;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_poll_and_long_poll_watch_the_same_snapshots() {
    let server = server_with(ServerConfig { monitor_hz: 20.0, ..ServerConfig::default() }).await;
    let endpoints = Endpoints::for_addr(server.local_addr());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Watched>();
    let stop = CancellationToken::new();
    if crate::util::under_wine() {
        // No CPU load under Wine: the monitor refuses with the reason, and nothing crashes.
        let refused = watch_poll(&endpoints, Duration::from_millis(200), tx, stop).await;
        let reason = refused.expect_err("no live monitor under Wine").to_string();
        assert!(reason.contains("503") && reason.contains("running under Wine"), "{reason}");
        return;
    }
    let started_ns = now_unix_ns();
    let watchers = [
        tokio::spawn({
            let (e, tx, stop) = (endpoints.clone(), tx.clone(), stop.clone());
            async move { watch_push(&e, tx, stop).await }
        }),
        tokio::spawn({
            let (e, tx, stop) = (endpoints.clone(), tx.clone(), stop.clone());
            async move { watch_poll(&e, Duration::from_millis(200), tx, stop).await }
        }),
        tokio::spawn({
            let (e, tx, stop) = (endpoints.clone(), tx.clone(), stop.clone());
            async move { watch_long_poll(&e, tx, stop).await }
        }),
    ];
    drop(tx);
    tokio::time::sleep(Duration::from_millis(2000)).await;
    stop.cancel();
    for w in watchers {
        w.await.expect("joined").expect("watched without error");
    }
    let ended_ns = now_unix_ns();
    let mut observations = Vec::new();
    let mut cores = None;
    while let Ok(w) = rx.try_recv() {
        if let Some(p) = &w.snapshot {
            cores = Some(p.snapshot.cpu_per_core.len());
            assert!(p.snapshot.memory_total_bytes > 0 && !p.snapshot.top.is_empty());
        }
        observations.push(w.observation);
    }
    assert_eq!(cores, Some(std::thread::available_parallelism().map_or(1, |n| n.get())));

    // Every feed saw the same numbering; each saw its own snapshots in order.
    for feed in [Feed::Push, Feed::Poll, Feed::LongPoll] {
        let seqs: Vec<u64> = observations.iter().filter(|o| o.feed == feed).filter_map(|o| o.seq).collect();
        assert!(seqs.windows(2).all(|w| w[0] <= w[1]), "{feed:?}: {seqs:?}");
        if feed != Feed::Poll {
            assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{feed:?} never repeats: {seqs:?}");
        }
    }
    let summary =
        summarize(&Session { started_ns, ended_ns, one_clock: true, observations: observations.clone() });
    let feed = |f: Feed| summary.feeds.iter().find(|s| s.feed == f).expect("a summary per feed");
    let (push, poll, long) = (feed(Feed::Push), feed(Feed::Poll), feed(Feed::LongPoll));
    // 20 Hz for about 2 s: the push subscriber is told of each one.
    assert!(push.snapshots >= 10, "{push:?}");
    assert_eq!(push.messages, push.snapshots);
    assert!(long.snapshots >= 10, "{long:?}");
    // Polling at 5 Hz sees about every fourth snapshot, and says how many it missed.
    assert!((4..=12).contains(&poll.messages), "{poll:?}");
    let poll_seqs: Vec<u64> =
        observations.iter().filter(|o| o.feed == Feed::Poll).filter_map(|o| o.seq).collect();
    let (first, last) = (poll_seqs[0], poll_seqs[poll_seqs.len() - 1]);
    assert_eq!(poll.snapshots + poll.missed, last - first + 1);
    assert!(poll.missed > 0, "{poll:?}");
    for s in [push, poll, long] {
        let st = s.staleness_ms.as_ref().expect("staleness");
        assert!(st.p50 >= 0.0 && st.max < 2000.0, "one clock, within the session: {s:?}");
        assert!(s.bytes_per_s > 0.0 && s.bytes_per_snapshot.is_some_and(|b| b > 100.0), "{s:?}");
    }
}

#[tokio::test]
async fn a_monitor_rate_out_of_range_is_refused_at_start() {
    let config = ServerConfig { monitor_hz: 50.0, ..ServerConfig::default() };
    match Server::start(config).await {
        Err(ServerError::Invalid(why)) => assert!(why.contains("50 Hz"), "{why}"),
        other => panic!("expected a refusal, got {:?}", other.map(|s| s.local_addr())),
    }
}
