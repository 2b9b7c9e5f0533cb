//! `git exp push`, `git exp pull` (`fetch`) and `git exp init`: the command
//! lines, one call each into the sharing core (`crate::share`, which holds
//! the policy: remote picking, run selection, artifacts before refs, init's
//! config), and the rendering of what it returns (`render`).

mod render;

use std::io::Write;

use clap::Args;

use super::progress::Bar;
use super::start::PlumbingFormat;
use super::{CliError, Context};
use crate::share::{self, InitOptions, PullOptions, PushOptions};

/// Push runs and upload their large artifacts
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The git remote: a name, URL or path (default: the remote `git push` uses, else origin)
    pub remote: Option<String>,
    /// The runs to push (default: all)
    pub runs: Vec<String>,
    /// Push the runs without uploading their large artifacts
    #[arg(long)]
    pub no_artifacts: bool,
    /// --dry-run, --format
    #[command(flatten)]
    pub flags: TransferFlags,
}

/// Fetch runs from a remote, and with --artifacts their large artifacts
#[derive(Debug, Args)]
pub struct PullArgs {
    /// The git remote: a name, URL or path (default: the current branch's remote, else origin)
    pub remote: Option<String>,
    /// The runs to fetch, by name (default: all)
    pub runs: Vec<String>,
    /// Also download the large artifacts of these runs (all of the remote's runs when none are named)
    #[arg(short, long)]
    pub artifacts: bool,
    /// Also fetch the runs deleted here with `git exp rm` (runs named on the command line always are)
    #[arg(long)]
    pub include_removed: bool,
    /// --dry-run, --format
    #[command(flatten)]
    pub flags: TransferFlags,
}

/// The flags push and pull share.
#[derive(Debug, Args)]
pub struct TransferFlags {
    /// Say what would be sent or fetched, change nothing
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    /// Output format (json: a report on stdout, see docs/json.md)
    #[arg(long, value_enum, default_value_t = PlumbingFormat::Text)]
    pub format: PlumbingFormat,
}

/// Make plain `git push` and `git fetch` carry runs too
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The git remote (default: the current branch's remote, else origin)
    pub remote: Option<String>,
    /// Take back what `git exp init` added
    #[arg(long)]
    pub remove: bool,
}

/// Runs `git exp push`.
pub fn cmd_push(
    args: PushArgs,
    ctx: &Context,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    let store = ctx.open_store(err)?;
    let options = PushOptions {
        remote: args.remote,
        runs: args.runs,
        no_artifacts: args.no_artifacts,
        dry_run: args.flags.dry_run,
        vars: &ctx.vars,
    };
    let bar = Bar::waiting(ctx.ui.quiet);
    let report = share::push(&store, &options, &bar, &mut |w| render::warning(err, &w))?;
    drop(bar);
    render::report(&report, true, args.flags.format, ctx.ui.quiet, out, err)
}

/// Runs `git exp pull`.
pub fn cmd_pull(
    args: PullArgs,
    ctx: &Context,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    let store = ctx.open_store(err)?;
    let options = PullOptions {
        remote: args.remote,
        runs: args.runs,
        artifacts: args.artifacts,
        include_removed: args.include_removed,
        dry_run: args.flags.dry_run,
        vars: &ctx.vars,
    };
    let bar = Bar::waiting(ctx.ui.quiet);
    let report = share::pull(&store, &options, &bar, &mut |w| render::warning(err, &w))?;
    drop(bar);
    render::report(&report, false, args.flags.format, ctx.ui.quiet, out, err)
}

/// Runs `git exp init`.
pub fn cmd_init(
    args: InitArgs,
    ctx: &Context,
    _out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    let store = ctx.open_store(err)?;
    let options = InitOptions { remote: args.remote, remove: args.remove, vars: &ctx.vars };
    let done = share::init(&store, &options)?;
    render::initialized(&done, err)
}
