//! The test plan: S sets x N calls per transport, pacing, payload, warm-up, concurrency.
//! Presets live in `crates/model/presets/*.toml` and are reviewed like code.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::link::{Link, Pace};
use crate::power::PowerSettings;
use crate::transport::{ClientKind, ClientOptions, HttpMethod, Transport, WebTrust};

mod checked;

pub use checked::{CheckedPlan, ClientRun};

/// How the sets of different transports follow each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, TS, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Order {
    /// Set 1 of every transport, then set 2 of every transport, ...: slow drifts of the
    /// machine (thermal, other load) hit all transports alike.
    #[default]
    Interleaved,
    /// Every set of the first transport, then the next transport.
    InTurn,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Plan {
    /// Preset name, if the plan came from one.
    pub name: Option<String>,
    pub description: Option<String>,
    pub transports: Vec<Transport>,
    pub sets: u32,
    /// Calls per set, per client.
    pub calls: u32,
    /// Pause between two calls of one client (0 = back to back). Ignored with `rate`.
    pub interval_ms: f64,
    /// Fixed rate per client in calls per second: sends follow a schedule and latency is
    /// measured from the scheduled time (coordinated-omission correction, as wrk2).
    pub rate: Option<f64>,
    pub payload_bytes: usize,
    /// Calls per client before the first set that are not recorded.
    pub warmup: u32,
    pub concurrency: u32,
    pub order: Order,
    /// WebSocket echo with binary frames instead of JSON text.
    pub binary: bool,
    pub http_method: HttpMethod,
    /// Interval of the `poll` transport.
    pub poll_interval_ms: f64,
    /// Event period of the embedded server (push transports).
    pub tick_ms: u64,
    /// A call without an answer for this long fails (and ends the run: the server is gone).
    pub timeout_ms: u64,
    /// Power, energy and CPU sampling beside the run.
    pub power: PowerSettings,
    /// The network between clients and server that the run emulates (`--link`); None: direct.
    pub link: Option<Link>,
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            name: None,
            description: None,
            transports: vec![Transport::Ws, Transport::Http, Transport::HttpNew],
            sets: 10,
            calls: 1000,
            interval_ms: 0.0,
            rate: None,
            payload_bytes: 16,
            warmup: 100,
            concurrency: 1,
            order: Order::Interleaved,
            binary: false,
            http_method: HttpMethod::Post,
            poll_interval_ms: 100.0,
            tick_ms: 100,
            timeout_ms: 5_000,
            power: PowerSettings::default(),
            link: None,
        }
    }
}

impl Plan {
    /// The plan as browsers that join run it, named for what they run ("join 10 × 200"), not
    /// for the preset it started from.
    pub fn joined(self) -> Plan {
        Plan { name: Some(format!("join {} × {}", self.sets, self.calls)), ..self }
    }

    /// How much the plan measures and at what pace, in words, as every view and printer says
    /// it: "1 set × 10 calls × 1 client, back to back", "10 sets × 10 calls × 1 client, 100 ms
    /// apart", "… at 50 calls/s".
    pub fn shape(&self) -> String {
        format!(
            "{} × {} × {}, {}",
            count(self.sets, "set"),
            count(self.calls, "call"),
            count(self.concurrency, "client"),
            self.pace_words()
        )
    }

    /// The pace in words: "at 50 calls/s", "2 ms apart", "back to back".
    fn pace_words(&self) -> String {
        match self.rate {
            Some(rate) => format!("at {rate} calls/s"),
            None if self.interval_ms > 0.0 => format!("{} ms apart", self.interval_ms),
            None => "back to back".into(),
        }
    }

