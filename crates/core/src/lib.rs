//! Duplex engine: how much faster and cheaper is a WebSocket than AJAX, on this device and
//! network. Data flows one way: [`server`] <- [`clients`] <- [`runner`] -> samples ->
//! [`stats`] -> [`storage`] / [`export`]. Nothing here knows about a GUI toolkit or a command line.

pub mod clients;
pub mod clock;
pub mod export;
pub mod floor;
pub mod monitor;
pub mod platform;
pub mod power;
pub mod protocol;
pub mod record;
pub mod runner;
pub mod server;
pub mod soak;
pub mod stats;
pub mod storage;

/// Duplex's version, recorded with every run.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
