//! One plan, one send pattern, whichever kind of client runs it. The engine's pacer (native
//! clients) writes down when each client sends each call for a few plans, on tokio's paused
//! clock, into `data/send-pattern.json`; the page's pacer (`ui/src/webclients.test.ts`) must send
//! at the same instants for the same plans. `DUPLEX_BLESS=1` writes the file anew.

use std::time::Duration;

use duplex_core::runner::Pacer;
use futures_util::future::join_all;
use serde_json::{Value, json};
use tokio::time::Instant;

/// (name, interval ms, rate per s, concurrency, calls, service ms): each exchange takes
/// `service` ms of the server's time. Timers fire on whole milliseconds (tokio's and the
/// browser's alike), so the cases keep their instants whole.
type Case = (&'static str, f64, Option<f64>, u32, u32, u64);
const CASES: [Case; 4] = [
    ("back to back", 0.0, None, 2, 5, 3),
    ("a 10 ms pause after each answer", 10.0, None, 2, 5, 3),
    ("50 calls/s, four clients staggered", 0.0, Some(50.0), 4, 5, 3),
    ("250 calls/s with 7 ms answers: late sends", 0.0, Some(250.0), 2, 5, 7),
];

async fn sends(
    interval_ms: f64,
    rate: Option<f64>,
    client: u32,
    clients: u32,
    calls: u32,
    service: u64,
) -> Value {
    let start = Instant::now();
    let pacer = Pacer::new(Duration::from_secs_f64(interval_ms / 1e3), rate, client, clients);
    let (mut at, mut late) = (Vec::new(), Vec::new());
    for i in 0..calls {
        let delay = pacer.wait(i).await;
        at.push((Instant::now() - start).as_micros() as f64 / 1e3);
        late.push(delay.as_micros() as f64 / 1e3);
        tokio::time::sleep(Duration::from_millis(service)).await;
    }
    json!({ "at_ms": at, "late_ms": late })
}

#[tokio::test(start_paused = true)]
async fn a_plans_send_pattern_is_written_down_for_both_kinds_of_client() {
    let mut cases = Vec::new();
    for (name, interval_ms, rate, concurrency, calls, service) in CASES {
        let clients =
            join_all((0..concurrency).map(|c| sends(interval_ms, rate, c, concurrency, calls, service)))
                .await;
        cases.push(json!({
            "name": name, "interval_ms": interval_ms, "rate": rate, "concurrency": concurrency,
            "calls": calls, "service_ms": service, "clients": clients,
        }));
    }
    let fresh = serde_json::to_string_pretty(&json!({ "cases": cases })).expect("json") + "\n";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/send-pattern.json");
    if std::env::var_os("DUPLEX_BLESS").is_some() {
        std::fs::write(path, &fresh).expect("write");
    }
    let kept = std::fs::read_to_string(path).unwrap_or_default();
    assert_eq!(
        kept, fresh,
        "{path} is not the engine's send pattern: DUPLEX_BLESS=1 cargo test -p duplex-core pacing"
    );
    // What the cases show, in words.
    let staggered = &cases[2]["clients"];
    assert_eq!(
        staggered[1]["at_ms"][0],
        json!(5.0),
        "the second of four clients starts a quarter period late"
    );
    assert_eq!(staggered[3]["at_ms"][1], json!(35.0), "then keeps the 20 ms period");
    assert_eq!(cases[1]["clients"][0]["at_ms"][1], json!(13.0), "3 ms answer, then a 10 ms pause");
    assert!(
        cases[3]["clients"][0]["late_ms"][4].as_f64().is_some_and(|l| l > 0.0),
        "7 ms answers at a 5 ms period fall behind"
    );
}
