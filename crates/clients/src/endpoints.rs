//! The URLs of one Duplex server, derived from any one of them (`ws://host:port`,
//! `https://host:port/…`): the server serves every endpoint on one port, in cleartext and over
//! TLS, so a target's scheme says nothing about which transports can be measured. A server in LAN mode
//! wants its access token on every request: give it in the target (`…?token=…`) and every
//! endpoint URL carries it.

use std::net::SocketAddr;

use reqwest::Url;

#[derive(Debug, Clone, PartialEq)]
pub struct Endpoints {
    /// `host:port` as given.
    pub authority: String,
    pub ws_echo: String,
    pub wss_echo: String,
    pub ws_push: String,
    pub http_echo: String,
    pub https_echo: String,
    /// Server-Sent Events.
    pub sse: String,
    /// WebTransport (HTTP/3 over QUIC on UDP, the same port number): echo and push sessions.
    pub wt_echo: String,
    pub wt_push: String,
    pub events_latest: String,
    pub events_next: String,
    pub health: String,
    /// The live monitor: WebSocket push, poll and long-poll of system snapshots.
    pub ws_monitor: String,
    pub monitor_latest: String,
    pub monitor_next: String,
    /// True when the host is a loopback address (same machine, so one clock).
    pub is_loopback: bool,
    /// The server's access token, when the target gave one.
    pub token: Option<String>,
    /// How clients reach the server: how TLS trusts it (the platform's trust store unless told
    /// otherwise) and the link relays in between.
    pub route: crate::wire::Route,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EndpointsError {
    #[error("invalid target URL {0:?}: {1}")]
    Invalid(String, String),
    #[error("target {0:?}: use a ws://, wss://, http:// or https:// URL")]
    Scheme(String),
}

impl Endpoints {
    pub fn for_addr(addr: SocketAddr) -> Endpoints {
        Self::from_authority(addr.to_string(), addr.ip().is_loopback(), None)
    }

    /// A server that is not Duplex's: its WebSocket echo URL and its HTTP endpoint, used as
    /// given (`ws://` or `wss://`, `http://` or `https://`). It has no events, monitor or health.
    /// A WebTransport echo URL (`https://`, over QUIC) may be given too.
    pub fn foreign(
        ws: Option<&str>,
        http: Option<&str>,
        wt: Option<&str>,
    ) -> Result<Endpoints, EndpointsError> {
        let check = |url: &str, schemes: &[&str]| -> Result<Url, EndpointsError> {
            let parsed = Url::parse(url).map_err(|e| EndpointsError::Invalid(url.into(), e.to_string()))?;
            if !schemes.contains(&parsed.scheme()) || parsed.host().is_none() {
                return Err(EndpointsError::Invalid(
                    url.into(),
                    format!("use a {} URL", schemes.join(":// or ")),
                ));
            }
            Ok(parsed)
        };
        let ws = ws.map(|u| check(u, &["ws", "wss"])).transpose()?;
        let http = http.map(|u| check(u, &["http", "https"])).transpose()?;
        let wt = wt.map(|u| check(u, &["https"])).transpose()?;
        let first = ws.as_ref().or(http.as_ref()).or(wt.as_ref()).ok_or_else(|| {
            EndpointsError::Invalid(
                String::new(),
                "give a WebSocket URL, an HTTP URL, a WebTransport URL, or more".into(),
            )
        })?;
        let mut endpoints = Endpoints::parse(first.as_str())?;
        let none = String::new();
        let ws = ws.map(String::from).unwrap_or_else(|| none.clone());
        let http = http.map(String::from).unwrap_or_else(|| none.clone());
        endpoints.ws_echo = ws.clone();
        endpoints.wss_echo = ws;
        endpoints.http_echo = http.clone();
        endpoints.https_echo = http;
        endpoints.wt_echo = wt.map(String::from).unwrap_or_default();
        for url in [
            &mut endpoints.ws_push,
            &mut endpoints.sse,
            &mut endpoints.wt_push,
            &mut endpoints.events_latest,
            &mut endpoints.events_next,
            &mut endpoints.health,
            &mut endpoints.ws_monitor,
            &mut endpoints.monitor_latest,
            &mut endpoints.monitor_next,
        ] {
            url.clear();
        }
        Ok(endpoints)
    }

    /// The same server, its TLS trusted as `trust` says (an embedded server's: its pinned
    /// certificate).
    pub fn trusting(mut self, trust: crate::tls::Trust) -> Endpoints {
        self.route.trust = trust;
        self
    }

    fn urls(&self) -> [&String; 14] {
        [
            &self.wt_echo,
            &self.wt_push,
            &self.ws_echo,
            &self.wss_echo,
            &self.ws_push,
            &self.http_echo,
            &self.https_echo,
            &self.sse,
            &self.events_latest,
            &self.events_next,
            &self.health,
            &self.ws_monitor,
            &self.monitor_latest,
            &self.monitor_next,
        ]
    }

