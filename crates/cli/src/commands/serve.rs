//! `duplex serve`: the echo server alone, for clients and browsers on other machines.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use duplex_core::clients::{Transport, WebTrust};
use duplex_core::link::Relay;
use duplex_core::plan::{CheckedPlan, Plan};
use duplex_core::server::Limits;
use duplex_core::server::join::{BrowserJoin, DirAssets};
use duplex_core::server::{Server, ServerConfig, lan, new_token};
use duplex_core::session::join_sink;
use duplex_core::stats::platforms::platform_label;

use crate::commands::history::open_history;
use crate::options::{HistoryArgs, PinArgs, link_of, transport_of};
use crate::out;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:9000, or 0.0.0.0:9000 with --lan].
    #[arg(long)]
    pub bind: Option<SocketAddr>,
    /// LAN mode: reachable from other devices behind a random access token, shown as a URL and
    /// a QR code. Browsers that open the URL run the test and their results are stored here.
    #[arg(long)]
    pub lan: bool,
    /// Use this access token instead of a random one (scripted setups; 16 characters or more).
    #[arg(long, requires = "lan")]
    pub token: Option<String>,
    /// What joined browsers run: a preset (quick, paper, push, energy)…
    #[arg(long, default_value = "quick", value_name = "PRESET")]
    pub join_preset: String,
    /// …with these transports (WebTransport where the browser has it and the page is a secure
    /// context, as on this machine's own address; a page from another machine over plain http
    /// says why it has none)…
    #[arg(long, value_delimiter = ',', default_value = "ws,http,xhr",
          value_parser = transport_of(|t| t.webview_refusal(WebTrust::Untrusted).is_none()))]
    pub join_transports: Vec<Transport>,
    /// …and this many sets…
    #[arg(long)]
    pub join_sets: Option<u32>,
    /// …of this many calls per transport…
    #[arg(long)]
    pub join_calls: Option<u32>,
    /// …over this emulated link (as bench --link: 4g, rtt=80ms,down=8mbit, a .toml profile):
    /// the URL browsers open is a link relay's, so the page and every connection it makes go
    /// through it.
    #[arg(long, value_name = "LINK", requires = "lan")]
    pub join_link: Option<String>,
    /// The built web client served to browsers [default: $DUPLEX_WEB_DIR, else ui/dist of this
    /// source tree].
    #[arg(long, value_name = "DIR")]
    pub web_dir: Option<PathBuf>,
    #[command(flatten)]
    pub history: HistoryArgs,
    /// Period of the server's tick event (push transports), ms.
    #[arg(long, default_value_t = 100)]
    pub tick_ms: u64,
    /// Each tick carries this process's CPU time, so that `duplex fanout --target` sees what a
    /// broadcast costs the server.
    #[arg(long)]
    pub tick_cpu: bool,
    /// Live-monitor snapshots per second while someone watches (0.1–20).
    #[arg(long, default_value_t = 1.0)]
    pub monitor_hz: f64,
    /// Largest WebSocket message / HTTP body accepted, bytes.
    #[arg(long, default_value_t = 1 << 20)]
    pub max_message: usize,
    /// Also answer requests to this host name (repeatable). The server answers only its own
    /// names and addresses otherwise, so that no web page can reach it by DNS rebinding.
    #[arg(long = "allow-host", value_name = "NAME")]
    pub allow_hosts: Vec<String>,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub pin: PinArgs,
}

impl ServeArgs {
    pub fn bind(&self) -> SocketAddr {
        self.bind
            .unwrap_or_else(|| SocketAddr::from((if self.lan { [0, 0, 0, 0] } else { [127, 0, 0, 1] }, 9000)))
    }

    /// The plan joined browsers run.
    pub fn join_plan(&self) -> anyhow::Result<CheckedPlan> {
        let mut plan = Plan::preset(&self.join_preset)?;
        plan.transports = self.join_transports.clone();
        plan.sets = self.join_sets.unwrap_or(plan.sets);
        plan.calls = self.join_calls.unwrap_or(plan.calls);
        plan.link = self.join_link()?;
        Ok(plan.joined().check()?)
    }

    /// The link joined browsers measure over (`--join-link`), if it delays or paces anything.
    pub fn join_link(&self) -> anyhow::Result<Option<duplex_core::link::Link>> {
        let link = self.join_link.as_deref().map(link_of).transpose();
        let link = link.map_err(|e| anyhow::anyhow!("--join-link: {e}"))?;
        Ok(link.filter(|l| !l.is_direct()))
    }

    /// Where the built web client is, if anywhere.
    pub fn web_dir(&self) -> Option<PathBuf> {
        let built_here = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../ui/dist"));
        self.web_dir
            .clone()
            .or_else(|| std::env::var_os(WEB_DIR_ENV).map(PathBuf::from))
            .or_else(|| built_here.join("join.html").is_file().then_some(built_here))
    }
}

