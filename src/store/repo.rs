//! `Store`: the repository seen as a set of runs. Opens the repository, writes
//! a run (blobs, tree, commit, ref in one compare-and-swap) and reads runs back.

use std::path::{Path, PathBuf};

use gix::bstr::ByteSlice;
use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};
use gix::refs::Target;

use super::format::{self, files, ExpFile, SummaryFile};
use super::{Error, Result, REF_PREFIX};

/// Author used when git config has no `user.name`/`user.email`.
const FALLBACK_NAME: &str = "git-exp";
const FALLBACK_EMAIL: &str = "git-exp@localhost";

/// An open repository with a working tree.
pub struct Store {
    pub(super) repo: gix::Repository,
    workdir: PathBuf,
    cwd: PathBuf,
}

/// Everything that goes into one run commit.
pub struct RunFiles {
    /// `exp.toml`; its `name` is the ref name.
    pub exp: ExpFile,
    /// `config.toml` text.
    pub config: String,
    /// `metrics.csv` bytes.
    pub metrics: Vec<u8>,
    /// `summary.toml` text.
    pub summary: String,
    /// `env.toml` text.
    pub env: String,
    /// `output.log` bytes.
    pub output: Vec<u8>,
    /// The `code` tree (hex id), if any.
    pub code_tree: Option<String>,
    /// `artifacts.toml` text, when the run has artifacts.
    pub artifacts: Option<String>,
    /// Inline artifacts: path under `artifacts/` and blob id (from [`Store::put_blob`]).
    pub artifact_blobs: Vec<(String, String)>,
    /// The commit message.
    pub message: String,
    /// Commit time, unix seconds.
    pub time: i64,
}

/// How much of a run to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// exp.toml, config.toml and summary.toml: what `list` needs.
    Listing,
    /// Also env.toml and output.log: what `show` needs.
    Full,
}

/// A run read back from its commit.
#[derive(Debug, Clone)]
pub struct RunRecord {
    /// The ref name after `refs/experiments/`.
    pub name: String,
    /// The run commit; `None` for a run still running (not committed yet).
    pub commit: Option<super::CommitId>,
    /// exp.toml.
    pub exp: ExpFile,
    /// config.toml.
    pub config: toml::Table,
    /// summary.toml.
    pub summary: SummaryFile,
    /// env.toml, with [`Detail::Full`].
    pub env: Option<toml::Table>,
    /// output.log, with [`Detail::Full`].
    pub output: Option<Vec<u8>>,
    /// artifacts.toml, with [`Detail::Full`] (empty when the run has none).
    pub artifacts: format::ArtifactsFile,
}

impl RunRecord {
    /// The run's commit, or the error reading a run without one gives (a run
    /// still running has no commit yet).
    pub fn committed(&self) -> Result<&super::CommitId> {
        self.commit.as_ref().ok_or_else(|| Error::corrupt(&self.name, "commit id", None))
    }
}

/// Run refs as `(name, commit)`.
pub type RefList = Vec<(String, String)>;

impl Store {
    /// Opens the repository that contains `cwd` (a subdirectory or a linked worktree is fine).
    /// `overrides` are `key=value` settings given with `git -c` (see [`config_overrides`]).
    pub fn discover(cwd: &Path, overrides: &[String]) -> Result<Store> {
        let options =
            gix::open::Options::default().cli_overrides(overrides.iter().map(String::as_str));
        let trust = gix::sec::trust::Mapping { full: options.clone(), reduced: options };
        let mut repo: gix::Repository =
            gix::ThreadSafeRepository::discover_with_environment_overrides_opts(
                cwd,
                Default::default(),
                trust,
            )
            .map_err(|_| Error::NotARepository { path: cwd.display().to_string() })?
            .into();
        repo.object_cache_size_if_unset(4 * 1024 * 1024);
        let Some(workdir) = repo.workdir().map(Path::to_path_buf) else {
            return Err(Error::Bare { path: repo.git_dir().display().to_string() });
        };
        let ref_storage = repo.config_snapshot().string("extensions.refStorage");
        if ref_storage.is_some_and(|v| v.eq_ignore_ascii_case(b"reftable")) {
            return Err(Error::Reftable { path: repo.git_dir().display().to_string() });
        }
        Ok(Store { repo, workdir, cwd: cwd.to_path_buf() })
    }

