//! Power, energy and CPU: the samplers over fixture sysfs trees, the attribution arithmetic
//! against hand-computed values, absent sensors, and a real run that records CPU.

use std::path::Path;

use duplex_core::clients::Transport;
use duplex_core::export::{ReportFiles, write_report_files};
use duplex_core::plan::Plan;
use duplex_core::power::battery::sysfs::SysfsBattery;
use duplex_core::power::rapl::{Rapl, delta_uj};
use duplex_core::power::{
    BatteryReading, BatteryState, PowerSample, PowerSettings, PowerTrace, SensorStatus, TimeWindow,
};
use duplex_core::record::{BlockTiming, ClientKind, RunRecord, Sample};
use duplex_core::stats::energy::{Quantity, attribute, energy_report, ratio_with_ci};
use duplex_core::stats::{AnalysisOptions, analyze};

use crate::util::{run_embedded, small_plan};

fn write(dir: &Path, file: &str, text: &str) {
    std::fs::create_dir_all(dir).expect("fixture dir");
    std::fs::write(dir.join(file), text).expect("fixture file");
}

fn read_with(sensor: &mut Box<dyn duplex_core::power::Sensor>) -> PowerSample {
    let mut sample = PowerSample::default();
    sensor.read(&mut sample).expect("reads");
    sample
}

#[test]
fn rapl_counters_add_up_across_packages_and_wrap_around() {
    assert_eq!(delta_uj(100, 350, 1000), 250);
    assert_eq!(delta_uj(900, 50, 1000), 150, "wrapped: 100 to the top, 50 after");
    let root = tempfile::tempdir().expect("tempdir");
    let zone = |name: &str, dir: &str, energy: u64| {
        let d = root.path().join(dir);
        write(&d, "name", &format!("{name}\n"));
        write(&d, "energy_uj", &format!("{energy}\n"));
        write(&d, "max_energy_range_uj", "1000000\n");
    };
    zone("package-0", "intel-rapl:0", 990_000);
    zone("package-1", "intel-rapl:1", 10_000);
    zone("core", "intel-rapl:0:0", 123); // a part of package 0: not counted twice
    let mut rapl = Rapl::probe(root.path()).expect("two packages found");
    assert!(rapl.source().contains("package-0 + package-1"), "{}", rapl.source());
    assert_eq!(read_with(&mut rapl).rapl_j, Some(0.0));
    // Package 0 wraps (990,000 → 1,000,000 → 20,000): 30,000 µJ; package 1 adds 500,000 µJ.
    write(&root.path().join("intel-rapl:0"), "energy_uj", "20000");
    write(&root.path().join("intel-rapl:1"), "energy_uj", "510000");
    write(&root.path().join("intel-rapl:0:0"), "energy_uj", "999999");
    assert_eq!(read_with(&mut rapl).rapl_j, Some(0.53));
    // A failed read is an error, not a zero, and the total is kept for the next one.
    std::fs::remove_file(root.path().join("intel-rapl:1/energy_uj")).expect("rm");
    assert!(rapl.read(&mut PowerSample::default()).is_err());
    write(&root.path().join("intel-rapl:1"), "energy_uj", "520000");
    assert_eq!(read_with(&mut rapl).rapl_j, Some(0.54));
}

#[test]
fn rapl_prefers_the_platform_zone_and_says_why_when_absent() {
    let root = tempfile::tempdir().expect("tempdir");
    for (dir, name) in [("intel-rapl:0", "package-0"), ("intel-rapl:1", "psys")] {
        let d = root.path().join(dir);
        write(&d, "name", name);
        write(&d, "energy_uj", "5");
        write(&d, "max_energy_range_uj", "100");
    }
    let rapl = Rapl::probe(root.path()).expect("found");
    assert!(rapl.source().ends_with("(psys)"), "psys covers the packages: {}", rapl.source());

    let empty = tempfile::tempdir().expect("tempdir");
    let err = Rapl::probe(empty.path()).err().expect("no zones");
    assert!(err.reason.contains("no RAPL zones"), "{}", err.reason);
    let err = Rapl::probe(&empty.path().join("missing")).err().expect("no powercap");
    assert!(err.reason.contains("a VM without RAPL"), "{}", err.reason);
}

fn battery_fixture(root: &Path) {
    let bat = root.join("BAT0");
    for (file, text) in [
        ("type", "Battery"),
        ("status", "Discharging"),
        ("capacity", "81"),
        ("energy_now", "40500000"),
        ("power_now", "7250000"),
        ("voltage_now", "12100000"),
        ("temp", "305"),
    ] {
        write(&bat, file, text);
    }
    write(&root.join("AC"), "type", "Mains");
    let mouse = root.join("hidpp_battery_0");
    write(&mouse, "type", "Battery");
    write(&mouse, "scope", "Device");
    write(&mouse, "capacity", "5");
}

