//! Moving run refs between repositories with the user's `git` (gix has no
//! push, and its fetch would need the same transports anyway), so remotes,
//! credentials, ssh config and hosts work exactly as they do for code.
//!
//! A run name is taken at most once on each side: refs are compared with
//! `git ls-remote` first, runs of the same name and a different commit are
//! reported as conflicts and never sent, and the updates themselves are never
//! forced (git refuses them if the other side moved meanwhile).

use std::collections::BTreeMap;
use std::process::Stdio;

use super::{Error, Result, Store, REF_PREFIX};
use crate::util::anonymize_url;

/// The refspec `git exp init` adds (never forced: a run is never overwritten).
pub const RUNS_REFSPEC: &str = "refs/experiments/*:refs/experiments/*";

/// Refspecs per `git push` (argument lists stay far below the system limit).
const PUSH_BATCH: usize = 1000;

/// A run ref on the other side, as `ls-remote` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRun {
    /// Run name.
    pub name: String,
    /// Its commit.
    pub commit: String,
}

/// How one run fared in a push or fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Sent: the other side did not have it.
    New,
    /// Both sides have the same commit.
    UpToDate,
    /// The other side has a different run of this name; nothing was changed.
    Conflict,
    /// git refused the update (the other side moved meanwhile).
    Rejected,
    /// Not pushed: some of its artifacts could not be uploaded.
    HeldBack,
    /// The other side has a run whose name is this run's group, or a group
    /// of this name (`a` and `a/b`): a name cannot be both.
    NameClash,
    /// Pull only: this run (this name at this commit) was deleted here with
    /// `git exp rm`, so it was not fetched again.
    RemovedHere,
}

impl Store {
    /// Runs git with stdout captured and stderr passed through (progress,
    /// prompts and git's own errors reach the user).
    fn git_passing_stderr(&self, args: &[&str], input: Option<&str>) -> Result<(bool, String)> {
        let out = self.run_git(args, input.map(str::as_bytes), Stdio::inherit())?;
        Ok((out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned()))
    }

    /// The run refs of `remote` (a remote name, URL or path), by name.
    pub fn remote_runs(&self, remote: &str) -> Result<BTreeMap<String, String>> {
        let pattern = format!("{REF_PREFIX}*");
        let (ok, out) =
            self.git_passing_stderr(&["ls-remote", "--refs", "--", remote, &pattern], None)?;
        if !ok {
            return Err(Error::Transport(format!(
                "cannot list the runs of {}: git ls-remote failed",
                anonymize_url(remote)
            )));
        }
        let mut runs = BTreeMap::new();
        for line in out.lines() {
            let Some((id, name)) = line.split_once('\t') else { continue };
            let Some(name) = name.strip_prefix(REF_PREFIX) else { continue };
            if super::history::is_object_id(id) {
                runs.insert(name.to_owned(), id.to_owned());
            }
        }
        Ok(runs)
    }

    /// Pushes `runs` (name, commit) to `remote` without forcing. Returns the
    /// runs git rejected (the other side moved) and the runs that could not be
    /// sent at all, with git's reason: one damaged run (a missing parent, an
    /// object the other side's checks refuse) makes git send nothing of its
    /// batch, so a failed batch is sent again one run at a time and only the
    /// damaged runs stay behind.
    pub fn push_runs(&self, remote: &str, runs: &[(String, String)]) -> Result<Pushed> {
        let mut pushed = Pushed::default();
        for batch in runs.chunks(PUSH_BATCH) {
            let attempt = self.push_batch(remote, batch, Stdio::inherit())?;
            pushed.rejected.extend(attempt.rejected);
            if attempt.ok || attempt.failed.is_empty() {
                continue;
            }
            if attempt.unreachable {
                return Err(Error::Transport(format!(
                    "git push to {} failed",
                    anonymize_url(remote)
                )));
            }
            if batch.len() == 1 {
                let why = "git push failed (see git's message above)".to_owned();
                pushed.failed.push((batch[0].0.clone(), why));
                continue;
            }
            for run in batch.iter().filter(|(name, _)| attempt.failed.contains(name)) {
                let alone = self.push_batch(remote, std::slice::from_ref(run), Stdio::piped())?;
                if alone.unreachable {
                    return Err(Error::Transport(format!(
                        "git push to {} failed: {}",
                        anonymize_url(remote),
                        alone.reason
                    )));
                }
                pushed.rejected.extend(alone.rejected);
                if !alone.ok && !alone.failed.is_empty() {
                    pushed.failed.push((run.0.clone(), alone.reason));
                }
            }
        }
        Ok(pushed)
    }

