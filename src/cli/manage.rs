//! `git exp rm`, `git exp rename` and `git exp gc`: managing runs and the local
//! artifact store. Ref edits are compare-and-swap (`store::refs`); what `gc`
//! removes is decided by `artifacts::gc`.

use std::io::Write;
use std::time::Duration;

use clap::Args;

use super::error::Kind;
use super::output::{self, FormatArgs, OutputFormat};
use super::{CliError, Context};
use crate::artifacts::gc;
use crate::capture::{live, python, recover};
use crate::store::refs::{self, groups_clash};
use crate::store::{self as core_store, name, removed, Store};
use crate::text::line as sanitize;
use crate::util::{anonymize_url, human_bytes};

/// Delete runs (their refs; git's own gc removes the objects later)
#[derive(Debug, Args)]
pub struct RmArgs {
    /// The runs: names, unique prefixes of a name, id or commit, `@`, `@~N`, refs or commit ids
    #[arg(value_name = "RUN")]
    pub runs: Vec<String>,
    /// Also delete them on a git remote (default: the remote `git push` uses), where it has the same commit
    #[arg(long, value_name = "REMOTE", num_args = 0..=1)]
    pub remote: Option<Option<String>>,
    /// Only say what would be deleted
    #[arg(short = 'n', long)]
    pub dry_run: bool,
}

/// Rename a run (the commit stays the same; only its ref moves)
#[derive(Debug, Args)]
pub struct RenameArgs {
    /// The run: a name, a unique prefix of a name, id or commit, `@`, `@~N`, a ref or a commit id
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
    /// Keep what was modified less than this long ago (`1h`, `30min`, `2days`; `0s` keeps nothing)
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = humantime::parse_duration)]
    pub keep_recent: Duration,
    /// Output format and --json
    #[command(flatten)]
    pub format: FormatArgs,
}

/// Runs `git exp rm`.
pub fn cmd_rm(
    mut args: RmArgs,
    ctx: &Context,
    _out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    let store = ctx.open_store(err)?;
    // `--remote RUN` without a remote: the value is the first run.
    let remote = match args.remote.take() {
        Some(given) => Some(crate::share::pick_remote(&store, given, &mut args.runs, true)?),
        None => None,
    };
    if args.runs.is_empty() {
        return Err(CliError::usage("name the runs to delete")
            .hint("`git exp list` shows them; `git exp rm @` deletes the latest"));
    }
    // Every spec is resolved before anything is deleted.
    let mut targets: Vec<(String, String)> = Vec::new();
    for spec in &args.runs {
        let (name, commit) =
            resolve(&store, ctx, spec).map_err(|e| e.hint("nothing was deleted"))?;
        if !targets.iter().any(|(n, _)| *n == name) {
            targets.push((name, commit));
        }
    }
    // On the remote, only the same commit is deleted; another run there under
    // one of these names stops the command before anything is deleted.
    let mut there: Vec<(String, String)> = Vec::new();
    if let Some(remote) = &remote {
        let copies = store.remote_copies(remote, &targets)?;
        there = copies.same;
        let others: Vec<String> = copies
            .different
            .iter()
            .map(|(name, theirs)| format!("{} ({})", sanitize(name), Store::short(theirs)))
            .collect();
        if !others.is_empty() {
            let runs = if others.len() == 1 { "a different run" } else { "different runs" };
            return Err(CliError::user(format!(
                "{} has {runs} named {}",
                anonymize_url(remote),
                others.join(", ")
            ))
            .hint("nothing was deleted, here or there; without --remote, `git exp rm` deletes the runs here only"));
        }
    }
    let mut refused: Vec<(String, String)> = Vec::new();
    if !args.dry_run {
        if let (Some(remote), false) = (&remote, there.is_empty()) {
            refused = store.delete_remote_runs(remote, &there)?;
            targets.retain(|(n, _)| !refused.iter().any(|(r, _)| r == n));
            there.retain(|(n, _)| !refused.iter().any(|(r, _)| r == n));
        }
        store.delete_runs(&targets).map_err(refs_error)?;
        remember_removed(&store, &targets, ctx.clock.now(), err)?;
    }
    if !ctx.ui.quiet || args.dry_run {
        let verb = if args.dry_run { "Would delete" } else { "Deleted" };
        for (name, commit) in &targets {
            let place = match &remote {
                None => String::new(),
                Some(_) if there.iter().any(|(n, _)| n == name) => {
                    format!(" here and on {}", anonymize_url(remote.as_deref().unwrap_or("")))
                }
                Some(r) => format!(
                    "; {} {} have it",
                    anonymize_url(r),
                    if args.dry_run { "does not" } else { "did not" }
                ),
            };
            writeln!(err, "{verb} run {} ({}){place}.", sanitize(name), Store::short(commit))?;
        }
    }
    if remote.is_none() && !ctx.ui.quiet && !args.dry_run {
        // git's own fetch knows nothing of the runs deleted here.
        let refetching = store.remotes_fetching_runs();
        if let Some(r) = refetching.first() {
            writeln!(
                err,
                "note: a plain `git fetch {r}` fetches {} again while {r} has {} (`git exp init` \
                 set that up); `git exp rm --remote {r}` deletes runs there too",
                if targets.len() == 1 { "it" } else { "them" },
                if targets.len() == 1 { "it" } else { "them" }
            )?;
        }
    }
    if !refused.is_empty() {
        let remote = anonymize_url(remote.as_deref().unwrap_or(""));
        let names: Vec<String> =
            refused.iter().map(|(n, why)| format!("{} ({})", sanitize(n), sanitize(why))).collect();
        return Err(CliError::user(format!("{remote} refused to delete {}", names.join(", ")))
            .hint(format!(
                "{remote} changed meanwhile; these runs were kept here too: `git exp pull {remote}` shows what it has now"
            )));
    }
    Ok(())
}

