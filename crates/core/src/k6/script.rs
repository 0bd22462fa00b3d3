//! The k6 script of a plan (`duplex k6 export`).

use duplex_model::ClientKind;
use duplex_model::plan::CheckedPlan;

use super::K6Error;

const TEMPLATE: &str = include_str!("script.js");

/// A k6 script that runs `plan` against the Duplex server at `target` (`host:port`): its ws and
/// http echoes, warm-up, sets in Duplex's order, pace and clients, each round trip a point of
/// the `duplex_rtt` Trend tagged by transport, set, client and sequence.
pub fn script(plan: &CheckedPlan, target: &str) -> Result<String, K6Error> {
    if let Some(t) = plan.transports.iter().find(|t| !t.runs_on(ClientKind::K6)) {
        return Err(K6Error::Transport(t.to_string()));
    }
    if plan.link.as_ref().is_some_and(|l| !l.is_direct()) {
        return Err(K6Error::Transport(
            "an emulated link (k6 measures the network between its hosts and the server as it is)".into(),
        ));
    }
    // Long enough for every call at its pace or timeout, with room.
    let calls = plan.total_calls() + u64::from(plan.warmup) * plan.transports.len() as u64;
    let per_call_ms = match plan.rate {
        Some(rate) => 1e3 / rate,
        None => plan.interval_ms,
    } + plan.timeout_ms as f64;
    let max_s = (calls as f64 * per_call_ms / 1e3).ceil() as u64 + 60;
    let header = format!(
        "Written by `duplex k6 export` (Duplex {}): {}; {}; {} B payloads, {}; against {target}.",
        crate::VERSION,
        plan.shape(),
        plan.transports.iter().map(|t| t.name()).collect::<Vec<_>>().join(", "),
        plan.payload_bytes,
        match plan.http_method {
            duplex_model::transport::HttpMethod::Get => "http by GET",
            duplex_model::transport::HttpMethod::Post => "http by POST",
        },
    );
    Ok(TEMPLATE
        .replace("__DUPLEX_HEADER__", &header)
        .replace("__DUPLEX_PLAN__", &json(&**plan))
        .replace("__DUPLEX_BLOCKS__", &json(&plan.blocks()))
        .replace("__DUPLEX_TARGET__", target)
        .replace("__DUPLEX_MAX__", &format!("{max_s}s")))
}

/// JSON for the script (a plan and its blocks always serialize).
fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| format!("null /* {e} */"))
}
