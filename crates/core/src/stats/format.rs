//! How the statistics read: p-values and microseconds with a sensible unit.

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

/// How a transport measured by a kind of client is named in words: "http", "xhr (web view)".
pub fn who(transport: duplex_clients::Transport, client: duplex_model::record::ClientKind) -> String {
    match client {
        duplex_model::record::ClientKind::Native => transport.name().to_owned(),
        duplex_model::record::ClientKind::Webview => format!("{} (web view)", transport.name()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_group_their_thousands() {
        assert_eq!(format_count(2600), "2,600");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(1_000_000), "1,000,000");
    }
}
