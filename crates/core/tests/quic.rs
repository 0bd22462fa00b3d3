//! QUIC: HTTP/3 and WebTransport against the embedded server, its bytes checked by a UDP
//! relay that counts them, loss through a relay that drops packets, and floods of Initials and
//! of streams while a normal client keeps measuring.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use duplex_core::clients::{Client, ClientError, ClientOptions, Endpoints, Pattern, Transport, Trust};

use crate::util::{quic_unavailable, run_embedded, server, small_plan};
use duplex_core::plan::Plan;
use duplex_core::record::RunStatus;
use duplex_core::server::Server;

/// Relays UDP between clients and `upstream`, counting the bytes of what crosses (UDP payloads:
/// QUIC packets), as a NAT does: a socket of its own toward `upstream` for each client address
/// (a connection per call has a socket each). `drop_every`: of the packets of at least
/// `min_len` bytes after the first 20 each way (the handshake's), every n-th is dropped, in
/// each direction.
async fn counting_udp_proxy(
    upstream: std::net::SocketAddr,
    drop_every: Option<(u64, usize)>,
) -> (std::net::SocketAddr, Arc<AtomicU64>, Arc<AtomicU64>) {
    type Seen = Arc<std::sync::Mutex<(u64, u64)>>;
    let outer = Arc::new(tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind"));
    let addr = outer.local_addr().expect("addr");
    let (up, down) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let dropped = move |seen: &Seen, len: usize| {
        let mut seen = seen.lock().expect("not poisoned");
        match drop_every {
            Some((n, min_len)) if len >= min_len => {
                seen.0 += 1;
                seen.0 > 20 && seen.0.is_multiple_of(n)
            }
            _ => {
                seen.1 += 1;
                false
            }
        }
    };
    let (seen_up, seen_down): (Seen, Seen) = Default::default();
    let (o, u, d) = (outer.clone(), up.clone(), down.clone());
    tokio::spawn(async move {
        let mut inners = std::collections::HashMap::new();
        let mut buf = vec![0u8; 65536];
        while let Ok((n, from)) = o.recv_from(&mut buf).await {
            u.fetch_add(n as u64, Ordering::SeqCst);
            if let std::collections::hash_map::Entry::Vacant(entry) = inners.entry(from) {
                let inner = Arc::new(tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind"));
                inner.connect(upstream).await.expect("connect");
                let (inner2, outer, d, seen) = (inner.clone(), o.clone(), d.clone(), seen_down.clone());
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 65536];
                    while let Ok(n) = inner2.recv(&mut buf).await {
                        if !dropped(&seen, n) {
                            d.fetch_add(n as u64, Ordering::SeqCst);
                            let _ = outer.send_to(&buf[..n], from).await;
                        }
                    }
                });
                entry.insert(inner);
            }
            if !dropped(&seen_up, n) {
                let _ = inners[&from].send(&buf[..n]).await;
            }
        }
    });
    (addr, up, down)
}

/// The test server with QUIC on, its QUIC address and its certificate pinned; None (the test
/// skipped, and why said) where this system's UDP sockets refuse QUIC.
async fn quic_server() -> Option<(Server, std::net::SocketAddr, Trust)> {
    let server = server().await;
    if quic_unavailable(&server).is_some() {
        return None;
    }
    let quic = server.quic_addr().expect("QUIC on with TLS");
    let pin = Trust::Pinned(server.tls().expect("TLS on").certificate().clone());
    Some((server, quic, pin))
}

/// A `transport` client of the server at `quic` through a relay that drops every tenth packet
/// of at least `min_len` bytes each way (the handshake's spared).
async fn through_a_dropping_relay(
    transport: Transport,
    quic: std::net::SocketAddr,
    pin: &Trust,
    min_len: usize,
) -> Client {
    let (proxy, _, _) = counting_udp_proxy(quic, Some((10, min_len))).await;
    let endpoints = Endpoints::for_addr(proxy).trusting(pin.clone());
    Client::connect(transport, &endpoints, &ClientOptions::default(), &Default::default())
        .await
        .expect("connect")
}

