//! Deleting and renaming runs: edits of `refs/experiments/*` that are
//! compare-and-swap, so a run that changed since it was looked up is never
//! deleted or overwritten. Also the strict listing of run refs that `gc` needs,
//! where an unreadable ref must stop the command instead of being skipped.
//!
//! Only refs move here: a run's commit and its objects stay as they are (git's
//! own `gc` removes unreferenced objects later).

use gix::bstr::ByteSlice;
use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};
use gix::refs::{FullName, Target};

use super::repo::{parse_id, Detail};
use super::{name, Store, REF_PREFIX};

/// Errors of ref deletion and renaming.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The ref no longer points at the commit that was resolved (another process
    /// deleted or replaced it meanwhile); nothing was changed.
    #[error("run {name} changed while this command ran: {}", changed(expected, found.as_deref()))]
    Changed {
        /// The run's name.
        name: String,
        /// The commit it pointed at when it was resolved.
        expected: String,
        /// What it points at now (`None`: it is gone).
        found: Option<String>,
    },
    /// `rename` into the run's own group (`a` to `a/b`, or `a/b` to `a`).
    #[error("cannot rename run {old} to {new} in one step: one name is a group of the other")]
    OwnGroup {
        /// The run's name.
        old: String,
        /// The name asked for.
        new: String,
    },
    /// The new name is a group of another run, or another run's group (`a` and
    /// `a/b`): git cannot hold both refs.
    #[error("cannot rename run {old} to {new}: run {other} exists, and a name cannot be both a run and a group of runs")]
    GroupClash {
        /// The run's name.
        old: String,
        /// The name asked for.
        new: String,
        /// The run in the way.
        other: String,
    },
    /// Anything else the store reports (including [`super::Error::NameTaken`]).
    #[error(transparent)]
    Store(#[from] super::Error),
}

fn changed(expected: &str, found: Option<&str>) -> String {
    match found {
        Some(found) => {
            format!("it points at {} now, not {}", Store::short(found), Store::short(expected))
        }
        None => format!("it was deleted (it pointed at {})", Store::short(expected)),
    }
}

impl Store {
    /// The commit `refs/experiments/<name>` points at, without reading the run (so a
    /// corrupt run can still be named), or `None` when there is no such ref.
    pub fn run_ref(&self, name: &str) -> super::Result<Option<String>> {
        let full = format!("{REF_PREFIX}{name}");
        let reference = self.repo.try_find_reference(full.as_str()).map_err(|e| {
            super::Error::BadRef { name: name.to_owned(), why: one_line(&e.to_string()) }
        })?;
        match reference {
            None => Ok(None),
            Some(r) => match r.target().try_id() {
                Some(id) => Ok(Some(id.to_string())),
                None => Err(super::Error::corrupt(
                    name,
                    "the ref (a symbolic ref, not a commit id)",
                    None,
                )),
            },
        }
    }

    /// Resolves a run spec exactly, for commands that delete or rename: an
    /// exact name, a full ref, `@`/`@~N`, or a full run id or commit id, never
    /// a prefix ([`super::spec::pick_exact`]). An exact name or full ref is
    /// looked up without reading the run, so a run that cannot be read can
    /// still be deleted or renamed by its name.
    pub fn resolve_ref(&self, spec: &str) -> super::Result<(String, String)> {
        let full_id = matches!(spec.len(), 32 | 40) && spec.bytes().all(|b| b.is_ascii_hexdigit());
        let exact = match spec.strip_prefix(REF_PREFIX) {
            Some(name) => Some(name),
            None if !spec.starts_with('@') && !full_id => Some(spec),
            None => None,
        };
        let full_ref = spec.starts_with(REF_PREFIX);
        if let Some(exact) = exact.filter(|n| full_ref || name::validate(n).is_ok()) {
            if let Some(commit) = self.run_ref(exact)? {
                return Ok((exact.to_owned(), commit));
            }
        }
        if spec.starts_with(REF_PREFIX) {
            return Err(super::Error::UnknownRun { spec: spec.to_owned() });
        }
        let (runs, _) = self.load_runs(Detail::Listing)?;
        let run = super::spec::pick_exact(&runs, spec, &|name| self.made_here(name))?;
        Ok((run.name.clone(), run.committed()?.to_string()))
    }

