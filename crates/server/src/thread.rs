//! A server on its own OS thread and runtime.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::monitor::MonitorHub;
use crate::{EventHub, Server, ServerConfig, ServerError, TlsIdentity};

/// A server on its own OS thread and single-threaded runtime, for runs whose clients live on
/// another thread, and for tests that need a server to vanish ([`ServerThread::kill`]).
pub struct ServerThread {
    addr: SocketAddr,
    tls: Option<TlsIdentity>,
    quic_unavailable: Option<String>,
    monitor: Arc<MonitorHub>,
    hub: Arc<EventHub>,
    long_polls: Arc<std::sync::atomic::AtomicUsize>,
    /// The server thread's runtime: work sent here runs on the server's one thread.
    runtime: tokio::runtime::Handle,
    shutdown: CancellationToken,
    kill: CancellationToken,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ServerThread {
    pub fn spawn(config: ServerConfig) -> Result<ServerThread, ServerError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let kill = CancellationToken::new();
        let kill_in_thread = kill.clone();
        let thread = std::thread::Builder::new()
            .name("duplex-server".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = tx.send(Err(ServerError::Thread(e.to_string())));
                        return;
                    }
                };
                rt.block_on(async move {
                    let server = match Server::start(config).await {
                        Ok(s) => s,
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = tx.send(Ok(Started {
                        addr: server.local_addr(),
                        tls: server.tls().cloned(),
                        quic_unavailable: server.quic_unavailable().map(str::to_owned),
                        shutdown: server.shutdown_token(),
                        monitor: server.monitor().clone(),
                        hub: server.hub().clone(),
                        long_polls: server.long_polls.clone(),
                        runtime: tokio::runtime::Handle::current(),
                    }));
                    tokio::select! {
                        _ = server.wait() => {}
                        _ = kill_in_thread.cancelled() => {}
                    }
                });
                // Dropping the runtime here drops every connection task: a killed server
                // vanishes without closing handshakes, as a crashed one would.
            })
            .map_err(|e| ServerError::Thread(e.to_string()))?;
        let Started { addr, tls, quic_unavailable, shutdown, monitor, hub, long_polls, runtime } =
            rx.recv().map_err(|e| ServerError::Thread(e.to_string()))??;
        Ok(ServerThread {
            addr,
            tls,
            quic_unavailable,
            monitor,
            hub,
            long_polls,
            runtime,
            shutdown,
            kill,
            thread: Some(thread),
        })
    }

    /// Publishes an event from the server's own thread, as its ticker would; returns the
    /// server thread's CPU time just before (None where the OS cannot tell).
    pub async fn publish(&self, event: &'static str) -> Option<Duration> {
        let hub = self.hub.clone();
        self.on_server_thread(move || {
            let cpu = thread_cpu_time();
            hub.publish(event, None);
            cpu
        })
        .await
    }

    /// CPU time the server's thread has used so far: every connection's work runs there.
    pub async fn cpu_time(&self) -> Option<Duration> {
        self.on_server_thread(thread_cpu_time).await
    }

    async fn on_server_thread<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Option<T> + Send + 'static,
    ) -> Option<T> {
        self.runtime.spawn(async move { work() }).await.ok().flatten()
    }

    /// WebSocket and SSE subscribers to server events now.
    pub fn push_subscribers(&self) -> usize {
        self.hub.subscribers()
    }

    /// Long-polls waiting for an event or a snapshot now.
    pub fn long_polls_waiting(&self) -> usize {
        self.long_polls.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The certificate the server presents over TLS (None: TLS off).
    pub fn tls(&self) -> Option<&TlsIdentity> {
        self.tls.as_ref()
    }

    /// Why HTTP/3 and WebTransport are not served, when they are not.
    pub fn quic_unavailable(&self) -> Option<&str> {
        self.quic_unavailable.as_deref()
    }

    pub fn monitor(&self) -> &Arc<MonitorHub> {
        &self.monitor
    }

    /// Graceful stop; waits for the thread.
    pub fn shutdown(mut self) {
        self.shutdown.cancel();
        self.join();
    }

    /// Abrupt stop: every connection is dropped at once.
    pub fn kill(mut self) {
        self.kill.cancel();
        self.join();
    }

    fn join(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What the server thread hands back once it listens.
struct Started {
    addr: SocketAddr,
    tls: Option<TlsIdentity>,
    quic_unavailable: Option<String>,
    shutdown: CancellationToken,
    monitor: Arc<MonitorHub>,
    hub: Arc<EventHub>,
    long_polls: Arc<std::sync::atomic::AtomicUsize>,
    runtime: tokio::runtime::Handle,
}

/// The calling thread's CPU time (cpu-time: clock_gettime on Unix, GetThreadTimes on Windows).
pub fn thread_cpu_time() -> Option<Duration> {
    cpu_time::ThreadTime::try_now().ok().map(|t| t.as_duration())
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        self.shutdown.cancel();
        self.join();
    }
}
