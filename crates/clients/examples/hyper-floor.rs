//! The least an HTTP/1.1 client on hyper can do per call, to set beside Duplex's http client in
//! `scripts/peers.sh`: one keep-alive connection (Nagle off), `GET PATH` back to back on a
//! one-thread runtime, each timed from the request handed to hyper to the last body byte read.
//! No URL built per call, no byte counting, no sample kept but the time: what is left is hyper's
//! own cost and the loopback's.
//!
//!   cargo run --release -p duplex-clients --example hyper-floor -- 127.0.0.1:9314 /echo?x=1 5000
//!
//! Prints the median round trip in µs.

use std::time::Instant;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: hyper-floor HOST:PORT PATH CALLS";
    let address = args.next().ok_or(usage)?;
    let path = args.next().ok_or(usage)?;
    let calls: usize = args.next().ok_or(usage)?.parse()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut times = runtime.block_on(async {
        let stream = tokio::net::TcpStream::connect(&address).await?;
        stream.set_nodelay(true)?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        let mut times = Vec::with_capacity(calls);
        for i in 0..calls + 200 {
            let request = hyper::Request::get(path.as_str())
                .header(hyper::header::HOST, address.as_str())
                .body(Empty::<Bytes>::new())?;
            let start = Instant::now();
            let response = sender.send_request(request).await?;
            let body = response.into_body().collect().await?;
            let took = start.elapsed();
            std::hint::black_box(body);
            // The first 200 warm up, as Duplex's run in scripts/peers.sh does.
            if i >= 200 {
                times.push(took.as_secs_f64() * 1e6);
            }
        }
        Ok::<_, Box<dyn std::error::Error>>(times)
    })?;
    times.sort_by(f64::total_cmp);
    let median = times.get(times.len() / 2).ok_or("no calls")?;
    println!("{median:.1}");
    Ok(())
}