#[test]
fn a_laptop_battery_reads_in_si_units_and_peripherals_are_ignored() {
    let root = tempfile::tempdir().expect("tempdir");
    battery_fixture(root.path());
    let mut battery = SysfsBattery::probe(root.path()).expect("BAT0 found");
    assert!(battery.source().ends_with("(BAT0)"), "{}", battery.source());
    let r = read_with(&mut battery).battery.expect("a reading");
    assert_eq!(r.state, BatteryState::Discharging);
    assert_eq!(r.percent, Some(81.0));
    assert_eq!(r.energy_wh, Some(40.5));
    assert_eq!(r.power_w, Some(7.25));
    assert_eq!(r.voltage_v, Some(12.1));
    assert_eq!(r.temperature_c, Some(30.5));

    // A driver that reports charge and current instead: Wh = Ah × V, W = A × V.
    let bat = root.path().join("BAT0");
    for f in ["energy_now", "power_now"] {
        std::fs::remove_file(bat.join(f)).expect("rm");
    }
    write(&bat, "charge_now", "3000000");
    write(&bat, "current_now", "-500000");
    write(&bat, "status", "Charging");
    let r = read_with(&mut battery).battery.expect("a reading");
    assert_eq!(r.state, BatteryState::Charging);
    assert!((r.energy_wh.expect("energy") - 3.0 * 12.1).abs() < 1e-9);
    assert!((r.power_w.expect("power") - 0.5 * 12.1).abs() < 1e-9, "sign dropped");
}

#[test]
fn no_battery_is_unavailable_with_a_reason() {
    let root = tempfile::tempdir().expect("tempdir");
    write(&root.path().join("AC"), "type", "Mains");
    let err = SysfsBattery::probe(root.path()).err().expect("no battery");
    assert_eq!(err.sensor, "battery");
    assert!(err.reason.contains("no battery under"), "{}", err.reason);
}

const T0: i64 = 1_800_000_000_000_000_000;
const SEC: i64 = 1_000_000_000;

fn available(sensor: &str) -> SensorStatus {
    SensorStatus {
        sensor: sensor.into(),
        source: "fixture".into(),
        unavailable: None,
        failed_reads: 0,
        last_error: None,
    }
}

/// 30 readings a second apart: idle for 10 s (4 and 6 W alternating, mean 5 W), then ws for
/// 10 s at 7 W, then http for 10 s at 12 W, 100 messages each. CPU follows the same shape in
/// tenths of a core. No battery on this machine.
fn synthetic_run() -> RunRecord {
    let mut samples = Vec::new();
    let (mut joules, mut cpu) = (0.0, 0.0);
    for i in 0..=30 {
        samples.push(PowerSample {
            at_unix_ns: T0 + i * SEC,
            process_cpu_s: Some(cpu),
            system_cpu_s: Some(cpu * 2.0),
            process_memory_bytes: Some(1000 + i as u64),
            rapl_j: Some(joules),
            battery: None,
        });
        let watts = match i {
            0..10 if i % 2 == 0 => 4.0,
            0..10 => 6.0,
            10..20 => 7.0,
            _ => 12.0,
        };
        joules += watts;
        cpu += watts / 10.0;
    }
    let unavailable = SensorStatus::unavailable("battery", "no battery (fixture)".into());
    let mut record = RunRecord::new(small_plan(&[Transport::Ws, Transport::Http]), "embedded".into());
    record.power = Some(PowerTrace {
        sample_ms: 1000,
        sensors: vec![available("cpu"), available("rapl"), unavailable],
        baseline: Some(TimeWindow { start_unix_ns: T0, end_unix_ns: T0 + 10 * SEC }),
        samples,
    });
    for (transport, start) in [(Transport::Ws, 10), (Transport::Http, 20)] {
        record.blocks.push(BlockTiming {
            transport,
            client: ClientKind::Native,
            set: 1,
            started_at_unix_ns: T0 + start * SEC,
            elapsed_ns: 10 * SEC as u64,
        });
        for seq in 1..=100 {
            record.samples.push(Sample {
                transport,
                client: ClientKind::Native,
                client_id: 0,
                set: 1,
                seq,
                sent_at_unix_ns: T0 + start * SEC + seq as i64 * SEC / 10,
                latency_ns: 50_000,
                send_delay_ns: 0,
                server_time_unix_ns: None,
                bytes_out: 100,
                bytes_in: 100,
                error: None,
            });
        }
    }
    record
}