    /// One `git push` of `batch`; `stderr` either passes git's messages through
    /// or captures them for the reason of a single run's failure.
    fn push_batch(
        &self,
        remote: &str,
        batch: &[(String, String)],
        stderr: Stdio,
    ) -> Result<Attempt> {
        let specs: Vec<String> =
            batch.iter().map(|(name, commit)| format!("{commit}:{REF_PREFIX}{name}")).collect();
        let mut args = vec!["push", "--porcelain", "--quiet", "--", remote];
        args.extend(specs.iter().map(String::as_str));
        let out = self.run_git(&args, None, stderr)?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let mut attempt = Attempt { ok: out.status.success(), ..Attempt::default() };
        for (name, why) in porcelain_refused(&stdout) {
            // `[rejected]` is git's word for "the other side has something else";
            // `[remote rejected]`, `[remote failure]` and the like mean the
            // objects did not arrive.
            if why.starts_with("[rejected]") {
                attempt.rejected.push(name);
            } else {
                attempt.failed.push(name);
            }
        }
        if !attempt.ok && attempt.rejected.is_empty() && attempt.failed.is_empty() {
            // git reported no ref at all: it did not get to talk to the remote
            // (unreachable, no access), which is no fault of the runs.
            attempt.unreachable = !stdout.lines().any(|l| l.starts_with("To "));
            attempt.failed = batch.iter().map(|(n, _)| n.clone()).collect();
        }
        let messages = String::from_utf8_lossy(&out.stderr);
        attempt.reason = messages
            .lines()
            .filter(|l| l.starts_with("error: ") || l.starts_with("fatal: "))
            .map(|l| super::format::one_line(l.split_once(": ").map_or(l, |(_, m)| m)))
            .next()
            .unwrap_or_else(|| "git push failed".to_owned());
        Ok(attempt)
    }

    /// Deletes the runs `(name, commit)` on `remote`, each only while the
    /// remote's ref still points at that commit (`--force-with-lease`), so a
    /// different run of that name there is never deleted. Returns the runs
    /// git refused, with git's summary (`[rejected] (stale info)`).
    pub fn delete_remote_runs(
        &self,
        remote: &str,
        runs: &[(String, String)],
    ) -> Result<Vec<(String, String)>> {
        let mut refused = Vec::new();
        for batch in runs.chunks(PUSH_BATCH) {
            let mut args: Vec<String> = ["push", "--porcelain", "--quiet"].map(String::from).into();
            for (name, commit) in batch {
                args.push(format!("--force-with-lease={REF_PREFIX}{name}:{commit}"));
            }
            args.extend(["--".to_owned(), remote.to_owned()]);
            args.extend(batch.iter().map(|(name, _)| format!(":{REF_PREFIX}{name}")));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = self.run_git(&args, None, Stdio::piped())?;
            let found = porcelain_refused(&String::from_utf8_lossy(&out.stdout));
            if !out.status.success() && found.is_empty() {
                let messages = String::from_utf8_lossy(&out.stderr);
                let why = messages
                    .lines()
                    .find(|l| l.starts_with("error: ") || l.starts_with("fatal: "))
                    .map(|l| super::format::one_line(l.split_once(": ").map_or(l, |(_, m)| m)))
                    .unwrap_or_else(|| "git push failed".to_owned());
                return Err(Error::Transport(format!(
                    "cannot delete runs on {}: {why}",
                    anonymize_url(remote)
                )));
            }
            refused.extend(found);
        }
        Ok(refused)
    }

