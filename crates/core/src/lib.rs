//! duplex-core, the engine: how much faster and cheaper is a WebSocket than AJAX, on this
//! device and network. It runs plans ([`runner`]) and whole runs ([`session`]: native part,
//! web-view or joined browser's part, power, analysis, history), computes statistics
//! ([`stats`]), samples power ([`power`]), stores ([`storage`]) and exports ([`export`]) runs,
//! emulates links ([`link`]), summarises live-monitor sessions ([`monitor`]), soaks servers ([`soak`]), measures push fan-out ([`fanout`]) and measures its own
//! floor ([`floor`]). Nothing here knows about a GUI toolkit or a command line.
//!
//! It may use the crates below it, and re-exports them so the app and the CLI depend on this
//! crate alone: data flows one way, `duplex-model` (vocabulary) ← `duplex-server` (echo
//! server) and `duplex-clients` (native clients) ← here.

pub use duplex_clients as clients;
pub use duplex_model::{VERSION, certificate, clock, plan, protocol, record, redact, sse, transport};

/// What device a run was measured on ([`duplex_model::platform`]) and this machine's reading of
/// itself ([`duplex_platform`]).
pub mod platform {
    pub use duplex_model::platform::*;
    pub use duplex_platform::{this_machine, wine};
}
pub use duplex_server as server;

pub mod export;
pub mod fanout;
pub mod floor;
pub mod k6;
pub mod link;
pub mod monitor;
pub mod pin;
pub mod power;
pub mod runner;
pub mod session;
pub mod soak;
pub mod stats;
pub mod storage;
pub mod sweep;

/// The log filter the command line and the app start with, `{level}` filled in: the
/// WebTransport client warns of every session a Duplex server ends without a closing capsule
/// (h3-webtransport's way, harmless), which would drown a run's output.
pub const QUIET_DEPENDENCIES: &str = "{level},web_transport_quinn=error";
