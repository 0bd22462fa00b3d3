//! A client's connection ([`Wire`]): a byte-counting TCP socket, with or without TLS on top,
//! and how one is opened ([`open`]).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::counting::{ByteCounter, CountingStream};

/// A client's connection: a counted TCP socket, or TLS over one (counted below TLS).
pub enum Wire {
    Plain(CountingStream<tokio::net::TcpStream>),
    Tls(Box<super::tls::TlsStream>),
}

impl AsyncRead for Wire {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Wire::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Wire::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Wire {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Wire::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Wire::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Wire::Plain(s) => Pin::new(s).poll_flush(cx),
            Wire::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Wire::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Wire::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Where a URL's connections go: `host:port` to dial (the scheme's default port when the URL
/// gives none), the host alone (TLS's server name), and whether the scheme is TLS's.
pub struct Dial {
    pub address: String,
    pub host: String,
    /// `https` or `wss`.
    pub secure: bool,
}

impl Dial {
    /// The URL parsed, and where it dials.
    pub fn of(url: &str) -> Result<(hyper::Uri, Dial), super::ClientError> {
        let connect_err = |reason: String| super::ClientError::Connect { url: url.to_owned(), reason };
        let uri: hyper::Uri =
            url.parse().map_err(|e: hyper::http::uri::InvalidUri| connect_err(e.to_string()))?;
        let authority = uri.authority().ok_or_else(|| connect_err("no host".into()))?;
        let secure = matches!(uri.scheme_str(), Some("https" | "wss"));
        let host = authority.host().to_owned();
        let address = format!("{host}:{}", authority.port_u16().unwrap_or(if secure { 443 } else { 80 }));
        Ok((uri, Dial { address, host, secure }))
    }
}

/// How a client reaches a server: how its TLS connections trust it, and the relays its
/// connections go through (`host:port` → the relay's address; the link emulator's). A relayed
/// connection keeps the server's name: its Host header, TLS's server name and verification.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Route {
    pub trust: super::tls::Trust,
    pub via: Vec<(String, std::net::SocketAddr)>,
}

impl Route {
    /// The URL parsed, and where it dials: its relay's address when it has one.
    pub fn dial(&self, url: &str) -> Result<(hyper::Uri, Dial), super::ClientError> {
        let (uri, mut dial) = Dial::of(url)?;
        if let Some((_, relay)) = self.via.iter().find(|(authority, _)| *authority == dial.address) {
            dial.address = relay.to_string();
        }
        Ok((uri, dial))
    }
}

/// Opens a connection to `authority` with Nagle off, counting its bytes: TLS over it with
/// `tls` (for `host`), cleartext without. The handshake, if any, is returned with what it
/// negotiated and cost.
pub async fn open(
    authority: &str,
    host: &str,
    tls: Option<&std::sync::Arc<rustls::ClientConfig>>,
) -> Result<(Wire, Arc<ByteCounter>, Option<super::tls::Handshake>), super::ClientError> {
    match tls {
        Some(config) => {
            let (stream, counter, handshake) = super::tls::connect(authority, host, config.clone()).await?;
            Ok((Wire::Tls(Box::new(stream)), counter, Some(handshake)))
        }
        None => {
            let connect_err =
                |reason: String| super::ClientError::Connect { url: authority.to_owned(), reason };
            let tcp =
                tokio::net::TcpStream::connect(authority).await.map_err(|e| connect_err(e.to_string()))?;
            tcp.set_nodelay(true).map_err(|e| connect_err(e.to_string()))?;
            let (stream, counter) = CountingStream::new(tcp);
            Ok((Wire::Plain(stream), counter, None))
        }
    }
}
