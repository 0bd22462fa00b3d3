//! The live monitor (the paper's Fig. 1), gathered from the layers that make it: the server's
//! agent and hub publish snapshots (`duplex-server`), watchers receive them by WebSocket push or
//! AJAX polling side by side (`duplex-clients`), and [`session`] summarises what each feed showed
//! — staleness, bytes, requests and CPU.

pub mod session;

pub use duplex_clients::watch;
pub use duplex_model::monitor::{ProcessRow, Published, SNAPSHOT_EVENT, Snapshot};
pub use duplex_server::monitor::{MAX_HZ, MIN_HZ, MonitorHub, agent, hub};
pub use session::{Feed, FeedSummary, Observation, Session, SessionSummary, summarize};
