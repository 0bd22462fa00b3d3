//! Run history in SQLite (WAL mode): one row per run with its metadata as JSON, one row per
//! sample. Every write is one transaction, so a crash never leaves half a write. A run can be
//! written as it is measured ([`RunWriter`]): begun, its samples in batches, saved whole at the
//! end; a run whose process died before the end is recovered with what was written.

mod rows;
mod schema;
mod writer;

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use schemars::JsonSchema;
use serde::Serialize;
use ts_rs::TS;

use duplex_model::record::{RunRecord, RunStatus, Sample};

use rows::{insert, insert_samples, parse_status, process_alive};
use schema::{BUSY_TIMEOUT, LIVE_RUNS, NOTES, SCHEMA, SCHEMA_VERSION};
pub use writer::RunWriter;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("cannot open the history at {path}: {source}")]
    Open { path: String, source: rusqlite::Error },
    #[error("history database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("no run {0:?} in the history")]
    NotFound(String),
    #[error("run {id} in the history is damaged: {reason}")]
    Corrupt { id: String, reason: String },
    #[error("the history was written by a newer Duplex (schema {0}); update Duplex to open it")]
    TooNew(i64),
}

/// One line of the history list.
#[derive(Debug, Clone, PartialEq, Serialize, TS, JsonSchema)]
pub struct RunListItem {
    pub id: String,
    pub started_at_unix_ns: i64,
    pub finished_at_unix_ns: i64,
    pub status: RunStatus,
    pub plan_name: Option<String>,
    pub target: String,
    pub platform: String,
    /// Transport names, in plan order.
    pub transports: Vec<String>,
    /// Client kinds that measured samples.
    pub clients: Vec<String>,
    pub samples: u64,
    /// What was measured, in words: "ws, http · native, webview", or "nothing measured".
    pub measured: String,
    /// The run's result in one line, as given when it was saved.
    pub headline: Option<String>,
    /// A person's name or note for the run (History), if any.
    pub note: Option<String>,
}

/// The longest note kept, in characters.
pub const MAX_NOTE_CHARS: usize = 200;

/// The status of a run whose samples are still being written.
const RUNNING: &str = "running";

/// What an import did: the runs added and those that were already in the history.
#[derive(Debug, Clone, Default, PartialEq, Serialize, TS, JsonSchema)]
pub struct Imported {
    pub added: Vec<String>,
    pub already_here: Vec<String>,
}

pub struct History {
    conn: Connection,
}

/// Switches the history to WAL. SQLite does not always wait on the busy handler for this
/// switch: while another connection holds a lock on a new file it answers "database is locked"
/// at once (seen with Windows' locks, six writers opening a new history together), so the
/// switch is tried again until the busy timeout.
fn write_ahead(conn: &Connection) -> rusqlite::Result<()> {
    let started = std::time::Instant::now();
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy && started.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            done => return done,
        }
    }
}

