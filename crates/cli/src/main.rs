//! `duplex`: WebSocket vs AJAX from a terminal. `bench` runs a comparison and writes a CSV
//! report; `serve` runs the echo server alone for clients on other machines; `monitor` watches
//! a live system monitor by push and by poll side by side. It turns arguments into the engine's
//! checked plans and prints what the engine returns ([`output`]); it may use `duplex-core`
//! only, which re-exports the crates below it.

mod args;
mod fanout;
mod monitor;
mod output;
mod progress;
mod soak;
mod sweep;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use duplex_core::clients::Transport;
use duplex_core::link::Relay;
use duplex_core::record::RunStatus;
use duplex_core::server::join::{BrowserJoin, DirAssets};
use duplex_core::server::{Server, ServerConfig, lan, new_token};
use duplex_core::session::{RunSession, Update, join_sink};
use duplex_core::stats::AnalysisOptions;
use output::Mode;
use progress::Progress;
use tokio_util::sync::CancellationToken;

use args::{
    BenchArgs, Cli, Command, CompareArgs, GroupByArg, HistoryArgs, ImportArgs, ListArgs, SchemaArgs,
    ServeArgs,
};
use duplex_core::export::bundle::read_bundle;
use duplex_core::record::RunRecord;
use duplex_core::stats::platforms::{CompareOptions, GroupBy, compare_platforms, platform_label};
use duplex_core::stats::thresholds::Threshold;
use duplex_core::storage::History;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DUPLEX_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    // Before any thread starts: the runtime's and the run's threads inherit the core.
    let pin = match &cli.command {
        Command::Bench(args) => args.pin.core(),
        Command::Serve(args) => args.pin.core(),
        _ => None,
    };
    if let Some(core) = pin {
        if let Err(e) = duplex_core::pin::pin_this_thread(core) {
            return fail(anyhow::anyhow!("--pin: {e}"));
        }
        err(&format!("pinned to core {core}: every thread of this process runs there\n"));
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(anyhow::anyhow!("cannot start the async runtime: {e}")),
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Bench(args) if args.floor => floor(&args).await,
            Command::Bench(args) if args.sweep.is_some() => {
                let spec = args.sweep.clone().unwrap_or_default();
                sweep::run(&args, &spec).await
            }
            Command::Bench(args) => bench(*args).await,
            Command::Serve(args) => serve(*args).await,
            Command::Import(args) => import(&args),
            Command::History(args) => history(&args),
            Command::Compare(args) => compare(&args),
            Command::Monitor(args) => monitor::monitor(&args).await,
            Command::Soak(args) => soak::run(&args).await,
            Command::Fanout(args) => fanout::run(&args).await,
            Command::Schema(args) => schema(&args),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => fail(e),
    }
}

/// Writes to stdout without panicking when it is closed (`duplex bench | head`, a parent that
/// stopped reading): a server must keep serving, a finished run has already written its CSV.
fn out(text: &str) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush());
}

/// Writes to stderr, with any access token in the text redacted: errors name URLs, and what
/// is printed ends up in terminals' scrollback and CI logs.
fn err(text: &str) {
    use std::io::Write as _;
    let _ = std::io::stderr().write_all(duplex_core::redact::redact(text).as_bytes());
}

fn fail(e: anyhow::Error) -> ExitCode {
    err(&format!("duplex: error: {}\n", words(&e)));
    ExitCode::FAILURE
}

/// Over a slow link a plan made for loopback takes hours: how long, said before it starts, and
/// how to take a quicker look.
fn say_how_long_over_the_link(plan: &duplex_core::plan::CheckedPlan) {
    let Some(seconds) = plan.seconds_over_link().filter(|s| *s > 120.0) else { return };
    let link = plan.link.as_ref().map_or_else(String::new, |l| l.name.clone());
    let quick = duplex_core::plan::Plan { sets: 1, calls: 20, warmup: 1, ..(**plan).clone() };
    let quick_s = quick.seconds_over_link().unwrap_or(0.0);
    err(&format!(
        "duplex: over {link} this plan takes about {} ({} calls and their warm-up): for a quicker look, \
         -s 1 -n 20 --warmup 1 takes about {}\n",
        duration_words(seconds),
        plan.total_calls(),
        duration_words(quick_s)
    ));
}

