//! Every parser of Duplex's own, fed arbitrary bytes and mutations of valid input (proptest):
//! each answers Ok or an error and never panics, and what it accepts is sound.

use std::sync::OnceLock;

use duplex_core::clients::{Endpoints, Transport, redact_token};
use duplex_core::export::bundle::{read_bundle, write_bundle};
use duplex_core::export::csv::{read_samples, write_samples};
use duplex_core::monitor::Published;
use duplex_core::platform::{BrowserDevice, PlatformInfo};
use duplex_core::protocol::{EchoReplyView, EchoRequest, Event, parse_binary_reply};
use duplex_core::record::{ClientKind, RunRecord, Sample};
use duplex_core::server::echo_text;
use duplex_core::server::join::JoinResults;
use duplex_core::stats::platforms::browser_of;
use proptest::prelude::*;

use crate::util::small_plan;

fn config() -> ProptestConfig {
    ProptestConfig { cases: 384, failure_persistence: None, ..ProptestConfig::default() }
}

/// A valid run with samples in every set, made without a network.
fn sample_run() -> &'static RunRecord {
    static RUN: OnceLock<RunRecord> = OnceLock::new();
    RUN.get_or_init(|| {
        let mut record = RunRecord::new(small_plan(&[Transport::Ws, Transport::Http]), "fuzz".into());
        for (i, transport) in [Transport::Ws, Transport::Http].into_iter().enumerate() {
            for seq in 1..=20u64 {
                record.samples.push(Sample {
                    transport,
                    client: ClientKind::Native,
                    client_id: 0,
                    set: 1 + (seq % 2) as u32,
                    seq,
                    sent_at_unix_ns: 1_700_000_000_000_000_000 + (seq as i64) * 1_000_000,
                    latency_ns: 100_000 * (i as u64 + 1) + seq * 997,
                    send_delay_ns: 0,
                    server_time_unix_ns: Some(1_700_000_000_000_000_000),
                    bytes_out: 120,
                    bytes_in: 180,
                    error: (seq == 7).then(|| "timeout, \"quoted\"\nnewline".into()),
                });
            }
        }
        record
    })
}

/// Bytes with one edit: a byte replaced, inserted or removed, or the tail cut.
fn mutated(valid: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = valid.len().max(1);
    (0..len, any::<u8>(), 0..4u8).prop_map(move |(at, byte, op)| {
        let mut v = valid.clone();
        let at = at.min(v.len().saturating_sub(1));
        match op {
            0 if !v.is_empty() => v[at] = byte,
            1 => v.insert(at, byte),
            2 if !v.is_empty() => {
                v.remove(at);
            }
            _ => v.truncate(at),
        }
        v
    })
}

fn samples_csv() -> Vec<u8> {
    let mut out = Vec::new();
    write_samples(&mut out, &sample_run().id, &sample_run().samples).expect("csv");
    out
}

/// Samples written as CSV and read again.
fn read_back(run_id: &str, samples: &[Sample]) -> Vec<Sample> {
    let mut out = Vec::new();
    write_samples(&mut out, run_id, samples).expect("csv");
    read_samples(&out[..]).expect("reads back").1
}

