//! Command-line arguments, parsed by clap and turned into the engine's plan and target.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use duplex_core::clients::{HttpMethod, Transport, Trust};
use duplex_core::plan::{CheckedPlan, Order, Plan};
use duplex_core::record::{ClientKind, Topology};
use duplex_core::runner::Target;
use duplex_core::server::Limits;
use duplex_core::transport::{DEFAULT_TEMPLATE, ForeignMessages};

#[derive(Debug, Parser)]
#[command(
    name = "duplex",
    version,
    about = "How much faster is a WebSocket than AJAX, on this device and network?"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a WebSocket-vs-AJAX comparison (embedded server unless --target) and write a CSV report.
    Bench(Box<BenchArgs>),
    /// Run the Duplex echo server alone, for clients on other machines.
    Serve(Box<ServeArgs>),
    /// Add runs from other devices (bundle files) to the history; runs already there are kept.
    Import(ImportArgs),
    /// List the runs in the history.
    History(ListArgs),
    /// Runs or platforms side by side: latency, bytes, CPU and energy per message, significance.
    Compare(CompareArgs),
    /// Live system monitor, pushed by WebSocket versus polled by AJAX, side by side.
    Monitor(MonitorArgs),
    /// Load and endurance: many WebSocket and HTTP clients at once; errors, memory, p99.
    Soak(SoakArgs),
    /// Push fan-out: one server event to 100, 1,000 and 10,000 subscribers by ws-push, long-poll
    /// and SSE; latency over the subscribers, server CPU and bytes per event.
    Fanout(FanoutArgs),
    /// The JSON Schema of a command's --json output (bench, compare, fanout, floor, history,
    /// monitor, soak).
    Schema(SchemaArgs),
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which document: bench, compare, fanout, floor (bench --floor), history, monitor or soak.
    pub document: String,
}

#[derive(Debug, Args)]
pub struct SoakArgs {
    /// WebSocket echo clients.
    #[arg(long, default_value_t = 1000)]
    pub ws: u32,
    /// HTTP (keep-alive) echo clients.
    #[arg(long, default_value_t = 100)]
    pub http: u32,
    /// How long, seconds.
    #[arg(long, default_value_t = 60.0)]
    pub seconds: f64,
    /// Echo messages per second from each client.
    #[arg(long, default_value_t = 2.0)]
    pub rate: f64,
    /// Payload bytes per message.
    #[arg(long, default_value_t = 64)]
    pub payload: usize,
    /// A Duplex server to load (its limits must allow the clients: duplex serve
    /// --max-connections-per-peer) [default: an embedded server on its own thread].
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// Emulate a network between the clients and the server (as `duplex bench --link`).
    #[arg(long, value_name = "LINK")]
    pub link: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct FanoutArgs {
    /// Subscriber counts, comma-separated: one measurement each.
    #[arg(long, value_delimiter = ',', default_value = "100,1000")]
    pub subscribers: Vec<u32>,
    /// Push transports, comma-separated: ws-push, long-poll, sse.
    #[arg(short, long, value_delimiter = ',', default_value = "ws-push,long-poll,sse")]
    pub transports: Vec<Transport>,
    /// Broadcasts measured per transport and count (after one to warm up).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub broadcasts: u32,
    /// Longest wait for one broadcast to reach everyone (and for everyone to connect), ms.
    #[arg(long, default_value_t = 20_000)]
    pub timeout_ms: u64,
    /// A Duplex server elsewhere (`duplex serve --tick-ms 1000 --max-long-polls …`): its ticks
    /// are the broadcasts, and its CPU is not seen [default: an embedded server on its own thread].
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// Directory for the CSV report (fanout-TIME.csv).
    #[arg(long, value_name = "DIR", default_value = "duplex-reports")]
    pub csv: PathBuf,
    /// Do not write a CSV report.
    #[arg(long)]
    pub no_csv: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// A Duplex server to watch (with ?token=… in LAN mode) [default: this machine, through an
    /// embedded server].
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// Snapshots per second of the embedded server's agent (0.1–20).
    #[arg(long, default_value_t = 1.0)]
    pub hz: f64,
    /// Interval of the AJAX poller, ms.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub poll_ms: u64,
    /// Long-poll (/monitor/next) instead of polling at an interval.
    #[arg(long)]
    pub long_poll: bool,
    /// Stop after this many seconds [default: at Ctrl-C].
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Write every answer and message of the session to this CSV file at the end.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Print the session summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub history: HistoryArgs,
    /// Print where the history is kept (the database file) instead of its runs.
    #[arg(long)]
    pub path: bool,
    /// Print the runs as JSON (schema: `duplex schema history`).
    #[arg(long)]
    pub json: bool,
}

/// Where runs are stored: the same history the app uses.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// History database (default: $DUPLEX_DATA_DIR/history.sqlite, else the app's data folder).
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
}

