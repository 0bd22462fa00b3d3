//! `duplex bench`'s options, and their one conversion into the engine's checked plan, target
//! and trust.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use duplex_core::clients::{HttpMethod, Transport};
use duplex_core::plan::{CheckedPlan, Order, Plan};
use duplex_core::record::{ClientKind, Topology};
use duplex_core::runner::Target;
use duplex_core::transport::{DEFAULT_TEMPLATE, ForeignMessages};

use crate::options::{HistoryArgs, PinArgs, TlsArgs, link_of};

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
    /// Transports to measure, comma-separated.
    #[arg(short, long, value_delimiter = ',',
          value_parser = crate::options::transport_of(|t| t.runs_on(ClientKind::Native)))]
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
            None if self.foreign.given() => {
                let f = &self.foreign;
                plan.transports =
                    Target::foreign_transports(f.ws.as_deref(), f.http.as_deref(), f.wt.as_deref());
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

    /// Where to measure `plan` (this command's, from [`BenchArgs::plan`]); a URL Duplex cannot
    /// use, or a foreign server that cannot answer the plan's transports, is refused here,
    /// before anything runs.
    pub fn target(&self, plan: &CheckedPlan) -> anyhow::Result<Target> {
        if self.foreign.given() {
            let messages = ForeignMessages {
                template: self.foreign.message.clone().unwrap_or_else(|| DEFAULT_TEMPLATE.to_owned()),
                reply: self.foreign.reply.parse().map_err(anyhow::Error::msg)?,
            };
            let f = &self.foreign;
            let target =
                Target::foreign_with_wt(f.ws.as_deref(), f.http.as_deref(), f.wt.as_deref(), messages)
                    .map_err(anyhow::Error::msg)?
                    .trusting(self.tls.trust()?);
            target.check_transports(&plan.transports).map_err(anyhow::Error::msg)?;
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
    /// Measure this WebTransport echo (https://, over QUIC), which need not be Duplex's: `wt`
    /// sends the message as a line on one stream, `wt-streams` on a stream of its own,
    /// `wt-dgram` as a datagram.
    #[arg(long, value_name = "URL", conflicts_with = "target")]
    pub wt: Option<String>,
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
    /// Whether any foreign server's URL was given.
    pub fn given(&self) -> bool {
        self.ws.is_some() || self.http.is_some() || self.wt.is_some()
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
