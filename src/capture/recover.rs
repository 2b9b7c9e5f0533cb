//! Recovery of orphaned live runs: a live directory whose lock is free belongs
//! to a tracker that died (SIGKILL, OOM, power loss). Any git-exp command that
//! opens the repository commits such runs as `crashed` with everything that was
//! logged, so nothing is lost.

use std::io::Read;

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
            Ok(r) => {
                recovered.push(r);
                let _ = orphan.remove();
            }
            Err(e) => problems.push(format!("cannot recover the run in {}: {e}", dir.display())),
        }
    }
    (recovered, problems)
}

fn recover_one(
    store: &Store,
    dir: &std::path::Path,
    vars: &[(String, String)],
) -> Result<Recovered, finish::Error> {
    let meta = live::read_meta(dir)?;
    // A previous recovery (or the tracker itself) may have committed the run and
    // died before removing the directory.
    if let Some(done) = already_committed(store, &meta) {
        return Ok(done);
    }
    let (ingest, last_write) = ingest_file(dir, &meta)?;
    let ending =
        Ending { status: Status::Crashed, exit_code: None, signal: None, ended: last_write };
    let redactor = Redactor::from_env(vars);
    let committed = finish::commit(store, dir, &meta, ending, ingest.into_ingested(), &redactor)?;
    Ok(Recovered { name: committed.name, commit: committed.commit })
}

/// The run of `meta` if it is committed already.
pub(super) fn already_committed(store: &Store, meta: &live::LiveMeta) -> Option<Recovered> {
    match store.find_by_name(&meta.name, crate::store::repo::Detail::Listing) {
        Ok(Some(run)) if run.exp.id == meta.id => {
            Some(Recovered { name: run.name, commit: run.commit })
        }
        _ => None,
    }
}

/// Reads the whole events file of a live directory no process appends to any
/// more. Points without `_time` get the file's modification time. Also returns
/// the last time anything in the directory was written.
pub(super) fn ingest_file(
    dir: &std::path::Path,
    meta: &live::LiveMeta,
) -> Result<(Ingest, f64), finish::Error> {
    let io = |source| finish::Error::Io { dir: dir.display().to_string(), source };
    let events = dir.join(live::files::EVENTS);
    let mut ingest = Ingest::new();
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
pub fn running_runs(store: &Store, vars: &[(String, String)]) -> Vec<crate::store::RunRecord> {
    let redactor = Redactor::from_env(vars);
    let mut out = Vec::new();
    for dir in live::list(store.common_dir()) {
        if !live::is_alive(&dir) {
            continue;
        }
        let Ok(meta) = live::read_meta(&dir) else { continue };
        let now = crate::util::now_unix();
        let mut ingest = Ingest::new();
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
            commit: String::new(),
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
