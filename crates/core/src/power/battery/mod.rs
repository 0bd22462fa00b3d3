//! The battery: state, charge, energy, power, voltage. Linux reads `/sys/class/power_supply`
//! ([`sysfs`]); macOS and Windows use starship-battery; Android reads BatteryManager through
//! the app's plugin, which implements [`super::Sensor`] itself.

#[cfg(any(target_os = "macos", target_os = "windows", target_os = "freebsd"))]
mod starship;
pub mod sysfs;

use serde::{Deserialize, Serialize};

use super::Probe;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
