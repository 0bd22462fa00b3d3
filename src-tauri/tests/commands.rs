//! The app's commands on Tauri's mock runtime: no window, no web view, the real engine and the
//! app's own embedded server. Also the contract with the page: the TypeScript types in
//! `ui/src/bindings/` are the Rust types', generated, and this test fails when they drift.

#[path = "commands/api.rs"]
mod api;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tauri::test::{INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context, noop_assets};
use tauri::{App, WebviewWindow, WebviewWindowBuilder};

struct MockApp {
    _app: App<MockRuntime>,
    webview: WebviewWindow<MockRuntime>,
    _data: tempfile::TempDir,
}

fn mock_app() -> MockApp {
    let data = tempfile::tempdir().expect("tempdir");
    let app = duplex_app_lib::app(mock_builder(), Some(data.path().to_owned()))
        .expect("the app's state")
        .build(mock_context(noop_assets()))
        .expect("the app builds on the mock runtime");
    let webview = WebviewWindowBuilder::new(&app, "main", Default::default()).build().expect("a mock window");
    MockApp { _app: app, webview, _data: data }
}

/// Calls a command as the page does; its answer or its `{kind, message}` error.
fn invoke(app: &MockApp, cmd: &str, args: Value) -> Result<Value, Value> {
    let request = tauri::webview::InvokeRequest {
        cmd: cmd.into(),
        callback: tauri::ipc::CallbackFn(0),
        error: tauri::ipc::CallbackFn(1),
        url: if cfg!(any(windows, target_os = "android")) {
            "http://tauri.localhost"
        } else {
            "tauri://localhost"
        }
        .parse()
        .expect("url"),
        body: tauri::ipc::InvokeBody::Json(args),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    };
    get_ipc_response(&app.webview, request).map(|b| b.deserialize::<Value>().expect("json answer"))
}

fn plan(changes: Value) -> Value {
    let mut plan =
        serde_json::to_value(duplex_core::plan::Plan::preset("quick").expect("preset")).expect("json");
    for (k, v) in changes.as_object().expect("object") {
        plan[k] = v.clone();
    }
    plan
}

#[test]
fn the_form_asks_the_engine_what_it_would_refuse() {
    let app = mock_app();
    let ask = |plan: Value, target: Value, native: bool, webview: bool| -> Value {
        let foreign = target.as_str().is_some_and(|t| t.starts_with("foreign:"));
        let target = target.as_str().map(|t| json!(t.trim_start_matches("foreign:"))).unwrap_or(target);
        let request = json!({ "plan": plan, "targetUrl": target, "foreign": foreign, "native": native, "webview": webview });
        invoke(&app, "validate_plan", json!({ "request": request })).expect("answers")
    };
    let check = |plan: Value, target: Value, native: bool, webview: bool| -> Vec<String> {
        serde_json::from_value(ask(plan, target, native, webview)["problems"].clone())
            .expect("a list of problems")
    };
    let fine = ask(
        plan(json!({ "transports": ["ws", "http", "xhr"], "sets": 2, "calls": 10 })),
        Value::Null,
        true,
        true,
    );
    assert_eq!(fine["problems"], json!([]), "{fine}");
    assert_eq!(
        (fine["native"]["calls"].as_u64(), fine["webview"]["calls"].as_u64()),
        (Some(2 * 2 * 10), Some(3 * 2 * 10))
    );
    assert_eq!(
        fine["webview"]["blocks"][2],
        json!(["xhr", 1]),
        "the web view runs the engine's order: {fine}"
    );
    let cases = [
        (plan(json!({ "sets": 0 })), Value::Null, true, false, "sets and calls must be at least 1"),
        (plan(json!({ "payload_bytes": 17 << 20 })), Value::Null, true, false, "payload must be at most"),
        (
            plan(json!({})),
            json!("ftp://example.invalid/"),
            true,
            false,
            "use a ws://, wss://, http:// or https:// URL",
        ),
        (
            plan(json!({})),
            json!("http://127.0.0.1:9/"),
            false,
            true,
            "web-view clients measure the embedded server only",
        ),
        (
            plan(json!({ "transports": ["http-new"] })),
            Value::Null,
            false,
            true,
            "none of the chosen transports",
        ),
        (plan(json!({})), Value::Null, false, false, "choose native clients, web-view clients, or both"),
        (plan(json!({ "transports": [] })), Value::Null, true, true, "choose at least one transport"),
        (plan(json!({})), json!("not a url"), true, false, "invalid target URL"),
        // A server that is not Duplex's: its scheme says which transports it can take.
        (
            plan(json!({ "transports": ["ws", "http"] })),
            json!("foreign:wss://echo.test/"),
            true,
            false,
            "ws needs the server's ws:// URL",
        ),
        (
            plan(json!({ "transports": ["ws-push"] })),
            json!("foreign:ws://echo.test/"),
            true,
            false,
            "echo only",
        ),
        (
            plan(json!({ "power": { "sample_ms": 5, "baseline_ms": 0 } })),
            Value::Null,
            true,
            true,
            "at least 20 ms",
        ),
    ];
    let foreign = ask(plan(json!({ "transports": ["wss"] })), json!("foreign:wss://echo.test/"), true, false);
    assert_eq!(foreign["problems"], json!([]), "any echo server over TLS: {foreign}");
    let off = ask(plan(json!({ "power": { "sample_ms": 0, "baseline_ms": 0 } })), Value::Null, true, true);
    assert_eq!(off["problems"], json!([]), "power off is a plan: {off}");
    for (plan, target, native, webview, want) in cases {
        let problems = check(plan, target, native, webview);
        assert!(problems.iter().any(|p| p.contains(want)), "{want:?} not in {problems:?}");
    }
}

