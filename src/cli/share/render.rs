//! `git exp push`, `git exp pull` (`fetch`) and `git exp init`: moving runs and
//! their large artifacts to and from a remote. Refs go through the user's git;
//! artifacts through the remote store configured for that git remote.
//!
//! Order matters: a push uploads the artifacts first and pushes a run's ref
//! only when all its artifacts are in the store, so whoever sees the run can
//! get its files. A run name that the other side holds for a different run is
//! a conflict: reported, never overwritten, in either direction.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::Command as Process;

use clap::Args;

use super::progress::Bar;
use super::start::PlumbingFormat;
use super::{CliError, Context};
use crate::artifacts::remote::{self, Object, Remote, Settings, Transfer};
use crate::store::format::Storage;
use crate::store::removed;
use crate::store::repo::Detail;
use crate::store::transport::{classify, group_clash, Outcome};
use crate::store::{Store, REF_PREFIX};
use crate::util::{anonymize_url, human_bytes};

pub use crate::store::transport::RUNS_REFSPEC;
/// Marks the branch push refspec `init` added, so `init --remove` takes it back.
const PUSH_ADDED_KEY: &str = "expPushAdded";
/// Marks that `init` turned pruning off for the remote.
const PRUNE_SET_KEY: &str = "expPruneSet";

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
    /// --dry-run, --quiet, --format
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
    /// --dry-run, --quiet, --format
    #[command(flatten)]
    pub flags: TransferFlags,
}

