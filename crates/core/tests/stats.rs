//! Statistics against values computed independently (NumPy/SciPy, `data/make_stats_fixture.py`).

use duplex_core::clients::Transport;
use duplex_core::plan::Plan;
use duplex_core::record::{BlockTiming, ClientKind, RunRecord, RunStatus, Sample, Topology};
use duplex_core::stats::platforms::{CompareOptions, GroupBy, compare_platforms};
use duplex_core::stats::{AnalysisOptions, Group, analyze, mann_whitney, normal, summarize, welch};
use serde_json::Value;

fn fixture() -> Value {
    serde_json::from_str(include_str!("data/stats_fixture.json")).expect("fixture json")
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().expect("array").iter().map(|x| x.as_f64().expect("number")).collect()
}

fn close(got: f64, want: f64, what: &str) {
    let tol = 1e-9 * want.abs().max(1.0);
    assert!((got - want).abs() <= tol, "{what}: got {got}, want {want}");
}

#[test]
fn summary_and_normal_fit_match_numpy_and_scipy() {
    let f = fixture();
    let interval = (f["interval_us"][0].as_f64().expect("a"), f["interval_us"][1].as_f64().expect("b"));
    for name in ["ws", "http"] {
        let xs = floats(&f[name]);
        let want = &f[format!("{name}_stats")];
        let s = summarize(&Group { latencies_us: xs.clone(), ..Group::default() });
        assert_eq!(s.count, want["count"].as_u64().expect("count"));
        for (got, key) in [
            (s.mean_us, "mean_us"),
            (s.sd_us, "sd_us"),
            (s.se_us, "se_us"),
            (s.ci95_low_us, "ci95_low_us"),
            (s.ci95_high_us, "ci95_high_us"),
            (s.min_us, "min_us"),
            (s.p50_us, "p50_us"),
            (s.p90_us, "p90_us"),
            (s.p99_us, "p99_us"),
            (s.p999_us, "p999_us"),
            (s.max_us, "max_us"),
        ] {
            close(got, want[key].as_f64().expect(key), &format!("{name} {key}"));
        }
        let fit = normal::fit(&xs, Some(interval)).expect("fit");
        close(fit.mu_us, want["mean_us"].as_f64().expect("mean"), "mu");
        close(fit.sigma_us, want["sd_us"].as_f64().expect("sd"), "sigma");
        for (got, key) in [
            (fit.skewness, "skewness"),
            (fit.excess_kurtosis, "excess_kurtosis"),
            (fit.jarque_bera_p, "jarque_bera_p"),
            (fit.ks_normal, "ks_normal"),
        ] {
            let want = want[key].as_f64().expect(key);
            assert!((got - want).abs() <= 1e-7 * want.abs().max(1e-3), "{name} {key}: {got} vs {want}");
        }
        let i = fit.interval.expect("interval");
        close(i.normal, want["p_interval_normal"].as_f64().expect("p"), "P(a<=X<=b)");
        close(i.observed, want["p_interval_observed"].as_f64().expect("p"), "observed");
    }
}

#[test]
fn welch_and_mann_whitney_match_scipy() {
    let f = fixture();
    let (ws, http, near) = (floats(&f["ws"]), floats(&f["http"]), floats(&f["close"]));
    let w = welch(&ws, &http).expect("welch");
    close(w.statistic, f["welch_t"].as_f64().expect("t"), "welch t");
    close(w.df, f["welch_df"].as_f64().expect("df"), "welch df");
    assert!(w.p < 1e-12, "welch p {}", w.p);
    let m = mann_whitney(&ws, &http).expect("mw");
    close(m.statistic, f["mann_whitney_u"].as_f64().expect("u"), "U");
    let w = welch(&ws, &near).expect("welch");
    close(w.statistic, f["welch_close_t"].as_f64().expect("t"), "welch t (close)");
    assert!((w.p - f["welch_close_p"].as_f64().expect("p")).abs() < 1e-9, "welch p {}", w.p);
    let m = mann_whitney(&ws, &near).expect("mw");
    close(m.statistic, f["mann_whitney_close_u"].as_f64().expect("u"), "U (close)");
    assert!((m.p - f["mann_whitney_close_p"].as_f64().expect("p")).abs() < 1e-9, "mw p {}", m.p);
}

