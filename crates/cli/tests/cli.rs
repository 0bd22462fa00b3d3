//! The `duplex` binary as a user runs it.

use std::process::{Command, Output};

fn duplex(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_duplex")).args(args).output().expect("duplex runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn bench_prints_a_comparison_and_writes_the_csv_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("reports");
    let out = duplex(&[
        "bench",
        "-s",
        "2",
        "-n",
        "50",
        "--warmup",
        "5",
        "--baseline-ms",
        "400",
        "--csv",
        csv.to_str().expect("utf8"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "transport",
        "ws ",
        "http-new",
        "faster than http",
        "normal fit of ws",
        "CPU and energy per message (idle baseline of 0.4 s subtracted)",
        "CPU time (Duplex and its web view): ws costs",
        "report:",
    ] {
        assert!(text.contains(want), "output lacks {want:?}:\n{text}");
    }
    let files: Vec<String> = std::fs::read_dir(&csv)
        .expect("report dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    for suffix in
        ["-samples.csv", "-summary.csv", "-comparisons.csv", "-power.csv", "-energy.csv", "-run.json"]
    {
        assert!(files.iter().any(|f| f.ends_with(suffix)), "{suffix} missing in {files:?}");
    }
    let samples = files.iter().find(|f| f.ends_with("-samples.csv")).expect("samples");
    let lines = std::fs::read_to_string(csv.join(samples)).expect("read").lines().count();
    assert_eq!(lines, 1 + 3 * 2 * 50);
    // Every quantity of every transport is measured or says why not; never a silent zero.
    let energy = files.iter().find(|f| f.ends_with("-energy.csv")).expect("energy");
    let energy = std::fs::read_to_string(csv.join(energy)).expect("read");
    let rows: Vec<&str> = energy.lines().skip(1).collect();
    assert_eq!(rows.len(), 3 * 4, "3 transports x 4 quantities:\n{energy}");
    assert!(rows.iter().all(|r| r.contains(",measured,") || r.contains(",\"unavailable: ")), "{energy}");
    assert!(rows.iter().any(|r| r.contains(",ws,native,process-cpu,CPU-s,measured,")), "{energy}");
}

#[test]
fn json_output_is_machine_readable() {
    let out = duplex(&[
        "bench",
        "--preset",
        "push",
        "-s",
        "1",
        "-n",
        "5",
        "--tick-ms",
        "5",
        "--poll-interval-ms",
        "2",
        "--no-csv",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(v["run"]["status"], "complete");
    let transports: Vec<&str> = v["report"]["transports"]
        .as_array()
        .expect("array")
        .iter()
        .map(|t| t["transport"].as_str().expect("name"))
        .collect();
    assert_eq!(transports, ["ws-push", "long-poll", "poll"]);
    assert_eq!(v["report"]["comparisons"].as_array().expect("array").len(), 2);
    assert!(v["files"].is_null());
}

#[test]
fn errors_are_one_clear_line_and_a_failing_exit() {
    let cases: [(&[&str], &str); 4] = [
        (&["bench", "--sets", "0", "--no-csv"], "invalid plan: sets and calls must be at least 1"),
        (&["bench", "--preset", "fast", "--no-csv"], "unknown preset \"fast\""),
        (&["bench", "--target", "wss://127.0.0.1:1", "--no-csv"], "use a ws:// or http:// URL"),
        (&["bench", "--target", "ws://127.0.0.1:1", "--no-csv"], "not a reachable Duplex server"),
    ];
    for (args, want) in cases {
        let out = duplex(args);
        assert!(!out.status.success(), "{args:?} should fail");
        let err = stderr(&out);
        assert!(err.contains(want), "{args:?}: {err}");
        assert_eq!(err.lines().filter(|l| l.starts_with("duplex: error:")).count(), 1, "{err}");
    }
    let out = duplex(&["bench", "--transports", "carrier-pigeon"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("unknown transport \"carrier-pigeon\""), "{}", stderr(&out));
}

#[test]
fn serve_refuses_a_port_in_use() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let out = duplex(&["serve", "--bind", &addr]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("already in use"), "{}", stderr(&out));
}

#[test]
fn serve_answers_a_remote_bench() {
    // Find a free port, then let `duplex serve` take it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_duplex"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("serve starts");
    let mut banner = std::io::BufReader::new(server.stdout.take().expect("stdout"));
    let mut line = String::new();
    std::io::BufRead::read_line(&mut banner, &mut line).expect("banner");
    assert!(line.contains(&format!("127.0.0.1:{port}")), "{line}");
    // Stop reading: the server must survive its stdout closing.
    drop(banner);
    let out = duplex(&[
        "bench",
        "--target",
        &format!("ws://127.0.0.1:{port}"),
        "-s",
        "1",
        "-n",
        "20",
        "--no-csv",
        "--json",
    ]);
    let _ = server.kill();
    let _ = server.wait();
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["run"]["topology"], "separate-process");
}