/// QUIC's bytes are counted at each client's UDP socket: with the handshake's, they are what a
/// UDP relay in between counts, but for the closing packets.
#[tokio::test]
async fn quic_bytes_match_a_counting_udp_proxy() {
    let Some((server, quic, pin)) = quic_server().await else { return };
    assert_eq!(quic, server.local_addr(), "the same port number");
    for transport in Transport::ALL.into_iter().filter(|t| t.is_quic()) {
        let (proxy, up, down) = counting_udp_proxy(quic, None).await;
        let endpoints = Endpoints::for_addr(proxy).trusting(pin.clone());
        let options = ClientOptions { payload_bytes: 100, ..ClientOptions::default() };
        let mut client =
            Client::connect(transport, &endpoints, &options, &Default::default()).await.expect("connect");
        // A new connection per call counts its handshake in the call's bytes.
        let (mut out, mut inn) =
            client.handshakes().iter().fold((0, 0), |(o, i), h| (o + h.bytes_out, i + h.bytes_in));
        let mut sum = (0, 0);
        for seq in 1..=25 {
            let m = client.measure(seq).await.expect("measure");
            // Events that came in one packet: the first carries their bytes.
            assert!(m.bytes_in > 0 || transport.pattern() == Pattern::Push, "{transport}");
            sum = (sum.0 + m.bytes_out, sum.1 + m.bytes_in);
        }
        let opened: Vec<_> = client.handshakes().iter().map(|h| h.bytes_out).collect();
        assert!(
            opened.iter().all(|&o| o > 1200),
            "{transport}: a QUIC Initial is padded to 1200 bytes: {opened:?}"
        );
        out += sum.0;
        inn += sum.1;
        client.close().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (u, d) = (up.load(Ordering::SeqCst), down.load(Ordering::SeqCst));
        // Besides the opening and the calls: the closing packets (about 70 bytes each way here);
        // a push client's events that came before its first call, and ACKs for them. With a
        // connection per call, each one's closing packets, and what the server sent as the
        // client closed it (a path MTU probe: 1,401 bytes a connection here, every run).
        let (slack_up, slack_down) = match transport.pattern() {
            Pattern::Push => (1_000, 4_000),
            _ if transport.opens_per_call() => (25 * 120, 25 * 1_600),
            Pattern::RoundTrip => (200, 200),
        };
        assert!(u >= out && u - out < slack_up, "{transport}: proxy {u} B up vs client {out}");
        assert!(d >= inn && d - inn < slack_down, "{transport}: proxy {d} B down vs client {inn}");
        if transport.pattern() == Pattern::RoundTrip {
            // A 100-byte payload's message is in every call's bytes, each way.
            assert!(sum.0 > 25 * 100 && sum.1 > 25 * 100, "{transport}: {sum:?}");
        }
    }
}

/// The clients of one QUIC transport share their TLS sessions, as a browser's connections to
/// one server do: the first handshake is a full one, the next ones resume (with 0-RTT keys), and
/// the run's TLS note counts them.
#[tokio::test]
async fn later_quic_connections_resume_and_the_report_counts_them() {
    if quic_server().await.is_none() {
        return;
    }
    let plan = Plan { concurrency: 3, sets: 1, calls: 5, ..small_plan(&[Transport::H3, Transport::Wt]) };
    let record = run_embedded(plan).await;
    assert_eq!(record.status, RunStatus::Complete, "{:?}", record.error);
    for t in [Transport::H3, Transport::Wt] {
        let tls =
            record.tls.iter().find(|u| u.transport == t).unwrap_or_else(|| panic!("{t}: {:?}", record.tls));
        // Clients connect one after another; a ticket the server sends after a handshake may
        // come just after the next client began (then that one's handshake is a full one).
        eprintln!("{t}: {} connections, {} resumed", tls.connections, tls.resumed);
        assert!(tls.connections == 3 && (1..=2).contains(&tls.resumed), "{t}: {tls:?}");
    }
    let report = duplex_core::stats::analyze(&record, &Default::default());
    let h3 = record.tls.iter().find(|u| u.transport == Transport::H3).map_or(0, |u| u.resumed);
    let said = format!("3 connection(s), {h3} resumed");
    assert!(report.notes.iter().any(|n| n.contains("TLS of h3") && n.contains(&said)), "{:?}", report.notes);
    // One client, then another once the first has its ticket (after a call): the first
    // handshake full, the second resumed.
    let Some((_server, quic, pin)) = quic_server().await else { return };
    let endpoints = Endpoints::for_addr(quic).trusting(pin);
    let shared = duplex_core::clients::Shared::default();
    for round in 0..2 {
        let mut client = Client::connect(Transport::H3, &endpoints, &ClientOptions::default(), &shared)
            .await
            .expect("connect");
        client.measure(1).await.expect("a call");
        let h = &client.handshakes()[0];
        assert_eq!(h.resumed, round == 1, "{h:?}");
        client.close().await;
    }
}

