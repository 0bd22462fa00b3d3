//! `duplex soak`: many WebSocket and HTTP clients for a while against the embedded server (on
//! its own thread) or a Duplex server elsewhere; errors, memory, throughput and latency.

use std::process::ExitCode;
use std::time::Duration;

use duplex_core::clients::Endpoints;
use duplex_core::server::{Limits, ServerConfig, ServerThread};
use duplex_core::soak::files::{Route, make_room};
use duplex_core::soak::{SoakPlan, soak};

use crate::output::{self, Mode, mib};
use crate::{err, out};
use clap::Args;

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

pub async fn run(args: &SoakArgs) -> anyhow::Result<ExitCode> {
    let clients = u64::from(args.ws) + u64::from(args.http);
    let route = Route { embedded: args.target.is_none(), relayed: args.link.is_some() };
    make_room(clients, route).map_err(anyhow::Error::msg)?;
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
            (duplex_core::runner::own_endpoints(server.local_addr(), server.tls()), Some(server))
        }
    };
    let link = args.link.as_deref().map(crate::options::link_of).transpose().map_err(anyhow::Error::msg)?;
    let (endpoints, _relays) =
        duplex_core::link::through(endpoints, link.as_ref()).await.map_err(anyhow::Error::msg)?;
    let say = |text: &str| if args.json { err(text) } else { out(text) };
    if let Some(link) = &link {
        say(&format!("over an emulated link: {}\n", link.describe()));
    }
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
    let ok = report.ok;
    output::emit(Mode::json(args.json), &output::Soak { report, embedded: args.target.is_none() })?;
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
