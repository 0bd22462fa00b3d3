//! Headless Chromium driven over its DevTools protocol (JSON messages on a WebSocket): enough to
//! give a page a phone's size and read what a script there returns. Chromium started with
//! `--remote-debugging-port=0` writes the port it chose in its profile's `DevToolsActivePort`.

use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::WebSocket;
use tungstenite::stream::MaybeTlsStream;

pub struct Devtools {
    socket: WebSocket<MaybeTlsStream<TcpStream>>,
    /// The page's session (messages for the page carry it).
    session: String,
    next_id: u64,
}

impl Devtools {
    /// Attaches to the page of the Chromium whose profile is `profile`, once it shows a URL
    /// containing `url_part` (30 s at most).
    pub fn attach(profile: &Path, url_part: &str) -> Devtools {
        let deadline = Instant::now() + Duration::from_secs(30);
        let address = loop {
            let text = std::fs::read_to_string(profile.join("DevToolsActivePort")).unwrap_or_default();
            if let [port, path, ..] = text.lines().collect::<Vec<_>>()[..] {
                break format!("ws://127.0.0.1:{port}{path}");
            }
            assert!(Instant::now() < deadline, "Chromium wrote no DevToolsActivePort");
            std::thread::sleep(Duration::from_millis(100));
        };
        let (socket, _) = tungstenite::connect(address.as_str()).expect("the DevTools socket");
        let mut devtools = Devtools { socket, session: String::new(), next_id: 0 };
        let target = loop {
            let targets = devtools.call("Target.getTargets", json!({}));
            let page = targets["targetInfos"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|t| t["type"] == "page" && t["url"].as_str().is_some_and(|u| u.contains(url_part)));
            if let Some(page) = page {
                break page["targetId"].clone();
            }
            assert!(Instant::now() < deadline, "no page at {url_part}: {targets}");
            std::thread::sleep(Duration::from_millis(100));
        };
        let attached = devtools.call("Target.attachToTarget", json!({ "targetId": target, "flatten": true }));
        devtools.session = attached["sessionId"].as_str().expect("a session").to_owned();
        devtools
    }

    /// Sends `method` (to the page once attached) and returns its result.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.try_call(method, params).unwrap_or_else(|error| panic!("{method}: {error}"))
    }

    /// The same, or the error Chromium answered with.
    fn try_call(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        self.next_id += 1;
        let mut message = json!({ "id": self.next_id, "method": method, "params": params });
        if !self.session.is_empty() {
            message["sessionId"] = json!(self.session);
        }
        self.socket.send(tungstenite::Message::text(message.to_string())).expect("sent");
        loop {
            let reply = self.socket.read().expect("a DevTools message");
            let Ok(text) = reply.to_text() else { continue };
            let reply: Value = serde_json::from_str(text).expect("JSON");
            if reply["id"] == self.next_id {
                return match reply.get("error") {
                    Some(error) => Err(error.clone()),
                    None => Ok(reply["result"].clone()),
                };
            }
        }
    }

    /// The page's viewport `width` × `height` CSS pixels, as a phone's (`mobile`) or a laptop's,
    /// laid out and painted again.
    pub fn resize(&mut self, width: u32, height: u32, mobile: bool) {
        let metrics = json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile });
        self.call("Emulation.setDeviceMetricsOverride", metrics);
        self.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))");
    }

    /// What `expression` (awaited, if a promise) returns in the page.
    pub fn evaluate(&mut self, expression: &str) -> Value {
        let params = json!({ "expression": expression, "returnByValue": true, "awaitPromise": true });
        let result = self.call("Runtime.evaluate", params);
        assert!(result["exceptionDetails"].is_null(), "{expression}: {result}");
        result["result"]["value"].clone()
    }

    /// Evaluates `expression` until it is true (`timeout` at most); a page still loading (no
    /// context to evaluate in yet) is waited for too.
    pub fn wait_for(&mut self, what: &str, expression: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let params = json!({ "expression": expression, "returnByValue": true });
        while self.try_call("Runtime.evaluate", params.clone()).map(|r| r["result"]["value"].clone())
            != Ok(json!(true))
        {
            assert!(Instant::now() < deadline, "{what}: not within {timeout:?}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}