    /// Fetches the named runs of `remote` into `refs/experiments/` without
    /// forcing; returns the runs git rejected.
    pub fn fetch_runs(&self, remote: &str, names: &[String]) -> Result<Vec<String>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let specs: String =
            names.iter().map(|n| format!("{REF_PREFIX}{n}:{REF_PREFIX}{n}\n")).collect();
        let args =
            ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--stdin", "--", remote];
        let (ok, _) = self.git_passing_stderr(&args, Some(&specs))?;
        if ok {
            return Ok(Vec::new());
        }
        // Which ones did not arrive?
        let refs: BTreeMap<String, String> = self.list_refs()?.into_iter().collect();
        let missing: Vec<String> =
            names.iter().filter(|n| !refs.contains_key(*n)).cloned().collect();
        if missing.len() == names.len() {
            return Err(Error::Transport(format!(
                "git fetch from {} failed",
                anonymize_url(remote)
            )));
        }
        Ok(missing)
    }

    /// The remotes whose plain `git fetch` brings runs (`git exp init` set
    /// them up), so runs deleted here come back with it.
    pub fn remotes_fetching_runs(&self) -> Vec<String> {
        self.remote_names()
            .into_iter()
            .filter(|r| {
                self.config_strings(&format!("remote.{r}.fetch")).iter().any(|v| v == RUNS_REFSPEC)
            })
            .collect()
    }

    /// Which of `runs` (name, commit) `remote` has: the same commit (safe to
    /// delete there), and a different one under the name (name, theirs),
    /// which must never be deleted for ours.
    pub fn remote_copies(&self, remote: &str, runs: &[(String, String)]) -> Result<RemoteCopies> {
        let theirs = self.remote_runs(remote)?;
        let mut copies = RemoteCopies::default();
        for (name, commit) in runs {
            match theirs.get(name) {
                Some(c) if c == commit => copies.same.push((name.clone(), commit.clone())),
                Some(c) => copies.different.push((name.clone(), c.clone())),
                None => {}
            }
        }
        Ok(copies)
    }

    /// Deletes again the fetched refs (name, commit) that name no commit (a
    /// blob, tree or tag the other side put under `refs/experiments/`): they
    /// are not runs and do not stay here. Returns them with the reason.
    pub fn drop_non_runs(&self, fetched: &[(String, String)]) -> Vec<(String, String)> {
        let mut dropped = Vec::new();
        for (name, commit) in fetched {
            let kind = self.object_kind(commit);
            if kind != Some("commit") {
                let _ = self.delete_runs(&[(name.clone(), commit.clone())]);
                let what = kind.unwrap_or("missing object");
                dropped.push((name.clone(), format!("it points at a {what}, not a commit")));
            }
        }
        dropped
    }

    /// The artifact list of one run (empty when it has none), read alone: what
    /// push, pull and get need of a run.
    pub fn run_artifacts(&self, name: &str, commit: &str) -> Result<super::format::ArtifactsFile> {
        let file = super::format::files::ARTIFACTS;
        let Some(bytes) = self.read_run_file(commit, file)? else {
            return Ok(Default::default());
        };
        let parse_error = |message: String| {
            Error::from(super::format::Error::Parse { file, run: name.to_owned(), message })
        };
        let text = String::from_utf8(bytes).map_err(|_| parse_error("not UTF-8".into()))?;
        toml::from_str(&text).map_err(|e: toml::de::Error| {
            // The message quotes the file, which may come from someone else:
            // one line, no control characters.
            let text = e.to_string().replace(|c: char| c.is_control(), " ");
            parse_error(text.split_whitespace().collect::<Vec<_>>().join(" "))
        })
    }

    /// The current branch, if HEAD is on one.
    pub fn current_branch(&self) -> Option<String> {
        let head = self.repo.head_name().ok()??;
        head.as_bstr().to_string().strip_prefix("refs/heads/").map(str::to_owned)
    }

    /// Names of the configured remotes.
    pub fn remote_names(&self) -> Vec<String> {
        let mut names: Vec<String> =
            self.repo.remote_names().into_iter().map(|n| n.to_string()).collect();
        names.sort();
        names
    }

    /// The remote git would use: for a push `branch.<b>.pushRemote`, then
    /// `remote.pushDefault`; then `branch.<b>.remote`, then `origin`, then the
    /// only remote.
    pub fn default_remote(&self, push: bool) -> Option<String> {
        let branch = self.current_branch();
        let key =
            |k: &str| branch.as_ref().and_then(|b| self.config_string(&format!("branch.{b}.{k}")));
        let chosen = if push {
            key("pushRemote").or_else(|| self.config_string("remote.pushDefault"))
        } else {
            None
        };
        let names = self.remote_names();
        chosen
            .or_else(|| key("remote").filter(|r| r != "."))
            .or_else(|| names.iter().find(|n| *n == "origin").cloned())
            .or_else(|| if names.len() == 1 { names.first().cloned() } else { None })
    }
}

