//! `duplex fanout`: one server event to many subscribers at once, by ws-push, long-poll and
//! SSE, against the embedded server (on its own thread) or a Duplex server elsewhere; a table
//! and `fanout-TIME.csv`.

use std::process::ExitCode;

use anyhow::Context;
use duplex_core::clients::Endpoints;
use duplex_core::fanout::{
    FANOUT_TRANSPORTS, FanoutPlan, FanoutReport, PUSH_TRANSPORTS, embedded_server, fanout,
};
use duplex_core::soak::files::{Route, make_room};

use std::path::PathBuf;

use crate::cancel_on_ctrl_c;
use crate::options::TlsArgs;
use crate::output::{self, Mode};
use crate::progress::Progress;
use clap::Args;
use duplex_core::clients::Transport;

#[derive(Debug, Args)]
pub struct FanoutArgs {
    #[command(flatten)]
    pub plan: FanoutPlanArgs,
    /// A Duplex server elsewhere (`duplex serve --tick-ms 1000 --max-long-polls …`): its ticks
    /// are the broadcasts, and its CPU is not seen [default: an embedded server on its own thread].
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// How wt-push and wt-push-dgram trust the target's certificate (WebTransport is always over TLS): --fingerprint
    /// as `duplex serve` prints it, --ca-cert, or --insecure.
    #[command(flatten)]
    pub tls: TlsArgs,
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

/// A fan-out plan, as `duplex fanout` and `duplex k6 fanout` take it.
#[derive(Debug, Args)]
pub struct FanoutPlanArgs {
    /// Subscriber counts, comma-separated: one measurement each.
    #[arg(long, value_delimiter = ',', default_value = "100,1000")]
    pub subscribers: Vec<u32>,
    /// Push transports, comma-separated [default: ws-push, long-poll, sse; k6: ws-push, long-poll].
    #[arg(short, long, value_delimiter = ',',
          value_parser = crate::options::transport_of(|t| FANOUT_TRANSPORTS.contains(t)))]
    pub transports: Option<Vec<Transport>>,
    /// Broadcasts measured per transport and count (after one to warm up).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub broadcasts: u32,
    /// Longest wait for one broadcast to reach everyone (and for everyone to connect), ms.
    #[arg(long, default_value_t = 20_000)]
    pub timeout_ms: u64,
}

impl FanoutPlanArgs {
    /// The plan, checked; without --transports, `default` ones.
    pub fn plan(&self, default: &[Transport]) -> anyhow::Result<FanoutPlan> {
        let plan = FanoutPlan {
            subscribers: self.subscribers.clone(),
            transports: self.transports.clone().unwrap_or_else(|| default.to_vec()),
            broadcasts: self.broadcasts,
            timeout_ms: self.timeout_ms,
        };
        plan.check().map_err(anyhow::Error::msg)?;
        Ok(plan)
    }
}

pub async fn run(args: &FanoutArgs) -> anyhow::Result<ExitCode> {
    let plan = args.plan.plan(&PUSH_TRANSPORTS)?;
    make_room(u64::from(plan.largest()), Route { embedded: args.target.is_none(), relayed: false })
        .map_err(anyhow::Error::msg)?;
    let (endpoints, server) = match &args.target {
        Some(url) => (Endpoints::parse(url)?.trusting(args.tls.trust()?), None),
        None => {
            let server = embedded_server(plan.largest())?;
            (duplex_core::runner::own_endpoints(server.local_addr(), server.tls()), Some(server))
        }
    };
    let cells = plan.subscribers.len() * plan.transports.len();
    let total = (cells as u64) * u64::from(plan.broadcasts);
    let mut bar = Progress::counting(total, "broadcasts", args.json);
    bar.say(&format!(
        "fan-out: {} broadcasts to {} subscribers by {} against {}",
        plan.broadcasts,
        plan.subscribers.iter().map(u32::to_string).collect::<Vec<_>>().join(", "),
        plan.transports.iter().map(|t| t.name()).collect::<Vec<_>>().join(", "),
        endpoints.authority
    ));
    let cancel = cancel_on_ctrl_c();
    let report = fanout(plan, endpoints, server.as_ref(), cancel.clone(), |p| {
        let done = p.cell as u64 * total / cells.max(1) as u64 + u64::from(p.broadcasts);
        let what = if p.broadcasts == 0 {
            format!("{} × {}: {} connected", p.transport.name(), p.subscribers, p.connected)
        } else {
            format!("{} × {}: broadcast {}", p.transport.name(), p.subscribers, p.broadcasts)
        };
        bar.update(done, what);
    })
    .await;
    bar.finish();
    let ok = report.ok;
    let platform = duplex_core::platform::this_machine().label();
    let csv = if args.no_csv { None } else { write_csv(&report, &args.csv, &platform)? };
    output::emit(Mode::json(args.json), &output::Fanout { report, csv: csv.clone() })?;
    Ok(if cancel.is_cancelled() {
        ExitCode::from(130)
    } else if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `DIR/fanout-TIME.csv` of a report with cells (None without).
pub fn write_csv(
    report: &FanoutReport,
    dir: &std::path::Path,
    platform: &str,
) -> anyhow::Result<Option<PathBuf>> {
    if report.cells.is_empty() {
        return Ok(None);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let stamp = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ");
    let path = dir.join(format!("fanout-{stamp}.csv"));
    let file = std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    duplex_core::export::csv::write_fanout(file, report, platform).context("writing the fan-out CSV")?;
    Ok(Some(path))
}
