//! The `text/event-stream` format (Server-Sent Events), parsed as the HTML standard's
//! "event stream interpretation" says: lines end with CR LF, LF or CR; `field: value` with one
//! optional space after the colon; `:` starts a comment; a blank line dispatches the event;
//! `data` lines are joined by LF; an event without data is not dispatched. Bytes may arrive in
//! any pieces. An event longer than the limit is an error, so that a server cannot make a
//! client hold unbounded memory.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SseEvent {
    /// The last event ID, as the stream set it (kept across events, as the standard says).
    pub id: Option<String>,
    /// The `event:` type; None means `message`.
    pub event: Option<String>,
    pub data: String,
    /// Bytes of the stream this event took, from the end of the previous one (comments and
    /// keep-alives in between included).
    pub wire_len: usize,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("an event-stream event longer than {0} bytes")]
pub struct TooLong(pub usize);

#[derive(Debug)]
pub struct SseParser {
    max_event_bytes: usize,
    line: Vec<u8>,
    /// A CR ended the last line: an LF right after it belongs to it.
    after_cr: bool,
    started: bool,
    id: Option<String>,
    event: Option<String>,
    data: String,
    has_data: bool,
    pending_bytes: usize,
}

impl SseParser {
    pub fn new(max_event_bytes: usize) -> SseParser {
        SseParser {
            max_event_bytes,
            line: Vec::new(),
            after_cr: false,
            started: false,
            id: None,
            event: None,
            data: String::new(),
            has_data: false,
            pending_bytes: 0,
        }
    }

    /// Takes the next bytes of the stream; returns the events they complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<SseEvent>, TooLong> {
        let mut events = Vec::new();
        for &b in bytes {
            self.pending_bytes += 1;
            if self.after_cr && b == b'\n' {
                self.after_cr = false;
                continue;
            }
            self.after_cr = b == b'\r';
            if b == b'\r' || b == b'\n' {
                let line = std::mem::take(&mut self.line);
                if let Some(event) = self.line_done(&line) {
                    events.push(event);
                }
            } else {
                self.line.push(b);
            }
            if self.pending_bytes > self.max_event_bytes {
                return Err(TooLong(self.max_event_bytes));
            }
        }
        Ok(events)
    }

    fn line_done(&mut self, line: &[u8]) -> Option<SseEvent> {
        let mut line = String::from_utf8_lossy(line).into_owned();
        if !self.started {
            self.started = true;
            if let Some(rest) = line.strip_prefix('\u{feff}') {
                line = rest.to_owned();
            }
        }
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_str(), ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.event = Some(value.to_owned()),
            "id" if !value.contains('\0') => self.id = Some(value.to_owned()),
            _ => {} // `retry` and unknown fields change nothing a measuring client uses
        }
        None
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        if !self.has_data {
            return None;
        }
        self.has_data = false;
        let wire_len = std::mem::take(&mut self.pending_bytes);
        Some(SseEvent { id: self.id.clone(), event, data: std::mem::take(&mut self.data), wire_len })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_parsed_as_the_standard_says_in_any_pieces() {
        let stream = "\u{feff}: hello\r\nid: 7\r\ndata: {\"a\":1}\r\n\r\nevent: x\ndata:two\ndata: lines\n\n:keep-alive\n\ndata\r\rid: 9\ndata: last\n\n";
        let whole = SseParser::new(1 << 20).feed(stream.as_bytes()).expect("parses");
        let mut pieces = SseParser::new(1 << 20);
        let mut bytewise = Vec::new();
        for b in stream.as_bytes() {
            bytewise.extend(pieces.feed(std::slice::from_ref(b)).expect("parses"));
        }
        assert_eq!(whole, bytewise);
        let data: Vec<&str> = whole.iter().map(|e| e.data.as_str()).collect();
        assert_eq!(data, ["{\"a\":1}", "two\nlines", "", "last"]);
        assert_eq!(whole[0].id.as_deref(), Some("7"));
        assert_eq!(whole[1].event.as_deref(), Some("x"));
        assert_eq!(whole[1].id.as_deref(), Some("7"), "the last event id carries over");
        assert_eq!(whole[3].id.as_deref(), Some("9"));
        assert_eq!(whole.iter().map(|e| e.wire_len).sum::<usize>(), stream.len());
    }

    #[test]
    fn an_endless_event_is_refused() {
        let mut p = SseParser::new(64);
        assert_eq!(p.feed(&[b'x'; 65]), Err(TooLong(64)));
    }
}
