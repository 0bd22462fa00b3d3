//! What the run's emulated link predicts for each transport beside what was measured: the
//! honest explanation of why a transport wins over that link, and a check on the relay itself.
//! The model is the relay's own arithmetic ([`Link::predict_us`]), so a median far from it is
//! never the link's doing; the notes say whose it is.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use duplex_model::link::{Link, Traffic};
use duplex_model::record::{ClientKind, ConnectionUse, RunRecord};
use duplex_model::transport::HttpMethod;

use super::TransportReport;
use super::format::{format_count, format_us};
use duplex_clients::Transport;

/// How far from the model a median may be before the report says why, either way.
const FAR: f64 = 1.10;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct LinkModelRow {
    pub transport: Transport,
    pub client: ClientKind,
    /// How every view names this row: "ws", "xhr (web view)".
    pub label: String,
    /// What the link alone predicts, µs.
    pub model_us: f64,
    /// How the model arrives at it.
    pub model: String,
    pub median_us: f64,
    /// Measured median over the model.
    pub ratio: f64,
    /// The model, the median and their ratio in words: "326.1 ms", "326.9 ms", "1.00×".
    pub model_text: String,
    pub median_text: String,
    pub ratio_text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct LinkReport {
    pub link: Link,
    /// [`Link::label`].
    pub label: String,
    pub rows: Vec<LinkModelRow>,
    /// In words, where a median is far from the model, and why.
    pub notes: Vec<String>,
}

/// What one transport's calls carried in `record`, for the link's model: the measured bytes,
/// a new TLS connection's handshake, the share of web calls that opened a connection, the pace.
pub fn traffic(record: &RunRecord, t: &TransportReport) -> Traffic {
    let s = &t.overall;
    let plan = &record.plan;
    let (handshake_out, handshake_in) = record
        .tls
        .iter()
        .find(|u| u.transport == t.transport && u.client == t.client && u.connections > 0)
        .map_or((0.0, 0.0), |u| {
            let n = u.connections as f64;
            (u.handshake_bytes_out as f64 / n, u.handshake_bytes_in as f64 / n)
        });
    let new_connections = connections_of(record, t).map_or(0.0, ConnectionUse::share);
    // A new connection's handshake is counted in its one call's bytes (what it costs): the
    // model sends it apart, before the request.
    let (bytes_out, bytes_in) = if t.transport.opens_per_call() {
        (s.bytes_out_per_msg - handshake_out, s.bytes_in_per_msg - handshake_in)
    } else {
        (s.bytes_out_per_msg, s.bytes_in_per_msg)
    };
    Traffic {
        bytes_out: bytes_out.max(0.0),
        bytes_in: bytes_in.max(0.0),
        handshake_out,
        handshake_in,
        new_connections,
        pace: plan.pace(),
        poll_interval_ms: plan.poll_interval_ms,
        tick_ms: plan.tick_ms as f64,
    }
}

/// How often `t`'s calls opened a connection of their own, where the run counted it.
fn connections_of<'a>(record: &'a RunRecord, t: &TransportReport) -> Option<&'a ConnectionUse> {
    record.connections.iter().find(|c| c.transport == t.transport && c.client == t.client)
}

