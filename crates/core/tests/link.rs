//! The link emulator: its relay's timing under tokio's paused clock, and real runs over it on
//! 127.0.0.1 whose medians must match what the link predicts.

use std::time::Duration;

use duplex_core::clients::Transport;
use duplex_core::link::{Link, Relay};
use duplex_core::plan::Plan;
use duplex_core::record::{ClientKind, RunStatus};
use duplex_core::stats::{AnalysisOptions, analyze};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use crate::util::{run_embedded, small_plan};

/// How far a measured median may stray from the model here.
struct Tolerance {
    /// The band for median / model.
    low: f64,
    high: f64,
    /// The share of its handshake's round trips a new connection must measurably add.
    handshake_share: f64,
}

impl Tolerance {
    fn here() -> Self {
        if crate::util::under_wine() {
            // The calls pass through wineserver, another process, and its timers are coarser: a
            // median may run half as long again as the model (CI saw 168 ms for a 139 ms 64 KiB
            // echo), and two calls' medians of a 600 ms transfer differ by more than a tenth of
            // a 20 ms handshake (17.8 ms for 20). The model's 10 % is checked on Linux.
            eprintln!(
                "skipped under Wine: the medians' 10 % agreement with the model (its timers are coarser)"
            );
            Self { low: 0.9, high: 1.5, handshake_share: 0.5 }
        } else {
            Self { low: 0.9, high: 1.1, handshake_share: 0.9 }
        }
    }
}

/// An echo server that nobody here wrote a protocol for: bytes back as they come.
async fn byte_echo() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

async fn round_trip(stream: &mut TcpStream, bytes: &[u8]) -> Duration {
    let start = Instant::now();
    stream.write_all(bytes).await.expect("write");
    let mut back = vec![0u8; bytes.len()];
    stream.read_exact(&mut back).await.expect("read");
    assert_eq!(back, bytes);
    start.elapsed()
}

#[tokio::test(start_paused = true)]
async fn the_relay_holds_a_new_connection_one_round_trip_then_delays_each_way() {
    let relay =
        Relay::start(&Link::parse("rtt=50ms").expect("link"), &[byte_echo().await]).await.expect("relay");
    let mut client = TcpStream::connect(relay.local_addr()).await.expect("connect");
    let first = round_trip(&mut client, b"hello").await;
    let second = round_trip(&mut client, b"again").await;
    // Virtual time: the handshake's round trip, then one way out and one back.
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    assert!((100.0..102.5).contains(&ms(first)), "first exchange {first:?}");
    assert!((50.0..51.5).contains(&ms(second)), "second exchange {second:?}");
    let stats = relay.stats();
    assert_eq!(stats.connections.load(std::sync::atomic::Ordering::Relaxed), 1);
    assert_eq!(stats.bytes_up.load(std::sync::atomic::Ordering::Relaxed), 10);
    assert_eq!(stats.bytes_down.load(std::sync::atomic::Ordering::Relaxed), 10);
}

#[tokio::test(start_paused = true)]
async fn the_relay_paces_bytes_at_the_links_bandwidth() {
    // A server that answers one byte once it has 64 KiB: the upload's pace, timed.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.expect("accept");
        let mut all = vec![0u8; 64 << 10];
        s.read_exact(&mut all).await.expect("64 KiB");
        s.write_all(b"k").await.expect("ack");
    });
    // 8 Mbit/s with a 1 KiB burst and no delay: 63 KiB paced at 1 MB/s.
    let link = Link::parse("down=8mbit,up=8mbit,burst=1kib").expect("link");
    let relay = Relay::start(&link, &[addr]).await.expect("relay");
    let mut client = TcpStream::connect(relay.local_addr()).await.expect("connect");
    let start = Instant::now();
    client.write_all(&vec![7u8; 64 << 10]).await.expect("write");
    let mut ack = [0u8; 1];
    client.read_exact(&mut ack).await.expect("ack");
    let took_ms = start.elapsed().as_secs_f64() * 1e3;
    let paced_ms = f64::from((64 << 10) - 1024) / 1e6 * 1e3;
    assert!((paced_ms..paced_ms + 2.0).contains(&took_ms), "{took_ms} ms, expected about {paced_ms} ms");
}

