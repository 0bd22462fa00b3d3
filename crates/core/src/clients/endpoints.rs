//! The URLs of one Duplex server, derived from any one of them (`ws://host:port`,
//! `http://host:port/…`): the server serves every endpoint on one port.

use std::net::SocketAddr;

use reqwest::Url;

#[derive(Debug, Clone, PartialEq)]
pub struct Endpoints {
    /// `host:port` as given.
    pub authority: String,
    pub ws_echo: String,
    pub ws_push: String,
    pub http_echo: String,
    pub events_latest: String,
    pub events_next: String,
    pub health: String,
    /// True when the host is a loopback address (same machine, so one clock).
    pub is_loopback: bool,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EndpointsError {
    #[error("invalid target URL {0:?}: {1}")]
    Invalid(String, String),
    #[error("target {0:?}: use a ws:// or http:// URL (TLS targets are not supported)")]
    Scheme(String),
}

impl Endpoints {
    pub fn for_addr(addr: SocketAddr) -> Endpoints {
        Self::from_authority(addr.to_string(), addr.ip().is_loopback())
    }

    pub fn parse(target: &str) -> Result<Endpoints, EndpointsError> {
        let url = Url::parse(target).map_err(|e| EndpointsError::Invalid(target.into(), e.to_string()))?;
        if !matches!(url.scheme(), "ws" | "http") {
            return Err(EndpointsError::Scheme(target.into()));
        }
        let host = url.host().ok_or_else(|| EndpointsError::Invalid(target.into(), "no host".into()))?;
        let port = url.port_or_known_default().unwrap_or(80);
        let is_loopback = match &host {
            url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
            url::Host::Ipv4(ip) => ip.is_loopback(),
            url::Host::Ipv6(ip) => ip.is_loopback(),
        };
        let authority = match host {
            url::Host::Ipv6(ip) => format!("[{ip}]:{port}"),
            other => format!("{other}:{port}"),
        };
        Ok(Self::from_authority(authority, is_loopback))
    }

    fn from_authority(authority: String, is_loopback: bool) -> Endpoints {
        Endpoints {
            ws_echo: format!("ws://{authority}/ws"),
            ws_push: format!("ws://{authority}/ws/push"),
            http_echo: format!("http://{authority}/echo"),
            events_latest: format!("http://{authority}/events/latest"),
            events_next: format!("http://{authority}/events/next"),
            health: format!("http://{authority}/health"),
            authority,
            is_loopback,
        }
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
    fn bad_targets_say_why() {
        assert!(matches!(Endpoints::parse("wss://h:1"), Err(EndpointsError::Scheme(_))));
        assert!(matches!(Endpoints::parse("not a url"), Err(EndpointsError::Invalid(..))));
    }
}
