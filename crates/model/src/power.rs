//! Power, energy and CPU readings as a run records them: what was sampled, by which sensor, and
//! why a sensor was unavailable. The sensors themselves are the engine's (`duplex-core`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// How power is sampled during a run (part of the plan).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PowerSettings {
    /// Period of the sensor readings, ms (0 = do not sample power).
    pub sample_ms: u64,
    /// Idle baseline before the run, ms, subtracted from every transport (0 = none).
    pub baseline_ms: u64,
}

impl Default for PowerSettings {
    fn default() -> Self {
        PowerSettings { sample_ms: 200, baseline_ms: 2_000 }
    }
}

impl PowerSettings {
    pub const OFF: PowerSettings = PowerSettings { sample_ms: 0, baseline_ms: 0 };
    /// Fastest sampling allowed: sensors cost CPU themselves.
    pub const MIN_SAMPLE_MS: u64 = 20;

    pub fn enabled(&self) -> bool {
        self.sample_ms > 0
    }
}

/// Every sensor's reading at one instant. Counters are cumulative since the monitor started;
/// `None` means not read (sensor unavailable or a failed read), never zero.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, TS, JsonSchema)]
pub struct PowerSample {
    pub at_unix_ns: i64,
    /// CPU time of this process and its children (the web view's processes), seconds.
    pub process_cpu_s: Option<f64>,
    /// Busy CPU time of the whole machine, all cores, seconds.
    pub system_cpu_s: Option<f64>,
    /// Resident memory of this process and its children, bytes.
    pub process_memory_bytes: Option<u64>,
    /// RAPL energy of the CPU packages (or the platform, where `psys` exists), joules.
    pub rapl_j: Option<f64>,
    pub battery: Option<BatteryReading>,
}

/// A time span on the wall clock (Unix ns), e.g. the idle baseline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct TimeWindow {
    pub start_unix_ns: i64,
    pub end_unix_ns: i64,
}

impl TimeWindow {
    pub fn seconds(&self) -> f64 {
        (self.end_unix_ns - self.start_unix_ns) as f64 / 1e9
    }
}

/// What one sensor was and how it went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct SensorStatus {
    /// "cpu", "rapl" or "battery".
    pub sensor: String,
    /// Where it read from, e.g. "sysinfo", "/sys/class/powercap (package-0)".
    pub source: String,
    /// Why it could not be used at all; None when it was read.
    pub unavailable: Option<String>,
    /// Readings that failed during the run, and the last reason.
    pub failed_reads: u64,
    pub last_error: Option<String>,
}

impl SensorStatus {
    /// A sensor that could not be used at all.
    pub fn unavailable(sensor: &str, reason: String) -> SensorStatus {
        SensorStatus {
            sensor: sensor.to_owned(),
            source: String::new(),
            unavailable: Some(reason),
            failed_reads: 0,
            last_error: None,
        }
    }

    pub fn is_available(&self) -> bool {
        self.unavailable.is_none()
    }

    /// "unavailable: <reason>" or the source, for tables and CSV cells.
    pub fn describe(&self) -> String {
        match &self.unavailable {
            Some(reason) => format!("unavailable: {reason}"),
            None => self.source.clone(),
        }
    }
}

/// Everything the power monitor recorded during one run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, TS, JsonSchema)]
pub struct PowerTrace {
    pub sample_ms: u64,
    pub sensors: Vec<SensorStatus>,
    /// The idle period before the run, if one was measured.
    pub baseline: Option<TimeWindow>,
    pub samples: Vec<PowerSample>,
}

impl PowerTrace {
    pub fn sensor(&self, name: &str) -> Option<&SensorStatus> {
        self.sensors.iter().find(|s| s.sensor == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BatteryState {
    Charging,
    Discharging,
    Full,
    NotCharging,
    Unknown,
}

impl BatteryState {
    pub fn name(self) -> &'static str {
        match self {
            BatteryState::Charging => "charging",
            BatteryState::Discharging => "discharging",
            BatteryState::Full => "full",
            BatteryState::NotCharging => "not-charging",
            BatteryState::Unknown => "unknown",
        }
    }

    /// Parses the words operating systems use ("Discharging", "Not charging", ...).
    pub fn parse(text: &str) -> BatteryState {
        match text.trim().to_ascii_lowercase().replace([' ', '_'], "-").as_str() {
            "charging" => BatteryState::Charging,
            "discharging" => BatteryState::Discharging,
            "full" => BatteryState::Full,
            "not-charging" => BatteryState::NotCharging,
            _ => BatteryState::Unknown,
        }
    }
}

/// One reading of the battery (all batteries together where there are several).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct BatteryReading {
    pub state: BatteryState,
    /// State of charge, 0–100.
    pub percent: Option<f64>,
    /// Energy stored now, Wh.
    pub energy_wh: Option<f64>,
    /// Power flowing out of (discharging) or into (charging) the battery, W, always ≥ 0.
    pub power_w: Option<f64>,
    pub voltage_v: Option<f64>,
    pub temperature_c: Option<f64>,
}

/// A source of readings (the engine's CPU, RAPL and battery sensors, the Android plugin's
/// BatteryManager). Implementations fill their own fields of the sample.
pub trait Sensor: Send {
    /// "cpu", "rapl" or "battery".
    fn name(&self) -> &'static str;
    /// Where it reads from, for the report.
    fn source(&self) -> String;
    /// Reads now into `sample`; an error leaves the fields `None` and is counted.
    fn read(&mut self, sample: &mut PowerSample) -> Result<(), String>;
}

/// A sensor that could not be opened, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Unavailable {
    pub sensor: &'static str,
    pub reason: String,
}

/// The result of looking for a sensor.
pub type Probe = Result<Box<dyn Sensor>, Unavailable>;