/// A sender faster than the link: the relay holds at most its queue (reading stops, the sender's
/// socket fills up and its writes wait), where without a limit it takes everything at once.
#[tokio::test]
async fn a_queue_limit_stops_the_relay_reading_a_sender_faster_than_the_link() {
    // A server that reads slowly enough never to matter: the link is the bottleneck.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 << 10];
                while matches!(s.read(&mut buf).await, Ok(n) if n > 0) {}
            });
        }
    });
    // More than any loopback socket buffers hold (Linux's most is a few MiB each way).
    let upload = vec![7u8; 64 << 20];
    let took_all = |link: &'static str| {
        let upload = upload.clone();
        async move {
            let relay = Relay::start(&Link::parse(link).expect("link"), &[addr]).await.expect("relay");
            let mut client = TcpStream::connect(relay.local_addr()).await.expect("connect");
            let written = tokio::time::timeout(Duration::from_millis(1500), client.write_all(&upload)).await;
            let delivered = relay.stats().bytes_up.load(std::sync::atomic::Ordering::Relaxed);
            (written.is_ok(), delivered)
        }
    };
    let (unlimited_took_all, _) = took_all("up=80kbit,burst=4kib").await;
    assert!(unlimited_took_all, "without a queue limit the relay reads everything at once");
    let (limited_took_all, delivered) = took_all("up=80kbit,burst=4kib,queue=64kib").await;
    assert!(!limited_took_all, "with a 64 KiB queue the sender must wait for the link");
    // 10 kB/s: about 4 KiB of burst and 15 kB in 1.5 s have reached the server.
    assert!(delivered < 32 << 10, "{delivered} bytes went through a 10 kB/s link in 1.5 s");
}

#[tokio::test]
async fn medians_over_a_50_ms_link_match_the_model() {
    let plan = Plan {
        sets: 1,
        calls: 12,
        warmup: 1,
        // Events further apart than a round trip: a long-poll is always waiting for the next.
        tick_ms: 120,
        link: Some(Link::parse("rtt=50ms").expect("link")),
        ..small_plan(&[Transport::Ws, Transport::Http, Transport::HttpNew, Transport::LongPoll])
    };
    let record = run_embedded(plan).await;
    assert_eq!(record.status, RunStatus::Complete, "{:?}", record.error);
    assert_eq!(record.plan.link.as_ref().map(|l| l.rtt_ms), Some(50.0), "the run records its link");
    let report = analyze(&record, &AnalysisOptions::default());
    let link = report.link.as_ref().expect("the report has the link's model");
    // Under Wine ws read 55.8 ms over 50 ms: there every call must still cross the link.
    let Tolerance { low, high, .. } = Tolerance::here();
    let mut seen = Vec::new();
    for (transport, expected_ms) in [
        (Transport::Ws, 50.0),
        (Transport::Http, 50.0),
        (Transport::HttpNew, 100.0),
        (Transport::LongPoll, 25.0),
    ] {
        let median_ms =
            report.transport(transport, ClientKind::Native).expect("measured").overall.p50_us / 1e3;
        assert!(
            (expected_ms * low..expected_ms * high).contains(&median_ms),
            "{transport}: median {median_ms} ms, expected about {expected_ms} ms"
        );
        let row = link.rows.iter().find(|r| r.transport == transport).expect("a model row");
        assert!((low..high).contains(&row.ratio), "{transport}: measured/model {}", row.ratio);
        seen.push(format!("{transport} {median_ms:.1} ms (model {:.1} ms)", row.model_us / 1e3));
    }
    eprintln!("over rtt=50ms: {}", seen.join(", "));
    assert!(
        report.notes.iter().any(|n| n.starts_with("over an emulated link: rtt=50ms (RTT 50 ms")),
        "{:?}",
        report.notes
    );
}

