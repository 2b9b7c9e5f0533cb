//! `pull`: fetches runs of a remote that are not here, never over a
//! different run of the same name, skipping runs deleted here with
//! `git exp rm` unless asked; with `artifacts`, then downloads the large
//! artifacts the local store lacks.

use std::collections::{BTreeMap, BTreeSet};

use super::{no_store, pick_remote, store_objects, Direction, Error, Progress, Report, Warning};
use crate::artifacts::remote::{self, Object, Remote, Settings, Transfer};
use crate::store::repo::Detail;
use crate::store::transport::{classify, Outcome};
use crate::store::{removed, Store, REF_PREFIX};
use crate::util::anonymize_url;

/// What to pull.
#[derive(Debug, Clone, Default)]
pub struct PullOptions<'a> {
    /// The git remote: a name, URL or path, or a run (see [`pick_remote`]);
    /// `None`: the current branch's remote, else origin.
    pub remote: Option<String>,
    /// Run names (none: all of the remote's runs).
    pub runs: Vec<String>,
    /// Also download the large artifacts of these runs.
    pub artifacts: bool,
    /// Also fetch the runs deleted here (named runs always are).
    pub include_removed: bool,
    /// Change nothing; report what would be fetched.
    pub dry_run: bool,
    /// The process environment (credentials of the artifact store).
    pub vars: &'a [(String, String)],
}