fn record_of(groups: &[(Transport, &[f64], u64)]) -> RunRecord {
    let mut samples = Vec::new();
    let mut blocks = Vec::new();
    for &(transport, xs, bytes) in groups {
        for (i, x) in xs.iter().enumerate() {
            let set = 1 + (i % 2) as u32;
            samples.push(Sample {
                transport,
                client: ClientKind::Native,
                client_id: 0,
                set,
                seq: i as u64 + 1,
                sent_at_unix_ns: 0,
                latency_ns: (x * 1e3).round() as u64,
                send_delay_ns: 0,
                server_time_unix_ns: None,
                bytes_out: bytes,
                bytes_in: bytes,
                error: None,
            });
        }
        for set in 1..=2 {
            blocks.push(BlockTiming {
                transport,
                client: ClientKind::Native,
                set,
                started_at_unix_ns: 0,
                elapsed_ns: 10_000_000,
            });
        }
    }
    RunRecord {
        id: "fixture".into(),
        duplex_version: duplex_core::VERSION.into(),
        started_at_unix_ns: 0,
        finished_at_unix_ns: 0,
        status: RunStatus::Complete,
        error: None,
        plan: Plan::default(),
        target: "embedded".into(),
        server: "127.0.0.1:1".into(),
        topology: Topology::SameThread,
        platform: Default::default(),
        blocks,
        samples,
        webview: None,
        power: None,
        tls: Vec::new(),
        connections: Vec::new(),
    }
}

#[test]
fn analysis_compares_websocket_with_each_ajax_mode_in_plain_words() {
    let f = fixture();
    let (ws, http, near) = (floats(&f["ws"]), floats(&f["http"]), floats(&f["close"]));
    let record = record_of(&[
        (Transport::Ws, &ws, 50),
        (Transport::Http, &http, 200),
        (Transport::HttpNew, &near, 220),
    ]);
    let report = analyze(&record, &AnalysisOptions::default());
    assert_eq!(report.transports.len(), 3);
    let w = report.transport(Transport::Ws, ClientKind::Native).expect("ws");
    assert_eq!(w.sets.len(), 2);
    assert_eq!(w.sets[0].summary.count + w.sets[1].summary.count, 300);
    // 150 samples in 10 ms per set: 15 per millisecond.
    assert_eq!(w.sets[0].summary.per_ms, Some(15.0));
    assert_eq!(w.overall.bytes_out_per_msg, 50.0);

    let vs_http = report.comparisons.iter().find(|c| c.other == Transport::Http).expect("ws vs http");
    let ratio = vs_http.other_median_us / vs_http.ws_median_us;
    assert!(ratio > 2.5);
    assert!(
        vs_http.verdict.starts_with(&format!("ws round trip is {ratio:.1}× faster than http")),
        "{}",
        vs_http.verdict
    );
    assert!(vs_http.verdict.contains("p < 0.001"), "{}", vs_http.verdict);
    assert_eq!(vs_http.bytes_ratio, 4.0);
    let vs_new = report.comparisons.iter().find(|c| c.other == Transport::HttpNew).expect("ws vs http-new");
    assert!(vs_new.verdict.contains("do not differ significantly"), "{}", vs_new.verdict);
    assert!(vs_new.verdict.contains("p = 0.348"), "{}", vs_new.verdict);
}

/// A web view's run as WebKitGTK measures it: `performance.now()` steps by 1 ms, so a ws round
/// trip of 0.3 ms reads 0 seven times in ten, and 1 ms three times.
fn coarse_webview_run() -> RunRecord {
    let ws: Vec<f64> = (0..1000).map(|i| if i % 10 < 3 { 1000.0 } else { 0.0 }).collect();
    let http: Vec<f64> = (0..1000).map(|i| if i % 10 < 4 { 3000.0 } else { 2000.0 }).collect();
    let mut record = record_of(&[(Transport::Ws, &ws, 50), (Transport::Xhr, &http, 200)]);
    for s in &mut record.samples {
        s.client = ClientKind::Webview;
    }
    for b in &mut record.blocks {
        b.client = ClientKind::Webview;
    }
    record.topology = Topology::Webview;
    record.webview = Some(duplex_core::record::WebviewInfo {
        user_agent: "Mozilla/5.0 AppleWebKit/605.1.15".into(),
        timer_resolution_us: 1000.0,
        cross_origin_isolated: Some(false),
        unavailable: vec![],
    });
    record
}

