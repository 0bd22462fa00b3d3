//! Running: the plan form's check, a run's native part (a [`RunSession`] of the engine's), its
//! cancel switch, and its end once the page has measured the web-view part. Measuring,
//! statistics and storage all live in `duplex-core`.

use duplex_core::clients::{Transport, Trust, WebTrust};
use duplex_core::export::html::{RunView, view_of};
use duplex_core::link::{LabelledLink, Link, Relay};
use duplex_core::plan::{CheckedPlan, ClientRun, Plan, SweepStep};
use duplex_core::platform::PlatformInfo;
use duplex_core::power::Probe;
use duplex_core::record::{ClientKind, ClientPart, RunStatus};
use duplex_core::runner::Target;
use duplex_core::server::join::WebTransportAccess;
use duplex_core::session::{Finished, RunSession, Update};
use duplex_core::stats::AnalysisOptions;
use duplex_core::sweep::{Sweep, SweepRun};
use serde::{Deserialize, Serialize};
use tauri::ipc::Channel;
use tauri::{AppHandle, Runtime, State};
use ts_rs::TS;

use crate::error::{AppError, AppResult};
use crate::state::DuplexState;

#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    pub version: &'static str,
    /// The embedded server's address, or why it is not running.
    pub server: Result<String, String>,
    /// SHA-256 of the certificate the embedded server presents over TLS (made at its start).
    pub tls_fingerprint: Option<String>,
    /// How the web view reaches the embedded server's WebTransport.
    pub webtransport: WebTransportAccess,
    pub data_dir: String,
    pub platform: PlatformInfo,
    pub presets: Vec<Plan>,
    /// Which kinds of client can measure each transport.
    pub transports: Vec<TransportClients>,
    /// Link profiles the plan form offers (`Plan::link`).
    pub links: Vec<LabelledLink>,
}

#[derive(Debug, Serialize, TS)]
pub struct TransportClients {
    pub transport: Transport,
    pub clients: Vec<ClientKind>,
    /// Why the web view cannot measure it, when it cannot.
    pub webview_refusal: Option<String>,
}

#[tauri::command]
pub async fn app_info(state: State<'_, DuplexState>) -> AppResult<AppInfo> {
    let presets = Plan::preset_names().map(Plan::preset).collect::<Result<Vec<_>, _>>()?;
    let trust = state.webview_trust.get();
    let links = Link::profile_names()
        .map(|name| Link::profile(name).map(|l| l.labelled()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| AppError::State(e.to_string()))?;
    Ok(AppInfo {
        links,
        version: duplex_core::VERSION,
        server: state.server.as_ref().map(|s| s.local_addr().to_string()).map_err(Clone::clone),
        tls_fingerprint: state.server.as_ref().ok().and_then(|s| s.tls()).map(|t| t.fingerprint().to_owned()),
        webtransport: match &state.server {
            Ok(s) => WebTransportAccess::of(s.tls(), s.quic_unavailable()),
            Err(why) => WebTransportAccess::of(None, Some(why)),
        },
        data_dir: state.data_dir.display().to_string(),
        platform: duplex_core::platform::this_machine(),
        presets,
        transports: Transport::ALL
            .into_iter()
            .map(|transport| TransportClients {
                transport,
                clients: [
                    transport.runs_on(ClientKind::Native).then_some(ClientKind::Native),
                    transport.webview_refusal(trust).is_none().then_some(ClientKind::Webview),
                ]
                .into_iter()
                .flatten()
                .collect(),
                webview_refusal: transport.webview_refusal(trust).map(str::to_owned),
            })
            .collect(),
    })
}

#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RunRequest {
    pub plan: Plan,
    /// A remote Duplex server for the native clients; None for the embedded one.
    pub target_url: Option<String>,
    /// The remote server is not Duplex's: a WebSocket echo server (`ws://`, `wss://`) or an
    /// HTTP endpoint (`http://`, `https://`), measured with Duplex's echo message.
    #[serde(default)]
    pub foreign: bool,
    /// How the native clients trust a remote server's TLS certificate: its SHA-256
    /// fingerprint, or a PEM file (a private CA's, or the server's own certificate); empty: the
    /// platform's trust store. The same rules as the command line's --fingerprint and --ca-cert.
    #[serde(default)]
    #[ts(optional)]
    pub trust: Option<String>,
    pub native: bool,
    pub webview: bool,
    /// Run the plan once per value of one link setting (`rtt=0,10,50,100,200ms`, over the plan's
    /// link or none) or of the payload (`payload=1k,16k,64k`).
    #[serde(default)]
    #[ts(optional)]
    pub sweep: Option<String>,
}

