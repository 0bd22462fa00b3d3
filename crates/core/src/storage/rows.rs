//! A run and its samples as rows, and a status as its name in the database.

use rusqlite::params;

use super::StorageError;
use duplex_model::record::{RunRecord, RunStatus, Sample};

/// Writes one run inside a transaction, replacing an earlier version of it.
pub(super) fn insert(
    tx: &rusqlite::Transaction<'_>,
    record: &RunRecord,
    headline: Option<&str>,
) -> Result<(), StorageError> {
    let meta = serde_json::to_string(&RunRecord { samples: Vec::new(), ..record.clone() })
        .map_err(|e| StorageError::Corrupt { id: record.id.clone(), reason: e.to_string() })?;
    // The transports that ran, in the plan's order, not those planned: a run that failed early
    // lists only what it measured.
    let transports: Vec<&str> = record
        .plan
        .transports
        .iter()
        .filter(|t| record.samples.iter().any(|s| s.transport == **t))
        .map(|t| t.name())
        .collect();
    let mut clients: Vec<&str> = record.samples.iter().map(|s| s.client.name()).collect();
    clients.sort_unstable();
    clients.dedup();
    tx.execute("DELETE FROM runs WHERE id = ?1", [&record.id])?;
    tx.execute(
        "INSERT INTO runs (id, started_at, finished_at, status, plan_name, target, platform, \
             transports, clients, sample_count, headline, meta) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            record.id,
            record.started_at_unix_ns,
            record.finished_at_unix_ns,
            status_name(record.status),
            record.plan.name,
            record.target,
            crate::stats::platforms::platform_label(record),
            transports.join(","),
            clients.join(","),
            record.samples.len() as u64,
            headline,
            meta,
        ],
    )?;
    insert_samples(tx, &record.id, &record.samples)
}

pub(super) fn insert_samples(
    tx: &rusqlite::Transaction<'_>,
    run_id: &str,
    samples: &[Sample],
) -> Result<(), StorageError> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO samples (run_id, transport, client, client_id, set_no, seq, sent_at, \
             latency_ns, send_delay_ns, server_time, bytes_out, bytes_in, error) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?;
    for s in samples {
        insert.execute(params![
            run_id,
            s.transport.name(),
            s.client.name(),
            s.client_id,
            s.set,
            s.seq,
            s.sent_at_unix_ns,
            s.latency_ns,
            s.send_delay_ns,
            s.server_time_unix_ns,
            s.bytes_out,
            s.bytes_in,
            s.error,
        ])?;
    }
    Ok(())
}

/// Whether a process with this id runs now (a run's writer).
pub(super) fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let pid = sysinfo::Pid::from_u32(pid);
    match sysinfo::System::new() {
        Ok(mut system) => {
            system.refresh_processes(sysinfo::ProcessesToUpdate::Some(&[pid]), true);
            system.process(pid).is_some()
        }
        // Cannot tell: leave the run alone rather than cut a live one short.
        Err(_) => true,
    }
}

pub(super) fn status_name(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Complete => "complete",
        RunStatus::Cancelled => "cancelled",
        RunStatus::Failed => "failed",
    }
}

pub(super) fn parse_status(name: &str) -> Option<RunStatus> {
    [RunStatus::Complete, RunStatus::Cancelled, RunStatus::Failed]
        .into_iter()
        .find(|s| status_name(*s) == name)
}
