//! A sweep: the plan once per value of one setting (`rtt=0,10,50,100,200ms`, `payload=1k,16k`),
//! each run stored like any other, then all of them drawn as one. The command line and the app
//! both step through a [`Sweep`]: it says which run comes next, with its title, and when to stop
//! (after a run that did not complete, or a cancel); they only measure.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use duplex_model::plan::{Plan, PlanError, SweepStep};
use duplex_model::record::RunStatus;

/// A sweep's runs, checked before the first one starts.
#[derive(Debug, Clone)]
pub struct Sweep {
    steps: Vec<SweepStep>,
}

/// The next run of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SweepRun {
    /// Its place, from 0, and the number of runs.
    pub index: usize,
    pub of: usize,
    /// How progress names it: "sweep 2/5 (rtt=10ms)".
    pub title: String,
    pub step: SweepStep,
}

impl Sweep {
    /// `spec` over `plan`; every point's plan is checked now, so a bad value stops the sweep
    /// before it measures anything.
    pub fn new(plan: &Plan, spec: &str) -> Result<Self, PlanError> {
        let steps = plan.sweep(spec)?;
        for step in &steps {
            step.plan.clone().check()?;
        }
        Ok(Sweep { steps })
    }

    pub fn steps(&self) -> &[SweepStep] {
        &self.steps
    }

    /// What runs after the runs that ended as `ran` says (in order), or None: every point ran,
    /// the last did not complete, or the person cancelled.
    pub fn next(&self, ran: &[RunStatus], cancelled: bool) -> Option<SweepRun> {
        if cancelled || ran.last().is_some_and(|s| *s != RunStatus::Complete) {
            return None;
        }
        let index = ran.len();
        let step = self.steps.get(index)?.clone();
        Some(SweepRun {
            index,
            of: self.steps.len(),
            title: format!("sweep {}/{} ({})", index + 1, self.steps.len(), step.label),
            step,
        })
    }

    /// Whether runs that ended as `ran` are the whole sweep, each complete.
    pub fn finished(&self, ran: &[RunStatus]) -> bool {
        ran.len() == self.steps.len() && ran.iter().all(|s| *s == RunStatus::Complete)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweep(spec: &str) -> Sweep {
        let plan = Plan { sets: 1, calls: 2, ..Plan::default() };
        Sweep::new(&plan, spec).expect("a sweep")
    }

    #[test]
    fn runs_each_point_in_turn_and_stops_after_a_run_that_did_not_complete() {
        let s = sweep("rtt=0,10,50ms");
        let first = s.next(&[], false).expect("a first run");
        assert_eq!((first.index, first.of, first.title.as_str()), (0, 3, "sweep 1/3 (rtt=0ms)"));
        let second = s.next(&[RunStatus::Complete], false).expect("a second");
        assert_eq!(second.step.plan.link.as_ref().map(|l| l.rtt_ms), Some(10.0));
        assert_eq!(s.next(&[RunStatus::Complete, RunStatus::Failed], false), None);
        assert_eq!(s.next(&[RunStatus::Complete], true), None, "cancelled");
        let all = [RunStatus::Complete; 3];
        assert_eq!(s.next(&all, false), None);
        assert!(s.finished(&all) && !s.finished(&all[..2]));
    }

    #[test]
    fn a_bad_point_is_refused_before_anything_runs() {
        let plan = Plan { sets: 1, calls: 2, ..Plan::default() };
        let err = Sweep::new(&plan, "rtt=fast").expect_err("not a time").to_string();
        assert!(err.starts_with("sweep rtt=fast"), "{err}");
        let err = Sweep::new(&plan, "payload=1k,100mib").expect_err("too large").to_string();
        assert!(err.contains("payload"), "{err}");
    }
}