/// `h3-new` opens a QUIC connection per call: each client's first a full handshake, every later
/// one resumed with its request sent as 0-RTT data, which the server takes; the run's TLS note
/// says so. A call's bytes are its whole connection's: more than the padded Initial (1,200
/// bytes) up, more than the server's certificate-free flight down.
#[tokio::test]
async fn a_new_quic_connection_per_call_sends_its_request_as_0rtt_data() {
    if quic_server().await.is_none() {
        return;
    }
    let plan = Plan { concurrency: 2, ..small_plan(&[Transport::H3New]) };
    let record = run_embedded(plan).await;
    assert_eq!(record.status, RunStatus::Complete, "{:?}", record.error);
    let tls = record.tls.iter().find(|u| u.transport == Transport::H3New).expect("h3-new's TLS");
    assert_eq!(tls.connections, 2 * (2 + 2 * 20), "warm-up and recorded calls: {tls:?}");
    // Each client's first handshake is a full one; its second may come before the first's
    // tickets (sent with its answer) are read.
    assert!(tls.early_data >= tls.connections - 4 && tls.resumed == tls.early_data, "{tls:?}");
    let calls: Vec<_> = record.samples.iter().filter(|s| s.error.is_none()).collect();
    assert_eq!(calls.len(), 80);
    assert!(calls.iter().all(|s| s.bytes_out > 1200 && s.bytes_in > 200), "a connection each");
    let report = duplex_core::stats::analyze(&record, &Default::default());
    let said = format!("{} sent their request as 0-RTT data", tls.early_data);
    assert!(
        report.notes.iter().any(|n| n.contains("TLS of h3-new") && n.contains(&said)),
        "{:?}",
        report.notes
    );
}

/// A lost datagram is counted as lost, not sent again: through a relay that drops every tenth
/// packet big enough to carry a message, each way, about 1 - 0.9² of the echoes are lost; the
/// stream echoes over the same relay (one stream, a stream per message) lose none (QUIC
/// retransmits its frames).
#[tokio::test]
async fn lost_datagrams_are_counted_and_streams_retransmit() {
    let Some((_server, quic, pin)) = quic_server().await else { return };
    for transport in [Transport::WtDgram, Transport::Wt, Transport::WtStreams] {
        let mut client = through_a_dropping_relay(transport, quic, &pin, 90).await;
        let (mut lost, calls) = (0, 200);
        for seq in 1..=calls {
            match client.measure(seq).await {
                Ok(_) => {}
                Err(ClientError::Lost(_)) => lost += 1,
                Err(e) => panic!("{transport}: {e}"),
            }
        }
        let share = f64::from(lost) / calls as f64;
        if transport == Transport::WtDgram {
            assert!((0.15..=0.23).contains(&share), "{transport}: lost {lost} of {calls}");
        } else {
            assert_eq!(lost, 0, "{transport}");
        }
        client.close().await;
    }
}

/// A pushed event whose datagram is lost is counted as lost when the next one comes: through a
/// relay that drops every tenth packet big enough to carry an event (60 bytes: a tick's
/// datagram is about 90; the client's ACKs about 40), about a tenth of the server's events (one
/// a datagram, one a packet, every 5 ms) are reported lost, the others measured; events pushed
/// on a stream over the same relay lose none.
#[tokio::test]
async fn lost_event_datagrams_are_counted_and_the_stream_loses_none() {
    let Some((_server, quic, pin)) = quic_server().await else { return };
    for transport in [Transport::WtPushDgram, Transport::WtPush] {
        let mut client = through_a_dropping_relay(transport, quic, &pin, 60).await;
        let (mut lost, mut seen, calls) = (0, 0, 300);
        for _ in 0..calls {
            match client.measure(0).await {
                Ok(m) => {
                    assert!(m.server_time_unix_ns.is_some(), "{transport}: an event's creation");
                    seen += 1;
                }
                Err(ClientError::LostEvent) => lost += 1,
                Err(e) => panic!("{transport}: {e}"),
            }
        }
        let share = f64::from(lost) / f64::from(calls);
        eprintln!("{transport}: {lost} of {calls} events lost, {seen} measured");
        if transport == Transport::WtPushDgram {
            assert!((0.05..=0.15).contains(&share), "{transport}: lost {lost} of {calls}");
        } else {
            assert_eq!(lost, 0, "{transport}");
        }
        client.close().await;
    }
}