/// The app measures against its long-running embedded server, which must take any payload
/// the form accepts (it kept the 1 MiB default, so a payload over about 0.5 MiB failed in the
/// app only).
#[test]
fn a_one_mebibyte_payload_runs_against_the_apps_embedded_server() {
    let app = mock_app();
    let plan = plan(json!({
        "transports": ["ws", "http"], "sets": 1, "calls": 3, "warmup": 1,
        "payload_bytes": 1 << 20, "power": { "sample_ms": 0, "baseline_ms": 0 },
    }));
    let request = json!({ "plan": plan, "targetUrl": null, "native": true, "webview": false });
    let pending = invoke(&app, "start_run", json!({ "request": request, "onUpdate": "__CHANNEL__:1" }))
        .expect("the native part runs");
    assert_eq!(pending["status"], "complete", "{pending}");
    assert_eq!(pending["nativeSamples"], 6, "{pending}");
    let view = invoke(&app, "finish_run", json!({ "part": null })).expect("stored");
    assert_eq!(view["record"]["status"], "complete", "{}", view["record"]);
    for t in view["report"]["transports"].as_array().expect("transports") {
        assert_eq!(
            (t["overall"]["count"].as_u64(), t["overall"]["errors"].as_u64()),
            (Some(3), Some(0)),
            "{t}"
        );
        assert!(t["overall"]["bytes_out_per_msg"].as_f64().is_some_and(|b| b > f64::from(1 << 20)), "{t}");
    }
    let listed = invoke(&app, "list_runs", json!({})).expect("history");
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
}

