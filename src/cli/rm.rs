//! `git exp rm`: deleting runs here and, with `--remote`, on a git remote. The
//! deletion is `store::manage::rm`; this file resolves the specs and renders.
//! Also the run resolution and ref-error hints `rename` shares.

use std::io::Write;

use clap::Args;

use super::error::Kind;
use super::{CliError, Context};
use crate::capture::recover;
use crate::store::manage::{self, RmOptions, Warning};
use crate::store::refs;
use crate::store::{self as core_store, Store};
use crate::text::line as sanitize;
use crate::util::anonymize_url;

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
    let options = RmOptions {
        runs: &targets,
        remote: remote.as_deref(),
        dry_run: args.dry_run,
        now: ctx.clock.now() as i64,
    };
    let outcome = manage::rm(&store, &options).map_err(manage_error)?;
    if let Some(warning) = &outcome.warning {
        write_warning(err, warning)?;
    }
    if !ctx.ui.quiet || args.dry_run {
        let verb = if args.dry_run { "Would delete" } else { "Deleted" };
        for (name, commit) in &outcome.deleted {
            let place = match &remote {
                None => String::new(),
                Some(r) if outcome.on_remote.iter().any(|(n, _)| n == name) => {
                    format!(" here and on {}", anonymize_url(r))
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
            let them = if outcome.deleted.len() == 1 { "it" } else { "them" };
            writeln!(
                err,
                "note: a plain `git fetch {r}` fetches {them} again while {r} has {them} (`git exp \
                 init` set that up); `git exp rm --remote {r}` deletes runs there too"
            )?;
        }
    }
    if !outcome.refused.is_empty() {
        let remote = anonymize_url(remote.as_deref().unwrap_or(""));
        let names: Vec<String> = outcome
            .refused
            .iter()
            .map(|(n, why)| format!("{} ({})", sanitize(n), sanitize(why)))
            .collect();
        return Err(CliError::user(format!("{remote} refused to delete {}", names.join(", ")))
            .hint(format!(
                "{remote} changed meanwhile; these runs were kept here too: `git exp pull {remote}` shows what it has now"
            )));
    }
    Ok(())
}

/// Writes a warning about the memory of removed runs (the runs are deleted all the same).
pub(super) fn write_warning(err: &mut dyn Write, warning: &Warning) -> std::io::Result<()> {
    match warning {
        Warning::Replaced(why) => writeln!(err, "warning: {}; it was replaced", sanitize(why)),
        Warning::NotRemembered { path, error } => writeln!(
            err,
            "warning: cannot remember the deleted runs in {path} ({}): `git exp pull` may fetch them again",
            sanitize(error)
        ),
    }
}

/// Resolves a spec to a committed run's name and commit; a spec that names a
/// running run gets an error that says so.
pub(super) fn resolve(
    store: &Store,
    ctx: &Context,
    spec: &str,
) -> Result<(String, String), CliError> {
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

/// The error of `rm` or `rename`, with its hint.
pub(super) fn manage_error(e: manage::Error) -> CliError {
    match e {
        manage::Error::NameLive(new) => CliError::user(format!("a running run is named '{new}'"))
            .hint("pick another name, or wait for that run to end"),
        manage::Error::DifferentOnRemote { remote, runs } => {
            let others: Vec<String> = runs
                .iter()
                .map(|(name, theirs)| format!("{} ({})", sanitize(name), Store::short(theirs)))
                .collect();
            let runs = if others.len() == 1 { "a different run" } else { "different runs" };
            CliError::user(format!(
                "{} has {runs} named {}",
                anonymize_url(&remote),
                others.join(", ")
            ))
            .hint("nothing was deleted, here or there; without --remote, `git exp rm` deletes the runs here only")
        }
        manage::Error::Refs(e) => refs_error(e),
        manage::Error::Store(e) => e.into(),
        manage::Error::Io(e) => crate::capture::live::Error::from(e).into(),
    }
}

/// A ref edit's error, with its hint.
pub(super) fn refs_error(e: refs::Error) -> CliError {
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