/// The server's limits (see docs/security.md); over one, a client gets a clear status or
/// close code.
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Connections open at once, WebSockets included (more: HTTP 503).
    #[arg(long, default_value_t = Limits::default().max_connections)]
    pub max_connections: usize,
    /// Connections open at once from one address (more: HTTP 503).
    #[arg(long, default_value_t = Limits::default().max_connections_per_peer)]
    pub max_connections_per_peer: usize,
    /// Bytes of a request's line and headers (more: HTTP 431).
    #[arg(long, default_value_t = Limits::default().max_header_bytes)]
    pub max_header_bytes: usize,
    /// Headers in one request (more: HTTP 431).
    #[arg(long, default_value_t = Limits::default().max_headers)]
    pub max_headers: usize,
    /// Seconds to send a request's headers; also the longest idle keep-alive (then: closed).
    #[arg(long, default_value_t = Limits::default().header_timeout.as_secs_f64())]
    pub header_timeout_s: f64,
    /// Seconds an echo WebSocket may go without a message (then: close 1008).
    #[arg(long, default_value_t = Limits::default().ws_idle_timeout.as_secs_f64())]
    pub ws_idle_s: f64,
    /// Long-polls waiting at once (more: HTTP 503).
    #[arg(long, default_value_t = Limits::default().max_long_polls)]
    pub max_long_polls: usize,
    /// HTTP/2 streams open at once on one connection (more: stream refused).
    #[arg(long, default_value_t = Limits::default().max_streams_per_connection)]
    pub max_streams: u32,
}

impl LimitArgs {
    pub fn limits(&self) -> anyhow::Result<Limits> {
        let seconds = |name: &str, s: f64| {
            if s.is_finite() && s > 0.0 && s < 1e6 {
                Ok(std::time::Duration::from_secs_f64(s))
            } else {
                Err(anyhow::anyhow!("--{name}: give a number of seconds above 0"))
            }
        };
        let at_least_one = |name: &str, n: usize| {
            if n >= 1 { Ok(n) } else { Err(anyhow::anyhow!("--{name}: must be at least 1")) }
        };
        Ok(Limits {
            max_connections: at_least_one("max-connections", self.max_connections)?,
            max_connections_per_peer: at_least_one(
                "max-connections-per-peer",
                self.max_connections_per_peer,
            )?,
            max_header_bytes: self.max_header_bytes.max(1024),
            max_headers: at_least_one("max-headers", self.max_headers)?,
            header_timeout: seconds("header-timeout-s", self.header_timeout_s)?,
            ws_idle_timeout: seconds("ws-idle-s", self.ws_idle_s)?,
            max_long_polls: at_least_one("max-long-polls", self.max_long_polls)?,
            max_streams_per_connection: u32::try_from(at_least_one(
                "max-streams",
                self.max_streams as usize,
            )?)
            .unwrap_or(u32::MAX),
        })
    }
}

/// The built web client for browser join, when --web-dir is not given.
pub const WEB_DIR_ENV: &str = "DUPLEX_WEB_DIR";

