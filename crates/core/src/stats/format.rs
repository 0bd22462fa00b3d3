//! How the statistics read: p-values, microseconds and bytes with a sensible unit, ratios. (Who
//! measured what is `ClientKind::label`.) The CLI's text, the reports' word fields and so the app's pages all read
//! these; the page's own live figures follow the same rules, checked against them by a shared
//! fixture (`ui/src/bindings/words.json`).

/// "p < 0.001" or "p = 0.042".
pub fn format_p(p: f64) -> String {
    if p < 0.001 { "p < 0.001".into() } else { format!("p = {p:.3}") }
}

/// Formats microseconds with a sensible unit.
pub fn format_us(us: f64) -> String {
    if us >= 10_000.0 {
        format!("{:.1} ms", us / 1e3)
    } else if us >= 1_000.0 {
        format!("{:.2} ms", us / 1e3)
    } else {
        format!("{us:.1} µs")
    }
}

/// Bytes with a sensible binary unit: "812 B", "1.0 KiB" (from 1,024 B), "1.5 MiB".
pub fn format_bytes(b: f64) -> String {
    if !b.is_finite() {
        return "—".into();
    }
    match b {
        b if b >= 1_048_576.0 => format!("{:.1} MiB", b / 1_048_576.0),
        b if b >= 1024.0 => format!("{:.1} KiB", b / 1024.0),
        b => format!("{b:.0} B"),
    }
}

/// A ratio: "2.10×", or "—" when there is none.
pub fn format_ratio(r: f64) -> String {
    if r.is_finite() { format!("{r:.2}×") } else { "—".into() }
}

/// A ratio of medians, or the bound there is ("≥ 3.0×") when one median is below its clock
/// step, or "—".
pub fn format_median_ratio(ratio: Option<f64>, at_least: Option<f64>) -> String {
    match (ratio, at_least) {
        (Some(r), _) if r.is_finite() => format_ratio(r),
        (_, Some(b)) if b.is_finite() => format!("≥ {b:.1}×"),
        _ => "—".into(),
    }
}

/// A count with thousands separated: "2,600", "1,000,000".
pub fn format_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `lost` of `of` as a share: "3.9 % lost"; empty when none was lost.
pub fn format_loss(lost: u64, of: u64) -> String {
    match lost {
        0 => String::new(),
        _ => format!("{:.1} % lost", 100.0 * lost as f64 / of.max(1) as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_and_ratios_read_as_every_view_shows_them() {
        assert_eq!(format_bytes(1023.0), "1023 B");
        assert_eq!(format_bytes(1024.0), "1.0 KiB");
        assert_eq!(format_bytes(3.0 * 1_048_576.0), "3.0 MiB");
        assert_eq!(format_bytes(f64::NAN), "—");
        assert_eq!(format_ratio(1.5), "1.50×");
        assert_eq!(format_ratio(f64::INFINITY), "—");
        assert_eq!(format_median_ratio(Some(2.0), None), "2.00×");
        assert_eq!(format_median_ratio(None, Some(3.0)), "≥ 3.0×");
        assert_eq!(format_median_ratio(None, None), "—");
    }

    #[test]
    fn counts_group_their_thousands() {
        assert_eq!(format_count(2600), "2,600");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(1_000_000), "1,000,000");
    }
}