    /// Every run ref as `(name, commit)` (tags peeled), sorted by name: what
    /// `gc` must keep alive. Unlike [`Store::list_refs`], a listing that fails
    /// is an error, and a ref to a missing object is listed (reading it then
    /// fails): callers that delete data must not mistake it for "no run", as
    /// the object may only be out of reach for now. A ref that cannot lead to
    /// a run at all is left out: content that is not a ref, a symbolic ref
    /// that leads nowhere or in a loop, a blob or a tree.
    pub fn list_refs_strict(&self) -> super::Result<Vec<(String, String)>> {
        let platform = self.repo.references().map_err(super::Error::git)?;
        let iter = platform.prefixed(REF_PREFIX).map_err(super::Error::git)?;
        let mut out = Vec::new();
        for reference in iter {
            let mut reference = match reference {
                Ok(r) => r,
                // A ref file that holds no ref names nothing to keep; any
                // other failure (a file that cannot be read) might hide a run.
                Err(e) if e.to_string().contains("could not be decoded") => continue,
                Err(e) => {
                    return Err(super::Error::corrupt(
                        format!("(a ref under {REF_PREFIX})"),
                        format!("the ref ({})", one_line(&e.to_string())),
                        None,
                    ))
                }
            };
            let full = reference.name().as_bstr().to_str_lossy().into_owned();
            let name = full.strip_prefix(REF_PREFIX).unwrap_or(&full).to_owned();
            let direct = reference.target().try_id().map(|id| id.to_owned());
            let id = match (reference.peel_to_id().map(|id| id.detach()), direct) {
                (Ok(id), _) => id,
                (Err(_), Some(id)) => id,
                (Err(_), None) => continue,
            };
            match self.repo.find_header(id) {
                Ok(header) if header.kind() != gix::object::Kind::Commit => continue,
                _ => out.push((name, id.to_string())),
            }
        }
        out.sort();
        Ok(out)
    }

    /// Deletes the runs `(name, commit)` in one transaction: every ref must still
    /// point at its commit, otherwise nothing is deleted ([`Error::Changed`]).
    /// The refs' reflogs go with them.
    pub fn delete_runs(&self, runs: &[(String, String)]) -> Result<(), Error> {
        if runs.is_empty() {
            return Ok(());
        }
        let mut edits = Vec::with_capacity(runs.len());
        for (name, commit) in runs {
            edits.push(RefEdit {
                change: Change::Delete {
                    expected: PreviousValue::MustExistAndMatch(Target::Object(object_id(
                        name, commit,
                    )?)),
                    log: RefLog::AndReference,
                },
                name: full_name(name)?,
                deref: false,
            });
        }
        match self.repo.edit_references_as(edits, None) {
            Ok(_) => Ok(()),
            Err(e) => Err(self.explain(e, runs, None)),
        }
    }

    /// Renames the run `old`, which must still point at `commit`, to `new`: in one
    /// transaction, creates `refs/experiments/<new>` (must not exist) and deletes
    /// the old ref (must still match). The commit is not touched, so copies of it
    /// elsewhere stay identical. A taken name is [`super::Error::NameTaken`].
    /// `time` (unix seconds) stamps the new ref's reflog entry.
    pub fn rename_run(&self, old: &str, commit: &str, new: &str, time: i64) -> Result<(), Error> {
        name::validate(new)?;
        let id = object_id(old, commit)?;
        if self.run_ref(new)?.is_some() {
            return Err(super::Error::NameTaken { name: new.to_owned() }.into());
        }
        let clashes = self.group_clashes(new)?;
        if let Some(other) = clashes.iter().find(|c| *c != old) {
            let other = other.clone();
            return Err(Error::GroupClash { old: old.to_owned(), new: new.to_owned(), other });
        }
        if !clashes.is_empty() {
            return Err(Error::OwnGroup { old: old.to_owned(), new: new.to_owned() });
        }
        let edits = [
            RefEdit {
                change: Change::Update {
                    log: LogChange {
                        mode: RefLog::AndReference,
                        force_create_reflog: true,
                        message: format!("git-exp: rename {old} to {new}").into(),
                    },
                    expected: PreviousValue::MustNotExist,
                    new: Target::Object(id),
                },
                name: full_name(new)?,
                deref: false,
            },
            RefEdit {
                change: Change::Delete {
                    expected: PreviousValue::MustExistAndMatch(Target::Object(id)),
                    log: RefLog::AndReference,
                },
                name: full_name(old)?,
                deref: false,
            },
        ];
        let signature = self.reflog_signature(time);
        let mut time_buf = gix::date::parse::TimeBuf::default();
        match self.repo.edit_references_as(edits, Some(signature.to_ref(&mut time_buf))) {
            Ok(_) => Ok(()),
            Err(e) => Err(self.explain(e, &[(old.to_owned(), commit.to_owned())], Some(new))),
        }
    }