/// The app's sweep: the form asks for the sweep's links, the page runs the plan once per link,
/// and `sweep_view` draws the runs as one sweep.
#[test]
fn a_sweep_runs_the_plan_once_per_link_and_is_viewed_as_one() {
    let app = mock_app();
    let plan = plan(json!({
        "transports": ["ws", "http-new"], "sets": 1, "calls": 5, "warmup": 1,
        "power": { "sample_ms": 0, "baseline_ms": 0 },
    }));
    let request = |sweep: &str| json!({ "plan": plan, "targetUrl": null, "native": true, "webview": false, "sweep": sweep });
    let bad = invoke(&app, "validate_plan", json!({ "request": request("rtt=fast") })).expect("answers");
    assert!(bad["problems"][0].as_str().is_some_and(|p| p.starts_with("sweep rtt=fast")), "{bad}");
    let check = invoke(&app, "validate_plan", json!({ "request": request("rtt=0,6ms") })).expect("answers");
    assert_eq!(check["problems"], json!([]), "{check}");
    let steps = check["sweep"].as_array().expect("the sweep's runs").clone();
    assert_eq!(steps.len(), 2, "{check}");
    assert_eq!(steps[1]["label"], "rtt=6ms", "{check}");
    // A payload sweep: one plan per size, the rest of the plan kept.
    let sizes =
        invoke(&app, "validate_plan", json!({ "request": request("payload=1k,4k") })).expect("answers");
    let payloads: Vec<_> = sizes["sweep"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["plan"]["payload_bytes"].clone())
        .collect();
    assert_eq!(payloads, [json!(1024), json!(4096)], "{sizes}");
    // The page runs what the engine's sweep says comes next, until it says the sweep is over.
    let (mut ids, mut ran) = (Vec::new(), Vec::new());
    let next = |ran: &Vec<Value>, cancelled: bool| {
        invoke(
            &app,
            "next_sweep_run",
            json!({ "request": request("rtt=0,6ms"), "ran": ran, "cancelled": cancelled }),
        )
        .expect("answers")
    };
    assert_eq!(next(&ran, true), Value::Null, "a cancelled sweep runs nothing more");
    loop {
        let step = next(&ran, false);
        if step.is_null() {
            break;
        }
        assert_eq!(
            step["title"],
            format!("sweep {}/2 ({})", ran.len() + 1, steps[ran.len()]["label"].as_str().unwrap_or(""))
        );
        let mut run = request("");
        run["plan"] = step["step"]["plan"].clone();
        let pending = invoke(&app, "start_run", json!({ "request": run, "onUpdate": "__CHANNEL__:1" }))
            .expect("the native part runs");
        assert_eq!(pending["status"], "complete", "{pending}");
        let view = invoke(&app, "finish_run", json!({ "part": null })).expect("stored");
        ids.push(view["record"]["id"].clone());
        ran.push(view["record"]["status"].clone());
    }
    assert_eq!(ids.len(), 2, "every point ran");
    assert_eq!(next(&vec![json!("failed")], false), Value::Null, "a failed point ends the sweep");
    let view = invoke(&app, "sweep_view", json!({ "ids": ids })).expect("a sweep view");
    let sweep = &view["sweep"];
    assert_eq!(sweep["setting"], "rtt", "{sweep}");
    assert_eq!(
        sweep["points"].as_array().map(|p| p.iter().map(|p| p["value"].clone()).collect::<Vec<_>>()),
        Some(vec![json!(0.0), json!(6.0)])
    );
    let line = |t: &str| {
        sweep["lines"]
            .as_array()
            .expect("lines")
            .iter()
            .find(|l| l["transport"] == t)
            .cloned()
            .expect("a line")
    };
    // A new connection per request costs two round trips over the 6 ms link, ws one.
    let (ws, new) = (line("ws"), line("http-new"));
    assert!(ws["median_us"][1].as_f64().is_some_and(|m| m >= 6_000.0), "{ws}");
    assert!(new["median_us"][1].as_f64().is_some_and(|m| m >= 12_000.0), "{new}");
    assert_eq!(new["model_us"][0], json!(0.0), "no link, no round trips: {new}");
    assert!(new["model_us"][1].as_f64().is_some_and(|m| m >= 12_000.0), "{new}");
    assert!(view["sweep"].is_object() && view["record"]["id"] == ids[1], "the last run below its sweep");
}

#[test]
fn a_run_whose_server_cannot_be_reached_stores_nothing() {
    let app = mock_app();
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let request = json!({
        "plan": plan(json!({ "power": { "sample_ms": 200, "baseline_ms": 60_000 } })),
        "targetUrl": format!("http://127.0.0.1:{port}"), "native": true, "webview": false,
    });
    let started = std::time::Instant::now();
    let refused = invoke(&app, "start_run", json!({ "request": request, "onUpdate": "__CHANNEL__:1" }))
        .expect_err("refused");
    assert_eq!(refused["kind"], "run", "{refused}");
    assert!(
        refused["message"].as_str().is_some_and(|m| m.contains("not a reachable Duplex server")),
        "{refused}"
    );
    assert!(started.elapsed().as_secs() < 30, "refused before the minute-long idle baseline");
    assert_eq!(invoke(&app, "list_runs", json!({})).expect("history"), json!([]));
}

