//! No false alarm from the regime detector: steady runs (client and server on one thread, which
//! never idles) are never said to change regime. A test binary of its own, so that no other
//! test loads the machine while it runs: another test's load part-way through a run is a real
//! change of regime, which the detector is right to report. Not under Wine, whose sockets pass
//! through another process (wineserver): there a same-thread run changes pace for real.

use duplex_core::clients::Transport;
use duplex_core::plan::Plan;
use duplex_core::power::PowerSettings;
use duplex_core::record::{RunStatus, Topology};
use duplex_core::runner::{Target, execute};
use duplex_core::stats::{AnalysisOptions, analyze};
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn steady_runs_are_never_said_to_change_regime() {
    if let Some(wine) = duplex_core::platform::wine::version() {
        // Seen there: a same-thread run's http calls took 10.7 ms for 200 calls, then 3.2 ms.
        eprintln!(
            "skipped under Wine {wine}: its sockets go through wineserver, another process, so a \
             same-thread run is not steady there (the detector's own tests run)"
        );
        return;
    }
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
