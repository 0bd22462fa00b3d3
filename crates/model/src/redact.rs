//! Secrets out of every text Duplex keeps or shows: an access token is written `token=…`
//! wherever it appears — in a URL, an error message, a note — whether the text parses as a URL
//! or not.

/// `text` with the value of every `token=` parameter replaced by `…`. A value ends at `&`, `#`, `;`, `,`,
/// whitespace, a quote or a closing bracket.
pub fn redact(text: &str) -> String {
    const KEY: &str = "token=";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = find_key(rest, KEY) {
        let value_start = at + KEY.len();
        out.push_str(&rest[..value_start]);
        let value = &rest[value_start..];
        let end = value
            .find(|c: char| {
                matches!(c, '&' | '#' | ';' | ',' | '"' | '\'' | ')' | ']' | '>' | '<') || c.is_whitespace()
            })
            .unwrap_or(value.len());
        if end > 0 {
            out.push('…');
        }
        rest = &value[end..];
    }
    out.push_str(rest);
    out
}

/// The next `key` that starts a parameter (at the text's start or after `?`, `&`, `;`,
/// whitespace or a quote), case-insensitive.
fn find_key(text: &str, key: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(key) {
        let at = from + i;
        let starts = at == 0
            || matches!(text.as_bytes()[at - 1], b'?' | b'&' | b';' | b' ' | b'\'' | b'"' | b'\t' | b'\n');
        if starts {
            return Some(at);
        }
        from = at + key.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn tokens_are_redacted_wherever_they_are() {
        assert_eq!(redact("http://h:9000/?token=abc123&x=1"), "http://h:9000/?token=…&x=1");
        assert_eq!(
            redact("cannot connect to ws://h/ws?token=s3cr3t: refused"),
            "cannot connect to ws://h/ws?token=s3cr3t: refused".replace("s3cr3t:", "…")
        );
        assert_eq!(redact("http://a:66000?TOKEN=abc"), "http://a:66000?TOKEN=…");
        assert_eq!(redact("'http://h/?token=abc' failed"), "'http://h/?token=…' failed");
        assert_eq!(redact("no secrets here, mytoken=abc"), "no secrets here, mytoken=abc");
        assert_eq!(redact("token=abc; token=def"), "token=…; token=…");
        assert_eq!(redact("token="), "token=");
    }
}