/// "45 s", "12 min", "2 h 5 min".
fn duration_words(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match s {
        0..120 => format!("{s} s"),
        120..7200 => format!("{} min", (s + 30) / 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// An error and its causes, each said once: a cause whose words are already in the message
/// (an error that prints its source, SQLite's message and its code) is not repeated.
fn words(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if part.is_empty() || text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

/// A switch that Ctrl-C turns: what was measured so far is kept.
fn cancel_on_ctrl_c() -> CancellationToken {
    let cancel = CancellationToken::new();
    tokio::spawn({
        let cancel = cancel.clone();
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
            }
        }
    });
    cancel
}

/// Exit status of a run that measured everything but missed a threshold (as k6's).
const THRESHOLD_FAILED: u8 = 99;

/// Parses the --assert expressions and checks that the plan measures what they read, before
/// the run.
fn thresholds(args: &BenchArgs, plan: &duplex_core::plan::CheckedPlan) -> anyhow::Result<Vec<Threshold>> {
    args.thresholds
        .iter()
        .map(|text| {
            let threshold = Threshold::parse(text)?;
            for o in threshold.operands() {
                if o.client == duplex_core::record::ClientKind::Webview {
                    anyhow::bail!(
                        "--assert {text:?}: the command line has no web view (native clients only)"
                    );
                }
                if !o.transport.runs_on(duplex_core::record::ClientKind::Native) {
                    anyhow::bail!(
                        "--assert {text:?}: {} is measured by web clients only (the app's web view, or a \
                         browser that joins duplex serve --lan); the command line's clients cannot",
                        o.transport
                    );
                }
                if !plan.transports.contains(&o.transport) {
                    anyhow::bail!(
                        "--assert {text:?}: the plan does not measure {} (add it with -t)",
                        o.transport
                    );
                }
            }
            Ok(threshold)
        })
        .collect()
}

async fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let plan = args.plan()?;
    let target = args.target()?;
    let thresholds = thresholds(&args, &plan)?;
    let total = plan.total_calls();
    if args.html.is_some() {
        // Asked for by name: a build that cannot write it says so before measuring anything.
        duplex_core::export::html::available().context("--html")?;
    }
    say_how_long_over_the_link(&plan);
    // The run goes into the history as it is measured: a crash keeps what was written.
    let history = if args.no_history {
        None
    } else {
        open_history(&args.history)
            .map_err(|e| {
                let kept = if args.no_csv {
                    "only what this command prints will be kept".to_owned()
                } else {
                    format!("its CSV report is still written to {}", args.csv.display())
                };
                err(&format!(
                    "duplex: warning: the run will not be stored in the history ({kept}): {}\n",
                    words(&e)
                ))
            })
            .ok()
    };
    let mut session = RunSession::new(plan, &target, duplex_core::power::default_sensors(), history);
    let cancel = cancel_on_ctrl_c();
    let mut bar = Progress::new(total, args.json);
    // The latest median of each transport so far, in the order they first ran.
    let mut p50s: Vec<(Transport, f64)> = Vec::new();
    let mut said_cancelling = false;
    let mut say_cancelling = |bar: &Progress| {
        if cancel.is_cancelled() && !said_cancelling {
            said_cancelling = true;
            bar.say("cancelling: finishing the calls in flight, keeping what was measured");
        }
    };
    let measured = session
        .run_native(target, cancel.clone(), |update| {
            say_cancelling(&bar);
            match update {
                Update::Started { server, topology, .. } => {
                    bar.say(&format!("measuring against {server} ({})", topology.name()));
                }
                Update::Baseline { duration_ms } => {
                    bar.status(format!(
                        "idle baseline for power: {:.1} s without traffic",
                        duration_ms as f64 / 1e3
                    ));
                }
                Update::Progress { transport, set, sets, done, p50_us, .. } => {
                    if let Some(us) = p50_us {
                        match p50s.iter_mut().find(|(t, _)| *t == transport) {
                            Some(entry) => entry.1 = us,
                            None => p50s.push((transport, us)),
                        }
                    }
                    let medians: Vec<String> = p50s
                        .iter()
                        .map(|(t, us)| format!("{t} p50 {}", duplex_core::stats::format_us(*us)))
                        .collect();
                    bar.update(done, format!("{transport} set {set}/{sets} | {}", medians.join(", ")));
                }
            }
        })
        .await;
    say_cancelling(&bar);
    bar.finish();
    measured?;

    let finished = session.finish(&AnalysisOptions { interval_us: args.normal_interval() });
    if let Some(problem) = &finished.write_problem {
        err(&format!("duplex: warning: samples were not written to the history during the run: {problem}\n"));
    }
    match &finished.saved {
        Some(Ok(())) => tracing::info!("stored run {} in the history", finished.record.id),
        Some(Err(e)) => err(&format!("duplex: warning: the run was not stored in the history: {e}\n")),
        None => {}
    }
    let (record, report) = (&finished.record, &finished.report);
    let files = if args.no_csv {
        None
    } else {
        Some(duplex_core::export::write_report(&args.csv, record, report).context("writing the CSV report")?)
    };
    let html = match &args.html {
        Some(path) => {
            let view = duplex_core::export::html::view_of(record.clone(), report.clone());
            duplex_core::export::html::write_html(path, &view).context("writing the HTML report")?;
            Some(path.clone())
        }
        None => None,
    };
    output::emit(Mode::json(args.json), &output::Bench::new(record, report, files, html))?;
    // Thresholds go to stderr (stdout may be JSON), one line each, as CI logs show them.
    let outcomes: Vec<_> = thresholds.iter().map(|t| t.check(report)).collect();
    for outcome in &outcomes {
        err(&format!("{outcome}\n"));
    }
    let missed = outcomes.iter().filter(|o| !o.passed).count();
    if missed > 0 && record.status == RunStatus::Complete {
        err(&format!("duplex: {missed} of {} threshold(s) failed\n", outcomes.len()));
        return Ok(ExitCode::from(THRESHOLD_FAILED));
    }
    Ok(match record.status {
        RunStatus::Complete => ExitCode::SUCCESS,
        RunStatus::Cancelled => ExitCode::from(130),
        RunStatus::Failed => {
            err(&format!("duplex: error: {}\n", record.error.as_deref().unwrap_or("run failed")));
            ExitCode::FAILURE
        }
    })
}

async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let bind = args.bind();
    let join_link = args.join_link()?;
    let mut config = ServerConfig {
        bind,
        tick_interval: Duration::from_millis(args.tick_ms.max(1)),
        tick_cpu: args.tick_cpu,
        monitor_hz: args.monitor_hz,
        max_message_bytes: args.max_message,
        allowed_hosts: args.allow_hosts.clone(),
        limits: args.limits.limits()?,
        ..ServerConfig::default()
    };
    let mut notes = Vec::new();
    // Every connection is an open file: the soft limit goes up to the hard one where the OS
    // allows (0: no such limit here).
    let files = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(0);
    let connections = u64::try_from(config.limits.max_connections).unwrap_or(u64::MAX);
    if files != 0 && files < connections.saturating_add(64) {
        notes.push(format!(
            "this process may open {files} files (the system's hard limit): about {} connections at once, \
             fewer than --max-connections {connections}",
            files.saturating_sub(64)
        ));
    }
    let mut relays = Vec::new();
    if args.lan {
        let token = match &args.token {
            Some(t) if t.chars().count() < 16 => anyhow::bail!("--token: use 16 characters or more"),
            Some(t) => t.clone(),
            None => new_token(),
        };
        config.access_token = Some(token);
        match browser_join(&args) {
            Ok(join) => {
                notes.push(format!(
                    "joined browsers' results are stored in {}",
                    args.history.path()?.display()
                ));
                config.browser_join = Some(join);
            }
            Err(why) => notes.push(format!("browser join is off: {why}")),
        }
    }
    let server = Server::start(config.clone()).await.map_err(|e| match e {
        duplex_core::server::ServerError::AddrInUse { addr } => anyhow::anyhow!(
            "{e}: for example duplex serve{} --bind {}:{}",
            if args.lan { " --lan" } else { "" },
            addr.ip(),
            if addr.port() == 9000 { 9001 } else { 0 }
        ),
        other => other.into(),
    })?;
    let addr = server.local_addr();
    out(&format!(
        "duplex echo server on {addr}\n  HTTP/1.1 and HTTP/2, cleartext and TLS, all on this one port\n"
    ));
    let fingerprint = server.tls().map(|t| t.fingerprint().to_owned());
    if let Some(f) = &fingerprint {
        out(&format!(
            "  TLS certificate made at start, SHA-256 {f}\n  \
             (clients elsewhere trust exactly it with --fingerprint; browsers ask you to accept it)\n"
        ));
    }
    let pin = fingerprint.map(|f| format!(" --fingerprint {f}")).unwrap_or_default();
    match &config.access_token {
        None => out(&format!(
            "  WebSocket echo  ws://{addr}/ws  wss://{addr}/ws   plain echo ws://{addr}/ws/echo\n  \
             AJAX echo       http://{addr}/echo  https://{addr}/echo (h2 by ALPN)\n  \
             events          ws://{addr}/ws/push  http://{addr}/events/sse | /events/latest | /events/next\n  \
             loopback only; for other devices: duplex serve --lan\n"
        )),
        Some(token) => {
            out("  LAN mode: every request needs the access token in its URL\n");
            // Over a link, browsers open the relay's port: the page and every connection it
            // makes cross the link; native clients may use the server's port (and --link).
            let relay = match &join_link {
                Some(link) => {
                    Some(Relay::in_front_of(addr, link).await.context("starting the join link's relay")?)
                }
                None => None,
            };
            let browsers = relay.as_ref().map_or(addr, |r| r.local_addr());
            for url in lan::join_urls(browsers, token) {
                out(&format!("  open in a browser: {url}\n"));
            }
            if let (Some(link), Some(relay)) = (&join_link, &relay) {
                out(&format!(
                    "  browsers join over the link {} (port {}, a relay; no loss emulated)\n",
                    link.describe(),
                    relay.local_addr().port()
                ));
            }
            relays.extend(relay);
            let urls = lan::join_urls(addr, token);
            match urls.first() {
                Some(url) => {
                    if let Ok(qr) = lan::qr_text(url) {
                        out(&format!("{qr}\n"));
                    }
                    out(&format!("  native clients elsewhere: duplex bench --target '{url}'{pin}\n"));
                }
                None => out("  no network address found: is this machine on a network?\n"),
            }
        }
    }
    for note in notes {
        out(&format!("  {note}\n"));
    }
    let shutdown = server.shutdown_token();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        shutdown.cancel();
    });
    server.wait().await?;
    drop(relays);
    Ok(ExitCode::SUCCESS)
}

