//! A fan-out plan as a k6 script (`duplex k6 fanout`), and its k6 outputs read back as a fan-out
//! report: ws-push and long-poll subscribers held by k6 virtual users, each tick of a `duplex
//! serve` a broadcast, each delivery's delay timed from the event's `created_ns`.

use std::collections::{BTreeMap, HashMap};

use duplex_model::transport::Transport;

use super::output::{K6File, Segment, read_one_test};
use super::{CLOCK_STEP_US, K6Error};
use crate::fanout::collect::{Round, Tally};
use crate::fanout::{FanoutCell, FanoutPlan, FanoutReport, FanoutWords, headline, outcome};

const TEMPLATE: &str = include_str!("fanout.js");

/// The push transports a k6 script subscribes by (k6 has no SSE client without an extension).
pub const K6_PUSH_TRANSPORTS: [Transport; 2] = [Transport::WsPush, Transport::LongPoll];

/// A k6 script that holds `plan`'s subscribers against the Duplex server at `target`
/// (`host:port`) that ticks every `tick_ms`, `per_vu` subscribers to a virtual user.
pub fn fanout_script(plan: &FanoutPlan, tick_ms: u64, per_vu: u32, target: &str) -> Result<String, K6Error> {
    plan.check().map_err(K6Error::Mismatch)?;
    if let Some(t) = plan.transports.iter().find(|t| !K6_PUSH_TRANSPORTS.contains(t)) {
        return Err(K6Error::Mismatch(format!(
            "k6 cannot subscribe by {t}: a k6 fan-out script holds ws-push and long-poll subscribers (k6 has no SSE client without an extension)"
        )));
    }
    if tick_ms == 0 || per_vu == 0 {
        return Err(K6Error::Mismatch("the tick and the subscribers per virtual user: at least 1".into()));
    }
    let header = format!(
        "Written by `duplex k6 fanout` (Duplex {}): {} broadcasts (the server's ticks, every {tick_ms} ms) to {} subscribers by {}, {per_vu} subscribers per virtual user; against {target}.",
        crate::VERSION,
        plan.broadcasts,
        plan.subscribers.iter().map(u32::to_string).collect::<Vec<_>>().join(", "),
        plan.transports.iter().map(|t| t.name()).collect::<Vec<_>>().join(", "),
    );
    let room = u64::from(plan.largest()) + 500;
    Ok(TEMPLATE
        .replace("__DUPLEX_HEADER__", &header)
        .replace(
            "__DUPLEX_PLAN__",
            &serde_json::to_string(plan).unwrap_or_else(|e| format!("null /* {e} */")),
        )
        .replace("__DUPLEX_TICK__", &tick_ms.to_string())
        .replace("__DUPLEX_ROOM__", &room.to_string())
        .replace("__DUPLEX_PER_VU__", &per_vu.to_string())
        .replace("__DUPLEX_TARGET__", target))
}

/// What one file holds of the test.
struct Part {
    plan: FanoutPlan,
    tick_ms: u64,
    target: String,
    segment: Segment,
    cells: BTreeMap<(Transport, u32), CellPoints>,
}

/// One cell's points in one or more files.
#[derive(Default)]
struct CellPoints {
    /// Each subscriber that connected: ms from its virtual user's start.
    subscribed: HashMap<u32, f64>,
    /// Each event's deliveries: subscriber, delay ms (k6's clock minus the server's).
    events: BTreeMap<u64, HashMap<u32, f64>>,
    errors: Vec<String>,
}

/// Reads every file, checks that they are one fan-out test's outputs whose segments cover it
/// once, and returns its report: a cell per transport and count, client k6.
pub fn import_fanout(files: &[K6File]) -> Result<FanoutReport, K6Error> {
    let parts = read_one_test(
        files,
        read,
        |p, first| p.plan == first.plan && p.target == first.target && p.tick_ms == first.tick_ms,
        "plan, tick or target",
        |p| p.segment,
    )?;
    let first = &parts[0];
    let (plan, tick_ms, target) = (first.plan.clone(), first.tick_ms, first.target.clone());
    let mut merged: BTreeMap<(Transport, u32), CellPoints> = BTreeMap::new();
    for part in parts {
        for (key, points) in part.cells {
            let cell = merged.entry(key).or_default();
            for (id, since) in points.subscribed {
                if cell.subscribed.insert(id, since).is_some() {
                    return Err(twice(key, id));
                }
            }
            for (seq, got) in points.events {
                let event = cell.events.entry(seq).or_default();
                for (id, ms) in got {
                    if event.insert(id, ms).is_some() {
                        return Err(twice(key, id));
                    }
                }
            }
            cell.errors.extend(points.errors);
        }
    }
    let mut early = Early::default();
    let cells: Vec<FanoutCell> = plan
        .transports
        .iter()
        .flat_map(|&t| plan.subscribers.iter().map(move |&n| (t, n)))
        .map(|(t, n)| cell(&plan, t, n, merged.remove(&(t, n)).unwrap_or_default(), &mut early))
        .collect();
    let mut notes = vec![
        format!(
            "k6, {}: each subscriber a WebSocket or a long-poll loop of a k6 virtual user; the broadcasts are the \
             server's ticks, every {tick_ms} ms (the first that reaches every subscriber warms up)",
            super::processes(files.len())
        ),
        format!(
            "clock: k6's Date.now(), {} ms steps; a delay is the k6 host's clock at arrival minus the server's at \
             the event's creation, so across hosts their offset is in every figure",
            CLOCK_STEP_US / 1e3
        ),
        "k6 counts no bytes, and the server's CPU is not seen".to_owned(),
    ];
    if early.count > 0 {
        notes.push(format!(
            "{} deliveries read before their event's creation (by up to {:.1} ms), counted as 0: k6's millisecond \
             clock, or clocks that differ",
            early.count, early.most_ms
        ));
    }
    if cells.iter().any(|c| c.transport == Transport::LongPoll && c.missed > 0) {
        notes.push(
            "long-poll deliveries missed: a long-poller that asks again after the next tick gets only the newest \
             event; give the server a longer --tick-ms than the last subscriber's latency"
                .to_owned(),
        );
    }
    let ok = cells.iter().all(|c| c.missed == 0 && c.errors.is_empty());
    Ok(FanoutReport {
        headline: headline(&cells),
        outcome: outcome(ok, &cells),
        plan,
        server: target,
        embedded: false,
        cells,
        floor: Vec::new(),
        ok,
        notes,
    })
}

