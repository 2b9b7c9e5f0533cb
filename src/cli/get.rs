//! `git exp artifacts RUN` and `git exp get RUN PATH`: listing a run's
//! artifacts and restoring them, verified, from the local or remote store.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::{CliError, Context};

/// List a run's artifacts
#[derive(Debug, Args)]
pub struct ArtifactsArgs {
    /// The run
    #[arg(default_value = "@")]
    pub run: String,
}

/// Restore a run's artifact, verified by its hash
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The run
    pub run: String,
    /// The artifact's path in the run
    pub path: String,
    /// Where to write it
    #[arg(short, long, value_name = "DEST")]
    pub output: Option<PathBuf>,
}

/// Runs `git exp artifacts`.
pub fn cmd_artifacts(
    _args: ArtifactsArgs,
    _ctx: &Context,
    _out: &mut dyn Write,
    _err: &mut dyn Write,
) -> Result<(), CliError> {
    Err(CliError::user("git exp artifacts is not available yet"))
}

/// Runs `git exp get`.
pub fn cmd_get(
    _args: GetArgs,
    _ctx: &Context,
    _out: &mut dyn Write,
    _err: &mut dyn Write,
) -> Result<(), CliError> {
    Err(CliError::user("git exp get is not available yet"))
}
