//! Integration tests of the engine: real servers on 127.0.0.1 port 0, real frames, real numbers.

mod util;

mod bundles;
mod export;
mod fanout;
mod faults;
mod foreign;
mod fuzz;
mod history;
mod hostile;
mod k6;
mod lan;
mod link;
mod monitor;
mod pacing;
mod paper;
mod power;
mod quic;
mod server;
mod stats;
mod tls;
mod transports;
