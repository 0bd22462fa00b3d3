//! k6 JSON outputs (`k6 run --out json=FILE`) of a bench script `duplex k6 export` wrote, read
//! back as one run: one file for a whole test, or one per execution segment of a test split over
//! processes or hosts, which must cover it once.

use std::collections::HashSet;

use duplex_model::plan::Plan;
use duplex_model::platform::PlatformInfo;
use duplex_model::record::{ClientKind, ClientPart, RunRecord, RunStatus, Sample, Topology};
use duplex_model::transport::Transport;

use super::K6Error;
use super::output::{K6File, Segment, read_one_test};

/// What one file holds of the run.
struct Part {
    plan: Plan,
    target: String,
    /// Its execution segment, as fractions of the test.
    segment: Segment,
    samples: Vec<Sample>,
}

/// Reads every file, checks that they are one test's outputs whose segments cover it once,
/// and returns the run (not yet stored). Nothing is kept from a file that fails.
pub fn import(files: &[K6File]) -> Result<RunRecord, K6Error> {
    let parts = read_one_test(
        files,
        read,
        |p, first| p.plan == first.plan && p.target == first.target,
        "plan or target",
        |p| p.segment,
    )?;
    let first = &parts[0];
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
    record.platform = PlatformInfo {
        os: "k6".into(),
        os_version: super::processes(parts.len()),
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

/// One file: its plan point and its round trips and errors, each line checked.
fn read(file: &K6File) -> Result<Part, K6Error> {
    let mut plan: Option<(Plan, String, Segment)> = None;
    let mut samples = Vec::new();
    for point in file.points() {
        let point = point?;
        match point.metric.as_str() {
            "duplex_plan" => {
                if plan.is_some() {
                    return Err(point.bad("a second duplex_plan point: one file is one k6 process's output"));
                }
                let p: Plan = serde_json::from_str(point.tag("duplex_plan")?)
                    .map_err(|e| point.bad(format!("its plan does not read: {e}")))?;
                let p = p.check().map_err(|e| point.bad(e))?.into_plan();
                plan = Some((p, point.tag("target")?.to_owned(), point.segment()?));
            }
            "duplex_rtt" | "duplex_errors" => {
                let transport: Transport =
                    point.tag("transport")?.parse().map_err(|e: String| point.bad(e))?;
                let rtt = point.metric == "duplex_rtt";
                if rtt && !(point.value.is_finite() && point.value >= 0.0) {
                    return Err(point.bad(format!("round trip {} ms is not a time", point.value)));
                }
                let sent_ms = point.number("sent")?;
                samples.push(Sample {
                    transport,
                    client: ClientKind::K6,
                    client_id: point.small("client")?,
                    set: point.small("set")?,
                    seq: point.number("seq")?,
                    sent_at_unix_ns: i64::try_from(sent_ms)
                        .unwrap_or(i64::MAX / 1_000_000)
                        .saturating_mul(1_000_000),
                    latency_ns: if rtt { (point.value * 1e6).round() as u64 } else { 0 },
                    send_delay_ns: 0,
                    server_time_unix_ns: None,
                    bytes_out: 0,
                    bytes_in: 0,
                    error: (!rtt)
                        .then(|| point.optional_tag("error").unwrap_or("k6 counted an error").to_owned()),
                });
            }
            _ => {}
        }
    }
    let Some((plan, target, segment)) = plan else { return Err(file.no_plan("duplex_plan")) };
    Ok(Part { plan, target, segment, samples })
}
