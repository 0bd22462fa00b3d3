//! Writing a run into the history while it is measured, so a crash loses at most the last
//! batch (see [`History::begin`]). Storage trouble never stops a measurement: a failed write
//! ends the writing, is remembered, and the whole run is saved at the end as before.

use super::{History, StorageError};
use duplex_model::record::{RunRecord, Sample};

pub struct RunWriter {
    history: History,
    run_id: Option<String>,
    /// Why writing during the run stopped, if it did.
    problem: Option<String>,
}

impl RunWriter {
    pub fn new(history: History) -> RunWriter {
        RunWriter { history, run_id: None, problem: None }
    }

    fn attempt(&mut self, write: impl FnOnce(&mut History, &str) -> Result<(), StorageError>) {
        if self.problem.is_some() {
            return;
        }
        if let Some(id) = self.run_id.clone()
            && let Err(e) = write(&mut self.history, &id)
        {
            self.problem = Some(e.to_string());
        }
    }

    pub fn begin(&mut self, record: &RunRecord) {
        self.run_id = Some(record.id.clone());
        self.attempt(|h, _| h.begin(record));
    }

    pub fn append(&mut self, samples: &[Sample]) {
        self.attempt(|h, id| h.append(id, samples));
    }

    /// Why samples were not written during the run, if they were not.
    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    /// Saves the finished run whole, and gives the history back.
    pub fn finish(mut self, record: &RunRecord, headline: Option<&str>) -> Result<History, StorageError> {
        self.history.save(record, headline)?;
        Ok(self.history)
    }
}
