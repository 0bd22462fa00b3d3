//! Where a run's clients send their messages ([`Target`]): the embedded server, a Duplex server
//! elsewhere or a foreign one; opening it, checking it answers, and the guard that stops an
//! embedded server when the run ends.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use duplex_model::plan::Plan;

use duplex_clients::{Endpoints, Transport, Trust};
use duplex_model::protocol::{Health, message_bytes_for};
use duplex_model::record::Topology;
use duplex_model::transport::ForeignMessages;
use duplex_server::{Server, ServerConfig, ServerThread};

/// Where the clients send their messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Target {
    /// A fresh embedded server for this run, on the clients' thread or on its own.
    Embedded { topology: Topology },
    /// A running Duplex server (`duplex serve`), by any of its URLs; its TLS trusted as
    /// `trust` says (the platform's trust store unless told otherwise).
    Remote {
        url: String,
        #[serde(skip)]
        trust: Trust,
    },
    /// A server that is not Duplex's: its WebSocket echo URL and/or its HTTP endpoint, used
    /// as given, with the messages to send them. It has no health check, events or server
    /// time.
    Foreign {
        ws: Option<String>,
        http: Option<String>,
        /// Its WebTransport echo (`https://`, over QUIC).
        #[serde(default)]
        wt: Option<String>,
        #[serde(skip)]
        trust: Trust,
        #[serde(skip)]
        messages: ForeignMessages,
    },
    /// A server already running in this process on a thread of its own (the app's), and how
    /// its TLS is trusted ([`own_trust`]; none without TLS).
    InProcess {
        addr: std::net::SocketAddr,
        #[serde(skip)]
        trust: Option<Trust>,
    },
}

impl Target {
    /// A remote target, refused here if its URL cannot be one (a scheme Duplex does not speak,
    /// a malformed URL): before anything runs, not as a failed run.
    pub fn remote(url: &str) -> Result<Target, String> {
        Endpoints::parse(url).map_err(|e| e.to_string())?;
        Ok(Target::Remote { url: url.to_owned(), trust: Trust::default() })
    }

    /// A foreign server, refused here if its URLs cannot be used.
    pub fn foreign(
        ws: Option<&str>,
        http: Option<&str>,
        messages: ForeignMessages,
    ) -> Result<Target, String> {
        Target::foreign_with_wt(ws, http, None, messages)
    }

    /// A foreign server with a WebTransport echo too (`https://…`, over QUIC).
    pub fn foreign_with_wt(
        ws: Option<&str>,
        http: Option<&str>,
        wt: Option<&str>,
        messages: ForeignMessages,
    ) -> Result<Target, String> {
        Endpoints::foreign(ws, http, wt).map_err(|e| e.to_string())?;
        Ok(Target::Foreign {
            ws: ws.map(str::to_owned),
            http: http.map(str::to_owned),
            wt: wt.map(str::to_owned),
            trust: Trust::default(),
            messages,
        })
    }

    /// A foreign server by one URL: a WebSocket echo server (`ws://`, `wss://`) or an HTTP
    /// endpoint (`http://`, `https://`), as its scheme says.
    pub fn foreign_url(url: &str, messages: ForeignMessages) -> Result<Target, String> {
        match scheme(Some(url)) {
            Some("ws" | "wss") => Target::foreign(Some(url), None, messages),
            _ => Target::foreign(None, Some(url), messages),
        }
    }

    /// The echo transports a foreign server's URLs offer, by their schemes: `ws` or `wss`;
    /// `http`, `http-new` or `https`, `https-new`; a WebTransport URL `wt`, `wt-streams`, `wt-dgram`.
    pub fn foreign_transports(ws: Option<&str>, http: Option<&str>, wt: Option<&str>) -> Vec<Transport> {
        use Transport::*;
        [Ws, Wss, Http, HttpNew, Https, HttpsNew, Wt, WtStreams, WtDgram]
            .into_iter()
            .filter(|&t| foreign_url(t, ws, http, wt).is_some_and(|(want, _, url)| scheme(url) == Some(want)))
            .collect()
    }

