//! k6 as Duplex's distributed engine: Duplex hands it a plan as a script ([`script`]), k6 runs it
//! on one process or split over many (`--execution-segment`, the k6-operator's `parallelism`),
//! and its JSON outputs come back as one run ([`import`]) for the history, `compare` and the
//! reports, client "k6".
//!
//! What k6 cannot time is said in the script and in the run: a k6 script's clock is
//! `Date.now()`, whole milliseconds ([`CLOCK_STEP_US`]); k6 counts no bytes per message.

mod fanout;
mod import;
mod output;
mod script;

pub use fanout::{K6_PUSH_TRANSPORTS, fanout_script, import_fanout, is_fanout};
pub use import::import;
pub use output::K6File;
pub use script::script;

/// "1 process", "2 processes": how many k6 outputs made a run or a fan-out report.
pub fn processes(n: usize) -> String {
    if n == 1 { "1 process".to_owned() } else { format!("{n} processes") }
}

/// The step of a k6 script's clock (`Date.now()`), µs.
pub use duplex_model::transport::K6_CLOCK_STEP_US as CLOCK_STEP_US;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum K6Error {
    /// The plan asks for what a k6 script does not measure.
    #[error(
        "k6 cannot measure {0}: a k6 script measures ws and http (GET or POST) echoes over the network as it is"
    )]
    Transport(String),
    /// A file that is not a k6 JSON output of a Duplex script, with where.
    #[error("{file}: {reason}")]
    File { file: String, reason: String },
    /// Outputs that do not make one run together.
    #[error("{0}")]
    Mismatch(String),
}
