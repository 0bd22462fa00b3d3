//! k6's outputs read back as Duplex runs: real outputs of one exported script (tests/data/k6,
//! its README says how they were made), whole and split in two execution segments.

use std::collections::BTreeMap;
use std::path::Path;

use duplex_core::fanout::FanoutPlan;
use duplex_core::k6::{K6_PUSH_TRANSPORTS, K6Error, K6File, fanout_script, import, import_fanout, is_fanout};
use duplex_core::record::{ClientKind, RunStatus};
use duplex_core::stats::{AnalysisOptions, analyze};
use duplex_core::transport::Transport;
use serde_json::Value;

fn file(name: &str) -> K6File {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/k6").join(name);
    K6File { name: name.into(), text: std::fs::read_to_string(&path).expect("fixture") }
}

/// The round trips of a k6 output as its own lines say, ms, read here without Duplex's reader.
fn raw_round_trips(f: &K6File) -> Vec<f64> {
    f.text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["type"] == "Point" && v["metric"] == "duplex_rtt")
        .map(|v| v["data"]["value"].as_f64().expect("a value"))
        .collect()
}

#[test]
fn a_test_split_in_two_segments_reads_as_the_union_of_its_points() {
    let (a, b) = (file("segment-1.json"), file("segment-2.json"));
    let merged = import(&[a, b]).expect("two segments make one run");
    let (a, b) = (file("segment-1.json"), file("segment-2.json"));
    let mut union: Vec<f64> = raw_round_trips(&a).into_iter().chain(raw_round_trips(&b)).collect();
    assert_eq!(merged.status, RunStatus::Complete, "{:?}", merged.error);
    assert_eq!(merged.samples.len(), 80, "2 sets × 10 calls × 2 clients × 2 transports");
    assert!(merged.samples.iter().all(|s| s.client == ClientKind::K6));
    assert_eq!(merged.platform.label(), "k6 2 processes");
    // The run's time is its calls', not the import's.
    let first_sent = merged.samples.iter().map(|s| s.sent_at_unix_ns).min().expect("calls");
    let last_sent = merged.samples.iter().map(|s| s.sent_at_unix_ns).max().expect("calls");
    assert_eq!(merged.started_at_unix_ns, first_sent);
    assert!(
        merged.finished_at_unix_ns >= last_sent && merged.finished_at_unix_ns - last_sent < 1_000_000_000,
        "{merged:?}"
    );
    // Every point, once: the merged latencies are the union of the files' values.
    let mut got: Vec<f64> = merged.samples.iter().map(|s| s.latency_ns as f64 / 1e6).collect();
    union.sort_by(f64::total_cmp);
    got.sort_by(f64::total_cmp);
    assert_eq!(got, union);
    // Both clients (one per segment) and both transports, each with its 40 calls.
    for t in [Transport::Ws, Transport::Http] {
        let of = |c: u32| merged.samples.iter().filter(|s| s.transport == t && s.client_id == c).count();
        assert_eq!((of(0), of(1)), (20, 20), "{t}");
    }
    // The analysis reads its clock as k6's: a millisecond, so the verdict rests on means.
    let report = analyze(&merged, &AnalysisOptions::default());
    assert!(report.transports.iter().all(|t| t.overall.clock_step_us == Some(1000.0)));
    assert!(report.comparisons.iter().all(|c| c.by_means), "{:?}", report.comparisons);
}

#[test]
fn a_split_run_agrees_with_a_whole_one_and_with_k6s_own_summary() {
    let whole = import(&[file("whole.json")]).expect("a whole test");
    let split = import(&[file("segment-1.json"), file("segment-2.json")]).expect("two segments");
    assert_eq!(whole.samples.len(), split.samples.len());
    let (w, s) = (analyze(&whole, &AnalysisOptions::default()), analyze(&split, &AnalysisOptions::default()));
    for (a, b) in w.transports.iter().zip(&s.transports) {
        assert_eq!((a.transport, a.overall.count), (b.transport, b.overall.count));
        // Two runs of the same test on loopback: within the clock's step, percentile by percentile.
        for (x, y) in [(a.overall.p50_us, b.overall.p50_us), (a.overall.p90_us, b.overall.p90_us)] {
            assert!((x - y).abs() <= 1000.0, "{}: {x} µs against {y} µs", a.transport);
        }
    }
    // k6's end-of-test summary of the whole run, over both transports: the same count, mean,
    // least and most; its median and p90 within its millisecond.
    let summary: Value = serde_json::from_str(&file("whole-summary.json").text).expect("summary");
    let k6 = &summary["metrics"]["duplex_rtt"];
    let ms: Vec<f64> = whole.samples.iter().map(|s| s.latency_ns as f64 / 1e6).collect();
    let mean = ms.iter().sum::<f64>() / ms.len() as f64;
    assert_eq!(ms.len() as f64, k6["count"].as_f64().expect("count"));
    assert!((mean - k6["avg"].as_f64().expect("avg")).abs() < 1e-9, "{mean} against {k6}");
    let (min, max) = ms.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    assert_eq!((min, max), (k6["min"].as_f64().expect("min"), k6["max"].as_f64().expect("max")));
    let mut sorted = ms.clone();
    sorted.sort_by(f64::total_cmp);
    let median = (sorted[(sorted.len() - 1) / 2] + sorted[sorted.len() / 2]) / 2.0;
    assert!((median - k6["med"].as_f64().expect("med")).abs() <= 1.0, "{median} against {k6}");
}

