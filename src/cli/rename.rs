//! `git exp rename`: a run's ref moves to a new name. The rename, with its
//! check against live runs under the registry lock, is `store::manage::rename`.

use std::io::Write;

use clap::Args;

use super::rm::{manage_error, refs_error, resolve, write_warning};
use super::{CliError, Context};
use crate::capture::live;
use crate::store::manage::{self, Error};
use crate::store::{self as core_store, name, refs, Store};
use crate::text::line as sanitize;

/// Rename a run (the commit stays the same; only its ref moves)
#[derive(Debug, Args)]
pub struct RenameArgs {
    /// The run: a name, a unique prefix of a name, id or commit, `@`, `@~N`, a ref or a commit id
    pub run: String,
    /// Its new name
    pub new_name: String,
}

/// Runs `git exp rename`.
pub fn cmd_rename(
    args: RenameArgs,
    ctx: &Context,
    _out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    let new = args.new_name.as_str();
    name::validate(new)?;
    let store = ctx.open_store(err)?;
    let (old, commit) = resolve(&store, ctx, &args.run)?;
    let now = ctx.clock.now() as i64;
    let renamed =
        manage::rename(&store, &old, &commit, new, now, live::live_names).map_err(|e| match e {
            Error::Refs(e @ refs::Error::Store(core_store::Error::NameTaken { .. })) => {
                refs_error(e).with_hints(vec![format!(
                    "pick another name (`git exp list` shows the names in use), or delete the \
                     other run first with `git exp rm {new}`"
                )])
            }
            e => manage_error(e),
        })?;
    if let Some(warning) = &renamed.warning {
        write_warning(err, warning)?;
    }
    if ctx.ui.quiet {
        return Ok(());
    }
    if renamed.changed {
        writeln!(err, "Renamed run {} to {new} ({}).", sanitize(&old), Store::short(&commit))?;
    } else {
        writeln!(err, "Run {new} already has that name.")?;
    }
    Ok(())
}
