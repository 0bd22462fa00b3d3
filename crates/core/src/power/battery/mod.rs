//! The battery: state, charge, energy, power, voltage. Linux reads `/sys/class/power_supply`
//! ([`sysfs`]); macOS and Windows use starship-battery; Android reads BatteryManager through
//! the app's plugin, which implements [`super::Sensor`] itself.

#[cfg(any(target_os = "macos", target_os = "windows", target_os = "freebsd"))]
mod starship;
pub mod sysfs;

use super::Probe;
pub use duplex_model::power::{BatteryReading, BatteryState};

/// The battery of this machine, or why there is none to read.
pub fn probe() -> Probe {
    #[cfg(target_os = "linux")]
    return sysfs::SysfsBattery::probe(std::path::Path::new(sysfs::POWER_SUPPLY_ROOT));
    #[cfg(any(target_os = "macos", target_os = "windows", target_os = "freebsd"))]
    return starship::StarshipBattery::probe();
    #[cfg(target_os = "android")]
    return Err(super::Unavailable {
        sensor: "battery",
        reason: "read through the app's BatteryManager plugin on Android".into(),
    });
    #[allow(unreachable_code)]
    Err(super::Unavailable { sensor: "battery", reason: "no battery support on this platform".into() })
}