    /// The distinct `host:port` the URLs reach (one for a Duplex server; a foreign server's
    /// WebSocket and HTTP URLs may name two).
    pub fn authorities(&self) -> Vec<String> {
        let mut found: Vec<String> = Vec::new();
        for url in self.urls() {
            if let Some(a) = Url::parse(url).ok().as_ref().and_then(authority_of)
                && !found.contains(&a)
            {
                found.push(a);
            }
        }
        found
    }

    /// The same endpoints reached through relays (`host:port` → the relay's address). Duplex's
    /// own connections dial the relay and keep the server's name (Host, TLS's server name and
    /// verification: [`Route`](crate::wire::Route)); the URLs reqwest dials (long-poll, poll,
    /// health, the monitor's polls) name the relay instead, as reqwest dials what a URL names.
    pub fn through(mut self, relays: &[(String, SocketAddr)]) -> Endpoints {
        self.route.via.extend_from_slice(relays);
        let dialed_by_reqwest = [
            &mut self.events_latest,
            &mut self.events_next,
            &mut self.health,
            &mut self.monitor_latest,
            &mut self.monitor_next,
        ];
        for url in dialed_by_reqwest {
            let Ok(mut parsed) = Url::parse(url) else { continue };
            let Some((_, relay)) = authority_of(&parsed).and_then(|a| relays.iter().find(|(r, _)| *r == a))
            else {
                continue;
            };
            if parsed.set_ip_host(relay.ip()).is_ok() && parsed.set_port(Some(relay.port())).is_ok() {
                *url = parsed.into();
            }
        }
        self
    }

    pub fn parse(target: &str) -> Result<Endpoints, EndpointsError> {
        let url = Url::parse(target).map_err(|e| EndpointsError::Invalid(target.into(), e.to_string()))?;
        if !matches!(url.scheme(), "ws" | "http" | "wss" | "https") {
            return Err(EndpointsError::Scheme(target.into()));
        }
        let host = url.host().ok_or_else(|| EndpointsError::Invalid(target.into(), "no host".into()))?;
        let authority =
            authority_of(&url).ok_or_else(|| EndpointsError::Invalid(target.into(), "no port".into()))?;
        let is_loopback = match &host {
            url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
            url::Host::Ipv4(ip) => ip.is_loopback(),
            url::Host::Ipv6(ip) => ip.is_loopback(),
        };
        let token = url.query_pairs().find(|(k, _)| k == "token").map(|(_, v)| v.into_owned());
        Ok(Self::from_authority(authority, is_loopback, token))
    }

