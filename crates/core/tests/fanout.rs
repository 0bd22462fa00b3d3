//! Push fan-out: one event to many subscribers, against the embedded server (broadcasts on
//! demand, its CPU read) and against a server whose ticks are the broadcasts.

use std::time::Duration;

use duplex_core::clients::{Endpoints, Transport};
use duplex_core::fanout::{FanoutPlan, PUSH_TRANSPORTS, embedded_server, fanout};
use duplex_core::server::{ServerConfig, ServerThread};
use tokio_util::sync::CancellationToken;

fn plan(subscribers: Vec<u32>, broadcasts: u32) -> FanoutPlan {
    FanoutPlan { subscribers, transports: PUSH_TRANSPORTS.to_vec(), broadcasts, timeout_ms: 10_000 }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_subscriber_gets_every_broadcast_and_the_server_cpu_is_read() {
    let server = embedded_server(200).expect("server");
    let endpoints = Endpoints::for_addr(server.local_addr());
    let mut seen = Vec::new();
    let report = fanout(plan(vec![20, 200], 3), endpoints, Some(&server), CancellationToken::new(), |p| {
        seen.push((p.transport, p.subscribers, p.broadcasts))
    })
    .await;
    assert!(report.ok, "{report:#?}");
    assert_eq!(report.cells.len(), 6);
    for cell in &report.cells {
        let what = format!("{} × {}: {cell:?}", cell.transport.name(), cell.subscribers);
        assert_eq!((cell.broadcasts, cell.missed), (3, 0), "{what}");
        assert_eq!(cell.delivered, 3 * u64::from(cell.subscribers), "{what}");
        let (p50, p99, last, worst) = (
            cell.p50_us.expect("p50"),
            cell.p99_us.expect("p99"),
            cell.last_us.expect("last"),
            cell.worst_us.expect("worst"),
        );
        assert!(p50 > 0.0 && p50 <= p99 && p99 <= worst && last <= worst, "{what}");
        // Each broadcast's last subscriber is its slowest.
        for b in &cell.each {
            assert!(b.p50_us <= b.last_us, "{what}");
        }
        if !cfg!(windows) {
            // The server thread wrote to every subscriber: it cost some CPU, more for more.
            assert!(cell.server_cpu_us.is_some_and(|c| c > 0.0), "{what}");
        }
    }
    let cell = |t: Transport, n: u32| {
        report.cells.iter().find(|c| c.transport == t && c.subscribers == n).expect("cell")
    };
    // Bytes per event: a WebSocket frame < an SSE chunk < a long-poll's request and answer.
    let bytes = |t| cell(t, 20).bytes_per_event.expect("bytes");
    let (ws, sse, lp) = (bytes(Transport::WsPush), bytes(Transport::Sse), bytes(Transport::LongPoll));
    assert!(ws > 60.0 && ws < sse && sse < lp, "ws {ws}, sse {sse}, long-poll {lp}");
    if !cfg!(windows) {
        for t in PUSH_TRANSPORTS {
            let (small, large) =
                (cell(t, 20).server_cpu_us.unwrap_or(0.0), cell(t, 200).server_cpu_us.unwrap_or(0.0));
            assert!(large > small, "{}: 20 subscribers {small} µs, 200 {large} µs", t.name());
        }
    }
    assert!(seen.contains(&(Transport::Sse, 200, 3)), "{seen:?}");
    // The floor, in the same run: a plain thread writing ws-push's frame to as many sockets, a
    // reader waiting on each;
    // each transport's server CPU per delivery over it.
    assert_eq!(report.floor.iter().map(|f| f.subscribers).collect::<Vec<_>>(), [20, 200]);
    for f in &report.floor {
        assert_eq!(
            f.frame_bytes as f64,
            cell(Transport::WsPush, f.subscribers).bytes_per_event.expect("bytes").round()
        );
        if !cfg!(windows) {
            let floor = f.cpu_per_write_us.unwrap_or_else(|| panic!("{f:?}"));
            assert!(floor > 0.0 && f.error.is_none(), "{f:?}");
            // The same writes with nobody waiting, beside it, and over it in words.
            let unread = f.unread_cpu_per_write_us.unwrap_or_else(|| panic!("{f:?}"));
            assert!(unread > 0.0, "{f:?}");
            assert_eq!(f.unread_over_floor, format!("{:.2}×", unread / floor));
            for t in PUSH_TRANSPORTS {
                let c = cell(t, f.subscribers);
                let over = c.over_floor.expect("a ratio");
                assert!((over - c.server_cpu_per_delivery_us.expect("cpu") / floor).abs() < 1e-9);
                assert_eq!(c.words.over_floor, format!("{over:.2}×"));
            }
        }
    }
    let mut csv = Vec::new();
    duplex_core::export::csv::write_fanout(&mut csv, &report, "test").expect("csv");
    let csv = String::from_utf8(csv).expect("utf8");
    assert!(csv.lines().next().is_some_and(|h| h.contains("over_floor")), "{csv}");
    assert_eq!(csv.lines().filter(|l| l.contains(",floor,")).count(), 2, "{csv}");
    assert_eq!(csv.lines().filter(|l| l.contains(",floor-unread,")).count(), 2, "{csv}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_elsewhere_is_measured_by_its_ticks() {
    let server = crate::util::server_with(ServerConfig {
        tick_interval: Duration::from_millis(100),
        tick_cpu: true,
        ..ServerConfig::default()
    })
    .await;
    let endpoints = Endpoints::for_addr(server.local_addr());
    let report = fanout(plan(vec![10], 3), endpoints, None, CancellationToken::new(), |_| {}).await;
    assert!(report.ok, "{report:#?}");
    assert!(!report.embedded && report.notes[0].contains("its ticks are the broadcasts"));
    assert!(report.notes[1].contains("from one tick to the next"), "{:?}", report.notes);
    for cell in &report.cells {
        assert_eq!((cell.broadcasts, cell.delivered, cell.missed), (3, 30, 0), "{cell:?}");
        // The ticks carry the server process's CPU time (here it is this test's process).
        assert!(cell.server_cpu_us.is_some(), "{cell:?}");
        // Each of the 3 kept ticks was timed at every subscriber (under Wine a delivery may take
        // longer than the 100 ms between ticks: it still counts, and no later tick is kept twice).
        assert_eq!(cell.each.iter().map(|b| b.delivered).collect::<Vec<_>>(), [10, 10, 10], "{cell:?}");
        assert!(cell.worst_us.is_some_and(|w| w > 0.0), "{cell:?}");
    }
}

/// A server elsewhere pushing its ticks by datagrams over a link that drops a tenth of them, to
/// 60 subscribers (a tick reaches all of them 0.2 % of the time): each tick is kept half a
/// second after its last arrival (the ticks are 600 ms apart), what did not come counted as
/// missed, and the run is not failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_elsewhere_pushing_datagrams_over_a_lossy_link_is_measured_by_its_ticks() {
    let server = crate::util::server_with(ServerConfig {
        tick_interval: Duration::from_millis(600),
        ..ServerConfig::default()
    })
    .await;
    if crate::util::quic_unavailable(&server).is_some() {
        return;
    }
    let (endpoints, _relays) = through_loss(server.local_addr(), server.tls(), "10%").await;
    let plan =
        FanoutPlan { transports: vec![Transport::WtPushDgram], timeout_ms: 20_000, ..plan(vec![60], 5) };
    let report = fanout(plan, endpoints, None, CancellationToken::new(), |_| {}).await;
    let cell = &report.cells[0];
    eprintln!("{} of 300 deliveries lost", cell.missed);
    assert_eq!((cell.broadcasts, cell.delivered + cell.missed), (5, 300), "{cell:?}");
    // 30 expected: 8 to 60 is over 4 σ either way.
    assert!((8..=60).contains(&cell.missed) && cell.errors.is_empty(), "{cell:?}");
    assert!(report.ok, "loss is not failure: {report:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_vanishes_mid_run_ends_it_with_errors_and_keeps_what_was_measured() {
    let server = ServerThread::spawn(ServerConfig {
        tick_interval: Duration::from_millis(50),
        ..ServerConfig::default()
    })
    .expect("server");
    let endpoints = Endpoints::for_addr(server.local_addr());
    // Far more broadcasts than can happen before the server is killed, 600 ms in.
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(600));
        server.kill();
    });
    let plan = FanoutPlan { timeout_ms: 2_000, ..plan(vec![10], 1_000) };
    let report = fanout(plan, endpoints, None, CancellationToken::new(), |_| {}).await;
    killer.join().expect("killed");
    assert!(!report.ok);
    assert_eq!(report.cells.len(), 3);
    let first = &report.cells[0];
    assert!(first.broadcasts > 0 && first.delivered > 0 && first.broadcasts < 1_000, "{first:?}");
    assert!(first.errors.contains_key("closed"), "{first:?}");
    for cell in &report.cells[1..] {
        assert_eq!(cell.delivered, 0, "{cell:?}");
        assert!(!cell.errors.is_empty(), "{cell:?}");
    }
}