    /// The root of the working tree.
    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    /// The git dir shared by all worktrees; git-exp keeps its own state under `exp/` in it.
    pub fn common_dir(&self) -> &Path {
        self.repo.common_dir()
    }

    /// The current directory relative to the working tree root, `.` at the root.
    pub fn cwd_relative(&self) -> String {
        let cwd = self.cwd.canonicalize().unwrap_or_else(|_| self.cwd.clone());
        let root = self.workdir.canonicalize().unwrap_or_else(|_| self.workdir.clone());
        match cwd.strip_prefix(&root) {
            Ok(rel) if rel.as_os_str().is_empty() => ".".into(),
            Ok(rel) => rel.to_string_lossy().into_owned(),
            Err(_) => ".".into(),
        }
    }

    /// The commit HEAD points to, or `None` on an unborn branch.
    pub fn head_commit(&self) -> Result<Option<String>> {
        let head = self.repo.head().map_err(Error::git)?;
        let id = head.try_into_peeled_id().map_err(Error::git)?;
        Ok(id.map(|id| id.detach().to_string()))
    }

    /// Reads a git config value (`exp.outputLimit`, ...).
    pub fn config_string(&self, key: &str) -> Option<String> {
        self.repo.config_snapshot().string(key).map(|v| v.to_str_lossy().into_owned())
    }

    /// Reads every value of a multi-valued git config key (`exp.codeExclude`), in
    /// the order git gives them; empty when it is not set.
    pub fn config_strings(&self, key: &str) -> Vec<String> {
        let config = self.repo.config_snapshot();
        let values = config.plumbing().strings(key).unwrap_or_default();
        values.iter().map(|v| v.to_str_lossy().into_owned()).collect()
    }

    /// Reads a git config integer, accepting `k`/`m`/`g` suffixes as git does;
    /// a value that is not an integer in `accepted` is an error that names the
    /// key, the value and `expected` (what is accepted, in words).
    pub fn config_integer(
        &self,
        key: &str,
        accepted: std::ops::RangeInclusive<i64>,
        expected: &str,
    ) -> Result<Option<i64>> {
        let config = self.repo.config_snapshot();
        match config.try_integer(key) {
            Ok(None) => Ok(None),
            Ok(Some(n)) if accepted.contains(&n) => Ok(Some(n)),
            _ => Err(Error::BadConfig {
                key: key.to_owned(),
                value: self.config_string(key).unwrap_or_default(),
                expected: expected.to_owned(),
            }),
        }
    }

    /// Whether `refs/experiments/<name>` exists.
    pub fn run_exists(&self, name: &str) -> Result<bool> {
        let full = format!("{REF_PREFIX}{name}");
        Ok(self.repo.try_find_reference(full.as_str()).map_err(Error::git)?.is_some())
    }

    /// All run refs as `(name, commit)` pairs, sorted by name. Refs that do not
    /// point at an object are skipped.
    pub fn list_refs(&self) -> Result<Vec<(String, String)>> {
        Ok(self.list_refs_reporting()?.0)
    }

    /// [`Store::list_refs`], with an [`Error::BadRef`] for each ref under
    /// `refs/experiments/` that leads to no object (unreadable content, a
    /// missing object, a symbolic-ref loop), so readers can say what they skip.
    pub fn list_refs_reporting(&self) -> Result<(RefList, Vec<Error>)> {
        let platform = self.repo.references().map_err(Error::git)?;
        let iter = platform.prefixed(REF_PREFIX).map_err(Error::git)?;
        let mut out = Vec::new();
        let mut bad = Vec::new();
        for reference in iter {
            let mut reference = match reference {
                Ok(r) => r,
                Err(e) => {
                    let why = format::one_line(&e.to_string());
                    // gix names the ref only in its message.
                    let name = why
                        .split_once(REF_PREFIX)
                        .map(|(_, rest)| rest.split('"').next().unwrap_or(rest).to_owned())
                        .unwrap_or_else(|| "?".into());
                    bad.push(Error::BadRef { name, why: "its content is not a ref".into() });
                    continue;
                }
            };
            let full = reference.name().as_bstr().to_str_lossy().into_owned();
            let Some(name) = full.strip_prefix(REF_PREFIX) else { continue };
            let name = name.to_owned();
            // A direct ref names its commit: no need to read the object to peel it
            // (read_run reads it anyway, and checks that it is a commit).
            if let Some(id) = reference.target().try_id() {
                out.push((name, id.to_string()));
            } else {
                match reference.peel_to_id() {
                    Ok(id) => out.push((name, id.detach().to_string())),
                    Err(e) => {
                        bad.push(Error::BadRef { name, why: format::one_line(&e.to_string()) })
                    }
                }
            }
        }
        out.sort();
        Ok((out, bad))
    }

