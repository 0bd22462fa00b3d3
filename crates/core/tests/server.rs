//! The echo server's endpoints and its answers to bad input.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use duplex_core::clock::now_unix_ns;
use duplex_core::protocol::{EchoReplyView, Event, Health, echo_request_json, parse_binary_reply};
use duplex_core::server::{AppState, EventHub, Server, ServerConfig, ServerError, router};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tower::ServiceExt;

use crate::util::{server, server_with};

async fn next_message<S>(ws: &mut S) -> Message
where
    S: StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("a message within 5 s")
        .expect("stream open")
        .expect("valid message")
}

#[tokio::test]
async fn ws_echo_adds_server_time_and_keeps_payload() {
    let server = server().await;
    let (mut ws, _) = connect_async(format!("ws://{}/ws", server.local_addr())).await.expect("connect");
    let before = now_unix_ns();
    ws.send(Message::Text(echo_request_json(1.25, 42, "hello").into())).await.expect("send");
    let Message::Text(text) = next_message(&mut ws).await else { panic!("text reply expected") };
    let after = now_unix_ns();
    let value: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(value["payload"], "hello");
    let view = EchoReplyView::parse(text.as_bytes()).expect("reply");
    assert_eq!((view.client_time, view.seq), (Some(1.25), Some(42)));
    let server_ns = (view.server_time * 1e9) as i64;
    assert!(
        server_ns >= before - 1_000 && server_ns <= after + 1_000,
        "{server_ns} not in [{before}, {after}]"
    );
}

#[tokio::test]
async fn ws_binary_echo_prefixes_server_time() {
    let server = server().await;
    let (mut ws, _) = connect_async(format!("ws://{}/ws", server.local_addr())).await.expect("connect");
    ws.send(Message::Binary(vec![1, 2, 3, 255].into())).await.expect("send");
    let Message::Binary(bytes) = next_message(&mut ws).await else { panic!("binary reply expected") };
    let (server_ns, echoed) = parse_binary_reply(&bytes).expect("prefix");
    assert_eq!(echoed, [1, 2, 3, 255]);
    assert!((now_unix_ns() - server_ns).abs() < 5_000_000_000);
}

#[tokio::test]
async fn malformed_ws_message_gets_an_error_and_the_connection_survives() {
    let server = server().await;
    let (mut ws, _) = connect_async(format!("ws://{}/ws", server.local_addr())).await.expect("connect");
    ws.send(Message::Text("{not json".into())).await.expect("send");
    let Message::Text(text) = next_message(&mut ws).await else { panic!("text") };
    assert!(text.contains("malformed message"), "{text}");
    ws.send(Message::Text(echo_request_json(1.0, 2, "").into())).await.expect("send");
    let Message::Text(text) = next_message(&mut ws).await else { panic!("text") };
    assert_eq!(EchoReplyView::parse(text.as_bytes()).expect("reply").seq, Some(2));
}

#[tokio::test]
async fn oversized_ws_message_is_closed_with_1009_and_others_are_still_served() {
    let server = server_with(ServerConfig { max_message_bytes: 1024, ..ServerConfig::default() }).await;
    let url = format!("ws://{}/ws", server.local_addr());
    let (mut big, _) = connect_async(&url).await.expect("connect");
    big.send(Message::Text("x".repeat(4096).into())).await.expect("send");
    match next_message(&mut big).await {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Size),
        other => panic!("expected close 1009, got {other:?}"),
    }
    let (mut ok, _) = connect_async(&url).await.expect("connect");
    ok.send(Message::Text(echo_request_json(1.0, 1, "fine").into())).await.expect("send");
    assert!(matches!(next_message(&mut ok).await, Message::Text(_)));
}

async fn http(method: &str, url: &str, body: Vec<u8>) -> (StatusCode, String) {
    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    let request = match method {
        "GET" => client.get(url),
        _ => client.post(url).header("content-type", "application/json").body(body),
    };
    let response = request.send().await.expect("response");
    let status = StatusCode::from_u16(response.status().as_u16()).expect("status");
    (status, response.text().await.expect("body"))
}

