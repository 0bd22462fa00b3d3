//! LAN mode and browser join against a real server on loopback: the access token on every
//! endpoint, the Origin check on upgrades, and results posted back into a history.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use duplex_core::clients::Transport;
use duplex_core::platform::BrowserDevice;
use duplex_core::record::{ClientKind, ClientPart, RunRecord, RunStatus, Topology};
use duplex_core::runner::Target;
use duplex_core::server::join::{BrowserJoin, JoinPlan, JoinResults, ResultSink, WebAssets};
use duplex_core::server::{Server, ServerConfig, ServerError};
use duplex_core::stats::platforms::{GroupBy, compare_platforms};
use duplex_core::storage::History;
use reqwest::StatusCode;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::util::{run_against, server_with, small_plan};

const CHROME_ON_ANDROID: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";

fn lan_config() -> ServerConfig {
    ServerConfig::lan(SocketAddr::from(([127, 0, 0, 1], 0)))
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().expect("client")
}

async fn get(url: &str) -> (StatusCode, String) {
    let r = client().get(url).send().await.expect("answer");
    (r.status(), r.text().await.unwrap_or_default())
}

#[tokio::test]
async fn in_lan_mode_every_endpoint_wants_the_token() {
    let config = lan_config();
    let token = config.access_token.clone().expect("LAN mode makes a token");
    let server = server_with(config).await;
    let base = format!("http://{}", server.local_addr());
    for path in ["/health", "/echo?seq=1", "/events/latest", "/monitor/latest", "/", "/join/plan"] {
        let (status, body) = get(&format!("{base}{path}")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} without token");
        assert!(body.contains("access token"), "{path}: {body}");
        let (status, body) =
            get(&format!("{base}{path}{}token=wrong", if path.contains('?') { '&' } else { '?' })).await;
        assert_eq!((status, body.contains("wrong access token")), (StatusCode::UNAUTHORIZED, true), "{path}");
    }
    assert_eq!(get(&format!("{base}/health?token={token}")).await.0, StatusCode::OK);
    // A person who opens the address without its token in a browser reads a page that says
    // what happened and what to do, not JSON; and never the token.
    let page = client()
        .get(format!("{base}/"))
        .header("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
        .send()
        .await
        .expect("answer");
    assert_eq!(page.status(), StatusCode::UNAUTHORIZED);
    assert!(page.headers()["content-type"].to_str().unwrap_or_default().starts_with("text/html"));
    let text = page.text().await.expect("body");
    assert!(text.contains("needs its access token") && text.contains("What to do"), "{text}");
    assert!(!text.contains(&token), "the page must not give the token away");

    // WebSocket: refused without the token, echoes with it.
    let err = tokio_tungstenite::connect_async(format!("ws://{}/ws", server.local_addr()))
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("401"), "{err}");
    let url = format!("ws://{}/ws?token={token}", server.local_addr());
    assert!(tokio_tungstenite::connect_async(url).await.is_ok());

    // The engine's clients carry the token from the target URL; the record never keeps it.
    let plan = small_plan(&[Transport::Ws, Transport::Http, Transport::LongPoll]);
    let target = Target::Remote {
        url: format!("http://{}/?token={token}", server.local_addr()),
        trust: Default::default(),
    };
    let record = run_against(plan, target).await;
    assert_eq!(record.status, RunStatus::Complete, "{:?}", record.error);
    assert!(record.samples.iter().all(|s| s.is_ok()));
    assert_eq!(record.topology, Topology::SeparateProcess);
    assert!(!record.target.contains(&token), "{}", record.target);

    // Without it, the run says why instead of measuring errors.
    let target =
        Target::Remote { url: format!("http://{}/", server.local_addr()), trust: Default::default() };
    let plan = small_plan(&[Transport::Ws]);
    let record = run_against(plan, target).await;
    assert_eq!(record.status, RunStatus::Failed);
    assert!(record.error.as_deref().unwrap_or_default().contains("LAN mode"), "{:?}", record.error);
}

#[tokio::test]
async fn a_server_reachable_from_other_machines_needs_a_token() {
    let open = ServerConfig { bind: SocketAddr::from(([0, 0, 0, 0], 0)), ..ServerConfig::default() };
    assert!(matches!(Server::start(open).await, Err(ServerError::OpenWithoutToken { .. })));
}