    /// The kind of the object `id` names (`commit`, `tree`, `blob`, `tag`), or
    /// `None` when it is missing or `id` is not an object id.
    pub fn object_kind(&self, id: &str) -> Option<&'static str> {
        let id = gix::ObjectId::from_hex(id.as_bytes()).ok()?;
        let header = self.repo.find_header(id).ok()?;
        Some(match header.kind() {
            gix::object::Kind::Commit => "commit",
            gix::object::Kind::Tree => "tree",
            gix::object::Kind::Blob => "blob",
            gix::object::Kind::Tag => "tag",
        })
    }

    /// Reads a run from its commit.
    pub fn read_run(&self, name: &str, commit: &str, detail: Detail) -> Result<RunRecord> {
        read_run_in(&self.repo, name, commit, detail)
    }

    /// Reads many runs, in the order of `refs`.
    ///
    /// One thread on purpose: gix maps each loose object file into memory, and
    /// with two threads the unmapping of thousands of small maps costs more than
    /// the second core gains (measured: 10,000 loose runs 1.0 s on one thread,
    /// 1.9 s on two; packed runs 0.45 s against 0.35 s). See docs/benchmarks.md.
    pub fn read_runs(&self, refs: &[(String, String)], detail: Detail) -> Vec<Result<RunRecord>> {
        refs.iter().map(|(name, commit)| self.read_run(name, commit, detail)).collect()
    }

    /// Reads `file` of each run commit and hands it to `f`, on up to one thread
    /// per core (inflating large blobs such as `metrics.csv` is the slow part).
    /// Results are in the order of `commits`.
    pub fn map_run_files<T: Send>(
        &self,
        commits: &[String],
        file: &str,
        f: impl Fn(Result<Option<Vec<u8>>>) -> T + Sync,
    ) -> Vec<T> {
        let threads =
            std::thread::available_parallelism().map_or(1, |n| n.get()).min(commits.len());
        if threads <= 1 {
            return commits.iter().map(|c| f(self.read_run_file(c, file))).collect();
        }
        // gix handles are per thread: each thread opens the repository itself (about a
        // millisecond), reading objects only.
        let git_dir = self.repo.git_dir().to_path_buf();
        let chunk = commits.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let handles: Vec<_> = commits
                .chunks(chunk)
                .map(|part| {
                    let f = &f;
                    let (git_dir, workdir, cwd) =
                        (git_dir.clone(), self.workdir.clone(), self.cwd.clone());
                    scope.spawn(move || {
                        let opened = gix::open_opts(&git_dir, gix::open::Options::isolated())
                            .map(|mut repo| {
                                repo.object_cache_size_if_unset(4 * 1024 * 1024);
                                Store { repo, workdir, cwd }
                            })
                            .map_err(Error::git);
                        part.iter()
                            .map(|c| match &opened {
                                Ok(store) => f(store.read_run_file(c, file)),
                                Err(e) => f(Err(Error::git_msg(e.to_string()))),
                            })
                            .collect::<Vec<T>>()
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().expect("reader thread")).collect()
        })
    }

    /// Reads a file at `path` (`/`-separated, may be nested) in a run commit's tree.
    pub fn read_run_path(&self, commit: &str, path: &str) -> Result<Option<Vec<u8>>> {
        let Some(id) = parse_id(commit) else { return Ok(None) };
        let commit_obj = self.repo.find_commit(id).map_err(Error::git)?;
        let tree =
            self.repo.find_tree(commit_obj.tree_id().map_err(Error::git)?).map_err(Error::git)?;
        let Some(entry) = tree.lookup_entry_by_path(path).map_err(Error::git)? else {
            return Ok(None);
        };
        if !entry.mode().is_blob() {
            return Ok(None);
        }
        let blob = self.repo.find_blob(entry.object_id()).map_err(Error::git)?;
        Ok(Some(blob.detach().data))
    }

    /// The tree id of a commit (for diffs against a run's `code` tree).
    pub fn commit_tree(&self, commit: &str) -> Result<Option<String>> {
        let Some(id) = parse_id(commit) else { return Ok(None) };
        match self.repo.find_commit(id) {
            Ok(c) => Ok(Some(c.tree_id().map_err(Error::git)?.to_string())),
            Err(_) => Ok(None),
        }
    }

    /// The id of a run's `code` tree, if it has one.
    pub fn code_tree(&self, commit: &str) -> Result<Option<String>> {
        let Some(id) = parse_id(commit) else { return Ok(None) };
        let commit_obj = self.repo.find_commit(id).map_err(Error::git)?;
        let tree =
            self.repo.find_tree(commit_obj.tree_id().map_err(Error::git)?).map_err(Error::git)?;
        Ok(tree
            .find_entry(files::CODE)
            .filter(|e| e.mode().is_tree())
            .map(|e| e.object_id().to_string()))
    }

    /// Reads one top-level file of a run commit.
    pub fn read_run_file(&self, commit: &str, file: &str) -> Result<Option<Vec<u8>>> {
        let Some(id) = parse_id(commit) else { return Ok(None) };
        let commit_obj = self.repo.find_commit(id).map_err(Error::git)?;
        let tree =
            self.repo.find_tree(commit_obj.tree_id().map_err(Error::git)?).map_err(Error::git)?;
        let Some(entry) = tree.find_entry(file) else { return Ok(None) };
        let blob = self.repo.find_blob(entry.object_id()).map_err(Error::git)?;
        Ok(Some(blob.detach().data))
    }

    /// Writes the run's objects and creates `refs/experiments/<name>`, failing with
    /// [`Error::NameTaken`] if that ref exists: nothing is ever overwritten.
    pub fn write_run(&self, run: &RunFiles) -> Result<String> {
        let repo = &self.repo;
        let blob = |bytes: &[u8]| -> Result<gix::ObjectId> {
            Ok(repo.write_blob(bytes).map_err(Error::git)?.detach())
        };
        let exp_text = format::to_toml(&run.exp, files::EXP)?;
        let mut editor = repo.empty_tree().edit().map_err(Error::git)?;
        let entries: [(&str, &[u8]); 6] = [
            (files::EXP, exp_text.as_bytes()),
            (files::CONFIG, run.config.as_bytes()),
            (files::METRICS, &run.metrics),
            (files::SUMMARY, run.summary.as_bytes()),
            (files::ENV, run.env.as_bytes()),
            (files::OUTPUT, &run.output),
        ];
        for (path, bytes) in entries {
            editor
                .upsert(path, gix::object::tree::EntryKind::Blob, blob(bytes)?)
                .map_err(Error::git)?;
        }
        if let Some(code) = run.code_tree.as_deref().and_then(parse_id) {
            editor
                .upsert(files::CODE, gix::object::tree::EntryKind::Tree, code)
                .map_err(Error::git)?;
        }
        if let Some(text) = &run.artifacts {
            editor
                .upsert(
                    files::ARTIFACTS,
                    gix::object::tree::EntryKind::Blob,
                    blob(text.as_bytes())?,
                )
                .map_err(Error::git)?;
        }
        for (path, id) in &run.artifact_blobs {
            let id = parse_id(id).ok_or_else(|| Error::git_msg("bad artifact blob id"))?;
            let path = format!("{}/{path}", files::ARTIFACTS_DIR);
            editor
                .upsert(path.as_str(), gix::object::tree::EntryKind::Blob, id)
                .map_err(Error::git)?;
        }
        let tree = editor.write().map_err(Error::git)?.detach();
        let signature = self.signature(run.time);
        let parents = run.exp.code_commit.as_deref().and_then(parse_id).into_iter().collect();
        let commit = gix::objs::Commit {
            tree,
            parents,
            author: signature.clone(),
            committer: signature.clone(),
            encoding: None,
            message: run.message.clone().into(),
            extra_headers: Vec::new(),
        };
        let commit_id = repo.write_object(&commit).map_err(Error::git)?.detach();
        self.create_ref(&run.exp.name, commit_id, &signature)?;
        Ok(commit_id.to_string())
    }

    fn create_ref(&self, name: &str, id: gix::ObjectId, sig: &gix::actor::Signature) -> Result<()> {
        let full = format!("{REF_PREFIX}{name}");
        let full_name: gix::refs::FullName =
            full.as_str().try_into().map_err(|_| Error::InvalidName {
                name: name.to_owned(),
                reason: "git rejects it as a ref name".into(),
            })?;
        if self.name_conflicts(name)? {
            return Err(Error::InvalidName {
                name: name.to_owned(),
                reason: "a run group and a run cannot share a name (one is a prefix of the other)"
                    .into(),
            });
        }
        let edit = RefEdit {
            change: Change::Update {
                log: LogChange {
                    mode: RefLog::AndReference,
                    force_create_reflog: true,
                    message: format!("git-exp: run {name}").into(),
                },
                expected: PreviousValue::MustNotExist,
                new: Target::Object(id),
            },
            name: full_name,
            deref: false,
        };
        let mut time_buf = gix::date::parse::TimeBuf::default();
        let sig_ref = sig.to_ref(&mut time_buf);
        match self.repo.edit_references_as(Some(edit), Some(sig_ref)) {
            Ok(_) => Ok(()),
            Err(e) => {
                if self.run_exists(name).unwrap_or(false) {
                    return Err(Error::NameTaken { name: name.to_owned() });
                }
                let lock = self.common_dir().join(format!("{full}.lock"));
                if lock.exists() {
                    return Err(Error::Locked { name: full, lock: lock.display().to_string() });
                }
                Err(Error::git(e))
            }
        }
    }

    /// True when `name` would be a group of an existing run or the other way round
    /// (`a` and `a/b`), which git cannot store side by side.
    pub fn name_conflicts(&self, name: &str) -> Result<bool> {
        for group in super::name::groups_of(name) {
            if self.run_exists(group)? {
                return Ok(true);
            }
        }
        let dir = format!("{REF_PREFIX}{name}/");
        let platform = self.repo.references().map_err(Error::git)?;
        let mut iter = platform.prefixed(dir.as_str()).map_err(Error::git)?;
        Ok(iter.next().is_some())
    }

    fn signature(&self, time: i64) -> gix::actor::Signature {
        let (name, email) = match self.repo.author() {
            Some(Ok(sig)) => (sig.name.to_owned(), sig.email.to_owned()),
            _ => (FALLBACK_NAME.into(), FALLBACK_EMAIL.into()),
        };
        gix::actor::Signature { name, email, time: gix::date::Time { seconds: time, offset: 0 } }
    }

    /// Writes a blob, returning its hex id (used for the `code` tree).
    pub(super) fn write_blob(&self, bytes: &[u8]) -> Result<gix::ObjectId> {
        Ok(self.repo.write_blob(bytes).map_err(Error::git)?.detach())
    }

    /// Writes a blob (for a run's tree) and returns its id as hex.
    pub fn put_blob(&self, bytes: &[u8]) -> Result<String> {
        Ok(self.write_blob(bytes)?.to_string())
    }

    /// Abbreviates a commit id the way `git log --oneline` would (7 hex digits).
    pub fn short(id: &str) -> &str {
        id.get(..7).unwrap_or(id)
    }
}