/// The flags push and pull share.
#[derive(Debug, Args)]
pub struct TransferFlags {
    /// Say what would be sent or fetched, change nothing
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    /// No status lines or progress bar
    #[arg(short, long)]
    pub quiet: bool,
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

/// One run in a push or pull report.
#[derive(Debug, serde::Serialize)]
struct RunReport {
    name: String,
    commit: String,
    outcome: Outcome,
    /// The other side's commit, for a conflict.
    #[serde(skip_serializing_if = "Option::is_none")]
    theirs: Option<String>,
    /// The other side's run in the way, for a name clash.
    #[serde(skip_serializing_if = "Option::is_none")]
    clashes_with: Option<String>,
    /// Why a run was held back.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// What `push` or `pull` did (`--format json`).
#[derive(Debug, serde::Serialize)]
struct Report {
    remote: String,
    artifact_store: Option<String>,
    dry_run: bool,
    runs: Vec<RunReport>,
    artifacts: Transfer,
}

impl Report {
    /// The report of runs classified against `other` (the other side's refs).
    fn new(
        remote: String,
        artifact_store: Option<String>,
        dry_run: bool,
        classified: Vec<(String, String, Outcome)>,
        other: &BTreeMap<String, String>,
        artifacts: Transfer,
    ) -> Report {
        let runs = classified
            .into_iter()
            .map(|(name, commit, outcome)| RunReport {
                theirs: (outcome == Outcome::Conflict).then(|| other.get(&name).cloned()).flatten(),
                clashes_with: (outcome == Outcome::NameClash)
                    .then(|| group_clash(&name, other))
                    .flatten(),
                reason: None,
                name,
                commit,
                outcome,
            })
            .collect();
        Report { remote: anonymize_url(&remote), artifact_store, dry_run, runs, artifacts }
    }
}

/// Runs `git exp push`.
pub fn cmd_push(
    mut args: PushArgs,
    ctx: &Context,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    let store = ctx.open_store(err)?;
    let remote = pick_remote(&store, args.remote.take(), &mut args.runs, true)?;
    let runs = select_local_runs(&store, &args.runs)?;
    let theirs = store.remote_runs(&remote)?;
    let mut classified = classify(&runs, &theirs);

    // Artifacts first: a run's ref goes out only with all its files in the store.
    let sendable: Vec<(String, String)> = classified
        .iter()
        .filter(|(_, _, o)| *o != Outcome::Conflict)
        .map(|(n, c, _)| (n.clone(), c.clone()))
        .collect();
    let (objects, owners, unreadable) = store_objects(&store, &sendable);
    warn_unreadable(err, &unreadable)?;
    let mut transfer = Transfer::default();
    let mut store_url = None;
    // A run goes out only with all its artifacts: not with an unreadable list.
    let mut held_back: BTreeSet<String> = unreadable.into_iter().map(|(n, _)| n).collect();
    if !objects.is_empty() && !args.no_artifacts {
        let settings = Settings::for_remote(&store, Some(&remote), &ctx.vars)
            .ok_or_else(|| no_store_error(&remote, &objects))?;
        let artifacts = Remote::open(&settings)?;
        store_url = Some(artifacts.url().to_owned());
        if args.flags.dry_run {
            transfer.transferred = objects.clone();
        } else {
            let total = objects.iter().map(|o| o.size).sum();
            let bar = Bar::new(total, "Uploading artifacts", args.flags.quiet);
            transfer = artifacts.upload(store.common_dir(), &objects, &bar);
        }
        for failure in &transfer.failed {
            held_back.extend(owners.get(&failure.sha256).into_iter().flatten().cloned());
        }
    }

    let to_push: Vec<(String, String)> = classified
        .iter()
        .filter(|(n, _, o)| *o == Outcome::New && !held_back.contains(n))
        .map(|(n, c, _)| (n.clone(), c.clone()))
        .collect();
    let pushed = if args.flags.dry_run || to_push.is_empty() {
        Default::default()
    } else {
        store.push_runs(&remote, &to_push)?
    };
    let rejected: BTreeSet<&String> = pushed.rejected.iter().collect();
    let damaged: BTreeMap<&String, &String> = pushed.failed.iter().map(|(n, w)| (n, w)).collect();
    for (name, _, outcome) in &mut classified {
        if rejected.contains(name) {
            *outcome = Outcome::Rejected;
        } else if *outcome == Outcome::New
            && (held_back.contains(name) || damaged.contains_key(name))
        {
            *outcome = Outcome::HeldBack;
        }
    }
    let mut report =
        Report::new(remote, store_url, args.flags.dry_run, classified, &theirs, transfer);
    for run in &mut report.runs {
        if run.outcome == Outcome::HeldBack {
            run.reason = Some(match damaged.get(&run.name) {
                Some(why) => format!("git could not send it: {why}"),
                None => "its artifacts could not all be read or uploaded".to_owned(),
            });
        }
    }
    print_report(&report, true, &args.flags.format, args.flags.quiet, out, err)
}

/// Runs `git exp pull`.
pub fn cmd_pull(
    mut args: PullArgs,
    ctx: &Context,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    let store = ctx.open_store(err)?;
    let remote = pick_remote(&store, args.remote.take(), &mut args.runs, false)?;
    let theirs = store.remote_runs(&remote)?;
    let mut wanted: Vec<(String, String)> = Vec::new();
    if args.runs.is_empty() {
        wanted.extend(theirs.iter().map(|(n, c)| (n.clone(), c.clone())));
    } else {
        for name in &args.runs {
            let name = name.strip_prefix(REF_PREFIX).unwrap_or(name);
            let commit = theirs.get(name).ok_or_else(|| {
                CliError::user(format!("{} has no run named '{name}'", anonymize_url(&remote)))
                    .hint("`git exp pull` without run names fetches them all")
            })?;
            wanted.push((name.to_owned(), commit.clone()));
        }
    }
    // Names from the other side must be names here too.
    wanted.retain(|(name, _)| match crate::store::name::validate(name) {
        Ok(()) => true,
        Err(e) => {
            let _ = writeln!(
                err,
                "warning: skipping a run of {}: {}",
                anonymize_url(&remote),
                crate::text::line(&e.to_string())
            );
            false
        }
    });
    let mine: BTreeMap<String, String> = store.list_refs()?.into_iter().collect();
    let mut classified = classify(&wanted, &mine);
    // Runs deleted here stay deleted, unless named or asked for; a different
    // run pushed later under the same name is not one of them.
    let (removed, damaged) = removed::read(store.common_dir());
    if let Some(why) = damaged {
        writeln!(
            err,
            "warning: {}; it is ignored, so runs deleted here may be fetched again",
            crate::text::line(&why)
        )?;
    }
    if args.runs.is_empty() && !args.include_removed {
        for (name, commit, outcome) in &mut classified {
            if *outcome != Outcome::UpToDate && removed.contains(name, commit) {
                *outcome = Outcome::RemovedHere;
            }
        }
    }
    let new: Vec<String> = classified
        .iter()
        .filter(|(_, _, o)| *o == Outcome::New)
        .map(|(n, _, _)| n.clone())
        .collect();
    let rejected: BTreeSet<String> = if args.flags.dry_run {
        BTreeSet::new()
    } else {
        store.fetch_runs(&remote, &new)?.into_iter().collect()
    };
    let fetched: Vec<(String, String)> = classified
        .iter()
        .filter(|(n, _, o)| *o == Outcome::New && !rejected.contains(n) && !args.flags.dry_run)
        .map(|(n, c, _)| (n.clone(), c.clone()))
        .collect();
    let not_runs: BTreeMap<String, String> = store.drop_non_runs(&fetched).into_iter().collect();
    for (name, commit, outcome) in &mut classified {
        if rejected.contains(name) {
            *outcome = Outcome::Rejected;
        } else if not_runs.contains_key(name) {
            *outcome = Outcome::HeldBack;
        } else if *outcome == Outcome::New && !args.flags.dry_run {
            // Fetched runs are someone else's data: say so now if one cannot be
            // read (its metadata and artifact list; not its log, which can be MiBs).
            let readable = store
                .read_run(name, commit, Detail::Listing)
                .and_then(|_| store.run_artifacts(name, commit));
            if let Err(e) = readable {
                let _ = writeln!(
                    err,
                    "warning: fetched run {name} cannot be read: {}",
                    crate::text::line(&e.to_string())
                );
            }
        }
    }

    if !args.flags.dry_run {
        let back: Vec<(String, String)> = classified
            .iter()
            .filter(|(n, c, o)| *o == Outcome::New && removed.contains(n, c))
            .map(|(n, c, _)| (n.clone(), c.clone()))
            .collect();
        if let Err(e) = removed::forget(store.common_dir(), &back) {
            writeln!(
                err,
                "warning: cannot update {}: {e}",
                removed::path(store.common_dir()).display()
            )?;
        }
    }

    let mut transfer = Transfer::default();
    let mut store_url = None;
    if args.artifacts {
        let present: Vec<(String, String)> = classified
            .iter()
            .filter(|(_, _, o)| matches!(o, Outcome::New | Outcome::UpToDate))
            .filter(|(n, _, _)| !rejected.contains(n))
            .map(|(n, c, _)| (n.clone(), c.clone()))
            .collect();
        let readable: Vec<(String, String)> = if args.flags.dry_run {
            present.into_iter().filter(|(_, c)| mine.values().any(|m| m == c)).collect()
        } else {
            present
        };
        let (objects, _, unreadable) = store_objects(&store, &readable);
        warn_unreadable(err, &unreadable)?;
        let missing: Vec<Object> = objects
            .into_iter()
            .filter(|o| {
                remote::local_path(store.common_dir(), &o.sha256).is_none_or(|p| !p.exists())
            })
            .collect();
        if !missing.is_empty() {
            let settings = Settings::for_remote(&store, Some(&remote), &ctx.vars)
                .ok_or_else(|| no_store_error(&remote, &missing))?;
            let artifacts = Remote::open(&settings)?;
            store_url = Some(artifacts.url().to_owned());
            if args.flags.dry_run {
                transfer.transferred = missing;
            } else {
                let total = missing.iter().map(|o| o.size).sum();
                let bar = Bar::new(total, "Downloading artifacts", args.flags.quiet);
                transfer = artifacts.download(store.common_dir(), &missing, &bar);
            }
        }
    }
    let mut report =
        Report::new(remote, store_url, args.flags.dry_run, classified, &mine, transfer);
    for run in &mut report.runs {
        run.reason = not_runs.get(&run.name).cloned();
    }
    print_report(&report, false, &args.flags.format, args.flags.quiet, out, err)
}

/// Runs `git exp init`.
pub fn cmd_init(
    args: InitArgs,
    ctx: &Context,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    let _ = out;
    let store = ctx.open_store(err)?;
    let remote = match args.remote {
        Some(r) => r,
        None => store.default_remote(false).ok_or_else(|| no_remote_error("init"))?,
    };
    if !store.remote_names().contains(&remote) {
        return Err(CliError::user(format!("'{remote}' is not a configured git remote"))
            .hint("add it with `git remote add NAME URL`, then run `git exp init NAME`"));
    }
    let git = Git { store: &store };
    let fetch_key = format!("remote.{remote}.fetch");
    let push_key = format!("remote.{remote}.push");
    let added_key = format!("remote.{remote}.{PUSH_ADDED_KEY}");
    let prune_key = format!("remote.{remote}.prune");
    let prune_set_key = format!("remote.{remote}.{PRUNE_SET_KEY}");
    if args.remove {
        git.unset(&fetch_key, RUNS_REFSPEC)?;
        git.unset(&push_key, RUNS_REFSPEC)?;
        if let Some(added) = git.get_all(&added_key)?.into_iter().next() {
            git.unset(&push_key, &added)?;
            git.unset(&added_key, &added)?;
        }
        if git.get_all(&prune_set_key)?.first().is_some_and(|v| v == "true") {
            git.unset(&prune_key, "false")?;
            git.unset(&prune_set_key, "true")?;
        }
        writeln!(err, "Plain git push and git fetch of {remote} no longer carry runs.")?;
        return Ok(());
    }
    // Pruning would delete every run not (yet) on the remote: off for this remote.
    // git reads the booleans (every spelling, and a `prune` line with no value),
    // before anything is changed.
    let remote_prune = git.get_bool(&prune_key)?;
    let prunes = match remote_prune {
        Some(p) => p,
        None => git.get_bool("fetch.prune")?.unwrap_or(false),
    };
    if !git.get_all(&fetch_key)?.iter().any(|v| v == RUNS_REFSPEC) {
        git.add(&fetch_key, RUNS_REFSPEC)?;
    }
    if prunes {
        if remote_prune.is_some() {
            git.unset_all(&prune_key)?;
        }
        git.add(&prune_key, "false")?;
        git.add(&prune_set_key, "true")?;
        writeln!(
            err,
            "warning: fetches of {remote} no longer prune (remote.{remote}.prune = false): pruning would delete the runs you have not pushed; `git fetch --prune` still would"
        )?;
    }
    let pushes = git.get_all(&push_key)?;
    let mut carries_push = true;
    if !pushes.iter().any(|v| v == RUNS_REFSPEC) {
        // Any push refspec replaces git's default push (push.default); add the
        // refspec that does the same, where one exists.
        let mode = store.config_string("push.default").unwrap_or_else(|| "simple".into());
        let branch_spec = match (pushes.is_empty(), mode.as_str()) {
            (false, _) => Some(None),
            (true, "nothing") => Some(None),
            (true, "matching") => Some(Some(":")),
            (true, "simple" | "current") => Some(Some("HEAD")),
            // upstream/tracking push to the upstream's name, which no refspec says.
            _ => None,
        };
        match branch_spec {
            Some(spec) => {
                if let Some(spec) = spec {
                    git.add(&push_key, spec)?;
                    git.add(&added_key, spec)?;
                }
                git.add(&push_key, RUNS_REFSPEC)?;
            }
            None => {
                carries_push = false;
                writeln!(
                    err,
                    "note: push.default = {mode} cannot be kept with a push refspec, so plain git push is left as it is; push runs with `git exp push`"
                )?;
            }
        }
    }
    writeln!(
        err,
        "Plain git fetch{} of {remote} now carr{} runs ({RUNS_REFSPEC}); undo with `git exp init --remove {remote}`.",
        if carries_push { " and git push" } else { "" },
        if carries_push { "y" } else { "ies" }
    )?;
    if Settings::for_remote(&store, Some(&remote), &ctx.vars).is_none() {
        let _ = writeln!(
            err,
            "hint: large artifacts travel with `git exp push`; set their store with `git config remote.{remote}.expArtifacts s3://BUCKET/PREFIX`"
        );
    }
    Ok(())
}

/// `git config` for the values `init` manages (multi-valued keys).
struct Git<'a> {
    store: &'a Store,
}

impl Git<'_> {
    fn run(&self, args: &[&str]) -> Result<(i32, String), CliError> {
        let out = Process::new("git")
            .arg("-C")
            .arg(self.store.workdir())
            .arg("config")
            .args(args)
            .output()
            .map_err(|e| CliError::user(format!("cannot run git config: {e}")))?;
        Ok((out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned()))
    }

