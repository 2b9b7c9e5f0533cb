//! Sharing runs: `push` and `pull` move runs and their large artifacts to and
//! from a remote, `init` makes plain `git push`/`git fetch` carry runs. Refs go
//! through the user's git (`store::transport`), artifacts through the remote
//! store configured for that git remote (`artifacts::remote`), git config
//! writes through `store::config`.
//!
//! Each command is one call that returns what it did ([`Report`],
//! [`Initialized`]) and never prints: warnings go to a callback as they
//! happen, transfer progress to a [`Progress`] the caller gives. Rendering
//! belongs to the caller.
//!
//! Order matters: a push uploads the artifacts first and pushes a run's ref
//! only when all its artifacts are in the store, so whoever sees the run can
//! get its files. A run name that the other side holds for a different run is
//! a conflict: reported, never overwritten, in either direction.

mod init;
mod pull;
mod push;

use std::collections::BTreeMap;

pub use init::{init, InitOptions, Initialized, PushSetup};
pub use pull::{pull, PullOptions};
pub use push::{push, PushOptions};

use crate::artifacts::remote::{self, Object, Transfer};
use crate::store::format::Storage;
use crate::store::repo::Detail;
use crate::store::transport::{group_clash, Outcome};
use crate::store::{self, Store};
use crate::util::{anonymize_url, human_bytes};

pub use crate::store::transport::RUNS_REFSPEC;

/// Errors of push, pull and init. Problems with single runs are not errors:
/// they are outcomes in the [`Report`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The repository failed (or git could not reach the remote).
    #[error(transparent)]
    Store(#[from] store::Error),
    /// The artifact store cannot be opened.
    #[error(transparent)]
    Artifacts(#[from] remote::Error),
    /// `git config` failed.
    #[error(transparent)]
    Config(#[from] store::config::Error),
    /// No remote was named and the repository has none to default to.
    #[error("this repository has no git remote to use")]
    NoRemote {
        /// The command (`push`, `pull`, `init`), for the hint.
        command: &'static str,
    },
    /// The first argument is neither a remote nor a run.
    #[error("'{given}' is neither a git remote nor a run (remotes: {known})")]
    NotRemoteNorRun {
        /// What was given (credentials removed).
        given: String,
        /// The configured remotes, or `none`.
        known: String,
    },
    /// `init` was given a name that is not a configured remote.
    #[error("'{remote}' is not a configured git remote")]
    NotConfigured {
        /// The name.
        remote: String,
    },
    /// `pull` was asked for a run the remote does not have.
    #[error("{remote} has no run named '{name}'")]
    NoSuchRun {
        /// The remote (credentials removed).
        remote: String,
        /// The run asked for.
        name: String,
    },
    /// Large artifacts are to be transferred and no artifact store is set.
    #[error(
        "{objects} large artifact{} ({}) need an artifact store, and none is configured for {remote}",
        plural(*objects),
        human_bytes(*bytes)
    )]
    NoArtifactStore {
        /// The git remote.
        remote: String,
        /// How many objects.
        objects: usize,
        /// Their total size.
        bytes: u64,
    },
}

/// Something that went wrong without stopping a push or pull. The texts
/// quote data from other people's runs: a terminal shows them neutralised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Warning {
    /// A run's artifact list cannot be read; its artifacts are left out.
    #[error("run {run}: {why}; its artifacts are left out (repair it, or delete it with `git exp rm {run}`)")]
    UnreadableArtifacts {
        /// The run.
        run: String,
        /// The read error.
        why: String,
    },
    /// The remote has a run under a name that is not a run name here.
    #[error("skipping a run of {remote}: {why}")]
    InvalidName {
        /// The remote (credentials removed).
        remote: String,
        /// Which rule the name breaks.
        why: String,
    },
    /// The memory of runs deleted here cannot be read.
    #[error("{why}; it is ignored, so runs deleted here may be fetched again")]
    RemovedUnreadable {
        /// What is wrong with it.
        why: String,
    },
    /// The memory of runs deleted here cannot be updated.
    #[error("cannot update {path}: {why}")]
    RemovedNotUpdated {
        /// The file.
        path: String,
        /// The write error.
        why: String,
    },
    /// A fetched run's metadata or artifact list cannot be read.
    #[error("fetched run {run} cannot be read: {why}")]
    FetchedUnreadable {
        /// The run.
        run: String,
        /// The read error.
        why: String,
    },
}

