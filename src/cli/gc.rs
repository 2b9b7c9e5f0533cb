//! `git exp gc`: removing artifact store objects no run points to, stale
//! temporary files and unused Python clients. What is removed is decided by
//! `artifacts::gc`; this file resolves the options and renders the outcome.

use std::io::Write;
use std::time::Duration;

use clap::Args;

use super::error::Kind;
use super::output::{self, FormatArgs, OutputFormat};
use super::{CliError, Context};
use crate::artifacts::gc;
use crate::capture::{live, python};
use crate::text::line as sanitize;
use crate::util::count as plural;
use crate::util::human_bytes;

/// Remove artifact store objects that no run points to
#[derive(Debug, Args)]
pub struct GcArgs {
    /// Only say what would be removed
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    /// Keep what was modified less than this long ago (`1h`, `30min`, `2days`; `0s` keeps nothing)
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = humantime::parse_duration)]
    pub keep_recent: Duration,
    /// Output format and --json
    #[command(flatten)]
    pub format: FormatArgs,
}

/// Runs `git exp gc`.
pub fn cmd_gc(
    args: GcArgs,
    ctx: &Context,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    let store = ctx.open_store(err)?;
    let common = store.common_dir();
    // The client this binary puts on PYTHONPATH is kept; other versions' may go.
    let python_current = if common.join("exp").join("python").is_dir() {
        Some(python::client_dir(common))
    } else {
        None
    };
    let options = gc::Options {
        dry_run: args.dry_run,
        keep_recent: args.keep_recent,
        now: std::time::SystemTime::now(),
        python_current,
        runs_live: !live::list(common).is_empty(),
    };
    let outcome = gc::run(&store, &options).map_err(gc_error)?;
    match args.format.resolve() {
        OutputFormat::Json => output::write_json(out, &outcome)?,
        OutputFormat::Table => {
            for r in &outcome.removed {
                let kind = kind_name(r.kind);
                writeln!(out, "{kind:<6}  {:>9}  {}", human_bytes(r.size), sanitize(&r.path))?;
            }
        }
        format => {
            let header: Vec<String> = ["kind", "path", "sha256", "size"].map(String::from).into();
            let rows: Vec<Vec<String>> = outcome
                .removed
                .iter()
                .map(|r| {
                    let sha = r.sha256.clone().unwrap_or_default();
                    vec![kind_name(r.kind).into(), r.path.clone(), sha, r.size.to_string()]
                })
                .collect();
            if format == OutputFormat::Csv {
                output::write_csv(out, &header, &rows)?
            } else {
                output::write_markdown(out, &header, &rows)?
            }
        }
    }
    out.flush()?;
    report_gc(&outcome, &args, ctx.ui.quiet, err)?;
    if !outcome.failed.is_empty() {
        return Err(CliError::user(format!(
            "{} of the store could not be examined or removed",
            plural(outcome.failed.len(), "file", "files")
        ))
        .hint("check the permissions of the files named in the warnings above"));
    }
    Ok(())
}

/// Warnings and the summary of `gc`, on stderr.
fn report_gc(
    outcome: &gc::Outcome,
    args: &GcArgs,
    quiet: bool,
    err: &mut dyn Write,
) -> std::io::Result<()> {
    const SHOWN: usize = 10;
    for path in outcome.foreign.iter().take(SHOWN) {
        writeln!(err, "warning: {} is not part of the store layout; left alone", sanitize(path))?;
    }
    if outcome.foreign.len() > SHOWN {
        writeln!(err, "warning: ... and {} more such files", outcome.foreign.len() - SHOWN)?;
    }
    for f in &outcome.failed {
        writeln!(err, "warning: cannot remove {}: {}", sanitize(&f.path), f.error)?;
    }
    if quiet {
        return Ok(());
    }
    let (remove, keep) =
        if args.dry_run { ("Would remove", "would keep") } else { ("Removed", "kept") };
    writeln!(
        err,
        "{remove} {} ({}); {keep} {}.",
        plural(outcome.objects_removed, "object", "objects"),
        human_bytes(outcome.bytes_removed),
        outcome.objects_kept
    )?;
    let count = |kind| outcome.removed.iter().filter(|r| r.kind == kind).count();
    let (temps, clients) = (count(gc::Kind::Temp), count(gc::Kind::Python));
    if temps + clients > 0 {
        let mut parts = Vec::new();
        if temps > 0 {
            parts.push(plural(temps, "stale temporary file", "stale temporary files"));
        }
        if clients > 0 {
            parts.push(plural(clients, "unused Python client", "unused Python clients"));
        }
        let verb = if args.dry_run { "Would also remove" } else { "Also removed" };
        writeln!(err, "{verb} {}.", parts.join(" and "))?;
    }
    if outcome.kept_recent > 0 {
        writeln!(
            err,
            "hint: {} no run points to {} modified in the last {}; `--keep-recent 0s` includes them",
            plural(outcome.kept_recent, "object", "objects"),
            if outcome.kept_recent == 1 { "was kept because it was" } else { "were kept because they were" },
            humantime::format_duration(args.keep_recent)
        )?;
    }
    Ok(())
}

fn kind_name(kind: gc::Kind) -> &'static str {
    match kind {
        gc::Kind::Object => "object",
        gc::Kind::Temp => "temp",
        gc::Kind::Python => "python",
    }
}

fn gc_error(e: gc::Error) -> CliError {
    let hint = match &e {
        gc::Error::UnreadableRun { run, .. } | gc::Error::BadArtifacts { run, .. } => {
            Some(format!(
            "repair the run or delete it with `git exp rm {run}` (its store artifacts then count \
             as unused), and run gc again"
        ))
        }
        _ => None,
    };
    let kind = match &e {
        gc::Error::Io { .. } => Kind::Internal,
        _ => Kind::User,
    };
    CliError::new(kind, e).with_hints(hint.into_iter().collect())
}
