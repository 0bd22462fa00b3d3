//! k6's outputs read back as Duplex runs: real outputs of one exported script (tests/data/k6,
//! its README says how they were made), whole and split in two execution segments.

use std::path::Path;

use duplex_core::k6::{K6Error, K6File, import};
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
