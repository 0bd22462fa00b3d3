//! What the run's emulated link predicts for each transport beside what was measured: the
//! honest explanation of why a transport wins over that link, and a check on the relay itself.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use duplex_model::link::Link;
use duplex_model::record::{ClientKind, RunRecord};

use super::{TransportReport, format_us};
use duplex_clients::Transport;

/// How far from the model a median may be before the report says so in words.
const FAR: f64 = 1.25;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct LinkModelRow {
    pub transport: Transport,
    pub client: ClientKind,
    /// What the link alone predicts, µs.
    pub model_us: f64,
    /// How the model arrives at it.
    pub model: String,
    pub median_us: f64,
    /// Measured median over the model.
    pub ratio: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct LinkReport {
    pub link: Link,
    pub rows: Vec<LinkModelRow>,
    /// In words, where a median is far from the model.
    pub notes: Vec<String>,
}

/// The model beside the medians, for a run over a link that delays or paces anything.
pub fn link_report(record: &RunRecord, transports: &[TransportReport]) -> Option<LinkReport> {
    let link = record.plan.link.as_ref().filter(|l| !l.is_direct())?;
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    for t in transports.iter().filter(|t| t.overall.count > 0) {
        let s = &t.overall;
        let Some(model_us) = link.predict_us(
            t.transport,
            s.bytes_out_per_msg,
            s.bytes_in_per_msg,
            record.plan.poll_interval_ms,
        ) else {
            continue;
        };
        let ratio = if model_us > 0.0 { s.p50_us / model_us } else { f64::NAN };
        let who = match t.client {
            ClientKind::Native => t.transport.name().to_owned(),
            ClientKind::Webview => format!("{} (web view)", t.transport.name()),
        };
        if ratio.is_finite() && ratio > FAR {
            notes.push(format!(
                "{who}: median {} is {ratio:.2}× the link's model ({}, {}): the rest is this machine's stack or a wait the model leaves out",
                format_us(s.p50_us),
                format_us(model_us),
                Link::model_words(t.transport)
            ));
        } else if ratio.is_finite() && ratio < 1.0 / FAR {
            notes.push(format!(
                "{who}: median {} is below the link's model ({}, {}): the transport needed fewer round trips than modelled",
                format_us(s.p50_us),
                format_us(model_us),
                Link::model_words(t.transport)
            ));
        }
        rows.push(LinkModelRow {
            transport: t.transport,
            client: t.client,
            model_us,
            model: Link::model_words(t.transport).to_owned(),
            median_us: s.p50_us,
            ratio,
        });
    }
    Some(LinkReport { link: link.clone(), rows, notes })
}
