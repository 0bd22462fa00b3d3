//! Every transport, through the real runner against a real server, produces sane samples.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use duplex_core::clients::{Client, ClientOptions, Endpoints, HttpMethod, Pattern, Transport, Trust};
use duplex_core::plan::{Order, Plan};
use duplex_core::record::{RunStatus, Topology};
use duplex_core::runner::{Target, execute};
use duplex_core::server::{ServerConfig, ServerThread};
use duplex_core::session::Update;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::util::{run_embedded, server, session_run, small_plan};

#[tokio::test]
async fn every_transport_produces_sane_samples() {
    let mut native: Vec<Transport> =
        Transport::ALL.into_iter().filter(|t| t.runs_on(duplex_core::record::ClientKind::Native)).collect();
    assert_eq!(native.len(), 18, "every transport but xhr");
    if crate::util::quic_unavailable(&server().await).is_some() {
        native.retain(|t| !t.is_quic());
    }
    let plan = small_plan(&native);
    let record = run_embedded(plan.clone()).await;
    assert_eq!(record.status, RunStatus::Complete, "{:?}", record.error);
    assert_eq!(record.topology, Topology::SameThread);
    assert_eq!(record.samples.len() as u64, plan.total_calls());
    for transport in native {
        let samples: Vec<_> = record.samples.iter().filter(|s| s.transport == transport).collect();
        assert_eq!(samples.len(), 40, "{transport}");
        for s in &samples {
            assert!(s.is_ok(), "{transport}: {:?}", s.error);
            assert!((1..=2).contains(&s.set));
            assert!(s.latency_ns > 0 && s.latency_ns < 2_000_000_000, "{transport}: {} ns", s.latency_ns);
            assert!(s.bytes_in > 0, "{transport}");
            assert!(s.server_time_unix_ns.is_some());
            if transport.pattern() == Pattern::RoundTrip {
                assert!(s.bytes_out > 0, "{transport}");
                // The server stamped the message between send and receive.
                let server = s.server_time_unix_ns.unwrap_or_default();
                assert!(
                    server >= s.sent_at_unix_ns - 1_000,
                    "{transport}: server {server} before send {}",
                    s.sent_at_unix_ns
                );
            }
        }
        let seqs: Vec<u64> = samples.iter().map(|s| s.seq).collect();
        assert_eq!(seqs, (1..=40).collect::<Vec<_>>(), "{transport}: seq counts recorded calls");
    }
    assert_eq!(record.blocks.len(), plan.transports.len() * 2);
    // The paper's headline, measured: a WebSocket message is smaller on the wire than AJAX.
    let bytes = |t: Transport| {
        record.samples.iter().filter(|s| s.transport == t).map(|s| s.bytes_out + s.bytes_in).sum::<u64>()
    };
    assert!(
        bytes(Transport::Ws) * 2 < bytes(Transport::Http),
        "ws {} vs http {}",
        bytes(Transport::Ws),
        bytes(Transport::Http)
    );
}

#[tokio::test]
async fn get_method_binary_frames_concurrency_and_fixed_rate() {
    let plan = Plan {
        concurrency: 3,
        rate: Some(2000.0),
        binary: true,
        http_method: HttpMethod::Get,
        order: Order::InTurn,
        ..small_plan(&[Transport::Ws, Transport::Http])
    };
    let record = run_embedded(plan).await;
    assert_eq!(record.status, RunStatus::Complete, "{:?}", record.error);
    assert_eq!(record.samples.len(), 2 * 2 * 20 * 3);
    let clients: std::collections::BTreeSet<u32> = record.samples.iter().map(|s| s.client_id).collect();
    assert_eq!(clients, [0, 1, 2].into());
    assert!(record.samples.iter().all(|s| s.is_ok() && s.latency_ns >= s.send_delay_ns));
    // In turn: every ws sample comes before every http sample.
    let first_http = record.samples.iter().position(|s| s.transport == Transport::Http).expect("http");
    assert!(record.samples[first_http..].iter().all(|s| s.transport == Transport::Http));
    // At 2000/s per client, 20 calls take at least 9.5 ms per set.
    assert!(record.blocks.iter().all(|b| b.elapsed_ns >= 9_500_000), "{:?}", record.blocks);
}

