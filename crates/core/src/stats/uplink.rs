//! What a link's uplink carries: bytes per message (headers and framing included, as measured)
//! times the message rate, against the uplinks of the link profiles. It answers "from which
//! rate on does AJAX's header weight fill a 3G uplink, where a WebSocket still has room?" for
//! any run, over a link or not: bytes per message do not depend on the link.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use duplex_model::link::Link;
use duplex_model::record::{ClientKind, RunRecord};

use super::TransportReport;
use duplex_clients::Transport;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct Uplink {
    /// The profile's (or the run's link's) name.
    pub name: String,
    pub up_kbit: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct UplinkRow {
    pub transport: Transport,
    pub client: ClientKind,
    /// How every view names this row: "ws", "xhr (web view)".
    pub label: String,
    /// [`UplinkRow::bytes_out_per_msg`] in words.
    pub bytes_out: String,
    /// Bytes client → server per message, as measured.
    pub bytes_out_per_msg: f64,
    /// The most messages per second each uplink carries (in the order of [`UplinkReport::uplinks`]).
    pub max_per_s: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct UplinkReport {
    /// Slowest first.
    pub uplinks: Vec<Uplink>,
    pub rows: Vec<UplinkRow>,
    /// The comparison in words, per kind of client.
    pub notes: Vec<String>,
}

/// Profiles with a faster uplink than this are left out: no message rate a person sends fills them.
const NARROW_KBIT: f64 = 10_000.0;

/// The uplinks to draw: the narrow ones of the profiles (mobile, poor Wi-Fi, satellite), and
/// the run's link's.
fn uplinks(record: &RunRecord) -> Vec<Uplink> {
    let mut found: Vec<Uplink> = Link::profile_names()
        .filter_map(|name| Link::profile(name).ok())
        .filter(|l| l.up_kbit <= NARROW_KBIT)
        .chain(record.plan.link.clone())
        .filter(|l| l.up_kbit > 0.0)
        .map(|l| Uplink { name: l.name, up_kbit: l.up_kbit })
        .collect();
    found.sort_by(|a, b| a.up_kbit.total_cmp(&b.up_kbit));
    found.dedup_by(|a, b| a.name == b.name);
    found
}

/// A rate a link can carry, never rounded up: whole messages from 10 a second, else two
/// decimals (a 64 KiB message over a 400 kbit/s uplink: 0.76, not 0).
fn per_second(x: f64) -> String {
    if x >= 10.0 { format!("{:.0}", x.floor()) } else { format!("{:.2}", (x * 100.0).floor() / 100.0) }
}

/// The uplink table of a run: every transport that sends something per message.
pub fn uplink_report(record: &RunRecord, transports: &[TransportReport]) -> Option<UplinkReport> {
    let uplinks = uplinks(record);
    let rows: Vec<UplinkRow> = transports
        .iter()
        .filter(|t| t.overall.count > 0 && t.overall.bytes_out_per_msg >= 1.0)
        .map(|t| UplinkRow {
            transport: t.transport,
            client: t.client,
            label: t.label.clone(),
            bytes_out: t.overall.words.bytes_out.clone(),
            bytes_out_per_msg: t.overall.bytes_out_per_msg,
            max_per_s: uplinks.iter().map(|u| u.up_kbit * 1e3 / 8.0 / t.overall.bytes_out_per_msg).collect(),
        })
        .collect();
    if rows.is_empty() || uplinks.is_empty() {
        return None;
    }
    let slowest = &uplinks[0];
    let mut notes = Vec::new();
    for client in [ClientKind::Native, ClientKind::Webview] {
        let of = |t: Transport| rows.iter().find(|r| r.client == client && r.transport == t);
        let Some(ws) = of(Transport::Ws) else { continue };
        let Some(ajax) = [Transport::Http, Transport::Xhr, Transport::HttpNew].into_iter().find_map(of)
        else {
            continue;
        };
        notes.push(format!(
            "{}: an uplink as narrow as {}'s ({} kbit/s) would carry at most {} {} messages/s of {:.0} B, or {} ws messages/s of {:.0} B: {:.1}× as many",
            client.name(),
            slowest.name,
            slowest.up_kbit,
            per_second(ajax.max_per_s[0]),
            ajax.transport,
            ajax.bytes_out_per_msg,
            per_second(ws.max_per_s[0]),
            ws.bytes_out_per_msg,
            ws.max_per_s[0] / ajax.max_per_s[0]
        ));
    }
    Some(UplinkReport { uplinks, rows, notes })
}