#[test]
fn a_reading_below_the_clock_step_is_a_bound_and_makes_no_ratio() {
    let report = analyze(&coarse_webview_run(), &AnalysisOptions::default());
    let ws = &report.transport(Transport::Ws, ClientKind::Webview).expect("ws").overall;
    assert_eq!((ws.clock_step_us, ws.below_step), (Some(1000.0), 700));
    // The median read 0: shown as a bound, never as "0.0 µs".
    assert_eq!(ws.p50_us, 0.0);
    assert_eq!(ws.show(ws.p50_us), "< 1.00 ms (clock step)");
    assert_eq!(ws.show(ws.max_us), "1.00 ms");
    // The mean stays unbiased: 0.3 ms.
    assert!((ws.mean_us - 300.0).abs() < 1e-9);
    let c = &report.comparisons[0];
    assert_eq!(c.median_ratio, None, "no ratio from a bound");
    assert_eq!(c.median_ratio_at_least, Some(2.0), "xhr's median 2 ms over the 1 ms step");
    assert!(c.by_means && !c.verdict.contains("inf"), "{}", c.verdict);
    assert!(
        c.verdict.starts_with("ws round trip is 8.0× faster than xhr (mean 300.0 µs vs 2.40 ms)"),
        "{}",
        c.verdict
    );
    // Side by side, the ws column has no ratio either, and no "inf".
    let by_run = compare_platforms(&[coarse_webview_run()], GroupBy::Run.into());
    let xhr = by_run.cells.iter().find(|c| c.transport == Transport::Xhr).expect("xhr cell");
    assert_eq!(xhr.over_ws_median, None);
    // A fine clock (native clients) is not censored.
    let native = summarize(&Group { latencies_us: vec![0.5, 1.0, 2.0], ..Group::default() });
    assert_eq!((native.clock_step_us, native.below_step, native.show(0.5).as_str()), (None, 0, "0.5 µs"));
}

#[test]
fn a_skewed_sample_gets_a_bootstrap_interval_where_the_t_interval_fails() {
    // Ten fast calls and one very slow: the t interval of the mean reaches below the fastest.
    let mut xs = vec![10.0; 10];
    xs.push(10_000.0);
    let s = summarize(&Group { latencies_us: xs.clone(), ..Group::default() });
    assert!(s.ci95_low_us < s.min_us && s.ci95_unreliable);
    let (low, high) = (s.bootstrap_ci95_low_us.expect("low"), s.bootstrap_ci95_high_us.expect("high"));
    assert!(low >= s.min_us && high <= s.max_us && low < s.mean_us && s.mean_us < high, "{low} {high}");
    assert!(s.words.ci.ends_with("(bootstrap)"), "{}", s.words.ci);
    // The same samples give the same interval (a fixed seed).
    assert_eq!(summarize(&Group { latencies_us: xs, ..Group::default() }), s);
    // A symmetric sample keeps its t interval.
    let even = summarize(&Group {
        latencies_us: (0..100).map(|i| 100.0 + f64::from(i % 10)).collect(),
        ..Group::default()
    });
    assert!(!even.ci95_unreliable && even.bootstrap_ci95_low_us.is_none() && even.words.ci.starts_with('±'));
    // A web page's 16.67 ms clock: 57 of 60 calls read 0, 3 read one step. Resamples without
    // a step are common, so the bootstrap's low end is 0, no reading: bounded above only.
    let coarse = summarize(&Group {
        latencies_us: (0..60).map(|i| if i % 20 == 0 { 16_670.0 } else { 0.0 }).collect(),
        clock_step_us: Some(16_670.0),
        ..Group::default()
    });
    assert_eq!(coarse.bootstrap_ci95_low_us, Some(0.0), "{coarse:?}");
    assert!(
        coarse.words.ci.starts_with("≤ ") && coarse.words.ci.ends_with(" (bootstrap)"),
        "{}",
        coarse.words.ci
    );
    // Percentiles only where the sample has a call above them.
    assert!(even.supports(0.99) && !even.supports(0.999));
    assert_eq!(even.show_quantile(0.999, even.p999_us), "-");
}