/// A request the engine accepts: a checked plan, a target it can use, and which kinds of
/// client measure which part.
struct Checked {
    plan: CheckedPlan,
    target: Target,
    /// The native clients run (they have transports to measure).
    native: bool,
    /// What the web view runs, if anything.
    webview: Option<ClientRun>,
}

/// The one check of a run request, for the form (`validate_plan`) and for `start_run` alike.
fn check(request: &RunRequest, embedded: Target, trust: WebTrust) -> AppResult<Checked> {
    let RunRequest { plan, target_url, foreign, trust: tls_trust, native, webview, sweep: _ } =
        request.clone();
    if !native && !webview {
        return Err(AppError::State("choose native clients, web-view clients, or both".into()));
    }
    let target = match target_url {
        Some(_) if webview => {
            return Err(AppError::State(
                "web-view clients measure the embedded server only; use native clients for a remote server"
                    .into(),
            ));
        }
        Some(url) if foreign => {
            let target = Target::foreign_url(&url, Default::default()).map_err(AppError::Target)?;
            target.check_transports(&plan.transports).map_err(AppError::Target)?;
            target
        }
        Some(url) => Target::remote(&url).map_err(AppError::Target)?,
        None => embedded,
    };
    let target = match tls_trust.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(words) => target.trusting(Trust::from_words(words).map_err(AppError::Target)?),
        None => target,
    };
    let plan = plan.check()?;
    let native = native && plan.for_client(ClientKind::Native).is_some();
    let webview = webview.then(|| plan.web_run(trust)).flatten();
    if !native && webview.is_none() {
        return Err(AppError::State("none of the chosen transports runs on the chosen clients".into()));
    }
    Ok(Checked { plan, target, native, webview })
}

/// The engine's answer to the plan form: what it would refuse, in plain words (nothing when
/// the plan can run), and otherwise what each kind of client would run and about how long.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PlanCheck {
    pub problems: Vec<String>,
    pub native: Option<ClientRun>,
    pub webview: Option<ClientRun>,
    /// At the plan's pace (interval or rate), or over its link, with the idle baseline; None
    /// back to back on no link.
    pub paced_seconds: Option<f64>,
    /// A sweep's plans, one run each; empty without a sweep.
    pub sweep: Vec<SweepStep>,
}

/// A request's sweep (None without one), or why it cannot run.
fn sweep_of(request: &RunRequest) -> Result<Option<Sweep>, String> {
    let Some(spec) = request.sweep.as_deref().map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    Sweep::new(&request.plan, spec).map(Some).map_err(|e| e.to_string())
}

fn sweep_steps(request: &RunRequest) -> Result<Vec<SweepStep>, String> {
    Ok(sweep_of(request)?.map(|s| s.steps().to_vec()).unwrap_or_default())
}

/// A sweep's next run after the runs that ended as `ran` says, or None when it is over (every
/// point ran, one did not complete, or the person cancelled): the engine's [`Sweep`] decides,
/// the page runs each one as any other run.
#[tauri::command]
pub fn next_sweep_run(
    request: RunRequest,
    ran: Vec<RunStatus>,
    cancelled: bool,
) -> AppResult<Option<SweepRun>> {
    let sweep = sweep_of(&request)
        .map_err(AppError::State)?
        .ok_or_else(|| AppError::State("the plan has no sweep".into()))?;
    Ok(sweep.next(&ran, cancelled))
}

#[tauri::command]
pub fn validate_plan(state: State<'_, DuplexState>, request: RunRequest) -> PlanCheck {
    let trust = state.webview_trust.get();
    let checked = state.embedded_target().and_then(|embedded| check(&request, embedded, trust));
    match (checked, sweep_steps(&request)) {
        (Ok(checked), Ok(sweep)) => {
            let native = checked.native.then(|| checked.plan.native_run()).flatten();
            let webview = checked.webview;
            let calls = native.iter().chain(&webview).map(|r| r.calls).sum();
            let runs = sweep.len().max(1) as f64;
            PlanCheck {
                problems: Vec::new(),
                // At the plan's pace, or over its link, where either decides.
                paced_seconds: checked
                    .plan
                    .paced_seconds(calls)
                    .or_else(|| checked.plan.seconds_over_link())
                    .map(|s| s * runs),
                native,
                webview,
                sweep,
            }
        }
        (checked, sweep) => PlanCheck {
            problems: checked.err().map(|e| e.to_string()).into_iter().chain(sweep.err()).collect(),
            native: None,
            webview: None,
            paced_seconds: None,
            sweep: Vec::new(),
        },
    }
}

