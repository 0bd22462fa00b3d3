//! CSV files of a run: raw samples, the summary (overall and per set) and the comparisons.
//! Columns are documented in docs/reports.md; every file has a header row and opens cleanly in a
//! spreadsheet. Samples can be read back ([`read_samples`]), with line numbers in errors.

mod power;
mod samples;
mod summary;

use std::io::Write;

use serde::Serialize;

use super::ExportError;

pub use power::{write_energy, write_monitor_session, write_power};
pub use samples::{SAMPLE_COLUMNS, read_samples, write_samples};
pub use summary::{write_comparisons, write_fanout, write_platform_comparison, write_summary, write_sweep};

/// Writes rows whose nested structs are flattened (which the csv crate cannot serialise
/// itself), the header taken from the first row's field names, every float as [`decimal`].
fn write_flat<W: Write, T: Serialize>(out: W, rows: impl Iterator<Item = T>) -> Result<(), ExportError> {
    write_flat_or(out, rows, &[])
}

/// [`write_flat`], with `columns` as the header when there are no rows.
fn write_flat_or<W: Write, T: Serialize>(
    out: W,
    rows: impl Iterator<Item = T>,
    columns: &[&str],
) -> Result<(), ExportError> {
    let mut w = csv::Writer::from_writer(out);
    let mut any = false;
    for (i, row) in rows.enumerate() {
        let values = flat_values(&row)?;
        if i == 0 {
            w.write_record(values.iter().map(|(k, _)| k.as_str()))?;
        }
        w.write_record(values.iter().map(|(_, v)| v.as_str()))?;
        any = true;
    }
    if !any && !columns.is_empty() {
        w.write_record(columns)?;
    }
    w.flush()?;
    Ok(())
}

/// A float as a CSV cell: microseconds with three decimals (nanosecond precision, nothing
/// lost, no float noise such as 788.2750299999997), anything else to six significant digits.
fn decimal(column: &str, x: f64) -> String {
    if column.ends_with("_us") {
        format!("{x:.3}")
    } else if x == 0.0 || !x.is_finite() {
        x.to_string()
    } else {
        let digits = (5 - x.abs().log10().floor() as i32).clamp(0, 12) as usize;
        let text = format!("{x:.digits$}");
        if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_owned() } else { text }
    }
}

/// A struct's fields as (column, text) in declaration order, flattening nested structs.
fn flat_values<T: Serialize>(row: &T) -> Result<Vec<(String, String)>, ExportError> {
    let value = serde_json::to_value(row).map_err(|e| ExportError::Format(e.to_string()))?;
    let serde_json::Value::Object(map) = value else {
        return Err(ExportError::Format("a report row is not a record".into()));
    };
    Ok(map
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) if !(n.is_i64() || n.is_u64()) => {
                    decimal(&k, n.as_f64().unwrap_or(f64::NAN))
                }
                other => other.to_string(),
            };
            (k, text)
        })
        .collect())
}