    /// Runs whose names clash with `name` as groups: `a` for `a/b`, and runs under
    /// `a/` for `a`. At most a few are returned.
    fn group_clashes(&self, name: &str) -> super::Result<Vec<String>> {
        let mut out = Vec::new();
        for group in super::name::groups_of(name) {
            if self.run_ref(group)?.is_some() {
                out.push(group.to_owned());
            }
        }
        let dir = format!("{REF_PREFIX}{name}/");
        let platform = self.repo.references().map_err(super::Error::git)?;
        let iter = platform.prefixed(dir.as_str()).map_err(super::Error::git)?;
        for reference in iter.take(3).flatten() {
            let full = reference.name().as_bstr().to_str_lossy().into_owned();
            out.push(full.strip_prefix(REF_PREFIX).unwrap_or(&full).to_owned());
        }
        Ok(out)
    }

    /// Why a transaction over `runs` (and the new name `created`, if any) failed:
    /// a taken name, a ref that changed, a lock file, or git's own message.
    fn explain(
        &self,
        cause: impl std::error::Error + Send + Sync + 'static,
        runs: &[(String, String)],
        created: Option<&str>,
    ) -> Error {
        if let Some(new) = created {
            if matches!(self.run_ref(new), Ok(Some(_))) {
                return super::Error::NameTaken { name: new.to_owned() }.into();
            }
        }
        for (name, commit) in runs {
            match self.run_ref(name) {
                Ok(found) if found.as_deref() != Some(commit.as_str()) => {
                    return Error::Changed { name: name.clone(), expected: commit.clone(), found };
                }
                _ => {}
            }
        }
        let names = runs.iter().map(|(n, _)| n.as_str()).chain(created);
        for full in names.map(|n| format!("{REF_PREFIX}{n}")).chain(["packed-refs".into()]) {
            let lock = self.common_dir().join(format!("{full}.lock"));
            if lock.exists() {
                return super::Error::Locked { name: full, lock: lock.display().to_string() }
                    .into();
            }
        }
        super::Error::git(cause).into()
    }

    /// The identity of reflog entries: git's committer, else git-exp's fallback.
    fn reflog_signature(&self, time: i64) -> gix::actor::Signature {
        let (name, email) = match self.repo.committer() {
            Some(Ok(sig)) => (sig.name.to_owned(), sig.email.to_owned()),
            _ => ("git-exp".into(), "git-exp@localhost".into()),
        };
        gix::actor::Signature { name, email, time: gix::date::Time { seconds: time, offset: 0 } }
    }
}

fn full_name(name: &str) -> super::Result<FullName> {
    format!("{REF_PREFIX}{name}").as_str().try_into().map_err(|_| super::Error::InvalidName {
        name: name.to_owned(),
        reason: "git rejects it as a ref name".into(),
    })
}

fn object_id(name: &str, commit: &str) -> super::Result<gix::ObjectId> {
    parse_id(commit).ok_or_else(|| super::Error::corrupt(name, "the commit id", None))
}

use super::format::one_line;

