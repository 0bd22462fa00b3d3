//! What the Kotlin plugin returns, and its conversion to the engine's battery reading. Kept
//! free of Android APIs so it is tested on any machine.

use duplex_model::power::{BatteryReading, BatteryState};
use serde::Deserialize;

/// `BatteryManager` and the sticky `ACTION_BATTERY_CHANGED` intent, as the plugin sends them.
/// Android answers `Long.MIN_VALUE` / `Integer.MIN_VALUE` for a property a device lacks; the
/// plugin sends those as null.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AndroidBattery {
    /// BATTERY_PROPERTY_CURRENT_NOW, µA (sign differs between devices).
    pub current_now_ua: Option<i64>,
    /// BATTERY_PROPERTY_ENERGY_COUNTER, nWh.
    pub energy_counter_nwh: Option<i64>,
    /// BATTERY_PROPERTY_CHARGE_COUNTER, µAh.
    pub charge_counter_uah: Option<i64>,
    /// BATTERY_PROPERTY_CAPACITY, %.
    pub capacity_percent: Option<i64>,
    /// EXTRA_STATUS: 2 charging, 3 discharging, 4 not charging, 5 full.
    pub status: Option<i64>,
    /// EXTRA_VOLTAGE, mV.
    pub voltage_mv: Option<i64>,
    /// EXTRA_TEMPERATURE, tenths of °C.
    pub temperature_decic: Option<i64>,
}

impl AndroidBattery {
    pub fn to_reading(&self) -> BatteryReading {
        let voltage_v = self.voltage_mv.filter(|v| *v > 0).map(|v| v as f64 / 1e3);
        let energy_wh = self
            .energy_counter_nwh
            .filter(|e| *e > 0)
            .map(|e| e as f64 / 1e9)
            .or_else(|| Some(self.charge_counter_uah.filter(|c| *c > 0)? as f64 / 1e6 * voltage_v?));
        BatteryReading {
            state: match self.status {
                Some(2) => BatteryState::Charging,
                Some(3) => BatteryState::Discharging,
                Some(4) => BatteryState::NotCharging,
                Some(5) => BatteryState::Full,
                _ => BatteryState::Unknown,
            },
            percent: self.capacity_percent.filter(|p| (0..=100).contains(p)).map(|p| p as f64),
            energy_wh,
            power_w: self.current_now_ua.zip(voltage_v).map(|(i, v)| (i as f64).abs() / 1e6 * v),
            voltage_v,
            temperature_c: self.temperature_decic.map(|t| t as f64 / 10.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_discharging_phone_reading_converts_to_si_units() {
        let json = r#"{"currentNowUa": -412000, "energyCounterNwh": null, "chargeCounterUah": 2500000,
            "capacityPercent": 63, "status": 3, "voltageMv": 3850, "temperatureDecic": 312}"#;
        let r = serde_json::from_str::<AndroidBattery>(json).expect("parses").to_reading();
        assert_eq!(r.state, BatteryState::Discharging);
        assert_eq!(r.percent, Some(63.0));
        assert!((r.power_w.expect("power") - 0.412 * 3.85).abs() < 1e-9);
        assert!((r.energy_wh.expect("energy") - 2.5 * 3.85).abs() < 1e-9, "charge × voltage");
        assert_eq!(r.temperature_c, Some(31.2));
    }

    #[test]
    fn missing_properties_stay_unknown_not_zero() {
        let r = AndroidBattery {
            current_now_ua: None,
            energy_counter_nwh: Some(i64::MIN),
            charge_counter_uah: None,
            capacity_percent: Some(i64::from(i32::MIN)),
            status: Some(1),
            voltage_mv: None,
            temperature_decic: None,
        }
        .to_reading();
        assert_eq!((r.power_w, r.energy_wh, r.percent), (None, None, None));
        assert_eq!(r.state, BatteryState::Unknown);
    }
}
