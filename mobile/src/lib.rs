//! Duplex's battery on Android: a Tauri mobile plugin whose Kotlin half (`android/`) reads
//! `BatteryManager` and whose Rust half is a [`duplex_model::power::Sensor`], so the engine's
//! power monitor reads a phone's battery like any other source. On other platforms the plugin
//! does nothing and [`probe`] says so.

use duplex_model::power::Probe;
use tauri::plugin::{Builder, TauriPlugin};
use tauri::{AppHandle, Runtime};

#[cfg(target_os = "android")]
mod android;
mod reading;

pub use reading::AndroidBattery;

pub const PLUGIN_NAME: &str = "duplex-battery";

/// The plugin: registers the Kotlin class on Android.
pub fn init<R: Runtime>() -> TauriPlugin<R> {
    Builder::new(PLUGIN_NAME)
        .setup(|_app, _api| {
            #[cfg(target_os = "android")]
            {
                use tauri::Manager as _;
                let handle = _api.register_android_plugin("dev.duplex.battery", "BatteryPlugin")?;
                _app.manage(android::Handle(handle));
            }
            Ok(())
        })
        .build()
}

/// The phone's battery as a power sensor, or why it cannot be read.
pub fn probe<R: Runtime>(app: &AppHandle<R>) -> Probe {
    #[cfg(target_os = "android")]
    return android::probe(app);
    #[cfg(not(target_os = "android"))]
    {
        let _ = app;
        Err(duplex_model::power::Unavailable {
            sensor: "battery",
            reason: "BatteryManager exists on Android only".into(),
        })
    }
}
