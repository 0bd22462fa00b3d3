//! No false alarm from the regime detector: steady runs (client and server on one thread, which
//! never idles) are never said to change regime. A test binary of its own, so that no other
//! test loads the machine while it runs: another test's load part-way through a run is a real
//! change of regime, which the detector is right to report.

use duplex_core::clients::Transport;
use duplex_core::plan::Plan;
use duplex_core::power::PowerSettings;
use duplex_core::record::{RunStatus, Topology};
use duplex_core::runner::{Target, execute};
use duplex_core::stats::{AnalysisOptions, analyze};
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn steady_runs_are_never_said_to_change_regime() {
    let plan = Plan {
        transports: vec![Transport::Ws, Transport::Http],
        sets: 5,
        calls: 100,
        warmup: 20,
        power: PowerSettings::OFF,
        ..Plan::default()
    };
    for run in 0..20 {
        let record = execute(
            plan.clone().check().expect("a valid plan"),
            Target::Embedded { topology: Topology::SameThread },
            tokio::sync::mpsc::unbounded_channel().0,
            CancellationToken::new(),
        )
        .await;
        assert_eq!(record.status, RunStatus::Complete, "{:?}", record.error);
        let report = analyze(&record, &AnalysisOptions::default());
        assert!(report.regimes.is_empty(), "run {run}: {:?}", report.regimes);
    }
}