/// 0-RTT over a 50 ms link: `h3-new`, a new QUIC connection per call, sends its request in the
/// handshake's first flight and the server answers before the handshake ends: one round trip,
/// where `https-new` takes three; the model says the same, and the TLS note counts the early
/// requests. A request that is not the echo waits for the handshake (early data can be
/// replayed): two round trips, though the server took it early.
#[tokio::test]
async fn a_resumed_quic_connection_answers_in_one_round_trip_and_only_the_echo_early() {
    use duplex_core::clients::{Client, ClientOptions, Endpoints, HttpMethod, Trust};
    use duplex_core::transport::ForeignMessages;
    let server = crate::util::server().await;
    if crate::util::quic_unavailable(&server).is_some() {
        return;
    }
    let link = Link::parse("rtt=50ms").expect("link");
    let plan = Plan {
        sets: 1,
        calls: 8,
        warmup: 1,
        link: Some(link.clone()),
        ..small_plan(&[Transport::H3New, Transport::HttpsNew])
    };
    let record = run_embedded(plan).await;
    assert_eq!(record.status, RunStatus::Complete, "{:?}", record.error);
    let report = analyze(&record, &AnalysisOptions::default());
    let model = report.link.as_ref().expect("the link's model");
    let Tolerance { low, high, .. } = Tolerance::here();
    for (transport, expected_ms) in [(Transport::H3New, 50.0), (Transport::HttpsNew, 150.0)] {
        // Each call's handshake computes a key exchange on both sides: 4 ms of a debug build's
        // 54 ms here (1 ms in a release build), a tenth of one round trip.
        let high = if cfg!(debug_assertions) && transport == Transport::H3New { high + 0.1 } else { high };
        let median_ms =
            report.transport(transport, ClientKind::Native).expect("measured").overall.p50_us / 1e3;
        let row = model.rows.iter().find(|r| r.transport == transport).expect("a model row");
        eprintln!("{transport}: {median_ms:.1} ms (model {:.1} ms)", row.model_us / 1e3);
        assert!((expected_ms * low..expected_ms * high).contains(&median_ms), "{transport}: {median_ms} ms");
        assert!((low..high).contains(&row.ratio), "{transport}: measured/model {}", row.ratio);
    }
    let tls = record.tls.iter().find(|u| u.transport == Transport::H3New).expect("h3-new's TLS");
    assert_eq!((tls.connections, tls.early_data), (9, 8), "the warm-up's handshake full: {tls:?}");

    // Not the echo: `/health`, asked as 0-RTT data, is answered once the handshake is done.
    let relay = Relay::start(&link, &[server.quic_addr().expect("QUIC")]).await.expect("relay");
    let mut endpoints = Endpoints::for_addr(relay.local_addr())
        .trusting(Trust::Pinned(server.tls().expect("TLS").certificate().clone()));
    endpoints.https_echo = format!("https://{}/health", relay.local_addr());
    let options = ClientOptions {
        http_method: HttpMethod::Get,
        foreign: Some(ForeignMessages::default()),
        ..ClientOptions::default()
    };
    let mut client =
        Client::connect(Transport::H3New, &endpoints, &options, &Default::default()).await.expect("connect");
    for seq in 1..=4 {
        let m = client.measure(seq).await.expect("health");
        let ms = m.latency_ns as f64 / 1e6;
        let h = client.handshakes().last().expect("a handshake").clone();
        eprintln!("/health {seq}: {ms:.1} ms, sent early: {}", h.early_data);
        // The first: a full handshake, then the request (2 RTT); the next: early, held (2 RTT).
        assert!((100.0 * low..100.0 * high).contains(&ms), "/health {seq}: {ms} ms");
        assert_eq!(h.early_data, seq > 1, "{h:?}");
    }
    client.close().await;
}

#[tokio::test]
async fn a_64_kib_echo_at_8_mbit_takes_its_transfer_time() {
    let plan = Plan {
        sets: 1,
        calls: 4,
        warmup: 1,
        payload_bytes: 64 << 10,
        link: Some(Link::parse("rtt=10ms,down=8mbit,up=8mbit,burst=1kib").expect("link")),
        ..small_plan(&[Transport::Ws])
    };
    let record = run_embedded(plan).await;
    assert_eq!(record.status, RunStatus::Complete, "{:?}", record.error);
    let report = analyze(&record, &AnalysisOptions::default());
    let row = &report.link.as_ref().expect("model").rows[0];
    // 10 ms, and about 65.6 KB each way at 1 MB/s: about 141 ms.
    assert!((135_000.0..150_000.0).contains(&row.model_us), "model {} µs", row.model_us);
    let Tolerance { low, high, .. } = Tolerance::here();
    assert!(
        (low..high).contains(&row.ratio),
        "measured {} µs against the model's {} µs",
        row.median_us,
        row.model_us
    );
}

