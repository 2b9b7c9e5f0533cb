//! `rm` and `rename` as whole operations on resolved runs: what is deleted here
//! and on a remote, the rename's check against live runs under the registry lock,
//! and the memory of removed runs that keeps `pull` from bringing them back.
//!
//! Runs are resolved by the caller (a spec that names a running run is the
//! caller's message to give). Nothing here prints: each call returns an outcome
//! whose warnings the caller renders.

use std::path::Path;

use super::refs::{self, groups_clash};
use super::{registry, removed, Store};

/// Errors of `rm` and `rename`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A running run holds the name asked for.
    #[error("a running run is named '{0}'")]
    NameLive(String),
    /// The remote has other runs (other commits) under some of the names; nothing
    /// was deleted, here or there.
    #[error("{remote} has different runs under the names of the runs to delete")]
    DifferentOnRemote {
        /// The remote as given.
        remote: String,
        /// The names and the commits the remote has under them.
        runs: Vec<(String, String)>,
    },
    /// A ref edit failed.
    #[error(transparent)]
    Refs(#[from] refs::Error),
    /// The repository failed.
    #[error(transparent)]
    Store(#[from] super::Error),
    /// The registry lock could not be taken.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Why the removed runs could not be remembered; the runs are deleted all the same.
#[derive(Debug)]
pub enum Warning {
    /// The memory file was damaged and was replaced (why it was damaged).
    Replaced(String),
    /// The memory could not be written: `git exp pull` may fetch the runs again.
    NotRemembered {
        /// The memory file.
        path: String,
        /// What failed.
        error: String,
    },
}

/// What [`rm`] does.
#[derive(Debug)]
pub struct RmOptions<'a> {
    /// The runs `(name, commit)`, resolved and without repeats.
    pub runs: &'a [(String, String)],
    /// Also delete them on this git remote, where it has the same commit.
    pub remote: Option<&'a str>,
    /// Only find out what would be deleted.
    pub dry_run: bool,
    /// Now, unix seconds (stamps the memory of removed runs).
    pub now: i64,
}

/// What [`rm`] did (or, with `dry_run`, would do).
#[derive(Debug, Default)]
pub struct RmOutcome {
    /// The runs deleted here.
    pub deleted: Vec<(String, String)>,
    /// Those of them deleted on the remote too.
    pub on_remote: Vec<(String, String)>,
    /// Runs the remote refused to delete `(name, why)`; they were kept here too.
    pub refused: Vec<(String, String)>,
    /// Trouble remembering the deleted runs.
    pub warning: Option<Warning>,
}

/// Deletes runs here and, with a remote, there: on the remote only the same
/// commit is deleted, and another run there under one of the names stops the
/// command before anything is deleted ([`Error::DifferentOnRemote`]). A run the
/// remote refuses to delete is kept here too.
pub fn rm(store: &Store, options: &RmOptions) -> Result<RmOutcome, Error> {
    let mut outcome = RmOutcome { deleted: options.runs.to_vec(), ..RmOutcome::default() };
    if let Some(remote) = options.remote {
        let copies = store.remote_copies(remote, options.runs)?;
        if !copies.different.is_empty() {
            return Err(Error::DifferentOnRemote {
                remote: remote.to_owned(),
                runs: copies.different,
            });
        }
        outcome.on_remote = copies.same;
    }
    if options.dry_run {
        return Ok(outcome);
    }
    if let (Some(remote), false) = (options.remote, outcome.on_remote.is_empty()) {
        outcome.refused = store.delete_remote_runs(remote, &outcome.on_remote)?;
        let refused = &outcome.refused;
        outcome.deleted.retain(|(n, _)| !refused.iter().any(|(r, _)| r == n));
        outcome.on_remote.retain(|(n, _)| !refused.iter().any(|(r, _)| r == n));
    }
    store.delete_runs(&outcome.deleted)?;
    outcome.warning = remember(store, &outcome.deleted, options.now);
    Ok(outcome)
}

/// What [`rename`] did.
#[derive(Debug)]
pub struct Renamed {
    /// False when the run already had the name: nothing was changed.
    pub changed: bool,
    /// Trouble remembering that the old name no longer holds the run.
    pub warning: Option<Warning>,
}

/// Renames the run `old` (which must still point at `commit`) to `new`, stamped
/// `now` (unix seconds).
///
/// Under the registry lock, the name a run reserves as it starts, so no run can
/// take `new` between the check and the ref edit: `live_names` lists the names
/// of the live runs (`capture::live::live_names`) and is called under the lock.
/// A live run named `new` is [`Error::NameLive`]; one whose name is a group of
/// `new` (or the other way round) is [`refs::Error::GroupClash`].
pub fn rename(
    store: &Store,
    old: &str,
    commit: &str,
    new: &str,
    now: i64,
    live_names: impl FnOnce(&Path) -> Vec<String>,
) -> Result<Renamed, Error> {
    if old == new {
        return Ok(Renamed { changed: false, warning: None });
    }
    let _registry = registry::lock(store.common_dir())?;
    for live_name in live_names(store.common_dir()) {
        if live_name == new {
            return Err(Error::NameLive(new.to_owned()));
        }
        if groups_clash(&live_name, new) {
            return Err(refs::Error::GroupClash {
                old: old.to_owned(),
                new: new.to_owned(),
                other: live_name,
            }
            .into());
        }
    }
    store.rename_run(old, commit, new, now)?;
    // The old name no longer holds this run here: a pull does not bring it back.
    let warning = remember(store, &[(old.to_owned(), commit.to_owned())], now);
    Ok(Renamed { changed: true, warning })
}

/// Remembers runs deleted here, so `git exp pull` does not fetch them again.
fn remember(store: &Store, runs: &[(String, String)], now: i64) -> Option<Warning> {
    match removed::remember(store.common_dir(), runs, now) {
        Ok(None) => None,
        Ok(Some(why)) => Some(Warning::Replaced(why)),
        Err(e) => Some(Warning::NotRemembered {
            path: removed::path(store.common_dir()).display().to_string(),
            error: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RunFiles;

    fn write(store: &Store, name: &str, i: usize) -> String {
        let files = RunFiles {
            exp: crate::store::format::sample_exp(i, name),
            config: String::new(),
            metrics: b"step,name,value,time\n".to_vec(),
            summary: String::new(),
            env: String::new(),
            output: Vec::new(),
            code_tree: None,
            artifacts: None,
            artifact_blobs: Vec::new(),
            message: format!("exp: {name}"),
            time: 1_700_000_000,
        };
        store.write_run(&files).unwrap()
    }

    /// Live names that can only be read while the registry lock is held by
    /// someone: another handle on the lock file cannot take it.
    fn live_under_lock(names: &[&str]) -> impl FnOnce(&Path) -> Vec<String> {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        move |common: &Path| {
            let file = std::fs::File::options()
                .write(true)
                .open(common.join("exp").join("live").join(".registry.lock"))
                .expect("the registry lock file exists");
            assert!(file.try_lock().is_err(), "live names are read under the registry lock");
            names
        }
    }

    fn removed_names(store: &Store) -> Vec<String> {
        let (removed, why) = removed::read(store.common_dir());
        assert_eq!(why, None);
        removed.entries().iter().map(|e| e.name.clone()).collect()
    }

    #[test]
    fn rename_refuses_a_name_a_live_run_reserved() {
        let (_dir, store) = crate::store::format::sample_store();
        let commit = write(&store, "a", 1);
        let e = rename(&store, "a", &commit, "b", 5, live_under_lock(&["b"])).unwrap_err();
        assert!(matches!(&e, Error::NameLive(n) if n == "b"), "{e:?}");
        assert_eq!(e.to_string(), "a running run is named 'b'");
        assert_eq!(store.run_ref("a").unwrap(), Some(commit));
        assert_eq!(store.run_ref("b").unwrap(), None);
        assert!(removed_names(&store).is_empty());
    }

    #[test]
    fn rename_refuses_a_group_of_a_live_run() {
        let (_dir, store) = crate::store::format::sample_store();
        let commit = write(&store, "a", 1);
        let e = rename(&store, "a", &commit, "b", 5, live_under_lock(&["b/c"])).unwrap_err();
        assert!(
            matches!(&e, Error::Refs(refs::Error::GroupClash { other, .. }) if other == "b/c"),
            "{e:?}"
        );
        assert_eq!(store.run_ref("a").unwrap(), Some(commit));
    }

    #[test]
    fn rename_moves_the_ref_and_remembers_the_old_name() {
        let (_dir, store) = crate::store::format::sample_store();
        let commit = write(&store, "a", 1);
        let done = rename(&store, "a", &commit, "b", 5, live_under_lock(&["c", "b-1"])).unwrap();
        assert!(done.changed && done.warning.is_none(), "{done:?}");
        assert_eq!(store.run_ref("a").unwrap(), None);
        assert_eq!(store.run_ref("b").unwrap(), Some(commit.clone()));
        assert_eq!(removed_names(&store), ["a"]);
        // The same name again changes nothing and takes no lock.
        let same = rename(&store, "b", &commit, "b", 6, |_| unreachable!()).unwrap();
        assert!(!same.changed);
    }

    #[test]
    fn rm_deletes_only_without_dry_run() {
        let (_dir, store) = crate::store::format::sample_store();
        let runs =
            [("a".to_owned(), write(&store, "a", 1)), ("b".to_owned(), write(&store, "b", 2))];
        let dry = RmOptions { runs: &runs, remote: None, dry_run: true, now: 5 };
        let would = rm(&store, &dry).unwrap();
        assert_eq!(would.deleted, runs);
        assert!(store.run_exists("a").unwrap() && store.run_exists("b").unwrap());
        assert!(removed_names(&store).is_empty());
        let done = rm(&store, &RmOptions { dry_run: false, ..dry }).unwrap();
        assert_eq!(done.deleted, runs);
        assert!(done.on_remote.is_empty() && done.refused.is_empty() && done.warning.is_none());
        assert!(!store.run_exists("a").unwrap() && !store.run_exists("b").unwrap());
        assert_eq!(removed_names(&store), ["a", "b"]);
    }
}