/// Browser join for `duplex serve --lan`: the built web client, and a sink into the history.
fn browser_join(args: &ServeArgs) -> anyhow::Result<BrowserJoin> {
    let dir = args.web_dir().ok_or_else(|| {
        anyhow::anyhow!(
            "no built web client (build it with npm ci && npm run build in ui/, then pass --web-dir ui/dist)"
        )
    })?;
    let assets = DirAssets::new(dir).map_err(anyhow::Error::msg)?;
    let history = std::sync::Mutex::new(open_history(&args.history)?);
    let sink = join_sink(move |record, headline| {
        history.lock().map_err(|e| e.to_string())?.save(record, headline).map_err(|e| e.to_string())?;
        let short: String = record.id.chars().take(8).collect();
        out(&format!(
            "stored run {short} from {}: {}\n",
            platform_label(record),
            headline.unwrap_or("no verdict")
        ));
        Ok(())
    });
    BrowserJoin::new(&args.join_plan()?, std::sync::Arc::new(assets), sink).map_err(anyhow::Error::msg)
}

async fn floor(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let plan = args.plan()?;
    let report = tokio::task::spawn_blocking(move || duplex_core::floor::measure(&plan)).await??;
    output::emit(Mode::json(args.json), &output::Floor(report))?;
    Ok(ExitCode::SUCCESS)
}

