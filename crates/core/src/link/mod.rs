//! The link emulator: a userspace TCP relay that delays and paces every byte between clients and
//! a server as a real link would ([`Relay`], by the arithmetic of [`Schedule`]), so that a run on
//! one desk shows what WebSocket and AJAX cost over Wi-Fi, 4G or a satellite. No root, any
//! platform. Loss is not emulated: a TCP relay only sees bytes that TCP already delivered, so
//! retransmission stays the kernel's business.
//!
//! The conditions themselves, their profiles and what they predict are `duplex_model::link`.

mod relay;
mod schedule;

pub use duplex_model::link::{Link, LinkError};
pub use relay::{Relay, RelayStats};
pub use schedule::Schedule;
