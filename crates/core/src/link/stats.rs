//! What a relay counts, on its TCP and UDP sides.

use std::sync::atomic::AtomicU64;

/// What went through the relay.
#[derive(Debug, Default)]
pub struct RelayStats {
    pub connections: AtomicU64,
    pub bytes_up: AtomicU64,
    pub bytes_down: AtomicU64,
    /// Connections the server refused or that failed on the way.
    pub failures: AtomicU64,
    /// Datagrams the link lost (UDP), client to server and back.
    pub datagrams_lost_up: AtomicU64,
    pub datagrams_lost_down: AtomicU64,
}
