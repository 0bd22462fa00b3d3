//! Statistics of a run: per transport and client, overall and per set, the normal fit, and
//! WebSocket-versus-AJAX comparisons with their significance. Pure functions of the record.

pub mod compare;
pub mod energy;
pub mod format;
pub mod link;
pub mod live;
pub mod normal;
pub mod platforms;
pub mod regime;
pub mod series;
pub mod summary;
pub mod sweep;
pub mod thresholds;
pub mod uplink;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use compare::{Comparison, mann_whitney, welch};
pub use format::{
    format_bytes, format_count, format_loss, format_median_ratio, format_p, format_ratio, format_us,
};
pub use normal::NormalFit;
pub use series::{Series, series};
pub use summary::{Group, Summary, SummaryWords, summarize};

use duplex_clients::{Pattern, Transport};
use duplex_model::record::{ClientKind, RunRecord};

#[derive(Debug, Clone, Default)]
pub struct AnalysisOptions {
    /// The paper's interval [a, b] in µs for P(a ≤ X ≤ b).
    pub interval_us: Option<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct SetSummary {
    pub set: u32,
    pub summary: Summary,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct TransportReport {
    pub transport: Transport,
    pub client: ClientKind,
    /// How every view names this row: "ws", "xhr (web view)".
    pub label: String,
    /// What its latency means (a round trip, or a push's one way): how the views group rows.
    pub pattern: Pattern,
    pub overall: Summary,
    pub sets: Vec<SetSummary>,
    pub normal: Option<NormalFit>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct Report {
    pub run_id: String,
    pub transports: Vec<TransportReport>,
    pub comparisons: Vec<Comparison>,
    /// Caveats a reader must know (clock, incomplete run, errors).
    pub notes: Vec<String>,
    /// CPU and energy per transport, if power was sampled.
    #[serde(default)]
    pub energy: Option<energy::EnergyReport>,
    /// The emulated link's model beside the medians, for a run over a link.
    #[serde(default)]
    pub link: Option<link::LinkReport>,
    /// How many messages per second the profiles' uplinks carry, by bytes per message.
    #[serde(default)]
    pub uplink: Option<uplink::UplinkReport>,
    /// Where a transport's calls changed level part-way through the run (also in the notes).
    #[serde(default)]
    pub regimes: Vec<regime::RegimeChange>,
}

impl Report {
    /// The run's result in one line: the first WebSocket-versus-AJAX verdict.
    pub fn headline(&self) -> Option<String> {
        self.comparisons.first().map(|c| format!("{}: {}", c.client.name(), c.verdict))
    }

    pub fn transport(&self, transport: Transport, client: ClientKind) -> Option<&TransportReport> {
        self.transports.iter().find(|t| t.transport == transport && t.client == client)
    }
}

pub(crate) fn group_of(
    record: &RunRecord,
    transport: Transport,
    client: ClientKind,
    set: Option<u32>,
) -> Group {
    let mut g = Group { clock_step_us: clock_step_us(record, client), ..Group::default() };
    for s in record
        .samples
        .iter()
        .filter(|s| s.transport == transport && s.client == client && set.is_none_or(|set| s.set == set))
    {
        if s.is_ok() {
            g.latencies_us.push(s.latency_ns as f64 / 1e3);
            g.bytes_out += s.bytes_out;
            g.bytes_in += s.bytes_in;
        } else {
            g.errors += 1;
            g.lost += u64::from(s.is_lost());
        }
    }
    let elapsed: u64 = record
        .blocks
        .iter()
        .filter(|b| b.transport == transport && b.client == client && set.is_none_or(|set| b.set == set))
        .map(|b| b.elapsed_ns)
        .sum();
    g.elapsed_ns = (elapsed > 0).then_some(elapsed);
    g
}

/// The step of the clock that timed this client's calls, if coarse: a web page's clock, or a k6
/// script's `Date.now()`.
pub(crate) fn clock_step_us(record: &RunRecord, client: ClientKind) -> Option<f64> {
    match client {
        ClientKind::Webview => record.webview.as_ref().map(|w| w.timer_resolution_us).filter(|s| *s > 0.0),
        ClientKind::K6 => Some(duplex_model::transport::K6_CLOCK_STEP_US),
        ClientKind::Native => None,
    }
}

pub fn analyze(record: &RunRecord, options: &AnalysisOptions) -> Report {
    let mut keys: Vec<(Transport, ClientKind)> =
        record.samples.iter().map(|s| (s.transport, s.client)).collect();
    keys.sort();
    keys.dedup();

    let mut transports = Vec::new();
    let mut groups = Vec::new();
    for &(transport, client) in &keys {
        let overall = group_of(record, transport, client, None);
        let mut set_numbers: Vec<u32> = record
            .samples
            .iter()
            .filter(|s| s.transport == transport && s.client == client)
            .map(|s| s.set)
            .collect();
        set_numbers.sort_unstable();
        set_numbers.dedup();
        let sets = set_numbers
            .into_iter()
            .map(|set| SetSummary {
                set,
                summary: summarize(&group_of(record, transport, client, Some(set))),
            })
            .collect();
        transports.push(TransportReport {
            transport,
            client,
            label: client.label(transport),
            pattern: transport.pattern(),
            overall: summarize(&overall),
            sets,
            normal: normal::fit(&overall.latencies_us, options.interval_us),
        });
        groups.push(overall);
    }

    let mut comparisons = Vec::new();
    for (i, report) in transports.iter().enumerate() {
        let partners = report.transport.websocket_partners();
        if partners.contains(&report.transport) {
            continue;
        }
        let Some(j) = partners
            .iter()
            .find_map(|ws| transports.iter().position(|t| t.transport == *ws && t.client == report.client))
        else {
            continue;
        };
        let side = |k: usize| compare::Side {
            transport: transports[k].transport,
            latencies_us: &groups[k].latencies_us,
            summary: &transports[k].overall,
        };
        if let Some(c) = compare::compare(report.client, &side(j), &side(i)) {
            comparisons.push(c);
        }
    }

    let mut notes = Vec::new();
    if record.tls.iter().any(|t| t.unverified()) {
        notes.push(
            "WARNING: the server's TLS certificate was NOT VERIFIED (--insecure): these figures \
             may come from any machine on the path, not the server named"
                .to_owned(),
        );
    }
    notes.extend(record.tls.iter().map(|t| format!("TLS of {}", t.describe())));
    let unstamped = |t: Transport| {
        record.samples.iter().any(|s| s.transport == t && s.is_ok())
            && record.samples.iter().all(|s| s.transport != t || s.server_time_unix_ns.is_none())
    };
    if keys
        .iter()
        .any(|(t, c)| *c == ClientKind::Native && t.pattern() == Pattern::RoundTrip && unstamped(*t))
    {
        notes.push(
            "the server did not stamp its replies (not a Duplex server): no server time is recorded; \
             round trips and bytes do not need it"
                .to_owned(),
        );
    }
    if let Some(e) = &record.error {
        notes.push(format!("run {}: {e}; every sample measured before it is kept", record.status.name()));
    }
    notes.extend(transports.iter().filter(|t| t.overall.lost > 0).map(lost_datagrams));
    notes.extend(
        transports.iter().filter(|t| t.overall.errors > t.overall.lost).map(|t| failed_calls(record, t)),
    );
    let pushed: Vec<&str> =
        record.plan.transports.iter().filter(|t| t.pattern() == Pattern::Push).map(|t| t.name()).collect();
    if !pushed.is_empty() {
        let events = u64::from(record.plan.sets) * u64::from(record.plan.calls);
        notes.push(format!(
            "{} time the server's events one way (creation → arrival), not a round trip; they come one a tick \
             ({} ms), so {} of them take about {} s each whatever the plan's pace (--tick-ms sets it)",
            pushed.join(", "),
            record.plan.tick_ms,
            format::format_count(events),
            (events * record.plan.tick_ms).div_ceil(1000)
        ));
    }
    let regimes = regime::regime_changes(record);
    notes.extend(regimes.iter().map(|r| r.words.clone()));
    if let Some(webview) = &record.webview {
        let isolation = match webview.cross_origin_isolated {
            Some(true) => "the page was cross-origin isolated",
            Some(false) => "the page was not cross-origin isolated",
            None => "isolation not recorded",
        };
        let step = webview.timer_resolution_us;
        let fewest = transports
            .iter()
            .filter(|t| t.client == ClientKind::Webview && t.overall.count > 0)
            .map(|t| t.overall.count)
            .min();
        let mean_error = fewest
            .map(|n| {
                format!(
                    "; means stay unbiased, the clock adding at most ±{} (95 %) to a mean of {n} calls",
                    format_us(step / (n as f64).sqrt())
                )
            })
            .unwrap_or_default();
        notes.push(format!(
            "web-view clients timed with performance.now(), which steps by {} here ({isolation}; {}): a call shorter than a step reads 0 and is shown as below the step{mean_error}",
            format_us(step),
            webview.user_agent
        ));
    }
    if record.webview.is_some() {
        notes.extend(unmeasured_by_web_clients(record));
    }
    if keys.iter().any(|(t, _)| t.pattern() == Pattern::Push) && !record.topology.one_clock() {
        notes.push(record.clock_note().to_owned());
    }
    let link = link::link_report(record, &transports);
    if let Some(l) = &link {
        let loss = if l.link.loss_percent > 0.0 {
            "UDP datagrams dropped at the loss rate, a lost TCP segment delivered one tail-loss probe later"
        } else {
            "no loss"
        };
        notes.push(format!(
            "over an emulated link: {} — {}; every connection went through Duplex's relay ({loss})",
            l.link.describe(),
            l.link.source
        ));
        notes.extend(l.notes.iter().cloned());
    }
    let pinned = record.platform.pinned_to.as_deref().map(|cores| format!(", pinned to core {cores}"));
    notes.push(format!(
        "measured {} (client and server: {}{})",
        record.platform.label(),
        record.topology.name(),
        pinned.unwrap_or_default()
    ));
    let uplink = uplink::uplink_report(record, &transports);
    Report {
        run_id: record.id.clone(),
        transports,
        comparisons,
        notes,
        energy: energy::energy_report(record),
        link,
        uplink,
        regimes,
    }
}

/// "wt-dgram: 11 of 150 datagram echoes lost (7.3 % lost): …": an unreliable transport's loss,
/// a figure of the transport, not a failure.
fn lost_datagrams(t: &TransportReport) -> String {
    let s = &t.overall;
    let (what, why) = match t.transport.pattern() {
        Pattern::RoundTrip => (
            "datagram echoes",
            "the datagram or its answer did not come within 4 round trips (at least 250 ms)",
        ),
        Pattern::Push => ("pushed events", "a later event's datagram came first"),
    };
    format!(
        "{}: {} of {} {what} lost ({}): {why}; a lost datagram is not sent again, and it is left out \
         of the latency statistics",
        t.client.label(t.transport),
        format::format_count(s.lost),
        format::format_count(s.count + s.errors),
        s.words.loss
    )
}

/// "http: 5 of 5 calls failed (left out of the latency statistics): server answered HTTP 501
/// (5×)": each distinct error once, the most frequent first, at most three. Lost datagrams are
/// not failures ([`lost_datagrams`]).
fn failed_calls(record: &RunRecord, t: &TransportReport) -> String {
    let mut kinds: Vec<(&str, u64)> = Vec::new();
    for e in record
        .samples
        .iter()
        .filter(|s| s.transport == t.transport && s.client == t.client && !s.is_lost())
        .filter_map(|s| s.error.as_deref())
    {
        match kinds.iter_mut().find(|(k, _)| *k == e) {
            Some((_, n)) => *n += 1,
            None => kinds.push((e, 1)),
        }
    }
    kinds.sort_by_key(|k| std::cmp::Reverse(k.1));
    let mut causes: Vec<String> = kinds.iter().take(3).map(|(e, n)| format!("{e} ({n}×)")).collect();
    if kinds.len() > 3 {
        causes.push(format!("and {} other kinds", kinds.len() - 3));
    }
    let who = t.client.label(t.transport);
    let all = t.overall.count + t.overall.errors;
    format!(
        "{who}: {} of {} calls failed (left out of the latency statistics): {}",
        format::format_count(t.overall.errors - t.overall.lost),
        format::format_count(all),
        causes.join("; ")
    )
}

/// What the web clients of a run left out of its plan, and why: one line per reason. A web
/// client measures every transport it is handed, so a transport of the plan it has no sample of
/// was refused it (TLS: its browser did not trust the server) or was unavailable in its browser,
/// as the page said (WebTransport). Its TLS and QUIC bytes are the page's.
fn unmeasured_by_web_clients(record: &RunRecord) -> Vec<String> {
    let measured =
        |t: Transport| record.samples.iter().any(|s| s.client == ClientKind::Webview && s.transport == t);
    let unavailable = record.webview.as_ref().map_or(&[][..], |w| &w.unavailable[..]);
    let mut by_reason: Vec<(&str, Vec<&str>)> = Vec::new();
    for t in record.plan.transports.iter().copied().filter(|t| !measured(*t)) {
        let said = unavailable.iter().find(|u| u.transport == t).map(|u| u.reason.as_str());
        let Some(why) = said.or(t.webview_refusal(duplex_clients::WebTrust::Untrusted)) else { continue };
        match by_reason.iter_mut().find(|(w, _)| *w == why) {
            Some((_, names)) => names.push(t.name()),
            None => by_reason.push((why, vec![t.name()])),
        }
    }
    let mut notes: Vec<String> = by_reason
        .into_iter()
        .map(|(why, names)| format!("web clients did not measure {}: {why}", names.join(", ")))
        .collect();
    if record.plan.transports.iter().any(|t| t.is_tls() && measured(*t)) {
        notes.push(
            "web-client bytes over TLS and QUIC are what the page sees (HTTP and WebSocket framing, \
             WebTransport's messages), without TLS's records, QUIC's packets and their handshakes, \
             which only the native clients count"
                .to_owned(),
        );
    }
    notes
}
