//! `git exp start` and `git exp finish`: plumbing for programs that track their
//! own process as a run (the Python client outside `git exp run`). `start`
//! records a run for a process without running anything; `finish` commits it.

use std::io::Write;

use clap::{Args, ValueEnum};

use super::error::{CliError, Kind};
use super::run::{options, report, RecordArgs};
use super::Context;
use crate::capture::standalone::{self, End};
use crate::store::format::Status;

/// Start a run for a running process (plumbing: the Python client uses it)
#[derive(Debug, Args)]
#[command(after_help = "Nothing is run: the run belongs to the process --pid (default: the \
parent process), shows as running while it lives, and is committed by `git exp finish ID`, or \
as crashed by any later git-exp command once that process is gone. The process logs by \
appending JSON lines to the events file, as under `git exp run`.")]
pub struct StartArgs {
    /// What to record about the run
    #[command(flatten)]
    pub record: RecordArgs,
    /// The process that owns the run (default: the parent process)
    #[arg(long, value_name = "PID")]
    pub pid: Option<u32>,
    /// Output format
    #[arg(long, value_enum, default_value_t = PlumbingFormat::Text)]
    pub format: PlumbingFormat,
    /// The owner's command line, to record as the run's command (after `--`)
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// Commit a run made with `git exp start`
#[derive(Debug, Args)]
pub struct FinishArgs {
    /// The run id `git exp start` printed
    #[arg(value_name = "ID")]
    pub id: String,
    /// How the run ended
    #[arg(long, value_enum, default_value_t = EndStatus::Finished)]
    pub status: EndStatus,
    /// The process's exit code
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub exit_code: Option<i32>,
    /// The signal that ends the process
    #[arg(long, value_name = "N")]
    pub signal: Option<i32>,
    /// Output format
    #[arg(long, value_enum, default_value_t = PlumbingFormat::Text)]
    pub format: PlumbingFormat,
}

/// Output of the plumbing commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlumbingFormat {
    /// Lines for people (start and finish: `key value` lines on stdout; push and pull: status on stderr)
    Text,
    /// One JSON object
    Json,
}

/// The statuses a tracked process can end with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EndStatus {
    /// It completed
    Finished,
    /// It failed (an exception, a non-zero exit)
    Failed,
    /// It was interrupted or killed by a signal
    Killed,
}

/// Runs `git exp start`.
pub fn cmd_start(
    args: StartArgs,
    ctx: &Context,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    let store = ctx.open_store(err)?;
    let opts = options(args.record, args.command, &store, ctx)?;
    // SAFETY: getppid has no preconditions.
    let pid = args.pid.unwrap_or_else(|| unsafe { libc::getppid() } as u32);
    let started = standalone::start(&store, &opts, pid).map_err(plumbing)?;
    match args.format {
        PlumbingFormat::Json => {
            serde_json::to_writer(&mut *out, &started).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
        PlumbingFormat::Text => {
            writeln!(out, "id {}", started.id)?;
            writeln!(out, "name {}", started.name)?;
            writeln!(out, "dir {}", started.dir.display())?;
            writeln!(out, "events {}", started.events.display())?;
            writeln!(out, "params {}", started.params.display())?;
        }
    }
    Ok(())
}

/// Runs `git exp finish`.
pub fn cmd_finish(
    args: FinishArgs,
    ctx: &Context,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    let store = ctx.open_store(err)?;
    let status = match args.status {
        EndStatus::Finished => Status::Finished,
        EndStatus::Failed => Status::Failed,
        EndStatus::Killed => Status::Killed,
    };
    let end = End { status, exit_code: args.exit_code, signal: args.signal };
    let (committed, duration) =
        standalone::finish(&store, &args.id, end, &ctx.vars, &ctx.clock).map_err(plumbing)?;
    // Artifacts that could not be stored: said even with -q (their files moved).
    crate::capture::finish::write_warnings(&committed, err);
    if !ctx.ui.quiet {
        report(err, &committed, status, duration);
    }
    match args.format {
        PlumbingFormat::Json => {
            let value = serde_json::json!({
                "name": committed.name,
                "commit": committed.commit,
                "status": status.as_str(),
            });
            writeln!(out, "{value}")?;
        }
        PlumbingFormat::Text => writeln!(out, "{} {}", committed.name, committed.commit)?,
    }
    Ok(())
}

/// Errors of the plumbing commands exit 1 (user) or 255 (internal), not `run`'s 125.
fn plumbing(e: crate::capture::run::Error) -> CliError {
    use crate::capture::run::Error as E;
    let hint = match &e {
        E::NoSuchProcess(_) => Some("pass the id of a running process with --pid"),
        E::NotLive(_) => Some("`git exp list` shows whether the run was committed already"),
        E::Busy(_) => Some("wait for the other process to finish the run"),
        _ => None,
    };
    let cli = match e {
        E::NoSuchProcess(_) | E::NotLive(_) | E::Busy(_) => CliError::new(Kind::User, e),
        other => CliError::from(other).without_exit(),
    };
    match hint {
        Some(h) => cli.hint(h),
        None => cli,
    }
}
