//! macOS, Windows and FreeBSD batteries through starship-battery.
//!
//! starship-battery's macOS source holds IOKit handles that are not `Send`, while a [`Sensor`]
//! moves to the power monitor's thread. So the manager and its batteries live on a thread of
//! their own for the sensor's whole life, and the sensor asks that thread for each reading.
//! The thread ends when the sensor is dropped (its request channel closes).

use std::sync::mpsc;

use starship_battery::units::electric_potential::volt;
use starship_battery::units::energy::watt_hour;
use starship_battery::units::power::watt;
use starship_battery::units::ratio::percent;
use starship_battery::units::thermodynamic_temperature::degree_celsius;
use starship_battery::{Battery, Manager, State};

use super::sysfs::combine;
use super::{BatteryReading, BatteryState};
use crate::power::{PowerSample, Probe, Sensor, Unavailable};

type Reply = mpsc::SyncSender<Result<BatteryReading, String>>;

pub struct StarshipBattery {
    requests: mpsc::Sender<Reply>,
    count: usize,
}

impl StarshipBattery {
    pub fn probe() -> Probe {
        let unavailable = |reason: String| Unavailable { sensor: "battery", reason };
        let (opened_tx, opened) = mpsc::sync_channel(1);
        let (requests, incoming) = mpsc::channel::<Reply>();
        std::thread::Builder::new()
            .name("duplex-battery".into())
            .spawn(move || {
                let (manager, mut batteries) = match open() {
                    Ok(found) => found,
                    Err(reason) => {
                        let _ = opened_tx.send(Err(reason));
                        return;
                    }
                };
                let _ = opened_tx.send(Ok(batteries.len()));
                while let Ok(reply) = incoming.recv() {
                    let _ = reply.send(read_all(&manager, &mut batteries));
                }
            })
            .map_err(|e| unavailable(format!("cannot start the battery thread: {e}")))?;
        let count = opened
            .recv()
            .map_err(|_| unavailable("the battery thread ended before it opened the batteries".into()))?
            .map_err(unavailable)?;
        Ok(Box::new(StarshipBattery { requests, count }))
    }
}

fn open() -> Result<(Manager, Vec<Battery>), String> {
    let manager = Manager::new().map_err(|e| e.to_string())?;
    let batteries: Vec<Battery> =
        manager.batteries().map_err(|e| e.to_string())?.filter_map(Result::ok).collect();
    if batteries.is_empty() {
        return Err("no battery (a desktop, a server or a VM)".into());
    }
    Ok((manager, batteries))
}

fn read_all(manager: &Manager, batteries: &mut [Battery]) -> Result<BatteryReading, String> {
    for b in batteries.iter_mut() {
        manager.refresh(b).map_err(|e| e.to_string())?;
    }
    Ok(combine(&batteries.iter().map(reading).collect::<Vec<_>>()))
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
        format!("starship-battery ({} batteries)", self.count)
    }

    fn read(&mut self, sample: &mut PowerSample) -> Result<(), String> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.requests.send(reply).map_err(|_| "the battery thread has ended".to_owned())?;
        let reading = answer.recv().map_err(|_| "the battery thread has ended".to_owned())??;
        sample.battery = Some(reading);
        Ok(())
    }
}
