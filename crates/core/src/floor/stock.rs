//! The stock echoes the floor measures against: raw TCP ping-pong, plain tokio-tungstenite,
//! plain axum + reqwest; their servers and clients.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use duplex_model::record::Topology;

use super::{FloorError, current_thread};

#[derive(Clone, Copy)]
pub(super) enum Stock {
    Tcp,
    Ws,
    Http,
}

pub(super) fn measure_stock(
    kind: Stock,
    topology: Topology,
    message: &str,
    calls: u64,
    warmup: u32,
) -> Result<Vec<f64>, FloorError> {
    let rt = current_thread()?;
    let stop = CancellationToken::new();
    let _guard = stop.clone().drop_guard();
    let (addr, thread) = if topology == Topology::SameThread {
        (rt.block_on(start_stock(kind, stop.clone()))?, None)
    } else {
        let (addr, thread) = stock_on_thread(kind, stop.clone())?;
        (addr, Some(thread))
    };
    let result = rt.block_on(async {
        match kind {
            Stock::Tcp => tcp_client(addr, message.len(), calls, warmup).await,
            Stock::Ws => ws_client(addr, message, calls, warmup).await,
            Stock::Http => http_client(addr, message, calls, warmup).await,
        }
    });
    stop.cancel();
    if let Some(t) = thread {
        let _ = t.join();
    }
    result
}

/// A stock server on a thread (and runtime) of its own, until `stop`.
pub(super) fn stock_on_thread(
    kind: Stock,
    stop: CancellationToken,
) -> Result<(SocketAddr, std::thread::JoinHandle<()>), FloorError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let Ok(rt) = current_thread() else { return };
        rt.block_on(async move {
            let _ = tx.send(start_stock(kind, stop.clone()).await.map_err(|e| e.to_string()));
            stop.cancelled().await;
        });
    });
    let addr = rx.recv().map_err(|e| FloorError::Other(e.to_string()))?.map_err(FloorError::Other)?;
    Ok((addr, thread))
}

async fn start_stock(kind: Stock, stop: CancellationToken) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    match kind {
        Stock::Http => {
            let app = axum::Router::new()
                .route("/echo", axum::routing::post(|body: axum::body::Bytes| async move { body }));
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                let _ = tcp.set_nodelay(true);
            });
            tokio::spawn(async move {
                let _ = axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned()).await;
            });
        }
        Stock::Tcp | Stock::Ws => {
            tokio::spawn(async move {
                loop {
                    let (tcp, _) = tokio::select! {
                        _ = stop.cancelled() => return,
                        accepted = listener.accept() => match accepted { Ok(a) => a, Err(_) => return },
                    };
                    let _ = tcp.set_nodelay(true);
                    tokio::spawn(async move {
                        match kind {
                            Stock::Tcp => tcp_echo(tcp).await,
                            _ => ws_echo(tcp).await,
                        }
                    });
                }
            });
        }
    }
    Ok(addr)
}

async fn tcp_echo(mut tcp: TcpStream) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match tcp.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if tcp.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

async fn ws_echo(tcp: TcpStream) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else { return };
    while let Some(Ok(msg)) = ws.next().await {
        if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
            return;
        }
    }
}

fn elapsed_us(t: Instant) -> f64 {
    t.elapsed().as_nanos() as f64 / 1e3
}

async fn tcp_client(addr: SocketAddr, len: usize, calls: u64, warmup: u32) -> Result<Vec<f64>, FloorError> {
    let mut tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let out = vec![b'x'; len];
    let mut back = vec![0u8; len];
    let mut xs = Vec::with_capacity(calls as usize);
    for i in 0..u64::from(warmup) + calls {
        let t = Instant::now();
        tcp.write_all(&out).await?;
        tcp.read_exact(&mut back).await?;
        if i >= u64::from(warmup) {
            xs.push(elapsed_us(t));
        }
    }
    Ok(xs)
}

async fn ws_client(addr: SocketAddr, message: &str, calls: u64, warmup: u32) -> Result<Vec<f64>, FloorError> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let (mut ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/"), tcp)
        .await
        .map_err(|e| FloorError::Other(e.to_string()))?;
    let mut xs = Vec::with_capacity(calls as usize);
    for i in 0..u64::from(warmup) + calls {
        let msg = Message::Text(message.to_owned().into());
        let t = Instant::now();
        ws.send(msg).await.map_err(|e| FloorError::Other(e.to_string()))?;
        match ws.next().await {
            Some(Ok(_)) => {}
            other => return Err(FloorError::Other(format!("stock ws echo: {other:?}"))),
        }
        if i >= u64::from(warmup) {
            xs.push(elapsed_us(t));
        }
    }
    Ok(xs)
}

async fn http_client(
    addr: SocketAddr,
    message: &str,
    calls: u64,
    warmup: u32,
) -> Result<Vec<f64>, FloorError> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| FloorError::Other(e.to_string()))?;
    let url = format!("http://{addr}/echo");
    let mut xs = Vec::with_capacity(calls as usize);
    for i in 0..u64::from(warmup) + calls {
        let request = client.post(&url).body(message.to_owned());
        let t = Instant::now();
        let response = request.send().await.map_err(|e| FloorError::Other(e.to_string()))?;
        response.bytes().await.map_err(|e| FloorError::Other(e.to_string()))?;
        if i >= u64::from(warmup) {
            xs.push(elapsed_us(t));
        }
    }
    Ok(xs)
}
