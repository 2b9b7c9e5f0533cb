//! Recovery of orphaned live runs: a live directory whose lock is free belongs
//! to a tracker that died (SIGKILL, OOM, power loss). Any git-exp command that
//! opens the repository commits such runs as `crashed` with everything that was
//! logged, so nothing is lost.

use std::io::Read;

use crate::artifacts;
use crate::env::redact::Redactor;
use crate::store::format::Status;
use crate::store::Store;

use super::events::Ingest;
use super::finish::{self, Ending};
use super::live;

/// A run committed by recovery.
#[derive(Debug, Clone)]
pub struct Recovered {
    /// Its name.
    pub name: String,
    /// Its commit.
    pub commit: String,
}

/// Commits every orphaned live run of the repository as `crashed`. Failures are
/// returned as messages; the live directory then stays for a later attempt.
/// Messages also tell of files that could not be kept and were moved to
/// lost-found, or not (then the directory stays too).
pub fn recover_orphans(store: &Store, vars: &[(String, String)]) -> (Vec<Recovered>, Vec<String>) {
    let mut recovered = Vec::new();
    let mut problems = Vec::new();
    live::clean_unfinished(store.common_dir());
    for dir in live::list(store.common_dir()) {
        if live::child_alive(&dir) {
            // The tracker died but its command still runs and may still log:
            // wait until it ends, so that nothing it logs is lost.
            continue;
        }
        let Some(orphan) = live::try_adopt(&dir) else { continue };
        match recover_one(store, &orphan.dir, vars) {
            Ok(done) => {
                let keep = done.lost.iter().any(|r| r.error.is_some());
                let name = &done.run.name;
                let warnings = artifacts::lost_warnings(&done.lost);
                problems.extend(warnings.into_iter().map(|w| format!("run {name}: {w}")));
                if done.reported {
                    recovered.push(done.run);
                }
                if !keep {
                    let _ = orphan.remove();
                }
            }
            Err(e) => problems.push(format!("cannot recover the run in {}: {e}", dir.display())),
        }
    }
    (recovered, problems)
}

/// What recovery did with one live directory.
struct Done {
    /// The run, committed now or before.
    run: Recovered,
    /// Whether to tell of it as a recovered run (not when an earlier process
    /// committed it and left the directory on purpose).
    reported: bool,
    /// Files that could not be kept, and whether each is in lost-found now.
    lost: Vec<artifacts::Rescue>,
}

fn recover_one(
    store: &Store,
    dir: &std::path::Path,
    vars: &[(String, String)],
) -> Result<Done, finish::Error> {
    let meta = live::read_meta(dir)?;
    // A previous recovery (or the tracker itself) may have committed the run and
    // died before removing the directory, or left it because a file it could
    // not keep could not be moved either.
    if let Some((run, marked)) = committed_before(store, dir, &meta) {
        let lost = settle(store, dir, &meta, &run);
        return Ok(Done { run, reported: !marked, lost });
    }
    let redactor = Redactor::from_env(vars);
    let (ingest, last_write) = ingest_file(dir, &meta, &redactor)?;
    let ending =
        Ending { status: Status::Crashed, exit_code: None, signal: None, ended: last_write };
    let committed = finish::commit(store, dir, &meta, ending, ingest.into_ingested(), &redactor)?;
    let run = Recovered { name: committed.name, commit: committed.commit };
    Ok(Done { run, reported: true, lost: committed.lost })
}

/// The run of the live directory `dir` if it is committed already, and whether
/// the committing process left the directory behind on purpose (its mark
/// names the commit, so the run is not committed again even if it was
/// renamed or deleted meanwhile). Without a mark, the run is looked up by its
/// name, and by the name it gets when that was taken, with the same id.
pub(super) fn committed_before(
    store: &Store,
    dir: &std::path::Path,
    meta: &live::LiveMeta,
) -> Option<(Recovered, bool)> {
    if let Some((name, commit)) = finish::committed_mark(dir) {
        return Some((Recovered { name, commit }, true));
    }
    for name in [meta.name.clone(), finish::fallback_name(meta)] {
        match store.find_by_name(&name, crate::store::repo::Detail::Listing) {
            Ok(Some(run)) if run.exp.id == meta.id => {
                if let Some(commit) = run.commit {
                    return Some((Recovered { name: run.name, commit: commit.to_string() }, false));
                }
            }
            _ => {}
        }
    }
    None
}