/// Which way artifacts travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// To the artifact store (push).
    Upload,
    /// From it into the local store (pull).
    Download,
}

/// Progress of the artifact transfer of a push or pull: at most one
/// transfer per call, between [`Progress::begin`] and [`Progress::end`].
pub trait Progress: remote::Progress {
    /// A transfer of `total` bytes begins.
    fn begin(&self, total: u64, direction: Direction);
    /// The transfer is over (before refs move, whose git messages follow).
    fn end(&self);
}

/// No progress reporting.
impl Progress for remote::Quiet {
    fn begin(&self, _total: u64, _direction: Direction) {}
    fn end(&self) {}
}

/// One run in a push or pull report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunReport {
    /// Run name.
    pub name: String,
    /// Its commit here (push) or there (pull).
    pub commit: String,
    /// What happened to it.
    pub outcome: Outcome,
    /// The other side's commit, for a conflict.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub theirs: Option<String>,
    /// The other side's run in the way, for a name clash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clashes_with: Option<String>,
    /// Why a run was held back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What `push` or `pull` did (`--format json`, docs/json.md).
#[derive(Debug, serde::Serialize)]
pub struct Report {
    /// The git remote (credentials removed).
    pub remote: String,
    /// The artifact store used, if any (credentials removed).
    pub artifact_store: Option<String>,
    /// Nothing was changed.
    pub dry_run: bool,
    /// Every run considered, by name.
    pub runs: Vec<RunReport>,
    /// The artifact transfer.
    pub artifacts: Transfer,
}

impl Report {
    /// The report of runs classified against `other` (the other side's refs).
    fn new(
        remote: &str,
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
        Report { remote: anonymize_url(remote), artifact_store, dry_run, runs, artifacts }
    }

    /// How many runs had `outcome`.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.runs.iter().filter(|r| r.outcome == outcome).count()
    }
}

/// The remote to use: the one given, else git's default. A first argument
/// that is not a remote but names a run is taken as a run and put first in
/// `runs` (`git exp push my-run`). `push` picks git's push default and takes
/// only local runs as runs.
pub fn pick_remote(
    store: &Store,
    given: Option<String>,
    runs: &mut Vec<String>,
    push: bool,
) -> Result<String, Error> {
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
            return Err(Error::NotRemoteNorRun { given: anonymize_url(&given), known });
        }
        runs.insert(0, given);
    }
    store
        .default_remote(push)
        .ok_or(Error::NoRemote { command: if push { "push" } else { "pull" } })
}

/// The runs the specs name (all runs when none), as (name, commit), each once.
pub fn select_local_runs(store: &Store, specs: &[String]) -> Result<Vec<(String, String)>, Error> {
    if specs.is_empty() {
        return Ok(store.list_refs()?);
    }
    let mut out: Vec<(String, String)> = Vec::new();
    for spec in specs {
        let (run, _) = store.resolve(spec, Detail::Listing)?;
        if !out.iter().any(|(n, _)| *n == run.name) {
            let commit = run.committed()?.to_string();
            out.push((run.name, commit));
        }
    }
    Ok(out)
}

/// Runs that own each object, by hash.
pub type Owners = BTreeMap<String, Vec<String>>;

/// The store objects of some runs ([`store_objects`]).
#[derive(Debug, Default)]
pub struct StoreObjects {
    /// Each object once, by hash.
    pub objects: Vec<Object>,
    /// Which runs own each object.
    pub owners: Owners,
    /// Runs whose artifact list cannot be read, as warnings.
    pub unreadable: Vec<Warning>,
}

/// The store objects of `runs` (name, commit), which runs own each object,
/// and the runs whose artifact list cannot be read, which are left out: one
/// damaged run, perhaps fetched from someone else, does not stop the others.
pub fn store_objects(store: &Store, runs: &[(String, String)]) -> StoreObjects {
    let mut objects: BTreeMap<String, u64> = BTreeMap::new();
    let mut out = StoreObjects::default();
    for (name, commit) in runs {
        let file = match store.run_artifacts(name, commit) {
            Ok(file) => file,
            Err(e) => {
                out.unreadable
                    .push(Warning::UnreadableArtifacts { run: name.clone(), why: e.to_string() });
                continue;
            }
        };
        for entry in file.artifacts.into_iter().filter(|e| e.storage == Storage::Store) {
            out.owners.entry(entry.sha256.clone()).or_default().push(name.clone());
            objects.insert(entry.sha256, entry.size);
        }
    }
    out.objects = objects.into_iter().map(|(sha256, size)| Object { sha256, size }).collect();
    out
}

