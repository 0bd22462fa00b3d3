//! Power, energy and CPU beside every run: sensors read on a timer while the clients work, so
//! each transport's cost can be attributed from the time windows it ran in
//! ([`crate::stats::energy`]). A sensor that does not exist or cannot be read is recorded as
//! unavailable with its reason, never as zeros.
//!
//! Sources: process and system CPU and memory (sysinfo, everywhere), Linux RAPL energy
//! counters ([`rapl`]), the battery ([`battery`]: sysfs on Linux, starship-battery on macOS
//! and Windows, BatteryManager through the app's plugin on Android). Each is a [`Sensor`]: the
//! monitor does not care which one it reads.

pub mod battery;
pub mod cpu;
mod monitor;
pub mod rapl;

pub use duplex_model::power::{
    BatteryReading, BatteryState, PowerSample, PowerSettings, PowerTrace, SensorStatus, TimeWindow,
};
pub use monitor::PowerMonitor;

/// A source of readings. Implementations fill their own fields of the sample.
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

/// The sensors this platform offers: CPU, RAPL and the battery. (On Android the app adds the
/// BatteryManager sensor from its plugin instead of the battery probe here.)
pub fn default_sensors() -> Vec<Probe> {
    vec![
        cpu::CpuSensor::probe(),
        rapl::Rapl::probe(std::path::Path::new(rapl::POWERCAP_ROOT)),
        battery::probe(),
    ]
}
