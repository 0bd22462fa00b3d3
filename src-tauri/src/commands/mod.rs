//! The commands the page may call, one module per view. Each is thin: it checks its input,
//! calls the engine and turns the result into what the page draws.

pub mod fanout;
pub mod history;
pub mod lan;
pub mod live;
pub mod run;