/// A normal client measures while the server is flooded: 400 handshakes begun and abandoned
/// (Initial packets, each asking for connection state), junk the size of Initials, and a
/// WebTransport session that opens streams as fast as QUIC's credit lets it and never writes.
#[tokio::test]
async fn floods_of_initials_and_streams_leave_others_served() {
    let Some((_server, quic, pin)) = quic_server().await else { return };
    let endpoints = Endpoints::for_addr(quic).trusting(pin.clone());
    let mut normal =
        Client::connect(Transport::Wt, &endpoints, &ClientOptions::default(), &Default::default())
            .await
            .expect("connect");

    // Initials: real ones from a QUIC client that never finishes its handshakes.
    let crypto = Trust::Insecure.client_config(&[b"h3"]).expect("config");
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from((*crypto).clone()).expect("QUIC crypto");
    let flooder = quinn::Endpoint::client("127.0.0.1:0".parse().expect("addr")).expect("endpoint");
    let config = quinn::ClientConfig::new(Arc::new(crypto));
    let mut abandoned = Vec::new();
    for _ in 0..400 {
        if let Ok(connecting) = flooder.connect_with(config.clone(), quic, "localhost") {
            abandoned.push(tokio::spawn(tokio::time::timeout(Duration::from_millis(1), connecting)));
        }
    }
    // Junk: 1,200-byte datagrams that look like long-header packets and decrypt to nothing.
    let junk = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    for i in 0..2_000u32 {
        let mut packet = vec![0xc3u8; 1200];
        packet[1..5].copy_from_slice(&1u32.to_be_bytes());
        packet[6..10].copy_from_slice(&i.to_be_bytes());
        let _ = junk.send_to(&packet, quic).await;
    }
    // Streams: a session that opens as many as it is allowed and leaves them all waiting.
    let hog_endpoints = Endpoints::for_addr(quic).trusting(pin);
    let hog = tokio::spawn(async move {
        let session = web_transport_quinn::Client::new(
            quinn::Endpoint::client("127.0.0.1:0".parse().expect("addr")).expect("endpoint"),
            {
                let tls = hog_endpoints.route.trust.client_config(&[b"h3"]).expect("config");
                quinn::ClientConfig::new(Arc::new(
                    quinn::crypto::rustls::QuicClientConfig::try_from((*tls).clone()).expect("crypto"),
                ))
            },
        )
        .connect(url::Url::parse(&hog_endpoints.wt_echo).expect("url"))
        .await
        .expect("session");
        let mut open = Vec::new();
        for _ in 0..1_000 {
            match tokio::time::timeout(Duration::from_millis(200), session.open_bi()).await {
                Ok(Ok((mut send, recv))) => {
                    let _ = send.write_all(b"{").await;
                    open.push((send, recv));
                }
                _ => break,
            }
        }
        (open.len(), session)
    });

    for seq in 1..=200 {
        normal.measure(seq).await.unwrap_or_else(|e| panic!("call {seq} during the floods: {e}"));
    }
    let (streams, _session) = hog.await.expect("hog");
    assert!(streams <= 256, "the server's stream credit held the hog to its limit: {streams}");
    assert!(streams >= 100, "the hog had streams to hold: {streams}");
    normal.close().await;
    for a in abandoned {
        let _ = a.await;
    }
    // After the floods, a new client is still served.
    let mut after =
        Client::connect(Transport::H3, &endpoints, &ClientOptions::default(), &Default::default())
            .await
            .expect("a new client after the floods");
    after.measure(1).await.expect("answered");
}

/// A QUIC connection to `addr` that trusts anything, for sessions the server should refuse.
async fn raw_connection(addr: std::net::SocketAddr) -> quinn::Connection {
    let crypto = Trust::Insecure.client_config(&[b"h3"]).expect("config");
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from((*crypto).clone()).expect("QUIC crypto");
    let endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().expect("addr")).expect("endpoint");
    let conn = endpoint
        .connect_with(quinn::ClientConfig::new(Arc::new(crypto)), addr, "localhost")
        .expect("connect")
        .await
        .expect("handshake");
    // The endpoint's socket lives with its connections.
    std::mem::forget(endpoint);
    conn
}

/// A WebTransport session is admitted as a WebSocket upgrade is: a page of another origin, a
/// name the server does not answer to (DNS rebinding) and an unknown path are refused, before
/// any session exists.
#[tokio::test]
async fn foreign_pages_rebound_names_and_unknown_paths_get_no_session() {
    let Some((_server, quic, _)) = quic_server().await else { return };
    let port = quic.port();
    let cases = [
        (format!("https://127.0.0.1:{port}/wt/echo"), Some("https://evil.example"), "403"),
        (format!("https://rebind.example:{port}/wt/echo"), None, "403"),
        (format!("https://127.0.0.1:{port}/wt/nothing"), None, "404"),
    ];
    for (url, origin, status) in cases {
        let mut request = web_transport_proto::ConnectRequest::new(url::Url::parse(&url).expect("url"));
        if let Some(origin) = origin {
            request.headers.insert(http::header::ORIGIN, http::HeaderValue::from_static(origin));
        }
        let refused = web_transport_quinn::Session::connect(raw_connection(quic).await, request).await;
        let error = refused.err().unwrap_or_else(|| panic!("{url} (origin {origin:?}) was given a session"));
        assert!(error.to_string().contains(status), "{url}: {error}");
    }
    // The server's own page may.
    let mut own = web_transport_proto::ConnectRequest::new(
        url::Url::parse(&format!("https://127.0.0.1:{port}/wt/echo")).expect("url"),
    );
    own.headers.insert(
        http::header::ORIGIN,
        http::HeaderValue::from_str(&format!("https://127.0.0.1:{port}")).expect("origin"),
    );
    web_transport_quinn::Session::connect(raw_connection(quic).await, own)
        .await
        .expect("the server's own page");
}
