//! A run session: one run from its plan to its stored record, the same for the command line,
//! the app and browser join. It
//! - keeps the record of the whole plan, and the power monitor spanning every part of the run;
//! - measures the native clients' part (target opened, idle baseline, blocks), writing samples
//!   into the history as they come and keeping live medians for progress;
//! - takes in a part measured elsewhere (the web view's, a joined browser's), checked against
//!   the plan;
//! - and finishes: power stopped, the run analysed, its headline made, the whole saved.
//!
//! ```text
//! RunSession::new ── run_native ─┬─ merge (web view) ─┬─ finish ── Finished
//!                    or skip_native┘                    │
//! RunSession::joined (a browser's part) ────────────────┘
//! ```

use duplex_model::platform::PlatformInfo;
use duplex_model::record::{ClientKind, ClientPart, MergeError, RunRecord, RunStatus, Topology};
use duplex_model::{CheckedPlan, Transport};
use duplex_server::join::{JoinedPart, ResultSink, SinkError, Stored, StoredRow};
use schemars::JsonSchema;
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use crate::power::{PowerMonitor, Probe};
use crate::runner::{Part, RunError, RunEvent, Target, spawn};
use crate::stats::live::LiveByTransport;
use crate::stats::{AnalysisOptions, Report, analyze};
use crate::storage::{History, RunWriter};

/// What a session reports while it measures (the app streams it to its page; the command line
/// draws it as progress).
#[derive(Debug, Clone, PartialEq, Serialize, TS, JsonSchema)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Update {
    /// The target answered; measuring begins (after the idle baseline, if any).
    #[serde(rename_all = "camelCase")]
    Started { run_id: String, server: String, topology: Topology },
    /// The idle baseline for power: no traffic for this long.
    #[serde(rename_all = "camelCase")]
    Baseline { duration_ms: u64 },
    #[serde(rename_all = "camelCase")]
    Progress {
        client: ClientKind,
        transport: Transport,
        /// How every view names it ([`ClientKind::label`]).
        label: String,
        set: u32,
        sets: u32,
        /// Calls recorded so far by this kind of client, all transports.
        done: u64,
        total: u64,
        /// Calls recorded so far of `transport` (failed ones included), and its share of the plan.
        transport_done: u64,
        transport_total: u64,
        /// Median so far of `transport`, µs.
        p50_us: Option<f64>,
    },
}

/// The target recorded for a run a browser measured by joining a LAN server (the app's LAN
/// view lists these from the history).
pub const JOINED_TARGET: &str = "browser join";

/// Why a session's native part did not start: nothing was measured, and nothing should be
/// stored.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Run(#[from] RunError),
    /// The target could not be opened (unreachable, not a Duplex server, a payload it does not
    /// take): said before the idle baseline.
    #[error("{0}")]
    NotStarted(String),
}

/// A finished run: its record, its analysis, and whether the history took it.
#[derive(Debug)]
pub struct Finished {
    pub record: RunRecord,
    pub report: Report,
    pub headline: Option<String>,
    /// None when the session had no history; otherwise whether saving worked.
    pub saved: Option<Result<(), String>>,
    /// Why samples were not written into the history while they were measured, if they were not.
    pub write_problem: Option<String>,
}

pub struct RunSession {
    plan: CheckedPlan,
    part: Part,
    writer: Option<RunWriter>,
    live: LiveByTransport,
}

impl RunSession {
    /// A session for `plan` (the whole plan, all kinds of client), with the power monitor
    /// reading `sensors` and, given a history, the run written into it as it is measured.
    pub fn new(
        plan: CheckedPlan,
        target: &Target,
        sensors: Vec<Probe>,
        history: Option<History>,
    ) -> RunSession {
        let power = PowerMonitor::start(&plan.power, sensors);
        let record = RunRecord::new(plan.clone().into_plan(), target.name());
        RunSession {
            plan,
            part: Part { record, power },
            writer: history.map(RunWriter::new),
            live: LiveByTransport::default(),
        }
    }

    pub fn run_id(&self) -> &str {
        &self.part.record.id
    }

    /// The record so far (no power readings until [`RunSession::finish`]).
    pub fn record(&self) -> &RunRecord {
        &self.part.record
    }

    /// Measures the native clients' part of the plan against `target` on a thread of its own:
    /// the target is opened (and must answer) first, then the idle baseline, then the blocks.
    /// `cancel` stops it after the calls in flight; what was measured is kept. A target that
    /// cannot be opened is [`SessionError::NotStarted`]: nothing was measured or written.
    pub async fn run_native(
        &mut self,
        target: Target,
        cancel: CancellationToken,
        mut on_update: impl FnMut(Update),
    ) -> Result<(), SessionError> {
        let Some(plan) = self.plan.for_client(ClientKind::Native) else {
            return Ok(());
        };
        let per_transport = plan.calls_per_transport();
        // Power is the session's: the native part lends its monitor to the runner.
        let part = std::mem::replace(&mut self.part, placeholder());
        let mut handle = spawn(plan, target, part, cancel)?;
        let mut started = false;
        while let Some(event) = handle.events.recv().await {
            let update = match event {
                RunEvent::Started { run_id, server, topology, record } => {
                    started = true;
                    if let Some(w) = &mut self.writer {
                        w.begin(&record);
                    }
                    Update::Started { run_id, server, topology }
                }
                RunEvent::Samples(batch) => {
                    self.live.record(&batch);
                    if let Some(w) = &mut self.writer {
                        w.append(&batch);
                    }
                    continue;
                }
                RunEvent::Baseline { duration_ms } => Update::Baseline { duration_ms },
                RunEvent::Progress(p) => Update::Progress {
                    client: ClientKind::Native,
                    transport: p.transport,
                    label: ClientKind::Native.label(p.transport),
                    set: p.set,
                    sets: p.sets,
                    done: p.done,
                    total: p.total,
                    transport_done: self.live.recorded(p.transport),
                    transport_total: per_transport,
                    p50_us: self.live.p50_us(p.transport),
                },
            };
            on_update(update);
        }
        self.part = handle.finish().await?;
        if !started {
            let record = &self.part.record;
            return Err(SessionError::NotStarted(
                record.error.clone().unwrap_or_else(|| "the run did not start".into()),
            ));
        }
        Ok(())
    }