    /// What shapes the latencies this plan measures, in words: payload, framing, method,
    /// pacing, concurrency and (for push) the event period. Runs pool only when their
    /// conditions match; the number of sets and calls does not change what each call costs.
    pub fn conditions(&self) -> String {
        let method = match self.http_method {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
        };
        let frames = if self.binary { "binary" } else { "text" };
        let mut words = format!(
            "{} B {frames}, {method}, {}, {}",
            self.payload_bytes,
            self.pace_words(),
            count(self.concurrency, "client")
        );
        if self.transports.iter().any(|t| t.pattern() == crate::transport::Pattern::Push) {
            words.push_str(&format!(", tick {} ms, poll {} ms", self.tick_ms, self.poll_interval_ms));
        }
        // Runs over different links are never pooled: each group names its link.
        if let Some(link) = self.link.as_ref().filter(|l| !l.is_direct()) {
            words.push_str(&format!(", over {}", link.describe()));
        }
        words
    }
}

/// "1 set", "10 sets".
fn count(n: u32, word: &str) -> String {
    if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") }
}

/// One run of a sweep: its plan, and its name among the others (`rtt=50ms`, `payload=64k`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct SweepStep {
    pub label: String,
    pub plan: Plan,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PlanError {
    #[error("invalid plan: {0}")]
    Invalid(String),
    #[error("sweep {spec}: {reason}")]
    Sweep { spec: String, reason: String },
    #[error("unknown preset {0:?} (available: quick, paper, push, energy)")]
    UnknownPreset(String),
    #[error("preset {name}: {reason}")]
    BadPreset { name: String, reason: String },
}

const PRESETS: [(&str, &str); 4] = [
    ("quick", include_str!("../../presets/quick.toml")),
    ("paper", include_str!("../../presets/paper.toml")),
    ("push", include_str!("../../presets/push.toml")),
    ("energy", include_str!("../../presets/energy.toml")),
];

/// Largest payload a plan may ask for (the default server accepts 1 MiB messages).
pub const MAX_PAYLOAD_BYTES: usize = 16 << 20;
pub const MAX_CONCURRENCY: u32 = 10_000;