/// The remote box's Trust field takes what --fingerprint and --ca-cert take: a certificate the
/// device does not trust is refused in words, with its fingerprint; given, it is measured.
#[test]
fn a_remote_servers_certificate_is_trusted_as_the_trust_field_says() {
    let app = mock_app();
    let server = duplex_core::server::ServerThread::spawn(Default::default()).expect("a TLS server");
    let sha = server.tls().expect("TLS").fingerprint().to_owned();
    let plan = plan(json!({
        "transports": ["https"], "sets": 1, "calls": 3, "warmup": 1,
        "power": { "sample_ms": 0, "baseline_ms": 0 },
    }));
    let request = |trust: &str| {
        json!({
            "plan": plan, "targetUrl": format!("https://{}", server.local_addr()), "foreign": false,
            "trust": trust, "native": true, "webview": false,
        })
    };
    let run = |trust: &str| {
        let pending =
            invoke(&app, "start_run", json!({ "request": request(trust), "onUpdate": "__CHANNEL__:1" }))
                .expect("the native part runs");
        invoke(&app, "finish_run", json!({ "part": null })).expect("stored");
        pending
    };
    let bad =
        invoke(&app, "validate_plan", json!({ "request": request("/no/such/cert.pem") })).expect("answers");
    assert!(
        bad["problems"][0]
            .as_str()
            .is_some_and(|p| p.contains("cannot read CA certificates from /no/such/cert.pem")),
        "{bad}"
    );
    let refused = run("");
    assert_eq!(refused["status"], "failed", "{refused}");
    let error = refused["error"].as_str().unwrap_or_default();
    assert!(
        error.contains(&format!("SHA-256 {sha}"))
            && error.contains(&format!("--fingerprint {sha} (the app: Trust)")),
        "{error}"
    );
    let trusted = run(&sha);
    assert_eq!(trusted["status"], "complete", "{trusted}");
}

/// Where the page's types live; `DUPLEX_BLESS=1 cargo test -p duplex-app --test commands`
/// writes them anew.
fn bindings_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/bindings")
}

/// The types the page exchanges with Rust, and all they contain, as ts-rs writes them. JSON
/// carries 64-bit integers as numbers (serde_json), so `bigint` is written `number`.
fn generated() -> Vec<(String, String)> {
    use ts_rs::TS;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path();
    type Export = fn(&Path) -> Result<(), ts_rs::ExportError>;
    let exports: [Export; 24] = [
        |d| duplex_app_lib::commands::run::AppInfo::export_all_to(d),
        |d| duplex_app_lib::commands::run::PlanCheck::export_all_to(d),
        |d| duplex_core::server::join::JoinPlan::export_all_to(d),
        |d| duplex_core::server::join::JoinResults::export_all_to(d),
        |d| duplex_core::server::join::Stored::export_all_to(d),
        |d| duplex_app_lib::commands::run::RunRequest::export_all_to(d),
        |d| duplex_app_lib::commands::run::PendingRun::export_all_to(d),
        |d| duplex_core::export::html::RunView::export_all_to(d),
        |d| duplex_app_lib::lan::LanInfo::export_all_to(d),
        |d| duplex_app_lib::lan::LanRequest::export_all_to(d),
        |d| duplex_core::session::Update::export_all_to(d),
        |d| duplex_core::record::ClientPart::export_all_to(d),
        |d| duplex_core::storage::RunListItem::export_all_to(d),
        |d| duplex_core::storage::Imported::export_all_to(d),
        |d| duplex_core::stats::platforms::PlatformComparison::export_all_to(d),
        |d| duplex_core::stats::platforms::CompareOptions::export_all_to(d),
        |d| duplex_core::export::ReportFiles::export_all_to(d),
        |d| duplex_core::monitor::Session::export_all_to(d),
        |d| duplex_core::monitor::SessionSummary::export_all_to(d),
        |d| duplex_core::monitor::Snapshot::export_all_to(d),
        |d| duplex_core::platform::BrowserDevice::export_all_to(d),
        |d| duplex_core::fanout::FanoutReport::export_all_to(d),
        |d| duplex_core::fanout::FanoutProgress::export_all_to(d),
        |d| duplex_core::sweep::SweepRun::export_all_to(d),
    ];
    for export in exports {
        export(out).expect("exported");
    }
    let mut files: Vec<(String, String)> = std::fs::read_dir(out)
        .expect("bindings")
        .map(|e| {
            let path = e.expect("entry").path();
            let name = path.file_name().expect("name").to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).expect("read").replace("bigint", "number");
            (name, text)
        })
        .collect();
    files.sort();
    let index: String = files
        .iter()
        .map(|(name, _)| {
            let ty = name.trim_end_matches(".ts");
            format!("export type {{ {ty} }} from \"./{ty}\";\n")
        })
        .collect();
    files.push((
        "index.ts".into(),
        format!("// Generated with the files beside it: every type the page exchanges with Rust.\n{index}"),
    ));
    files.push(("api.ts".into(), api::api_ts(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))));
    files.push(("words.json".into(), words()));
    files.sort();
    files
}

