//! Clients over QUIC (quinn, rustls with ring): WebTransport echo on a stream and by datagrams,
//! WebTransport push ([`wt`], web-transport-quinn), and the AJAX echo over HTTP/3 ([`h3`],
//! hyper's `h3`). A connection's bytes are its own UDP datagrams both ways (QUIC packets:
//! headers, ACKs, retransmissions; quinn counts them per connection), the handshake's counted
//! apart, as the TLS clients count theirs below TLS.

pub(crate) mod h3;
pub(crate) mod wt;

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use super::tls::Handshake;
use super::wire::Route;
use super::{ClientError, Measurement};

/// What QUIC clients share.
/// - `sessions`: the TLS configuration of one transport's clients, and with it their session
///   tickets: the first client's handshake is a full one (1 RTT), the next ones resume with
///   0-RTT keys, as a browser's second connection to a server does.
/// - `endpoints`: where set, a UDP endpoint for every [`CLIENTS_PER_ENDPOINT`] clients (a
///   fan-out's subscribers, a run's clients without an emulated link), instead of one each. A quinn endpoint holds a receive buffer of
///   about 3 MB (32 batches of 64 segments): 10,000 subscribers of their own needed 23 GB. One
///   endpoint for all held 1,000 in 195 MB, but its one socket's receive buffer overflowed at
///   each broadcast (a third of the datagrams lost, streams resent). A connection's bytes are its
///   own either way (quinn counts them per connection).
#[derive(Default, Clone)]
pub struct SharedQuic {
    sessions: Arc<Mutex<Option<Arc<rustls::ClientConfig>>>>,
    endpoints: Option<Arc<Mutex<EndpointPool>>>,
}

/// Clients that share one UDP endpoint: few enough that a broadcast's packets to them fit its
/// socket's receive buffer.
pub const CLIENTS_PER_ENDPOINT: u32 = 16;

/// The endpoint being filled, per address family, and how many clients it has.
#[derive(Default)]
struct EndpointPool([Option<(quinn::Endpoint, u32)>; 2]);

impl SharedQuic {
    /// Clients on an endpoint for every [`CLIENTS_PER_ENDPOINT`], sharing their TLS sessions
    /// ([`SharedQuic::own_sessions`] gives a client sessions of its own).
    pub fn pooled_endpoints() -> SharedQuic {
        SharedQuic { sessions: Default::default(), endpoints: Some(Default::default()) }
    }

    /// The same endpoints, and TLS sessions of its own: a subscriber no other resumes from.
    pub fn own_sessions(&self) -> SharedQuic {
        SharedQuic { sessions: Default::default(), endpoints: self.endpoints.clone() }
    }

    /// The endpoint for a connection from `local` (the unspecified address of its family).
    fn endpoint(&self, local: SocketAddr) -> std::io::Result<quinn::Endpoint> {
        let Some(endpoints) = &self.endpoints else { return quinn::Endpoint::client(local) };
        let mut pool = endpoints.lock().unwrap_or_else(|e| e.into_inner());
        let slot = &mut pool.0[usize::from(local.is_ipv6())];
        match slot {
            Some((endpoint, clients)) if *clients < CLIENTS_PER_ENDPOINT => {
                *clients += 1;
                Ok(endpoint.clone())
            }
            _ => Ok(slot.insert((quinn::Endpoint::client(local)?, 1)).0.clone()),
        }
    }
}

/// How long a QUIC handshake may take before the server is called unreachable over UDP.
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// One QUIC connection and the endpoint (UDP socket) it is on.
pub(crate) struct QuicConn {
    /// Kept so the socket lives as long as the connection.
    _endpoint: quinn::Endpoint,
    pub(crate) conn: quinn::Connection,
}

impl QuicConn {
    /// Bytes this connection sent and received in UDP datagrams so far: (out, in).
    pub(crate) fn udp_totals(&self) -> (u64, u64) {
        let stats = self.conn.stats();
        (stats.udp_tx.bytes, stats.udp_rx.bytes)
    }

