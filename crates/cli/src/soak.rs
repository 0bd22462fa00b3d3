//! `duplex soak`: many WebSocket and HTTP clients for a while against the embedded server (on
//! its own thread) or a Duplex server elsewhere; errors, memory, throughput and latency.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use duplex_core::clients::Endpoints;
use duplex_core::server::{Limits, ServerConfig, ServerThread};
use duplex_core::soak::{SoakPlan, SoakReport, soak};

use crate::args::SoakArgs;
use crate::{err, out};

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / 1048576.0)
}

/// The report in words; `embedded`: the server ran in this process (so its memory is in the figure).
pub fn report_text(r: &SoakReport, embedded: bool) -> String {
    let mut s = format!(
        "\n{} WebSocket + {} HTTP clients, {:.1} msg/s each, {} s against {} (all connected after {:.1} s)\n",
        r.plan.ws_clients,
        r.plan.http_clients,
        r.plan.rate_per_client,
        r.plan.duration.as_secs(),
        r.server,
        r.ramp_s
    );
    let _ = writeln!(
        s,
        "{:<6} {:>7} {:>10} {:>7} {:>9} {:>10} {:>10} {:>10} {:>10}",
        "", "clients", "messages", "errors", "msg/s", "p50", "p99", "p99.9", "max"
    );
    for t in &r.transports {
        let us = duplex_core::stats::format_us;
        let _ = writeln!(
            s,
            "{:<6} {:>7} {:>10} {:>7} {:>9.1} {:>10} {:>10} {:>10} {:>10}",
            t.transport.name(),
            t.clients,
            t.messages,
            t.errors,
            t.per_s,
            us(t.p50_us),
            us(t.p99_us),
            us(t.p999_us),
            us(t.max_us)
        );
        for (kind, (n, first)) in &t.error_kinds {
            let _ = writeln!(s, "       {n} × {kind}: {first}");
        }
    }
    if let Some(m) = &r.memory {
        let _ = writeln!(
            s,
            "memory (this process: clients{}): {} → {} over the steady {:.0} s ({:+.1} %, {:+.2} MiB/min), max {}",
            if embedded { " and embedded server" } else { "" },
            mib(m.start_bytes),
            mib(m.end_bytes),
            r.steady_s,
            m.growth * 100.0,
            m.slope_bytes_per_min / 1048576.0,
            mib(m.max_bytes)
        );
    }
    let _ = writeln!(s, "verdict: {}", r.verdict);
    s
}

pub async fn run(args: &SoakArgs) -> anyhow::Result<ExitCode> {
    let clients = u64::from(args.ws + args.http);
    // Each client holds a socket, and so does the embedded server for each: raise the soft limit.
    let wanted = 2 * clients + 256;
    let limit = rlimit::increase_nofile_limit(wanted).unwrap_or(0);
    if limit != 0 && limit < wanted {
        anyhow::bail!(
            "{} clients need about {wanted} open files, but this process may open {limit}: raise `ulimit -n` or use fewer clients",
            clients
        );
    }
    let plan = SoakPlan {
        ws_clients: args.ws,
        http_clients: args.http,
        duration: Duration::from_secs_f64(args.seconds.max(1.0)),
        rate_per_client: args.rate,
        payload_bytes: args.payload,
        ..SoakPlan::default()
    };
    let (endpoints, _server) = match &args.target {
        Some(url) => (Endpoints::parse(url)?, None),
        None => {
            let room = usize::try_from(clients).unwrap_or(usize::MAX).saturating_add(64);
            let limits =
                Limits { max_connections: room, max_connections_per_peer: room, ..Limits::default() };
            let server = ServerThread::spawn(ServerConfig { limits, ..ServerConfig::default() })?;
            (Endpoints::for_addr(server.local_addr()), Some(server))
        }
    };
    let say = |text: &str| if args.json { err(text) } else { out(text) };
    say(&format!(
        "soak: {} WebSocket + {} HTTP clients at {} msg/s each for {} s against {}\n",
        args.ws,
        args.http,
        args.rate,
        plan.duration.as_secs(),
        endpoints.authority
    ));
    let report = soak(plan, endpoints, |p| {
        if (p.elapsed_s.round() as u64).is_multiple_of(5) {
            say(&format!(
                "{:5.0} s  connected {:>5}  messages {:>9}  errors {:>4}  memory {}\n",
                p.elapsed_s,
                p.connected,
                p.messages,
                p.errors,
                mib(p.rss_bytes)
            ));
        }
    })
    .await;
    if args.json {
        out(&format!("{}\n", serde_json::to_string_pretty(&report)?));
    } else {
        out(&report_text(&report, args.target.is_none()));
    }
    Ok(if report.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