/// Moves the files of the live directory `dir` that its committed run `run`
/// could not keep (its `[[skipped]]` files still there) to lost-found. When
/// the run's artifact list cannot be read, every file left in the live
/// `artifacts/` is moved: nothing else holds them.
pub(super) fn settle(
    store: &Store,
    dir: &std::path::Path,
    meta: &live::LiveMeta,
    run: &Recovered,
) -> Vec<artifacts::Rescue> {
    let live_files = dir.join(artifacts::LIVE_DIR);
    if !live_files.is_dir() {
        return Vec::new();
    }
    let lost_found = artifacts::lost_found_dir(store.common_dir(), &meta.id);
    let mut lost = Vec::new();
    match store.run_artifacts(&run.name, &run.commit) {
        Ok(file) => {
            for skipped in file.skipped {
                let Ok(name) = artifacts::clean_name(&skipped.path) else { continue };
                let path = live_files.join(&name);
                if fs_err::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
                    let l = artifacts::Lost::new(store, &name, String::new(), &path, &lost_found);
                    // The reason says where it is kept; the cause is what precedes that.
                    let cause = skipped.reason.strip_suffix(&format!("; kept at {}", l.shown));
                    let cause = cause.unwrap_or(&skipped.reason).to_owned();
                    lost.push(artifacts::Lost { cause, ..l });
                }
            }
        }
        Err(e) => {
            let (mut wanted, mut skipped) = (artifacts::select::Wanted::new(), Vec::new());
            let origin = artifacts::local::Origin::Live;
            artifacts::select::walk(&live_files, "", origin, &mut wanted, &mut skipped);
            for (name, (path, _)) in wanted {
                let cause = format!("the run's artifact list cannot be read: {e}");
                lost.push(artifacts::Lost::new(store, &name, cause, &path, &lost_found));
            }
        }
    }
    lost.into_iter().map(artifacts::Lost::rescue).collect()
}

/// Reads the whole events file of a live directory no process appends to any
/// more. Points without `_time` get the file's modification time. Also returns
/// the last time anything in the directory was written. Samples of malformed
/// lines are redacted with `redactor`.
pub(super) fn ingest_file(
    dir: &std::path::Path,
    meta: &live::LiveMeta,
    redactor: &Redactor,
) -> Result<(Ingest, f64), finish::Error> {
    let io = |source| finish::Error::Io { dir: dir.display().to_string(), source };
    let events = dir.join(live::files::EVENTS);
    let mut ingest = Ingest::with_redactor(redactor.clone());
    let mut last_write = meta.started;
    if let Ok(mut file) = fs_err::File::open(&events) {
        let mtime = file
            .metadata()
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs_f64())
            .unwrap_or(meta.started);
        last_write = last_write.max(mtime);
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut buf).map_err(io)?;
            if n == 0 {
                break;
            }
            ingest.feed(&buf[..n], mtime);
        }
        ingest.finish(mtime);
    }
    for entry in fs_err::read_dir(dir).map_err(io)?.flatten() {
        if let Some(t) = entry.metadata().ok().and_then(|m| m.modified().ok()) {
            if let Ok(d) = t.duration_since(std::time::UNIX_EPOCH) {
                last_write = last_write.max(d.as_secs_f64());
            }
        }
    }
    Ok((ingest, last_write))
}

/// Runs that are live right now (their tracker holds the lock), as records with
/// status `running`, an empty commit id and what they have logged so far.
pub fn running_runs(
    store: &Store,
    vars: &[(String, String)],
    clock: &crate::util::Clock,
) -> Vec<crate::store::RunRecord> {
    let redactor = Redactor::from_env(vars);
    let mut out = Vec::new();
    for dir in live::list(store.common_dir()) {
        // A committed run whose directory stays for a file it could not keep
        // is not running, even while the process that finished it lives on.
        if !live::is_alive(&dir) || finish::committed_mark(&dir).is_some() {
            continue;
        }
        let Ok(meta) = live::read_meta(&dir) else { continue };
        let now = clock.now();
        let mut ingest = Ingest::with_redactor(redactor.clone());
        if let Ok(bytes) = fs_err::read(dir.join(live::files::EVENTS)) {
            ingest.feed(&bytes, now);
            ingest.finish(now);
        }
        let ingested = ingest.into_ingested();
        let ending = Ending { status: Status::Running, exit_code: None, signal: None, ended: now };
        let finish::Record { mut exp, config, summary } =
            finish::record(&meta, &ingested, &ending, &redactor);
        exp.ended = String::new();
        out.push(crate::store::RunRecord {
            name: meta.name,
            commit: None,
            exp,
            config,
            summary,
            env: None,
            output: None,
            artifacts: Default::default(),
        });
    }
    out
}

/// The run `spec` names, read in full: a committed run (with how the spec
/// matched it), else a running run whose name is `spec` or whose id starts with
/// it (4 hex digits at least), which has no commit yet and shows what it logged
/// so far (`None` for how it matched).
pub fn resolve_or_running(
    store: &Store,
    spec: &str,
    vars: &[(String, String)],
    clock: &crate::util::Clock,
) -> Result<(crate::store::RunRecord, Option<crate::store::spec::Found>), crate::store::Error> {
    match store.resolve(spec, crate::store::repo::Detail::Full) {
        Ok((run, found)) => Ok((run, Some(found))),
        Err(crate::store::Error::UnknownRun { spec }) => running_runs(store, vars, clock)
            .into_iter()
            .find(|r| r.name == spec || (spec.len() >= 4 && r.exp.id.starts_with(&spec)))
            .map(|run| (run, None))
            .ok_or(crate::store::Error::UnknownRun { spec }),
        Err(e) => Err(e),
    }
}