/// The run after its native part: the UI runs the web-view part next, then `finish_run`.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PendingRun {
    pub run_id: String,
    pub status: RunStatus,
    pub error: Option<String>,
    /// The embedded server the web-view clients should use.
    pub server: String,
    pub native_samples: usize,
    /// What the page's own clients run next, if anything.
    pub webview: Option<ClientRun>,
}

/// Starts a run and measures its native part (if any), streaming progress to `on_update`. A
/// run whose target cannot be opened fails here, before its idle baseline, and stores nothing.
#[tauri::command]
pub async fn start_run<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, DuplexState>,
    request: RunRequest,
    on_update: Channel<Update>,
) -> AppResult<PendingRun> {
    let server = state.server_addr()?;
    let Checked { plan, target, native, webview } =
        check(&request, state.embedded_target()?, state.webview_trust.get())?;
    let (abandoned, cancel) = {
        let mut slot = state.run();
        if slot.cancel.is_some() {
            return Err(AppError::State("a run is already in progress".into()));
        }
        let cancel = tokio_util::sync::CancellationToken::new();
        slot.cancel = Some(cancel.clone());
        (slot.pending.take(), cancel)
    };
    if let Some(session) = abandoned {
        // The page went away between the two parts of a run (reload, crash): keep its native part.
        store(&state, session)?;
    }
    // The native part goes into the history as it is measured (a second connection to it): if
    // the app dies mid-run, the next start recovers what was written.
    let history = state.open_history().map_err(|e| tracing::warn!("{e}")).ok();
    let mut session = RunSession::new(plan, &target, power_sensors(&app), history);
    // A closed channel means the window went away; the run still finishes and is stored.
    let send = |update: Update| {
        let _ = on_update.send(update);
    };
    let measured = if native {
        session.run_native(target, cancel.clone(), send).await.map_err(AppError::from)
    } else {
        session.skip_native(server.to_string(), &cancel, send).await;
        Ok(())
    };
    // Over an emulated link, the web view's connections go through a relay of their own,
    // kept until the run is finished.
    let relay = match (&webview, session.record().plan.link.as_ref().filter(|l| !l.is_direct())) {
        (Some(_), Some(link)) => Some(
            Relay::start(link, &[server])
                .await
                .map_err(|e| AppError::State(format!("cannot start the link relay: {e}")))?,
        ),
        _ => None,
    };
    let mut slot = state.run();
    slot.cancel = None;
    measured?;
    let record = session.record();
    let pending = PendingRun {
        run_id: record.id.clone(),
        status: record.status,
        error: record.error.clone(),
        server: relay.as_ref().map_or(server, Relay::local_addr).to_string(),
        native_samples: record.samples.len(),
        webview,
    };
    slot.pending = Some(session);
    slot.relay = relay;
    Ok(pending)
}

/// The engine's sensors; on Android the battery is read through the BatteryManager plugin.
fn power_sensors<R: Runtime>(app: &AppHandle<R>) -> Vec<Probe> {
    let mut sensors = duplex_core::power::default_sensors();
    if cfg!(target_os = "android") {
        sensors.retain(|p| !matches!(p, Err(u) if u.sensor == "battery"));
        sensors.push(tauri_plugin_duplex_battery::probe(app));
    }
    sensors
}

/// Stops the native part of the run in progress; what was measured is kept.
#[tauri::command]
pub fn cancel_run(state: State<'_, DuplexState>) -> bool {
    match &state.run().cancel {
        Some(cancel) => {
            cancel.cancel();
            true
        }
        None => false,
    }
}

/// Merges the web-view part (if any) into the pending run, stores it, and returns it. A part
/// that does not fit the plan is refused, and the native part is stored with the reason.
#[tauri::command]
pub async fn finish_run(state: State<'_, DuplexState>, part: Option<ClientPart>) -> AppResult<RunView> {
    let mut session = {
        let mut slot = state.run();
        slot.relay = None;
        slot.pending.take().ok_or_else(|| AppError::State("no run is waiting to finish".into()))?
    };
    if let Some(part) = part {
        session.merge_or_note(part);
    }
    store(&state, session)
}

/// Finishes a session (power stopped, analysed, saved whole into the history) and returns its
/// view. A session that could not open its own connection to the history is saved through the
/// app's.
fn store(state: &DuplexState, session: RunSession) -> AppResult<RunView> {
    let Finished { record, report, headline, saved, write_problem } =
        session.finish(&AnalysisOptions::default());
    if let Some(problem) = write_problem {
        tracing::warn!("samples were not written to the history during the run: {problem}");
    }
    match saved {
        Some(Ok(())) => {}
        Some(Err(_)) | None => state.history().save(&record, headline.as_deref())?,
    }
    Ok(view_of(record, report))
}