/// The engine's unit rules on a spread of values, for the page's own live figures (`formatUs`,
/// `formatBytes` in ui/src/format.ts), which its unit test checks against this file.
fn words() -> String {
    use duplex_core::stats::{format_bytes, format_us};
    let us = [0.0, 0.04, 9.1, 999.94, 999.96, 1_000.0, 1_234.5, 9_999.0, 10_000.0, 12_345.0, 2.5e6];
    let bytes = [0.0, 1.0, 188.0, 1_023.0, 1_024.0, 1_536.0, 20_480.0, 1_048_575.0, 1_048_576.0, 3_145_728.0];
    let table = |xs: &[f64], f: fn(f64) -> String| {
        xs.iter().map(|&x| serde_json::json!([x, f(x)])).collect::<Vec<_>>()
    };
    let words = serde_json::json!({
        "us": table(&us, format_us),
        "bytes": table(&bytes, format_bytes),
        "lost_datagram": duplex_core::record::LOST_DATAGRAM,
    });
    serde_json::to_string_pretty(&words).expect("json") + "\n"
}

#[test]
fn the_pages_typescript_types_are_the_rust_types() {
    let fresh = generated();
    let dir = bindings_dir();
    if std::env::var_os("DUPLEX_BLESS").is_some() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("bindings dir");
        for (name, text) in &fresh {
            std::fs::write(dir.join(name), text).expect("write");
        }
        return;
    }
    let mut kept: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    kept.sort();
    let names: Vec<String> = fresh.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(
        kept, names,
        "ui/src/bindings is out of date: DUPLEX_BLESS=1 cargo test -p duplex-app --test commands"
    );
    for (name, text) in fresh {
        let old = std::fs::read_to_string(dir.join(&name)).unwrap_or_default();
        assert_eq!(
            old, text,
            "ui/src/bindings/{name} is out of date: DUPLEX_BLESS=1 cargo test -p duplex-app --test commands"
        );
    }
}

/// The app's embedded server lives as long as the app: a web page that rebinds its name to
/// 127.0.0.1 must not read this machine's monitor through it.
#[test]
fn the_apps_embedded_server_refuses_a_rebound_name() {
    use std::io::{Read, Write};
    let app = mock_app();
    let info = invoke(&app, "app_info", json!({})).expect("app info");
    let addr = info["server"]["Ok"].as_str().expect("the embedded server runs").to_owned();
    let port = addr.rsplit(':').next().expect("port");
    let ask = |host: &str| {
        let mut tcp = std::net::TcpStream::connect(&addr).expect("connect");
        write!(tcp, "GET /monitor/latest HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
            .expect("send");
        let mut answer = String::new();
        let _ = tcp.read_to_string(&mut answer);
        answer
    };
    let refused = ask(&format!("evil.example:{port}"));
    assert!(refused.starts_with("HTTP/1.1 403") && refused.contains("DNS rebinding"), "{refused}");
    assert!(!ask(&addr).starts_with("HTTP/1.1 403"), "its own address is answered");
}

/// A command the page may not call fails only in the real app ("… not allowed"): every command
/// the app registers is declared to the build (build.rs) and allowed by the capability.
#[test]
fn every_registered_command_is_declared_and_allowed() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let read = |p: &str| std::fs::read_to_string(dir.join(p)).expect(p);
    let (lib, build, capability) = (read("src/lib.rs"), read("build.rs"), read("capabilities/default.json"));
    let handler = &lib[lib.find("generate_handler![").expect("the handler")..];
    let registered: Vec<&str> = handler[..handler.find("])").expect("its end")]
        .split(',')
        .filter_map(|c| c.trim().rsplit("::").next())
        .filter(|c| !c.is_empty() && !c.starts_with("generate_handler"))
        .collect();
    assert!(registered.len() > 10, "{registered:?}");
    for command in registered {
        assert!(build.contains(&format!("\"{command}\"")), "{command} is not declared in build.rs");
        let allow = format!("\"allow-{}\"", command.replace('_', "-"));
        assert!(capability.contains(&allow), "{command} is not allowed by capabilities/default.json");
    }
}