    fn get_all(&self, key: &str) -> Result<Vec<String>, CliError> {
        let (_, text) = self.run(&["--get-all", key])?;
        Ok(text.lines().map(str::to_owned).collect())
    }

    /// A boolean as git reads it (`git config --type=bool`), `None` when unset.
    fn get_bool(&self, key: &str) -> Result<Option<bool>, CliError> {
        match self.run(&["--type=bool", "--get", key])? {
            (0, text) => Ok(Some(text.trim_end() == "true")),
            (1, _) => Ok(None),
            (code, _) => Err(CliError::user(format!(
                "git config cannot read {key} as a boolean (exit {code})"
            ))
            .hint(format!("see `git config --get-all {key}` and set it to true or false"))),
        }
    }

    /// Removes every value of `key`, with or without one.
    fn unset_all(&self, key: &str) -> Result<(), CliError> {
        // 5: the key was not there.
        match self.run(&["--unset-all", key])? {
            (0 | 5, _) => Ok(()),
            (code, _) => {
                Err(CliError::user(format!("git config --unset-all {key} failed (exit {code})")))
            }
        }
    }

    fn add(&self, key: &str, value: &str) -> Result<(), CliError> {
        match self.run(&["--add", key, value])? {
            (0, _) => Ok(()),
            (code, _) => {
                Err(CliError::user(format!("git config --add {key} failed (exit {code})")))
            }
        }
    }