pub use super::name::groups_clash;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RunFiles;

    fn repo() -> (tempfile::TempDir, Store) {
        crate::store::format::sample_store()
    }

    fn write(store: &Store, name: &str, i: usize) -> String {
        let exp = crate::store::format::sample_exp(i, name);
        let files = RunFiles {
            exp,
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

    #[test]
    fn delete_is_all_or_nothing_and_compare_and_swap() {
        let (_dir, store) = repo();
        let a = write(&store, "a", 1);
        let b = write(&store, "b", 2);
        // One stale expectation: nothing is deleted.
        let stale = vec![("a".to_owned(), a.clone()), ("b".to_owned(), a.clone())];
        match store.delete_runs(&stale) {
            Err(Error::Changed { name, found, .. }) => {
                assert_eq!(name, "b");
                assert_eq!(found.as_deref(), Some(b.as_str()));
            }
            other => panic!("expected Changed, got {other:?}"),
        }
        assert_eq!(store.list_refs_strict().unwrap().len(), 2);
        store.delete_runs(&[("a".to_owned(), a.clone())]).unwrap();
        assert_eq!(store.list_refs_strict().unwrap(), [("b".to_owned(), b)]);
        // Deleting it again: it is gone.
        match store.delete_runs(&[("a".to_owned(), a)]) {
            Err(Error::Changed { found: None, .. }) => {}
            other => panic!("expected Changed, got {other:?}"),
        }
    }

    #[test]
    fn rename_moves_the_ref_and_refuses_taken_and_own_group_names() {
        let (_dir, store) = repo();
        let a = write(&store, "a", 1);
        let b = write(&store, "b", 2);
        write(&store, "g/x", 3);
        store.rename_run("a", &a, "c", 5).unwrap();
        assert_eq!(store.run_ref("a").unwrap(), None);
        assert_eq!(store.run_ref("c").unwrap().as_deref(), Some(a.as_str()));
        let taken = store.rename_run("c", &a, "b", 5).unwrap_err();
        assert!(matches!(taken, Error::Store(crate::store::Error::NameTaken { .. })), "{taken:?}");
        let group = store.rename_run("c", &a, "g", 5).unwrap_err();
        assert!(matches!(&group, Error::GroupClash { other, .. } if other == "g/x"), "{group:?}");
        let group = store.rename_run("c", &a, "g/x/y", 5).unwrap_err();
        assert!(matches!(&group, Error::GroupClash { other, .. } if other == "g/x"), "{group:?}");
        let own = store.rename_run("c", &a, "c/d", 5).unwrap_err();
        assert!(matches!(own, Error::OwnGroup { .. }), "{own:?}");
        let gx = store.run_ref("g/x").unwrap().unwrap();
        let own = store.rename_run("g/x", &gx, "g", 5).unwrap_err();
        assert!(matches!(own, Error::OwnGroup { .. }), "{own:?}");
        write(&store, "g/y", 4);
        let other = store.rename_run("g/x", &gx, "g", 5).unwrap_err();
        assert!(matches!(&other, Error::GroupClash { other, .. } if other == "g/y"), "{other:?}");
        let stale = store.rename_run("b", &a, "d", 5).unwrap_err();
        assert!(matches!(stale, Error::Changed { .. }), "{stale:?}");
        assert_eq!(store.run_ref("d").unwrap(), None);
        assert_eq!(store.run_ref("b").unwrap().as_deref(), Some(b.as_str()));
        // The renamed run reads back under its new name.
        let run = store.find_by_name("c", Detail::Listing).unwrap().unwrap();
        assert_eq!((run.name.as_str(), run.commit.as_deref()), ("c", Some(a.as_str())));
    }

    #[test]
    fn exact_names_resolve_without_reading_the_run() {
        let (dir, store) = repo();
        let a = write(&store, "a", 1);
        // A ref to a commit that is not a run: resolvable by name, not by prefix.
        let blob = store.put_blob(b"not a run").unwrap();
        let tree = {
            let out = std::process::Command::new("git")
                .args(["mktree"])
                .current_dir(dir.path())
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .and_then(|mut c| {
                    use std::io::Write;
                    c.stdin
                        .take()
                        .unwrap()
                        .write_all(format!("100644 blob {blob}\tx\n").as_bytes())?;
                    c.wait_with_output()
                })
                .unwrap();
            String::from_utf8(out.stdout).unwrap().trim().to_owned()
        };
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@t", "commit-tree", &tree, "-m", "x"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let bad = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        let ok = std::process::Command::new("git")
            .args(["update-ref", "refs/experiments/broken", &bad])
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(ok.success());
        assert_eq!(store.resolve_ref("broken").unwrap(), ("broken".to_owned(), bad.clone()));
        assert_eq!(store.resolve_ref("refs/experiments/a").unwrap(), ("a".to_owned(), a.clone()));
        assert_eq!(store.resolve_ref("@").unwrap(), ("a".to_owned(), a));
        assert!(matches!(
            store.resolve_ref("refs/experiments/nope"),
            Err(crate::store::Error::UnknownRun { .. })
        ));
    }
}