    /// A measurement of one exchange that began at `sent_at` with the socket's totals `before`.
    pub(crate) fn measured(
        &self,
        sent_at_unix_ns: i64,
        latency_ns: u64,
        server_time_unix_ns: Option<i64>,
        before: (u64, u64),
    ) -> Measurement {
        let (out, inn) = self.udp_totals();
        Measurement {
            sent_at_unix_ns,
            latency_ns,
            server_time_unix_ns,
            bytes_out: out - before.0,
            bytes_in: inn - before.1,
            server_cpu_ns: None,
            new_connection: false,
        }
    }
}

/// Opens a QUIC connection for `url` (`https://host:port/…`; its relay's address when `route`
/// has one), trusting the server as `route` says, with ALPN `h3`, and waits for its handshake;
/// whether it resumed comes back with it. A session ticket from an earlier connection of this
/// transport resumes it with 0-RTT keys; nothing is sent early, so that the opening's bytes are
/// counted apart ([`QuicConn::handshake`], once the client has said what comes before its first
/// message).
pub(crate) async fn connect(
    url: &str,
    route: &Route,
    shared: &SharedQuic,
) -> Result<(QuicConn, bool), ClientError> {
    let (quic, resuming) = open(url, route, shared).await?;
    let resumed = match resuming {
        Some(accepted) => quic.handshake_done(url, accepted).await?,
        None => false,
    };
    Ok((quic, resumed))
}