    fn unset(&self, key: &str, value: &str) -> Result<(), CliError> {
        // 5: the value was not there.
        match self.run(&["--fixed-value", "--unset-all", key, value])? {
            (0 | 5, _) => Ok(()),
            (code, _) => {
                Err(CliError::user(format!("git config --unset-all {key} failed (exit {code})")))
            }
        }
    }
}

/// The remote to use: the one given, else git's default. A first argument
/// that is not a remote but names a run is taken as a run
/// (`git exp push my-run`).
pub(super) fn pick_remote(
    store: &Store,
    given: Option<String>,
    runs: &mut Vec<String>,
    push: bool,
) -> Result<String, CliError> {
    let names = store.remote_names();
    if let Some(given) = given {
        let looks_like_location = given.contains(':')
            || given.contains('/') && std::path::Path::new(&given).exists()
            || given.starts_with('.')
            || given.starts_with('/');
        if names.contains(&given) || looks_like_location {
            return Ok(given);
        }
        let is_run =
            if push { store.resolve(&given, Detail::Listing).is_ok() } else { !names.is_empty() };
        if !is_run {
            let known = if names.is_empty() { "none".to_owned() } else { names.join(", ") };
            return Err(CliError::user(format!(
                "'{}' is neither a git remote nor a run (remotes: {known})",
                anonymize_url(&given)
            )));
        }
        runs.insert(0, given);
    }
    store.default_remote(push).ok_or_else(|| no_remote_error(if push { "push" } else { "pull" }))
}

