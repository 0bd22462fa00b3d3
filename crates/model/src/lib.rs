//! Duplex's shared vocabulary, the ground floor every other Duplex crate stands on: transports
//! and kinds of client, the test plan and its presets, the wire formats the server and the
//! clients exchange, what a run records (samples, blocks, topology, platform, power readings),
//! and the live monitor's snapshots. It may use no other Duplex crate; the server, the clients
//! and the engine (`duplex-core`) all use it.

pub mod certificate;
pub mod clock;
pub mod link;
pub mod monitor;
pub mod numbers;
pub mod plan;
pub mod platform;
pub mod power;
pub mod protocol;
pub mod record;
pub mod redact;
pub mod sse;
pub mod transport;

pub use link::{Link, LinkError};
pub use plan::{CheckedPlan, ClientRun, MAX_CONCURRENCY, MAX_PAYLOAD_BYTES, Order, Plan, PlanError};
pub use record::{RunRecord, RunStatus, Sample, Topology};
pub use transport::{ClientKind, ClientOptions, HttpMethod, Pattern, Transport, WebTrust};

/// Duplex's version, recorded with every run.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