/// Starts a QUIC connection as [`connect`] does. With a session ticket it comes back at once,
/// its handshake still running ([`QuicConn::handshake_done`] waits for it): what is sent on it
/// meanwhile goes as 0-RTT data. Without one, its handshake (1 RTT) is done first.
pub(crate) async fn open(
    url: &str,
    route: &Route,
    shared: &SharedQuic,
) -> Result<(QuicConn, Option<quinn::ZeroRttAccepted>), ClientError> {
    let connect_err = |reason: String| ClientError::Connect { url: url.to_owned(), reason };
    let (_, dial) = route.dial(url)?;
    let remote = tokio::net::lookup_host(&dial.address)
        .await
        .map_err(|e| connect_err(e.to_string()))?
        .next()
        .ok_or_else(|| connect_err(format!("{} has no address", dial.address)))?;
    let tls = {
        let mut sessions = shared.sessions.lock().unwrap_or_else(|e| e.into_inner());
        match &*sessions {
            Some(tls) => tls.clone(),
            None => {
                let mut tls = (*route.trust.client_config(&[b"h3"]).map_err(connect_err)?).clone();
                tls.enable_early_data = true;
                sessions.insert(Arc::new(tls)).clone()
            }
        }
    };
    let crypto =
        quinn::crypto::rustls::QuicClientConfig::try_from(tls).map_err(|e| connect_err(e.to_string()))?;
    let mut config = quinn::ClientConfig::new(Arc::new(crypto));
    let mut transport = quinn::TransportConfig::default();
    transport.max_idle_timeout(std::time::Duration::from_secs(120).try_into().ok());
    config.transport_config(Arc::new(transport));
    let local: SocketAddr = match remote {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let endpoint = shared.endpoint(local).map_err(|e| connect_err(e.to_string()))?;
    let host = dial.host.trim_start_matches('[').trim_end_matches(']');
    let connecting = endpoint.connect_with(config, remote, host).map_err(|e| connect_err(e.to_string()))?;
    match connecting.into_0rtt() {
        Ok((conn, accepted)) => Ok((QuicConn { _endpoint: endpoint, conn }, Some(accepted))),
        Err(connecting) => {
            let conn = tokio::time::timeout(HANDSHAKE_TIMEOUT, connecting)
                .await
                .map_err(|_| connect_err(no_answer()))?
                .map_err(|e| connect_err(quic_reason(&e)))?;
            Ok((QuicConn { _endpoint: endpoint, conn }, None))
        }
    }
}

/// Why a QUIC handshake gave no answer, in words a user can act on.
fn no_answer() -> String {
    format!("no QUIC answer in {HANDSHAKE_TIMEOUT:?} (is UDP blocked, or does the server serve no HTTP/3?)")
}

impl QuicConn {
    /// Waits for the handshake of a connection [`open`] started resumed: whether the server
    /// took its ticket and its 0-RTT data (what was sent early is lost when it did not).
    pub(crate) async fn handshake_done(
        &self,
        url: &str,
        accepted: quinn::ZeroRttAccepted,
    ) -> Result<bool, ClientError> {
        let connect_err = |reason: String| ClientError::Connect { url: url.to_owned(), reason };
        let took =
            tokio::time::timeout(HANDSHAKE_TIMEOUT, accepted).await.map_err(|_| connect_err(no_answer()))?;
        match self.conn.close_reason() {
            Some(e) => Err(connect_err(quic_reason(&e))),
            None => Ok(took),
        }
    }

    /// The connection's handshake as the reports say it, its bytes counted up to now: its QUIC
    /// handshake with TLS in it, and what the client said before its first message (HTTP/3's
    /// settings, a WebTransport session's CONNECT and its answer).
    pub(crate) fn handshake(&self, resumed: bool, early_data: bool) -> Handshake {
        let alpn = self
            .conn
            .handshake_data()
            .and_then(|d| d.downcast::<quinn::crypto::rustls::HandshakeData>().ok())
            .and_then(|d| d.protocol.map(|p| String::from_utf8_lossy(&p).into_owned()));
        let (bytes_out, bytes_in) = self.udp_totals();
        Handshake {
            version: "TLS 1.3 (QUIC)".to_owned(),
            // quinn does not say which suite rustls chose.
            cipher_suite: String::new(),
            alpn,
            resumed,
            early_data,
            bytes_out,
            bytes_in,
        }
    }
}

/// A failed handshake in words a user can act on: a certificate refusal says why, in the words
/// the TLS clients use (QUIC carries rustls's error as text: "invalid peer certificate:
/// Other(OtherError(WORDS))").
fn quic_reason(e: &quinn::ConnectionError) -> String {
    match e {
        quinn::ConnectionError::TransportError(t) => match t.reason.split_once("Other(OtherError(") {
            Some((_, words)) => words.strip_suffix("))").unwrap_or(words).to_owned(),
            None => format!("QUIC handshake failed: {t}"),
        },
        other => format!("QUIC handshake failed: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pooled clients share an endpoint 16 at a time (its one socket, one local port); unpooled
    /// ones have their own. Under Wine, whose UDP sockets refuse QUIC's options, it skips.
    #[tokio::test]
    async fn pooled_clients_share_an_endpoint_sixteen_at_a_time() {
        let local: SocketAddr = (Ipv4Addr::LOCALHOST, 0).into();
        if let Err(e) = SharedQuic::default().endpoint(local) {
            assert!(duplex_platform::wine::version().is_some(), "a QUIC endpoint must bind here: {e}");
            eprintln!("skipped: this system's UDP sockets refuse QUIC: {e}");
            return;
        }
        let port =
            |shared: &SharedQuic| shared.endpoint(local).and_then(|e| e.local_addr()).expect("bound").port();
        let pooled = SharedQuic::pooled_endpoints();
        let ports: Vec<u16> =
            (0..2 * CLIENTS_PER_ENDPOINT + 1).map(|_| port(&pooled.own_sessions())).collect();
        let distinct = |ports: &[u16]| ports.iter().collect::<std::collections::BTreeSet<_>>().len();
        let per = CLIENTS_PER_ENDPOINT as usize;
        assert_eq!(distinct(&ports[..per]), 1, "{ports:?}");
        assert_eq!(distinct(&ports), 3, "{ports:?}");
        assert_ne!(ports[per - 1], ports[per], "{ports:?}");
        let own = SharedQuic::default();
        assert_ne!(port(&own), port(&own), "each unpooled client an endpoint of its own");
    }
}
