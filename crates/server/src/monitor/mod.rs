//! The live monitor's server side (the paper's Fig. 1): an agent reads the machine, and the hub
//! publishes its snapshots to push subscribers, pollers and long-pollers, sampling only while
//! someone watches.
//!
//! - [`agent`]: sysinfo readings (CPU per core, load, memory, swap, network and disk rates, top processes).
//! - [`hub`]: samples only while watched, at 0.1–20 Hz.

pub mod agent;
pub mod hub;

pub use hub::{MAX_HZ, MIN_HZ, MonitorHub};
