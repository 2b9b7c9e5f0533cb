//! `git exp push`, `git exp pull` (`fetch`) and `git exp init`: moving runs and
//! their artifacts to and from a remote.

use std::io::Write;

use clap::Args;

use super::{CliError, Context};

/// Push runs and upload their large artifacts
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The git remote (default: the current branch's remote, else origin)
    pub remote: Option<String>,
    /// The runs to push (default: all)
    pub runs: Vec<String>,
}

/// Fetch runs from a remote, and with --artifacts their large artifacts
#[derive(Debug, Args)]
pub struct PullArgs {
    /// The git remote (default: the current branch's remote, else origin)
    pub remote: Option<String>,
    /// The runs to fetch (default: all)
    pub runs: Vec<String>,
    /// Also download the runs' large artifacts
    #[arg(long)]
    pub artifacts: bool,
}

/// Make plain `git push` and `git fetch` carry runs too
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The git remote (default: origin)
    pub remote: Option<String>,
}

/// Runs `git exp push`.
pub fn cmd_push(
    _args: PushArgs,
    _ctx: &Context,
    _out: &mut dyn Write,
    _err: &mut dyn Write,
) -> Result<(), CliError> {
    Err(CliError::user("git exp push is not available yet"))
}

/// Runs `git exp pull`.
pub fn cmd_pull(
    _args: PullArgs,
    _ctx: &Context,
    _out: &mut dyn Write,
    _err: &mut dyn Write,
) -> Result<(), CliError> {
    Err(CliError::user("git exp pull is not available yet"))
}

/// Runs `git exp init`.
pub fn cmd_init(
    _args: InitArgs,
    _ctx: &Context,
    _out: &mut dyn Write,
    _err: &mut dyn Write,
) -> Result<(), CliError> {
    Err(CliError::user("git exp init is not available yet"))
}
