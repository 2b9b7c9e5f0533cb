//! `push`: uploads the large artifacts of runs, then pushes the refs of the
//! runs whose artifacts are all in the artifact store. A run with an artifact
//! list that cannot be read, or an object that did not upload, stays here.

use std::collections::{BTreeMap, BTreeSet};

use super::{no_store, pick_remote, select_local_runs, store_objects};
use super::{Direction, Error, Progress, Report, Warning};
use crate::artifacts::remote::{Remote, Settings, Transfer};
use crate::store::transport::{classify, Outcome};
use crate::store::Store;

/// What to push.
#[derive(Debug, Clone, Default)]
pub struct PushOptions<'a> {
    /// The git remote: a name, URL or path, or a run (see [`pick_remote`]);
    /// `None`: the remote `git push` uses.
    pub remote: Option<String>,
    /// Run specs (none: all runs).
    pub runs: Vec<String>,
    /// Push the runs without their large artifacts.
    pub no_artifacts: bool,
    /// Change nothing; report what would be sent.
    pub dry_run: bool,
    /// The process environment (credentials of the artifact store).
    pub vars: &'a [(String, String)],
}

/// Pushes runs to a remote, artifacts first. A run that does not go out is
/// an outcome in the report, not an error.
pub fn push(
    store: &Store,
    options: &PushOptions,
    progress: &dyn Progress,
    warn: &mut dyn FnMut(Warning),
) -> Result<Report, Error> {
    let mut specs = options.runs.clone();
    let remote = pick_remote(store, options.remote.clone(), &mut specs, true)?;
    let runs = select_local_runs(store, &specs)?;
    let theirs = store.remote_runs(&remote)?;
    let mut classified = classify(&runs, &theirs);

    // Artifacts first: a run's ref goes out only with all its files in the store.
    let sendable: Vec<(String, String)> = classified
        .iter()
        .filter(|(_, _, o)| *o != Outcome::Conflict)
        .map(|(n, c, _)| (n.clone(), c.clone()))
        .collect();
    let found = store_objects(store, &sendable);
    // A run goes out only with all its artifacts: not with an unreadable list.
    let mut held_back: BTreeSet<String> = BTreeSet::new();
    for warning in found.unreadable {
        if let Warning::UnreadableArtifacts { run, .. } = &warning {
            held_back.insert(run.clone());
        }
        warn(warning);
    }
    let mut transfer = Transfer::default();
    let mut store_url = None;
    if !found.objects.is_empty() && !options.no_artifacts {
        let settings = Settings::for_remote(store, Some(&remote), options.vars)?
            .ok_or_else(|| no_store(&remote, &found.objects))?;
        let artifacts = Remote::open(&settings)?;
        store_url = Some(artifacts.url().to_owned());
        if options.dry_run {
            transfer.transferred = found.objects.clone();
        } else {
            progress.begin(found.objects.iter().map(|o| o.size).sum(), Direction::Upload);
            transfer = artifacts.upload(store.common_dir(), &found.objects, progress);
            progress.end();
        }
        for failure in &transfer.failed {
            held_back.extend(found.owners.get(&failure.sha256).into_iter().flatten().cloned());
        }
    }

    let to_push: Vec<(String, String)> = classified
        .iter()
        .filter(|(n, _, o)| *o == Outcome::New && !held_back.contains(n))
        .map(|(n, c, _)| (n.clone(), c.clone()))
        .collect();
    let pushed = if options.dry_run || to_push.is_empty() {
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
        Report::new(&remote, store_url, options.dry_run, classified, &theirs, transfer);
    for run in &mut report.runs {
        if run.outcome == Outcome::HeldBack {
            run.reason = Some(match damaged.get(&run.name) {
                Some(why) => format!("git could not send it: {why}"),
                None => "its artifacts could not all be read or uploaded".to_owned(),
            });
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{git, run_with_artifact, Team};
    use super::*;
    use crate::artifacts::remote::Quiet;

    fn outcomes(report: &Report) -> Vec<(&str, Outcome)> {
        report.runs.iter().map(|r| (r.name.as_str(), r.outcome)).collect()
    }

    #[test]
    fn no_ref_goes_out_before_its_artifacts() {
        let team = Team::new();
        let (root, store) = team.member("here");
        let (fine, fine_sha) = run_with_artifact(&store, 1, "fine", &[7; 4000], true);
        // lost's object is neither in the local store nor in the artifact store.
        let (_, lost_sha) = run_with_artifact(&store, 2, "lost", &[8; 4000], false);
        let mut warnings = Vec::new();
        let report =
            push(&store, &PushOptions::default(), &Quiet, &mut |w| warnings.push(w)).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(outcomes(&report), [("fine", Outcome::New), ("lost", Outcome::HeldBack)]);
        let lost = &report.runs[1];
        assert_eq!(lost.reason.as_deref(), Some("its artifacts could not all be read or uploaded"));
        assert_eq!(report.artifacts.transferred.len(), 1);
        assert_eq!(report.artifacts.transferred[0].sha256, fine_sha);
        assert_eq!(report.artifacts.failed.len(), 1);
        assert_eq!(report.artifacts.failed[0].sha256, lost_sha);
        assert!(report.artifact_store.as_deref().is_some_and(|u| u.starts_with("file://")));
        // The remote has fine at its commit, and no lost.
        assert_eq!(team.remote_refs(), format!("{fine}\trefs/experiments/fine"));
        // fine's object is in the artifact store, under the local store's layout.
        let object = team.bucket.join("sha256").join(&fine_sha[..2]).join(&fine_sha[2..]);
        assert_eq!(fs_err::read(object).unwrap(), [7; 4000]);
        git(&root, &["fsck", "--strict", "--no-dangling"]);
        git(&team.bare, &["fsck", "--strict", "--no-dangling"]);

        // Once the object is back, the run goes out, and fine is up to date.
        run_with_artifact(&store, 3, "other", &[8; 4000], true);
        let report = push(&store, &PushOptions::default(), &Quiet, &mut |_| {}).unwrap();
        let got = outcomes(&report);
        assert_eq!(
            got,
            [("fine", Outcome::UpToDate), ("lost", Outcome::New), ("other", Outcome::New)]
        );
        assert!(team.remote_refs().contains("refs/experiments/lost"));
    }

    #[test]
    fn a_run_with_an_unreadable_artifact_list_stays_here_with_a_warning() {
        let team = Team::new();
        let (_root, store) = team.member("here");
        run_with_artifact(&store, 1, "fine", &[1; 2000], true);
        // A second run whose artifacts.toml is not TOML.
        let mut files = crate::store::repo::RunFiles {
            exp: crate::store::format::sample_exp(2, "broken"),
            config: String::new(),
            metrics: b"step,name,value,time\n".to_vec(),
            summary: String::new(),
            env: String::new(),
            output: Vec::new(),
            code_tree: None,
            artifacts: Some("[[artifact]]\npath = \n".into()),
            artifact_blobs: Vec::new(),
            message: "exp: broken".into(),
            time: 1_700_000_000,
        };
        files.exp.name = "broken".into();
        store.write_run(&files).unwrap();
        let mut warnings = Vec::new();
        let report =
            push(&store, &PushOptions::default(), &Quiet, &mut |w| warnings.push(w)).unwrap();
        assert_eq!(outcomes(&report), [("broken", Outcome::HeldBack), ("fine", Outcome::New)]);
        assert!(
            matches!(&warnings[..], [Warning::UnreadableArtifacts { run, .. }] if run == "broken"),
            "{warnings:?}"
        );
        let refs = team.remote_refs();
        assert!(refs.contains("refs/experiments/fine") && !refs.contains("broken"), "{refs}");
    }

    #[test]
    fn a_dry_run_sends_nothing_and_a_store_is_needed_for_large_artifacts() {
        let team = Team::new();
        let (root, store) = team.member("here");
        run_with_artifact(&store, 1, "big", &[3; 5000], true);
        let options = PushOptions { dry_run: true, ..PushOptions::default() };
        let report = push(&store, &options, &Quiet, &mut |_| {}).unwrap();
        assert_eq!(outcomes(&report), [("big", Outcome::New)]);
        assert_eq!(report.artifacts.transferred.len(), 1);
        assert_eq!(team.remote_refs(), "");
        // Opening the store may create its directory; nothing is put in it.
        assert!(!team.bucket.join("sha256").exists());

        git(&root, &["config", "--unset", "remote.origin.expArtifacts"]);
        let store = Store::discover(&root, &[]).unwrap();
        let err = push(&store, &PushOptions::default(), &Quiet, &mut |_| {}).unwrap_err();
        assert!(matches!(&err, Error::NoArtifactStore { objects: 1, bytes: 5000, .. }), "{err}");
        assert_eq!(team.remote_refs(), "");
        let options = PushOptions { no_artifacts: true, ..PushOptions::default() };
        let report = push(&store, &options, &Quiet, &mut |_| {}).unwrap();
        assert_eq!(outcomes(&report), [("big", Outcome::New)]);
        assert!(team.remote_refs().contains("refs/experiments/big"));
    }
}