impl History {
    /// Opens (or creates) the history at `path`, creating its folder.
    pub fn open(path: &Path) -> Result<History, StorageError> {
        let open_err = |source| StorageError::Open { path: path.display().to_string(), source };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| open_err(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))?;
        }
        let conn = Connection::open(path).map_err(open_err)?;
        // Several processes may open a new history at once (a CI matrix; the app and the command
        // line on first use): each waits its turn for the locks instead of failing.
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        write_ahead(&conn).map_err(open_err)?;
        History::init(conn)
    }

    pub fn open_in_memory() -> Result<History, StorageError> {
        History::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<History, StorageError> {
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // The schema is read and made in one write transaction, taken before reading (IMMEDIATE):
        // of several processes opening a new history together, one makes it and the others find
        // it made. Every statement is idempotent besides.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        match version {
            0 => {
                tx.execute_batch(SCHEMA)?;
                tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            }
            SCHEMA_VERSION => {}
            newer => return Err(StorageError::TooNew(newer)),
        }
        tx.execute_batch(LIVE_RUNS)?;
        tx.execute_batch(NOTES)?;
        tx.commit()?;
        Ok(History { conn })
    }

    /// Starts writing a run as it is measured: its record now (no samples yet), its samples in
    /// batches ([`History::append`]), the whole record at the end ([`History::save`]). Until
    /// then it is not listed; if its process dies first, [`History::recover`] keeps what was
    /// written.
    pub fn begin(&mut self, record: &RunRecord) -> Result<(), StorageError> {
        let tx = self.conn.transaction()?;
        insert(&tx, &RunRecord { samples: Vec::new(), ..record.clone() }, None)?;
        tx.execute("UPDATE runs SET status = ?2 WHERE id = ?1", params![record.id, RUNNING])?;
        tx.execute(
            "INSERT OR REPLACE INTO live_runs (run_id, pid) VALUES (?1, ?2)",
            params![record.id, std::process::id()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Adds a batch of a running run's samples, in one transaction.
    pub fn append(&mut self, run_id: &str, samples: &[Sample]) -> Result<(), StorageError> {
        let tx = self.conn.transaction()?;
        insert_samples(&tx, run_id, samples)?;
        tx.execute(
            "UPDATE runs SET sample_count = sample_count + ?2, finished_at = ?3 WHERE id = ?1",
            params![run_id, samples.len() as u64, duplex_model::clock::now_unix_ns()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Finishes runs left `running` by a process that is gone: each keeps the samples written
    /// before, and is marked failed with the reason. Returns their ids.
    pub fn recover(&mut self) -> Result<Vec<String>, StorageError> {
        let orphans: Vec<(String, Option<u32>)> = {
            let mut stmt = self.conn.prepare(
                "SELECT runs.id, live_runs.pid FROM runs LEFT JOIN live_runs ON live_runs.run_id = runs.id \
                 WHERE runs.status = ?1",
            )?;
            let rows = stmt.query_map([RUNNING], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut recovered = Vec::new();
        for (id, pid) in orphans {
            if pid.is_some_and(process_alive) {
                continue;
            }
            let mut record = self.load(&id)?;
            record.status = RunStatus::Failed;
            let reason = format!(
                "interrupted: Duplex stopped before this run finished; the {} samples written before are kept",
                record.samples.len()
            );
            record.error = Some(match record.error.take() {
                Some(e) => format!("{e}; {reason}"),
                None => reason,
            });
            let last_write: i64 =
                self.conn.query_row("SELECT finished_at FROM runs WHERE id = ?1", [&id], |r| r.get(0))?;
            record.finished_at_unix_ns = last_write.max(record.started_at_unix_ns);
            let headline = crate::stats::analyze(&record, &Default::default()).headline();
            self.save(&record, headline.as_deref())?;
            recovered.push(id);
        }
        Ok(recovered)
    }

    /// Stores `record` whole, replacing an earlier version of the same run (and ending its
    /// writing, if it was begun).
    pub fn save(&mut self, record: &RunRecord, headline: Option<&str>) -> Result<(), StorageError> {
        let tx = self.conn.transaction()?;
        insert(&tx, record, headline)?;
        tx.execute("DELETE FROM live_runs WHERE run_id = ?1", [&record.id])?;
        tx.commit()?;
        Ok(())
    }

    /// Adds runs from another device (a bundle) in one transaction. Runs already here (same
    /// id) are left as they are and reported; nothing is written if any insert fails.
    pub fn import(&mut self, runs: &[RunRecord]) -> Result<Imported, StorageError> {
        let mut imported = Imported::default();
        let tx = self.conn.transaction()?;
        for run in runs {
            let exists: bool =
                tx.query_row("SELECT EXISTS(SELECT 1 FROM runs WHERE id = ?1)", [&run.id], |r| r.get(0))?;
            if exists || imported.added.contains(&run.id) {
                imported.already_here.push(run.id.clone());
                continue;
            }
            // Another device's run keeps no secret here either.
            let mut run = run.clone();
            run.redact_secrets();
            let headline = crate::stats::analyze(&run, &Default::default()).headline();
            insert(&tx, &run, headline.as_deref())?;
            imported.added.push(run.id.clone());
        }
        tx.commit()?;
        Ok(imported)
    }

    /// Every run, newest first.
    pub fn list(&self) -> Result<Vec<RunListItem>, StorageError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, started_at, finished_at, status, plan_name, target, platform, transports, \
             clients, sample_count, headline, notes.note FROM runs LEFT JOIN notes ON notes.run_id = runs.id \
             WHERE status != 'running' ORDER BY started_at DESC, id",
        )?;
        let rows = stmt.query_map([], |r| {
            let split = |s: String| -> Vec<String> {
                s.split(',').filter(|x| !x.is_empty()).map(str::to_owned).collect()
            };
            let (transports, clients) = (split(r.get(7)?), split(r.get(8)?));
            let measured = if transports.is_empty() {
                "nothing measured".to_owned()
            } else {
                format!("{} · {}", transports.join(", "), clients.join(", "))
            };
            Ok((
                RunListItem {
                    id: r.get(0)?,
                    started_at_unix_ns: r.get(1)?,
                    finished_at_unix_ns: r.get(2)?,
                    status: RunStatus::Complete,
                    plan_name: r.get(4)?,
                    target: r.get(5)?,
                    platform: r.get(6)?,
                    transports,
                    clients,
                    samples: r.get(9)?,
                    measured,
                    headline: r.get(10)?,
                    note: r.get(11)?,
                },
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut items = Vec::new();
        for row in rows {
            let (mut item, status) = row?;
            item.status = parse_status(&status).ok_or_else(|| StorageError::Corrupt {
                id: item.id.clone(),
                reason: format!("status {status:?}"),
            })?;
            items.push(item);
        }
        Ok(items)
    }

    /// Names a run, or notes something about it; an empty note removes it. The note is trimmed,
    /// cut to [`MAX_NOTE_CHARS`], and any access token in it redacted.
    pub fn set_note(&mut self, id: &str, note: &str) -> Result<(), StorageError> {
        if !self.contains(id)? {
            return Err(StorageError::NotFound(id.to_owned()));
        }
        let note: String = duplex_model::redact::redact(note.trim()).chars().take(MAX_NOTE_CHARS).collect();
        if note.is_empty() {
            self.conn.execute("DELETE FROM notes WHERE run_id = ?1", [id])?;
        } else {
            self.conn.execute(
                "INSERT INTO notes (run_id, note) VALUES (?1, ?2) ON CONFLICT(run_id) DO UPDATE SET note = ?2",
                params![id, note],
            )?;
        }
        Ok(())
    }

    pub fn contains(&self, id: &str) -> Result<bool, StorageError> {
        Ok(self.conn.query_row("SELECT 1 FROM runs WHERE id = ?1", [id], |_| Ok(())).optional()?.is_some())
    }

    /// The whole record of one run, samples in the order they were measured.
    pub fn load(&self, id: &str) -> Result<RunRecord, StorageError> {
        let meta: String = self
            .conn
            .query_row("SELECT meta FROM runs WHERE id = ?1", [id], |r| r.get(0))
            .optional()?
            .ok_or_else(|| StorageError::NotFound(id.to_owned()))?;
        let corrupt = |reason: String| StorageError::Corrupt { id: id.to_owned(), reason };
        let mut record: RunRecord = serde_json::from_str(&meta).map_err(|e| corrupt(e.to_string()))?;
        let mut stmt = self.conn.prepare(
            "SELECT transport, client, client_id, set_no, seq, sent_at, latency_ns, send_delay_ns, \
             server_time, bytes_out, bytes_in, error FROM samples WHERE run_id = ?1 ORDER BY rowid",
        )?;
        let rows = stmt.query_map([id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                Sample {
                    transport: duplex_clients::Transport::Ws,
                    client: duplex_model::record::ClientKind::Native,
                    client_id: r.get(2)?,
                    set: r.get(3)?,
                    seq: r.get(4)?,
                    sent_at_unix_ns: r.get(5)?,
                    latency_ns: r.get(6)?,
                    send_delay_ns: r.get(7)?,
                    server_time_unix_ns: r.get(8)?,
                    bytes_out: r.get(9)?,
                    bytes_in: r.get(10)?,
                    error: r.get(11)?,
                },
            ))
        })?;
        for row in rows {
            let (transport, client, mut sample) = row?;
            sample.transport = transport.parse().map_err(corrupt)?;
            sample.client = client.parse().map_err(corrupt)?;
            record.samples.push(sample);
        }
        Ok(record)
    }

    /// Removes a run and its samples; false when there was no such run.
    pub fn delete(&mut self, id: &str) -> Result<bool, StorageError> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM notes WHERE run_id = ?1", [id])?;
        let deleted = tx.execute("DELETE FROM runs WHERE id = ?1", [id])? > 0;
        tx.commit()?;
        Ok(deleted)
    }
}