fn twice((t, n): (Transport, u32), id: u32) -> K6Error {
    K6Error::Mismatch(format!(
        "{t} × {n}: subscriber {id} is in two outputs: one test's segments hold each subscriber once"
    ))
}

/// Deliveries that read before their event was created.
#[derive(Default)]
struct Early {
    count: u64,
    most_ms: f64,
}

/// One cell from its points: the first event every subscriber got warms up, the next
/// `broadcasts` are measured (an event someone did not get is missed by them).
fn cell(
    plan: &FanoutPlan,
    transport: Transport,
    n: u32,
    points: CellPoints,
    early: &mut Early,
) -> FanoutCell {
    let mut tally = Tally::new(n);
    let absent = u64::from(n).saturating_sub(points.subscribed.len() as u64);
    if absent > 0 {
        tally.note("never connected", format!("{absent} of {n} subscribers never connected"));
    }
    for error in points.errors {
        tally.note("k6", error);
    }
    let everyone = points.subscribed.len();
    // Without a tick that reached everyone, the first tick warms up (and the misses count).
    let full =
        points.events.iter().find(|(_, got)| everyone > 0 && got.len() >= everyone).map(|(seq, _)| *seq);
    if full.is_none() {
        tally.timed_out("no tick reached every connected subscriber".into());
    }
    let warm_up = full.or_else(|| points.events.keys().next().copied());
    for i in 1..=u64::from(plan.broadcasts) {
        let mut round = Round::default();
        let got = warm_up.and_then(|w| points.events.get(&(w + i)));
        for &ms in got.into_iter().flat_map(HashMap::values) {
            if ms < 0.0 {
                early.count += 1;
                early.most_ms = early.most_ms.max(-ms);
            }
            round.add((ms.max(0.0) * 1e6).round() as u64, 0);
        }
        tally.round(round, None);
    }
    let connect_s = points.subscribed.values().copied().fold(0.0, f64::max) / 1e3;
    let mut cell = tally.into_cell(transport, n, connect_s);
    cell.bytes_per_event = None;
    cell.words = FanoutWords::of(&cell);
    cell
}

/// One file: its plan point, and each cell's subscriptions, deliveries and errors.
fn read(file: &K6File) -> Result<Part, K6Error> {
    let mut head: Option<(FanoutPlan, u64, String, Segment)> = None;
    let mut cells: BTreeMap<(Transport, u32), CellPoints> = BTreeMap::new();
    for point in file.points() {
        let point = point?;
        let metric = point.metric.as_str();
        if metric == "duplex_fanout_plan" {
            if head.is_some() {
                return Err(
                    point.bad("a second duplex_fanout_plan point: one file is one k6 process's output")
                );
            }
            let plan: FanoutPlan = serde_json::from_str(point.tag("duplex_fanout_plan")?)
                .map_err(|e| point.bad(format!("its plan does not read: {e}")))?;
            plan.check().map_err(|e| point.bad(e))?;
            head = Some((plan, point.number("tick_ms")?, point.tag("target")?.to_owned(), point.segment()?));
            continue;
        }
        if !matches!(metric, "duplex_push" | "duplex_subscribed" | "duplex_errors") {
            continue;
        }
        let transport: Transport = point.tag("transport")?.parse().map_err(|e: String| point.bad(e))?;
        let n = point.small("subscribers")?;
        let id = point.small("subscriber")?;
        if id >= n {
            return Err(point.bad(format!("subscriber {id} of {n}: out of range")));
        }
        let cell = cells.entry((transport, n)).or_default();
        match metric {
            "duplex_push" => {
                if !point.value.is_finite() {
                    return Err(point.bad(format!("delay {} ms is not a time", point.value)));
                }
                if cell.events.entry(point.number("event")?).or_default().insert(id, point.value).is_some() {
                    return Err(point.bad(format!("subscriber {id} got the same event twice")));
                }
            }
            "duplex_subscribed" => {
                let since: f64 =
                    point.tag("since_ms")?.parse().map_err(|_| point.bad("since_ms is not a number"))?;
                if cell.subscribed.insert(id, since).is_some() {
                    return Err(point.bad(format!("subscriber {id} subscribed twice")));
                }
            }
            _ => cell.errors.push(point.optional_tag("error").unwrap_or("k6 counted an error").to_owned()),
        }
    }
    let Some((plan, tick_ms, target, segment)) = head else { return Err(file.no_plan("duplex_fanout_plan")) };
    if let Some((t, n)) =
        cells.keys().find(|(t, n)| !plan.transports.contains(t) || !plan.subscribers.contains(n))
    {
        return Err(K6Error::File {
            file: file.name.clone(),
            reason: format!("points of {t} × {n}, a cell its plan does not have"),
        });
    }
    Ok(Part { plan, tick_ms, target, segment, cells })
}

/// Whether `file` is the output of a fan-out script (else a bench script's, or not k6's).
pub fn is_fanout(file: &K6File) -> bool {
    file.text.contains("\"duplex_fanout_plan\"")
}
