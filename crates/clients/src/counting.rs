//! A stream wrapper that counts the bytes that really cross the socket each way, so the
//! clients can report bytes on the wire per message (frame headers, HTTP heads and TLS records
//! included), and [`Wire`]: a counted socket with or without TLS on top.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Running totals shared between a [`CountingStream`] and whoever reads them.
#[derive(Debug, Default)]
pub struct ByteCounter {
    read: AtomicU64,
    written: AtomicU64,
}

impl ByteCounter {
    /// (bytes read, bytes written) so far.
    pub fn totals(&self) -> (u64, u64) {
        (self.read.load(Ordering::Relaxed), self.written.load(Ordering::Relaxed))
    }
}

pub struct CountingStream<S> {
    inner: S,
    counter: Arc<ByteCounter>,
}

impl<S> CountingStream<S> {
    pub fn new(inner: S) -> (Self, Arc<ByteCounter>) {
        let counter = Arc::new(ByteCounter::default());
        (CountingStream { inner, counter: counter.clone() }, counter)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for CountingStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        self.counter.read.fetch_add(n as u64, Ordering::Relaxed);
        res
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for CountingStream<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = res {
            self.counter.written.fetch_add(n as u64, Ordering::Relaxed);
        }
        res
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = res {
            self.counter.written.fetch_add(n as u64, Ordering::Relaxed);
        }
        res
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A client's connection: a counted TCP socket, or TLS over one (counted below TLS).
pub enum Wire {
    Plain(CountingStream<tokio::net::TcpStream>),
    Tls(Box<crate::tls::TlsStream>),
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

/// Opens a connection to `authority` with Nagle off, counting its bytes: TLS over it with
/// `tls` (for `host`), cleartext without. The handshake, if any, is returned with what it
/// negotiated and cost.
pub async fn open(
    authority: &str,
    host: &str,
    tls: Option<&std::sync::Arc<rustls::ClientConfig>>,
) -> Result<(Wire, Arc<ByteCounter>, Option<crate::tls::Handshake>), crate::ClientError> {
    match tls {
        Some(config) => {
            let (stream, counter, handshake) = crate::tls::connect(authority, host, config.clone()).await?;
            Ok((Wire::Tls(Box::new(stream)), counter, Some(handshake)))
        }
        None => {
            let connect_err =
                |reason: String| crate::ClientError::Connect { url: authority.to_owned(), reason };
            let tcp =
                tokio::net::TcpStream::connect(authority).await.map_err(|e| connect_err(e.to_string()))?;
            tcp.set_nodelay(true).map_err(|e| connect_err(e.to_string()))?;
            let (stream, counter) = CountingStream::new(tcp);
            Ok((Wire::Plain(stream), counter, None))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn counts_both_directions() {
        let (a, mut b) = tokio::io::duplex(64);
        let (mut a, counter) = CountingStream::new(a);
        a.write_all(b"hello").await.expect("write");
        b.write_all(b"hi!").await.expect("write");
        let mut buf = [0u8; 3];
        a.read_exact(&mut buf).await.expect("read");
        assert_eq!(counter.totals(), (3, 5));
    }
}
