//! Numbers in words for the text outputs.

pub fn ms(x: f64) -> String {
    if x.abs() >= 1000.0 { format!("{:.2} s", x / 1e3) } else { format!("{x:.1} ms") }
}

/// Bytes as every view words them (the engine's rule).
pub use duplex_core::stats::format_bytes as bytes;

pub fn gib(b: u64) -> String {
    format!("{:.1}", b as f64 / 1073741824.0)
}

/// Bytes as MiB with one decimal.
pub fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / 1048576.0)
}
