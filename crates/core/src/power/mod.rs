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
    BatteryReading, BatteryState, PowerSample, PowerSettings, PowerTrace, Probe, Sensor, SensorStatus,
    TimeWindow, Unavailable,
};
pub use monitor::PowerMonitor;

/// The sensors this platform offers: CPU, RAPL and the battery. (On Android the app adds the
/// BatteryManager sensor from its plugin instead of the battery probe here.)
pub fn default_sensors() -> Vec<Probe> {
    vec![
        cpu::CpuSensor::probe(),
        rapl::Rapl::probe(std::path::Path::new(rapl::POWERCAP_ROOT)),
        battery::probe(),
    ]
}
