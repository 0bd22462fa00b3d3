//! What comes into a record from outside the engine: a web view's samples merged into a run, a
//! record from a bundle or another device checked before it is kept.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{BlockTiming, ClientKind, ConnectionUse, RunRecord, RunStatus, Sample, WebviewInfo};
use crate::transport::Transport;

/// Samples measured outside the engine's runner (the web view's clients) for one record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct ClientPart {
    pub client: ClientKind,
    pub status: RunStatus,
    pub error: Option<String>,
    pub info: Option<WebviewInfo>,
    pub samples: Vec<Sample>,
    pub blocks: Vec<BlockTiming>,
    /// Its AJAX calls that opened a connection of their own, per transport.
    #[serde(default)]
    pub connections: Vec<ConnectionUse>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("rejected {client} samples: {reason}")]
pub struct MergeError {
    pub client: &'static str,
    pub reason: String,
}

/// Longest text kept from outside (a sample's error, a part's error, a user agent): a misbehaving
/// client must not bloat the history.
pub const MAX_ERROR_CHARS: usize = 500;

impl RunRecord {
    /// Adds another kind of client's samples. The part is checked against the plan first; a
    /// part that does not fit is refused whole and the record is left as it was.
    pub fn merge(&mut self, mut part: ClientPart) -> Result<(), MergeError> {
        let reject = |reason: String| Err(MergeError { client: part.client.name(), reason });
        if self.samples.iter().any(|s| s.client == part.client) {
            return reject("this run already has them".into());
        }
        let per_transport_max =
            u64::from(self.plan.sets) * u64::from(self.plan.calls) * u64::from(self.plan.concurrency);
        for &transport in &self.plan.transports {
            let n = part.samples.iter().filter(|s| s.transport == transport).count() as u64;
            if n > per_transport_max {
                return reject(format!(
                    "{n} {transport} samples, but the plan has {per_transport_max} calls"
                ));
            }
        }
        for (i, s) in part.samples.iter().enumerate() {
            let bad = if s.client != part.client {
                Some(format!("is labelled {}", s.client.name()))
            } else {
                self.sample_problem(s)
            };
            if let Some(why) = bad {
                return reject(format!("sample {} {why}", i + 1));
            }
        }
        let plan_has = |t: Transport| self.plan.transports.contains(&t) && t.runs_on(part.client);
        if let Some(b) = part.blocks.iter().find(|b| b.client != part.client || !plan_has(b.transport)) {
            return reject(format!(
                "a block of {} {} does not belong to this run",
                b.client.name(),
                b.transport
            ));
        }
        // Texts from outside: clipped, and any access token in them (a joined browser's errors
        // name its URLs) redacted.
        let clip = |text: &mut String| {
            if text.chars().count() > MAX_ERROR_CHARS {
                *text = text.chars().take(MAX_ERROR_CHARS).collect();
            }
            *text = crate::redact::redact(text);
        };
        for s in &mut part.samples {
            if let Some(e) = &mut s.error {
                clip(e);
            }
        }
        if let Some(e) = &mut part.error {
            clip(e);
        }
        if let Some(info) = &mut part.info {
            clip(&mut info.user_agent);
            if let Some(u) = info.unavailable.iter().find(|u| !plan_has(u.transport)) {
                return reject(format!(
                    "{} is not a transport of this run, so it cannot be unavailable",
                    u.transport
                ));
            }
            info.unavailable.iter_mut().for_each(|u| clip(&mut u.reason));
        }
        if let Some(c) = part.connections.iter().find(|c| c.client != part.client || !plan_has(c.transport)) {
            return reject(format!(
                "connection counts of {} {} do not belong to this run",
                c.client.name(),
                c.transport
            ));
        }
        self.samples.append(&mut part.samples);
        self.blocks.append(&mut part.blocks);
        self.connections.append(&mut part.connections);
        if part.info.is_some() {
            self.webview = part.info;
        }
        // The worse ending wins: failed over cancelled over complete.
        let rank = |s: RunStatus| match s {
            RunStatus::Complete => 0,
            RunStatus::Cancelled => 1,
            RunStatus::Failed => 2,
        };
        if rank(part.status) > rank(self.status) {
            self.status = part.status;
        }
        if let Some(e) = part.error {
            let e = format!("{} clients: {e}", part.client.name());
            self.error = Some(match self.error.take() {
                Some(prev) => format!("{prev}; {e}"),
                None => e,
            });
        }
        self.finished_at_unix_ns = self.finished_at_unix_ns.max(crate::clock::now_unix_ns());
        Ok(())
    }

    /// Why `s` cannot belong to this run, if it cannot.
    fn sample_problem(&self, s: &Sample) -> Option<String> {
        if !self.plan.transports.contains(&s.transport) || !s.transport.runs_on(s.client) {
            Some(format!("has transport {} which this run does not measure", s.transport))
        } else if s.set == 0 || s.set > self.plan.sets {
            Some(format!("has set {} outside 1..={}", s.set, self.plan.sets))
        } else if s.client_id >= self.plan.concurrency {
            Some(format!("has client {} but the plan has {}", s.client_id, self.plan.concurrency))
        } else {
            None
        }
    }

    /// Checks a record that came from outside (a bundle, another device): a plan that
    /// validates, and samples, blocks and texts that fit it.
    pub fn validate(&self) -> Result<(), String> {
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 64
            && self.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !id_ok {
            return Err(format!(
                "run id {:?} is not a Duplex run id",
                self.id.chars().take(80).collect::<String>()
            ));
        }
        self.plan.validate().map_err(|e| e.to_string())?;
        let per_transport_max =
            u64::from(self.plan.sets) * u64::from(self.plan.calls) * u64::from(self.plan.concurrency);
        for kind in [ClientKind::Native, ClientKind::Webview] {
            for &t in &self.plan.transports {
                let n = self.samples.iter().filter(|s| s.transport == t && s.client == kind).count() as u64;
                if n > per_transport_max {
                    return Err(format!("{n} {t} samples, but the plan has {per_transport_max} calls"));
                }
            }
        }
        if let Some((i, why)) =
            self.samples.iter().enumerate().find_map(|(i, s)| Some((i, self.sample_problem(s)?)))
        {
            return Err(format!("sample {} {why}", i + 1));
        }
        if let Some((i, _)) = self
            .samples
            .iter()
            .enumerate()
            .find(|(_, s)| s.error.as_ref().is_some_and(|e| e.chars().count() > MAX_ERROR_CHARS))
        {
            return Err(format!(
                "sample {} has an error text longer than {MAX_ERROR_CHARS} characters",
                i + 1
            ));
        }
        if self.blocks.iter().any(|b| !self.plan.transports.contains(&b.transport)) {
            return Err("a block of a transport the plan does not measure".into());
        }
        Ok(())
    }
}