#[test]
fn only_runs_measured_alike_are_pooled_and_cut_short_runs_stay_out() {
    let f = fixture();
    let ws = floats(&f["ws"]);
    let http = floats(&f["http"]);
    let run = |id: &str, name: &str, interval_ms: f64, status: RunStatus| {
        let mut r = record_of(&[(Transport::Ws, &ws, 50), (Transport::Http, &http, 200)]);
        r.id = id.into();
        r.plan.name = Some(name.into());
        r.plan.interval_ms = interval_ms;
        r.status = status;
        r
    };
    let runs = [
        run("quick-1", "quick", 0.0, RunStatus::Complete),
        run("quick-2", "quick", 0.0, RunStatus::Complete),
        run("paper-1", "paper", 100.0, RunStatus::Complete),
        run("failed-1", "quick", 0.0, RunStatus::Failed),
    ];
    let c = compare_platforms(&runs, GroupBy::Platform.into());
    // Two quick runs pool; the paper run (100 ms apart) is a group of its own, with a name.
    assert_eq!(c.groups.len(), 2, "{:#?}", c.groups);
    assert_eq!(c.groups[0].run_ids, ["quick-1", "quick-2"]);
    assert!(
        c.groups[0].label.ends_with("· quick") && c.groups[1].label.ends_with("· paper"),
        "{:?}",
        c.groups
    );
    assert!(
        c.notes.iter().any(|n| n.contains("different conditions") && n.contains("100 ms apart")),
        "{:?}",
        c.notes
    );
    assert!(
        c.notes.iter().any(|n| n.contains("1 failed or cancelled run(s) left out") && n.contains("failed-1"))
    );
    // Groups measured under other conditions are not compared with the reference.
    let paper_ws = c.cells.iter().find(|x| x.group == 1 && x.transport == Transport::Ws).expect("cell");
    assert_eq!(paper_ws.vs_reference_median, None);
    assert!(paper_ws.vs_reference.as_deref().is_some_and(|v| v.starts_with("not compared")));
    // Asked for, the failed run pools with the quick ones.
    let all = compare_platforms(
        &runs,
        CompareOptions {
            by: GroupBy::Platform,
            include_incomplete: true,
            link: None,
            across_topologies: false,
        },
    );
    assert_eq!(all.groups[0].run_ids.len(), 3);
}

#[test]
fn skewed_tails_are_called_out_by_their_side() {
    // 95 % fast, 5 % very slow: what loopback latency looks like.
    let xs: Vec<f64> =
        (0..1000).map(|i| if i % 20 == 0 { 500.0 + i as f64 } else { 10.0 + (i % 7) as f64 }).collect();
    let fit = normal::fit(&xs, None).expect("fit");
    assert!(!fit.fits);
    assert!(fit.verdict.contains("right-skewed, a long tail of slow calls"), "{}", fit.verdict);
    // The mirror image (most calls near the slowest, a few fast: a link's fixed delay with
    // the odd early arrival) is left-skewed, and is not called heavy-tailed.
    let mirrored: Vec<f64> = xs.iter().map(|x| 2000.0 - x).collect();
    let fit = normal::fit(&mirrored, None).expect("fit");
    assert!(fit.verdict.contains("left-skewed") && !fit.verdict.contains("heavy"), "{}", fit.verdict);
    // Two humps and no tail: not normal, but not heavy-tailed either.
    let bimodal: Vec<f64> =
        (0..1000).map(|i| if i % 2 == 0 { 10.0 } else { 20.0 } + (i % 5) as f64 * 0.1).collect();
    let fit = normal::fit(&bimodal, None).expect("fit");
    assert!(!fit.fits);
    assert!(
        fit.verdict.contains("the shape is not normal") && !fit.verdict.contains("heavy"),
        "{}",
        fit.verdict
    );
    let normalish: Vec<f64> = (1..1000).map(|i| statrs_free_probit(i as f64 / 1000.0) * 2.0 + 50.0).collect();
    let fit = normal::fit(&normalish, None).expect("fit");
    assert!(fit.fits, "{}", fit.verdict);
}

