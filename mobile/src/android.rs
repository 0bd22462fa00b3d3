//! The Kotlin plugin's handle and the sensor that calls it.

use duplex_model::power::{PowerSample, Probe, Sensor, Unavailable};
use tauri::plugin::PluginHandle;
use tauri::{AppHandle, Manager, Runtime};

use crate::reading::AndroidBattery;

pub struct Handle<R: Runtime>(pub PluginHandle<R>);

struct BatterySensor<R: Runtime> {
    handle: PluginHandle<R>,
}

impl<R: Runtime> BatterySensor<R> {
    fn read_now(&self) -> Result<AndroidBattery, String> {
        self.handle.run_mobile_plugin::<AndroidBattery>("read", ()).map_err(|e| e.to_string())
    }
}

pub fn probe<R: Runtime>(app: &AppHandle<R>) -> Probe {
    let unavailable = |reason: String| Unavailable { sensor: "battery", reason };
    let handle = app
        .try_state::<Handle<R>>()
        .ok_or_else(|| unavailable("the battery plugin is not registered".into()))?
        .0
        .clone();
    let sensor = BatterySensor { handle };
    sensor.read_now().map_err(unavailable)?;
    Ok(Box::new(sensor))
}

impl<R: Runtime> Sensor for BatterySensor<R> {
    fn name(&self) -> &'static str {
        "battery"
    }

    fn source(&self) -> String {
        "Android BatteryManager".into()
    }

    fn read(&mut self, sample: &mut PowerSample) -> Result<(), String> {
        sample.battery = Some(self.read_now()?.to_reading());
        Ok(())
    }
}