impl Plan {
    pub fn preset_names() -> impl Iterator<Item = &'static str> {
        PRESETS.iter().map(|(n, _)| *n)
    }

    pub fn preset(name: &str) -> Result<Plan, PlanError> {
        let (_, text) = PRESETS
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| PlanError::UnknownPreset(name.to_owned()))?;
        Plan::from_toml(text)
            .map_err(|e| PlanError::BadPreset { name: name.to_owned(), reason: e.to_string() })
    }

    pub fn from_toml(text: &str) -> Result<Plan, PlanError> {
        let plan: Plan = toml::from_str(text).map_err(|e| PlanError::Invalid(e.to_string()))?;
        plan.validate()?;
        Ok(plan)
    }

    /// Checks the plan: the only way to a [`CheckedPlan`], which is what runs.
    pub fn check(self) -> Result<CheckedPlan, PlanError> {
        self.validate()?;
        Ok(CheckedPlan(self))
    }

    /// [`Plan::check`], and every transport measurable by `client`.
    pub fn check_for(self, client: ClientKind) -> Result<CheckedPlan, PlanError> {
        self.validate()?;
        match self.transports.iter().find(|t| !t.runs_on(client)) {
            Some(t) => {
                Err(PlanError::Invalid(format!("{t} cannot be measured by {} clients", client.name())))
            }
            None => Ok(CheckedPlan(self)),
        }
    }

    pub(crate) fn validate(&self) -> Result<(), PlanError> {
        let bad = |m: String| Err(PlanError::Invalid(m));
        if self.transports.is_empty() {
            return bad("choose at least one transport".into());
        }
        let mut seen = self.transports.clone();
        seen.sort();
        seen.dedup();
        if seen.len() != self.transports.len() {
            return bad("a transport is listed twice".into());
        }
        if self.sets == 0 || self.calls == 0 {
            return bad("sets and calls must be at least 1".into());
        }
        if !(1..=MAX_CONCURRENCY).contains(&self.concurrency) {
            return bad(format!("concurrency must be 1 to {MAX_CONCURRENCY}"));
        }
        if !self.interval_ms.is_finite() || self.interval_ms < 0.0 {
            return bad("interval must be 0 or more milliseconds".into());
        }
        if self.rate.is_some_and(|rate| !rate.is_finite() || rate <= 0.0 || rate > 1e6) {
            return bad("rate must be between 0 and 1,000,000 calls per second".into());
        }
        if self.payload_bytes > MAX_PAYLOAD_BYTES {
            return bad(format!("payload must be at most {MAX_PAYLOAD_BYTES} bytes"));
        }
        if !self.poll_interval_ms.is_finite() || self.poll_interval_ms < 1.0 {
            return bad("poll interval must be at least 1 ms".into());
        }
        if self.tick_ms == 0 || self.timeout_ms == 0 {
            return bad("tick and timeout must be at least 1 ms".into());
        }
        let power = &self.power;
        if power.enabled() && power.sample_ms < PowerSettings::MIN_SAMPLE_MS {
            return bad(format!(
                "power sampling period must be 0 (off) or at least {} ms",
                PowerSettings::MIN_SAMPLE_MS
            ));
        }
        if power.baseline_ms > 3_600_000 {
            return bad("the idle baseline must be at most an hour".into());
        }
        if let Some(Err(e)) = self.link.as_ref().map(Link::validate) {
            return bad(e.to_string());
        }
        Ok(())
    }

    /// The part of the plan one kind of client runs: the transports it can measure (a web
    /// client's with its browser trusting the server: see [`Plan::for_web`]). None when there
    /// are none.
    pub fn for_client(&self, client: ClientKind) -> Option<Plan> {
        self.only(|t| t.runs_on(client))
    }

    /// The part of the plan a web client runs, given whether its browser trusts the server's
    /// certificate.
    pub fn for_web(&self, trust: WebTrust) -> Option<Plan> {
        self.only(|t| t.webview_refusal(trust).is_none())
    }

    fn only(&self, keep: impl Fn(Transport) -> bool) -> Option<Plan> {
        let transports: Vec<Transport> = self.transports.iter().copied().filter(|t| keep(*t)).collect();
        (!transports.is_empty()).then(|| Plan { transports, ..self.clone() })
    }

    /// Sizes the plan to run each transport for `minutes` at its pace (rate or interval), with
    /// an idle baseline just as long: the energy plan's knob.
    pub fn with_minutes_per_transport(mut self, minutes: f64) -> Result<Plan, PlanError> {
        let per_second = match self.rate {
            Some(rate) => rate,
            None if self.interval_ms > 0.0 => 1e3 / self.interval_ms,
            None => {
                return Err(PlanError::Invalid(
                    "minutes per transport needs a pace: a rate or an interval".into(),
                ));
            }
        };
        if !minutes.is_finite() || minutes <= 0.0 || minutes > 24.0 * 60.0 {
            return Err(PlanError::Invalid("minutes per transport must be between 0 and 1440".into()));
        }
        let calls = (minutes * 60.0 * per_second / f64::from(self.sets)).ceil();
        self.calls = calls.clamp(1.0, f64::from(u32::MAX)) as u32;
        self.power.baseline_ms = (minutes * 60_000.0).round() as u64;
        self.validate()?;
        Ok(self)
    }

    pub fn interval(&self) -> Duration {
        Duration::from_secs_f64(self.interval_ms / 1e3)
    }

    /// `--sweep`: this plan once per value of one setting, a link's (`rtt=0,10,50ms`, over the
    /// plan's link or none) or the payload's (`payload=1k,16k,64k`), each checked and labelled.
    pub fn sweep(&self, spec: &str) -> Result<Vec<SweepStep>, PlanError> {
        let bad =
            |e: crate::link::LinkError| PlanError::Sweep { spec: spec.to_owned(), reason: e.to_string() };
        let (key, values) = crate::link::sweep_values(spec).map_err(bad)?;
        let steps: Vec<SweepStep> = if key == "payload" {
            values
                .iter()
                .map(|v| {
                    let payload_bytes =
                        usize::try_from(crate::link::bytes("payload", v).map_err(bad)?).unwrap_or(usize::MAX);
                    let over =
                        self.link.as_ref().filter(|l| !l.is_direct()).map(|l| format!(" over {}", l.name));
                    let label = format!("payload={v}{}", over.unwrap_or_default());
                    Ok(SweepStep { label, plan: Plan { payload_bytes, ..self.clone() } })
                })
                .collect::<Result<_, PlanError>>()?
        } else {
            let base = self.link.clone().unwrap_or_else(Link::none);
            base.sweep(spec)
                .map_err(bad)?
                .into_iter()
                .map(|link| SweepStep {
                    label: link.name.clone(),
                    plan: Plan { link: Some(link), ..self.clone() },
                })
                .collect()
        };
        for step in &steps {
            step.plan.validate().map_err(|e| PlanError::Sweep {
                spec: spec.to_owned(),
                reason: format!("{}: {e}", step.label),
            })?;
        }
        Ok(steps)
    }

    /// About how long the plan takes over its link, warm-up and idle baseline included, s: each
    /// transport's calls at the link's model (a message with its framing taken as the payload
    /// and 200 bytes), or at the event period for push. None without a link that delays.
    pub fn seconds_over_link(&self) -> Option<f64> {
        let link = self.link.as_ref().filter(|l| !l.is_direct())?;
        let bytes = self.payload_bytes as f64 + 200.0;
        let traffic = crate::link::Traffic {
            pace: self.pace(),
            poll_interval_ms: self.poll_interval_ms,
            tick_ms: self.tick_ms as f64,
            ..crate::link::Traffic::echo(bytes, bytes)
        };
        let calls = f64::from(self.sets) * f64::from(self.calls) + f64::from(self.warmup);
        let period_s = match self.rate {
            Some(rate) => 1.0 / rate,
            None => self.interval_ms / 1e3,
        };
        let calls_s: f64 = self
            .transports
            .iter()
            .map(|&t| {
                let call_s = link.predict_us(t, &traffic) / 1e6;
                let per_call = match t.pattern() {
                    crate::transport::Pattern::Push => (self.tick_ms as f64 / 1e3).max(call_s),
                    crate::transport::Pattern::RoundTrip => call_s + period_s,
                };
                per_call * calls
            })
            .sum();
        let baseline_s = if self.power.enabled() { self.power.baseline_ms as f64 / 1e3 } else { 0.0 };
        Some(calls_s + baseline_s)
    }

    /// How one client's calls are spaced, as the link's model takes it.
    pub fn pace(&self) -> Pace {
        match self.rate {
            Some(per_s) => Pace::Rate(per_s),
            None if self.interval_ms > 0.0 => Pace::Interval(self.interval_ms),
            None => Pace::BackToBack,
        }
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// Calls that will be recorded in total.
    pub fn total_calls(&self) -> u64 {
        self.transports.len() as u64 * self.calls_per_transport()
    }

    /// Calls that will be recorded of each transport: every set, every client.
    pub fn calls_per_transport(&self) -> u64 {
        u64::from(self.sets) * u64::from(self.calls) * u64::from(self.concurrency)
    }

    pub fn client_options(&self) -> ClientOptions {
        ClientOptions {
            payload_bytes: self.payload_bytes,
            binary: self.binary,
            http_method: self.http_method,
            poll_interval: Duration::from_secs_f64(self.poll_interval_ms / 1e3),
            foreign: None,
        }
    }

    /// The (transport, set) blocks in the order they run.
    pub fn blocks(&self) -> Vec<(Transport, u32)> {
        match self.order {
            Order::Interleaved => {
                (1..=self.sets).flat_map(|set| self.transports.iter().map(move |t| (*t, set))).collect()
            }
            Order::InTurn => {
                self.transports.iter().flat_map(|t| (1..=self.sets).map(move |set| (*t, set))).collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The quick preset over 4g: 30,000 calls of 165 to 330 ms each, hours, said before it
    /// starts; one set of 20 calls, under a minute.
    #[test]
    fn a_plan_over_a_slow_link_knows_how_long_it_takes() {
        let link = Some(Link::profile("4g").expect("4g"));
        let quick =
            Plan { link: link.clone(), power: PowerSettings::OFF, ..Plan::preset("quick").expect("quick") };
        let hours = quick.seconds_over_link().expect("over a link") / 3600.0;
        assert!(hours > 1.0, "{hours} h");
        let short = Plan { sets: 1, calls: 20, warmup: 1, ..quick.clone() };
        assert!(short.seconds_over_link().expect("over a link") < 60.0);
        assert_eq!(Plan { link: None, ..quick }.seconds_over_link(), None);
    }

    #[test]
    fn a_sweep_is_one_plan_per_payload_or_link_value() {
        let base = Plan { link: Some(Link::profile("4g").expect("4g")), ..Plan::default() };
        let steps = base.sweep("payload=16,1k,64k").expect("valid");
        let sizes: Vec<usize> = steps.iter().map(|s| s.plan.payload_bytes).collect();
        assert_eq!(sizes, [16, 1024, 65536]);
        assert_eq!(steps[1].label, "payload=1k over 4g");
        assert!(steps.iter().all(|s| s.plan.link == base.link), "the link is kept");
        let rtts = Plan::default().sweep("rtt=0,50ms").expect("valid");
        assert_eq!(rtts[1].plan.link.as_ref().map(|l| l.rtt_ms), Some(50.0));
        assert_eq!(rtts[1].label, "rtt=50ms");
        let too_big = Plan::default().sweep("payload=1k,64m").expect_err("over the maximum").to_string();
        assert!(
            too_big.starts_with("sweep payload=1k,64m: payload=64m: invalid plan: payload must be at most"),
            "{too_big}"
        );
        assert!(Plan::default().sweep("payload=1k,lots").is_err());
    }

    #[test]
    fn a_plans_shape_reads_in_words() {
        let one =
            Plan { sets: 1, calls: 10, concurrency: 1, interval_ms: 0.0, rate: None, ..Plan::default() };
        assert_eq!(one.shape(), "1 set × 10 calls × 1 client, back to back");
        let paced = Plan { sets: 10, concurrency: 4, interval_ms: 100.0, ..one.clone() };
        assert_eq!(paced.shape(), "10 sets × 10 calls × 4 clients, 100 ms apart");
    }

    #[test]
    fn every_preset_parses_and_validates() {
        for name in Plan::preset_names() {
            let plan = Plan::preset(name).expect(name);
            assert_eq!(plan.name.as_deref(), Some(name));
        }
        let paper = Plan::preset("paper").expect("paper");
        assert_eq!((paper.sets, paper.interval_ms), (10, 100.0));
        assert!(matches!(Plan::preset("nope"), Err(PlanError::UnknownPreset(_))));
    }

    #[test]
    fn bad_plans_are_refused_with_a_reason() {
        let cases = [
            Plan { transports: vec![], ..Plan::default() },
            Plan { transports: vec![Transport::Ws, Transport::Ws], ..Plan::default() },
            Plan { sets: 0, ..Plan::default() },
            Plan { concurrency: 0, ..Plan::default() },
            Plan { interval_ms: -1.0, ..Plan::default() },
            Plan { rate: Some(0.0), ..Plan::default() },
            Plan { payload_bytes: MAX_PAYLOAD_BYTES + 1, ..Plan::default() },
        ];
        for plan in cases {
            assert!(plan.clone().check().is_err(), "{plan:?}");
        }
        assert!(Plan::from_toml("sets = \"ten\"").is_err());
        assert!(Plan::from_toml("colour = 1").is_err());
    }

    #[test]
    fn each_client_kind_gets_the_transports_it_can_measure() {
        use Transport::{Http, HttpNew, Ws, Xhr};
        let plan = Plan { transports: vec![Ws, Http, HttpNew, Xhr], ..Plan::default() };
        assert!(plan.clone().check().is_ok());
        let err = plan.clone().check_for(ClientKind::Native).expect_err("xhr is web-view only");
        assert!(err.to_string().contains("xhr cannot be measured by native clients"), "{err}");
        assert_eq!(plan.for_client(ClientKind::Native).map(|p| p.transports), Some(vec![Ws, Http, HttpNew]));
        assert_eq!(plan.for_client(ClientKind::Webview).map(|p| p.transports), Some(vec![Ws, Http, Xhr]));
        let only_xhr = Plan { transports: vec![Xhr], ..Plan::default() };
        assert_eq!(only_xhr.for_client(ClientKind::Native), None);
    }

    #[test]
    fn a_web_client_measures_tls_only_when_its_browser_trusts_the_server() {
        use Transport::{H2, H3, Https, HttpsNew, Sse, Ws, Wss, Wt, WtDgram, WtPush, WtPushDgram, WtStreams};
        let all = vec![Ws, Wss, Https, HttpsNew, H2, Sse, Wt, WtStreams, WtDgram, H3, WtPush, WtPushDgram];
        let plan = Plan { transports: all, ..Plan::default() }.check().expect("valid");
        let web = |trust| plan.web_run(trust).map(|r| r.plan.transports);
        // WebTransport takes the certificate by its hash: no trust needed.
        assert_eq!(web(WebTrust::Trusted), Some(vec![Ws, Wss, Https, Sse, Wt, WtStreams, WtDgram]));
        assert_eq!(web(WebTrust::Untrusted), Some(vec![Ws, Sse, Wt, WtStreams, WtDgram]));
        let why = Wss.webview_refusal(WebTrust::Untrusted).expect("refused");
        assert!(why.contains("trusts"), "{why}");
        assert!(H2.webview_refusal(WebTrust::Trusted).expect("refused").contains("HTTP version"));
        assert!(H3.webview_refusal(WebTrust::Trusted).expect("refused").contains("Alt-Svc"));
        // What a web client may record is what it can measure when trusted, and no more.
        for t in Transport::ALL {
            assert_eq!(t.runs_on(ClientKind::Webview), t.webview_refusal(WebTrust::Trusted).is_none(), "{t}");
        }
    }

    #[test]
    fn each_kind_of_client_is_handed_its_part_in_the_engines_order() {
        use Transport::{Http, HttpNew, Ws, Xhr};
        let plan = Plan { transports: vec![Ws, Http, HttpNew, Xhr], sets: 2, calls: 25, ..Plan::default() };
        let plan = plan.check().expect("valid");
        let web = plan.web_run(WebTrust::Untrusted).expect("web transports");
        assert_eq!(web.plan.transports, vec![Ws, Http, Xhr]);
        assert_eq!(web.blocks, vec![(Ws, 1), (Http, 1), (Xhr, 1), (Ws, 2), (Http, 2), (Xhr, 2)]);
        assert_eq!(web.calls, 3 * 2 * 25);
        assert_eq!(plan.native_run().map(|r| r.calls), Some(3 * 2 * 25));
        let only_new = Plan { transports: vec![HttpNew], ..Plan::default() }.check().expect("valid");
        assert_eq!(only_new.web_run(WebTrust::Trusted), None);
        let paced = Plan { interval_ms: 100.0, concurrency: 2, ..Plan::default() }.check().expect("valid");
        assert_eq!(paced.paced_seconds(100), Some(100.0 / 2.0 * 0.1 + 2.0));
        assert_eq!(plan.paced_seconds(100), None, "back to back: no estimate");
    }

    #[test]
    fn interleaved_and_in_turn_orders() {
        let mut plan = Plan { transports: vec![Transport::Ws, Transport::Http], sets: 2, ..Plan::default() };
        use Transport::{Http, Ws};
        assert_eq!(plan.blocks(), vec![(Ws, 1), (Http, 1), (Ws, 2), (Http, 2)]);
        plan.order = Order::InTurn;
        assert_eq!(plan.blocks(), vec![(Ws, 1), (Ws, 2), (Http, 1), (Http, 2)]);
    }
}