fn bundle_json() -> Vec<u8> {
    let mut out = Vec::new();
    write_bundle(&mut out, std::slice::from_ref(sample_run())).expect("bundle");
    out
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn echo_messages_from_the_network(text in any::<String>(), bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = EchoRequest::parse(&text);
        // The server's answer to anything is JSON: an echo, or {"error": …}.
        let reply = echo_text(&text, 1_700_000_000_000_000_000);
        prop_assert!(serde_json::from_str::<serde_json::Value>(&reply).is_ok(), "{}", reply);
        let _ = EchoReplyView::parse(&bytes);
        if let Ok((server_ns, rest)) = parse_binary_reply(&bytes) {
            // An 8-byte big-endian server time, then the client's bytes unchanged.
            prop_assert_eq!(&bytes[..8], &server_ns.to_be_bytes()[..]);
            prop_assert_eq!(rest, &bytes[8..]);
        }
        if let Ok(event) = Event::parse(&bytes) {
            let again = serde_json::to_vec(&event).expect("json");
            prop_assert_eq!(Event::parse(&again).expect("reparses"), event);
        }
        if let Ok(published) = Published::parse(&bytes) {
            prop_assert_eq!(published.snapshot.top.len() <= bytes.len(), true);
        }
    }

    #[test]
    fn echo_requests_that_parse_are_echoed(seq in any::<u64>(), t in -1e12f64..1e12, payload in "[^\\u{0}]{0,64}") {
        let text = serde_json::json!({ "client_time": t, "seq": seq, "payload": payload }).to_string();
        let req = EchoRequest::parse(&text).expect("a well-formed request parses");
        prop_assert_eq!(req.seq, Some(seq));
        let reply = EchoReplyView::parse(echo_text(&text, 5).as_bytes()).expect("reply");
        prop_assert_eq!(reply.seq, Some(seq));
    }

    #[test]
    fn sample_csv_files(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok((run_id, samples)) = read_samples(&bytes[..]) {
            prop_assert_eq!(read_back(&run_id, &samples), samples);
        }
    }

    #[test]
    fn damaged_sample_csv_files(bytes in mutated(samples_csv())) {
        // Refused, or read as samples that write and read back the same.
        if let Ok((run_id, samples)) = read_samples(&bytes[..]) {
            prop_assert!(samples.len() <= sample_run().samples.len() + 1);
            prop_assert_eq!(read_back(&run_id, &samples), samples);
        }
    }

    #[test]
    fn bundles(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(bundle) = read_bundle(&bytes[..]) {
            prop_assert!(bundle.runs.iter().all(|r| r.validate().is_ok()));
        }
    }

    #[test]
    fn damaged_bundles(bytes in mutated(bundle_json())) {
        // Refused, or runs that are sound (import checks them the same way) and read back
        // equal once written again.
        if let Ok(bundle) = read_bundle(&bytes[..]) {
            for run in &bundle.runs {
                prop_assert!(run.validate().is_ok());
            }
            let mut again = Vec::new();
            write_bundle(&mut again, &bundle.runs).expect("written");
            prop_assert_eq!(read_bundle(&again[..]).expect("read back").runs, bundle.runs);
        }
    }

    #[test]
    fn join_results_from_browsers(bytes in proptest::collection::vec(any::<u8>(), 0..512), field in 0..6usize, value in any::<i64>()) {
        let _ = serde_json::from_slice::<JoinResults>(&bytes);
        // A real part with one field set to anything: merged, or refused with a reason.
        let mut part = serde_json::json!({
            "client": "webview", "status": "complete", "error": null, "info": null,
            "samples": serde_json::to_value(&sample_run().samples[..4]).expect("samples"), "blocks": [],
        });
        for s in part["samples"].as_array_mut().expect("array") {
            s["client"] = "webview".into();
        }
        let key = ["set", "client_id", "seq", "latency_ns", "bytes_in", "sent_at_unix_ns"][field];
        part["samples"][0][key] = value.into();
        if let Ok(part) = serde_json::from_value(part) {
            let mut record = RunRecord::new(small_plan(&[Transport::Ws, Transport::Http]), "join".into());
            if record.merge(part).is_ok() {
                prop_assert!(record.validate().is_ok(), "{:?}", record.validate());
            }
        }
    }

    #[test]
    fn user_agents_and_targets(ua in any::<String>(), platform in any::<String>(), target in any::<String>()) {
        let device = BrowserDevice { user_agent: ua.clone(), platform, logical_cores: 4, memory_gib: Some(2.0) };
        let info = PlatformInfo::from_browser(&device, "peer".into());
        prop_assert!(!info.label().is_empty() && info.os.chars().count() <= 32);
        let _ = browser_of(&ua);
        if let Ok(endpoints) = Endpoints::parse(&target) {
            prop_assert!(!endpoints.authority.is_empty());
        }
        let _ = redact_token(&target);
    }

    #[test]
    fn an_access_token_never_survives_redaction(
        scheme in "(http|ws|https|wss)://",
        host in "[a-z0-9.]{1,20}(:[0-9]{1,5})?",
        path in "(/[a-z]{0,8}){0,2}",
        before in "([a-z]{1,5}=[a-z0-9]{0,5}&){0,2}",
        token in "[A-Za-z0-9_-]{16,40}",
        after in "(&[a-z]{1,5}=[a-z0-9]{0,5}){0,2}",
    ) {
        let url = format!("{scheme}{host}{path}?{before}token={token}{after}");
        let redacted = redact_token(&url);
        prop_assert!(!redacted.contains(&token), "{} kept the token: {}", url, redacted);
    }

    #[test]
    fn user_agent_shaped_text(os in "(Android|iPhone OS|Windows NT|Mac OS X|CrOS|Linux) ?[0-9_.;)]{0,6}", tail in "[ -~é]{0,40}") {
        let device = BrowserDevice { user_agent: format!("Mozilla/5.0 ({os}{tail}) Chrome/1"), ..BrowserDevice::default() };
        let info = PlatformInfo::from_browser(&device, String::new());
        // A user agent that names an OS is read as that OS.
        prop_assert!(["Android", "iOS", "Windows", "macOS", "ChromeOS", "Linux"].contains(&info.os.as_str()), "{:?}", info.os);
    }
}