    /// No native part (web-view clients only): the idle baseline, and the record says where
    /// the web view measures.
    pub async fn skip_native(
        &mut self,
        server: String,
        cancel: &CancellationToken,
        mut on_update: impl FnMut(Update),
    ) {
        let record = &mut self.part.record;
        record.server = server;
        record.topology = Topology::Webview;
        record.platform = crate::platform::this_machine();
        let power = &mut self.part.power;
        if power.baseline_ms() > 0 {
            on_update(Update::Baseline { duration_ms: power.baseline_ms() });
        }
        if !power.idle_baseline(cancel).await {
            self.part.record.status = RunStatus::Cancelled;
        }
        on_update(Update::Started {
            run_id: self.part.record.id.clone(),
            server: self.part.record.server.clone(),
            topology: Topology::Webview,
        });
    }

    /// Takes in a part measured elsewhere (the web view's). A part that does not fit the plan
    /// is refused whole and the record stays as it was.
    pub fn merge(&mut self, part: ClientPart) -> Result<(), MergeError> {
        self.part.record.merge(part)
    }

    /// [`RunSession::merge`], keeping what was measured when the part is refused: the refusal
    /// becomes the run's error.
    pub fn merge_or_note(&mut self, part: ClientPart) {
        if let Err(e) = self.merge(part) {
            let record = &mut self.part.record;
            record.error = Some(match record.error.take() {
                Some(prev) => format!("{prev}; {e}"),
                None => e.to_string(),
            });
        }
    }

    /// Stops the power monitor, analyses the run and saves it whole into the history (if the
    /// session has one).
    pub fn finish(self, options: &AnalysisOptions) -> Finished {
        let RunSession { part: Part { mut record, power }, writer, .. } = self;
        record.power = power.finish();
        record.redact_secrets();
        record.fail_unanswered();
        if record.finished_at_unix_ns == 0 {
            record.finished_at_unix_ns = duplex_model::clock::now_unix_ns();
        }
        let report = analyze(&record, options);
        let headline = report.headline();
        let write_problem = writer.as_ref().and_then(|w| w.problem().map(str::to_owned));
        let saved =
            writer.map(|w| w.finish(&record, headline.as_deref()).map(drop).map_err(|e| e.to_string()));
        Finished { record, report, headline, saved, write_problem }
    }

    /// A joined browser's run: the record the server's ticket and the browser's device
    /// describe, with the browser's part merged in (refused whole if it does not fit).
    pub fn joined(joined: JoinedPart) -> Result<RunSession, MergeError> {
        let JoinedPart { run_id, issued_at_unix_ns, plan, host, peer, device, part } = joined;
        let mut session = RunSession::new(plan, &Target::default(), Vec::new(), None);
        let record = &mut session.part.record;
        record.id = run_id;
        record.target = JOINED_TARGET.into();
        record.started_at_unix_ns = issued_at_unix_ns;
        record.server = host;
        // The browser's round trips are timed on its own clock; the server's stamps on the host's.
        record.topology = match peer {
            Some(p) if p.ip().is_loopback() => Topology::SeparateProcess,
            _ => Topology::Remote,
        };
        record.platform =
            PlatformInfo::from_browser(&device, peer.map(|p| p.ip().to_string()).unwrap_or_default());
        session.merge(part)?;
        Ok(session)
    }
}

/// A record and monitor to stand in while the native part is away on the run thread.
fn placeholder() -> Part {
    Part {
        record: RunRecord::new(duplex_model::Plan::default(), String::new()),
        power: PowerMonitor::start(&crate::power::PowerSettings::OFF, Vec::new()),
    }
}

/// Browser join's sink: each joined browser's part becomes a finished run, handed to `store`
/// (the history) with its headline.
pub fn join_sink(
    store: impl Fn(&RunRecord, Option<&str>) -> Result<(), String> + Send + Sync + 'static,
) -> ResultSink {
    std::sync::Arc::new(move |joined: JoinedPart| {
        // A browser that measured nothing (its first connection failed) started no run: there
        // is nothing to store, as for a native run that never started.
        if joined.part.samples.is_empty() {
            let why = joined.part.error.as_deref().unwrap_or("the browser sent no samples");
            return Err(SinkError::Misfit(format!("nothing was measured, so nothing was stored: {why}")));
        }
        let session = RunSession::joined(joined).map_err(|e| SinkError::Misfit(e.to_string()))?;
        let finished = session.finish(&AnalysisOptions::default());
        store(&finished.record, finished.headline.as_deref()).map_err(SinkError::Store)?;
        let verdicts = finished.report.comparisons.iter().map(|c| c.verdict.clone()).collect();
        let rows = finished
            .report
            .transports
            .iter()
            .map(|t| StoredRow {
                label: t.label.clone(),
                calls: t.overall.count,
                errors: t.overall.errors,
                median: t.overall.words.p50.clone(),
                p99: t.overall.words.p99.clone(),
            })
            .collect();
        Ok(Stored { run_id: finished.record.id, headline: finished.headline, verdicts, rows })
    })
}