/// Copies bytes between a client and the server, counting what crosses.
async fn counting_proxy(
    upstream: std::net::SocketAddr,
) -> (std::net::SocketAddr, Arc<AtomicU64>, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (up, down) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (u, d) = (up.clone(), down.clone());
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let (u, d) = (u.clone(), d.clone());
            tokio::spawn(async move {
                let mut server = TcpStream::connect(upstream).await.expect("upstream");
                if let Ok((a, b)) = tokio::io::copy_bidirectional(&mut client, &mut server).await {
                    u.fetch_add(a, Ordering::SeqCst);
                    d.fetch_add(b, Ordering::SeqCst);
                }
            });
        }
    });
    (addr, up, down)
}

/// Echo bytes are counted on the socket (below TLS); long-poll and poll bytes are
/// reconstructed from reqwest's headers. All must equal what a proxy in between counts (minus
/// the WebSocket handshake, and minus the TLS handshakes of kept-alive connections, which
/// belong to no one message).
#[tokio::test]
async fn bytes_on_the_wire_match_a_counting_proxy() {
    let server = server().await;
    let pin = Trust::Pinned(server.tls().expect("TLS on").certificate().clone());
    for (transport, method) in [
        (Transport::Http, HttpMethod::Post),
        (Transport::Http, HttpMethod::Get),
        (Transport::HttpNew, HttpMethod::Post),
        (Transport::Ws, HttpMethod::Post),
        (Transport::Https, HttpMethod::Post),
        (Transport::Https, HttpMethod::Get),
        (Transport::HttpsNew, HttpMethod::Post),
        (Transport::H2, HttpMethod::Post),
        (Transport::Wss, HttpMethod::Post),
        (Transport::LongPoll, HttpMethod::Get),
        (Transport::Poll, HttpMethod::Get),
    ] {
        let (proxy, up, down) = counting_proxy(server.local_addr()).await;
        let endpoints = Endpoints::for_addr(proxy).trusting(pin.clone());
        let options = ClientOptions { payload_bytes: 100, http_method: method, ..ClientOptions::default() };
        let mut client =
            Client::connect(transport, &endpoints, &options, &Default::default()).await.expect("connect");
        let (mut out, mut inn) = (0, 0);
        for seq in 1..=25 {
            let m = client.measure(seq).await.expect("measure");
            out += m.bytes_out;
            inn += m.bytes_in;
        }
        // Kept-alive connections' handshakes are not any one message's.
        let (hs_out, hs_in) = match transport {
            Transport::Https | Transport::H2 | Transport::Wss => {
                client.handshakes().iter().fold((0, 0), |(o, i), h| (o + h.bytes_out, i + h.bytes_in))
            }
            _ => (0, 0),
        };
        let (out, inn) = (out + hs_out, inn + hs_in);
        client.close().await;
        // The proxy adds a connection's bytes when it closes; wait for all of them.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while (up.load(Ordering::SeqCst) < out || down.load(Ordering::SeqCst) < inn)
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let (u, d) = (up.load(Ordering::SeqCst), down.load(Ordering::SeqCst));
        if transport == Transport::Wss {
            // As for ws, in TLS records (22 bytes more each), with the server's session tickets
            // (sent once after the handshake, about 2 x 100 bytes) and the close_notify alerts.
            assert!((100..500).contains(&(u - out)), "{transport}: proxy {u} vs client {out}");
            assert!((100..600).contains(&(d - inn)), "{transport}: proxy {d} vs client {inn} ({})", d - inn);
        } else if transport.is_tls() {
            // Counted on the socket: exact, but for the alerts that close a connection
            // (close_notify, 24 bytes over TLS 1.3), sent once each way after the last answer.
            assert!(u >= out && u - out <= 24 * 26, "{transport} {method:?}: proxy {u} vs client {out}");
            assert!(d >= inn && d - inn <= 24 * 26, "{transport} {method:?}: proxy {d} vs client {inn}");
        } else if transport == Transport::Ws {
            // Beyond the messages the proxy sees only the opening handshake (a ~200-byte
            // request, a ~130-byte answer) and the closing frames (6 bytes masked, 2 back).
            assert!((100..400).contains(&(u - out)), "{transport}: proxy {u} vs client {out}");
            assert!((100..300).contains(&(d - inn)), "{transport}: proxy {d} vs client {inn}");
        } else {
            assert_eq!((out, inn), (u, d), "{transport} {method:?}: client (out, in) vs proxy");
        }
    }
}