proptest! {
    #![proptest_config(config())]

    /// The event-stream parser takes any bytes in any pieces: never a panic, the same events
    /// whole or cut anywhere, and never more bytes accounted than it was given.
    #[test]
    fn sse_parser_takes_any_bytes_in_any_pieces(
        bytes in proptest::collection::vec(prop_oneof![
            Just(b'\n'), Just(b'\r'), Just(b':'), Just(b' '), Just(b'd'), Just(b'a'), Just(b't'),
            Just(b'i'), any::<u8>()
        ], 0..600),
        cut in 0usize..600,
    ) {
        use duplex_core::sse::SseParser;
        let whole = SseParser::new(1 << 20).feed(&bytes).expect("under the limit");
        let cut = cut.min(bytes.len());
        let mut parser = SseParser::new(1 << 20);
        let mut pieces = parser.feed(&bytes[..cut]).expect("under the limit");
        pieces.extend(parser.feed(&bytes[cut..]).expect("under the limit"));
        prop_assert_eq!(&whole, &pieces);
        prop_assert!(whole.iter().map(|e| e.wire_len).sum::<usize>() <= bytes.len());
        // A tight limit is an error, never a panic.
        let _ = SseParser::new(16).feed(&bytes);
    }
}

proptest! {
    #![proptest_config(config())]

    /// A foreign server's message template: any text renders without a panic, each placeholder
    /// is filled in once (a payload that looks like a placeholder stays as it is), and an echo
    /// check of any reply is an answer, never a panic.
    #[test]
    fn message_templates_and_echo_checks(
        pieces in proptest::collection::vec(prop_oneof![
            "[^{}]{0,12}".prop_map(Piece::Text),
            Just(Piece::Seq), Just(Piece::Time), Just(Piece::Payload),
        ], 0..12),
        seq in any::<u64>(),
        time in 0.0f64..1e10,
        payload in "[a-z{}]{0,24}",
        any_template in any::<String>(),
        reply in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        use duplex_core::transport::{ForeignMessages, ReplyRule};
        let template: String = pieces.iter().map(Piece::template).collect();
        let expected: String = pieces.iter().map(|p| p.filled(seq, time, &payload)).collect();
        let messages = ForeignMessages { template, reply: ReplyRule::Echo };
        prop_assert_eq!(messages.render(seq, time, &payload), expected);
        let _ = ForeignMessages { template: any_template, reply: ReplyRule::Echo }.render(seq, time, &payload);
        let sent = messages.render(seq, time, &payload);
        prop_assert!(messages.accepts(sent.as_bytes(), sent.as_bytes()).is_ok());
        prop_assert_eq!(messages.accepts(sent.as_bytes(), &reply).is_ok(), sent.as_bytes() == reply.as_slice());
    }
}

#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Seq,
    Time,
    Payload,
}

impl Piece {
    fn template(&self) -> String {
        match self {
            Piece::Text(t) => t.clone(),
            Piece::Seq => "{seq}".into(),
            Piece::Time => "{time}".into(),
            Piece::Payload => "{payload}".into(),
        }
    }

    fn filled(&self, seq: u64, time: f64, payload: &str) -> String {
        match self {
            Piece::Text(t) => t.clone(),
            Piece::Seq => seq.to_string(),
            Piece::Time => time.to_string(),
            Piece::Payload => payload.to_owned(),
        }
    }
}