/// `POST /echo/plain` answers as anyone's echo server: the bytes back unchanged, whatever they
/// are (not JSON, not UTF-8), and a body over the message limit is refused.
#[tokio::test]
async fn the_plain_http_echo_sends_the_body_back_unchanged() {
    let server = server().await;
    let url = format!("http://{}/echo/plain", server.local_addr());
    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    let body: Vec<u8> = vec![0xff, 0x00, b'{', 0x80, b'x'];
    let response = client
        .post(&url)
        .header("content-type", "application/x-anything")
        .body(body.clone())
        .send()
        .await
        .expect("response");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-anything");
    assert_eq!(response.bytes().await.expect("body").to_vec(), body);
    let (status, _) = http("POST", &url, vec![b'x'; (1 << 20) + 1]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn ajax_echo_get_and_post() {
    let server = server().await;
    let base = format!("http://{}", server.local_addr());
    let (status, body) = http("GET", &format!("{base}/echo?client_time=1.5&seq=3&payload=ab"), vec![]).await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        (v["client_time"].as_f64(), v["seq"].as_u64(), v["payload"].as_str()),
        (Some(1.5), Some(3), Some("ab"))
    );
    let (status, body) =
        http("POST", &format!("{base}/echo"), echo_request_json(2.5, 4, "cd").into_bytes()).await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        (v["client_time"].as_f64(), v["seq"].as_u64(), v["payload"].as_str()),
        (Some(2.5), Some(4), Some("cd"))
    );
    assert!(v["server_time"].as_f64().expect("server_time") > 1.7e9);
}

#[tokio::test]
async fn bad_http_input_is_a_clear_4xx() {
    let server = server_with(ServerConfig { max_message_bytes: 1024, ..ServerConfig::default() }).await;
    let base = format!("http://{}", server.local_addr());
    let cases: Vec<(&str, String, Vec<u8>, StatusCode, &str)> = vec![
        (
            "POST",
            format!("{base}/echo"),
            b"{\"seq\": ".to_vec(),
            StatusCode::BAD_REQUEST,
            "malformed message",
        ),
        (
            "POST",
            format!("{base}/echo"),
            b"{\"seq\": \"x\"}".to_vec(),
            StatusCode::BAD_REQUEST,
            "malformed message",
        ),
        ("POST", format!("{base}/echo"), vec![0xff, 0xfe], StatusCode::BAD_REQUEST, "not UTF-8"),
        ("POST", format!("{base}/echo"), vec![b' '; 4096], StatusCode::PAYLOAD_TOO_LARGE, "length limit"),
        ("GET", format!("{base}/echo?client_time=soon"), vec![], StatusCode::BAD_REQUEST, "client_time"),
        ("GET", format!("{base}/echo?client_time=NaN"), vec![], StatusCode::BAD_REQUEST, "finite"),
        ("GET", format!("{base}/events/next?after=-1"), vec![], StatusCode::BAD_REQUEST, "after"),
    ];
    for (method, url, body, want, reason) in cases {
        let (status, text) = http(method, &url, body).await;
        assert_eq!(status, want, "{method} {url}: {text}");
        assert!(text.contains(reason), "{method} {url}: {text:?} should mention {reason:?}");
        if status == StatusCode::BAD_REQUEST {
            let v: serde_json::Value = serde_json::from_str(&text).expect("json error body");
            assert!(v["error"].is_string());
        }
    }
}