/// What `git push` did with the runs of one batch.
#[derive(Debug, Default)]
struct Attempt {
    /// git exited successfully.
    ok: bool,
    /// Runs the other side refused because it has something else there.
    rejected: Vec<String>,
    /// Runs whose objects did not arrive.
    failed: Vec<String>,
    /// git's first error line, for a single run's failure.
    reason: String,
    /// git could not reach the remote.
    unreachable: bool,
}

/// What a remote has of some runs ([`Store::remote_copies`]).
#[derive(Debug, Default)]
pub struct RemoteCopies {
    /// Runs it has with the same commit.
    pub same: Vec<(String, String)>,
    /// Runs it has another commit under the name of: (name, its commit).
    pub different: Vec<(String, String)>,
}

/// What [`Store::push_runs`] could not do.
#[derive(Debug, Default)]
pub struct Pushed {
    /// Runs git rejected: the other side moved meanwhile.
    pub rejected: Vec<String>,
    /// Runs that could not be sent, with git's reason (a damaged run).
    pub failed: Vec<(String, String)>,
}

/// Runs that `git push --porcelain` reports as not pushed (`!` lines), with
/// git's summary (`[rejected] (fetch first)`, `[remote rejected] (...)`).
fn porcelain_refused(out: &str) -> Vec<(String, String)> {
    out.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("!\t")?;
            let (spec, why) = rest.split_once('\t').unwrap_or((rest, ""));
            let (_, dst) = spec.split_once(':')?;
            Some((dst.strip_prefix(REF_PREFIX)?.to_owned(), why.to_owned()))
        })
        .collect()
}

/// Sorts `local` runs (name, commit) against the other side's: which are
/// there already, which conflict (same name, different commit), which are new.
pub fn classify(
    local: &[(String, String)],
    other: &BTreeMap<String, String>,
) -> Vec<(String, String, Outcome)> {
    local
        .iter()
        .map(|(name, commit)| {
            let outcome = match other.get(name) {
                None if group_clash(name, other).is_some() => Outcome::NameClash,
                None => Outcome::New,
                Some(c) if c == commit => Outcome::UpToDate,
                Some(_) => Outcome::Conflict,
            };
            (name.clone(), commit.clone(), outcome)
        })
        .collect()
}

