//! One module per command: its options (clap) and what it does with them.

pub mod bench;
pub mod fanout;
pub mod history;
pub mod k6;
pub mod monitor;
pub mod schema;
pub mod serve;
pub mod soak;
pub mod sweep;
