//! Helpers shared by the integration tests.

use duplex_core::clients::Transport;
use duplex_core::plan::Plan;
use duplex_core::power::PowerSettings;
use duplex_core::record::{RunRecord, Topology};
use duplex_core::runner::{Target, execute};
use duplex_core::server::{Server, ServerConfig};
use duplex_core::session::{RunSession, SessionError, Update};
use duplex_core::stats::AnalysisOptions;
use tokio_util::sync::CancellationToken;

/// Under Wine (scripts/check-windows.sh runs the Windows build's tests there) CPU load cannot be
/// read (`platform::wine`): the tests of the CPU sensor and of the live monitor check that they
/// say so, instead of their readings.
pub fn under_wine() -> bool {
    duplex_core::platform::wine::version().is_some()
}

/// Why HTTP/3 and WebTransport cannot be measured with `server`, or None. Only under Wine, whose
/// UDP sockets refuse QUIC's options, may they not be: the test that asks then says it skips.
pub fn quic_unavailable(server: &Server) -> Option<String> {
    let why = server.quic_unavailable()?.to_owned();
    assert!(under_wine(), "QUIC must be served here: {why}");
    eprintln!("skipped: {why}");
    Some(why)
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
    run_against(plan, Target::Embedded { topology: Topology::SameThread }).await
}

/// A whole run of `plan` (checked) against `target` on this runtime.
pub async fn run_against(plan: Plan, target: Target) -> RunRecord {
    execute(
        plan.check().expect("a valid plan"),
        target,
        tokio::sync::mpsc::unbounded_channel().0,
        CancellationToken::new(),
    )
    .await
}

/// A run as the command line makes one: a session with the platform's sensors and no history,
/// its native part measured on the run thread (`on_update` sees every update, and may cancel),
/// then finished. Blocking.
pub fn session_run(
    plan: Plan,
    target: Target,
    mut on_update: impl FnMut(&Update, &CancellationToken),
) -> Result<RunRecord, SessionError> {
    let plan = plan.check().expect("a valid plan");
    let mut session = RunSession::new(plan, &target, duplex_core::power::default_sensors(), None);
    let cancel = CancellationToken::new();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
    rt.block_on(session.run_native(target, cancel.clone(), |u| on_update(&u, &cancel)))?;
    Ok(session.finish(&AnalysisOptions::default()).record)
}
