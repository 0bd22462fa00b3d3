//! Limits and hostile input against the real server, byte by byte over plain sockets: every
//! limit answers with its clear status or close code, and the server keeps serving others.

use std::net::SocketAddr;
use std::time::Duration;

use duplex_core::server::{Limits, Server, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::util::server_with;

async fn server_limited(limits: Limits) -> Server {
    server_with(ServerConfig { limits, ..ServerConfig::default() }).await
}

/// Reads until the peer closes or `limit` passes; what arrived.
async fn read_all(tcp: &mut TcpStream, limit: Duration) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(limit, tcp.read_to_end(&mut out)).await;
    out
}

/// Status code of a raw request's answer (0 if none).
async fn raw_status(addr: SocketAddr, request: &[u8]) -> (u16, String) {
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    let _ = tcp.write_all(request).await;
    let answer = String::from_utf8_lossy(&read_all(&mut tcp, Duration::from_secs(5)).await).into_owned();
    (answer.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0), answer)
}

/// Still serving: /health answers 200.
async fn healthy(addr: SocketAddr) {
    let (status, answer) = raw_status(addr, b"GET /health HTTP/1.0\r\n\r\n").await;
    assert_eq!(status, 200, "{answer}");
}

/// A WebSocket opened by hand: the upgrade's status and the socket.
async fn handshake(addr: SocketAddr) -> (u16, TcpStream) {
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.expect("send");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut byte)).await {
            Ok(Ok(1)) => head.push(byte[0]),
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&head);
    (text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0), tcp)
}

