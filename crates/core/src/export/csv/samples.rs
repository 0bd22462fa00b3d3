//! `samples.csv`: every call of a run, written and read back.

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

use crate::export::ExportError;
use duplex_clients::Transport;
use duplex_model::record::{ClientKind, Sample};

/// One row of `samples.csv`.
#[derive(Debug, Serialize, Deserialize)]
struct SampleRow {
    run_id: String,
    transport: Transport,
    client: ClientKind,
    client_id: u32,
    set: u32,
    seq: u64,
    sent_at_unix_ns: i64,
    latency_ns: u64,
    send_delay_ns: u64,
    server_time_unix_ns: Option<i64>,
    bytes_out: u64,
    bytes_in: u64,
    error: Option<String>,
}

pub const SAMPLE_COLUMNS: [&str; 13] = [
    "run_id",
    "transport",
    "client",
    "client_id",
    "set",
    "seq",
    "sent_at_unix_ns",
    "latency_ns",
    "send_delay_ns",
    "server_time_unix_ns",
    "bytes_out",
    "bytes_in",
    "error",
];

pub fn write_samples<W: Write>(out: W, run_id: &str, samples: &[Sample]) -> Result<(), ExportError> {
    let mut w = csv::Writer::from_writer(out);
    for s in samples {
        w.serialize(SampleRow {
            run_id: run_id.to_owned(),
            transport: s.transport,
            client: s.client,
            client_id: s.client_id,
            set: s.set,
            seq: s.seq,
            sent_at_unix_ns: s.sent_at_unix_ns,
            latency_ns: s.latency_ns,
            send_delay_ns: s.send_delay_ns,
            server_time_unix_ns: s.server_time_unix_ns,
            bytes_out: s.bytes_out,
            bytes_in: s.bytes_in,
            error: s.error.clone(),
        })?;
    }
    if samples.is_empty() {
        w.write_record(SAMPLE_COLUMNS)?;
    }
    w.flush()?;
    Ok(())
}

/// Reads a `samples.csv` back: (run id, samples). A broken file is an error naming the line.
pub fn read_samples<R: Read>(input: R) -> Result<(String, Vec<Sample>), ExportError> {
    let mut r = csv::Reader::from_reader(input);
    let headers = r.headers()?.clone();
    if headers.iter().ne(SAMPLE_COLUMNS) {
        return Err(ExportError::Format(format!(
            "not a Duplex samples file: expected columns {}, found {}",
            SAMPLE_COLUMNS.join(","),
            headers.iter().collect::<Vec<_>>().join(",")
        )));
    }
    let mut run_id = None;
    let mut samples = Vec::new();
    for row in r.deserialize::<SampleRow>() {
        let row = row.map_err(with_line)?;
        match &run_id {
            None => run_id = Some(row.run_id.clone()),
            Some(id) if *id != row.run_id => {
                return Err(ExportError::Format(format!(
                    "line {}: samples of two runs ({id} and {}) in one file",
                    samples.len() + 2,
                    row.run_id
                )));
            }
            Some(_) => {}
        }
        samples.push(Sample {
            transport: row.transport,
            client: row.client,
            client_id: row.client_id,
            set: row.set,
            seq: row.seq,
            sent_at_unix_ns: row.sent_at_unix_ns,
            latency_ns: row.latency_ns,
            send_delay_ns: row.send_delay_ns,
            server_time_unix_ns: row.server_time_unix_ns,
            bytes_out: row.bytes_out,
            bytes_in: row.bytes_in,
            error: row.error.filter(|e| !e.is_empty()),
        });
    }
    Ok((run_id.unwrap_or_default(), samples))
}

/// "line 7: column latency_ns: invalid digit found in string" rather than csv's record and
/// byte positions.
fn with_line(e: ::csv::Error) -> ExportError {
    let line = e.position().map(|p| p.line());
    let what = match e.kind() {
        ::csv::ErrorKind::Deserialize { err, .. } => {
            let field = err.field().and_then(|i| SAMPLE_COLUMNS.get(i as usize));
            match field {
                Some(name) => format!("column {name}: {}", err.kind()),
                None => err.kind().to_string(),
            }
        }
        ::csv::ErrorKind::UnequalLengths { len, expected_len, .. } => {
            format!("{len} fields where {expected_len} were expected")
        }
        _ => e.to_string(),
    };
    match line {
        Some(line) => ExportError::Format(format!("line {line}: {what}")),
        None => ExportError::Format(what),
    }
}