#[test]
fn attribution_subtracts_the_idle_baseline_and_divides_by_messages() {
    // By hand: 70 J in 10 s against 5 W idle ± 0.3 W, window ± 0.5 W.
    let a = attribute(70.0, 10.0, Some(0.5), 5.0, Some(0.3), 100);
    assert_eq!((a.total, a.idle, a.above_idle), (70.0, 50.0, 20.0));
    assert!((a.rate_above_idle - 2.0).abs() < 1e-12);
    assert!((a.per_message - 0.2).abs() < 1e-12);
    let ci = 1.96 * 10.0 * (0.5f64.powi(2) + 0.3f64.powi(2)).sqrt();
    assert!((a.ci95.expect("ci") - ci).abs() < 1e-12);
    assert!((a.per_message_ci95.expect("ci") - ci / 100.0).abs() < 1e-12);

    let record = synthetic_run();
    let energy = energy_report(&record).expect("power was sampled");
    assert_eq!(energy.baseline_s, Some(10.0));
    let cost = |t: Transport, q: Quantity| {
        energy
            .transports
            .iter()
            .find(|e| e.transport == t)
            .and_then(|e| e.cost(q))
            .and_then(|c| c.measured.clone())
            .expect("measured")
    };
    let (ws, http) = (cost(Transport::Ws, Quantity::Rapl), cost(Transport::Http, Quantity::Rapl));
    assert!((ws.total - 70.0).abs() < 1e-9 && (ws.idle - 50.0).abs() < 1e-9, "{ws:?}");
    assert!((ws.per_message - 0.2).abs() < 1e-9, "(7 − 5) W × 10 s / 100 messages: {ws:?}");
    assert!((http.per_message - 0.7).abs() < 1e-9, "(12 − 5) W × 10 s / 100: {http:?}");
    assert!((http.rate_above_idle - 7.0).abs() < 1e-9);
    // The windows' power is steady; the baseline alternates 4/6 W: sd 1.054, se 0.333.
    let idle_se = (10.0f64 / 9.0).sqrt() / 10f64.sqrt();
    assert!((ws.ci95.expect("ci") - 1.96 * 10.0 * idle_se).abs() < 1e-9, "{ws:?}");
    let cpu = cost(Transport::Http, Quantity::ProcessCpu);
    assert!((cpu.per_message - 0.07).abs() < 1e-12, "(1.2 − 0.5) cores × 10 s / 100: {cpu:?}");

    let (r, ci) = ratio_with_ci(&http, &ws);
    assert!((r - 3.5).abs() < 1e-9);
    let (lo, hi) = ci.expect("interval");
    assert!(lo < 3.5 && 3.5 < hi && lo > 1.0, "{lo}..{hi}");
    let verdict = energy
        .comparisons
        .iter()
        .find(|c| c.quantity == Quantity::Rapl)
        .map(|c| c.verdict.clone())
        .expect("a RAPL comparison");
    assert!(verdict.contains("ws costs 3.50× less per message than http"), "{verdict}");
    let http_energy = energy.transports.iter().find(|t| t.transport == Transport::Http).expect("http");
    assert_eq!(http_energy.peak_memory_bytes, Some(1030));
    assert_eq!(http_energy.battery_drain_pct_per_h, None);
}

