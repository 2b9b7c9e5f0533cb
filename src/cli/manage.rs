//! `git exp rm`, `git exp rename` and `git exp gc`: managing runs and the local
//! artifact store.

use std::io::Write;

use clap::Args;

use super::{CliError, Context};

/// Delete runs (their refs; git's own gc removes the objects later)
#[derive(Debug, Args)]
pub struct RmArgs {
    /// The runs to delete
    #[arg(required = true)]
    pub runs: Vec<String>,
}

/// Rename a run
#[derive(Debug, Args)]
pub struct RenameArgs {
    /// The run
    pub run: String,
    /// Its new name
    pub new_name: String,
}

/// Remove artifact store objects that no run points to
#[derive(Debug, Args)]
pub struct GcArgs {
    /// Only say what would be removed
    #[arg(short = 'n', long)]
    pub dry_run: bool,
}

/// Runs `git exp rm`.
pub fn cmd_rm(
    _args: RmArgs,
    _ctx: &Context,
    _out: &mut dyn Write,
    _err: &mut dyn Write,
) -> Result<(), CliError> {
    Err(CliError::user("git exp rm is not available yet"))
}

/// Runs `git exp rename`.
pub fn cmd_rename(
    _args: RenameArgs,
    _ctx: &Context,
    _out: &mut dyn Write,
    _err: &mut dyn Write,
) -> Result<(), CliError> {
    Err(CliError::user("git exp rename is not available yet"))
}

/// Runs `git exp gc`.
pub fn cmd_gc(
    _args: GcArgs,
    _ctx: &Context,
    _out: &mut dyn Write,
    _err: &mut dyn Write,
) -> Result<(), CliError> {
    Err(CliError::user("git exp gc is not available yet"))
}