async fn upgrade_with_origin(addr: SocketAddr, origin: &str) -> Result<(), String> {
    let mut request = format!("ws://{addr}/ws").into_client_request().expect("request");
    request.headers_mut().insert("origin", origin.parse().expect("header"));
    tokio_tungstenite::connect_async(request).await.map(|_| ()).map_err(|e| e.to_string())
}

#[tokio::test]
async fn websocket_upgrades_from_foreign_pages_are_refused() {
    let server = server_with(ServerConfig {
        allowed_origins: vec!["tauri://localhost".into()],
        ..ServerConfig::default()
    })
    .await;
    let addr = server.local_addr();
    let err = upgrade_with_origin(addr, "https://evil.example").await.expect_err("foreign page");
    assert!(err.contains("403"), "{err}");
    assert!(upgrade_with_origin(addr, "null").await.is_err());
    upgrade_with_origin(addr, "tauri://localhost").await.expect("the app");
    upgrade_with_origin(addr, &format!("http://{addr}")).await.expect("the server's own page");
    // Programs that are not browsers send no Origin.
    assert!(tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await.is_ok());
}

/// The built web client, for tests: a join page and one script.
struct TestAssets;

impl WebAssets for TestAssets {
    fn get(&self, path: &str) -> Option<duplex_core::server::join::Asset> {
        let (bytes, mime) = match path {
            "join.html" => (b"<!doctype html><title>Duplex join</title>".to_vec(), "text/html"),
            "assets/join.js" => (b"console.log(1)".to_vec(), "text/javascript"),
            _ => return None,
        };
        Some(duplex_core::server::join::Asset { bytes, mime: mime.into() })
    }
}

fn history_sink(history: Arc<Mutex<History>>) -> ResultSink {
    duplex_core::session::join_sink(move |record, headline| {
        let mut history = history.lock().map_err(|e| e.to_string())?;
        history.save(record, headline).map_err(|e| e.to_string())
    })
}

/// Real samples for a browser's part: a native run against the same server, relabelled.
async fn measured_part(target: &str) -> ClientPart {
    let plan = small_plan(&[Transport::Ws, Transport::Http]);
    let target = Target::Remote { url: target.into(), trust: Default::default() };
    let record = run_against(plan, target).await;
    assert_eq!(record.status, RunStatus::Complete, "{:?}", record.error);
    let relabel = |mut s: duplex_core::record::Sample| {
        s.client = ClientKind::Webview;
        s
    };
    ClientPart {
        client: ClientKind::Webview,
        status: RunStatus::Complete,
        error: None,
        info: Some(duplex_core::record::WebviewInfo {
            user_agent: CHROME_ON_ANDROID.into(),
            timer_resolution_us: 100.0,
            cross_origin_isolated: Some(true),
            unavailable: vec![],
        }),
        samples: record.samples.into_iter().map(relabel).collect(),
        blocks: record
            .blocks
            .into_iter()
            .map(|b| duplex_core::record::BlockTiming { client: ClientKind::Webview, ..b })
            .collect(),
        connections: Vec::new(),
    }
}

