//! `cargo bench -p duplex-core --bench power`: what measuring power costs. The time one
//! reading of each sensor takes (and so the sampler's share of a core at a given period), and
//! the same run with power sampled and without, in this one process run, with the ratio.

use std::time::{Duration, Instant};

use duplex_core::clients::Transport;
use duplex_core::plan::Plan;
use duplex_core::power::{PowerSample, PowerSettings, default_sensors};
use duplex_core::record::Topology;
use duplex_core::runner::{Target, execute};
use duplex_core::stats::{AnalysisOptions, analyze, format_us};
use tokio_util::sync::CancellationToken;

const READS: u32 = 100;

fn main() {
    println!("one reading per sensor ({READS} readings each):");
    for probe in default_sensors() {
        match probe {
            Ok(mut sensor) => {
                let started = Instant::now();
                let mut failed = 0;
                for _ in 0..READS {
                    failed += u32::from(sensor.read(&mut PowerSample::default()).is_err());
                }
                let per_read = started.elapsed() / READS;
                let share = per_read.as_secs_f64() / 0.2 * 100.0;
                println!(
                    "  {:<8} {:>10.1} µs per reading, {share:.2} % of a core at 200 ms{}",
                    sensor.name(),
                    per_read.as_secs_f64() * 1e6,
                    if failed > 0 { format!(" ({failed} failed)") } else { String::new() }
                );
            }
            Err(u) => println!("  {:<8} unavailable: {}", u.sensor, u.reason),
        }
    }

    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start a runtime: {e}");
            std::process::exit(1);
        }
    };
    let plan = |power: PowerSettings| Plan {
        transports: vec![Transport::Ws, Transport::Http],
        sets: 10,
        calls: 2_000,
        warmup: 200,
        power,
        ..Plan::default()
    };
    let sampled = PowerSettings { sample_ms: 200, baseline_ms: 0 };
    let mut medians = Vec::new();
    // Alternate off/on twice so a drift of the machine hits both alike.
    for (label, power) in
        [("off", PowerSettings::OFF), ("on", sampled.clone()), ("off", PowerSettings::OFF), ("on", sampled)]
    {
        let record = runtime.block_on(execute(
            plan(power).check().expect("a valid plan"),
            Target::Embedded { topology: Topology::SameThread },
            tokio::sync::mpsc::unbounded_channel().0,
            CancellationToken::new(),
        ));
        let report = analyze(&record, &AnalysisOptions::default());
        let p50 = |t: Transport| {
            report.transports.iter().find(|r| r.transport == t).map_or(f64::NAN, |r| r.overall.p50_us)
        };
        medians.push((label, p50(Transport::Ws), p50(Transport::Http)));
        std::thread::sleep(Duration::from_millis(200));
    }
    println!("\nthe same run (ws + http, 10 x 2,000 calls back to back), power sampled every 200 ms or not:");
    for (label, ws, http) in &medians {
        println!("  power {label:<3}  ws p50 {:>9}  http p50 {:>9}", format_us(*ws), format_us(*http));
    }
    let mean = |on: bool, f: fn(&(&str, f64, f64)) -> f64| {
        let v: Vec<f64> = medians.iter().filter(|m| (m.0 == "on") == on).map(f).collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    println!(
        "  ratio on/off: ws {:.3}x, http {:.3}x (aim: within 1.05x)",
        mean(true, |m| m.1) / mean(false, |m| m.1),
        mean(true, |m| m.2) / mean(false, |m| m.2)
    );
}