#[test]
fn cancelling_keeps_what_was_measured() {
    let plan = Plan { calls: 1_000_000, interval_ms: 1.0, warmup: 0, ..small_plan(&[Transport::Ws]) };
    let record = session_run(plan, Target::default(), |update, cancel| {
        if let Update::Progress { done, .. } = update
            && *done >= 20
        {
            cancel.cancel();
        }
    })
    .expect("started");
    assert_eq!(record.status, RunStatus::Cancelled);
    assert!(record.samples.len() >= 20, "{}", record.samples.len());
    assert!(record.samples.iter().all(|s| s.is_ok()));
}

#[tokio::test]
async fn remote_target_on_loopback_is_a_separate_process_topology() {
    let remote = ServerThread::spawn(ServerConfig::default()).expect("server thread");
    let url = format!("ws://{}", remote.local_addr());
    let record = execute(
        small_plan(&[Transport::Ws, Transport::Http]).check().expect("valid"),
        Target::Remote { url: url.clone(), trust: Default::default() },
        tokio::sync::mpsc::unbounded_channel().0,
        CancellationToken::new(),
    )
    .await;
    assert_eq!(record.status, RunStatus::Complete, "{:?}", record.error);
    assert_eq!(record.topology, Topology::SeparateProcess);
    assert_eq!(record.target, url);
    assert_eq!(record.samples.len(), 80);
}

#[tokio::test]
async fn a_target_that_is_not_duplex_is_refused_before_measuring() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            drop(tcp);
        }
    });
    let record = execute(
        small_plan(&[Transport::Ws]).check().expect("valid"),
        Target::Remote { url: format!("http://{addr}"), trust: Default::default() },
        tokio::sync::mpsc::unbounded_channel().0,
        CancellationToken::new(),
    )
    .await;
    assert_eq!(record.status, RunStatus::Failed);
    assert!(
        record.error.as_deref().unwrap_or_default().contains("not a reachable Duplex server"),
        "{:?}",
        record.error
    );
    assert!(record.samples.is_empty());
}

#[test]
fn progress_counts_each_transport_against_its_own_share_of_the_plan() {
    let plan = Plan { sets: 2, calls: 15, concurrency: 2, ..small_plan(&[Transport::Ws, Transport::Http]) };
    let mut last = std::collections::HashMap::new();
    session_run(plan, Target::default(), |update, _| {
        if let Update::Progress { transport, transport_done, transport_total, done, total, .. } = update {
            assert!(transport_done <= transport_total && done <= total);
            assert_eq!(*transport_total, 2 * 15 * 2, "a transport's share, not the client's {total}");
            last.insert(*transport, *transport_done);
        }
    })
    .expect("started");
    // The last update of each transport: at most one batch behind its 60 calls, never over.
    for transport in [Transport::Ws, Transport::Http] {
        let done = last.get(&transport).copied().unwrap_or_default();
        assert!(done > 0 && done <= 60, "{transport}: {done}");
    }
}

/// Interleaved with a slow transport, a push client must not time events that waited unread
/// while the other transport's block ran (it read 10 s old events once: "ws-push 30,000x
/// slower than long-poll").
#[tokio::test]
async fn push_clients_time_fresh_events_after_other_blocks() {
    let plan = Plan {
        poll_interval_ms: 20.0,
        calls: 15,
        ..small_plan(&[Transport::WsPush, Transport::Sse, Transport::Poll])
    };
    let record = run_embedded(plan).await;
    assert_eq!(record.status, RunStatus::Complete, "{:?}", record.error);
    for transport in [Transport::WsPush, Transport::Sse] {
        let worst = record.samples.iter().filter(|s| s.transport == transport).map(|s| s.latency_ns).max();
        // Ticks every 5 ms; each poll block takes at least 15 x 20 ms.
        assert!(worst.is_some_and(|w| w < 100_000_000), "{transport}: worst {worst:?} ns");
    }
}