fn open_history(args: &HistoryArgs) -> anyhow::Result<History> {
    let path = args.path()?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut history = History::open(&path)?;
    // Runs a crashed or killed duplex (or app) left half-written are finished with what they had.
    for id in history.recover()? {
        err(&format!("duplex: recovered interrupted run {id}: its samples so far are kept, marked failed\n"));
    }
    Ok(history)
}

fn read_bundle_file(path: &std::path::Path) -> anyhow::Result<Vec<RunRecord>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    Ok(read_bundle(std::io::BufReader::new(file)).with_context(|| path.display().to_string())?.runs)
}

fn import(args: &ImportArgs) -> anyhow::Result<ExitCode> {
    // Every file is read and checked before anything is written.
    let mut runs = Vec::new();
    for path in &args.bundles {
        runs.extend(read_bundle_file(path)?);
    }
    let imported = open_history(&args.history)?.import(&runs)?;
    out(&format!("imported {} run(s)\n", imported.added.len()));
    for id in &imported.already_here {
        out(&format!("  {id}: already in the history, left as it was\n"));
    }
    Ok(ExitCode::SUCCESS)
}

fn schema(args: &SchemaArgs) -> anyhow::Result<ExitCode> {
    let schema = output::schema(&args.document).ok_or_else(|| {
        anyhow::anyhow!("no document {:?}: one of {}", args.document, output::DOCUMENTS.join(", "))
    })?;
    out(&format!("{}\n", serde_json::to_string_pretty(&schema)?));
    Ok(ExitCode::SUCCESS)
}