#[test]
fn a_plan_names_what_is_wrong() {
    let bad = |p: FanoutPlan| p.check().expect_err("refused");
    assert!(bad(plan(vec![], 1)).contains("subscribers"));
    assert!(bad(plan(vec![0], 1)).contains("at least 1"));
    assert!(bad(plan(vec![5], 0)).contains("broadcasts"));
    assert!(
        bad(FanoutPlan { transports: vec![Transport::Ws], ..plan(vec![5], 1) })
            .contains("ws is not a push transport")
    );
    assert!(plan(vec![5], 1).check().is_ok());
}

/// WebTransport's push in a fan-out: a QUIC connection per subscriber to the embedded server,
/// its certificate pinned, every broadcast to every one, with more bytes per event than a
/// WebSocket frame (a QUIC packet's header and its ACKs); by datagrams, what did not come is
/// counted as missed (loss, not failure: none on loopback), each broadcast ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webtransport_push_reaches_every_subscriber() {
    let Some(server) = quic_fanout_server(100) else { return };
    let endpoints = duplex_core::runner::own_endpoints(server.local_addr(), server.tls());
    let transports = vec![Transport::WsPush, Transport::WtPush, Transport::WtPushDgram];
    let plan = FanoutPlan { transports, ..plan(vec![100], 3) };
    let report = fanout(plan, endpoints, Some(&server), CancellationToken::new(), |_| {}).await;
    assert!(report.ok, "{report:#?}");
    let cell = |t: Transport| report.cells.iter().find(|c| c.transport == t).expect("cell");
    for t in [Transport::WsPush, Transport::WtPush] {
        assert_eq!((cell(t).delivered, cell(t).missed), (300, 0), "{}: {:?}", t.name(), cell(t));
    }
    let dgram = cell(Transport::WtPushDgram);
    assert_eq!(dgram.delivered + dgram.missed, 300, "{dgram:?}");
    assert!(dgram.missed <= 3 && dgram.errors.is_empty(), "{dgram:?}");
    let bytes = |t: Transport| cell(t).bytes_per_event.expect("bytes");
    let (ws, wt, wt_dgram) =
        (bytes(Transport::WsPush), bytes(Transport::WtPush), bytes(Transport::WtPushDgram));
    eprintln!("bytes per event: ws-push {ws:.0}, wt-push {wt:.0}, wt-push-dgram {wt_dgram:.0}");
    assert!(wt > ws && wt_dgram > ws, "wt-push {wt} B per event, wt-push-dgram {wt_dgram}, ws-push {ws}");
}