/// The error of a command that needs a remote, in a repository with none.
fn no_remote_error(verb: &str) -> CliError {
    CliError::user("this repository has no git remote to use").hint(format!(
        "name one (`git exp {verb} REMOTE`), or add one with `git remote add origin URL`"
    ))
}

fn no_store_error(remote: &str, objects: &[Object]) -> CliError {
    let bytes: u64 = objects.iter().map(|o| o.size).sum();
    CliError::user(format!(
        "{} large artifact{} ({}) need an artifact store, and none is configured for {remote}",
        objects.len(),
        plural(objects.len()),
        human_bytes(bytes)
    ))
    .hint(format!(
        "set one: `git config remote.{remote}.expArtifacts s3://BUCKET/PREFIX` (or exp.artifacts.url for every remote); see docs/artifacts.md"
    ))
    .hint("or push the runs alone with --no-artifacts")
}

/// The runs the specs name (all runs when none), as (name, commit).
fn select_local_runs(store: &Store, specs: &[String]) -> Result<Vec<(String, String)>, CliError> {
    if specs.is_empty() {
        return Ok(store.list_refs()?);
    }
    let mut out: Vec<(String, String)> = Vec::new();
    for spec in specs {
        let (run, _) = store.resolve(spec, Detail::Listing)?;
        if !out.iter().any(|(n, _)| *n == run.name) {
            out.push((run.name, run.commit));
        }
    }
    Ok(out)
}

