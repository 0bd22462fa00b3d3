//! Servers no one in Duplex wrote (python3-websockets' echo server, Python's http.server), with
//! and without TLS: measured as they are, with a message template and a reply rule, and
//! without the server time they do not give.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

use duplex_core::clients::{Transport, Trust};
use duplex_core::plan::Plan;
use duplex_core::record::RunStatus;
use duplex_core::runner::Target;
use duplex_core::transport::{ForeignMessages, ReplyRule};

use crate::util::{run_against, small_plan};

/// A Python program of tests/interop, killed when dropped.
struct Python(Child);

impl Drop for Python {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `tests/interop/SCRIPT ARGS` started, and the first line it printed (its ports); None (a
/// skip) where there is no python3 with websockets, which scripts/test-all.sh installs (there
/// DUPLEX_REQUIRE_EXTERNAL makes it fail).
fn python(script: &str, args: &[&std::ffi::OsStr]) -> Option<(Python, String)> {
    python_with(std::path::Path::new("/usr/bin/python3"), "websockets", script, args)
}

/// The same with `python` (an interpreter that can import `module`).
fn python_with(
    python: &std::path::Path,
    module: &str,
    script: &str,
    args: &[&std::ffi::OsStr],
) -> Option<(Python, String)> {
    if cfg!(windows) {
        eprintln!("skipped: a Windows build cannot start this machine's Linux programs (python3)");
        return None;
    }
    let have = python.is_file()
        && Command::new(python)
            .args(["-c", &format!("import {module}")])
            .output()
            .is_ok_and(|o| o.status.success());
    if !have {
        assert!(
            std::env::var_os("DUPLEX_REQUIRE_EXTERNAL").is_none(),
            "{} with {module} missing",
            python.display()
        );
        eprintln!("skipped: no {} with {module} here", python.display());
        return None;
    }
    let script = format!("{}/tests/interop/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut child =
        Command::new(python).arg(script).args(args).stdout(Stdio::piped()).spawn().expect("python starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("ports line");
    Some((Python(child), line))
}

/// The port a Python program printed as `NAME=PORT`.
fn port(line: &str, name: &str) -> u16 {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(name)?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {line:?}"))
}

/// The Python servers: a WebSocket echo and an HTTP endpoint, over TLS with `tls`.
struct PythonServers {
    _running: Python,
    ws: u16,
    http: u16,
}

fn python_servers(tls: Option<(&std::path::Path, &std::path::Path)>) -> Option<PythonServers> {
    let args: Vec<&std::ffi::OsStr> =
        tls.map(|(cert, key)| vec![cert.as_os_str(), key.as_os_str()]).unwrap_or_default();
    let (running, line) = python("foreign_servers.py", &args)?;
    Some(PythonServers { ws: port(&line, "ws="), http: port(&line, "http="), _running: running })
}

fn plan(transports: &[Transport]) -> Plan {
    Plan { sets: 1, calls: 30, warmup: 2, ..small_plan(transports) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_servers_in_cleartext_with_a_template_and_an_echo_rule() {
    let Some(servers) = python_servers(None) else { return };
    let messages =
        ForeignMessages { template: "call {seq} at {time}: {payload}".into(), reply: ReplyRule::Echo };
    let target = Target::foreign(
        Some(&format!("ws://127.0.0.1:{}/", servers.ws)),
        Some(&format!("http://127.0.0.1:{}/anything", servers.http)),
        messages,
    )
    .expect("valid URLs");
    let record = run_against(plan(&[Transport::Ws, Transport::Http, Transport::HttpNew]), target).await;
    assert_eq!(record.status, RunStatus::Complete, "{:?}", record.error);
    assert_eq!(record.samples.len(), 90);
    for s in &record.samples {
        assert!(s.is_ok() && s.latency_ns > 0 && s.bytes_in > 0, "{s:?}");
        assert_eq!(s.server_time_unix_ns, None, "a foreign server gives no server time");
    }
    let report = duplex_core::stats::analyze(&record, &Default::default());
    assert!(report.notes.iter().any(|n| n.contains("no server time")), "{:?}", report.notes);
    assert_eq!(report.comparisons.len(), 2, "ws against http and http-new");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_that_is_not_an_echo_is_an_error_with_the_reason() {
    let Some(servers) = python_servers(None) else { return };
    // The GET answer is a greeting, not an echo: fine by default, an error by the echo rule.
    let get = Plan { http_method: duplex_core::clients::HttpMethod::Get, ..plan(&[Transport::Http]) };
    let url = format!("http://127.0.0.1:{}/", servers.http);
    let record = run_against(
        get.clone(),
        Target::foreign(None, Some(&url), ForeignMessages::default()).expect("valid"),
    )
    .await;
    assert_eq!(record.status, RunStatus::Complete, "{:?}", record.error);
    let mut messages = ForeignMessages { reply: ReplyRule::Echo, ..ForeignMessages::default() };
    messages.template = "x".into();
    let record = run_against(
        Plan { http_method: duplex_core::clients::HttpMethod::Post, ..get },
        Target::foreign(None, Some(&url), messages).expect("valid"),
    )
    .await;
    assert!(record.samples.iter().all(|s| s.is_ok()), "POST bodies are echoed");
    // Push transports and mismatched schemes are refused before anything runs.
    let target = Target::foreign(None, Some(&url), ForeignMessages::default()).expect("valid");
    assert!(target.check_transports(&[Transport::Sse]).expect_err("refused").contains("echo only"));
    assert!(target.check_transports(&[Transport::Https]).expect_err("refused").contains("https://"));
}

/// Each (name, text) written into `dir`: the certificate and key files a Python server reads.
fn written<const N: usize>(dir: &std::path::Path, files: [(&str, String); N]) -> [std::path::PathBuf; N] {
    files.map(|(name, text)| {
        let path = dir.join(name);
        std::fs::File::create(&path).and_then(|mut f| f.write_all(text.as_bytes())).expect("write");
        path
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_servers_over_tls_trusted_by_their_private_ca() {
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).expect("CA");
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = rcgen::KeyPair::generate().expect("key");
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .expect("params")
        .signed_by(&key, &issuer)
        .expect("leaf");
    let dir = tempfile::tempdir().expect("temp dir");
    let [cert, key, ca] = written(
        dir.path(),
        [("cert.pem", leaf.pem()), ("key.pem", key.serialize_pem()), ("ca.pem", ca_cert.pem())],
    );
    let Some(servers) = python_servers(Some((&cert, &key))) else { return };
    let target = Target::foreign(
        Some(&format!("wss://127.0.0.1:{}/", servers.ws)),
        Some(&format!("https://127.0.0.1:{}/", servers.http)),
        ForeignMessages { reply: ReplyRule::Echo, ..ForeignMessages::default() },
    )
    .expect("valid URLs");
    let transports = [Transport::Wss, Transport::Https, Transport::HttpsNew];
    let record =
        run_against(plan(&transports), target.clone().trusting(Trust::with_ca_file(&ca).expect("CA file")))
            .await;
    assert_eq!(record.status, RunStatus::Complete, "{:?}", record.error);
    assert!(record.samples.iter().all(|s| s.is_ok()));
    assert_eq!(record.tls.len(), 3, "{:?}", record.tls);
    // Without its CA the same server is refused, and the user told why.
    let record = run_against(plan(&transports), target).await;
    assert_eq!(record.status, RunStatus::Failed);
    assert!(record.error.unwrap_or_default().contains("--ca-cert"));
}

/// The certificate most people make for a test server, by the usual one-liner: self-signed,
/// RSA, CA:TRUE (openssl's default for `req -x509`). Given with `--ca-cert`, as curl's
/// `--cacert` and Python take it, it is trusted for its own server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_server_with_the_openssl_one_liners_certificate_is_trusted_by_that_file() {
    let openssl = std::path::Path::new("/usr/bin/openssl");
    if cfg!(windows) || !openssl.is_file() {
        assert!(cfg!(windows) || std::env::var_os("DUPLEX_REQUIRE_EXTERNAL").is_none(), "openssl missing");
        eprintln!("skipped: no openssl command here");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = Command::new(openssl)
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(made.success(), "openssl made the certificate");
    let Some(servers) = python_servers(Some((&cert, &key))) else { return };
    let target = Target::foreign(
        Some(&format!("wss://127.0.0.1:{}/", servers.ws)),
        Some(&format!("https://127.0.0.1:{}/", servers.http)),
        ForeignMessages { reply: ReplyRule::Echo, ..ForeignMessages::default() },
    )
    .expect("valid URLs")
    .trusting(Trust::with_ca_file(&cert).expect("the certificate as a file"));
    let record = run_against(plan(&[Transport::Wss, Transport::Https, Transport::HttpsNew]), target).await;
    assert_eq!(record.status, RunStatus::Complete, "{:?}", record.error);
    assert!(record.samples.iter().all(|s| s.is_ok()));
}

/// A server that slows down part-way (after 150 requests every answer waits 2 ms more, as one
/// under growing load does): the run is flagged at the call where it happened, in the report's
/// regimes and its notes. Ten of the requests were warm-up, so the change is after 140 calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_slows_down_part_way_is_flagged_at_the_call_where_it_did() {
    let Some((_server, line)) = python("slows_down.py", &["150".as_ref(), "2".as_ref()]) else { return };
    let url = format!("http://127.0.0.1:{}/", port(&line, "http="));
    let plan = Plan { sets: 1, calls: 400, warmup: 10, ..small_plan(&[Transport::Http]) };
    let record =
        run_against(plan, Target::foreign(None, Some(&url), ForeignMessages::default()).expect("valid"))
            .await;
    assert_eq!(record.status, RunStatus::Complete, "{:?}", record.error);
    let report = duplex_core::stats::analyze(&record, &Default::default());
    assert_eq!(report.regimes.len(), 1, "{:?}", report.regimes);
    let change = &report.regimes[0];
    // The server slows after call 140; one call at the edge slowed by this machine's own load
    // (it was seen once, at 139) may move the estimate by one.
    assert!((139..=141).contains(&change.after_calls) && change.calls == 400, "{change:?}");
    assert!(change.after_p50_us > change.before_p50_us + 1500.0, "{change:?}");
    let said = format!("http: after {} of 400 calls", change.after_calls);
    assert!(
        report.notes.iter().any(|n| n.starts_with(&said) && n.contains("the median moved from")),
        "{:?}",
        report.notes
    );
}

/// aioquic (PyPI), an HTTP/3 and WebTransport implementation nobody here wrote, measured by `h3`
/// and `h3-new` (its HTTP/3 endpoint; `h3-new`'s requests after the first sent as 0-RTT data,
/// which aioquic takes) and by `--wt` (its WebTransport echo: `wt` on a stream, `wt-dgram` by
/// datagrams), every reply an echo of its message. The test script installs it into
/// `target/quic-venv` (or set DUPLEX_AIOQUIC_PYTHON to a python3 that has it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aioquic_server_is_measured_by_h3_and_webtransport() {
    let python =
        std::env::var_os("DUPLEX_AIOQUIC_PYTHON").map(std::path::PathBuf::from).unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/quic-venv/bin/python3")
        });
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .expect("params")
        .self_signed(&key)
        .expect("certificate");
    let dir = tempfile::tempdir().expect("temp dir");
    let [cert_file, key_file] =
        written(dir.path(), [("cert.pem", cert.pem()), ("key.pem", key.serialize_pem())]);
    let args = [cert_file.as_os_str(), key_file.as_os_str()];
    let Some((_running, line)) = python_with(&python, "aioquic", "quic_server.py", &args) else { return };
    let quic = port(&line, "quic=");
    let target = Target::foreign_with_wt(
        None,
        Some(&format!("https://127.0.0.1:{quic}/echo")),
        Some(&format!("https://127.0.0.1:{quic}/wt")),
        ForeignMessages { reply: ReplyRule::Echo, ..ForeignMessages::default() },
    )
    .expect("valid URLs")
    .trusting(Trust::Pinned(cert.der().clone()));
    let transports =
        [Transport::Wt, Transport::WtStreams, Transport::WtDgram, Transport::H3, Transport::H3New];
    let record = run_against(plan(&transports), target).await;
    assert_eq!(record.status, RunStatus::Complete, "{:?}", record.error);
    for t in transports {
        let samples: Vec<_> = record.samples.iter().filter(|s| s.transport == t).collect();
        assert_eq!(samples.len(), 30, "{t}");
        for s in samples {
            assert!(s.is_ok(), "{t}: {:?}", s.error);
            // The message (Duplex's JSON request, about 80 bytes) crossed each way, in QUIC
            // packets: a few dozen bytes of headers more.
            assert!(s.bytes_out > 80 && s.bytes_in > 80, "{t}: {} B out, {} B in", s.bytes_out, s.bytes_in);
            assert_eq!(s.server_time_unix_ns, None, "a foreign server gives no server time");
        }
    }
    assert_eq!(record.tls.len(), 5, "each QUIC connection's handshake: {:?}", record.tls);
    let new = record.tls.iter().find(|u| u.transport == Transport::H3New).expect("h3-new's TLS");
    // The warm-up's connection a full handshake; the next may come before its tickets.
    assert!(new.connections > 30 && new.early_data >= new.connections - 2, "{new:?}");
}