/// A run of `other` that clashes with `name` as a group (`a` vs `a/b`).
pub fn group_clash(name: &str, other: &BTreeMap<String, String>) -> Option<String> {
    // A group of this name: `name/...` sorts right after `name/`.
    let below = format!("{name}/");
    if let Some((k, _)) = other.range(below.clone()..).next().filter(|(k, _)| k.starts_with(&below))
    {
        return Some(k.clone());
    }
    // This name inside a run's name used as a group.
    super::name::groups_of(name).find(|group| other.contains_key(*group)).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_clash_against_a_side_follows_the_pairwise_rule() {
        let names = ["a", "a/b", "a/b/c", "ab", "ab/c", "b/c", "b.c", "x"];
        for keep in 0u32..(1 << names.len()) {
            let other: BTreeMap<String, String> = (0..names.len())
                .filter(|i| keep & (1 << i) != 0)
                .map(|i| (names[i].to_owned(), String::new()))
                .collect();
            for name in names.iter().chain(&["a/z", "b", "ab/c/d"]) {
                let found = group_clash(name, &other);
                let any = other.keys().any(|k| crate::store::name::groups_clash(k, name));
                assert_eq!(found.is_some(), any, "{name} against {other:?}");
                if let Some(k) = found {
                    assert!(crate::store::name::groups_clash(&k, name), "{k} vs {name}");
                }
            }
        }
        let other =
            BTreeMap::from([("a".to_owned(), String::new()), ("a/b".into(), String::new())]);
        assert_eq!(group_clash("a/b/c", &other).as_deref(), Some("a"), "the outermost group first");
    }

    #[test]
    fn porcelain_rejections_name_the_runs() {
        let out = "To /tmp/r.git\n*\tabc:refs/experiments/a\t[new reference]\n!\tdef:refs/experiments/g/b\t[rejected] (fetch first)\nDone\n";
        assert_eq!(
            porcelain_refused(out),
            vec![("g/b".to_owned(), "[rejected] (fetch first)".to_owned())]
        );
    }

    #[test]
    fn remote_deletion_is_compare_and_swap() {
        let (dir, store) = crate::store::format::sample_store();
        let git = |args: &[&str]| {
            let out = std::process::Command::new("git")
                .args(["-c", "user.name=t", "-c", "user.email=t@t"])
                .args(args)
                .current_dir(dir.path())
                .output()
                .unwrap();
            assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap().trim().to_owned()
        };
        git(&["commit", "-q", "--allow-empty", "-m", "a"]);
        let a = git(&["rev-parse", "HEAD"]);
        git(&["commit", "-q", "--allow-empty", "-m", "b"]);
        let b = git(&["rev-parse", "HEAD"]);
        let bare = dir.path().join("remote.git");
        git(&["init", "-q", "--bare", bare.to_str().unwrap()]);
        let remote = bare.to_str().unwrap();
        git(&[
            "push",
            "-q",
            remote,
            &format!("{a}:refs/experiments/x"),
            &format!("{b}:refs/experiments/y"),
        ]);
        // y is b there, not a: refused and kept; x is deleted.
        let runs = vec![("x".to_owned(), a.clone()), ("y".to_owned(), a.clone())];
        let refused = store.delete_remote_runs(remote, &runs).unwrap();
        assert_eq!(refused.len(), 1, "{refused:?}");
        assert_eq!(refused[0].0, "y");
        let left = store.remote_runs(remote).unwrap();
        assert_eq!(left, [("y".to_owned(), b)].into());
    }

    #[test]
    fn classify_finds_conflicts() {
        let other: BTreeMap<String, String> =
            [("a".into(), "1".into()), ("b".into(), "2".into())].into();
        let local =
            vec![("a".into(), "1".into()), ("b".into(), "3".into()), ("c".into(), "4".into())];
        let got: Vec<Outcome> = classify(&local, &other).into_iter().map(|(_, _, o)| o).collect();
        assert_eq!(got, vec![Outcome::UpToDate, Outcome::Conflict, Outcome::New]);
        let other: BTreeMap<String, String> =
            [("grp".into(), "1".into()), ("team/a/b".into(), "2".into())].into();
        assert_eq!(group_clash("grp/x", &other).as_deref(), Some("grp"));
        assert_eq!(group_clash("team/a", &other).as_deref(), Some("team/a/b"));
        assert_eq!(group_clash("team", &other).as_deref(), Some("team/a/b"));
        assert_eq!(group_clash("grpx", &other), None);
        assert_eq!(group_clash("team/ab", &other), None);
    }
}