/// Runs that own each object, by hash.
type Owners = BTreeMap<String, Vec<String>>;

/// The store objects of `runs`, which runs own each object, and the runs
/// whose artifact list cannot be read (name, why), which are left out: one
/// damaged run, perhaps fetched from someone else, does not stop the others.
fn store_objects(
    store: &Store,
    runs: &[(String, String)],
) -> (Vec<Object>, Owners, Vec<(String, String)>) {
    let mut objects: BTreeMap<String, u64> = BTreeMap::new();
    let mut owners = Owners::new();
    let mut unreadable = Vec::new();
    for (name, commit) in runs {
        let file = match store.run_artifacts(name, commit) {
            Ok(file) => file,
            Err(e) => {
                unreadable.push((name.clone(), e.to_string()));
                continue;
            }
        };
        for entry in file.artifacts.into_iter().filter(|e| e.storage == Storage::Store) {
            owners.entry(entry.sha256.clone()).or_default().push(name.clone());
            objects.insert(entry.sha256, entry.size);
        }
    }
    let objects = objects.into_iter().map(|(sha256, size)| Object { sha256, size }).collect();
    (objects, owners, unreadable)
}

/// Warns about runs whose artifact list cannot be read.
fn warn_unreadable(err: &mut dyn Write, unreadable: &[(String, String)]) -> std::io::Result<()> {
    for (name, why) in unreadable {
        writeln!(
            err,
            "warning: run {name}: {}; its artifacts are left out (repair it, or delete it with `git exp rm {name}`)",
            crate::text::line(why)
        )?;
    }
    Ok(())
}