/// A fan-out server for `subscribers` with QUIC on; None (the test skipped, and why said) where
/// this system's UDP sockets refuse QUIC, which only Wine's may.
fn quic_fanout_server(subscribers: u32) -> Option<ServerThread> {
    let server = embedded_server(subscribers).expect("server");
    if let Some(why) = server.quic_unavailable() {
        assert!(crate::util::under_wine(), "QUIC must be served here: {why}");
        eprintln!("skipped: {why}");
        return None;
    }
    Some(server)
}

/// The endpoints of the server at `addr` (its certificate pinned) through a link that loses
/// `loss` of the datagrams, and the relay to keep while they are used.
async fn through_loss(
    addr: std::net::SocketAddr,
    tls: Option<&duplex_core::server::TlsIdentity>,
    loss: &str,
) -> (Endpoints, Vec<duplex_core::link::Relay>) {
    let own = duplex_core::runner::own_endpoints(addr, tls);
    let link = duplex_core::link::Link::parse(&format!("rtt=0ms,loss={loss}")).expect("link");
    duplex_core::link::through(own, Some(&link)).await.expect("relay")
}

/// By datagrams over a link that drops 5 % of them, a broadcast that does not reach everyone
/// ends half a second after its last arrival: what did not come is missed, said as loss, and the
/// run is not failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_datagrams_lost_on_a_link_are_missed_and_said_as_loss() {
    let Some(server) = quic_fanout_server(50) else { return };
    let (endpoints, _relays) = through_loss(server.local_addr(), server.tls(), "5%").await;
    let plan =
        FanoutPlan { transports: vec![Transport::WtPushDgram], timeout_ms: 20_000, ..plan(vec![50], 10) };
    let report = fanout(plan, endpoints, Some(&server), CancellationToken::new(), |_| {}).await;
    let cell = &report.cells[0];
    eprintln!("{} of 500 deliveries lost; notes {:?}", cell.missed, report.notes);
    assert_eq!(cell.delivered + cell.missed, 500, "{cell:?}");
    // 25 expected: 5 to 60 is over 4 σ either way.
    assert!((5..=60).contains(&cell.missed) && cell.errors.is_empty(), "{cell:?}");
    assert!(report.ok, "loss is not failure: {report:#?}");
    let said = format!("wt-push-dgram at 50: {} of 500 deliveries lost", cell.missed);
    assert!(report.notes.iter().any(|n| n.starts_with(&said)), "{said}\n{:?}", report.notes);
}

/// A cell is ready when its own subscribers have connected, not when the server still counts
/// the cell before's (a subscriber gone is seen at the next event written to it): 20
/// WebTransport subscribers after 200 SSE ones take their own time to connect (QUIC handshakes:
/// milliseconds, where the server's count of the cell before made it microseconds).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cell_waits_for_its_own_subscribers_not_the_cell_befores() {
    let Some(server) = quic_fanout_server(400) else { return };
    let endpoints = duplex_core::runner::own_endpoints(server.local_addr(), server.tls());
    let transports = vec![Transport::Sse, Transport::WtPushDgram];
    let report = fanout(
        FanoutPlan { transports, ..plan(vec![20, 200], 2) },
        endpoints,
        Some(&server),
        CancellationToken::new(),
        |_| {},
    )
    .await;
    assert!(report.ok, "{report:#?}");
    for cell in &report.cells {
        eprintln!("{} × {}: {:.5} s to connect", cell.transport, cell.subscribers, cell.connect_s);
        assert!(cell.connect_s > 0.001, "{} × {}: {} s", cell.transport, cell.subscribers, cell.connect_s);
    }
}
