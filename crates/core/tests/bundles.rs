//! Runs carried between devices as bundles, and compared side by side per platform.

use std::io::Read as _;

use duplex_core::clients::Transport;
use duplex_core::export::bundle::{BundleError, MAX_BUNDLE_BYTES, read_bundle, write_bundle};
use duplex_core::record::{RunRecord, WebviewInfo};
use duplex_core::stats::platforms::{GroupBy, browser_of, compare_platforms};
use duplex_core::stats::{Group, summarize};
use duplex_core::storage::History;

use crate::util::{run_embedded, small_plan};

fn bundle_of(runs: &[RunRecord]) -> Vec<u8> {
    let mut bytes = Vec::new();
    write_bundle(&mut bytes, runs).expect("written");
    bytes
}

#[tokio::test]
async fn a_bundle_carries_runs_whole_from_one_history_to_another() {
    let runs = vec![
        run_embedded(small_plan(&[Transport::Ws, Transport::Http])).await,
        run_embedded(small_plan(&[Transport::Ws, Transport::HttpNew])).await,
    ];
    let mut here = History::open_in_memory().expect("device A");
    for r in &runs {
        here.save(r, None).expect("saved");
    }
    let loaded: Vec<RunRecord> = runs.iter().map(|r| here.load(&r.id).expect("loaded")).collect();
    let bytes = bundle_of(&loaded);

    let mut there = History::open_in_memory().expect("device B");
    let bundle = read_bundle(bytes.as_slice()).expect("a valid bundle");
    assert_eq!(bundle.runs.len(), 2);
    let imported = there.import(&bundle.runs).expect("imported");
    assert_eq!(imported.added, vec![runs[0].id.clone(), runs[1].id.clone()]);
    for r in &runs {
        assert_eq!(&there.load(&r.id).expect("there"), r, "the run arrives exactly");
    }
    assert!(
        there.list().expect("list").iter().all(|i| i.headline.as_deref().is_some_and(|h| h.contains("ws")))
    );
    // The same runs again: recognised by id, nothing changed.
    let again = there.import(&bundle.runs).expect("imported again");
    assert!(again.added.is_empty());
    assert_eq!(again.already_here.len(), 2);
    assert_eq!(there.list().expect("list").len(), 2);
}

#[tokio::test]
async fn foreign_newer_oversized_or_inconsistent_bundles_are_refused_with_a_reason() {
    let run = run_embedded(small_plan(&[Transport::Ws, Transport::Http])).await;
    let not = |text: &str| read_bundle(text.as_bytes()).expect_err("refused");
    assert!(matches!(not("this is not json"), BundleError::NotABundle(_)));
    assert!(matches!(not(r#"{"runs": []}"#), BundleError::NotABundle(m) if m.contains("format")));
    assert!(matches!(
        not(r#"{"format": "duplex-run-bundle", "version": 99, "runs": []}"#),
        BundleError::TooNew(99)
    ));

    let mut spoilt = run.clone();
    spoilt.samples[5].set = 42;
    let err = read_bundle(bundle_of(&[run.clone(), spoilt]).as_slice()).expect_err("refused");
    assert!(err.to_string().contains("run 2 of the bundle") && err.to_string().contains("set 42"), "{err}");
    let mut bad_id = run.clone();
    bad_id.id = "../../etc/passwd".into();
    let err = read_bundle(bundle_of(&[bad_id]).as_slice()).expect_err("refused");
    assert!(err.to_string().contains("not a Duplex run id"), "{err}");

    // Larger than the limit: refused after reading no more than the limit.
    let huge = std::io::repeat(b' ').take(MAX_BUNDLE_BYTES + 10);
    assert!(matches!(read_bundle(huge), Err(BundleError::TooLarge)));
}

#[tokio::test]
async fn platforms_side_by_side_match_their_own_samples() {
    let mut phone = run_embedded(small_plan(&[Transport::Ws, Transport::Http])).await;
    phone.platform.os = "Android".into();
    phone.platform.os_version = "14".into();
    phone.platform.arch = "aarch64".into();
    let laptop = run_embedded(small_plan(&[Transport::Ws, Transport::Http])).await;
    let laptop2 = run_embedded(small_plan(&[Transport::Ws, Transport::Http])).await;
    let runs = [laptop.clone(), phone.clone(), laptop2.clone()];

    let c = compare_platforms(&runs, GroupBy::Platform.into());
    assert_eq!(c.groups.len(), 2, "the two laptop runs pool: {:?}", c.groups);
    assert_eq!(c.groups[0].run_ids, vec![laptop.id.clone(), laptop2.id.clone()]);
    assert!(c.groups[1].label.starts_with("Android 14 aarch64"));
    for (g, members) in [(0, vec![&laptop, &laptop2]), (1, vec![&phone])] {
        for t in [Transport::Ws, Transport::Http] {
            let mut own = Group::default();
            for r in &members {
                own.latencies_us.extend(
                    r.samples
                        .iter()
                        .filter(|s| s.transport == t && s.is_ok())
                        .map(|s| s.latency_ns as f64 / 1e3),
                );
            }
            let cell = c.cells.iter().find(|x| x.group == g && x.transport == t).expect("cell");
            let expected = summarize(&own);
            assert_eq!(cell.summary.count, expected.count);
            assert_eq!(cell.summary.p50_us, expected.p50_us);
            assert_eq!(cell.summary.p99_us, expected.p99_us);
            assert!((cell.summary.mean_us - expected.mean_us).abs() < 1e-9);
            if t == Transport::Http {
                let ws = c.cells.iter().find(|x| x.group == g && x.transport == Transport::Ws).expect("ws");
                assert_eq!(cell.over_ws_median, Some(cell.summary.p50_us / ws.summary.p50_us));
            }
        }
    }
    let phone_http =
        c.cells.iter().find(|x| x.group == 1 && x.transport == Transport::Http).expect("phone http");
    assert!(phone_http.vs_reference_p.is_some() && phone_http.vs_reference.is_some());
    assert!(
        c.cells.iter().filter(|x| x.group == 0).all(|x| x.vs_reference.is_none()),
        "group 1 is the reference"
    );

    let by_run = compare_platforms(&runs, GroupBy::Run.into());
    assert_eq!(by_run.groups.len(), 3);
}

#[test]
fn browsers_are_named_from_their_user_agents() {
    let cases = [
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            "Chrome 131",
        ),
        ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox 133"),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
            "Safari 17",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            "Edge 131",
        ),
        // The app's web view on Linux: WebKitGTK, which claims a Safari it is not.
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/60.5 Safari/605.1.15",
            "WebKitGTK",
        ),
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/605.1.15 (KHTML, like Gecko)", "WebKitGTK"),
        ("Mozilla/5.0 (Linux; Android 14; wv) AppleWebKit/537.36 (KHTML, like Gecko)", "WebKit"),
    ];
    for (ua, name) in cases {
        assert_eq!(browser_of(ua).as_deref(), Some(name), "{ua}");
    }
    assert_eq!(browser_of("curl/8.5"), None);
    let mut r = RunRecord::new(small_plan(&[Transport::Ws]), "embedded".into());
    r.webview = Some(WebviewInfo {
        user_agent: cases[1].0.into(),
        timer_resolution_us: 1000.0,
        cross_origin_isolated: None,
        unavailable: vec![],
    });
    assert!(duplex_core::stats::platforms::platform_label(&r).ends_with("· Firefox 133"));
}