/// Any run, over a link or not, says how many of its messages a narrow uplink carries: the
/// measured bytes per message against each profile's uplink.
#[tokio::test]
async fn a_runs_bytes_per_message_say_when_a_3g_uplink_is_full() {
    let record = run_embedded(small_plan(&[Transport::Ws, Transport::Http])).await;
    let report = analyze(&record, &AnalysisOptions::default());
    let uplink = report.uplink.as_ref().expect("an uplink table");
    let names: Vec<&str> = uplink.uplinks.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names.first(), Some(&"3g-slow"), "slowest first: {names:?}");
    assert!(names.contains(&"3g") && !names.contains(&"lan"), "only narrow uplinks: {names:?}");
    let three_g = names.iter().position(|n| *n == "3g").expect("3g");
    let row = |t: Transport| uplink.rows.iter().find(|r| r.transport == t).expect("a row");
    let (ws, http) = (row(Transport::Ws), row(Transport::Http));
    let measured =
        report.transport(Transport::Http, ClientKind::Native).expect("http").overall.bytes_out_per_msg;
    assert_eq!(http.bytes_out_per_msg, measured);
    // 675 kbit/s over the bytes of one request.
    assert!((http.max_per_s[three_g] - 675e3 / 8.0 / measured).abs() < 1e-6);
    // HTTP's headers: fewer messages fit than ws frames.
    assert!(ws.max_per_s[three_g] > 1.5 * http.max_per_s[three_g], "{ws:?} {http:?}");
    assert!(
        uplink.notes[0].contains("an uplink as narrow as 3g-slow's (400 kbit/s) would carry"),
        "{:?}",
        uplink.notes
    );
}

