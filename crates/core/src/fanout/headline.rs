//! A fan-out report in one sentence, made once for the terminal and the app.

use super::FanoutCell;
use crate::stats::format::{format_count, format_us};

/// At the most subscribers: who reaches the last one first, and the others' times beside it.
pub fn headline(cells: &[FanoutCell]) -> String {
    let n = cells.iter().map(|c| c.subscribers).max().unwrap_or(0);
    let at_n: Vec<&FanoutCell> = cells.iter().filter(|c| c.subscribers == n && c.last_us.is_some()).collect();
    let Some(fastest) =
        at_n.iter().min_by(|a, b| a.last_us.partial_cmp(&b.last_us).unwrap_or(std::cmp::Ordering::Equal))
    else {
        return "No broadcast reached every subscriber.".to_owned();
    };
    let first = fastest.last_us.unwrap_or(0.0);
    let others: Vec<String> = at_n
        .iter()
        .filter(|c| c.transport != fastest.transport)
        .filter_map(|c| {
            let last = c.last_us?;
            Some(format!(
                "{} {} ({:.1}×)",
                c.transport.name(),
                format_us(last),
                last / first.max(f64::MIN_POSITIVE)
            ))
        })
        .collect();
    let others = if others.is_empty() { String::new() } else { format!("; {}", others.join(", ")) };
    format!(
        "At {} subscribers the last one has a {} event after {}{others}.",
        format_count(u64::from(n)),
        fastest.transport.name(),
        format_us(first)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use duplex_clients::Transport;

    fn cell(transport: Transport, subscribers: u32, last_us: Option<f64>) -> FanoutCell {
        FanoutCell {
            transport,
            subscribers,
            connect_s: 0.0,
            broadcasts: 1,
            delivered: u64::from(subscribers),
            missed: 0,
            p50_us: last_us,
            p99_us: last_us,
            last_us,
            worst_us: last_us,
            server_cpu_us: None,
            server_cpu_per_delivery_us: None,
            bytes_per_event: None,
            errors: Default::default(),
            each: Vec::new(),
            over_floor: None,
            words: Default::default(),
        }
    }

    #[test]
    fn the_headline_names_who_reaches_the_last_subscriber_first_at_the_most_subscribers() {
        let cells = [
            cell(Transport::WsPush, 100, Some(100.0)),
            cell(Transport::WsPush, 1000, Some(2000.0)),
            cell(Transport::Sse, 1000, Some(1500.0)),
            cell(Transport::LongPoll, 1000, Some(6000.0)),
        ];
        assert_eq!(
            headline(&cells),
            "At 1,000 subscribers the last one has a sse event after 1.50 ms; ws-push 2.00 ms (1.3×), long-poll 6.00 ms (4.0×)."
        );
        assert_eq!(headline(&[cell(Transport::Sse, 10, None)]), "No broadcast reached every subscriber.");
        assert_eq!(headline(&[]), "No broadcast reached every subscriber.");
    }
}
