//! git-exp: machine-learning experiment tracking that lives inside git.
//!
//! Every run is a commit under `refs/experiments/<name>`. Data flows one way:
//! `capture` (run a command, ingest its events) -> `store` (the format, gix) ->
//! `cli` (list, show). See docs/architecture.md.
#![warn(missing_docs)]

pub mod artifacts;
pub mod capture;
pub mod cli;
pub mod env;
pub mod report;
pub mod share;
pub mod store;
pub mod text;
pub mod util;
