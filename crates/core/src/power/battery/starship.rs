//! macOS, Windows and FreeBSD batteries through starship-battery.

use starship_battery::units::electric_potential::volt;
use starship_battery::units::energy::watt_hour;
use starship_battery::units::power::watt;
use starship_battery::units::ratio::percent;
use starship_battery::units::thermodynamic_temperature::degree_celsius;
use starship_battery::{Battery, Manager, State};

use super::sysfs::combine;
use super::{BatteryReading, BatteryState};
use crate::power::{PowerSample, Probe, Sensor, Unavailable};

pub struct StarshipBattery {
    manager: Manager,
    batteries: Vec<Battery>,
}

impl StarshipBattery {
    pub fn probe() -> Probe {
        let unavailable = |reason: String| Unavailable { sensor: "battery", reason };
        let manager = Manager::new().map_err(|e| unavailable(e.to_string()))?;
        let batteries: Vec<Battery> =
            manager.batteries().map_err(|e| unavailable(e.to_string()))?.filter_map(Result::ok).collect();
        if batteries.is_empty() {
            return Err(unavailable("no battery (a desktop, a server or a VM)".into()));
        }
        Ok(Box::new(StarshipBattery { manager, batteries }))
    }
}

fn reading(b: &Battery) -> BatteryReading {
    BatteryReading {
        state: match b.state() {
            State::Charging => BatteryState::Charging,
            State::Discharging => BatteryState::Discharging,
            State::Full => BatteryState::Full,
            State::Paused => BatteryState::NotCharging,
            _ => BatteryState::Unknown,
        },
        percent: Some(f64::from(b.state_of_charge().get::<percent>())),
        energy_wh: Some(f64::from(b.energy().get::<watt_hour>())),
        power_w: Some(f64::from(b.energy_rate().get::<watt>()).abs()),
        voltage_v: Some(f64::from(b.voltage().get::<volt>())),
        temperature_c: b.temperature().map(|t| f64::from(t.get::<degree_celsius>())),
    }
}

impl Sensor for StarshipBattery {
    fn name(&self) -> &'static str {
        "battery"
    }

    fn source(&self) -> String {
        format!("starship-battery ({} batteries)", self.batteries.len())
    }

    fn read(&mut self, sample: &mut PowerSample) -> Result<(), String> {
        for b in &mut self.batteries {
            self.manager.refresh(b).map_err(|e| e.to_string())?;
        }
        sample.battery = Some(combine(&self.batteries.iter().map(reading).collect::<Vec<_>>()));
        Ok(())
    }
}