/// Reads a run from its commit in `repo`.
/// A run's `what` that gix could not read, keeping gix's error as the cause.
fn corrupt_by(name: &str, what: &str, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::corrupt(name, what, Some(Box::new(e)))
}

fn read_run_in(
    repo: &gix::Repository,
    name: &str,
    commit: &str,
    detail: Detail,
) -> Result<RunRecord> {
    let corrupt = |what: &str| Error::corrupt(name, what, None);
    let commit_id = super::CommitId::parse(commit).ok_or_else(|| corrupt("commit id"))?;
    let id = parse_id(commit).ok_or_else(|| corrupt("commit id"))?;
    let commit_obj = repo.find_commit(id).map_err(|e| corrupt_by(name, "the commit", e))?;
    let tree_id = commit_obj.tree_id().map_err(|e| corrupt_by(name, "the tree", e))?;
    let tree = repo.find_tree(tree_id).map_err(|e| corrupt_by(name, "the tree", e))?;
    let blob = |file: &str| -> Result<Option<Vec<u8>>> {
        let Some(entry) = tree.find_entry(file) else { return Ok(None) };
        if !entry.mode().is_blob() {
            return Err(corrupt(file));
        }
        let blob = repo.find_blob(entry.object_id()).map_err(|e| corrupt_by(name, file, e))?;
        Ok(Some(blob.detach().data))
    };
    let text = |file: &'static str| -> Result<Option<String>> {
        match blob(file)? {
            Some(bytes) => {
                String::from_utf8(bytes).map(Some).map_err(|e| corrupt_by(name, file, e))
            }
            None => Ok(None),
        }
    };
    let exp_text = text(files::EXP)?.ok_or_else(|| corrupt(files::EXP))?;
    let exp = format::parse_exp(&exp_text, name)?;
    let config = match text(files::CONFIG)? {
        Some(t) => format::parse_table(&t, files::CONFIG, name)?,
        None => toml::Table::new(),
    };
    let summary = match text(files::SUMMARY)? {
        Some(t) => format::parse_summary(&t, name)?,
        None => SummaryFile::default(),
    };
    let (env, output) = if detail == Detail::Full {
        let env = match text(files::ENV)? {
            Some(t) => Some(format::parse_table(&t, files::ENV, name)?),
            None => None,
        };
        (env, blob(files::OUTPUT)?)
    } else {
        (None, None)
    };
    let artifacts = match (detail, text(files::ARTIFACTS)?) {
        (Detail::Full, Some(t)) => toml::from_str(&t).map_err(|e| {
            Error::from(format::Error::Parse {
                file: files::ARTIFACTS,
                run: name.to_owned(),
                message: e.to_string().split_whitespace().collect::<Vec<_>>().join(" "),
            })
        })?,
        _ => format::ArtifactsFile::default(),
    };
    Ok(RunRecord {
        name: name.to_owned(),
        commit: Some(commit_id),
        exp,
        config,
        summary,
        env,
        output,
        artifacts,
    })
}