/// Normal quantiles by bisection on erf, to build normal data without the crate under test.
fn statrs_free_probit(p: f64) -> f64 {
    let cdf = |x: f64| 0.5 * (1.0 + libm_erf(x / std::f64::consts::SQRT_2));
    let (mut lo, mut hi) = (-10.0, 10.0);
    for _ in 0..100 {
        let mid = (lo + hi) / 2.0;
        if cdf(mid) < p { lo = mid } else { hi = mid }
    }
    lo
}

/// Abramowitz–Stegun 7.1.26 (error < 1.5e-7), enough for building test data.
fn libm_erf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.3275911 * x.abs());
    let y = 1.0
        - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592)
            * t
            * (-x * x).exp();
    if x >= 0.0 { y } else { -y }
}

#[test]
fn the_report_names_what_the_web_clients_could_not_measure_and_why() {
    let xs: Vec<f64> = (0..100).map(|i| 100.0 + f64::from(i)).collect();
    let mut record = coarse_webview_run();
    record.plan.transports = vec![
        Transport::Ws,
        Transport::Xhr,
        Transport::Wss,
        Transport::H2,
        Transport::HttpNew,
        Transport::Wt,
        Transport::WtDgram,
    ];
    // The page said why it measured no WebTransport (its browser has none).
    let no_wt = "this browser has no WebTransport".to_owned();
    let webview = record.webview.as_mut().expect("a web view's run");
    webview.unavailable = [Transport::Wt, Transport::WtDgram]
        .map(|transport| duplex_core::record::Unavailable { transport, reason: no_wt.clone() })
        .to_vec();
    let notes = analyze(&record, &AnalysisOptions::default()).notes;
    let line =
        |name: &str| notes.iter().find(|n| n.starts_with("web clients did not measure") && n.contains(name));
    let tls = line("wss").expect("wss is named");
    assert!(tls.contains("trusts"), "{tls}");
    assert!(line("h2").expect("h2 is named").contains("HTTP version"));
    assert!(line("http-new").expect("http-new is named").contains("new connection"));
    assert_eq!(
        line("wt-dgram").map(String::as_str),
        Some(&*format!("web clients did not measure wt, wt-dgram: {no_wt}"))
    );
    assert!(!notes.iter().any(|n| n.contains("without TLS's records")), "no web TLS sample: {notes:?}");

    // A web view that trusted the server measured wss: not named; its bytes are the page's.
    let mut wss = record_of(&[(Transport::Wss, &xs, 60)]);
    for s in &mut wss.samples {
        s.client = ClientKind::Webview;
    }
    record.samples.extend(wss.samples);
    let notes = analyze(&record, &AnalysisOptions::default()).notes;
    assert!(
        !notes.iter().any(|n| n.starts_with("web clients did not measure") && n.contains("wss")),
        "{notes:?}"
    );
    assert!(notes.iter().any(|n| n.contains("without TLS's records")), "{notes:?}");

    // A run without web clients says nothing of them.
    record.webview = None;
    let notes = analyze(&record, &AnalysisOptions::default()).notes;
    assert!(!notes.iter().any(|n| n.starts_with("web clients")), "{notes:?}");
}

#[test]
fn runs_over_different_links_are_kept_apart_and_named_by_their_link() {
    let xs: Vec<f64> = (0..50).map(|i| 5000.0 + f64::from(i)).collect();
    let run = |id: &str, link: Option<&str>| {
        let mut r = record_of(&[(Transport::Ws, &xs, 50)]);
        r.id = id.into();
        r.plan.link = link.map(|l| duplex_core::link::Link::parse(l).expect("link"));
        r
    };
    let runs = [
        run("direct", None),
        run("loopback", Some("loopback")),
        run("4g-1", Some("4g")),
        run("4g-2", Some("4g")),
    ];
    let c = compare_platforms(&runs, GroupBy::Platform.into());
    assert_eq!(c.groups.len(), 2, "no link and the loopback profile pool; 4g apart: {:#?}", c.groups);
    assert_eq!(c.groups[1].run_ids, ["4g-1", "4g-2"]);
    assert!(c.groups[1].conditions.contains("over 4g (RTT 165 ms"), "{}", c.groups[1].conditions);
    assert!(c.groups[1].label.ends_with("custom plan over 4g"), "{}", c.groups[1].label);
}