    /// The same target, a remote server's TLS trusted as `trust` says.
    pub fn trusting(self, trust: Trust) -> Target {
        match self {
            Target::Remote { url, .. } => Target::Remote { url, trust },
            Target::Foreign { ws, http, wt, messages, .. } => {
                Target::Foreign { ws, http, wt, trust, messages }
            }
            other => other,
        }
    }

    /// Which transports a foreign server can be measured with: the echo transports its URLs'
    /// schemes say (`ws` or `wss`; `http`, `http-new` or `https`, `https-new`, `h2`).
    pub fn check_transports(&self, transports: &[Transport]) -> Result<(), String> {
        let Target::Foreign { ws, http, wt, .. } = self else { return Ok(()) };
        for &t in transports {
            let Some((want, flag, url)) = foreign_url(t, ws.as_deref(), http.as_deref(), wt.as_deref())
            else {
                return Err(format!(
                    "{t} needs a Duplex server's events; a foreign server is measured with its echo only"
                ));
            };
            if scheme(url) != Some(want) {
                return Err(format!(
                    "{t} needs the server's {want}:// URL (the command line: --{flag} {want}://…)"
                ));
            }
        }
        Ok(())
    }

    /// How the target is named in the record ("embedded" or the URL without its token).
    pub fn name(&self) -> String {
        match self {
            Target::Embedded { .. } | Target::InProcess { .. } => "embedded".to_owned(),
            Target::Remote { url, .. } => duplex_clients::redact_token(url),
            Target::Foreign { ws, http, .. } => [ws, http]
                .into_iter()
                .flatten()
                .map(|u| duplex_clients::redact_token(u))
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

impl Default for Target {
    fn default() -> Self {
        Target::Embedded { topology: Topology::SameThread }
    }
}

/// The server a run talks to, stopped when the run ends.
pub(super) enum ServerGuard {
    Local(Server),
    Thread(ServerThread),
    External,
}

impl ServerGuard {
    pub(super) async fn stop(self) {
        match self {
            ServerGuard::Local(s) => {
                let _ = s.shutdown().await;
            }
            ServerGuard::Thread(t) => {
                let _ = tokio::task::spawn_blocking(move || t.shutdown()).await;
            }
            ServerGuard::External => {}
        }
    }
}

pub(super) async fn open_target(
    target: &Target,
    plan: &Plan,
) -> Result<(Endpoints, Topology, ServerGuard), String> {
    let config = ServerConfig {
        tick_interval: Duration::from_millis(plan.tick_ms),
        // Room for the plan's payload inside its JSON envelope.
        max_message_bytes: ServerConfig::default()
            .max_message_bytes
            .max(message_bytes_for(plan.payload_bytes)),
        ..ServerConfig::default()
    };
    match target {
        Target::Embedded { topology: Topology::CrossThread } => {
            let server = ServerThread::spawn(config).map_err(|e| e.to_string())?;
            let endpoints = pinned(Endpoints::for_addr(server.local_addr()), server.tls());
            Ok((endpoints, Topology::CrossThread, ServerGuard::Thread(server)))
        }
        Target::Embedded { .. } => {
            let server = Server::start(config).await.map_err(|e| e.to_string())?;
            if let Some(why) = server.quic_unavailable()
                && let Some(t) = plan.transports.iter().find(|t| t.is_quic())
            {
                return Err(format!("{t} cannot be measured here: {why}"));
            }
            // On a multi-threaded runtime the server's tasks may run on other threads.
            let topology = match tokio::runtime::Handle::current().runtime_flavor() {
                tokio::runtime::RuntimeFlavor::CurrentThread => Topology::SameThread,
                _ => Topology::CrossThread,
            };
            let endpoints = pinned(Endpoints::for_addr(server.local_addr()), server.tls());
            Ok((endpoints, topology, ServerGuard::Local(server)))
        }
        Target::Remote { url, trust } => {
            let endpoints = Endpoints::parse(url).map_err(|e| e.to_string())?.trusting(trust.clone());
            check_health(&endpoints, plan).await?;
            let topology = if endpoints.is_loopback { Topology::SeparateProcess } else { Topology::Remote };
            Ok((endpoints, topology, ServerGuard::External))
        }
        Target::Foreign { ws, http, wt, trust, .. } => {
            target.check_transports(&plan.transports)?;
            let endpoints = Endpoints::foreign(ws.as_deref(), http.as_deref(), wt.as_deref())
                .map_err(|e| e.to_string())?
                .trusting(trust.clone());
            // Refused at once, before the idle baseline, as a Duplex server's health is: a
            // foreign server has none, so its port is tried (over TCP; a QUIC-only server's
            // first call says whether it answers).
            if plan.transports.iter().any(|t| !t.is_quic()) {
                reachable(&endpoints).await?;
            }
            let topology = if endpoints.is_loopback { Topology::SeparateProcess } else { Topology::Remote };
            Ok((endpoints, topology, ServerGuard::External))
        }
        Target::InProcess { addr, trust } => {
            let mut endpoints = Endpoints::for_addr(*addr);
            if let Some(trust) = trust {
                endpoints = endpoints.trusting(trust.clone());
            }
            check_health(&endpoints, plan).await?;
            Ok((endpoints, Topology::CrossThread, ServerGuard::External))
        }
    }
}

/// Whether every server address of `endpoints` takes a TCP connection (within 5 s).
async fn reachable(endpoints: &Endpoints) -> Result<(), String> {
    for authority in endpoints.authorities() {
        let refused = |why: String| {
            format!("cannot reach {authority}: {why} (is the server running, and on that port?)")
        };
        match tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(&authority)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(refused(e.to_string())),
            Err(_) => return Err(refused("no answer within 5 s".into())),
        }
    }
    Ok(())
}

/// An embedded server's endpoints, its certificate pinned.
/// The endpoints of a server this process started, its certificate pinned: its TLS and QUIC
/// clients trust exactly it.
pub fn own_endpoints(addr: std::net::SocketAddr, tls: Option<&duplex_server::TlsIdentity>) -> Endpoints {
    pinned(Endpoints::for_addr(addr), tls)
}

fn pinned(endpoints: Endpoints, tls: Option<&duplex_server::TlsIdentity>) -> Endpoints {
    match tls {
        Some(identity) => endpoints.trusting(own_trust(identity)),
        None => endpoints,
    }
}

/// How this process's clients trust a server it runs: its certificate pinned, and the ones it
/// renews it to while they run.
pub fn own_trust(tls: &duplex_server::TlsIdentity) -> Trust {
    Trust::Renewing(duplex_clients::Renewing::new(tls.renewals()))
}

/// Makes sure the target is a Duplex server that takes the plan's messages, before measuring
/// anything (and before the idle baseline).
async fn check_health(endpoints: &Endpoints, plan: &Plan) -> Result<Health, String> {
    let client = duplex_clients::build_http_client(true).map_err(|e| e.to_string())?;
    let not_duplex = |why: String| format!("{} is not a reachable Duplex server: {why}", endpoints.authority);
    let response = client
        .get(&endpoints.health)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .map_err(|e| not_duplex(e.to_string()))?;
    if response.status() == reqwest::StatusCode::UNAUTHORIZED {
        return Err(format!(
            "{} is a Duplex server in LAN mode: target the URL it shows, with its access token (…?token=…)",
            endpoints.authority
        ));
    }
    let health: Health = response.json().await.map_err(|e| not_duplex(e.to_string()))?;
    if health.name != "duplex" {
        return Err(not_duplex(format!("/health names {:?}", health.name)));
    }
    let needed = message_bytes_for(plan.payload_bytes);
    if health.max_message_bytes < needed {
        return Err(format!(
            "a payload of {} bytes needs messages of up to {needed} bytes (twice the payload, as JSON may \
             escape it, and 4,096 for the envelope), but the server at {} takes at most {}: choose a \
             smaller payload, or start that server with --max-message {needed}",
            plan.payload_bytes, endpoints.authority, health.max_message_bytes
        ));
    }
    Ok(health)
}

/// A URL's scheme, as written before `://`.
/// The URL scheme a foreign server must offer for an echo transport; None for the transports
/// that need a Duplex server's events.
fn echo_scheme(t: Transport) -> Option<&'static str> {
    match t {
        Transport::Ws => Some("ws"),
        Transport::Wss => Some("wss"),
        Transport::Http | Transport::HttpNew => Some("http"),
        Transport::Https | Transport::HttpsNew | Transport::H2 | Transport::H3 | Transport::H3New => {
            Some("https")
        }
        Transport::Wt | Transport::WtStreams | Transport::WtDgram => Some("https"),
        _ => None,
    }
}

/// Which of a foreign server's URLs a transport echoes over: the scheme it needs, the
/// command-line flag that gives it (`ws`, `http`, `wt`), and the URL given there.
fn foreign_url<'a>(
    t: Transport,
    ws: Option<&'a str>,
    http: Option<&'a str>,
    wt: Option<&'a str>,
) -> Option<(&'static str, &'static str, Option<&'a str>)> {
    let want = echo_scheme(t)?;
    Some(match t {
        Transport::Wt | Transport::WtStreams | Transport::WtDgram => (want, "wt", wt),
        _ if want.starts_with("ws") => (want, "ws", ws),
        _ => (want, "http", http),
    })
}

