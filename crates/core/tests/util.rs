//! Helpers shared by the integration tests.

use duplex_core::clients::Transport;
use duplex_core::power::PowerSettings;
use duplex_core::record::{RunRecord, Topology};
use duplex_core::runner::{Plan, Target, execute};
use duplex_core::server::{Server, ServerConfig};
use tokio_util::sync::CancellationToken;

/// Under Wine (scripts/check-windows.sh runs the Windows build's tests there) CPU load cannot be
/// read (`platform::wine`): the tests of the CPU sensor and of the live monitor check that they
/// say so, instead of their readings.
pub fn under_wine() -> bool {
    duplex_core::platform::wine::version().is_some()
}

pub async fn server() -> Server {
    server_with(ServerConfig {
        tick_interval: std::time::Duration::from_millis(5),
        ..ServerConfig::default()
    })
    .await
}

pub async fn server_with(config: ServerConfig) -> Server {
    Server::start(config).await.expect("server starts on a free loopback port")
}

/// A small plan that finishes in well under a second.
pub fn small_plan(transports: &[Transport]) -> Plan {
    Plan {
        transports: transports.to_vec(),
        sets: 2,
        calls: 20,
        warmup: 2,
        tick_ms: 5,
        poll_interval_ms: 2.0,
        // Power has its own tests (power.rs); a 2 s idle baseline per run would only slow these.
        power: PowerSettings::OFF,
        ..Plan::default()
    }
}

pub async fn run_embedded(plan: Plan) -> RunRecord {
    execute(
        plan,
        Target::Embedded { topology: Topology::SameThread },
        tokio::sync::mpsc::unbounded_channel().0,
        CancellationToken::new(),
    )
    .await
}
