//! A server that vanishes mid-run: the run ends with the error recorded, and every sample
//! measured before it is kept and exported.

use std::time::Duration;

use duplex_core::clients::Transport;
use duplex_core::export::{csv::read_samples, write_report};
use duplex_core::plan::Plan;
use duplex_core::record::RunStatus;
use duplex_core::runner::{Target, own_trust};
use duplex_core::server::{ServerConfig, ServerThread};
use duplex_core::session::Update;
use duplex_core::stats::{AnalysisOptions, analyze};

use crate::util::{session_run, small_plan};

fn run_and_kill_server(transport: Transport) {
    let server = ServerThread::spawn(ServerConfig::default()).expect("server thread");
    let plan = Plan { calls: 1_000_000, sets: 1, timeout_ms: 2_000, ..small_plan(&[transport]) };
    let target = Target::Remote { url: format!("http://{}", server.local_addr()), trust: Default::default() };
    let mut server = Some(server);
    let record = session_run(plan, target, |update, _| {
        if let Update::Progress { done, .. } = update
            && *done >= 200
            && let Some(s) = server.take()
        {
            s.kill();
        }
    })
    .expect("started");
    assert_eq!(record.status, RunStatus::Failed, "{transport}");
    let error = record.error.clone().unwrap_or_default();
    assert!(error.starts_with(&format!("{transport} client 0:")), "{error}");
    let ok = record.samples.iter().filter(|s| s.is_ok()).count();
    assert!(ok >= 200, "{transport}: {ok} samples kept");
    let last = record.samples.last().expect("samples");
    assert!(last.error.is_some(), "{transport}: the failing call is recorded");

    let report = analyze(&record, &AnalysisOptions::default());
    assert!(report.notes.iter().any(|n| n.contains("every sample measured before it is kept")));
    let dir = tempfile::tempdir().expect("tempdir");
    let files = write_report(dir.path(), &record, &report).expect("export after a failure");
    let (_, back) = read_samples(std::fs::File::open(files.samples).expect("open")).expect("read");
    assert_eq!(back, record.samples);
}

#[test]
fn websocket_run_survives_the_server_vanishing() {
    run_and_kill_server(Transport::Ws);
}

#[test]
fn http_run_survives_the_server_vanishing() {
    run_and_kill_server(Transport::Http);
}

#[test]
fn an_unreachable_target_fails_with_a_clear_error() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    // The listener is dropped: nothing listens there now.
    // Nothing was measured: the session says why, and there is no run to store.
    let refused = session_run(
        small_plan(&[Transport::Ws]),
        Target::Remote { url: format!("ws://{addr}"), trust: Default::default() },
        |_, _| {},
    )
    .expect_err("not started");
    assert!(refused.to_string().contains("not a reachable Duplex server"), "{refused}");
}

/// A server closes a kept-alive connection that sits idle past its timeout (here 200 ms, with
/// calls 400 ms apart): the client opens a new one for the next call, as a browser does, and the
/// run loses nothing. Also over a link, where the close reaches the client a one-way delay late.
#[tokio::test]
async fn a_kept_alive_connection_the_server_closed_while_idle_is_opened_again() {
    use duplex_core::link::Link;
    use duplex_core::server::Limits;
    let limits = Limits { header_timeout: Duration::from_millis(200), ..Limits::default() };
    let server = ServerThread::spawn(ServerConfig { limits, ..ServerConfig::default() }).expect("server");
    for link in [None, Some(Link::parse("rtt=40ms").expect("link"))] {
        let plan = Plan {
            sets: 1,
            calls: 4,
            warmup: 0,
            interval_ms: 400.0,
            link: link.clone(),
            ..small_plan(&[Transport::Http, Transport::Https])
        };
        let record = crate::util::run_against(
            plan,
            Target::InProcess { addr: server.local_addr(), trust: server.tls().map(own_trust) },
        )
        .await;
        assert_eq!(record.status, RunStatus::Complete, "{link:?}: {:?}", record.error);
        let failed: Vec<_> = record.samples.iter().filter_map(|s| s.error.as_deref()).collect();
        assert!(failed.is_empty(), "{link:?}: {failed:?}");
        assert_eq!(record.samples.len(), 8);
    }
}

/// In an interleaved plan a WebSocket waits while the other transports' blocks run; over a slow
/// link that wait can pass the server's idle timeout (120 s by default: 158 s were seen over
/// 200 ms of RTT), and the server closes it. Here 300 ms, with an http block of 4 × 200 ms
/// between the ws blocks: the ws client connects again before its next block and loses nothing.
#[tokio::test]
async fn a_websocket_the_server_closed_while_idle_is_opened_again_before_its_next_block() {
    use duplex_core::server::Limits;
    let limits = Limits { ws_idle_timeout: Duration::from_millis(300), ..Limits::default() };
    let server = ServerThread::spawn(ServerConfig { limits, ..ServerConfig::default() }).expect("server");
    let plan = Plan {
        sets: 3,
        calls: 4,
        warmup: 0,
        interval_ms: 200.0,
        ..small_plan(&[Transport::Ws, Transport::Http, Transport::Wss])
    };
    let record = crate::util::run_against(
        plan,
        Target::InProcess { addr: server.local_addr(), trust: server.tls().map(own_trust) },
    )
    .await;
    assert_eq!(record.status, RunStatus::Complete, "{:?}", record.error);
    let failed: Vec<_> = record.samples.iter().filter_map(|s| s.error.as_deref()).collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(record.samples.len(), 3 * 3 * 4);
    // wss connected again too: one TLS handshake per connection, each reported.
    let wss = record.tls.iter().find(|t| t.transport == Transport::Wss).expect("wss's TLS");
    assert!(wss.connections >= 2, "{wss:?}");
}
