//! The history database's tables, and the views the list reads.

pub(super) const SCHEMA_VERSION: i64 = 1;

/// How long a writer waits for another's lock before it gives up.
pub(super) const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    started_at INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    status TEXT NOT NULL,
    plan_name TEXT,
    target TEXT NOT NULL,
    platform TEXT NOT NULL,
    transports TEXT NOT NULL,
    clients TEXT NOT NULL,
    sample_count INTEGER NOT NULL,
    headline TEXT,
    meta TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS samples (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    transport TEXT NOT NULL,
    client TEXT NOT NULL,
    client_id INTEGER NOT NULL,
    set_no INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    sent_at INTEGER NOT NULL,
    latency_ns INTEGER NOT NULL,
    send_delay_ns INTEGER NOT NULL,
    server_time INTEGER,
    bytes_out INTEGER NOT NULL,
    bytes_in INTEGER NOT NULL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS samples_by_run ON samples(run_id);
";

/// Runs being measured now, and which process writes them: a run still `running` whose
/// process is gone was interrupted (a crash, a kill, a power cut) and is recovered.
pub(super) const LIVE_RUNS: &str = "
CREATE TABLE IF NOT EXISTS live_runs (
    run_id TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    pid INTEGER NOT NULL
);
";

/// People's notes on runs ("office Wi-Fi", "after the fix"), kept apart from the runs: saving a
/// run again replaces its row, not its note.
pub(super) const NOTES: &str = "
CREATE TABLE IF NOT EXISTS notes (
    run_id TEXT PRIMARY KEY,
    note TEXT NOT NULL
);
";
