//! Runs that another program tracks itself, such as the Python client outside
//! `git exp run`: `start` creates the live run and hands it to a process given
//! by pid, and `finish` commits it. While that process lives, the run is
//! `running`; if it dies without finishing, recovery commits the run as
//! `crashed` with everything it logged.

use std::path::PathBuf;

use crate::env::redact::Redactor;
use crate::store::format::{MalformedEvents, Status};
use crate::store::Store;

use super::finish::{self, Committed, Ending};
use super::live;
use super::recover;
use super::run::{self, Error, Options};

/// A run started for another process.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Started {
    /// Run id.
    pub id: String,
    /// Run name.
    pub name: String,
    /// The live directory.
    pub dir: PathBuf,
    /// The events file to append to.
    pub events: PathBuf,
    /// The params file.
    pub params: PathBuf,
}

/// Starts a run owned by process `pid` (`opts.command` is recorded, not run).
pub fn start(store: &Store, opts: &Options, pid: u32) -> Result<Started, Error> {
    if !live::process_running(pid) {
        return Err(Error::NoSuchProcess(pid));
    }
    let begun = run::begin(store, opts)?;
    (begun.env_job(store, &opts.vars))();
    live::record_child(&begun.live.dir, pid);
    let live = &begun.live;
    Ok(Started {
        id: live.meta.id.clone(),
        name: live.meta.name.clone(),
        dir: live.dir.clone(),
        events: live.path(live::files::EVENTS),
        params: live.path(live::files::PARAMS),
    })
    // Dropping `begun` releases the lock; the directory stays for `pid`.
}

/// How a tracked process says its run ended.
#[derive(Debug, Clone, Copy)]
pub struct End {
    /// Final status (finished, failed or killed).
    pub status: Status,
    /// The process's exit code, if known.
    pub exit_code: Option<i32>,
    /// The signal that ends it, if any.
    pub signal: Option<i32>,
}

/// Commits the live run `id` with everything logged so far; returns it with
/// its duration in seconds.
pub fn finish(
    store: &Store,
    id: &str,
    end: End,
    vars: &[(String, String)],
    clock: &crate::util::Clock,
) -> Result<(Committed, f64), Error> {
    let well_formed = id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
    let dir = live::root(store.common_dir()).join(id);
    if !well_formed || !dir.is_dir() {
        return Err(Error::NotLive(id.to_owned()));
    }
    let Some(held) = live::try_adopt(&dir) else {
        return Err(if dir.is_dir() {
            Error::Busy(id.to_owned())
        } else {
            Error::NotLive(id.into())
        });
    };
    let meta = live::read_meta(&dir)?;
    let ended = clock.now();
    let duration = ended - meta.started;
    if let Some((done, _)) = recover::committed_before(store, &dir, &meta) {
        // An earlier finish committed it and stopped before cleaning up, or
        // left the directory for a file it could not move to lost-found.
        let lost = recover::settle(store, &dir, &meta, &done);
        let committed = Committed {
            name: done.name,
            commit: done.commit,
            points: 0,
            metrics: 0,
            malformed: MalformedEvents::default(),
            malformed_samples: Vec::new(),
            renamed: false,
            artifacts: (0, 0),
            lost,
        };
        if !committed.keeps_live_dir() {
            let _ = held.remove();
        }
        return Ok((committed, duration));
    }
    let redactor = Redactor::from_env(vars);
    let (ingest, _) = recover::ingest_file(&dir, &meta, &redactor)?;
    let ending = Ending { status: end.status, exit_code: end.exit_code, signal: end.signal, ended };
    let committed = finish::commit(store, &dir, &meta, ending, ingest.into_ingested(), &redactor)?;
    // A file that could be neither kept nor moved to lost-found keeps the directory.
    if !committed.keeps_live_dir() {
        let _ = held.remove();
    }
    Ok((committed, duration))
}