/// The app's data folder (`dev.duplex.app` under the OS's data directory), or DUPLEX_DATA_DIR.
pub const DATA_DIR_ENV: &str = "DUPLEX_DATA_DIR";

impl HistoryArgs {
    pub fn path(&self) -> anyhow::Result<PathBuf> {
        if let Some(p) = &self.history {
            return Ok(p.clone());
        }
        let dir = match std::env::var_os(DATA_DIR_ENV) {
            Some(dir) => PathBuf::from(dir),
            None => dirs::data_dir()
                .ok_or_else(|| anyhow::anyhow!("no data directory on this system: pass --history FILE"))?
                .join("dev.duplex.app"),
        };
        Ok(dir.join("history.sqlite"))
    }
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Bundle files (`…-bundle.json`, from `duplex bench` or the app's export).
    #[arg(required = true)]
    pub bundles: Vec<PathBuf>,
    #[command(flatten)]
    pub history: HistoryArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GroupByArg {
    /// A column per run.
    Run,
    /// Runs of one platform (and browser) pooled.
    Platform,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Run ids (or unique prefixes) from the history, or bundle files; none with --all.
    pub runs: Vec<String>,
    /// Every run in the history.
    #[arg(long)]
    pub all: bool,
    /// Group by run or by platform.
    #[arg(long, value_enum, default_value = "platform")]
    pub by: GroupByArg,
    /// Pool failed and cancelled runs too (left out of pooled groups by default).
    #[arg(long)]
    pub include_incomplete: bool,
    /// Only the runs measured over this link (its name in the run: 4g, rtt=50ms), or `none`.
    #[arg(long, value_name = "NAME")]
    pub link: Option<String>,
    /// Compare runs of different topologies on purpose (the app's cross-thread run beside a
    /// joined browser's, across processes); the report says how they differ.
    #[arg(long)]
    pub across_topologies: bool,
    /// Write the comparison as CSV to this file.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub history: HistoryArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TopologyArg {
    /// Client and embedded server on one thread (lowest noise).
    SameThread,
    /// Embedded server on its own thread.
    CrossThread,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OrderArg {
    Interleaved,
    InTurn,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MethodArg {
    Get,
    Post,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Start from a preset plan: quick (default), paper, push, energy.
    #[arg(long, default_value = "quick")]
    pub preset: String,
    /// Transports to measure, comma-separated: ws, wss, http, http-new, https, https-new, h2,
    /// ws-push, sse, long-poll, poll.
    #[arg(short, long, value_delimiter = ',')]
    pub transports: Option<Vec<Transport>>,
    /// Number of sets.
    #[arg(short, long)]
    pub sets: Option<u32>,
    /// Calls per set, per client.
    #[arg(short = 'n', long)]
    pub calls: Option<u32>,
    /// Pause between calls in ms (0 = back to back; the paper used 100).
    #[arg(short, long)]
    pub interval_ms: Option<f64>,
    /// Fixed rate per client (calls/s), latency corrected for coordinated omission.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Payload bytes per message.
    #[arg(short, long)]
    pub payload: Option<usize>,
    /// Unrecorded warm-up calls per client.
    #[arg(long)]
    pub warmup: Option<u32>,
    /// Concurrent clients per transport.
    #[arg(short, long)]
    pub concurrency: Option<u32>,
    /// Interleave the transports set by set, or run them in turn.
    #[arg(long, value_enum)]
    pub order: Option<OrderArg>,
    /// WebSocket echo with binary frames.
    #[arg(long)]
    pub binary: bool,
    /// AJAX method: post (JSON body, default) or get (query, like the paper).
    #[arg(long, value_enum)]
    pub http_method: Option<MethodArg>,
    /// Interval of the poll transport, ms.
    #[arg(long)]
    pub poll_interval_ms: Option<f64>,
    /// Event period of the embedded server for push transports, ms.
    #[arg(long)]
    pub tick_ms: Option<u64>,
    /// Per-call timeout, ms.
    #[arg(long)]
    pub timeout_ms: Option<u64>,
    /// Where the embedded server runs relative to the clients.
    #[arg(long, value_enum, default_value = "same-thread")]
    pub topology: TopologyArg,
    /// Measure against a running Duplex server (ws://, wss://, http:// or https://HOST:PORT).
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// Emulate a network between clients and server: a profile (lan, wifi, wifi-poor, 4g, 3g,
    /// 3g-slow, intercontinental, satellite, loopback), values such as
    /// rtt=80ms,jitter=10ms,down=8mbit,up=2mbit (also burst=1500b, one MTU unless given, and
    /// queue=1mib), or a profile file (.toml).
    #[arg(long, value_name = "LINK")]
    pub link: Option<String>,
    /// Run the plan once per value of one link setting (over --link, else over no link) or of
    /// the payload, e.g. rtt=0,10,50,100,200ms, down=256kbit,1mbit,8mbit or payload=1k,16k,64k,256k;
    /// prints medians against the setting with the link's model and writes sweep-RUN.csv and
    /// sweep-RUN.html (its picture; --html FILE to write it elsewhere).
    #[arg(long, value_name = "SETTING=VALUES", conflicts_with_all = ["json", "thresholds", "floor"])]
    pub sweep: Option<String>,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub pin: PinArgs,
    #[command(flatten)]
    pub foreign: ForeignArgs,
    /// Directory for the CSV report.
    #[arg(long, value_name = "DIR", default_value = "duplex-reports")]
    pub csv: PathBuf,
    /// Do not write a CSV report.
    #[arg(long, conflicts_with = "csv")]
    pub no_csv: bool,
    /// Print the result as JSON (for machines) instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Also write the run as one self-contained HTML report (verdicts, charts, tables) here.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// A threshold the run must meet, else duplex exits with 99 (repeatable): ws.p99<5ms,
    /// ws<http (medians), http/ws>=1.5 (ratio of medians), ws.errors<1. Statistics p50 (default),
    /// p90, p99, p999, mean, min, max, errors; units ns, us, ms, s.
    #[arg(long = "assert", value_name = "EXPR")]
    pub thresholds: Vec<String>,
    /// Interval [A,B] in µs for the normal fit's P(A <= X <= B), e.g. 10,50.
    #[arg(long, value_name = "A,B", value_parser = interval_us)]
    pub normal_interval: Option<(f64, f64)>,
    /// Period of the power, energy and CPU readings, ms (0 = do not sample).
    #[arg(long, value_name = "MS")]
    pub power_ms: Option<u64>,
    /// Idle baseline before the run, ms, subtracted from each transport's CPU and energy.
    #[arg(long, value_name = "MS")]
    pub baseline_ms: Option<u64>,
    /// Run each transport this long at the plan's pace, after an idle baseline as long (energy runs).
    #[arg(long, value_name = "M")]
    pub minutes: Option<f64>,
    /// Do not store the run in the history.
    #[arg(long)]
    pub no_history: bool,
    #[command(flatten)]
    pub history: HistoryArgs,
    /// Measure the floor instead: raw TCP, stock echo servers and Duplex, with ratios.
    #[arg(long)]
    pub floor: bool,
}

impl BenchArgs {
    pub fn plan(&self) -> Result<CheckedPlan, duplex_core::plan::PlanError> {
        let mut plan = Plan::preset(&self.preset)?;
        match &self.transports {
            Some(t) => plan.transports = t.clone(),
            // A foreign server: the echo transports its URLs' schemes offer.
            None if self.foreign.ws.is_some() || self.foreign.http.is_some() => {
                plan.transports = self.foreign.transports();
            }
            // A preset may list web-view transports (xhr) for the app; the CLI measures the rest.
            None => plan.transports.retain(|t| t.runs_on(ClientKind::Native)),
        }
        macro_rules! set {
            ($($field:ident <- $arg:expr),* $(,)?) => { $(if let Some(v) = $arg { plan.$field = v; })* };
        }
        set!(sets <- self.sets, calls <- self.calls, interval_ms <- self.interval_ms,
             payload_bytes <- self.payload, warmup <- self.warmup, concurrency <- self.concurrency,
             poll_interval_ms <- self.poll_interval_ms, tick_ms <- self.tick_ms, timeout_ms <- self.timeout_ms);
        if self.rate.is_some() {
            plan.rate = self.rate;
        }
        if let Some(order) = self.order {
            plan.order = match order {
                OrderArg::Interleaved => Order::Interleaved,
                OrderArg::InTurn => Order::InTurn,
            };
        }
        if let Some(m) = self.http_method {
            plan.http_method = match m {
                MethodArg::Get => HttpMethod::Get,
                MethodArg::Post => HttpMethod::Post,
            };
        }
        plan.binary |= self.binary;
        if let Some(spec) = &self.link {
            plan.link = Some(link_of(spec).map_err(duplex_core::plan::PlanError::Invalid)?);
        }
        if let Some(minutes) = self.minutes {
            plan = plan.with_minutes_per_transport(minutes)?;
        }
        if let Some(ms) = self.power_ms {
            plan.power.sample_ms = ms;
        }
        if let Some(ms) = self.baseline_ms {
            plan.power.baseline_ms = ms;
        }
        plan.check_for(ClientKind::Native)
    }

    /// Where to measure; a URL Duplex cannot use is refused here, before anything runs.
    pub fn target(&self) -> anyhow::Result<Target> {
        if self.foreign.ws.is_some() || self.foreign.http.is_some() {
            let messages = ForeignMessages {
                template: self.foreign.message.clone().unwrap_or_else(|| DEFAULT_TEMPLATE.to_owned()),
                reply: self.foreign.reply.parse().map_err(anyhow::Error::msg)?,
            };
            let target = Target::foreign(self.foreign.ws.as_deref(), self.foreign.http.as_deref(), messages)
                .map_err(anyhow::Error::msg)?
                .trusting(self.tls.trust()?);
            target.check_transports(&self.plan()?.transports).map_err(anyhow::Error::msg)?;
            return Ok(target);
        }
        Ok(match &self.target {
            Some(url) => Target::remote(url).map_err(anyhow::Error::msg)?.trusting(self.tls.trust()?),
            None => Target::Embedded {
                topology: match self.topology {
                    TopologyArg::SameThread => Topology::SameThread,
                    TopologyArg::CrossThread => Topology::CrossThread,
                },
            },
        })
    }

    pub fn normal_interval(&self) -> Option<(f64, f64)> {
        self.normal_interval.map(|(a, b)| (a.min(b), a.max(b)))
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:9000, or 0.0.0.0:9000 with --lan].
    #[arg(long)]
    pub bind: Option<SocketAddr>,
    /// LAN mode: reachable from other devices behind a random access token, shown as a URL and
    /// a QR code. Browsers that open the URL run the test and their results are stored here.
    #[arg(long)]
    pub lan: bool,
    /// Use this access token instead of a random one (scripted setups; 16 characters or more).
    #[arg(long, requires = "lan")]
    pub token: Option<String>,
    /// What joined browsers run: a preset (quick, paper, push, energy)…
    #[arg(long, default_value = "quick", value_name = "PRESET")]
    pub join_preset: String,
    /// …with these transports (of ws, http, xhr, sse)…
    #[arg(long, value_delimiter = ',', default_value = "ws,http,xhr")]
    pub join_transports: Vec<Transport>,
    /// …and this many sets…
    #[arg(long)]
    pub join_sets: Option<u32>,
    /// …of this many calls per transport…
    #[arg(long)]
    pub join_calls: Option<u32>,
    /// …over this emulated link (as bench --link: 4g, rtt=80ms,down=8mbit, a .toml profile):
    /// the URL browsers open is a link relay's, so the page and every connection it makes go
    /// through it.
    #[arg(long, value_name = "LINK", requires = "lan")]
    pub join_link: Option<String>,
    /// The built web client served to browsers [default: $DUPLEX_WEB_DIR, else ui/dist of this
    /// source tree].
    #[arg(long, value_name = "DIR")]
    pub web_dir: Option<PathBuf>,
    #[command(flatten)]
    pub history: HistoryArgs,
    /// Period of the server's tick event (push transports), ms.
    #[arg(long, default_value_t = 100)]
    pub tick_ms: u64,
    /// Each tick carries this process's CPU time, so that `duplex fanout --target` sees what a
    /// broadcast costs the server.
    #[arg(long)]
    pub tick_cpu: bool,
    /// Live-monitor snapshots per second while someone watches (0.1–20).
    #[arg(long, default_value_t = 1.0)]
    pub monitor_hz: f64,
    /// Largest WebSocket message / HTTP body accepted, bytes.
    #[arg(long, default_value_t = 1 << 20)]
    pub max_message: usize,
    /// Also answer requests to this host name (repeatable). The server answers only its own
    /// names and addresses otherwise, so that no web page can reach it by DNS rebinding.
    #[arg(long = "allow-host", value_name = "NAME")]
    pub allow_hosts: Vec<String>,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub pin: PinArgs,
}

/// A server that is not Duplex's: any WebSocket echo server and any HTTP endpoint.
#[derive(Debug, Args)]
pub struct ForeignArgs {
    /// Measure this WebSocket echo server (ws:// or wss://), which need not be Duplex's.
    #[arg(long, value_name = "URL", conflicts_with = "target")]
    pub ws: Option<String>,
    /// Measure this HTTP endpoint (http:// or https://), which need not be Duplex's: POSTed the
    /// message (GET with --http-method get).
    #[arg(long, value_name = "URL", conflicts_with = "target")]
    pub http: Option<String>,
    /// The message sent to them; {seq}, {time} (Unix seconds) and {payload} are filled in.
    /// Default: Duplex's JSON echo request.
    #[arg(long, value_name = "TEMPLATE")]
    pub message: Option<String>,
    /// What counts as the reply: next (the next WebSocket message, or the body of a 2xx
    /// response) or echo (the same bytes as the message).
    #[arg(long, value_name = "RULE", default_value = "next")]
    pub reply: String,
}

impl ForeignArgs {
    /// The echo transports the URLs' schemes offer.
    pub fn transports(&self) -> Vec<Transport> {
        let scheme =
            |u: &Option<String>| u.as_deref().and_then(|u| u.split_once("://")).map(|(s, _)| s.to_owned());
        let mut out = Vec::new();
        match scheme(&self.ws).as_deref() {
            Some("wss") => out.push(Transport::Wss),
            Some(_) => out.push(Transport::Ws),
            None => {}
        }
        match scheme(&self.http).as_deref() {
            Some("https") => out.extend([Transport::Https, Transport::HttpsNew]),
            Some(_) => out.extend([Transport::Http, Transport::HttpNew]),
            None => {}
        }
        out
    }
}

/// `10,50` (or `10 50`): two finite numbers of µs.
fn interval_us(text: &str) -> Result<(f64, f64), String> {
    let numbers: Vec<f64> = text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<f64>().ok().filter(|x| x.is_finite()))
        .collect::<Option<_>>()
        .ok_or_else(|| format!("{text:?}: give two numbers of µs, such as 10,50"))?;
    match numbers[..] {
        [a, b] => Ok((a, b)),
        _ => Err(format!("{text:?}: give two numbers of µs, such as 10,50")),
    }
}

/// Pinning a process to one core.
#[derive(Debug, Args)]
pub struct PinArgs {
    /// Run on one core only (Linux, Android): client and server threads then hand over without
    /// waking a sleeping CPU, so cross-thread and cross-process figures repeat to a few percent.
    /// Give a core, or none for the last. Pin both ends alike: duplex serve --pin 1 and duplex
    /// bench --pin 1 --target ….
    #[arg(long, value_name = "CORE", num_args = 0..=1)]
    pub pin: Option<Option<usize>>,
}

impl PinArgs {
    /// The core to pin to, if asked.
    pub fn core(&self) -> Option<usize> {
        self.pin.map(|core| core.unwrap_or_else(duplex_core::pin::default_core))
    }
}

/// How TLS clients trust a remote server (the platform's trust store unless one is given).
#[derive(Debug, Args)]
pub struct TlsArgs {
    /// Trust exactly the certificate with this SHA-256 fingerprint (as duplex serve prints it).
    #[arg(long, value_name = "SHA256", conflicts_with_all = ["ca_cert", "insecure"])]
    pub fingerprint: Option<String>,
    /// Also trust the CA certificates in this PEM file (a private CA).
    #[arg(long, value_name = "FILE", conflicts_with = "insecure")]
    pub ca_cert: Option<PathBuf>,
    /// Do not verify the server's certificate at all. Every report of the run says so.
    #[arg(long)]
    pub insecure: bool,
}

impl TlsArgs {
    pub fn trust(&self) -> anyhow::Result<Trust> {
        Ok(match (&self.fingerprint, &self.ca_cert, self.insecure) {
            (Some(f), _, _) => Trust::with_fingerprint(f).map_err(anyhow::Error::msg)?,
            (None, Some(file), _) => Trust::with_ca_file(file).map_err(anyhow::Error::msg)?,
            (None, None, true) => {
                eprintln!(
                    "WARNING: --insecure: the server's TLS certificate will not be verified; every report of this run says so"
                );
                Trust::Insecure
            }
            (None, None, false) => Trust::default(),
        })
    }
}

/// The server's limits (see docs/security.md); over one, a client gets a clear status or
/// close code.
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Connections open at once, WebSockets included (more: HTTP 503).
    #[arg(long, default_value_t = Limits::default().max_connections)]
    pub max_connections: usize,
    /// Connections open at once from one address (more: HTTP 503).
    #[arg(long, default_value_t = Limits::default().max_connections_per_peer)]
    pub max_connections_per_peer: usize,
    /// Bytes of a request's line and headers (more: HTTP 431).
    #[arg(long, default_value_t = Limits::default().max_header_bytes)]
    pub max_header_bytes: usize,
    /// Headers in one request (more: HTTP 431).
    #[arg(long, default_value_t = Limits::default().max_headers)]
    pub max_headers: usize,
    /// Seconds to send a request's headers; also the longest idle keep-alive (then: closed).
    #[arg(long, default_value_t = Limits::default().header_timeout.as_secs_f64())]
    pub header_timeout_s: f64,
    /// Seconds an echo WebSocket may go without a message (then: close 1008).
    #[arg(long, default_value_t = Limits::default().ws_idle_timeout.as_secs_f64())]
    pub ws_idle_s: f64,
    /// Long-polls waiting at once (more: HTTP 503).
    #[arg(long, default_value_t = Limits::default().max_long_polls)]
    pub max_long_polls: usize,
    /// HTTP/2 streams open at once on one connection (more: stream refused).
    #[arg(long, default_value_t = Limits::default().max_streams_per_connection)]
    pub max_streams: u32,
}

impl LimitArgs {
    pub fn limits(&self) -> anyhow::Result<Limits> {
        let seconds = |name: &str, s: f64| {
            if s.is_finite() && s > 0.0 && s < 1e6 {
                Ok(std::time::Duration::from_secs_f64(s))
            } else {
                Err(anyhow::anyhow!("--{name}: give a number of seconds above 0"))
            }
        };
        let at_least_one = |name: &str, n: usize| {
            if n >= 1 { Ok(n) } else { Err(anyhow::anyhow!("--{name}: must be at least 1")) }
        };
        Ok(Limits {
            max_connections: at_least_one("max-connections", self.max_connections)?,
            max_connections_per_peer: at_least_one(
                "max-connections-per-peer",
                self.max_connections_per_peer,
            )?,
            max_header_bytes: self.max_header_bytes.max(1024),
            max_headers: at_least_one("max-headers", self.max_headers)?,
            header_timeout: seconds("header-timeout-s", self.header_timeout_s)?,
            ws_idle_timeout: seconds("ws-idle-s", self.ws_idle_s)?,
            max_long_polls: at_least_one("max-long-polls", self.max_long_polls)?,
            max_streams_per_connection: u32::try_from(at_least_one(
                "max-streams",
                self.max_streams as usize,
            )?)
            .unwrap_or(u32::MAX),
        })
    }
}

impl ServeArgs {
    pub fn bind(&self) -> SocketAddr {
        self.bind
            .unwrap_or_else(|| SocketAddr::from((if self.lan { [0, 0, 0, 0] } else { [127, 0, 0, 1] }, 9000)))
    }

    /// The plan joined browsers run.
    pub fn join_plan(&self) -> anyhow::Result<CheckedPlan> {
        let mut plan = Plan::preset(&self.join_preset)?;
        plan.transports = self.join_transports.clone();
        plan.sets = self.join_sets.unwrap_or(plan.sets);
        plan.calls = self.join_calls.unwrap_or(plan.calls);
        plan.link = self.join_link()?;
        Ok(plan.joined().check()?)
    }

    /// The link joined browsers measure over (`--join-link`), if it delays or paces anything.
    pub fn join_link(&self) -> anyhow::Result<Option<duplex_core::link::Link>> {
        let link = self.join_link.as_deref().map(link_of).transpose();
        let link = link.map_err(|e| anyhow::anyhow!("--join-link: {e}"))?;
        Ok(link.filter(|l| !l.is_direct()))
    }

    /// Where the built web client is, if anywhere.
    pub fn web_dir(&self) -> Option<PathBuf> {
        let built_here = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../ui/dist"));
        self.web_dir
            .clone()
            .or_else(|| std::env::var_os(WEB_DIR_ENV).map(PathBuf::from))
            .or_else(|| built_here.join("join.html").is_file().then_some(built_here))
    }
}

/// The built web client for browser join, when --web-dir is not given.
pub const WEB_DIR_ENV: &str = "DUPLEX_WEB_DIR";

/// `--link`: a profile file (`.toml`), else a profile name or values.
pub fn link_of(spec: &str) -> Result<duplex_core::link::Link, String> {
    if spec.ends_with(".toml") {
        let text =
            std::fs::read_to_string(spec).map_err(|e| format!("cannot read link profile {spec}: {e}"))?;
        return duplex_core::link::Link::from_toml(&text).map_err(|e| format!("{spec}: {e}"));
    }
    duplex_core::link::Link::parse(spec).map_err(|e| e.to_string())
}