/// The model beside the medians, for a run over a link that delays or paces anything.
pub fn link_report(record: &RunRecord, transports: &[TransportReport]) -> Option<LinkReport> {
    let link = record.plan.link.as_ref().filter(|l| !l.is_direct())?;
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    for t in transports.iter().filter(|t| t.overall.count > 0) {
        let traffic = traffic(record, t);
        let model_us = link.predict_us(t.transport, &traffic);
        let median_us = t.overall.p50_us;
        let ratio = if model_us > 0.0 { median_us / model_us } else { f64::NAN };
        let model = Link::model_words(t.transport, &traffic);
        let who = t.client.label(t.transport);
        if let Some(opened) = connections_of(record, t).filter(|c| c.new_connections > 0) {
            notes.push(opened_connections(&who, opened, record));
        }
        if ratio.is_finite() && !(1.0 / FAR..=FAR).contains(&ratio) {
            let cause = gap_cause(record, link, t, model_us);
            notes.push(format!(
                "{who}: median {} against the link's model {} ({model}): {cause}",
                format_us(median_us),
                format_us(model_us)
            ));
        }
        rows.push(LinkModelRow {
            transport: t.transport,
            client: t.client,
            model_us,
            model: model.to_owned(),
            median_us,
            ratio,
            label: t.label.clone(),
            model_text: super::format_us(model_us),
            median_text: t.overall.words.p50.clone(),
            ratio_text: super::format_ratio(ratio),
        });
    }
    Some(LinkReport { label: link.label(), link: link.clone(), rows, notes })
}

/// Why calls of a transport that keeps its connection opened connections, with the share the
/// model counted.
fn opened_connections(who: &str, opened: &ConnectionUse, record: &RunRecord) -> String {
    let counted = if opened.share() > 0.5 {
        "the model counts a TCP handshake (and TLS's, over TLS) for each call"
    } else {
        "most calls reused theirs, and so does the model"
    };
    // WebKitGTK's network stack never reuses a connection for a request that is not idempotent.
    let webkit = record.webview.as_ref().is_some_and(|w| {
        w.user_agent.contains("AppleWebKit")
            && !w.user_agent.contains("Chrome")
            && w.user_agent.contains("Linux")
    });
    let why = if opened.client == ClientKind::Webview
        && webkit
        && record.plan.http_method == HttpMethod::Post
        && matches!(opened.transport, Transport::Http | Transport::Xhr | Transport::Https)
    {
        "WebKitGTK's network stack never reuses a connection for a POST, which is not idempotent (a GET with a query, the paper's AJAX, keeps it: --http-method get)"
    } else {
        "the server closed the kept-alive one while it sat idle (for longer than its keep-alive timeout, 15 s for a Duplex server, as a long transfer does), or the client did not keep it"
    };
    format!(
        "{who}: {} of {} calls opened a connection of their own: {why}; {counted}",
        format_count(opened.new_connections),
        format_count(opened.calls)
    )
}

/// What a median that is not the model's is, in words: never the link (the model is the relay's
/// own arithmetic), so either round trips the model does not count, the page's clock, timers,
/// or this machine's own time per call.
fn gap_cause(record: &RunRecord, link: &Link, t: &TransportReport, model_us: f64) -> String {
    let median_us = t.overall.p50_us;
    if median_us < model_us {
        return "below what the relay's own arithmetic allows: the relay and its model disagree, a \
                bug in Duplex (please report it with this run's bundle)"
            .to_owned();
    }
    let extra_us = median_us - model_us;
    let rtt_us = link.rtt_ms * 1e3;
    let trips = (extra_us / rtt_us).round();
    if rtt_us > 0.0 && trips >= 1.0 && (extra_us - trips * rtt_us).abs() < 0.25 * rtt_us {
        return format!(
            "{} more: {trips:.0} round trip(s) the model does not count — a connection opened per call \
             that the client did not report, or a request sent before each call (a CORS preflight)",
            format_us(extra_us)
        );
    }
    if let Some(step) = super::clock_step_us(record, t.client).filter(|step| extra_us <= *step) {
        return format!(
            "{} more, within one step of the page's clock ({})",
            format_us(extra_us),
            format_us(step)
        );
    }
    if record.platform.os.to_ascii_lowercase().contains("windows") {
        return format!(
            "{} more: Windows' timers fire on a 15.6 ms tick, and the relay's waits round up to it",
            format_us(extra_us)
        );
    }
    format!(
        "{} more, which is not the link's: this machine's own time per call (client, server and the \
         relay on these CPUs; a run without --link shows it), or other load on them",
        format_us(extra_us)
    )
}
