//! Statistics against values computed independently (NumPy/SciPy, `data/make_stats_fixture.py`).

use duplex_core::clients::Transport;
use duplex_core::record::{BlockTiming, ClientKind, RunRecord, RunStatus, Sample, Topology};
use duplex_core::runner::Plan;
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

#[test]
fn heavy_tails_are_called_out() {
    // 95 % fast, 5 % very slow: what loopback latency looks like.
    let xs: Vec<f64> =
        (0..1000).map(|i| if i % 20 == 0 { 500.0 + i as f64 } else { 10.0 + (i % 7) as f64 }).collect();
    let fit = normal::fit(&xs, None).expect("fit");
    assert!(!fit.fits);
    assert!(fit.verdict.contains("heavy-tailed"), "{}", fit.verdict);
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