/// The `key=value` settings git passes to a subcommand started as `git -c k=v exp ...`,
/// read from the value of `GIT_CONFIG_PARAMETERS` (`'k'='v' 'k2'='v2'`, or the older
/// `'k=v'`, each shell-quoted).
pub fn config_overrides(parameters: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = parameters.chars();
    let mut in_entry = false;
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_entry = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    current.push(q);
                }
            }
            '\\' => {
                in_entry = true;
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            ' ' if in_entry => {
                out.push(std::mem::take(&mut current));
                in_entry = false;
            }
            ' ' => {}
            other => {
                in_entry = true;
                current.push(other);
            }
        }
    }
    if in_entry {
        out.push(current);
    }
    out
}

/// Parses a full hex object id.
pub(super) fn parse_id(hex: &str) -> Option<gix::ObjectId> {
    gix::ObjectId::from_hex(hex.as_bytes()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_config_parameters_are_unquoted() {
        assert_eq!(config_overrides("'exp.outputlimit'='100'"), ["exp.outputlimit=100"]);
        assert_eq!(
            config_overrides("'a.b'='x y' 'old.form=1' 'q.k'='it'\\''s'"),
            ["a.b=x y", "old.form=1", "q.k=it's"]
        );
        assert!(config_overrides("").is_empty());
    }
}