#[tokio::test]
async fn a_joined_browsers_results_are_stored_once_and_compared_by_platform() {
    let history = Arc::new(Mutex::new(History::open_in_memory().expect("history")));
    let join = BrowserJoin::new(
        &small_plan(&[Transport::Ws, Transport::Http]).check().expect("valid"),
        Arc::new(TestAssets),
        history_sink(history.clone()),
    )
    .expect("join");
    let join = BrowserJoin { max_upload_bytes: 256 << 10, ..join };
    let config = ServerConfig { browser_join: Some(join), ..lan_config() };
    let token = config.access_token.clone().expect("token");
    let server = server_with(config).await;
    let base = format!("http://{}", server.local_addr());
    let auth = format!("token={token}");

    // The page and its scripts; the scripts need no token, nothing outside them is served.
    let page = client().get(format!("{base}/?{auth}")).send().await.expect("page");
    let policy = page
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(policy.contains(&format!("connect-src 'self' ws://{}", server.local_addr())), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert_eq!(
        (page.status(), page.text().await.unwrap_or_default().contains("Duplex join")),
        (StatusCode::OK, true)
    );
    assert_eq!(get(&format!("{base}/assets/join.js")).await.0, StatusCode::OK);
    assert_eq!(get(&format!("{base}/assets/missing.js")).await.0, StatusCode::NOT_FOUND);
    for escape in
        ["/assets/%2e%2e/%2e%2e/etc/passwd", "/assets/..%2f..%2fetc%2fpasswd", "/assets/%2fetc%2fpasswd"]
    {
        let (status, body) = get(&format!("{base}{escape}?{auth}")).await;
        assert!(status.is_client_error() && !body.contains("root:"), "{escape}: {status} {body}");
    }

    let (status, body) = get(&format!("{base}/join/plan?{auth}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ticket: JoinPlan = serde_json::from_str(&body).expect("plan");
    assert_eq!(ticket.run.plan.transports, vec![Transport::Ws, Transport::Http]);
    let part = measured_part(&format!("{base}/?{auth}")).await;
    let n = part.samples.len();
    let results = JoinResults {
        run_id: ticket.run_id.clone(),
        device: BrowserDevice {
            user_agent: CHROME_ON_ANDROID.into(),
            platform: "Linux armv8l".into(),
            logical_cores: 8,
            memory_gib: Some(8.0),
        },
        part,
    };
    let post = |url: String, body: Vec<u8>| async move {
        let r = client().post(url).body(body).send().await.expect("answer");
        (r.status(), r.text().await.unwrap_or_default())
    };
    let stored_count = || history.lock().expect("lock").list().expect("list").len();
    let json = serde_json::to_vec(&results).expect("json");

    // Refusals first: nothing is stored by any of them.
    assert_eq!(post(format!("{base}/join/results"), json.clone()).await.0, StatusCode::UNAUTHORIZED);
    let (status, body) = post(format!("{base}/join/results?{auth}"), b"{not json".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = post(format!("{base}/join/results?{auth}"), vec![b' '; 300 << 10]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let mut bad = serde_json::to_value(&results).expect("value");
    bad["part"]["samples"][0]["set"] = 99.into();
    let (status, body) = post(format!("{base}/join/results?{auth}"), bad.to_string().into_bytes()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("set 99"), "{body}");
    // A browser whose first connection failed measured nothing: no run is stored for it.
    let mut empty = serde_json::to_value(&results).expect("value");
    empty["part"]["samples"] = serde_json::json!([]);
    empty["part"]["status"] = "failed".into();
    empty["part"]["error"] = "ws: no answer within 5000 ms".into();
    let (status, body) = post(format!("{base}/join/results?{auth}"), empty.to_string().into_bytes()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("nothing was measured") && body.contains("no answer within"), "{body}");
    assert_eq!(stored_count(), 0);

    // The real post is stored; the same post again is refused.
    let (status, body) = post(format!("{base}/join/results?{auth}"), json.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // The host's verdict on ws and http comes back, whichever way the few samples fell (CI saw
    // one run of them not differ significantly).
    let answer: serde_json::Value = serde_json::from_str(&body).expect("json");
    let headline = answer["headline"].as_str().unwrap_or_default();
    assert!(
        headline.contains("ws and http") || headline.contains("than http"),
        "the host's verdict comes back: {body}"
    );
    let (status, body) = post(format!("{base}/join/results?{auth}"), json).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(stored_count(), 1);

    let stored: RunRecord = history.lock().expect("lock").load(&ticket.run_id).expect("stored run");
    assert_eq!(stored.samples.len(), n);
    assert!(stored.samples.iter().all(|s| s.client == ClientKind::Webview));
    assert_eq!(stored.topology, Topology::SeparateProcess, "a browser on this machine shares its clock");
    assert_eq!(stored.platform.os, "Android");
    let far = RunRecord { topology: Topology::Remote, id: "far".into(), ..stored.clone() };
    let comparison = compare_platforms(&[stored, far], GroupBy::Run.into());
    assert_eq!(comparison.groups.len(), 2);
    assert!(
        comparison.groups[0].label.starts_with("Android 14 aarch64 · Chrome 131"),
        "{:?}",
        comparison.groups
    );
    // Each group says which clock measured what.
    assert!(comparison.groups[0].clocks.contains("one clock"), "{}", comparison.groups[0].clocks);
    assert!(comparison.groups[1].clocks.contains("not one-way delays"), "{}", comparison.groups[1].clocks);
}

#[tokio::test]
async fn without_browser_join_the_join_endpoints_say_so() {
    let server = server_with(ServerConfig::default()).await;
    let (status, body) = get(&format!("http://{}/join/plan", server.local_addr())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("does not offer browser join"), "{body}");
    let (status, body) = get(&format!("http://{}/", server.local_addr())).await;
    assert_eq!((status, body.contains("Duplex echo server")), (StatusCode::OK, true));
}
