//! End-to-end tests of the `git-exp` binary on temporary real repositories,
//! checked with the real `git` CLI.

mod architecture;
mod artifacts;
mod browser;
mod common;
mod compare;
mod demo;
mod errors;
mod filter;
mod get;
mod hostile;
mod list_show;
mod man;
mod manage;
mod polish;
mod python;
mod remote;
mod report;
mod run;
mod secrets;
mod share;
mod signals;
mod skips;
mod standalone;
mod ui;
