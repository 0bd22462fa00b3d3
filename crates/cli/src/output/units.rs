//! Numbers in words for the text outputs.

pub fn ms(x: f64) -> String {
    if x.abs() >= 1000.0 { format!("{:.2} s", x / 1e3) } else { format!("{x:.1} ms") }
}

pub fn bytes(b: f64) -> String {
    match b {
        b if b >= 1048576.0 => format!("{:.1} MiB", b / 1048576.0),
        b if b >= 1024.0 => format!("{:.1} KiB", b / 1024.0),
        b => format!("{b:.0} B"),
    }
}

pub fn gib(b: u64) -> String {
    format!("{:.1}", b as f64 / 1073741824.0)
}

/// Bytes as MiB with one decimal.
pub fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / 1048576.0)
}
