//! Errors as the UI receives them: `{ kind, message }`, never a bare string or a panic.

use serde::ser::SerializeStruct;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Plan(#[from] duplex_core::plan::PlanError),
    #[error("{0}")]
    Run(#[from] duplex_core::runner::RunError),
    #[error("{0}")]
    Session(#[from] duplex_core::session::SessionError),
    #[error("{0}")]
    Target(String),
    #[error("{0}")]
    Merge(#[from] duplex_core::record::MergeError),
    #[error("{0}")]
    Storage(#[from] duplex_core::storage::StorageError),
    #[error("{0}")]
    Export(#[from] duplex_core::export::ExportError),
    #[error("import: {0}")]
    Import(String),
    #[error("the embedded server did not start: {0}")]
    Server(String),
    #[error("cannot serve on the LAN: {0}")]
    Lan(String),
    #[error("fan-out: {0}")]
    Fanout(String),
    #[error("{0}")]
    State(String),
}

impl AppError {
    pub fn kind(&self) -> &'static str {
        match self {
            AppError::Plan(_) => "plan",
            AppError::Run(_) | AppError::Session(_) => "run",
            AppError::Target(_) => "target",
            AppError::Merge(_) => "merge",
            AppError::Storage(_) => "storage",
            AppError::Export(_) => "export",
            AppError::Import(_) => "import",
            AppError::Fanout(_) => "fanout",
            AppError::Server(_) => "server",
            AppError::Lan(_) => "lan",
            AppError::State(_) => "state",
        }
    }
}

impl serde::Serialize for AppError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("AppError", 2)?;
        s.serialize_field("kind", self.kind())?;
        // Errors name URLs, and a remote server's URLs carry its token: the page never sees it.
        s.serialize_field("message", &duplex_core::redact::redact(&self.to_string()))?;
        s.end()
    }
}

pub type AppResult<T> = Result<T, AppError>;
