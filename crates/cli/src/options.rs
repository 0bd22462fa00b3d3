//! Options several commands share: the history, pinning to a core, TLS trust, a link, lists of
//! transports.

use std::path::PathBuf;

use clap::Args;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use duplex_core::clients::{Transport, Trust};

/// Where runs are stored: the same history the app uses.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// History database (default: $DUPLEX_DATA_DIR/history.sqlite, else the app's data folder).
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
}

/// The app's data folder (`dev.duplex.app` under the OS's data directory), or DUPLEX_DATA_DIR.
pub const DATA_DIR_ENV: &str = "DUPLEX_DATA_DIR";

impl HistoryArgs {
    pub fn path(&self) -> anyhow::Result<PathBuf> {
        if let Some(p) = &self.history {
            return Ok(p.clone());
        }
        let dir = match std::env::var_os(DATA_DIR_ENV) {
            Some(dir) => PathBuf::from(dir),
            None => dirs::data_dir()
                .ok_or_else(|| anyhow::anyhow!("no data directory on this system: pass --history FILE"))?
                .join("dev.duplex.app"),
        };
        Ok(dir.join("history.sqlite"))
    }
}

/// Pinning a process to one core.
#[derive(Debug, Args)]
pub struct PinArgs {
    /// Run on one core only (Linux, Android): client and server threads then hand over without
    /// waking a sleeping CPU, so cross-thread and cross-process figures repeat to a few percent.
    /// Give a core, or none for the last. Pin both ends alike: duplex serve --pin 1 and duplex
    /// bench --pin 1 --target ….
    #[arg(long, value_name = "CORE", num_args = 0..=1)]
    pub pin: Option<Option<usize>>,
}

impl PinArgs {
    /// The core to pin to, if asked.
    pub fn core(&self) -> Option<usize> {
        self.pin.map(|core| core.unwrap_or_else(duplex_core::pin::default_core))
    }
}

/// How TLS clients trust a remote server (the platform's trust store unless one is given).
#[derive(Debug, Args)]
pub struct TlsArgs {
    /// Trust exactly the certificate with this SHA-256 fingerprint (as duplex serve prints it).
    #[arg(long, value_name = "SHA256", conflicts_with_all = ["ca_cert", "insecure"])]
    pub fingerprint: Option<String>,
    /// Also trust the CA certificates in this PEM file (a private CA).
    #[arg(long, value_name = "FILE", conflicts_with = "insecure")]
    pub ca_cert: Option<PathBuf>,
    /// Do not verify the server's certificate at all. Every report of the run says so.
    #[arg(long)]
    pub insecure: bool,
}

impl TlsArgs {
    pub fn trust(&self) -> anyhow::Result<Trust> {
        Ok(match (&self.fingerprint, &self.ca_cert, self.insecure) {
            (Some(f), _, _) => Trust::with_fingerprint(f).map_err(anyhow::Error::msg)?,
            (None, Some(file), _) => Trust::with_ca_file(file).map_err(anyhow::Error::msg)?,
            (None, None, true) => {
                eprintln!(
                    "WARNING: --insecure: the server's TLS certificate will not be verified; every report of this run says so"
                );
                Trust::Insecure
            }
            (None, None, false) => Trust::default(),
        })
    }
}

/// `--link`: a profile file (`.toml`), else a profile name or values.
pub fn link_of(spec: &str) -> Result<duplex_core::link::Link, String> {
    if spec.ends_with(".toml") {
        let text =
            std::fs::read_to_string(spec).map_err(|e| format!("cannot read link profile {spec}: {e}"))?;
        return duplex_core::link::Link::from_toml(&text).map_err(|e| format!("{spec}: {e}"));
    }
    duplex_core::link::Link::parse(spec).map_err(|e| e.to_string())
}

/// A transport named on the command line, one of those `allowed` (in the model's order): the
/// names `--help` lists and an unknown name's error offers, from the model, not written here.
pub fn transport_of(allowed: impl Fn(&Transport) -> bool) -> impl TypedValueParser<Value = Transport> {
    let names = Transport::ALL.into_iter().filter(allowed).map(Transport::name);
    PossibleValuesParser::new(names).try_map(|name| name.parse::<Transport>())
}
