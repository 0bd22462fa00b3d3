package dev.duplex.battery

import android.app.Activity
import android.content.Context
import android.content.Intent
import android.content.IntentFilter
import android.os.BatteryManager
import app.tauri.annotation.Command
import app.tauri.annotation.TauriPlugin
import app.tauri.plugin.Invoke
import app.tauri.plugin.JSObject
import app.tauri.plugin.Plugin

/** Reads BatteryManager for Duplex's power monitor (the Rust side polls `read`). */
@TauriPlugin
class BatteryPlugin(private val activity: Activity) : Plugin(activity) {
    private val manager = activity.getSystemService(Context.BATTERY_SERVICE) as BatteryManager

    /** A property the device lacks reads as Long.MIN_VALUE (or 0 on some devices): send null. */
    private fun longProperty(id: Int): Long? =
        manager.getLongProperty(id).takeIf { it != Long.MIN_VALUE && it != 0L }

    @Command
    fun read(invoke: Invoke) {
        // The sticky intent carries state, voltage and temperature; no receiver is registered.
        val changed = activity.registerReceiver(null, IntentFilter(Intent.ACTION_BATTERY_CHANGED))
        val extra = { key: String -> changed?.getIntExtra(key, Int.MIN_VALUE)?.takeIf { it != Int.MIN_VALUE } }
        val result = JSObject()
        result.put("currentNowUa", longProperty(BatteryManager.BATTERY_PROPERTY_CURRENT_NOW))
        result.put("energyCounterNwh", longProperty(BatteryManager.BATTERY_PROPERTY_ENERGY_COUNTER))
        result.put("chargeCounterUah", longProperty(BatteryManager.BATTERY_PROPERTY_CHARGE_COUNTER))
        result.put("capacityPercent", manager.getIntProperty(BatteryManager.BATTERY_PROPERTY_CAPACITY).takeIf { it in 0..100 })
        result.put("status", extra(BatteryManager.EXTRA_STATUS))
        result.put("voltageMv", extra(BatteryManager.EXTRA_VOLTAGE))
        result.put("temperatureDecic", extra(BatteryManager.EXTRA_TEMPERATURE))
        invoke.resolve(result)
    }
}
