//! k6 JSON outputs (`k6 run --out json=FILE`) of a script `duplex k6 export` wrote, read back as
//! one run: one file for a whole test, or one per execution segment of a test split over
//! processes or hosts, which must cover it once.

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;

use duplex_model::plan::Plan;
use duplex_model::platform::PlatformInfo;
use duplex_model::record::{ClientKind, ClientPart, RunRecord, RunStatus, Sample, Topology};
use duplex_model::transport::Transport;

use super::K6Error;

/// One k6 output: its name (for messages) and its text.
pub struct K6File {
    pub name: String,
    pub text: String,
}

/// A line of k6's JSON output: a metric's declaration or one point of it.
#[derive(Deserialize)]
struct Line {
    #[serde(rename = "type")]
    kind: String,
    metric: String,
    #[serde(default)]
    data: Option<PointData>,
}

#[derive(Deserialize)]
struct PointData {
    #[serde(default)]
    value: f64,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

/// What one file holds of the run.
struct Part {
    plan: Plan,
    target: String,
    /// Its execution segment, as fractions of the test.
    segment: (Fraction, Fraction),
    samples: Vec<Sample>,
}

/// `a/b`, kept exact so that segments join without rounding; ordered by value (1/2 = 2/4).
#[derive(Debug, Clone, Copy)]
struct Fraction(u64, u64);

impl Ord for Fraction {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (u128::from(self.0) * u128::from(other.1)).cmp(&(u128::from(other.0) * u128::from(self.1)))
    }
}
impl PartialOrd for Fraction {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for Fraction {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}
impl Eq for Fraction {}

impl Fraction {
    fn parse(text: &str) -> Option<Fraction> {
        let (n, d) = match text.split_once('/') {
            Some((n, d)) => (n.trim().parse().ok()?, d.trim().parse().ok()?),
            None => (text.trim().parse().ok()?, 1),
        };
        (d > 0 && n <= d).then_some(Fraction(n, d))
    }
}

/// Reads every file, checks that they are one test's outputs whose segments cover it once,
/// and returns the run (not yet stored). Nothing is kept from a file that fails.
pub fn import(files: &[K6File]) -> Result<RunRecord, K6Error> {
    if files.is_empty() {
        return Err(K6Error::Mismatch("no k6 output given".into()));
    }
    let parts = files.iter().map(read).collect::<Result<Vec<_>, _>>()?;
    let first = &parts[0];
    if let Some((f, _)) =
        files.iter().zip(&parts).find(|(_, p)| p.plan != first.plan || p.target != first.target)
    {
        return Err(K6Error::Mismatch(format!(
            "{} ran another plan or target than {}: outputs of one test only",
            f.name, files[0].name
        )));
    }
    check_segments(files, &parts)?;
    let mut samples: Vec<Sample> = parts.iter().flat_map(|p| p.samples.iter().cloned()).collect();
    let mut seen = HashSet::new();
    if let Some(s) = samples.iter().find(|s| !seen.insert((s.transport, s.client_id, s.seq))) {
        return Err(K6Error::Mismatch(format!(
            "{} call {} of client {} is in two outputs: one test's segments hold each call once",
            s.transport, s.seq, s.client_id
        )));
    }
    samples.sort_by_key(|s| (s.sent_at_unix_ns, s.client_id));
    let plan = first.plan.clone();
    let expected = plan.total_calls();
    let mut record = RunRecord::new(plan, first.target.clone());
    record.server = first.target.clone();
    // Where the server was, as the runner reads a URL: on this machine, or elsewhere.
    let loopback =
        duplex_clients::Endpoints::parse(&format!("http://{}", first.target)).is_ok_and(|e| e.is_loopback);
    record.topology = if loopback { Topology::SeparateProcess } else { Topology::Remote };
    let processes = parts.len();
    record.platform = PlatformInfo {
        os: "k6".into(),
        os_version: if processes == 1 { "1 process".into() } else { format!("{processes} processes") },
        ..PlatformInfo::default()
    };
    let got = samples.len() as u64;
    let (status, error) = if got == expected {
        (RunStatus::Complete, None)
    } else {
        (
            RunStatus::Failed,
            Some(format!(
                "the k6 outputs hold {got} of the plan's {expected} calls (did a process stop early?)"
            )),
        )
    };
    // The merge checks every sample against the plan and takes the part's status and error.
    let part = ClientPart {
        client: ClientKind::K6,
        status,
        error,
        info: None,
        samples,
        blocks: Vec::new(),
        connections: Vec::new(),
    };
    record.merge(part).map_err(|e| K6Error::Mismatch(e.to_string()))?;
    // The run's time is the calls' (the merge stamps its own end, the import's).
    if let (Some(first), Some(last)) = (record.samples.first(), record.samples.last()) {
        record.started_at_unix_ns = first.sent_at_unix_ns;
        record.finished_at_unix_ns =
            last.sent_at_unix_ns.saturating_add(i64::try_from(last.latency_ns).unwrap_or(i64::MAX));
    }
    Ok(record)
}

/// The segments, sorted, must run from 0 to 1 without a gap or an overlap.
fn check_segments(files: &[K6File], parts: &[Part]) -> Result<(), K6Error> {
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by_key(|&i| parts[i].segment.0);
    let mut at = Fraction(0, 1);
    for &i in &order {
        let (from, to) = parts[i].segment;
        if from != at {
            return Err(K6Error::Mismatch(format!(
                "{}: its execution segment starts at {}/{} where the others leave off at {}/{}: give every segment of the test once",
                files[i].name, from.0, from.1, at.0, at.1
            )));
        }
        at = to;
    }
    if at != Fraction(1, 1) {
        return Err(K6Error::Mismatch(format!(
            "the execution segments end at {}/{}, not at 1: a segment's output is missing",
            at.0, at.1
        )));
    }
    Ok(())
}

/// One file: its plan point and its round trips and errors, each line checked.
fn read(file: &K6File) -> Result<Part, K6Error> {
    let bad = |line: usize, reason: String| K6Error::File {
        file: file.name.clone(),
        reason: format!("line {line}: {reason}"),
    };
    let mut plan: Option<(Plan, String, (Fraction, Fraction))> = None;
    let mut samples = Vec::new();
    for (i, text) in file.text.lines().enumerate() {
        let n = i + 1;
        if text.trim().is_empty() {
            continue;
        }
        let line: Line = serde_json::from_str(text)
            .map_err(|e| bad(n, format!("not a line of k6's JSON output ({e})")))?;
        if line.kind != "Point" {
            continue;
        }
        let Some(data) = line.data else { return Err(bad(n, "a point without data".into())) };
        let tag = |name: &str| {
            data.tags
                .get(name)
                .map(String::as_str)
                .ok_or_else(|| bad(n, format!("{} point without its {name} tag", line.metric)))
        };
        match line.metric.as_str() {
            "duplex_plan" => {
                if plan.is_some() {
                    return Err(bad(
                        n,
                        "a second duplex_plan point: one file is one k6 process's output".into(),
                    ));
                }
                let p: Plan = serde_json::from_str(tag("duplex_plan")?)
                    .map_err(|e| bad(n, format!("its plan does not read: {e}")))?;
                let p = p.check().map_err(|e| bad(n, e.to_string()))?.into_plan();
                let segment = tag("segment")?;
                let (from, to) = segment
                    .split_once(':')
                    .and_then(|(a, b)| Some((Fraction::parse(a)?, Fraction::parse(b)?)))
                    .filter(|(a, b)| a < b)
                    .ok_or_else(|| bad(n, format!("execution segment {segment:?} is not FROM:TO")))?;
                plan = Some((p, tag("target")?.to_owned(), (from, to)));
            }
            "duplex_rtt" | "duplex_errors" => {
                let number = |name: &str| -> Result<u64, K6Error> {
                    tag(name)?.parse().map_err(|_| bad(n, format!("its {name} tag is not a whole number")))
                };
                let transport: Transport = tag("transport")?.parse().map_err(|e: String| bad(n, e))?;
                let rtt = line.metric == "duplex_rtt";
                if rtt && !(data.value.is_finite() && data.value >= 0.0) {
                    return Err(bad(n, format!("round trip {} ms is not a time", data.value)));
                }
                let sent_ms = number("sent")?;
                samples.push(Sample {
                    transport,
                    client: ClientKind::K6,
                    client_id: u32::try_from(number("client")?)
                        .map_err(|_| bad(n, "client out of range".into()))?,
                    set: u32::try_from(number("set")?).map_err(|_| bad(n, "set out of range".into()))?,
                    seq: number("seq")?,
                    sent_at_unix_ns: i64::try_from(sent_ms)
                        .unwrap_or(i64::MAX / 1_000_000)
                        .saturating_mul(1_000_000),
                    latency_ns: if rtt { (data.value * 1e6).round() as u64 } else { 0 },
                    send_delay_ns: 0,
                    server_time_unix_ns: None,
                    bytes_out: 0,
                    bytes_in: 0,
                    error: (!rtt).then(|| {
                        data.tags.get("error").cloned().unwrap_or_else(|| "k6 counted an error".into())
                    }),
                });
            }
            _ => {}
        }
    }
    // A file cut short ends in the middle of a line, which did not read above; one that ends
    // cleanly but has no plan point is not a Duplex script's output.
    let Some((plan, target, segment)) = plan else {
        return Err(K6Error::File {
            file: file.name.clone(),
            reason: "no duplex_plan point: not the output (k6 run --out json=FILE) of a script `duplex k6 export` wrote".into(),
        });
    };
    Ok(Part { plan, target, segment, samples })
}