fn history(args: &ListArgs) -> anyhow::Result<ExitCode> {
    if args.path {
        out(&format!("{}\n", args.history.path()?.display()));
        return Ok(ExitCode::SUCCESS);
    }
    let path = args.history.path()?;
    let runs = open_history(&args.history)?.list()?;
    output::emit(Mode::json(args.json), &output::HistoryList { history: path.display().to_string(), runs })?;
    Ok(ExitCode::SUCCESS)
}

fn compare(args: &CompareArgs) -> anyhow::Result<ExitCode> {
    let history = open_history(&args.history)?;
    let mut runs: Vec<RunRecord> = Vec::new();
    let listed = history.list()?;
    if args.all {
        for item in &listed {
            runs.push(history.load(&item.id)?);
        }
    }
    for arg in &args.runs {
        let path = std::path::Path::new(arg);
        if path.is_file() {
            runs.extend(read_bundle_file(path)?);
            continue;
        }
        let matches: Vec<&str> =
            listed.iter().map(|r| r.id.as_str()).filter(|id| id.starts_with(arg.as_str())).collect();
        match matches.as_slice() {
            [id] => runs.push(history.load(id)?),
            [] => anyhow::bail!(
                "{arg:?} is neither a bundle file nor a run in the history (see `duplex history`)"
            ),
            _ => anyhow::bail!("{arg:?} matches {} runs: give more of the id", matches.len()),
        }
    }
    let mut seen = std::collections::HashSet::new();
    runs.retain(|r| seen.insert(r.id.clone()));
    if runs.is_empty() && args.all {
        anyhow::bail!(
            "nothing to compare: the history at {} holds no runs yet; measure some with duplex bench, or bring \
             other devices' runs in with duplex import FILE",
            args.history.path()?.display()
        );
    }
    if runs.is_empty() {
        anyhow::bail!("nothing to compare: give run ids or bundle files, or --all");
    }
    let by = match args.by {
        GroupByArg::Run => GroupBy::Run,
        GroupByArg::Platform => GroupBy::Platform,
    };
    let comparison = compare_platforms(
        &runs,
        CompareOptions {
            by,
            include_incomplete: args.include_incomplete,
            link: args.link.clone(),
            across_topologies: args.across_topologies,
        },
    );
    if let Some(path) = &args.csv {
        duplex_core::export::csv::write_platform_comparison(duplex_core::export::create(path)?, &comparison)?;
    }
    output::emit(Mode::json(args.json), &output::Compare(comparison))?;
    Ok(ExitCode::SUCCESS)
}