#[test]
fn absent_sensors_are_reported_and_exported_as_unavailable_never_zero() {
    let record = synthetic_run();
    let report = analyze(&record, &AnalysisOptions::default());
    let energy = report.energy.as_ref().expect("energy");
    for t in &energy.transports {
        let battery = t.cost(Quantity::Battery).expect("battery row");
        assert!(battery.measured.is_none());
        assert_eq!(battery.unavailable.as_deref(), Some("no battery (fixture)"));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let files = ReportFiles::in_dir(dir.path(), &record.id);
    write_report_files(&files, &record, &report).expect("written");
    let energy_csv = std::fs::read_to_string(&files.energy).expect("energy.csv");
    let battery_rows: Vec<&str> = energy_csv.lines().filter(|l| l.contains(",battery,")).collect();
    assert_eq!(battery_rows.len(), 2, "{energy_csv}");
    for row in battery_rows {
        assert!(row.contains(",unavailable: no battery (fixture),"), "{row}");
        assert!(!row.contains(",0,") && !row.contains(",0.0,"), "no zeros for a missing sensor: {row}");
    }
    let power_csv = std::fs::read_to_string(&files.power).expect("power.csv");
    let lines: Vec<&str> = power_csv.lines().collect();
    assert_eq!(lines.len(), 1 + 31);
    assert!(lines[1].contains(",baseline,") && lines[15].contains(",ws native set 1,"), "{}", lines[15]);
    assert!(lines[1].ends_with(",,,,,,"), "battery cells empty, not zero: {}", lines[1]);
}

#[test]
fn a_battery_on_external_power_does_not_count_as_consumption() {
    let mut record = synthetic_run();
    let trace = record.power.as_mut().expect("trace");
    trace.sensors[2].unavailable = None;
    for (i, s) in trace.samples.iter_mut().enumerate() {
        s.battery = Some(BatteryReading {
            state: if i == 3 { BatteryState::Charging } else { BatteryState::Discharging },
            percent: Some(90.0 - i as f64 * 0.01),
            energy_wh: Some(50.0),
            power_w: Some(9.0),
            voltage_v: Some(12.0),
            temperature_c: None,
        });
    }
    let energy = energy_report(&record).expect("energy");
    let battery = energy.transports[0].cost(Quantity::Battery).expect("row");
    assert!(battery.unavailable.as_deref().is_some_and(|r| r.contains("charging")), "{battery:?}");

    // All discharging: 9 W steady, drain 0.01 % per second = 36 %/h.
    for s in &mut record.power.as_mut().expect("trace").samples {
        if let Some(b) = &mut s.battery {
            b.state = BatteryState::Discharging;
        }
    }
    let energy = energy_report(&record).expect("energy");
    let ws = energy.transports.iter().find(|t| t.transport == Transport::Ws).expect("ws");
    let battery = ws.cost(Quantity::Battery).and_then(|c| c.measured.clone()).expect("measured");
    assert!((battery.total - 90.0).abs() < 1e-9, "9 W × 10 s: {battery:?}");
    assert!(battery.above_idle.abs() < 1e-9, "no more than idle");
    assert!((ws.battery_drain_pct_per_h.expect("drain") - 36.0).abs() < 1e-6);
    let verdict = &energy.comparisons.iter().find(|c| c.quantity == Quantity::Battery).expect("cmp").verdict;
    assert!(verdict.contains("cannot be told from idle"), "{verdict}");
}

#[test]
fn the_energy_plan_sizes_itself_by_minutes_per_transport() {
    let plan = Plan::preset("energy").expect("energy preset");
    assert_eq!((plan.rate, plan.sets, plan.calls), (Some(10.0), 2, 600), "2 minutes at 10 msg/s");
    assert_eq!(plan.power.baseline_ms, 120_000, "an idle baseline as long as one transport");
    let five = plan.with_minutes_per_transport(5.0).expect("5 minutes");
    assert_eq!((five.calls, five.power.baseline_ms), (1500, 300_000));
    let unpaced = Plan { rate: None, interval_ms: 0.0, ..Plan::default() };
    assert!(unpaced.with_minutes_per_transport(1.0).is_err(), "back to back has no duration");
    let bad = Plan { power: PowerSettings { sample_ms: 5, baseline_ms: 0 }, ..Plan::default() };
    assert!(bad.check().is_err(), "sampling faster than 20 ms is refused");
}

#[tokio::test]
async fn a_real_run_records_cpu_and_memory_beside_its_samples() {
    let mut plan = small_plan(&[Transport::Ws, Transport::Http]);
    plan.calls = 300;
    plan.power = PowerSettings { sample_ms: 25, baseline_ms: 300 };
    let record = run_embedded(plan).await;
    let trace = record.power.as_ref().expect("power was sampled");
    let cpu = trace.sensor("cpu").expect("cpu sensor");
    if crate::util::under_wine() {
        // The sensor says why, and the run is whole without it.
        assert!(cpu.describe().starts_with("unavailable: running under Wine"), "{cpu:?}");
        assert_eq!(record.status, duplex_core::record::RunStatus::Complete);
        assert!(trace.samples.iter().all(|s| s.process_cpu_s.is_none()), "never a made-up reading");
        return;
    }
    assert!(cpu.is_available(), "{cpu:?}");
    assert!(trace.sensors.iter().all(|s| s.is_available() || s.describe().starts_with("unavailable: ")));
    assert!(trace.samples.len() >= 12, "{} readings", trace.samples.len());
    let baseline = trace.baseline.expect("baseline window");
    assert!(baseline.seconds() >= 0.3);
    let cpu_s: Vec<f64> = trace.samples.iter().map(|s| s.process_cpu_s.expect("cpu read")).collect();
    assert!(cpu_s.windows(2).all(|w| w[1] >= w[0]), "CPU time never goes back: {cpu_s:?}");
    assert!(cpu_s[cpu_s.len() - 1] > cpu_s[0], "the run used CPU");
    assert!(trace.samples.iter().all(|s| s.process_memory_bytes.is_some_and(|m| m > 1 << 20)));
    let first_block = record.blocks.iter().map(|b| b.started_at_unix_ns).min().expect("blocks");
    assert!(first_block >= baseline.end_unix_ns, "traffic only after the baseline");
    let energy = energy_report(&record).expect("energy");
    for t in &energy.transports {
        let c = t.cost(Quantity::ProcessCpu).and_then(|c| c.measured.clone()).expect("CPU measured");
        assert!(c.total > 0.0 && c.per_message > 0.0, "{:?}: {c:?}", t.transport);
    }
}
