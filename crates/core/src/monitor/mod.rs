//! The live monitor (the paper's Fig. 1): an agent samples the machine, the server publishes
//! each snapshot, and watchers receive it by WebSocket push or AJAX polling side by side, so
//! the staleness, bytes, requests and CPU of each can be seen and compared.
//!
//! - [`snapshot`]: what one reading holds, and its wire form.
//! - [`agent`]: sysinfo readings (CPU per core, load, memory, swap, network and disk rates, top processes).
//! - [`hub`]: the server side — samples only while watched, at 0.1–20 Hz.
//! - [`watch`]: native watchers (push, poll, long-poll) for `duplex monitor`.
//! - [`session`]: a session's observations and their summary (staleness, age on screen, misses, costs).

pub mod agent;
pub mod hub;
pub mod session;
pub mod snapshot;
pub mod watch;

pub use hub::{MAX_HZ, MIN_HZ, MonitorHub};
pub use session::{Feed, FeedSummary, Observation, Session, SessionSummary, summarize};
pub use snapshot::{ProcessRow, Published, Snapshot};
