//! A plan that passed its checks, and each kind of client's part of it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::Plan;
use crate::power::PowerSettings;
use crate::transport::{ClientKind, Transport, WebTrust};

/// A plan that passed [`Plan::check`]: the only kind the runner, a run session and browser
/// join take, so nothing runs unchecked and nothing is checked twice. It reads as a [`Plan`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct CheckedPlan(pub(super) Plan);

impl std::ops::Deref for CheckedPlan {
    type Target = Plan;
    fn deref(&self) -> &Plan {
        &self.0
    }
}

/// What one kind of client runs of a checked plan: its part of the plan, its blocks in the
/// order they run, and how many calls it records. The web view and joined browsers are handed
/// this, so they run the engine's order, not one of their own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct ClientRun {
    pub client: ClientKind,
    pub plan: Plan,
    /// (transport, set), in the order they run.
    pub blocks: Vec<(Transport, u32)>,
    /// Calls recorded in all: blocks × calls × concurrency.
    pub calls: u64,
    /// How each transport of this client is named in every view ([`ClientKind::label`]).
    #[serde(default)]
    pub labels: Vec<(Transport, String)>,
}

impl CheckedPlan {
    pub fn into_plan(self) -> Plan {
        self.0
    }

    /// What the native clients run of this plan; None when none of its transports runs on them.
    pub fn native_run(&self) -> Option<ClientRun> {
        Self::run_of(ClientKind::Native, self.for_client(ClientKind::Native)?)
    }

    /// What a web client runs of this plan, given whether its browser trusts the server's
    /// certificate; None when none of its transports runs there.
    pub fn web_run(&self, trust: WebTrust) -> Option<ClientRun> {
        Self::run_of(ClientKind::Webview, self.for_web(trust)?)
    }

    fn run_of(client: ClientKind, part: CheckedPlan) -> Option<ClientRun> {
        let labels = part.transports.iter().map(|&t| (t, client.label(t))).collect();
        Some(ClientRun {
            client,
            blocks: part.blocks(),
            calls: part.total_calls(),
            labels,
            plan: part.into_plan(),
        })
    }

    /// About how long `calls` calls take at the plan's pace (its interval or rate), with the
    /// idle baseline; None back to back, where only the network decides.
    pub fn paced_seconds(&self, calls: u64) -> Option<f64> {
        let period_s = match self.rate {
            Some(rate) => 1.0 / rate,
            None => self.interval_ms / 1e3,
        };
        let baseline_s = if self.power.enabled() { self.power.baseline_ms as f64 / 1e3 } else { 0.0 };
        (period_s > 0.0).then(|| calls as f64 / f64::from(self.concurrency.max(1)) * period_s + baseline_s)
    }

    /// The part one kind of client runs (a checked plan's transports, fewer of them).
    pub fn for_client(&self, client: ClientKind) -> Option<CheckedPlan> {
        self.0.for_client(client).map(CheckedPlan)
    }

    /// The part a web client runs, given whether its browser trusts the server's certificate.
    pub fn for_web(&self, trust: WebTrust) -> Option<CheckedPlan> {
        self.0.for_web(trust).map(CheckedPlan)
    }

    /// The same plan without power sampling (a part of a run whose power is sampled by the
    /// session around it).
    pub fn with_power_off(mut self) -> CheckedPlan {
        self.0.power = PowerSettings::OFF;
        self
    }
}