    fn from_authority(authority: String, is_loopback: bool, token: Option<String>) -> Endpoints {
        let auth = match &token {
            Some(t) => {
                format!("?token={}", url::form_urlencoded::byte_serialize(t.as_bytes()).collect::<String>())
            }
            None => String::new(),
        };
        Endpoints {
            ws_echo: format!("ws://{authority}/ws{auth}"),
            wss_echo: format!("wss://{authority}/ws{auth}"),
            ws_push: format!("ws://{authority}/ws/push{auth}"),
            http_echo: format!("http://{authority}/echo{auth}"),
            https_echo: format!("https://{authority}/echo{auth}"),
            sse: format!("http://{authority}/events/sse{auth}"),
            wt_echo: format!("https://{authority}/wt/echo{auth}"),
            wt_push: format!("https://{authority}/wt/push{auth}"),
            events_latest: format!("http://{authority}/events/latest{auth}"),
            events_next: format!("http://{authority}/events/next{auth}"),
            health: format!("http://{authority}/health{auth}"),
            ws_monitor: format!("ws://{authority}/ws/monitor{auth}"),
            monitor_latest: format!("http://{authority}/monitor/latest{auth}"),
            monitor_next: format!("http://{authority}/monitor/next{auth}"),
            authority,
            is_loopback,
            token,
            route: crate::wire::Route::default(),
        }
    }
}

/// The AJAX echo by GET, as the paper's jQuery call sends it: `url` with the call's
/// `client_time`, `seq` and `payload` in its query (after a LAN server's token, if there).
pub(crate) fn echo_get_url(url: &str, client_time: f64, seq: u64, payload: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_time", &client_time.to_string())
        .append_pair("seq", &seq.to_string())
        .append_pair("payload", payload)
        .finish();
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{query}")
}

/// `url` with `key=value` added to its query, whether or not it has one.
pub fn with_query(url: &str, key: &str, value: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{key}={}", url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>())
}

/// A target URL fit to store or print: its access token replaced by `…`, whether the text is a
/// valid URL or not (see [`duplex_model::redact`]).
pub fn redact_token(target: &str) -> String {
    let Ok(mut url) = Url::parse(target) else { return duplex_model::redact::redact(target) };
    if !url.query_pairs().any(|(k, _)| k == "token") {
        return duplex_model::redact::redact(target);
    }
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "token" { "…".to_owned() } else { v.into_owned() };
            (k.into_owned(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.to_string()
}

/// `host:port` of a URL, its port the scheme's default when not given.
fn authority_of(url: &Url) -> Option<String> {
    let port = url.port_or_known_default()?;
    match url.host()? {
        url::Host::Ipv6(ip) => Some(format!("[{ip}]:{port}")),
        other => Some(format!("{other}:{port}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_url_of_the_server_gives_all_endpoints() {
        let e = Endpoints::parse("ws://127.0.0.1:9000").expect("valid");
        assert_eq!(e.http_echo, "http://127.0.0.1:9000/echo");
        assert_eq!(e.ws_push, "ws://127.0.0.1:9000/ws/push");
        assert!(e.is_loopback);
        let e = Endpoints::parse("http://example.test/whatever").expect("valid");
        assert_eq!(e.ws_echo, "ws://example.test:80/ws");
        assert!(!e.is_loopback);
        let e = Endpoints::parse("http://[::1]:81").expect("valid");
        assert_eq!(e.authority, "[::1]:81");
    }

    #[test]
    fn a_token_in_the_target_goes_to_every_endpoint_and_never_into_records() {
        let e = Endpoints::parse("http://192.168.1.20:9000/?token=abc%2Bd").expect("valid");
        assert_eq!(e.token.as_deref(), Some("abc+d"));
        assert_eq!(e.ws_echo, "ws://192.168.1.20:9000/ws?token=abc%2Bd");
        assert_eq!(e.health, "http://192.168.1.20:9000/health?token=abc%2Bd");
        assert_eq!(
            with_query(&e.events_next, "after", "7"),
            "http://192.168.1.20:9000/events/next?token=abc%2Bd&after=7"
        );
        assert_eq!(with_query("http://h:1/events/next", "after", "7"), "http://h:1/events/next?after=7");
        let shown = redact_token("ws://h:1/?token=secret&x=1");
        assert!(!shown.contains("secret"), "{shown}");
        assert_eq!(redact_token("ws://h:1/"), "ws://h:1/");
    }

    #[test]
    fn bad_targets_say_why() {
        assert!(matches!(Endpoints::parse("ftp://h:1"), Err(EndpointsError::Scheme(_))));
        let e = Endpoints::parse("https://h.test").expect("TLS targets are fine");
        assert_eq!(e.https_echo, "https://h.test:443/echo");
        assert_eq!(e.wss_echo, "wss://h.test:443/ws");
        assert!(matches!(Endpoints::parse("not a url"), Err(EndpointsError::Invalid(..))));
    }

    #[test]
    fn endpoints_through_a_relay_name_it_and_keep_the_servers_identity() {
        let relay: SocketAddr = "127.0.0.1:9999".parse().expect("addr");
        let e = Endpoints::parse("http://localhost:8080?token=t").expect("valid");
        assert_eq!(e.authorities(), vec!["localhost:8080".to_owned()]);
        let through = e.clone().through(&[("localhost:8080".into(), relay)]);
        // Duplex's own clients keep the server's name and dial the relay...
        assert_eq!(through.https_echo, "https://localhost:8080/echo?token=t");
        let (_, dial) = through.route.dial(&through.https_echo).expect("dial");
        assert_eq!(
            (dial.address.as_str(), dial.host.as_str(), dial.secure),
            ("127.0.0.1:9999", "localhost", true)
        );
        let (_, dial) = through.route.dial(&through.ws_echo).expect("dial");
        assert_eq!(dial.address, "127.0.0.1:9999");
        // ... and reqwest's URLs name the relay.
        assert_eq!(through.events_next, "http://127.0.0.1:9999/events/next?token=t");
        assert_eq!((through.authority.as_str(), through.is_loopback), ("localhost:8080", true));
        let foreign = Endpoints::foreign(Some("ws://127.0.0.1:1/echo"), Some("http://127.0.0.1:2"), None)
            .expect("valid");
        assert_eq!(foreign.authorities(), vec!["127.0.0.1:1".to_owned(), "127.0.0.1:2".to_owned()]);
        let through = foreign.through(&[("127.0.0.1:2".into(), relay)]);
        let dials = |url: &str| through.route.dial(url).expect("dial").1.address;
        assert_eq!(
            (dials(&through.ws_echo), dials(&through.http_echo)),
            ("127.0.0.1:1".into(), "127.0.0.1:9999".into())
        );
    }
}
