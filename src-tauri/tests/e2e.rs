//! End to end in the real app, the Tauri-documented way: the debug app binary driven under X
//! (Xvfb in CI) by tauri-driver and WebKitWebDriver. A person's path: open the app, choose a
//! small ws + http + xhr plan for native and web-view clients, run it, read the verdict and
//! the charts, export CSV, find the run in the History. A screenshot is saved.
//!
//! Needs `DISPLAY`, `tauri-driver` (cargo install tauri-driver --locked) and `WebKitWebDriver`
//! (Debian package webkit2gtk-driver). `scripts/test-all.sh` provides all three.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use duplex_core::record::ClientKind;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let home_bin = std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo/bin"));
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(home_bin)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// tauri-driver, stopped with SIGTERM so it also stops WebKitWebDriver (SIGKILL would leave it
/// running and holding the test's output open).
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start(data_dir: &Path, export_path: &Path) -> Driver {
        let exe = find_on_path("tauri-driver")
            .expect("tauri-driver not found: cargo install tauri-driver --locked (scripts/test-all.sh does)");
        assert!(
            find_on_path("WebKitWebDriver").is_some(),
            "WebKitWebDriver not found: apt-get install webkit2gtk-driver (scripts/test-all.sh does)"
        );
        let (port, native_port) = (free_port(), free_port());
        let child = Command::new(exe)
            .args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
            .env(duplex_app_lib::DATA_DIR_ENV, data_dir)
            .env(duplex_app_lib::EXPORT_PATH_ENV, export_path)
            // The bundle written beside the exported CSV answers the import dialog.
            .env(duplex_app_lib::IMPORT_PATH_ENV, export_path.with_file_name("e2e run-bundle.json"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tauri-driver starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "tauri-driver did not listen on {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver { child, port }
    }
}

impl Driver {
    /// A WebDriver session with the app. tauri-driver listens before the WebKitWebDriver it
    /// starts for a session does: on a busy machine the first request can find that one not
    /// ready, and tauri-driver closes the connection. A refused session is asked for again,
    /// for up to 20 s.
    async fn session(&self, application: &str) -> Client {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let mut caps = serde_json::Map::new();
            caps.insert("tauri:options".into(), json!({ "application": application }));
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps)
                .connect(&format!("http://127.0.0.1:{}", self.port))
                .await
            {
                Ok(client) => return client,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("no WebDriver session yet ({e}); asking again");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => panic!("a WebDriver session with the app: {e}"),
            }
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

/// Waits until the page has painted what the last step changed (two animation frames: the
/// frame that lays it out, and the one after it), before a screenshot or a measurement.
async fn painted(client: &Client) {
    client
        .execute_async(
            "const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
            vec![],
        )
        .await
        .expect("the page paints");
}

/// The text of every element `css` matches, in page order, its white space folded.
async fn texts(client: &Client, css: &str) -> Vec<String> {
    let script = format!(
        "return [...document.querySelectorAll({css:?})].map(e => e.textContent.replace(/\\s+/g, ' ').trim());"
    );
    let found = client.execute(&script, vec![]).await.expect(css);
    serde_json::from_value(found).expect("strings")
}

/// Waits until `script` (a JS expression) is truthy, returning its value.
async fn wait_for(client: &Client, what: &str, script: &str, timeout: Duration) -> serde_json::Value {
    let deadline = Instant::now() + timeout;
    loop {
        let value = client.execute(&format!("return {script};"), vec![]).await.expect("script runs");
        let truthy = match &value {
            serde_json::Value::Null | serde_json::Value::Bool(false) => false,
            serde_json::Value::String(s) => !s.is_empty(),
            serde_json::Value::Number(n) => n.as_f64() != Some(0.0),
            _ => true,
        };
        if truthy {
            return value;
        }
        if Instant::now() > deadline {
            let banner = client
                .execute("return document.querySelector('#error-banner').textContent;", vec![])
                .await
                .unwrap_or_default();
            let page = client
                .execute("return location.href + ' ' + document.title;", vec![])
                .await
                .unwrap_or_default();
            panic!("timed out waiting for {what}; error banner: {banner}; page: {page}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Clicks the element with this id.
async fn click(client: &Client, id: &str) {
    let el = client.find(Locator::Id(id)).await.unwrap_or_else(|e| panic!("#{id}: {e}"));
    el.click().await.unwrap_or_else(|e| panic!("clicking #{id}: {e}"));
}

/// Opens the History, waits for at least `runs` runs, ticks the newest `runs` and compares them.
async fn compare_in_history(client: &Client, runs: usize) {
    click(client, "tab-history").await;
    wait_for(
        client,
        &format!("{runs} runs in the history"),
        &format!("document.querySelectorAll('#history-table tbody tr').length >= {runs}"),
        Duration::from_secs(10),
    )
    .await;
    for row in 1..=runs {
        client
            .find(Locator::Css(&format!("#history-table tbody tr:nth-child({row}) input.pick")))
            .await
            .expect("pick")
            .click()
            .await
            .expect("tick");
    }
    click(client, "compare-button").await;
}

async fn set_number(client: &Client, id: &str, value: &str) {
    let input = client.find(Locator::Id(id)).await.expect(id);
    input.clear().await.expect("clear");
    input.send_keys(value).await.expect("type");
}

async fn set_checked(client: &Client, css: &str, checked: bool) {
    let el = client.find(Locator::Css(css)).await.expect(css);
    let now = el.prop("checked").await.expect("checked").as_deref() == Some("true");
    if now != checked {
        el.click().await.expect("click");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_runs_ws_vs_ajax_from_both_clients_reads_the_verdict_and_exports_csv() {
    assert!(
        std::env::var_os("DISPLAY").is_some(),
        "no DISPLAY: run under xvfb-run (scripts/test-all.sh does), e.g. xvfb-run -a cargo test -p duplex-app"
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let export_path = tmp.path().join("export").join("e2e run.csv");
    std::fs::create_dir_all(export_path.parent().expect("parent")).expect("export dir");
    let driver = Driver::start(&tmp.path().join("data"), &export_path);

    let client = driver.session(env!("CARGO_BIN_EXE_duplex-app")).await;

    // 1. The app opens with its embedded server running, address shown.
    let server = wait_for(
        &client,
        "the embedded server's address",
        "document.querySelector('#server-status.ok') && document.querySelector('#server-status').textContent",
        Duration::from_secs(30),
    )
    .await;
    assert!(server.as_str().is_some_and(|s| s.contains("127.0.0.1:")), "{server}");
    // The page's clock: is the app's page cross-origin isolated (COOP/COEP headers on its
    // assets), and how finely does performance.now() step here? Printed for the record.
    let clock = client
        .execute(
            "let a = performance.now(), d = Infinity; for (let i = 0; i < 2000000; i++) { const b = performance.now(); if (b > a) { d = Math.min(d, b - a); a = b; } } return [self.crossOriginIsolated, d * 1000, [location.href, isSecureContext, 'crossOriginIsolated' in self, typeof SharedArrayBuffer]];",
            vec![],
        )
        .await
        .expect("clock probe");
    eprintln!(
        "the app's web view: crossOriginIsolated = {}, performance.now() step = {} µs ({})",
        clock[0], clock[1], clock[2]
    );

    // 2. A small plan: the paper preset cut down, ws + http (fetch) + xhr, both kinds of client.
    client
        .find(Locator::Css("#preset option[value='paper']"))
        .await
        .expect("paper preset")
        .click()
        .await
        .expect("pick");
    set_checked(&client, "input[name=transport][value=ws]", true).await;
    set_checked(&client, "input[name=transport][value=http]", true).await;
    set_checked(&client, "input[name=transport][value=xhr]", true).await;
    set_checked(&client, "input[name=transport][value=http-new]", false).await;
    set_checked(&client, "#client-native", true).await;
    set_checked(&client, "#client-webview", true).await;
    set_number(&client, "sets", "3").await;
    set_number(&client, "calls", "40").await;
    set_number(&client, "interval", "2").await;
    set_number(&client, "warmup", "3").await;
    click(&client, "run-button").await;

    // 3 and 4. Progress, then the results: verdicts for both kinds of client, charts, table.
    wait_for(&client, "the results", "!document.querySelector('#view-results').hidden && document.querySelectorAll('#verdicts .verdict').length", Duration::from_secs(120)).await;
    let verdicts = texts(&client, "#verdicts .verdict").await;
    for (who, other) in [("Native", "http"), ("Web view", "http"), ("Web view", "xhr")] {
        assert!(
            verdicts.iter().any(|v| v.starts_with(who) && v.contains(&format!("than {other}"))
                || v.starts_with(who) && v.contains(&format!("ws and {other}"))),
            "no {who} ws-vs-{other} verdict in {verdicts:?}"
        );
    }
    let rows = client
        .execute("return document.querySelectorAll('#summary-table tbody tr').length;", vec![])
        .await
        .expect("rows");
    assert_eq!(rows, json!(5), "native ws/http and web-view ws/http/xhr");
    // No web-view reading shows as 0: a call below the clock's step is shown as a bound, and
    // the run records the step and whether the page was isolated, as measured above.
    let table = client
        .execute("return document.querySelector('#summary-table tbody').textContent;", vec![])
        .await
        .expect("table");
    assert!(!table.as_str().unwrap_or_default().contains(" 0.0 µs"), "{table}");
    let clock_note = client
        .execute("return [...document.querySelectorAll('.notes li')].map(li => li.textContent).find(t => t.includes('steps by'));", vec![])
        .await
        .expect("note");
    let isolated_words =
        if clock[0] == json!(true) { "was cross-origin isolated" } else { "was not cross-origin isolated" };
    assert!(clock_note.as_str().is_some_and(|n| n.contains(isolated_words)), "{clock_note} vs {clock}");
    let canvases = client
        .execute("return ['#chart-latency', '#chart-sets', '#chart-histograms'].map(s => document.querySelectorAll(s + ' canvas').length);", vec![])
        .await
        .expect("charts");
    assert_eq!(canvases, json!([1, 1, 5]), "latency, per-set means and one histogram per group");
    // CPU and energy: a row per group, CPU measured, a power chart, absent sensors named.
    let energy = client
        .execute(
            "return [document.querySelectorAll('#energy-table tbody tr').length, \
             document.querySelectorAll('#chart-power canvas').length, \
             document.querySelector('#energy-table thead th:nth-child(4)').textContent.includes('CPU-s/1k') \
             && [...document.querySelectorAll('#energy-table tbody tr td:nth-child(4)')].every(td => /^-?\\d/.test(td.textContent)), \
             [...document.querySelectorAll('#energy-card .sensors li')].map(li => li.textContent)];",
            vec![],
        )
        .await
        .expect("energy");
    assert_eq!(energy[0], json!(5), "{energy}");
    assert_eq!(energy[1], json!(1), "a power-over-time chart: {energy}");
    assert_eq!(energy[2], json!(true), "process CPU measured for every group: {energy}");
    let sensors: Vec<String> = serde_json::from_value(energy[3].clone()).expect("sensor lines");
    assert_eq!(sensors.len(), 3, "{sensors:?}");
    assert!(sensors.iter().all(|s| !s.contains("unavailable") || s.contains("unavailable: ")), "{sensors:?}");
    painted(&client).await;
    let png = client.screenshot().await.expect("screenshot");
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e");
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    std::fs::write(shots.join("results.png"), &png).expect("screenshot saved");
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    client.execute("document.querySelector('#energy-card').scrollIntoView();", vec![]).await.expect("scroll");
    painted(&client).await;
    std::fs::write(shots.join("energy.png"), client.screenshot().await.expect("screenshot")).expect("saved");
    client
        .execute("document.querySelector('#export-button').scrollIntoView({ block: 'center' });", vec![])
        .await
        .expect("scroll back");

    // 5. Export CSV (the save dialog is answered by DUPLEX_EXPORT_PATH), then the History.
    click(&client, "export-button").await;
    wait_for(
        &client,
        "the export",
        "document.querySelector('#export-status').textContent.startsWith('Saved')",
        Duration::from_secs(20),
    )
    .await;
    let file = std::fs::File::open(&export_path).expect("samples CSV written where chosen");
    let (_run_id, samples) = duplex_core::export::csv::read_samples(file).expect("the CSV reads back");
    let count = |kind: ClientKind| samples.iter().filter(|s| s.client == kind).count();
    assert_eq!(count(ClientKind::Native), 2 * 3 * 40, "native ws + http");
    assert_eq!(count(ClientKind::Webview), 3 * 3 * 40, "web-view ws + fetch + xhr");
    // Web pages' clocks are coarse (WebKitGTK: 1 ms), so a web-view latency may read 0.
    let bad: Vec<_> = samples
        .iter()
        .filter(|s| s.error.is_some() || s.bytes_out == 0 || s.bytes_in == 0)
        .chain(samples.iter().filter(|s| s.client == ClientKind::Native && s.latency_ns == 0))
        .collect();
    assert!(
        bad.is_empty(),
        "{} samples without an error-free latency and bytes, e.g. {:?}",
        bad.len(),
        bad.first()
    );
    for sibling in [
        "e2e run-summary.csv",
        "e2e run-comparisons.csv",
        "e2e run-power.csv",
        "e2e run-energy.csv",
        "e2e run-run.json",
        "e2e run-bundle.json",
    ] {
        assert!(export_path.with_file_name(sibling).is_file(), "{sibling}");
    }

    click(&client, "tab-history").await;
    wait_for(
        &client,
        "the history list",
        "document.querySelectorAll('#history-table tbody tr').length",
        Duration::from_secs(10),
    )
    .await;
    let headline = client
        .execute("return document.querySelector('#history-table td.headline').textContent;", vec![])
        .await
        .expect("headline");
    assert!(headline.as_str().is_some_and(|h| h.contains("ws")), "{headline}");

    // A second, slow run cancelled part-way keeps what it measured and says so.
    click(&client, "tab-run").await;
    set_checked(&client, "#client-webview", false).await;
    set_number(&client, "calls", "200").await;
    set_number(&client, "interval", "20").await;
    click(&client, "run-button").await;
    // After the idle baseline, once calls are under way.
    wait_for(
        &client,
        "the first calls of the second run",
        "!document.querySelector('#cancel-button').disabled && document.querySelector('#progress .progress-row progress')?.value > 0",
        Duration::from_secs(20),
    )
    .await;
    click(&client, "cancel-button").await;
    wait_for(
        &client,
        "the cancelled run's results",
        "!document.querySelector('#view-results').hidden && document.querySelector('#view-results .run-head .badge.cancelled')",
        Duration::from_secs(30),
    )
    .await;
    let kept = client
        .execute("return document.querySelectorAll('#summary-table tbody tr').length;", vec![])
        .await
        .expect("rows");
    assert!(kept.as_u64().is_some_and(|n| n >= 1), "a cancelled run keeps its samples: {kept}");

    // History: two runs; compare them; delete one.
    compare_in_history(&client, 2).await;
    // Both runs are this machine: by platform they pool into one group; by run, two.
    let groups = "[document.querySelectorAll('#compare-card ol.groups li').length, document.querySelectorAll('#compare-chart canvas').length]";
    wait_for(&client, "the comparison by platform", &format!("{groups}[1] === 1"), Duration::from_secs(10))
        .await;
    let by_platform = client.execute(&format!("return {groups};"), vec![]).await.expect("groups");
    assert_eq!(by_platform, json!([1, 1]), "one platform, one chart");
    client.execute("const s = document.querySelector('#compare-by'); s.value = 'run'; s.dispatchEvent(new Event('change'));", vec![])
        .await
        .expect("group by run");
    wait_for(&client, "the comparison by run", &format!("{groups}[0] === 2"), Duration::from_secs(10)).await;
    let rows = client
        .execute("return document.querySelectorAll('#compare-table tbody tr').length;", vec![])
        .await
        .expect("rows");
    assert!(rows.as_u64().is_some_and(|n| n >= 3), "native ws and http of two runs, web-view of one: {rows}");
    client
        .execute("document.querySelector('#compare-card').scrollIntoView();", vec![])
        .await
        .expect("scroll");
    painted(&client).await;
    std::fs::write(shots.join("compare.png"), client.screenshot().await.expect("screenshot")).expect("saved");
    client
        .execute("window.scrollTo(0, 0); document.querySelector('#history-table').scrollIntoView();", vec![])
        .await
        .expect("scroll back");

    // Delete the older run (it asks first, in the page: one click arms the button, a second
    // deletes), then bring it back from the bundle exported beside its CSV.
    for _ in 0..2 {
        client
            .find(Locator::Css("#history-table tbody tr:nth-child(2) button.delete"))
            .await
            .expect("delete")
            .click()
            .await
            .expect("click");
    }
    wait_for(
        &client,
        "one run left",
        "document.querySelectorAll('#history-table tbody tr').length === 1",
        Duration::from_secs(10),
    )
    .await;
    click(&client, "import-button").await;
    wait_for(
        &client,
        "the run back from its bundle",
        "document.querySelectorAll('#history-table tbody tr').length === 2 && document.querySelector('#history-status').textContent.startsWith('Imported 1 run')",
        Duration::from_secs(10),
    )
    .await;

    measure_tls_from_both_clients(&client, &shots).await;
    measure_over_an_emulated_link(&client, &shots).await;
    sweep_the_round_trip_time(&client, &shots).await;
    a_coarse_clock_reads_as_a_bound_in_every_view(&client).await;
    watch_the_live_monitor(&client, &shots).await;
    measure_push_fan_out(&client, &shots, &export_path).await;
    serve_on_lan_and_let_a_browser_join(&client, &shots).await;
    every_view_fits_each_size(&client, &shots).await;
    client.close().await.expect("session closed");
}

/// Over TLS: the web view is told to trust the embedded server's certificate (WebKitGTK), so
/// both kinds of client measure wss and https; h2 stays native-only, and the form says why.
/// WebKitGTK has no WebTransport: wt is native only here, and the form and the report say why.
async fn measure_tls_from_both_clients(client: &Client, shots: &Path) {
    click(client, "tab-run").await;
    for (t, on) in [
        ("ws", false),
        ("http", false),
        ("xhr", false),
        ("wss", true),
        ("https", true),
        ("h2", true),
        ("wt", true),
    ] {
        set_checked(client, &format!("input[name=transport][value={t}]"), on).await;
    }
    set_checked(client, "#client-native", true).await;
    set_checked(client, "#client-webview", true).await;
    set_number(client, "sets", "2").await;
    set_number(client, "calls", "30").await;
    set_number(client, "interval", "0").await;
    let refusals = wait_for(
        client,
        "the plan form's word on h2 in the web view",
        "[...document.querySelectorAll('#plan-form .webview-refusal')].map(p => p.textContent).join(' | ')",
        Duration::from_secs(10),
    )
    .await;
    let refusals = refusals.as_str().unwrap_or_default().to_owned();
    assert!(refusals.contains("h2") && refusals.contains("HTTP version"), "{refusals}");
    assert!(!refusals.contains("wss"), "the web view trusts the embedded server: {refusals}");
    let no_wt = "wt, wt-streams, wt-dgram: native only, because this browser engine has no WebTransport";
    assert!(refusals.contains(no_wt), "{refusals}");
    click(client, "run-button").await;
    wait_for(
        client,
        "the TLS run's results",
        "!document.querySelector('#view-results').hidden && document.querySelector('#view-results .run-head .badge') && document.querySelectorAll('#summary-table tbody tr').length >= 6",
        Duration::from_secs(120),
    )
    .await;
    let rows = texts(client, "#summary-table tbody tr").await;
    assert_eq!(rows.len(), 6, "native wss/https/h2/wt and web-view wss/https: {rows:?}");
    let notes = texts(client, "#view-results .notes li").await;
    let said = "web clients did not measure wt: this browser engine has no WebTransport";
    assert!(notes.iter().any(|n| n == said), "the web view said why: {notes:?}");
    let errors = client
        .execute("return document.querySelector('#view-results .run-head').textContent;", vec![])
        .await
        .expect("head");
    assert!(!errors.as_str().unwrap_or_default().contains("failed"), "{errors}");
    let verdicts = texts(client, "#verdicts .verdict").await;
    assert!(
        verdicts.iter().any(|v| v.starts_with("Web view") && v.contains("https")),
        "a web-view wss-vs-https verdict: {verdicts:?}"
    );
    eprintln!("TLS run: {rows:#?}\n{verdicts:#?}");
    painted(client).await;
    std::fs::write(shots.join("tls.png"), client.screenshot().await.expect("screenshot")).expect("saved");
}

/// Over the 4G profile (165 ms, 8.1 / 1.35 Mbit/s): both kinds of client go through the engine's
/// relay, and the results set the link's model beside each median. AJAX as the paper sent it
/// (GET with a query) keeps its connection in the web view too: every median within 10 % of the
/// model, which is the relay's own arithmetic. The native wt (WebTransport over the relay's UDP
/// side) is held to its model too.
async fn measure_over_an_emulated_link(client: &Client, shots: &Path) {
    click(client, "tab-run").await;
    client.execute("window.scrollTo(0, 0);", vec![]).await.expect("top");
    for (t, on) in [
        ("ws", true),
        ("http", true),
        ("xhr", true),
        ("wss", false),
        ("https", false),
        ("h2", false),
        ("wt", true),
    ] {
        set_checked(client, &format!("input[name=transport][value={t}]"), on).await;
    }
    set_number(client, "sets", "1").await;
    set_number(client, "calls", "10").await;
    client
        .execute(
            "for (const [id, value] of [['link', '4g'], ['method', 'get']]) { const s = document.querySelector('#' + id); s.value = value; s.dispatchEvent(new Event('change', { bubbles: true })); }",
            vec![],
        )
        .await
        .expect("pick the 4g link and GET");
    let said = client
        .execute("return document.querySelector('#link-description').textContent;", vec![])
        .await
        .expect("text");
    assert!(said.as_str().is_some_and(|t| t.contains("relay")), "{said}");
    click(client, "run-button").await;
    let rows = wait_for(
        client,
        "the link's model beside the medians",
        "!document.querySelector('#view-results').hidden && document.querySelector('#link-table') && [...document.querySelectorAll('#link-table tbody tr')].map(tr => [...tr.cells].map(td => td.textContent))",
        Duration::from_secs(120),
    )
    .await;
    let rows: Vec<Vec<String>> = serde_json::from_value(rows).expect("cells");
    eprintln!("over 4g: {rows:#?}");
    assert_eq!(rows.len(), 6, "native ws, http and wt, web-view ws, http and xhr: {rows:?}");
    assert!(rows.iter().any(|r| r[0] == "wt"), "{rows:?}");
    for row in &rows {
        let ratio: f64 = row[3].trim_end_matches('×').parse().expect("a ratio");
        assert!((0.9..1.1).contains(&ratio), "{row:?}");
    }
    client
        .execute("document.querySelector('#link-card').scrollIntoView(); window.scrollBy(0, -60);", vec![])
        .await
        .expect("scroll");
    painted(client).await;
    std::fs::write(shots.join("link.png"), client.screenshot().await.expect("screenshot")).expect("saved");
    // Back to no link, POST and no wt for what follows.
    click(client, "tab-run").await;
    client
        .execute(
            "document.querySelector('input[name=transport][value=wt]').checked = false; for (const [id, value] of [['link', ''], ['method', 'post']]) { const s = document.querySelector('#' + id); s.value = value; s.dispatchEvent(new Event('change', { bubbles: true })); }",
            vec![],
        )
        .await
        .expect("no link, POST");
}

/// A sweep from the form: the plan once per RTT, both kinds of client through the relay each
/// time, then one picture of the medians against the RTT with the link's model. AJAX by POST:
/// the web view (WebKitGTK) opens a connection for every POST, the server says so, and the
/// model counts the handshake; every median at 50 ms within 10 % of it.
async fn sweep_the_round_trip_time(client: &Client, shots: &Path) {
    click(client, "tab-run").await;
    client.execute("window.scrollTo(0, 0);", vec![]).await.expect("top");
    set_number(client, "calls", "10").await;
    client
        .execute("const s = document.querySelector('#sweep'); s.value = 'rtt=0,50ms'; s.dispatchEvent(new Event('input', { bubbles: true }));", vec![])
        .await
        .expect("type the sweep");
    wait_for(
        client,
        "the form counting the sweep's runs",
        "document.querySelector('#run-summary').textContent.includes('× 2 sweep runs')",
        Duration::from_secs(10),
    )
    .await;
    click(client, "run-button").await;
    let rows = wait_for(
        client,
        "the sweep's picture and table",
        "!document.querySelector('#view-results').hidden && document.querySelector('#chart-sweep canvas') && [...document.querySelectorAll('#sweep-table tbody tr')].map(tr => [...tr.cells].map(td => td.textContent))",
        Duration::from_secs(180),
    )
    .await;
    let rows: Vec<Vec<String>> = serde_json::from_value(rows).expect("cells");
    eprintln!("sweep: {rows:#?}");
    assert_eq!(rows.len(), 5, "native ws and http, web-view ws, http and xhr: {rows:?}");
    let ms = |text: &str| text.split(" ms").next().and_then(|v| v.trim().parse::<f64>().ok()).unwrap_or(0.0);
    for row in &rows {
        // "103.2 ms (100.0 ms)": the median over 50 ms, its model in brackets.
        let over = &row[2];
        let (median, model) = (ms(over), ms(over.split('(').nth(1).unwrap_or_default()));
        assert!(median >= 49.0 && (0.9..1.1).contains(&(median / model)), "{row:?}");
    }
    let notes = client
        .execute(
            "return [...document.querySelectorAll('.notes li')].map(li => li.textContent).join(' | ');",
            vec![],
        )
        .await
        .expect("notes");
    assert!(notes.as_str().is_some_and(|n| n.contains("opened a connection of their own")), "{notes}");
    client
        .execute("document.querySelector('#sweep-card').scrollIntoView(); window.scrollBy(0, -60);", vec![])
        .await
        .expect("scroll");
    painted(client).await;
    std::fs::write(shots.join("sweep.png"), client.screenshot().await.expect("screenshot")).expect("saved");
    click(client, "tab-run").await;
    client
        .execute("const s = document.querySelector('#sweep'); s.value = ''; s.dispatchEvent(new Event('input', { bubbles: true }));", vec![])
        .await
        .expect("no sweep");
}

/// A page whose clock steps by a frame, 16.67 ms (browsers that resist fingerprinting clamp
/// theirs so): most web-view calls on loopback read 0. No view says "0.0 µs" of them, nor of anything: not the progress lines while
/// the runs go, the results, the histograms, the sweep's table, the History or a comparison; a
/// chart hovered over a censored call says "< 1.00 ms (clock step)".
async fn a_coarse_clock_reads_as_a_bound_in_every_view(client: &Client) {
    const ZERO: &str = "/(^|[^\\d.])0\\.0 µs/";
    click(client, "tab-run").await;
    client.execute("window.scrollTo(0, 0);", vec![]).await.expect("top");
    client
        .execute(
            &format!(
                "window.__fineNow = performance.now.bind(performance);
                 performance.now = () => Math.floor(window.__fineNow() / 16.67) * 16.67;
                 window.__zeros = [];
                 window.__watch = new MutationObserver((changes) => {{ for (const c of changes) {{
                   const el = c.target.nodeType === Node.TEXT_NODE ? c.target.parentElement : c.target;
                   const text = el?.textContent ?? '';
                   const at = text.search({ZERO}); if (at >= 0) window.__zeros.push(`${{el.id || el.className}}: …${{text.slice(Math.max(0, at - 200), at + 40)}}`); }} }});
                 window.__watch.observe(document.body, {{ subtree: true, childList: true, characterData: true }});
                 const s = document.querySelector('#sweep'); s.value = 'payload=16b,1k'; s.dispatchEvent(new Event('input', {{ bubbles: true }}));"
            ),
            vec![],
        )
        .await
        .expect("a coarse clock");
    set_checked(client, "input[name=transport][value=xhr]", false).await;
    set_number(client, "sets", "2").await;
    set_number(client, "calls", "30").await;
    wait_for(
        client,
        "the form counting the sweep's runs",
        "document.querySelector('#run-summary').textContent.includes('× 2 sweep runs')",
        Duration::from_secs(10),
    )
    .await;
    click(client, "run-button").await;
    wait_for(
        client,
        "the sweep's results",
        "!document.querySelector('#view-results').hidden && document.querySelector('#sweep-table') && document.querySelectorAll('#chart-histograms canvas').length",
        Duration::from_secs(180),
    )
    .await;
    painted(client).await;
    let seen = client
        .execute(
            "window.__watch.disconnect();
             return [window.__zeros, document.querySelector('#view-results').innerText, document.querySelector('#sweep-table').innerText];",
            vec![],
        )
        .await
        .expect("texts");
    assert_eq!(seen[0], json!([]), "\"0.0 µs\" shown while the runs went");
    let (results, sweep) = (seen[1].as_str().unwrap_or_default(), seen[2].as_str().unwrap_or_default());
    assert!(!results.contains(" 0.0 µs") && !results.starts_with("0.0 µs"), "{results}");
    assert!(sweep.contains("(clock step)"), "a web-view median below the step is a bound: {sweep}");
    // Hover each chart of a web-view group across its width: somewhere its legend names the
    // clock step, nowhere 0.0 µs.
    let hovered = client
        .execute(
            &format!(
                "const found = [];
                 for (const chart of document.querySelectorAll('#chart-latency, #chart-histograms > div')) {{
                   const over = chart.querySelector('.u-over');
                   const box = over.getBoundingClientRect();
                   let bound = false;
                   for (let k = 1; k < 40; k++) {{
                     over.dispatchEvent(new MouseEvent('mousemove', {{ clientX: box.left + box.width * k / 40, clientY: box.top + box.height / 2, bubbles: true }}));
                     const legend = chart.querySelector('.u-legend').innerText;
                     if ({ZERO}.test(legend)) return ['0.0 µs', legend];
                     bound ||= legend.includes('(clock step)');
                   }}
                   over.dispatchEvent(new MouseEvent('mouseleave', {{ bubbles: true }}));
                   found.push(bound);
                 }}
                 return found;"
            ),
            vec![],
        )
        .await
        .expect("hover");
    // The latency chart (both clients), then a histogram per group: native calls have no step;
    // the web view's read below it.
    assert_eq!(hovered.as_array().map(Vec::len), Some(5), "{hovered}");
    assert_eq!(hovered[0], json!(true), "the latency chart names the clock step: {hovered}");
    assert!(
        hovered.as_array().is_some_and(|h| h[1..].iter().filter(|b| **b == json!(true)).count() >= 1),
        "{hovered}"
    );

    compare_in_history(client, 2).await;
    wait_for(
        client,
        "the comparison",
        "document.querySelectorAll('#compare-table tbody tr').length",
        Duration::from_secs(10),
    )
    .await;
    let history = client
        .execute("return document.querySelector('#view-history').innerText;", vec![])
        .await
        .expect("history");
    let history = history.as_str().unwrap_or_default();
    assert!(!history.contains(" 0.0 µs"), "{history}");
    assert!(history.contains("(clock step)"), "the comparison's web-view medians are bounds: {history}");

    click(client, "tab-run").await;
    client
        .execute(
            "performance.now = window.__fineNow;
             const s = document.querySelector('#sweep'); s.value = ''; s.dispatchEvent(new Event('input', { bubbles: true }));",
            vec![],
        )
        .await
        .expect("the page's own clock back");
    set_checked(client, "input[name=transport][value=xhr]", true).await;
    set_number(client, "sets", "1").await;
    set_number(client, "calls", "10").await;
}

/// At a laptop's size and phones' (1280×800, 412×915, 360×800) every view fits the width: the
/// page never scrolls sideways, and whatever is wider than its frame scrolls inside a frame that
/// shows it (a table's shadowed edge), never clipped unseen; on a laptop no table hides a button
/// past its edge. On phones every visible control is at least 44 px tall.
async fn every_view_fits_each_size(client: &Client, shots: &Path) {
    for (width, height) in [(1280u32, 800u32), (412, 915), (360, 800)] {
        let phone = width < 600;
        client.set_window_rect(0, 0, width, height).await.expect("resize");
        wait_for(
            client,
            "the page at its new width",
            &format!("window.innerWidth <= {width} && window.innerWidth > {width} - 80"),
            Duration::from_secs(10),
        )
        .await;
        painted(client).await;
        for tab in ["run", "results", "history", "live", "fanout", "lan"] {
            click(client, &format!("tab-{tab}")).await;
            painted(client).await;
            let fit = client
                .execute(
                    "const over = document.documentElement.scrollWidth - window.innerWidth;
                     const small = [...document.querySelectorAll('button, select, input[type=number], input[type=url]')]
                       .filter(e => e.offsetParent !== null && e.getBoundingClientRect().height < 43.5)
                       .map(e => e.id || e.textContent.trim().slice(0, 20));
                     const name = e => `${e.tagName}#${e.id}.${e.className} (right ${Math.round(e.getBoundingClientRect().right)}, scroll width ${e.scrollWidth}, frame ${e.clientWidth}): ${e.textContent.trim().slice(0, 60)}`;
                     const wide = over > 0 ? [...document.querySelectorAll('body *')]
                       .filter(e => e.getClientRects().length > 0 && e.getBoundingClientRect().left + e.scrollWidth > window.innerWidth + 1)
                       .filter(e => { for (let p = e.parentElement; p; p = p.parentElement) { if (['auto', 'scroll'].includes(getComputedStyle(p).overflowX)) return false; } return true; })
                       .slice(-4).map(name) : [];
                     const unseen = [...document.querySelectorAll('body *')]
                       .filter(e => e.getClientRects().length > 0 && e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0)
                       .filter(e => ['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(e).overflowX))
                       .filter(e => !e.classList.contains('table-wrap') && !e.classList.contains('sr-only') && !e.closest('.uplot'))
                       .map(name);
                     const offFrame = [...document.querySelectorAll('.table-wrap button')]
                       .filter(b => b.offsetParent !== null && b.getBoundingClientRect().right > b.closest('.table-wrap').getBoundingClientRect().right + 1)
                       .map(b => b.textContent.trim());
                     return [over, small, wide, unseen, offFrame];",
                    vec![],
                )
                .await
                .expect("measure");
            assert_eq!(
                fit[0],
                json!(0),
                "{tab} at {width}×{height}: the page scrolls sideways by {} px; too wide: {}",
                fit[0],
                fit[2]
            );
            assert_eq!(
                fit[3],
                json!([]),
                "{tab} at {width}×{height}: wider than a frame that does not show it"
            );
            if phone {
                assert_eq!(fit[1], json!([]), "{tab} at {width}×{height}: controls under 44 px");
            } else {
                // A table may scroll sideways for its figures, never to reach a button.
                assert_eq!(
                    fit[4],
                    json!([]),
                    "{tab} at {width}×{height}: buttons scrolled out of their table"
                );
            }
            client.execute("window.scrollTo(0, 0);", vec![]).await.expect("top");
            let name = if phone { "phone" } else { "desktop" };
            std::fs::write(
                shots.join(format!("{name}-{width}x{height}-{tab}.png")),
                client.screenshot().await.expect("screenshot"),
            )
            .expect("saved");
        }
    }
}

/// The Fan-out tab: one event to 20 and 200 subscribers by each push transport (the default
/// three and WebTransport's by datagrams, ticked); a row per transport and count, every broadcast
/// delivered (by datagrams: or counted lost), both charts drawn, the headline names the fastest
/// to the last subscriber.
async fn measure_push_fan_out(client: &Client, shots: &Path, export_path: &Path) {
    click(client, "tab-fanout").await;
    wait_for(client, "the Fan-out form", "document.querySelector('#fanout-start')", Duration::from_secs(10))
        .await;
    client
        .execute("const c = document.querySelector('#fanout-counts'); c.value = '20, 200';", vec![])
        .await
        .expect("counts");
    set_number(client, "fanout-broadcasts", "3").await;
    client
        .execute(
            "document.querySelector('input[name=fanout-transport][value=wt-push-dgram]').click();",
            vec![],
        )
        .await
        .expect("tick wt-push-dgram");
    click(client, "fanout-start").await;
    wait_for(
        client,
        "the fan-out table and charts",
        "document.querySelectorAll('#fanout-table tbody tr:not(.floor)').length === 8 && document.querySelectorAll('#fanout-table tbody tr.floor').length === 4 && document.querySelector('#fanout-latency canvas') && document.querySelector('#fanout-cpu canvas')",
        Duration::from_secs(60),
    )
    .await;
    let found = client
        .execute(
            "return [document.querySelector('#fanout-headline').textContent, [...document.querySelectorAll('#fanout-table tbody tr:not(.floor)')].map(r => r.cells[2].textContent), [...document.querySelectorAll('#fanout-table tbody tr')].map(r => r.cells[8].textContent)];",
            vec![],
        )
        .await
        .expect("read");
    let headline = found[0].as_str().unwrap_or_default();
    assert!(headline.starts_with("At 200 subscribers the last one has a "), "{headline}");
    for delivered in found[1].as_array().expect("rows") {
        // "600", or by datagrams "598 (2 lost)".
        let text = delivered.as_str().unwrap_or_default();
        let counts: Vec<u64> =
            text.split([' ', '(']).take(3).filter_map(|w| w.replace(',', "").parse().ok()).collect();
        let all: u64 = counts.iter().sum();
        assert!(all == 60 || all == 600, "every broadcast reached everyone: {text}");
    }
    // Each transport's server CPU per event over the floor measured in the run, the floor, and
    // the floor with nobody waiting over it.
    for over in found[2].as_array().expect("rows") {
        let text = over.as_str().unwrap_or_default();
        assert!(
            text.ends_with('×') && text.trim_end_matches('×').parse::<f64>().is_ok_and(|r| r > 0.0),
            "over floor: {text}"
        );
    }
    std::fs::write(shots.join("fanout.png"), client.screenshot().await.expect("screenshot")).expect("saved");
    client
        .execute("document.querySelector('#fanout-table').scrollIntoView();", vec![])
        .await
        .expect("scroll to the charts");
    std::fs::write(shots.join("fanout-charts.png"), client.screenshot().await.expect("screenshot"))
        .expect("saved");
    client.execute("window.scrollTo(0, 0);", vec![]).await.expect("top");
    // Export CSV…: a row per transport and subscriber count, where the person chose.
    let _ = std::fs::remove_file(export_path);
    click(client, "fanout-export").await;
    wait_for(
        client,
        "the fan-out CSV saved",
        "document.querySelector('#fanout-exported').textContent.startsWith('Saved ')",
        Duration::from_secs(10),
    )
    .await;
    let csv = std::fs::read_to_string(export_path).expect("fan-out CSV written where chosen");
    let mut lines = csv.lines();
    let header = lines.next().unwrap_or_default();
    assert!(
        header.contains("transport,subscribers") && header.contains("server_cpu_per_delivery_us,over_floor"),
        "{header}"
    );
    // Eight cells, and the floor at each count, with readers waiting and unread.
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 12, "{csv}");
    assert_eq!(rows.iter().filter(|r| r.contains(",wt-push-dgram,")).count(), 2, "{csv}");
    assert_eq!(rows.iter().filter(|r| r.contains(",floor,")).count(), 2, "{csv}");
    assert_eq!(rows.iter().filter(|r| r.contains(",floor-unread,")).count(), 2, "{csv}");
}

/// The Live tab: this machine pushed and polled side by side, then the session's summary.
async fn watch_the_live_monitor(client: &Client, shots: &Path) {
    click(client, "tab-live").await;
    wait_for(client, "the Live form", "document.querySelector('#live-start')", Duration::from_secs(10)).await;
    client
        .execute("const h = document.querySelector('#live-hz'); h.value = '20'; h.dispatchEvent(new Event('change'));", vec![])
        .await
        .expect("20 Hz");
    set_number(client, "live-poll-ms", "250").await;
    click(client, "live-start").await;
    for panel in ["panel-push", "panel-poll"] {
        wait_for(
            client,
            &format!("snapshots in {panel}"),
            &format!("document.querySelector('#{panel} .facts').textContent.includes('snapshot') && document.querySelectorAll('#{panel} table.top tbody tr').length > 0"),
            Duration::from_secs(15),
        )
        .await;
    }
    // Two seconds of snapshots (at 20 Hz) on screen, so the charts have a history to show.
    wait_for(
        client,
        "40 snapshots in the push panel",
        "Number((document.querySelector('#panel-push .facts').textContent.match(/snapshot (\\d+)/) || [])[1]) >= 40",
        Duration::from_secs(15),
    )
    .await;
    let age = wait_for(
        client,
        "the age of what is on screen",
        "(a => (a.endsWith('ms') || a.endsWith(' s')) && a)(document.querySelector('#panel-push .age').textContent)",
        Duration::from_secs(10),
    )
    .await;
    painted(client).await;
    assert!(
        age.as_str().is_some_and(|a| a.ends_with("ms") || a.ends_with(" s")),
        "the age of what is on screen: {age}"
    );
    std::fs::write(shots.join("live.png"), client.screenshot().await.expect("screenshot")).expect("saved");
    click(client, "live-stop").await;
    wait_for(
        client,
        "the session summary",
        "document.querySelectorAll('#live-summary-table tbody tr').length === 2 && document.querySelector('#live-cdf canvas')",
        Duration::from_secs(10),
    )
    .await;
    let rows = client
        .execute(
            "return [...document.querySelectorAll('#live-summary-table tbody tr')].map(r => [r.cells[0].textContent, Number(r.cells[2].textContent)]);",
            vec![],
        )
        .await
        .expect("rows");
    assert_eq!(rows[0][0], json!("push"), "{rows}");
    assert_eq!(rows[1][0], json!("poll"), "{rows}");
    assert!(rows[0][1].as_u64().is_some_and(|n| n >= 10), "20 Hz for about 3 s, every one pushed: {rows}");
    assert!(rows[1][1].as_u64().is_some_and(|n| n >= 3), "polled every 250 ms: {rows}");
    // The summary ends in a sentence, and the session can be saved as CSV.
    let verdict = client
        .execute("return document.querySelector('#live-verdict')?.textContent ?? '';", vec![])
        .await
        .expect("verdict");
    assert!(
        verdict.as_str().is_some_and(|v| v.starts_with("push showed snapshots ") && v.contains("poll ")),
        "{verdict}"
    );
    click(client, "live-export").await;
    wait_for(
        client,
        "the session saved",
        "document.querySelector('#live-status')?.textContent.includes('saved the session')",
        Duration::from_secs(10),
    )
    .await;
    client
        .execute("document.querySelector('#live-summary').scrollIntoView();", vec![])
        .await
        .expect("scroll");
    painted(client).await;
    std::fs::write(shots.join("live-summary.png"), client.screenshot().await.expect("screenshot"))
        .expect("saved");
}

/// One HTTP/1.0 GET to this machine over a plain socket: the status code, 0 if refused.
fn status_of(port: u16, target: &str) -> u16 {
    use std::io::{Read, Write};
    let Ok(mut tcp) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return 0 };
    let _ = write!(tcp, "GET {target} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    let mut answer = String::new();
    let _ = tcp.read_to_string(&mut answer);
    answer.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

/// The LAN tab: serve, check the token guards the server, let headless Chromium join through
/// the app's own join page, see its run arrive, stop.
async fn serve_on_lan_and_let_a_browser_join(client: &Client, shots: &Path) {
    click(client, "tab-lan").await;
    wait_for(client, "the LAN form", "document.querySelector('#lan-start')", Duration::from_secs(10)).await;
    set_number(client, "lan-port", "0").await;
    set_number(client, "lan-sets", "2").await;
    set_number(client, "lan-calls", "20").await;
    // Browsers join over the wifi profile: the URLs they open are the link relay's.
    client
        .execute("const s = document.querySelector('#lan-link'); s.value = 'wifi'; s.dispatchEvent(new Event('change', { bubbles: true }));", vec![])
        .await
        .expect("pick the browsers' link");
    click(client, "lan-start").await;
    let address = wait_for(
        client,
        "the LAN server",
        "document.querySelector('#lan-address')?.textContent",
        Duration::from_secs(10),
    )
    .await;
    let port: u16 = address.as_str().and_then(|a| a.rsplit(':').next()?.parse().ok()).expect("port");
    let token = wait_for(
        client,
        "the token",
        "document.querySelector('#lan-token')?.textContent",
        Duration::from_secs(5),
    )
    .await;
    let token = token.as_str().expect("token").to_owned();
    let qr = client.execute("return !!document.querySelector('#lan-qr svg') || document.querySelectorAll('#lan-urls code').length === 0;", vec![]).await.expect("qr");
    assert_eq!(qr, json!(true), "a QR code for the first URL");
    assert_eq!(status_of(port, "/health"), 401, "no token, no answer");
    assert_eq!(status_of(port, "/health?token=0123456789abcdef0123456789abcdef"), 401);
    assert_eq!(status_of(port, &format!("/health?token={token}")), 200);
    assert_eq!(status_of(port, &format!("/?token={token}")), 200, "the app serves its join page");
    let said = client
        .execute("return document.querySelector('#lan-running').textContent;", vec![])
        .await
        .expect("text");
    assert!(said.as_str().is_some_and(|t| t.contains("emulated link") && t.contains("wifi")), "{said}");
    // The relay's port, from the URLs shown (none when this machine has no network address).
    let first_url = client
        .execute("return document.querySelector('#lan-urls code')?.textContent ?? null;", vec![])
        .await
        .expect("url");
    let relay: Option<u16> = first_url
        .as_str()
        .and_then(|u| u.split("://").nth(1)?.split('/').next()?.rsplit(':').next()?.parse().ok());
    if let Some(relay) = relay {
        assert_ne!(relay, port, "browsers open the relay, not the server");
        assert_eq!(status_of(relay, &format!("/health?token={token}")), 200, "through the relay");
    }
    let browsers = relay.unwrap_or(port);

    let browser = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file());
    match browser {
        Some(browser) => {
            let profile = tempfile::tempdir().expect("profile dir");
            let mut chromium = Command::new(browser)
                .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
                .arg(format!("--user-data-dir={}", profile.path().display()))
                .arg(format!("http://127.0.0.1:{browsers}/?token={token}&autostart=1"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromium starts");
            let joined = wait_for(
                client,
                "a joined browser's run",
                "[...document.querySelectorAll('#lan-joined li')].map(li => li.textContent).find(t => t.includes('Chrome'))",
                Duration::from_secs(60),
            )
            .await;
            let _ = chromium.kill();
            let _ = chromium.wait();
            assert!(joined.as_str().is_some_and(|t| t.contains(" than ")), "the host's verdict: {joined}");
        }
        None => assert!(std::env::var_os("DUPLEX_REQUIRE_EXTERNAL").is_none(), "chromium missing"),
    }
    painted(client).await;
    std::fs::write(shots.join("lan.png"), client.screenshot().await.expect("screenshot")).expect("saved");
    click(client, "lan-stop").await;
    wait_for(
        client,
        "the LAN server stopped",
        "document.querySelector('#lan-start') && !document.querySelector('#lan-start').hidden",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(status_of(port, &format!("/health?token={token}")), 0, "stopped: nothing listens");
    assert_eq!(status_of(browsers, &format!("/health?token={token}")), 0, "nor on the relay");
}

/// The app as a user installs it: scripts/check-linux-packages.sh installs the .deb with apt and
/// runs this against the installed binary (DUPLEX_INSTALLED_APP, e.g. /usr/bin/duplex-app).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the installed package: scripts/check-linux-packages.sh runs it"]
async fn the_installed_package_opens_with_its_embedded_server_running() {
    let app = std::env::var("DUPLEX_INSTALLED_APP").expect("DUPLEX_INSTALLED_APP: the installed binary");
    let tmp = tempfile::tempdir().expect("tempdir");
    let driver = Driver::start(&tmp.path().join("data"), &tmp.path().join("export.csv"));
    let client = driver.session(&app).await;
    let server = wait_for(
        &client,
        "the embedded server's address",
        "document.querySelector('#server-status.ok') && document.querySelector('#server-status').textContent",
        Duration::from_secs(30),
    )
    .await;
    assert!(server.as_str().is_some_and(|s| s.contains("127.0.0.1:")), "{server}");
    let title = client.title().await.expect("title");
    assert_eq!(title, "Duplex");
    painted(&client).await;
    if let Some(shot) = std::env::var_os("DUPLEX_SCREENSHOT") {
        std::fs::write(shot, client.screenshot().await.expect("screenshot")).expect("screenshot written");
    }
    client.close().await.expect("session closed");
}
