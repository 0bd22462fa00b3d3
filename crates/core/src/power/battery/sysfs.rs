//! Linux batteries from `/sys/class/power_supply/*`: units are µWh, µAh, µW, µA, µV and
//! tenths of °C; drivers report either energy/power or charge/current, so both are read.

use std::path::{Path, PathBuf};

use super::{BatteryReading, BatteryState};
use crate::power::{PowerSample, Probe, Sensor, Unavailable};

pub const POWER_SUPPLY_ROOT: &str = "/sys/class/power_supply";

pub struct SysfsBattery {
    root: PathBuf,
    batteries: Vec<PathBuf>,
}

fn read_text(dir: &Path, file: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(file)).ok().map(|s| s.trim().to_owned())
}

/// A number in micro-units, as a float in base units (µWh → Wh, µV → V, ...).
fn read_micro(dir: &Path, file: &str) -> Option<f64> {
    read_text(dir, file)?.parse::<f64>().ok().map(|v| v.abs() / 1e6)
}

impl SysfsBattery {
    /// The system batteries under `root` (not a mouse's or a headset's: `scope` = Device).
    pub fn probe(root: &Path) -> Probe {
        let unavailable = |reason: String| Unavailable { sensor: "battery", reason };
        let entries = std::fs::read_dir(root)
            .map_err(|e| unavailable(format!("cannot list {}: {e}", root.display())))?;
        let mut batteries: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| read_text(p, "type").as_deref() == Some("Battery"))
            .filter(|p| read_text(p, "scope").as_deref() != Some("Device"))
            .collect();
        batteries.sort();
        if batteries.is_empty() {
            return Err(unavailable(format!(
                "no battery under {} (a desktop, a server or a VM)",
                root.display()
            )));
        }
        let sensor = SysfsBattery { root: root.to_owned(), batteries };
        sensor.reading().map_err(unavailable)?;
        Ok(Box::new(sensor))
    }

    fn read_one(dir: &Path) -> Result<BatteryReading, String> {
        if read_text(dir, "present").as_deref() == Some("0") {
            return Err(format!("{} is not present", dir.display()));
        }
        let voltage_v = read_micro(dir, "voltage_now");
        let energy_wh =
            read_micro(dir, "energy_now").or_else(|| Some(read_micro(dir, "charge_now")? * voltage_v?));
        let power_w =
            read_micro(dir, "power_now").or_else(|| Some(read_micro(dir, "current_now")? * voltage_v?));
        let percent = read_text(dir, "capacity").and_then(|c| c.parse::<f64>().ok());
        if energy_wh.is_none() && power_w.is_none() && percent.is_none() {
            return Err(format!("{} reports neither charge, energy nor power", dir.display()));
        }
        Ok(BatteryReading {
            state: read_text(dir, "status").map_or(BatteryState::Unknown, |s| BatteryState::parse(&s)),
            percent,
            energy_wh,
            power_w,
            voltage_v,
            temperature_c: read_text(dir, "temp").and_then(|t| t.parse::<f64>().ok()).map(|t| t / 10.0),
        })
    }

    /// All batteries as one: energies and powers add up, the charge is energy-weighted.
    fn reading(&self) -> Result<BatteryReading, String> {
        let readings = self.batteries.iter().map(|b| Self::read_one(b)).collect::<Result<Vec<_>, _>>()?;
        Ok(combine(&readings))
    }
}

fn sum(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    values.sum()
}

/// Several batteries as one reading. A state they do not share is `Unknown`, except that any
/// discharging battery makes the machine discharge.
pub fn combine(readings: &[BatteryReading]) -> BatteryReading {
    let state = if readings.iter().any(|r| r.state == BatteryState::Discharging) {
        BatteryState::Discharging
    } else if readings.windows(2).all(|w| w[0].state == w[1].state) {
        readings.first().map_or(BatteryState::Unknown, |r| r.state)
    } else {
        BatteryState::Unknown
    };
    let energy_wh = sum(readings.iter().map(|r| r.energy_wh));
    let percent = match readings {
        [one] => one.percent,
        _ => {
            let weights =
                sum(readings.iter().map(|r| r.energy_wh.zip(r.percent).map(|(e, p)| e / p.max(1e-9))));
            energy_wh.zip(weights).map(|(e, full)| 100.0 * e / full)
        }
    };
    BatteryReading {
        state,
        percent,
        energy_wh,
        power_w: sum(readings.iter().map(|r| r.power_w)),
        voltage_v: readings.first().and_then(|r| r.voltage_v),
        temperature_c: readings.iter().filter_map(|r| r.temperature_c).reduce(f64::max),
    }
}

impl Sensor for SysfsBattery {
    fn name(&self) -> &'static str {
        "battery"
    }

    fn source(&self) -> String {
        let names: Vec<String> = self
            .batteries
            .iter()
            .filter_map(|b| b.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        format!("{} ({})", self.root.display(), names.join(" + "))
    }

    fn read(&mut self, sample: &mut PowerSample) -> Result<(), String> {
        sample.battery = Some(self.reading()?);
        Ok(())
    }
}