#[test]
fn broken_or_partial_outputs_are_refused_in_words() {
    // Cut in the middle of a line, as a k6 killed while writing leaves it.
    let whole = file("whole.json");
    let cut = K6File { name: "cut.json".into(), text: whole.text[..whole.text.len() / 2].to_owned() };
    let lines = cut.text.lines().count();
    match import(&[cut]) {
        Err(K6Error::File { file, reason }) => {
            assert_eq!(file, "cut.json");
            assert!(reason.starts_with(&format!("line {lines}:")), "{reason}");
        }
        other => panic!("a cut file is refused with its line: {other:?}"),
    }
    // One segment without the other: the run would be half of the test.
    let err = import(&[file("segment-1.json")]).expect_err("half a test").to_string();
    assert!(err.contains("not at 1"), "{err}");
    // The same segment twice.
    let err = import(&[file("segment-1.json"), file("segment-1.json")]).expect_err("twice").to_string();
    assert!(err.contains("execution segment starts at"), "{err}");
    // A file of another test.
    let other = K6File {
        name: "other.json".into(),
        text: file("whole.json").text.replace("\\\"sets\\\":2", "\\\"sets\\\":3"),
    };
    let err = import(&[file("segment-1.json"), file("segment-2.json"), other])
        .expect_err("another plan")
        .to_string();
    assert!(err.contains("another plan"), "{err}");
    // Not a Duplex script's output at all.
    let foreign = K6File {
        name: "plain.json".into(),
        text: "{\"type\":\"Point\",\"metric\":\"http_reqs\",\"data\":{\"value\":1,\"tags\":{}}}\n".into(),
    };
    let err = import(&[foreign]).expect_err("no plan").to_string();
    assert!(err.contains("no duplex_plan point"), "{err}");
    // A round trip that is not a time.
    let text = file("whole.json").text;
    let first_rtt = text.find("\"metric\":\"duplex_rtt\",\"type\":\"Point\"").expect("a round trip");
    let at = first_rtt + text[first_rtt..].find("\"value\":").expect("its value") + "\"value\":".len();
    let bad = K6File { name: "bad.json".into(), text: format!("{}-5{}", &text[..at], &text[at + 1..]) };
    let err = import(&[bad]).expect_err("a negative time").to_string();
    assert!(err.contains("is not a time"), "{err}");
}