/// The error for objects that need an artifact store when `remote` has none.
fn no_store(remote: &str, objects: &[Object]) -> Error {
    Error::NoArtifactStore {
        remote: remote.to_owned(),
        objects: objects.len(),
        bytes: objects.iter().map(|o| o.size).sum(),
    }
}

/// `""` for one, `"s"` for any other count.
pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Repositories for the tests of push, pull and init: a bare remote reached
/// by a `file://` URL, and runs written with the store.
#[cfg(test)]
pub(crate) mod testing {
    use std::path::{Path, PathBuf};

    use crate::store::format::{self, Entry, Storage};
    use crate::store::repo::RunFiles;
    use crate::store::Store;

    /// Runs git in `dir`, asserting success; its stdout, trimmed.
    pub fn git(dir: &Path, args: &[&str]) -> String {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@t"])
            .args(args)
            .current_dir(dir)
            .output()
            .expect("git runs");
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("UTF-8").trim().to_owned()
    }

    /// A temporary directory with a bare repository `remote.git`.
    pub struct Team {
        /// The directory.
        pub dir: tempfile::TempDir,
        /// The bare repository.
        pub bare: PathBuf,
        /// The artifact store directory (`file://` URL in `remote.origin.expArtifacts`).
        pub bucket: PathBuf,
    }

    impl Team {
        /// A new directory with an empty bare remote.
        pub fn new() -> Team {
            let dir = tempfile::tempdir().expect("temp dir");
            let bare = dir.path().join("remote.git");
            git(dir.path(), &["init", "-q", "--bare", bare.to_str().expect("UTF-8 path")]);
            let bucket = dir.path().join("bucket");
            Team { dir, bare, bucket }
        }

        /// A repository `name` whose `origin` is the bare remote by a `file://`
        /// URL, with the artifact store configured, and its store.
        pub fn member(&self, name: &str) -> (PathBuf, Store) {
            let root = self.dir.path().join(name);
            git(self.dir.path(), &["init", "-q", "-b", "main", name]);
            let url = format!("file://{}", self.bare.display());
            git(&root, &["remote", "add", "origin", &url]);
            let store_url = format!("file://{}", self.bucket.display());
            git(&root, &["config", "remote.origin.expArtifacts", &store_url]);
            let store = Store::discover(&root, &[]).expect("a repository");
            (root, store)
        }

        /// The run refs of the bare remote, as `git ls-remote` prints them.
        pub fn remote_refs(&self) -> String {
            git(self.dir.path(), &["ls-remote", self.bare.to_str().expect("UTF-8"), "refs/*"])
        }
    }

    /// Writes run `name` (id from `i`) with one large artifact of `content`
    /// listed in its artifacts.toml; the object enters the local store only
    /// when `stored`. Returns the run's commit and the object's hash.
    pub fn run_with_artifact(
        store: &Store,
        i: usize,
        name: &str,
        content: &[u8],
        stored: bool,
    ) -> (String, String) {
        let sha256 =
            crate::artifacts::local::hash_reader(content).expect("hashing memory cannot fail");
        if stored {
            let path = crate::artifacts::local::store_path(store.common_dir(), &sha256);
            fs_err::create_dir_all(path.parent().expect("objects sit in a fan-out directory"))
                .expect("create the fan-out directory");
            fs_err::write(&path, content).expect("write the object");
        }
        let list = format::ArtifactsFile {
            artifacts: vec![Entry {
                path: "model.bin".into(),
                size: content.len() as u64,
                sha256: sha256.clone(),
                media_type: "application/octet-stream".into(),
                storage: Storage::Store,
            }],
            skipped: vec![],
        };
        let files = RunFiles {
            exp: format::sample_exp(i, name),
            config: String::new(),
            metrics: b"step,name,value,time\n".to_vec(),
            summary: String::new(),
            env: String::new(),
            output: Vec::new(),
            code_tree: None,
            artifacts: Some(toml::to_string(&list).expect("serializable")),
            artifact_blobs: Vec::new(),
            message: format!("exp: {name}"),
            time: 1_700_000_000,
        };
        let commit = store.write_run(&files).expect("run written");
        (commit, sha256)
    }
}