/// Prints the outcome; an error when anything was left undone.
fn print_report(
    report: &Report,
    push: bool,
    format: &PlumbingFormat,
    quiet: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    if *format == PlumbingFormat::Json {
        super::output::write_json(out, report)?;
    }
    let count = |o: Outcome| report.runs.iter().filter(|r| r.outcome == o).count();
    let (new, same) = (count(Outcome::New), count(Outcome::UpToDate));
    let removed_here = count(Outcome::RemovedHere);
    let a = &report.artifacts;
    if !quiet && *format == PlumbingFormat::Text {
        let verb = match (push, report.dry_run) {
            (true, false) => "Pushed",
            (true, true) => "Would push",
            (false, false) => "Fetched",
            (false, true) => "Would fetch",
        };
        for run in report.runs.iter().filter(|r| r.outcome == Outcome::New) {
            writeln!(err, " * {} {}", Store::short(&run.commit), run.name)?;
        }
        for run in report.runs.iter().filter(|r| r.outcome == Outcome::RemovedHere) {
            writeln!(
                err,
                "Skipped run {} ({}): removed here; `git exp pull {} {}` fetches it again.",
                run.name,
                Store::short(&run.commit),
                report.remote,
                run.name
            )?;
        }
        let skipped =
            if removed_here > 0 { format!(", {removed_here} removed here") } else { String::new() };
        writeln!(
            err,
            "{verb} {new} run{} {} {} ({same} up to date{skipped}).",
            plural(new),
            if push { "to" } else { "from" },
            report.remote
        )?;
        if !a.transferred.is_empty() || !a.present.is_empty() {
            let verb = match (push, report.dry_run) {
                (true, false) => "Uploaded",
                (true, true) => "Would upload at most",
                (false, false) => "Downloaded",
                (false, true) => "Would download",
            };
            writeln!(
                err,
                "{verb} {} artifact{} ({}) {} {}; {} already there.",
                a.transferred.len(),
                plural(a.transferred.len()),
                human_bytes(a.bytes()),
                if push { "to" } else { "from" },
                report.artifact_store.as_deref().unwrap_or("?"),
                a.present.len()
            )?;
        }
    }
    let mut problems = 0;
    for f in &a.failed {
        writeln!(
            err,
            "error: artifact {}: {}",
            &f.sha256.get(..12).unwrap_or(&f.sha256),
            f.message
        )?;
        problems += 1;
    }
    for run in &report.runs {
        let theirs = run.theirs.as_deref().map(Store::short).unwrap_or("?");
        match run.outcome {
            Outcome::Conflict if push => writeln!(
                err,
                "error: run {}: {} has a different run of this name ({theirs}); rename yours with `git exp rename {} NEW-NAME` and push again",
                run.name, report.remote, run.name
            )?,
            Outcome::Conflict => writeln!(
                err,
                "error: run {}: you have a different run of this name ({theirs}); rename yours with `git exp rename {} NEW-NAME` and pull again",
                run.name, run.name
            )?,
            Outcome::NameClash => writeln!(
                err,
                "error: run {}: {} {} run {}, and a name cannot be both a run and a group of runs; rename yours with `git exp rename {} NEW-NAME`",
                run.name,
                if push { report.remote.as_str() } else { "you" },
                if push { "has" } else { "have" },
                run.clashes_with.as_deref().unwrap_or("?"),
                run.name
            )?,
            Outcome::HeldBack => writeln!(
                err,
                "error: run {} was not {}: {}",
                run.name,
                if push { "pushed" } else { "fetched" },
                match (&run.reason, push) {
                    (Some(why), true) => {
                        format!("{why}; repair it, or delete it with `git exp rm {}`", run.name)
                    }
                    (Some(why), false) => format!("{why}; ask its author to repair it"),
                    (None, _) => "it could not be sent".to_owned(),
                }
            )?,
            Outcome::Rejected => writeln!(
                err,
                "error: run {}: git refused the update ({} changed meanwhile?); run the command again",
                run.name, report.remote
            )?,
            _ => continue,
        }
        problems += 1;
    }
    if problems > 0 {
        return Err(CliError::user(format!(
            "{problems} problem{} (listed above); nothing else was left undone",
            plural(problems)
        )));
    }
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