/// Fetches runs from a remote, then (with `artifacts`) their large artifacts.
pub fn pull(
    store: &Store,
    options: &PullOptions,
    progress: &dyn Progress,
    warn: &mut dyn FnMut(Warning),
) -> Result<Report, Error> {
    let mut names = options.runs.clone();
    let remote = pick_remote(store, options.remote.clone(), &mut names, false)?;
    let dry_run = options.dry_run;
    let theirs = store.remote_runs(&remote)?;
    let mut wanted: Vec<(String, String)> = Vec::new();
    if names.is_empty() {
        wanted.extend(theirs.iter().map(|(n, c)| (n.clone(), c.clone())));
    } else {
        for name in &names {
            let name = name.strip_prefix(REF_PREFIX).unwrap_or(name);
            let commit = theirs.get(name).ok_or_else(|| Error::NoSuchRun {
                remote: anonymize_url(&remote),
                name: name.to_owned(),
            })?;
            wanted.push((name.to_owned(), commit.clone()));
        }
    }
    // Names from the other side must be names here too.
    wanted.retain(|(name, _)| match crate::store::name::validate(name) {
        Ok(()) => true,
        Err(e) => {
            warn(Warning::InvalidName { remote: anonymize_url(&remote), why: e.to_string() });
            false
        }
    });
    let mine: BTreeMap<String, String> = store.list_refs()?.into_iter().collect();
    let mut classified = classify(&wanted, &mine);
    // Runs deleted here stay deleted, unless named or asked for; a different
    // run pushed later under the same name is not one of them.
    let (removed, damaged) = removed::read(store.common_dir());
    if let Some(why) = damaged {
        warn(Warning::RemovedUnreadable { why });
    }
    if names.is_empty() && !options.include_removed {
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
    let rejected: BTreeSet<String> = if dry_run {
        BTreeSet::new()
    } else {
        store.fetch_runs(&remote, &new)?.into_iter().collect()
    };
    let fetched: Vec<(String, String)> = classified
        .iter()
        .filter(|(n, _, o)| *o == Outcome::New && !rejected.contains(n) && !dry_run)
        .map(|(n, c, _)| (n.clone(), c.clone()))
        .collect();
    let not_runs: BTreeMap<String, String> = store.drop_non_runs(&fetched).into_iter().collect();
    for (name, commit, outcome) in &mut classified {
        if rejected.contains(name) {
            *outcome = Outcome::Rejected;
        } else if not_runs.contains_key(name) {
            *outcome = Outcome::HeldBack;
        } else if *outcome == Outcome::New && !dry_run {
            // Fetched runs are someone else's data: say so now if one cannot be
            // read (its metadata and artifact list; not its log, which can be MiBs).
            let readable = store
                .read_run(name, commit, Detail::Listing)
                .and_then(|_| store.run_artifacts(name, commit));
            if let Err(e) = readable {
                warn(Warning::FetchedUnreadable { run: name.clone(), why: e.to_string() });
            }
        }
    }

    if !dry_run {
        let back: Vec<(String, String)> = classified
            .iter()
            .filter(|(n, c, o)| *o == Outcome::New && removed.contains(n, c))
            .map(|(n, c, _)| (n.clone(), c.clone()))
            .collect();
        if let Err(e) = removed::forget(store.common_dir(), &back) {
            let path = removed::path(store.common_dir()).display().to_string();
            warn(Warning::RemovedNotUpdated { path, why: e.to_string() });
        }
    }

    let mut transfer = Transfer::default();
    let mut store_url = None;
    if options.artifacts {
        let present: Vec<(String, String)> = classified
            .iter()
            .filter(|(_, _, o)| matches!(o, Outcome::New | Outcome::UpToDate))
            .filter(|(n, _, _)| !rejected.contains(n))
            .map(|(n, c, _)| (n.clone(), c.clone()))
            .collect();
        // A dry run reads only the runs that are here already.
        let readable: Vec<(String, String)> = if dry_run {
            present.into_iter().filter(|(_, c)| mine.values().any(|m| m == c)).collect()
        } else {
            present
        };
        let found = store_objects(store, &readable);
        found.unreadable.into_iter().for_each(&mut *warn);
        let missing: Vec<Object> = found
            .objects
            .into_iter()
            .filter(|o| {
                remote::local_path(store.common_dir(), &o.sha256).is_none_or(|p| !p.exists())
            })
            .collect();
        if !missing.is_empty() {
            let settings = Settings::for_remote(store, Some(&remote), options.vars)?
                .ok_or_else(|| no_store(&remote, &missing))?;
            let artifacts = Remote::open(&settings)?;
            store_url = Some(artifacts.url().to_owned());
            if dry_run {
                transfer.transferred = missing;
            } else {
                progress.begin(missing.iter().map(|o| o.size).sum(), Direction::Download);
                transfer = artifacts.download(store.common_dir(), &missing, progress);
                progress.end();
            }
        }
    }
    let mut report = Report::new(&remote, store_url, dry_run, classified, &mine, transfer);
    for run in &mut report.runs {
        run.reason = not_runs.get(&run.name).cloned();
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{git, run_with_artifact, Team};
    use super::super::{push, PushOptions};
    use super::*;
    use crate::artifacts::remote::Quiet;

    fn outcomes(report: &Report) -> Vec<(&str, Outcome)> {
        report.runs.iter().map(|r| (r.name.as_str(), r.outcome)).collect()
    }

    #[test]
    fn runs_come_over_then_their_artifacts() {
        let team = Team::new();
        let (_, here) = team.member("here");
        let (a, sha) = run_with_artifact(&here, 1, "train/a", &[5; 3000], true);
        let (b, _) = run_with_artifact(&here, 2, "train/b", &[5; 3000], true);
        push(&here, &PushOptions::default(), &Quiet, &mut |_| {}).unwrap();

        let (there_root, there) = team.member("there");
        let mut warnings = Vec::new();
        let report =
            pull(&there, &PullOptions::default(), &Quiet, &mut |w| warnings.push(w)).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(outcomes(&report), [("train/a", Outcome::New), ("train/b", Outcome::New)]);
        assert!(report.artifacts.transferred.is_empty() && report.artifact_store.is_none());
        let refs = git(&there_root, &["for-each-ref", "--format=%(objectname) %(refname)"]);
        assert_eq!(refs, format!("{a} refs/experiments/train/a\n{b} refs/experiments/train/b"));
        git(&there_root, &["fsck", "--strict", "--no-dangling"]);
        let local = crate::artifacts::local::store_path(there.common_dir(), &sha);
        assert!(!local.exists());

        // Again, with artifacts: the runs are up to date, the shared object comes once.
        let options = PullOptions { artifacts: true, ..PullOptions::default() };
        let report = pull(&there, &options, &Quiet, &mut |_| {}).unwrap();
        assert_eq!(
            outcomes(&report),
            [("train/a", Outcome::UpToDate), ("train/b", Outcome::UpToDate)]
        );
        assert_eq!(report.artifacts.transferred.len(), 1);
        assert!(report.artifacts.failed.is_empty(), "{:?}", report.artifacts.failed);
        assert_eq!(fs_err::read(&local).unwrap(), [5; 3000]);
    }

    #[test]
    fn named_runs_only_and_never_over_a_different_run() {
        let team = Team::new();
        let (_, here) = team.member("here");
        run_with_artifact(&here, 1, "a", &[1; 10], true);
        run_with_artifact(&here, 2, "b", &[2; 10], true);
        push(&here, &PushOptions::default(), &Quiet, &mut |_| {}).unwrap();

        let (_, there) = team.member("there");
        // There, b is another run.
        let (mine, _) = run_with_artifact(&there, 3, "b", &[3; 10], true);
        let options = PullOptions { runs: vec!["a".into()], ..PullOptions::default() };
        let report = pull(&there, &options, &Quiet, &mut |_| {}).unwrap();
        assert_eq!(outcomes(&report), [("a", Outcome::New)]);
        let report = pull(&there, &PullOptions::default(), &Quiet, &mut |_| {}).unwrap();
        assert_eq!(outcomes(&report), [("a", Outcome::UpToDate), ("b", Outcome::Conflict)]);
        assert_eq!(report.runs[1].theirs.as_deref(), Some(mine.as_str()));
        assert_eq!(there.list_refs().unwrap()[1], ("b".to_owned(), mine));

        let options = PullOptions { runs: vec!["zzz".into()], ..PullOptions::default() };
        let err = pull(&there, &options, &Quiet, &mut |_| {}).unwrap_err();
        assert!(matches!(&err, Error::NoSuchRun { name, .. } if name == "zzz"), "{err}");
    }
}