/// Remembers runs deleted here, so `git exp pull` does not fetch them again; a
/// failure to remember is a warning (the runs are deleted all the same).
fn remember_removed(
    store: &Store,
    runs: &[(String, String)],
    now: f64,
    err: &mut dyn Write,
) -> std::io::Result<()> {
    let now = now as i64;
    match removed::remember(store.common_dir(), runs, now) {
        Ok(None) => Ok(()),
        Ok(Some(why)) => writeln!(err, "warning: {}; it was replaced", sanitize(&why)),
        Err(e) => writeln!(
            err,
            "warning: cannot remember the deleted runs in {} ({}): `git exp pull` may fetch them again",
            removed::path(store.common_dir()).display(),
            sanitize(&e.to_string())
        ),
    }
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
    if old == new {
        if !ctx.ui.quiet {
            writeln!(err, "Run {new} already has that name.")?;
        }
        return Ok(());
    }
    // Under the registry lock no run can reserve the new name meanwhile.
    let _registry = live::lock_registry(store.common_dir())?;
    for live_name in live::live_names(store.common_dir()) {
        if live_name == new {
            return Err(CliError::user(format!("a running run is named '{new}'"))
                .hint("pick another name, or wait for that run to end"));
        }
        if groups_clash(&live_name, new) {
            return Err(refs_error(refs::Error::GroupClash {
                old,
                new: new.to_owned(),
                other: live_name,
            }));
        }
    }
    let now = ctx.clock.now() as i64;
    store.rename_run(&old, &commit, new, now).map_err(|e| match e {
        refs::Error::Store(core_store::Error::NameTaken { .. }) => {
            refs_error(e).with_hints(vec![format!(
                "pick another name (`git exp list` shows the names in use), or delete the \
                 other run first with `git exp rm {new}`"
            )])
        }
        e => refs_error(e),
    })?;
    // The old name no longer holds this run here: a pull does not bring it back.
    remember_removed(&store, &[(old.clone(), commit.clone())], ctx.clock.now(), err)?;
    if !ctx.ui.quiet {
        writeln!(err, "Renamed run {} to {new} ({}).", sanitize(&old), Store::short(&commit))?;
    }
    Ok(())
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

use crate::util::count as plural;

/// Resolves a spec to a committed run's name and commit; a spec that names a
/// running run gets an error that says so.
fn resolve(store: &Store, ctx: &Context, spec: &str) -> Result<(String, String), CliError> {
    match store.resolve_ref(spec) {
        Ok(found) => Ok(found),
        Err(
            core_store::Error::UnknownRun { spec: s } | core_store::Error::NotExact { spec: s },
        ) => {
            let wanted = s.strip_prefix(core_store::REF_PREFIX).unwrap_or(&s);
            let running = recover::running_runs(store, &ctx.vars, &ctx.clock)
                .into_iter()
                .find(|r| r.name == wanted || (wanted.len() >= 4 && r.exp.id.starts_with(wanted)));
            match running {
                Some(r) => Err(CliError::user(format!(
                    "run {} is still running; it has no commit yet",
                    sanitize(&r.name)
                ))
                .hint("wait for it to end (or stop its command), then run this again")),
                None => Err(core_store::Error::NotExact { spec: s }.into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

fn refs_error(e: refs::Error) -> CliError {
    let hint = match &e {
        refs::Error::Store(_) => None,
        refs::Error::Changed { .. } => {
            Some("nothing was changed; `git exp list` shows the runs as they are now".to_owned())
        }
        refs::Error::GroupClash { .. } => Some(
            "pick another name; `a` and `a/b` cannot both be runs, but `a-1` and `a/b` can"
                .to_owned(),
        ),
        refs::Error::OwnGroup { old, new } => Some(format!(
            "go through a free name: `git exp rename {old} {old}-tmp && git exp rename {old}-tmp {new}`"
        )),
    };
    match (e, hint) {
        (refs::Error::Store(e), _) => e.into(),
        (e, hint) => CliError::new(Kind::User, e).with_hints(hint.into_iter().collect()),
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