pub async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let bind = args.bind();
    let join_link = args.join_link()?;
    let mut config = ServerConfig {
        bind,
        tick_interval: Duration::from_millis(args.tick_ms.max(1)),
        tick_cpu: args.tick_cpu,
        monitor_hz: args.monitor_hz,
        max_message_bytes: args.max_message,
        allowed_hosts: args.allow_hosts.clone(),
        limits: args.limits.limits()?,
        ..ServerConfig::default()
    };
    let mut notes = Vec::new();
    // Every connection is an open file: the soft limit goes up to the hard one where the OS
    // allows (0: no such limit here).
    let files = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(0);
    let connections = u64::try_from(config.limits.max_connections).unwrap_or(u64::MAX);
    if files != 0 && files < connections.saturating_add(64) {
        notes.push(format!(
            "this process may open {files} files (the system's hard limit): about {} connections at once, \
             fewer than --max-connections {connections}",
            files.saturating_sub(64)
        ));
    }
    let mut relays = Vec::new();
    if args.lan {
        let token = match &args.token {
            Some(t) if t.chars().count() < 16 => anyhow::bail!("--token: use 16 characters or more"),
            Some(t) => t.clone(),
            None => new_token(),
        };
        config.access_token = Some(token);
        match browser_join(&args) {
            Ok(join) => {
                notes.push(format!(
                    "joined browsers' results are stored in {}",
                    args.history.path()?.display()
                ));
                config.browser_join = Some(join);
            }
            Err(why) => notes.push(format!("browser join is off: {why}")),
        }
    }
    let server = Server::start(config.clone()).await.map_err(|e| match e {
        duplex_core::server::ServerError::AddrInUse { addr } => anyhow::anyhow!(
            "{e}: for example duplex serve{} --bind {}:{}",
            if args.lan { " --lan" } else { "" },
            addr.ip(),
            if addr.port() == 9000 { 9001 } else { 0 }
        ),
        other => other.into(),
    })?;
    let addr = server.local_addr();
    out(&format!(
        "duplex echo server on {addr}\n  HTTP/1.1 and HTTP/2, cleartext and TLS, all on this one port\n"
    ));
    match (server.quic_addr(), server.quic_unavailable()) {
        (Some(quic), _) => out(&format!(
            "  HTTP/3 and WebTransport on UDP {quic}: https://{quic}/wt/echo | /wt/plain | /wt/push\n"
        )),
        (None, Some(why)) => out(&format!("  {why}\n")),
        (None, None) => {}
    }
    let fingerprint = server.tls().map(|t| t.fingerprint());
    if let Some(f) = &fingerprint {
        out(&format!(
            "  TLS certificate made at start, valid 13 days (renewed a day before), SHA-256 {f}\n  \
             (clients elsewhere trust exactly it with --fingerprint; browsers ask you to accept it,\n  \
             or take it by this hash for WebTransport: serverCertificateHashes)\n"
        ));
    }
    if let Some(mut renewals) = server.tls().map(|t| t.renewals()) {
        renewals.mark_unchanged();
        tokio::spawn(async move {
            while renewals.changed().await.is_ok() {
                let sha = renewals.borrow_and_update().clone();
                out(&format!(
                    "TLS certificate renewed (the last one expires within a day): SHA-256 {sha}\n  \
                     clients elsewhere now trust it with --fingerprint {sha}\n"
                ));
            }
        });
    }
    let pin = fingerprint.map(|f| format!(" --fingerprint {f}")).unwrap_or_default();
    match &config.access_token {
        None => out(&format!(
            "  WebSocket echo  ws://{addr}/ws  wss://{addr}/ws   plain echo ws://{addr}/ws/echo\n  \
             AJAX echo       http://{addr}/echo  https://{addr}/echo (h2 by ALPN)\n  \
             events          ws://{addr}/ws/push  http://{addr}/events/sse | /events/latest | /events/next\n  \
             loopback only; for other devices: duplex serve --lan\n"
        )),
        Some(token) => {
            out("  LAN mode: every request needs the access token in its URL\n");
            // Over a link, browsers open the relay's port: the page and every connection it
            // makes cross the link; native clients may use the server's port (and --link).
            let relay = match &join_link {
                Some(link) => {
                    Some(Relay::in_front_of(addr, link).await.context("starting the join link's relay")?)
                }
                None => None,
            };
            let browsers = relay.as_ref().map_or(addr, |r| r.local_addr());
            for url in lan::join_urls(browsers, token) {
                out(&format!("  open in a browser: {url}\n"));
            }
            if let (Some(link), Some(relay)) = (&join_link, &relay) {
                out(&format!(
                    "  browsers join over the link {} (port {}, a relay; no loss emulated)\n",
                    link.describe(),
                    relay.local_addr().port()
                ));
            }
            relays.extend(relay);
            let urls = lan::join_urls(addr, token);
            match urls.first() {
                Some(url) => {
                    if let Ok(qr) = lan::qr_text(url) {
                        out(&format!("{qr}\n"));
                    }
                    out(&format!("  native clients elsewhere: duplex bench --target '{url}'{pin}\n"));
                }
                None => out("  no network address found: is this machine on a network?\n"),
            }
        }
    }
    for note in notes {
        out(&format!("  {note}\n"));
    }
    let shutdown = server.shutdown_token();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        shutdown.cancel();
    });
    server.wait().await?;
    drop(relays);
    Ok(ExitCode::SUCCESS)
}

/// Browser join for `duplex serve --lan`: the built web client, and a sink into the history.
pub fn browser_join(args: &ServeArgs) -> anyhow::Result<BrowserJoin> {
    let dir = args.web_dir().ok_or_else(|| {
        anyhow::anyhow!(
            "no built web client (build it with npm ci && npm run build in ui/, then pass --web-dir ui/dist)"
        )
    })?;
    let assets = DirAssets::new(dir).map_err(anyhow::Error::msg)?;
    let history = std::sync::Mutex::new(open_history(&args.history)?);
    let sink = join_sink(move |record, headline| {
        history.lock().map_err(|e| e.to_string())?.save(record, headline).map_err(|e| e.to_string())?;
        let short: String = record.id.chars().take(8).collect();
        out(&format!(
            "stored run {short} from {}: {}\n",
            platform_label(record),
            headline.unwrap_or("no verdict")
        ));
        Ok(())
    });
    BrowserJoin::new(&args.join_plan()?, std::sync::Arc::new(assets), sink).map_err(anyhow::Error::msg)
}
