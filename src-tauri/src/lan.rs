//! "Serve on LAN": a second echo server, reachable from other devices behind a random access
//! token. Browsers that open its URL (or scan its QR code) get the app's own join page, run
//! the test there, and their runs land in this app's history.

use std::sync::Arc;

use duplex_core::clients::Transport;
use duplex_core::link::{LabelledLink, Link, Relay};
use duplex_core::plan::Plan;
use duplex_core::server::join::{Asset, BrowserJoin, ResultSink, WebAssets};
use duplex_core::server::{ServerConfig, ServerThread, lan};
use serde::{Deserialize, Serialize};
use tauri::Runtime;
use ts_rs::TS;

use crate::error::{AppError, AppResult};

/// The LAN server while it runs.
pub struct LanServer {
    _server: ServerThread,
    /// Over an emulated link: the relay browsers reach the server through.
    _relay: Option<Relay>,
    info: LanInfo,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LanInfo {
    /// What it listens on, e.g. "0.0.0.0:9000".
    pub address: String,
    /// URLs other devices can open, with the token; one per network address of this device.
    pub urls: Vec<String>,
    /// The access token, for typing into a device that cannot scan or paste.
    pub token: String,
    /// QR code of the first URL, as SVG.
    pub qr_svg: Option<String>,
    /// What joined browsers run.
    pub plan: Plan,
    /// Its shape in words ([`Plan::shape`]).
    pub plan_text: String,
    /// Its emulated link with its label, if it has one.
    pub link: Option<LabelledLink>,
    /// SHA-256 of its TLS certificate (made at its start): what a native client elsewhere
    /// trusts with `--fingerprint`, and a browser shows before it accepts it.
    pub tls_fingerprint: Option<String>,
}

#[derive(Debug, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LanRequest {
    /// 0 for any free port.
    pub port: u16,
    pub sets: u32,
    pub calls: u32,
    /// The link joined browsers measure over: the URLs they open are a relay's.
    #[serde(default)]
    #[ts(optional)]
    pub link: Option<Link>,
}

/// The app's embedded front end (join.html and its scripts), served to joining browsers.
pub struct AppAssets<R: Runtime>(pub tauri::AssetResolver<R>);

impl<R: Runtime> WebAssets for AppAssets<R> {
    fn get(&self, path: &str) -> Option<Asset> {
        self.0.get(path.to_owned()).map(|a| Asset { bytes: a.bytes, mime: a.mime_type })
    }
}

impl LanServer {
    /// A second server on every network address (`request.port`, 0 for any), behind a fresh
    /// access token, serving the join page from `assets` and handing joined runs to `sink`.
    /// Over a link (`request.link`), browsers open a relay's port on every network address.
    pub async fn start(
        request: &LanRequest,
        assets: Arc<dyn WebAssets>,
        sink: ResultSink,
    ) -> AppResult<LanServer> {
        let link = request.link.clone().filter(|l| !l.is_direct());
        let plan = Plan {
            transports: vec![Transport::Ws, Transport::Http, Transport::Xhr],
            sets: request.sets,
            calls: request.calls,
            link: link.clone(),
            ..Plan::preset("quick")?
        }
        .joined()
        .check()?;
        let join = BrowserJoin::new(&plan, assets, sink).map_err(AppError::Lan)?;
        let config = ServerConfig {
            browser_join: Some(join),
            ..ServerConfig::lan(std::net::SocketAddr::from(([0, 0, 0, 0], request.port)))
        };
        let token = config.access_token.clone().unwrap_or_default();
        let server = ServerThread::spawn(config).map_err(|e| AppError::Lan(e.to_string()))?;
        let relay = match &link {
            Some(link) => Some(
                Relay::in_front_of(server.local_addr(), link)
                    .await
                    .map_err(|e| AppError::Lan(format!("cannot start the link relay: {e}")))?,
            ),
            None => None,
        };
        let browsers = relay.as_ref().map_or(server.local_addr(), Relay::local_addr);
        let urls = lan::join_urls(browsers, &token);
        let info = LanInfo {
            address: server.local_addr().to_string(),
            qr_svg: urls.first().and_then(|u| lan::qr_svg(u).ok()),
            urls,
            token,
            plan_text: plan.shape(),
            link: link.as_ref().map(Link::labelled),
            plan: plan.into_plan(),
            tls_fingerprint: server.tls().map(|t| t.fingerprint().to_owned()),
        };
        Ok(LanServer { _server: server, _relay: relay, info })
    }

    pub fn info(&self) -> &LanInfo {
        &self.info
    }
}