/// A client frame: FIN + opcode, masked with a zero key unless `masked` is false.
fn frame(fin: bool, opcode: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut f = vec![(u8::from(fin) << 7) | opcode];
    let mask_bit = if masked { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => f.push(mask_bit | n as u8),
        n if n < 65536 => {
            f.push(mask_bit | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(mask_bit | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if masked {
        f.extend_from_slice(&[0, 0, 0, 0]);
    }
    f.extend_from_slice(payload);
    f
}

/// The close code of the first close frame the server sends (None if it sent none).
async fn close_code(tcp: &mut TcpStream) -> Option<u16> {
    let bytes = read_all(tcp, Duration::from_secs(5)).await;
    let mut i = 0;
    while i + 2 <= bytes.len() {
        let (opcode, len) = (bytes[i] & 0x0f, (bytes[i + 1] & 0x7f) as usize);
        let (start, len) = match len {
            126 => (i + 4, u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize),
            127 => return None,
            n => (i + 2, n),
        };
        if opcode == 0x8 && len >= 2 && start + 2 <= bytes.len() {
            return Some(u16::from_be_bytes([bytes[start], bytes[start + 1]]));
        }
        i = start + len;
    }
    None
}

#[tokio::test]
async fn broken_websocket_frames_get_their_close_codes_and_others_are_still_served() {
    let server = server_with(ServerConfig { max_message_bytes: 64 << 10, ..ServerConfig::default() }).await;
    let addr = server.local_addr();
    let cases: [(&str, Vec<u8>, u16); 6] = [
        ("an unmasked client frame", frame(true, 0x1, b"{\"seq\":1}", false), 1002),
        ("invalid UTF-8 in a text frame", frame(true, 0x1, &[0xff, 0xfe, 0x80], true), 1007),
        ("a fragmented ping", frame(false, 0x9, b"x", true), 1002),
        ("a reserved opcode", frame(true, 0x3, b"x", true), 1002),
        (
            "a frame claiming 2 GiB",
            {
                let mut f = vec![0x82, 0x80 | 127];
                f.extend_from_slice(&(2u64 << 30).to_be_bytes());
                f.extend_from_slice(&[0, 0, 0, 0]);
                f
            },
            1009,
        ),
        ("a ping with a 200-byte payload", frame(true, 0x9, &[b'x'; 200], true), 1002),
    ];
    for (what, bytes, want) in cases {
        let (status, mut tcp) = handshake(addr).await;
        assert_eq!(status, 101, "{what}: handshake");
        tcp.write_all(&bytes).await.expect("send");
        assert_eq!(close_code(&mut tcp).await, Some(want), "{what}");
    }
    // A frame cut short and a socket dropped mid-frame: nothing to answer; others go on.
    let (_, mut tcp) = handshake(addr).await;
    tcp.write_all(&frame(true, 0x1, &[b'x'; 100], true)[..20]).await.expect("send");
    drop(tcp);
    let (status, mut tcp) = handshake(addr).await;
    assert_eq!(status, 101);
    tcp.write_all(&frame(true, 0x1, b"{\"seq\":7}", true)).await.expect("send");
    let mut reply = [0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut reply))
        .await
        .expect("in time")
        .expect("read");
    assert!(String::from_utf8_lossy(&reply[..n]).contains("\"seq\":7"), "the echo still works");
    healthy(addr).await;
}

#[tokio::test]
async fn garbage_and_huge_http_is_refused_with_a_status_and_the_server_goes_on() {
    let server =
        server_limited(Limits { max_headers: 32, max_header_bytes: 8 << 10, ..Limits::default() }).await;
    let addr = server.local_addr();
    let (status, _) =
        raw_status(addr, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n").await;
    assert!(status == 400 || status == 0, "garbage: {status}");
    let many: String = (0..40).map(|i| format!("X-H{i}: v\r\n")).collect();
    let (status, answer) =
        raw_status(addr, format!("GET /health HTTP/1.1\r\nHost: x\r\n{many}\r\n").as_bytes()).await;
    assert_eq!(status, 431, "40 headers: {answer}");
    let big = "y".repeat(20 << 10);
    let (status, answer) =
        raw_status(addr, format!("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n").as_bytes()).await;
    assert_eq!(status, 431, "a 20 KiB header: {answer}");
    let (status, _) = raw_status(addr, b"GET /echo?seq=%ZZ&client_time=nan HTTP/1.0\r\n\r\n").await;
    assert_eq!(status, 400);
    healthy(addr).await;
}

#[tokio::test]
async fn connections_over_the_limits_get_503_until_one_closes() {
    let server = server_limited(Limits { max_connections_per_peer: 3, ..Limits::default() }).await;
    let addr = server.local_addr();
    let mut held = Vec::new();
    for _ in 0..3 {
        let (status, tcp) = handshake(addr).await;
        assert_eq!(status, 101);
        held.push(tcp);
    }
    let (status, answer) = raw_status(addr, b"GET /health HTTP/1.0\r\n\r\n").await;
    assert_eq!(status, 503, "{answer}");
    assert!(answer.contains("too many connections from 127.0.0.1"), "{answer}");
    // Closing a WebSocket frees its place.
    drop(held.pop());
    let mut freed = false;
    for _ in 0..50 {
        if raw_status(addr, b"GET /health HTTP/1.0\r\n\r\n").await.0 == 200 {
            freed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(freed, "a closed WebSocket gives its place back");

    let server = server_limited(Limits { max_connections: 2, ..Limits::default() }).await;
    let addr = server.local_addr();
    let _a = handshake(addr).await;
    let _b = handshake(addr).await;
    let (status, answer) = raw_status(addr, b"GET /health HTTP/1.0\r\n\r\n").await;
    assert_eq!(status, 503, "{answer}");
    assert!(answer.contains("takes 2 at once"), "{answer}");
}

#[tokio::test]
async fn slow_and_idle_clients_are_cut_off() {
    let server = server_limited(Limits {
        header_timeout: Duration::from_millis(300),
        ws_idle_timeout: Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    let addr = server.local_addr();
    // Slowloris: headers that never end.
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    tcp.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.expect("send");
    let started = std::time::Instant::now();
    let _ = read_all(&mut tcp, Duration::from_secs(10)).await;
    assert!(started.elapsed() < Duration::from_secs(5), "closed after the header timeout");
    // A WebSocket that says nothing is closed with 1008.
    let (status, mut ws) = handshake(addr).await;
    assert_eq!(status, 101);
    assert_eq!(close_code(&mut ws).await, Some(1008));
    healthy(addr).await;
}

#[tokio::test]
async fn long_polls_over_the_limit_get_503() {
    let server = server_limited(Limits { max_long_polls: 2, ..Limits::default() }).await;
    let addr = server.local_addr();
    let wait = format!("GET /events/next?after=999999&timeout_ms=1500 HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    let waiting: Vec<_> = (0..2).map(|_| tokio::spawn(raw_status_owned(addr, wait.clone()))).collect();
    // Both are waiting on the server before the third asks.
    while server.long_polls_waiting() < 2 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let (status, answer) = raw_status(addr, wait.as_bytes()).await;
    assert_eq!(status, 503, "{answer}");
    assert!(answer.contains("too many long-polls"), "{answer}");
    for w in waiting {
        assert_eq!(w.await.expect("joined").0, 204, "the two waiting ones time out normally");
    }
    assert_eq!(raw_status(addr, wait.as_bytes()).await.0, 204, "places free again");
}

async fn raw_status_owned(addr: SocketAddr, request: String) -> (u16, String) {
    raw_status(addr, request.as_bytes()).await
}

/// DNS rebinding: a web page whose own name now resolves to 127.0.0.1 is same-origin with a
/// loopback server, so CORS cannot stop it; the server refuses every request whose Host is not
/// one of its own names, WebSocket upgrades included.
#[tokio::test]
async fn a_page_that_rebinds_its_name_to_loopback_is_refused() {
    let server = crate::util::server_with(ServerConfig {
        allowed_hosts: vec!["duplex.test".into()],
        ..ServerConfig::default()
    })
    .await;
    let addr = server.local_addr();
    let port = addr.port();
    for path in ["/monitor/latest", "/health", "/events/latest", "/echo?seq=1", "/"] {
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: evil.example:{port}\r\nConnection: close\r\n\r\n");
        let (status, answer) = raw_status(addr, request.as_bytes()).await;
        assert_eq!(status, 403, "{path}: {answer}");
        assert!(answer.contains("DNS rebinding") && !answer.contains("cpu"), "{path}: {answer}");
    }
    let upgrade = format!(
        "GET /ws HTTP/1.1\r\nHost: evil.example:{port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    assert_eq!(raw_status(addr, upgrade.as_bytes()).await.0, 403, "no WebSocket for a foreign name");
    for host in [format!("127.0.0.1:{port}"), format!("localhost:{port}"), "duplex.test".to_owned()] {
        let request = format!("GET /health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        assert_eq!(raw_status(addr, request.as_bytes()).await.0, 200, "{host}");
    }
}
