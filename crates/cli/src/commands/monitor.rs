//! `duplex monitor`: the live monitor in a terminal. The same snapshots arrive by WebSocket
//! push and by AJAX polling (or long-polling) side by side; every second it prints the machine's
//! numbers and what each feed cost, and at the end the session's summary.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use duplex_core::clients::Endpoints;
use duplex_core::clock::now_unix_ns;
use duplex_core::monitor::watch::{Watched, watch_long_poll, watch_poll, watch_push};
use duplex_core::monitor::{Feed, Observation, Published, Session, summarize};
use duplex_core::server::{Server, ServerConfig};
use tokio_util::sync::CancellationToken;

use std::path::PathBuf;

use crate::output::{self, Mode, bytes, gib, ms};
use crate::{err, out};
use clap::Args;

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

/// What one feed did in the last second, and what it shows now.
#[derive(Default)]
struct Live {
    shown: Option<Published>,
    messages: u64,
    bytes: u64,
    handler_ns: u64,
    last_seq: Option<u64>,
    missed: u64,
}

impl Live {
    fn record(&mut self, w: Watched) {
        let o = &w.observation;
        self.messages += 1;
        self.bytes += o.bytes_in + o.bytes_out;
        self.handler_ns += o.handler_ns;
        if let Some(p) = w.snapshot
            && self.last_seq.is_none_or(|last| p.seq > last)
        {
            if let Some(last) = self.last_seq {
                self.missed += p.seq - last - 1;
            }
            self.last_seq = Some(p.seq);
            self.shown = Some(p);
        }
    }

    /// "age 2.1 ms │ 1 msg/s 0.4 KiB/s │ cpu 0.02 ms/s", then resets the second's counters.
    fn line(&mut self, now_ns: i64, per: &str) -> String {
        let age = self.shown.as_ref().map_or("—".to_owned(), |p| ms((now_ns - p.created_ns) as f64 / 1e6));
        let text = format!(
            "age {age:>9} │ {} {per}/s {:>10}/s │ cpu {:.2} ms/s │ missed {}",
            self.messages,
            bytes(self.bytes as f64),
            self.handler_ns as f64 / 1e6,
            self.missed
        );
        (self.messages, self.bytes, self.handler_ns) = (0, 0, 0);
        text
    }
}

/// The machine as the newest snapshot shows it.
fn machine_line(p: &Published) -> String {
    let s = &p.snapshot;
    let cores: Vec<String> = s.cpu_per_core.iter().map(|c| format!("{c:.0}")).collect();
    let top: Vec<String> =
        s.top.iter().take(3).map(|t| format!("{} {:.0}%", t.name, t.cpu_percent)).collect();
    format!(
        "cpu {:5.1}% [{}] │ load {:.2} {:.2} {:.2} │ mem {}/{} GiB │ swap {}/{} GiB │ net ↓{}/s ↑{}/s │ disk r {}/s w {}/s\n      top: {}",
        s.cpu_total,
        cores.join(" "),
        s.load[0],
        s.load[1],
        s.load[2],
        gib(s.memory_used_bytes),
        gib(s.memory_total_bytes),
        gib(s.swap_used_bytes),
        gib(s.swap_total_bytes),
        bytes(s.net_rx_bytes_per_s),
        bytes(s.net_tx_bytes_per_s),
        bytes(s.disk_read_bytes_per_s),
        bytes(s.disk_write_bytes_per_s),
        top.join(", ")
    )
}

pub async fn monitor(args: &MonitorArgs) -> anyhow::Result<ExitCode> {
    // This machine through an embedded server, or a Duplex server elsewhere.
    let (endpoints, _server) = match &args.target {
        Some(url) => (Endpoints::parse(url)?, None),
        None => {
            let server =
                Server::start(ServerConfig { monitor_hz: args.hz, ..ServerConfig::default() }).await?;
            (duplex_core::runner::own_endpoints(server.local_addr(), server.tls()), Some(server))
        }
    };
    // With --json, stdout holds the summary alone; the live lines go to stderr.
    let say = |text: &str| if args.json { err(text) } else { out(text) };
    let poll_feed = if args.long_poll { Feed::LongPoll } else { Feed::Poll };
    let poll_label = if args.long_poll { "long-poll".to_owned() } else { format!("poll {}", args.poll_ms) };
    say(&format!(
        "watching {} by WebSocket push and by {} (Ctrl-C ends and prints the summary)\n",
        endpoints.authority,
        if args.long_poll {
            "AJAX long-polling".to_owned()
        } else {
            format!("AJAX polling every {} ms", args.poll_ms)
        }
    ));
    if args.target.is_some() && (args.hz - 1.0).abs() > f64::EPSILON {
        out(
            "note: --hz sets the embedded server's rate; a remote server samples at its own (duplex serve --monitor-hz)\n",
        );
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Watched>();
    let stop = CancellationToken::new();
    let push = tokio::spawn({
        let (e, tx, stop) = (endpoints.clone(), tx.clone(), stop.clone());
        async move { watch_push(&e, tx, stop).await }
    });
    let poll = tokio::spawn({
        let (e, tx, stop, interval, long) =
            (endpoints.clone(), tx, stop.clone(), Duration::from_millis(args.poll_ms), args.long_poll);
        async move {
            if long { watch_long_poll(&e, tx, stop).await } else { watch_poll(&e, interval, tx, stop).await }
        }
    });
    let started_ns = now_unix_ns();
    let deadline = args.seconds.map(|s| tokio::time::Instant::now() + Duration::from_secs_f64(s.max(0.0)));
    let mut observations: Vec<Observation> = Vec::new();
    let mut live: HashMap<Feed, Live> = HashMap::new();
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.tick().await;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let end = async {
        match deadline {
            Some(d) => tokio::time::sleep_until(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(end);
    loop {
        tokio::select! {
            w = rx.recv() => match w {
                Some(w) => {
                    observations.push(w.observation.clone());
                    live.entry(w.observation.feed).or_default().record(w);
                }
                // Both watchers ended: the server went away or refused them.
                None => break,
            },
            _ = ticker.tick() => {
                let now = now_unix_ns();
                let newest = live.values().filter_map(|l| l.shown.as_ref()).max_by_key(|p| p.seq);
                let mut block = format!("{:4.0} s │ ", (now - started_ns) as f64 / 1e9);
                block.push_str(&newest.map_or("waiting for the first snapshot…".into(), machine_line));
                block.push('\n');
                for (feed, label, per) in [(Feed::Push, "push".to_owned(), "msg"), (poll_feed, poll_label.clone(), "req")] {
                    let line = live.entry(feed).or_default().line(now, per);
                    let _ = writeln!(block, "      {label:<10} {line}");
                }
                say(&block);
            }
            _ = &mut ctrl_c => break,
            _ = &mut end => break,
        }
    }
    stop.cancel();
    let mut problems = Vec::new();
    for (name, task) in [("push", push), ("poll", poll)] {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => problems.push(format!("{name}: {e}")),
            Err(e) => problems.push(format!("{name}: {e}")),
        }
    }
    // What arrived before the end still counts.
    while let Ok(w) = rx.try_recv() {
        observations.push(w.observation);
    }
    let session =
        Session { started_ns, ended_ns: now_unix_ns(), one_clock: endpoints.is_loopback, observations };
    if let Some(path) = &args.csv {
        duplex_core::export::csv::write_monitor_session(duplex_core::export::create(path)?, &session)?;
    }
    let summary = summarize(&session);
    output::emit(Mode::json(args.json), &output::Monitor(summary))?;
    if problems.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        anyhow::bail!("the monitor stopped: {}", problems.join("; "))
    }
}