#[test]
fn the_script_of_a_plan_k6_cannot_run_is_refused() {
    let plan = |transports: Vec<Transport>| {
        duplex_core::plan::Plan { transports, ..duplex_core::plan::Plan::default() }.check().expect("a plan")
    };
    let err = duplex_core::k6::script(&plan(vec![Transport::Ws, Transport::Sse]), "h:1").expect_err("sse");
    assert!(err.to_string().starts_with("k6 cannot measure sse"), "{err}");
    let text =
        duplex_core::k6::script(&plan(vec![Transport::Ws, Transport::Http]), "h:9").expect("ws and http");
    assert!(text.contains(r#"const BLOCKS = [["ws",1],["http",1]"#), "blocks in Duplex's order");
    assert!(text.contains(r#"|| "h:9""#) && text.contains("Date.now(), whole milliseconds"));
}

/// The deliveries of a fan-out's outputs as their own lines say, read here without Duplex's
/// reader: (transport, subscribers) → event → delays, ms.
fn raw_deliveries(files: &[K6File]) -> BTreeMap<(String, u32), BTreeMap<u64, Vec<f64>>> {
    let mut cells: BTreeMap<(String, u32), BTreeMap<u64, Vec<f64>>> = BTreeMap::new();
    for v in files.iter().flat_map(|f| f.text.lines()).filter_map(|l| serde_json::from_str::<Value>(l).ok()) {
        if v["type"] != "Point" || v["metric"] != "duplex_push" {
            continue;
        }
        let tags = &v["data"]["tags"];
        let tag = |name: &str| tags[name].as_str().expect("a tag").to_owned();
        let n: u32 = tag("subscribers").parse().expect("a count");
        cells
            .entry((tag("transport"), n))
            .or_default()
            .entry(tag("event").parse().expect("an event"))
            .or_default()
            .push(v["data"]["value"].as_f64().expect("a delay"));
    }
    cells
}

#[test]
fn a_fan_out_split_in_two_reads_as_one_report_of_its_points() {
    let files = [file("fanout-1.json"), file("fanout-2.json")];
    assert!(files.iter().all(is_fanout) && !is_fanout(&file("whole.json")));
    let report = import_fanout(&files).expect("two segments make one fan-out");
    assert!(report.ok, "{:?}", report.cells);
    assert_eq!(report.plan.subscribers, vec![10, 40]);
    assert!(report.notes.iter().any(|n| n.starts_with("k6, 2 processes")), "{:?}", report.notes);
    assert!(report.notes.iter().any(|n| n.contains("1 ms steps")), "{:?}", report.notes);
    let raw = raw_deliveries(&files);
    assert_eq!(report.cells.len(), 4);
    for cell in &report.cells {
        // Independently: the first event every subscriber got warms up, the next three count.
        let events = &raw[&(cell.transport.name().to_owned(), cell.subscribers)];
        let n = cell.subscribers as usize;
        let warm_up = events.iter().find(|(_, d)| d.len() == n).map(|(seq, _)| *seq).expect("a full tick");
        let mut kept: Vec<f64> =
            (warm_up + 1..=warm_up + 3).flat_map(|seq| events[&seq].iter().map(|ms| ms.max(0.0))).collect();
        kept.sort_by(f64::total_cmp);
        assert_eq!((cell.delivered, cell.missed, cell.broadcasts), (kept.len() as u64, 0, 3), "{cell:?}");
        assert_eq!(kept.len(), n * 3);
        let rank = |q: f64| kept[((q * kept.len() as f64).ceil() as usize).max(1) - 1] * 1e3;
        for (got, want) in [(cell.p50_us, rank(0.5)), (cell.p99_us, rank(0.99)), (cell.worst_us, rank(1.0))] {
            assert!(
                (got.expect("a figure") - want).abs() < 1e-3,
                "{}: {got:?} µs against {want} µs",
                cell.transport
            );
        }
        // k6 counts no bytes and sees no server CPU: none is claimed.
        assert!(cell.bytes_per_event.is_none() && cell.server_cpu_us.is_none());
        assert_eq!(cell.words.bytes_per_event, "-");
    }
}

#[test]
fn fan_out_outputs_that_are_not_one_test_are_refused() {
    let (a, b) = (file("fanout-1.json"), file("fanout-2.json"));
    let err = import_fanout(&[file("fanout-1.json")]).expect_err("half").to_string();
    assert!(err.contains("not at 1"), "{err}");
    let cut = K6File { name: "cut.json".into(), text: b.text[..b.text.len() / 3].to_owned() };
    let lines = cut.text.lines().count();
    match import_fanout(&[file("fanout-1.json"), cut]) {
        Err(K6Error::File { file, reason }) => {
            assert_eq!(file, "cut.json");
            assert!(reason.starts_with(&format!("line {lines}:")), "{reason}");
        }
        other => panic!("a cut file is refused with its line: {other:?}"),
    }
    // The same subscriber in both files, as a segment given twice under another name would be.
    let renamed = K6File {
        name: "again.json".into(),
        text: a.text.replace("\"segment\":\"0:1/2\"", "\"segment\":\"1/2:1\""),
    };
    let err = import_fanout(&[a, renamed]).expect_err("twice").to_string();
    assert!(err.contains("in two outputs"), "{err}");
    let other = K6File {
        name: "other.json".into(),
        text: b.text.replace("\"tick_ms\":\"200\"", "\"tick_ms\":\"300\""),
    };
    let err = import_fanout(&[file("fanout-1.json"), other]).expect_err("another tick").to_string();
    assert!(err.contains("another plan, tick or target"), "{err}");
}

#[test]
fn the_fan_out_script_holds_its_plan_and_refuses_sse() {
    let plan = |transports: Vec<Transport>| FanoutPlan {
        subscribers: vec![16_000],
        transports,
        broadcasts: 10,
        timeout_ms: 20_000,
    };
    let err =
        fanout_script(&plan(vec![Transport::WsPush, Transport::Sse]), 1000, 100, "h:9").expect_err("sse");
    assert!(err.to_string().contains("k6 cannot subscribe by sse"), "{err}");
    let text = fanout_script(&plan(K6_PUSH_TRANSPORTS.to_vec()), 750, 100, "h:9").expect("a script");
    assert!(text.contains("const TICK_MS = 750;") && text.contains("const PER_VU = 100;"));
    assert!(text.contains(r#""transports":["ws-push","long-poll"]"#) && text.contains(r#"|| "h:9""#));
    assert!(text.contains("--tick-ms 750 --max-connections 16500"), "the server it needs is said");
}