#[tokio::test]
async fn poll_long_poll_and_push_deliver_ticks() {
    let server = server().await;
    let base = format!("http://{}", server.local_addr());
    let (mut push, _) =
        connect_async(format!("ws://{}/ws/push", server.local_addr())).await.expect("connect");
    let mut last = 0;
    for _ in 0..3 {
        let Message::Text(text) = next_message(&mut push).await else { panic!("text") };
        let ev = Event::parse(text.as_bytes()).expect("event");
        assert_eq!(ev.event, "tick");
        assert!(ev.seq > last);
        last = ev.seq;
    }
    let (status, body) = http("GET", &format!("{base}/events/latest"), vec![]).await;
    assert_eq!(status, StatusCode::OK);
    let latest = Event::parse(body.as_bytes()).expect("event");
    assert!(latest.seq >= last);
    let (status, body) = http("GET", &format!("{base}/events/next?after={}", latest.seq), vec![]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(Event::parse(body.as_bytes()).expect("event").seq > latest.seq);
}

#[tokio::test]
async fn long_poll_times_out_with_204_and_poll_is_204_before_any_event() {
    let server =
        server_with(ServerConfig { tick_interval: Duration::from_secs(3600), ..ServerConfig::default() })
            .await;
    let base = format!("http://{}", server.local_addr());
    assert_eq!(http("GET", &format!("{base}/events/latest"), vec![]).await.0, StatusCode::NO_CONTENT);
    assert_eq!(
        http("GET", &format!("{base}/events/next?timeout_ms=20"), vec![]).await.0,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn router_answers_without_a_socket() {
    let state = AppState {
        config: std::sync::Arc::new(ServerConfig::default()),
        hub: std::sync::Arc::new(EventHub::new()),
        shutdown: tokio_util::sync::CancellationToken::new(),
        tickets: Default::default(),
        monitor: std::sync::Arc::new(duplex_core::monitor::MonitorHub::new(1.0).expect("hub")),
        long_polls: Default::default(),
        hosts: std::sync::Arc::new(duplex_core::server::OwnHosts::of(
            &[],
            "127.0.0.1:0".parse().expect("addr"),
        )),
        tls: None,
        quic_unavailable: None,
    };
    let response = router(state)
        .oneshot(Request::get("/health").body(Body::empty()).expect("request"))
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.expect("body");
    let health: Health = serde_json::from_slice(&bytes).expect("health json");
    assert_eq!(health.name, "duplex");
    assert_eq!(health.version, duplex_core::VERSION);
}

#[tokio::test]
async fn a_port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr");
    let err =
        Server::start(ServerConfig { bind: addr, ..ServerConfig::default() }).await.err().expect("must fail");
    assert!(matches!(err, ServerError::AddrInUse { .. }), "{err:?}");
    assert!(err.to_string().contains("already in use"), "{err}");
}

#[tokio::test]
async fn graceful_shutdown_closes_websockets_with_1001() {
    let server = server().await;
    let (mut ws, _) = connect_async(format!("ws://{}/ws", server.local_addr())).await.expect("connect");
    ws.send(Message::Text(echo_request_json(1.0, 1, "").into())).await.expect("send");
    next_message(&mut ws).await;
    let stopping = tokio::spawn(server.shutdown());
    match next_message(&mut ws).await {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Away),
        other => panic!("expected close 1001, got {other:?}"),
    }
    drop(ws);
    tokio::time::timeout(Duration::from_secs(5), stopping)
        .await
        .expect("stops")
        .expect("joined")
        .expect("ok");
}

/// Sends `request` as raw bytes and returns the whole response text.
async fn raw_exchange(addr: std::net::SocketAddr, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out))
        .await
        .expect("answer within 5 s")
        .expect("read");
    String::from_utf8(out).expect("utf-8")
}