/// The model is the relay's own arithmetic: on every bandwidth-limited profile and on custom
/// values, below and above a burst, each transport's median is within 10 % of it. And a new
/// connection costs its handshakes' round trips on top of a kept-alive one's, however long its
/// transfer (the handshake comes before the bandwidth, not beside it). The runs mostly wait on
/// the link, so they run side by side, each on a thread of its own.
#[test]
fn medians_match_the_model_on_a_grid_of_profiles_and_sizes() {
    const KEPT_AND_NEW: [Transport; 4] =
        [Transport::Http, Transport::HttpNew, Transport::Https, Transport::HttpsNew];
    let grid: [(&str, usize); 9] = [
        ("3g-slow", 16),
        ("3g-slow", 4096),
        ("3g", 16),
        ("3g", 65536),
        ("4g", 4096),
        ("4g", 65536),
        ("satellite", 65536),
        ("rtt=40ms,down=8mbit,up=2mbit", 65536),
        ("rtt=20ms,down=50mbit,up=20mbit,burst=16kib", 1 << 20),
    ];
    let runs: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = grid
            .iter()
            .map(|&(link, payload_bytes)| {
                scope.spawn(move || {
                    let plan = Plan {
                        sets: 1,
                        calls: 2,
                        warmup: 1,
                        payload_bytes,
                        timeout_ms: 60_000,
                        link: Some(Link::parse(link).expect("link")),
                        ..small_plan(&[&[Transport::Ws][..], &KEPT_AND_NEW[..]].concat())
                    };
                    let rt =
                        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                    (link, payload_bytes, rt.block_on(run_embedded(plan)))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a run")).collect()
    });
    let Tolerance { low, high, handshake_share } = Tolerance::here();
    let mut failures = Vec::new();
    for (link, payload, record) in &runs {
        assert_eq!(record.status, RunStatus::Complete, "{link} {payload} B: {:?}", record.error);
        let report = analyze(record, &AnalysisOptions::default());
        let model = report.link.as_ref().expect("a model");
        let median = |t: Transport| report.transport(t, ClientKind::Native).expect("measured").overall.p50_us;
        for row in &model.rows {
            let line = format!(
                "{link}, {payload} B, {}: median {:.1} ms, model {:.1} ms ({:.2}×)",
                row.transport,
                row.median_us / 1e3,
                row.model_us / 1e3,
                row.ratio
            );
            eprintln!("{line}");
            if !(low..high).contains(&row.ratio) {
                failures.push(line);
            }
        }
        // A new connection: TCP's round trip more than kept-alive http; TCP's and TLS's more
        // than kept-alive https.
        let rtt_us = model.link.rtt_ms * 1e3;
        for (fresh, kept, trips) in
            [(Transport::HttpNew, Transport::Http, 1.0), (Transport::HttpsNew, Transport::Https, 2.0)]
        {
            // Two medians of a long transfer each carry its noise: a hundredth of it may hide
            // part of the handshake.
            let extra = median(fresh) - median(kept);
            if extra < handshake_share * trips * rtt_us - 0.01 * median(kept) {
                failures.push(format!(
                    "{link}, {payload} B: {fresh} only {:.1} ms above {kept}, not its {trips} round trip(s) of {:.0} ms",
                    extra / 1e3,
                    rtt_us / 1e3
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A server that closes kept-alive connections sooner than the client calls again (its
/// keep-alive timeout under the pause between calls, as a transfer longer than it does): the
/// http calls open connections, the client counts them, the model counts their handshakes, and
/// the note says why.
#[tokio::test]
async fn calls_that_reopen_a_closed_keep_alive_connection_are_counted_and_modelled() {
    let limits = duplex_core::server::Limits {
        header_timeout: Duration::from_millis(150),
        ..duplex_core::server::Limits::default()
    };
    let server = crate::util::server_with(duplex_core::server::ServerConfig {
        limits,
        ..duplex_core::server::ServerConfig::default()
    })
    .await;
    let target =
        duplex_core::runner::Target::remote(&format!("http://{}", server.local_addr())).expect("valid");
    let plan = Plan {
        sets: 1,
        calls: 6,
        warmup: 1,
        interval_ms: 400.0,
        link: Some(Link::parse("rtt=30ms").expect("link")),
        ..small_plan(&[Transport::Ws, Transport::Http])
    };
    let record = crate::util::run_against(plan, target).await;
    assert_eq!(record.status, RunStatus::Complete, "{:?}", record.error);
    let opened: Vec<_> =
        record.connections.iter().map(|c| (c.transport, c.calls, c.new_connections)).collect();
    // The first call follows the warm-up at once, on its connection; each later one waits
    // 400 ms, and finds it closed.
    assert_eq!(opened, [(Transport::Ws, 6, 0), (Transport::Http, 6, 5)], "{:?}", record.connections);
    let report = analyze(&record, &AnalysisOptions::default());
    let model = report.link.as_ref().expect("a model");
    let http = model.rows.iter().find(|r| r.transport == Transport::Http).expect("http");
    // A TCP handshake and the request: 60 ms.
    assert!((http.model_us - 60_000.0).abs() < 1.0, "{http:?}");
    let Tolerance { low, high, .. } = Tolerance::here();
    assert!((low..high).contains(&http.ratio), "{http:?}");
    assert!(
        model
            .notes
            .iter()
            .any(|n| n.starts_with("http: 5 of 6 calls opened a connection of their own: the server closed")),
        "{:?}",
        model.notes
    );
}

/// A whole run of `transport`, 1,000 calls by each of `clients`, over `rtt=0ms,loss=2%`; None
/// (skipped, and why said) where this system's UDP sockets refuse QUIC.
async fn over_two_percent_loss(transport: Transport, clients: u32) -> Option<duplex_core::record::RunRecord> {
    if crate::util::quic_unavailable(&crate::util::server().await).is_some() {
        return None;
    }
    let plan = Plan {
        sets: 1,
        calls: 1_000,
        concurrency: clients,
        warmup: 2,
        link: Some(Link::parse("rtt=0ms,loss=2%").expect("link")),
        timeout_ms: 20_000,
        ..small_plan(&[transport])
    };
    let record = run_embedded(plan).await;
    assert_eq!(record.status, RunStatus::Complete, "{:?}", record.error);
    Some(record)
}

/// The loss a run reports is the link's: 10,000 datagram echoes (10 clients at once, so that
/// each loss's 250 ms wait overlaps others) over `loss=2%`. An echo is lost when its datagram
/// or its answer is: 1 − 0.98² = 3.96 %. The per-datagram rate read back from the count is
/// within ±1 % (one point) of the rate set: half a point is asserted, 5 σ for 10,000 echoes.
/// The report gives it as loss, not as failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datagram_loss_is_counted_at_the_rate_the_link_drops() {
    let Some(record) = over_two_percent_loss(Transport::WtDgram, 10).await else { return };
    let lost = record.samples.iter().filter(|s| s.is_lost()).count();
    assert_eq!(record.samples.len(), 10_000);
    assert!(record.samples.iter().all(|s| s.is_ok() || s.is_lost()), "only losses");
    let echo_loss = lost as f64 / 10_000.0;
    let per_datagram = 1.0 - (1.0 - echo_loss).sqrt();
    eprintln!("{lost} of 10,000 echoes lost: {:.2} % per datagram (2 % set)", per_datagram * 100.0);
    assert!((per_datagram - 0.02).abs() < 0.005, "{per_datagram}");
    let report = duplex_core::stats::analyze(&record, &Default::default());
    let summary = &report.transport(Transport::WtDgram, ClientKind::Native).expect("wt-dgram").overall;
    assert_eq!((summary.lost, summary.errors), (lost as u64, lost as u64));
    assert_eq!(summary.words.loss, format!("{:.1} % lost", echo_loss * 100.0));
    let said = format!("wt-dgram: {lost} of 10,000 datagram echoes lost ({})", summary.words.loss);
    assert!(report.notes.iter().any(|n| n.starts_with(&said)), "{said}\n{:?}", report.notes);
    assert!(!report.notes.iter().any(|n| n.contains("failed")), "{:?}", report.notes);
}

/// Pushed events by datagram lose what the link drops: 4 subscribers × 1,000 events (one
/// datagram each, every 5 ms) over `loss=2%` read 2 % lost, within one point (4.5 σ for 4,000
/// deliveries); the report gives it as loss, not as failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_datagram_loss_is_counted_at_the_rate_the_link_drops() {
    let Some(record) = over_two_percent_loss(Transport::WtPushDgram, 4).await else { return };
    assert_eq!(record.samples.len(), 4_000);
    assert!(record.samples.iter().all(|s| s.is_ok() || s.is_lost()), "only losses");
    let lost = record.samples.iter().filter(|s| s.is_lost()).count();
    let share = lost as f64 / 4_000.0;
    eprintln!("{lost} of 4,000 pushed events lost: {:.2} % (2 % set)", share * 100.0);
    assert!((share - 0.02).abs() < 0.01, "{share}");
    let report = duplex_core::stats::analyze(&record, &Default::default());
    let summary = &report.transport(Transport::WtPushDgram, ClientKind::Native).expect("measured").overall;
    assert_eq!((summary.lost, summary.errors), (lost as u64, lost as u64));
    let said = format!("wt-push-dgram: {lost} of 4,000 pushed events lost ({})", summary.words.loss);
    assert!(report.notes.iter().any(|n| n.starts_with(&said)), "{said}\n{:?}", report.notes);
    assert!(!report.notes.iter().any(|n| n.contains("failed")), "{:?}", report.notes);
}

/// Over a lossy link, WebTransport datagrams show loss and no delay, and TCP (ws) and QUIC
/// streams (wt) show delay and no loss: the relay drops UDP datagrams at the link's rate, and a
/// lost TCP segment arrives one tail-loss probe later.
#[tokio::test]
async fn over_a_lossy_link_datagrams_are_lost_and_streams_come_late() {
    if crate::util::quic_unavailable(&crate::util::server().await).is_some() {
        return;
    }
    let plan = Plan {
        sets: 1,
        calls: 300,
        warmup: 2,
        link: Some(Link::parse("rtt=10ms,loss=5%").expect("link")),
        // A handshake whose packets are lost waits for QUIC's probe timeouts (1 s, then 2 s…):
        // seen once to take over 5 s.
        timeout_ms: 20_000,
        ..small_plan(&[Transport::Ws, Transport::Wt, Transport::WtDgram])
    };
    let record = run_embedded(plan).await;
    assert_eq!(record.status, RunStatus::Complete, "{:?}", record.error);
    let of = |t: Transport| record.samples.iter().filter(move |s| s.transport == t);
    let lost =
        of(Transport::WtDgram).filter(|s| s.error.as_deref().is_some_and(|e| e.contains("lost"))).count();
    // An echo is lost when its request or its answer is: 1 − 0.95² = 9.75 % of 300 (29), 4 σ
    // below; above, 6 σ: an answer later than 250 ms counts as lost too, and with the other
    // tests loading this 2-core machine, 33 to 36 were read (and once over 48).
    eprintln!("wt-dgram lost {lost} of 300");
    assert!((12..=60).contains(&lost), "wt-dgram lost {lost} of 300");
    assert!(
        of(Transport::WtDgram).all(|s| s.is_ok() || s.error.as_deref().is_some_and(|e| e.contains("lost")))
    );
    // A lost segment or packet costs a retransmission: over TCP a tail-loss probe (2 RTT and
    // 200 ms for a segment alone in flight), over QUIC its probe timeout (RTT-scaled, tens of ms).
    for (t, probe_ms) in [(Transport::Ws, 150), (Transport::Wt, 30)] {
        assert!(of(t).all(|s| s.is_ok()), "{t}: streams lose nothing");
        let late = of(t).filter(|s| s.latency_ns > probe_ms * 1_000_000).count();
        assert!(late >= 5, "{t}: {late} calls over {probe_ms} ms");
    }
    // A datagram that arrives was never resent: none waits as long as TCP's probe.
    let slowest = of(Transport::WtDgram).filter(|s| s.is_ok()).map(|s| s.latency_ns).max().unwrap_or(0);
    assert!(slowest < 150_000_000, "wt-dgram's slowest answered call: {slowest} ns");
}