fn scheme(url: Option<&str>) -> Option<&str> {
    url.and_then(|u| u.split_once("://")).map(|(scheme, _)| scheme)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Transport::*;

    /// What a foreign server's URLs offer is exactly what it may be measured with.
    #[test]
    fn a_foreign_servers_schemes_say_its_transports_both_ways() {
        for (ws, http, offered) in [
            (Some("ws://127.0.0.1:1/"), Some("http://127.0.0.1:1/echo"), vec![Ws, Http, HttpNew]),
            (Some("wss://127.0.0.1:1/"), Some("https://127.0.0.1:1/echo"), vec![Wss, Https, HttpsNew]),
            (None, Some("https://127.0.0.1:1/echo"), vec![Https, HttpsNew]),
            (Some("ws://127.0.0.1:1/"), None, vec![Ws]),
        ] {
            assert_eq!(Target::foreign_transports(ws, http, None), offered, "{ws:?} {http:?}");
            let target = Target::foreign(ws, http, ForeignMessages::default()).expect("valid URLs");
            assert_eq!(target.check_transports(&offered), Ok(()));
            for other in [Ws, Wss, Http, Https, Wt].into_iter().filter(|t| !offered.contains(t)) {
                assert!(target.check_transports(&[other]).is_err(), "{other} accepted for {ws:?} {http:?}");
            }
        }
        let wt = Some("https://127.0.0.1:1/wt");
        assert_eq!(Target::foreign_transports(None, None, wt), vec![Wt, WtStreams, WtDgram]);
        let target = Target::foreign_with_wt(None, None, wt, ForeignMessages::default()).expect("valid");
        assert_eq!(target.check_transports(&[Wt, WtStreams, WtDgram]), Ok(()));
        let refused = target.check_transports(&[Ws]).expect_err("no ws URL");
        assert!(refused.contains("--ws"), "{refused}");
        let no_wt = Target::foreign(None, Some("https://127.0.0.1:1/echo"), ForeignMessages::default())
            .expect("valid");
        assert!(no_wt.check_transports(&[Wt]).expect_err("no wt URL").contains("--wt https://"));
        assert_eq!(no_wt.check_transports(&[H3]), Ok(()), "h3 takes the https URL");
    }
}
