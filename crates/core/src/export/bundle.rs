//! Run bundles: whole runs (plan, platform, every sample and power reading) in one JSON file,
//! to carry results from one device to another's history. Reading is defensive: a file that
//! is too large, not a bundle, from a newer Duplex, or holding a run that does not fit its
//! own plan is refused whole, with the reason.

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

use duplex_model::record::RunRecord;

pub const BUNDLE_FORMAT: &str = "duplex-run-bundle";
pub const BUNDLE_VERSION: u32 = 1;
/// Largest bundle read (a run of a million samples is about 250 MB of JSON).
pub const MAX_BUNDLE_BYTES: u64 = 512 << 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    pub format: String,
    pub version: u32,
    pub duplex_version: String,
    pub exported_at_unix_ns: i64,
    pub runs: Vec<RunRecord>,
}

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("cannot read the bundle: {0}")]
    Io(#[from] std::io::Error),
    #[error("the bundle is larger than {} MiB", MAX_BUNDLE_BYTES >> 20)]
    TooLarge,
    #[error("not a Duplex run bundle: {0}")]
    NotABundle(String),
    #[error("the bundle was written by a newer Duplex (format version {0}); update Duplex to read it")]
    TooNew(u32),
    #[error("run {index} of the bundle ({id}) is not valid: {reason}")]
    BadRun { index: usize, id: String, reason: String },
}

pub fn write_bundle<W: Write>(out: W, runs: &[RunRecord]) -> Result<(), BundleError> {
    #[derive(Serialize)]
    struct Borrowed<'a> {
        format: &'a str,
        version: u32,
        duplex_version: &'a str,
        exported_at_unix_ns: i64,
        runs: &'a [RunRecord],
    }
    let bundle = Borrowed {
        format: BUNDLE_FORMAT,
        version: BUNDLE_VERSION,
        duplex_version: duplex_model::VERSION,
        exported_at_unix_ns: duplex_model::clock::now_unix_ns(),
        runs,
    };
    serde_json::to_writer(out, &bundle).map_err(|e| BundleError::Io(e.into()))
}

/// Reads and checks a bundle: every run must validate against its own plan.
pub fn read_bundle<R: Read>(input: R) -> Result<Bundle, BundleError> {
    let mut text = Vec::new();
    input.take(MAX_BUNDLE_BYTES + 1).read_to_end(&mut text)?;
    if text.len() as u64 > MAX_BUNDLE_BYTES {
        return Err(BundleError::TooLarge);
    }
    // Look at the envelope first, so a foreign file gets a plain answer, not a parse error.
    #[derive(Deserialize)]
    struct Envelope {
        format: Option<String>,
        version: Option<u32>,
    }
    let envelope: Envelope =
        serde_json::from_slice(&text).map_err(|e| BundleError::NotABundle(e.to_string()))?;
    if envelope.format.as_deref() != Some(BUNDLE_FORMAT) {
        return Err(BundleError::NotABundle(format!(
            "its format is {:?}",
            envelope.format.unwrap_or_default()
        )));
    }
    match envelope.version {
        Some(v) if v > BUNDLE_VERSION => return Err(BundleError::TooNew(v)),
        Some(_) => {}
        None => return Err(BundleError::NotABundle("it has no format version".into())),
    }
    let bundle: Bundle = serde_json::from_slice(&text).map_err(|e| BundleError::NotABundle(e.to_string()))?;
    for (index, run) in bundle.runs.iter().enumerate() {
        run.validate().map_err(|reason| BundleError::BadRun {
            index: index + 1,
            id: run.id.clone(),
            reason,
        })?;
    }
    Ok(bundle)
}