#[tokio::test]
async fn echo_reports_the_request_size_on_the_wire_when_asked() {
    let server = server().await;
    let addr = server.local_addr();
    let body = echo_request_json(1.0, 1, "hello");
    let post = format!(
        "POST /echo?wire=1 HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: Mozilla/5.0 (Test)\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let get = format!(
        "GET /echo?seq=2&payload=ab&wire=1 HTTP/1.1\r\nHost: {addr}\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    for request in [post, get] {
        let response = raw_exchange(addr, &request).await;
        let header = response
            .lines()
            .find_map(|l| l.strip_prefix("x-duplex-request-bytes: "))
            .unwrap_or_else(|| panic!("header missing in {response}"));
        assert_eq!(header.trim().parse::<usize>().expect("number"), request.len(), "{request}");
    }
    // Not asked, not sent: native clients' byte counts stay what they were.
    let plain =
        raw_exchange(addr, &format!("GET /echo?seq=1 HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"))
            .await;
    assert!(!plain.contains("x-duplex-request-bytes"), "{plain}");
}

/// A page cannot see whether its browser kept a connection: the answer says which request on
/// its connection it was (1 on a new one), so web clients can count the TCP handshakes they paid.
#[tokio::test]
async fn echo_says_which_request_on_its_connection_it_was() {
    let server = server().await;
    let addr = server.local_addr();
    let get = |close: bool| {
        let connection = if close { "close" } else { "keep-alive" };
        format!("GET /echo?seq=1&wire=1 HTTP/1.1\r\nHost: {addr}\r\nConnection: {connection}\r\n\r\n")
    };
    // Three requests on one connection, the last closing it.
    let answers = raw_exchange(addr, &[get(false), get(false), get(true)].concat()).await;
    let numbers: Vec<&str> = answers
        .lines()
        .filter_map(|l| l.strip_prefix("x-duplex-connection-request: "))
        .map(str::trim)
        .collect();
    assert_eq!(numbers, ["1", "2", "3"], "{answers}");
    // A new connection starts again at 1.
    let again = raw_exchange(addr, &get(true)).await;
    assert!(again.contains("x-duplex-connection-request: 1\r\n"), "{again}");
}

#[tokio::test]
async fn only_listed_origins_may_read_answers() {
    let app_server = server_with(ServerConfig {
        allowed_origins: vec!["tauri://localhost".into()],
        ..ServerConfig::default()
    })
    .await;
    let addr = app_server.local_addr();
    let ask = |origin: &str| {
        format!("GET /echo?seq=1 HTTP/1.1\r\nHost: {addr}\r\nOrigin: {origin}\r\nConnection: close\r\n\r\n")
    };
    let allowed = raw_exchange(addr, &ask("tauri://localhost")).await.to_ascii_lowercase();
    assert!(allowed.contains("access-control-allow-origin: tauri://localhost"), "{allowed}");
    assert!(allowed.contains("access-control-expose-headers: *"), "{allowed}");
    let foreign = raw_exchange(addr, &ask("https://evil.example")).await.to_ascii_lowercase();
    assert!(foreign.starts_with("http/1.1 200"), "{foreign}");
    assert!(!foreign.contains("access-control-allow-origin"), "{foreign}");
    // The default server sends no CORS headers at all.
    let plain_server = server().await;
    let plain = raw_exchange(plain_server.local_addr(), &ask("tauri://localhost")).await.to_ascii_lowercase();
    assert!(!plain.contains("access-control-"), "{plain}");
}

/// A client's Close is answered with the server's own Close before the connection ends (RFC
/// 6455 section 5.5.1), on the echo, plain echo and push endpoints: the closing handshake is
/// clean (the Autobahn cases found every one unclean before).
#[tokio::test]
async fn a_clients_close_is_answered_with_a_close_frame() {
    let server = server().await;
    for path in ["/ws", "/ws/echo", "/ws/push"] {
        let url = format!("ws://{}{path}", server.local_addr());
        let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.expect("connect");
        ws.send(Message::Close(None)).await.expect("close sent");
        let answer = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match ws.next().await {
                    // The push endpoint may have sent an event before it read the close.
                    Some(Ok(Message::Text(_))) => continue,
                    other => return other,
                }
            }
        })
        .await
        .expect("an answer");
        assert!(matches!(answer, Some(Ok(Message::Close(_)))), "{path}: {answer:?}");
    }
}
