//! The `code` tree of a run: HEAD's tree plus staged and unstaged changes to
//! tracked files plus untracked, not ignored files, as they are on disk when the
//! run starts. Built from `gix` status; the index and working tree are only read.
//! Which paths the run keeps as artifacts is decided by the caller ([`Kept`]);
//! here they are only left out.
//!
//! Runs are pushed and published, so untracked files that hold secrets are left
//! out: by name (`looks_secret`), by the user's `exp.codeExclude` patterns,
//! and by content, with the redaction rules ([`Redactor::find_in_file`]). The
//! `code_skipped` entry says why, never what was found.

use std::collections::BTreeMap;

use gix::bstr::{BString, ByteSlice};
use gix::object::tree::EntryKind;
use gix::status::index_worktree::Item as WorktreeItem;
use gix::status::plumbing::index_as_worktree::{Change as WtChange, EntryStatus};
use gix::status::{Item, UntrackedFiles};

use super::format::SkippedFile;
use super::repo::{parse_id, Store};
use super::{Error, Result};
use crate::env::Redactor;

/// Limits on what the `code` tree takes from the working tree.
#[derive(Debug, Clone)]
pub struct Options {
    /// A changed or untracked file larger than this is left out.
    pub max_file_bytes: u64,
    /// Once this much has been read from the working tree, further files are left out.
    pub max_total_bytes: u64,
    /// Untracked files matching one of these are left out (`exp.codeExclude`);
    /// see [`exclude_pattern`].
    pub exclude: Vec<glob::Pattern>,
}

impl Default for Options {
    fn default() -> Self {
        Options { max_file_bytes: 10 << 20, max_total_bytes: 100 << 20, exclude: Vec::new() }
    }
}

/// `code_skipped` reason of an untracked file matching `exp.codeExclude`.
pub const EXCLUDED: &str = "matches exp.codeExclude";
/// `code_skipped` reason of an untracked file named like a secret file.
pub const SECRET_NAME: &str = "looks like a secret file";

/// How `exp.codeExclude` patterns match: `*`, `?` and `[...]` stay within one
/// path component, `**` spans any number of them, and `*` also matches a
/// leading `.` (a pattern meant to leave files out should not miss dotfiles).
const EXCLUDE_MATCH: glob::MatchOptions = glob::MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

/// Parses one `exp.codeExclude` pattern; returns why it is refused. A pattern
/// without `/` matches a file name at any depth (`*.secret`); one with `/`
/// matches the path from the repository root (`private/**`, `data/local.json`).
pub fn exclude_pattern(text: &str) -> std::result::Result<glob::Pattern, String> {
    glob::Pattern::new(text.trim_start_matches('/')).map_err(|e| e.msg.to_owned())
}

fn excluded(path: &str, patterns: &[glob::Pattern]) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    patterns.iter().any(|p| {
        let target = if p.as_str().contains('/') { path } else { file };
        p.matches_with(target, EXCLUDE_MATCH)
    })
}

/// `code_skipped` reason of a file the run keeps as an artifact.
pub const KEPT_AS_ARTIFACT: &str = "kept as an artifact";
/// `code_skipped` reason of git-exp's own directory (live runs, artifact store)
/// when the common git dir lies in the working tree.
pub const GIT_EXP_DIR: &str = "git-exp's own directory";
/// `code_skipped` reason of a site `git exp report -o DIR` wrote into the working tree.
pub const REPORT_SITE: &str = "a git-exp report site";
/// The manifest `git exp report` writes into every site it builds: a directory
/// holding it is git-exp's output, not the run's code.
pub const REPORT_MANIFEST: &str = ".git-exp-report.json";

/// A working-tree path left out of `code` when it is untracked or changed
/// (staged or not): its data is kept elsewhere. The version committed in HEAD
/// stays, as HEAD's tree is the base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// Relative to the working tree root, `/`-separated; empty for the root.
    pub path: String,
    /// A directory: everything under it is left out (listed as one entry).
    pub dir: bool,
    /// The `code_skipped` reason.
    pub reason: &'static str,
}

impl Kept {
    /// Whether this covers the working-tree path `path`.
    fn covers(&self, path: &str) -> bool {
        if !self.dir {
            return path == self.path;
        }
        self.path.is_empty()
            || path.strip_prefix(self.path.as_str()).is_some_and(|rest| rest.starts_with('/'))
    }
}

/// What the run's code was.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// HEAD's commit, `None` on an unborn branch.
    pub head: Option<String>,
    /// The `code` tree (hex), `None` when there is nothing at all.
    pub tree: Option<String>,
    /// Whether the tree differs from HEAD's tree.
    pub dirty: bool,
    /// Files left out, and why.
    pub skipped: Vec<SkippedFile>,
}

/// What to do with one path of the code tree.
enum Action {
    /// Take this blob (from the index).
    Index(gix::ObjectId, EntryKind),
    /// Read the file from the working tree.
    Disk {
        /// Not in the index: subject to the secret-file rule.
        untracked: bool,
    },
    /// Remove it.
    Remove,
}

/// File names never taken from the working tree (untracked files only): they
/// usually hold credentials, and runs are pushed and published.
const SECRET_FILE_NAMES: &[&str] = &[
    ".env",
    ".envrc",
    ".netrc",
    ".pypirc",
    ".npmrc",
    ".pgpass",
    ".my.cnf",
    ".htpasswd",
    ".git-credentials",
    ".vault-token",
    ".boto",
    ".s3cfg",
    ".dockercfg",
    ".terraformrc",
    "terraform.rc",
    "kubeconfig",
    "credentials",
    "credentials.json",
    "client_secret.json",
    "service-account.json",
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    "id_ecdsa_sk",
    "id_ed25519_sk",
    "secrets.toml",
    "secrets.yaml",
    "secrets.yml",
    "secrets.json",
    "secrets.env",
];

/// File name endings of key stores, private keys and secret variable files.
const SECRET_FILE_SUFFIXES: &[&str] = &[
    ".env",
    ".pem",
    ".key",
    ".p12",
    ".pfx",
    ".ppk",
    ".jks",
    ".keystore",
    ".tfvars",
    ".tfstate",
    ".tfstate.backup",
];

/// Paths (their last components) of tools' credential files with generic names.
const SECRET_FILE_PATHS: &[&str] = &[".docker/config.json", ".kube/config"];

/// Directories whose untracked files are all secret.
const SECRET_DIRS: &[&str] = &[".ssh", ".gnupg", ".aws"];

/// Directories of tools and caches: untracked files under them are never part
/// of the code (a virtualenv or `node_modules` someone forgot to ignore).
const TOOL_DIRS: &[&str] = &[
    ".venv",
    "venv",
    "node_modules",
    "__pycache__",
    ".ipynb_checkpoints",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".tox",
    ".nox",
    ".eggs",
    "site-packages",
    "wandb",
    "mlruns",
    ".cache",
];

/// At most this many skipped files are listed one by one in exp.toml.
const MAX_LISTED_SKIPS: usize = 100;

/// The tool directory (path up to and including it) that `path` lies in, if any.
fn tool_dir(path: &str) -> Option<&str> {
    let mut end = 0;
    let components: Vec<&str> = path.split('/').collect();
    for (i, component) in components.iter().enumerate() {
        end += component.len();
        if i + 1 < components.len() && TOOL_DIRS.contains(component) {
            return Some(&path[..end]);
        }
        end += 1;
    }
    None
}

/// Whether an untracked file's name or place says that it holds secrets.
fn looks_secret(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    let mut dirs = path.split('/').rev().skip(1);
    SECRET_FILE_NAMES.contains(&file)
        || file.starts_with(".env.")
        || SECRET_FILE_SUFFIXES.iter().any(|s| file.ends_with(s))
        || (file.ends_with(".json")
            && (file.contains("service-account") || file.contains("service_account")))
        || SECRET_FILE_PATHS.iter().any(|p| path == *p || path.ends_with(&format!("/{p}")))
        || dirs.any(|d| SECRET_DIRS.contains(&d))
}

/// Whether a file's name says it holds configuration, where `name = value`
/// lines are values rather than code (see [`Redactor::find_in_file`]).
fn is_config_file(path: &str) -> bool {
    const EXTENSIONS: &[&str] = &[
        "ini",
        "cfg",
        "conf",
        "cnf",
        "config",
        "properties",
        "toml",
        "env",
        "yaml",
        "yml",
        "txt",
        "hcl",
        "tfvars",
    ];
    let file = path.rsplit('/').next().unwrap_or(path);
    match file.rsplit_once('.') {
        Some((stem, ext)) => {
            stem.is_empty() || EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())
        }
        // No extension: `config`, `credentials`-like files.
        None => true,
    }
}

impl Store {
    /// Builds the `code` tree from the current state of the working tree.
    pub fn snapshot_code(&self, opts: &Options) -> Result<Snapshot> {
        self.snapshot_code_except(opts, &[], &Redactor::default())
    }

    /// Builds the `code` tree from the current state of the working tree,
    /// leaving out the untracked and changed files that `kept` covers.
    /// Untracked files are scanned with `redactor`'s rules, so one holding the
    /// value of a secret environment variable is left out too.
    pub fn snapshot_code_except(
        &self,
        opts: &Options,
        kept: &[Kept],
        redactor: &Redactor,
    ) -> Result<Snapshot> {
        let repo = &self.repo;
        let head = self.head_commit()?;
        let head_tree = match &head {
            Some(commit) => {
                let id = parse_id(commit).ok_or_else(|| Error::git_msg("bad HEAD id"))?;
                Some(
                    repo.find_commit(id)
                        .map_err(Error::git)?
                        .tree_id()
                        .map_err(Error::git)?
                        .detach(),
                )
            }
            None => None,
        };
        let mut actions: BTreeMap<BString, Action> = BTreeMap::new();
        let mut index_actions: BTreeMap<BString, Action> = BTreeMap::new();
        let status = repo
            .status(gix::progress::Discard)
            .map_err(Error::git)?
            .untracked_files(UntrackedFiles::Files)
            .index_worktree_submodules(None)
            .into_iter(None)
            .map_err(Error::git)?;
        for item in status {
            let item = item.map_err(Error::git)?;
            match item {
                Item::TreeIndex(change) => {
                    use gix::diff::index::ChangeRef;
                    match change {
                        ChangeRef::Addition { location, entry_mode, id, .. }
                        | ChangeRef::Modification { location, entry_mode, id, .. } => {
                            index_actions
                                .insert(location.into_owned(), index_action(entry_mode, &id));
                        }
                        ChangeRef::Rewrite {
                            source_location,
                            location,
                            entry_mode,
                            id,
                            copy,
                            ..
                        } => {
                            if !copy {
                                index_actions.insert(source_location.into_owned(), Action::Remove);
                            }
                            index_actions
                                .insert(location.into_owned(), index_action(entry_mode, &id));
                        }
                        ChangeRef::Deletion { location, .. } => {
                            index_actions.insert(location.into_owned(), Action::Remove);
                        }
                    }
                }
                Item::IndexWorktree(WorktreeItem::Modification { rela_path, status, .. }) => {
                    let action = match status {
                        EntryStatus::Change(WtChange::Removed) => Action::Remove,
                        EntryStatus::Change(WtChange::SubmoduleModification(_)) => continue,
                        EntryStatus::NeedsUpdate(_) => continue,
                        _ => Action::Disk { untracked: false },
                    };
                    actions.insert(rela_path, action);
                }
                Item::IndexWorktree(WorktreeItem::DirectoryContents { entry, .. }) => {
                    if entry.status == gix::dir::entry::Status::Untracked
                        && matches!(
                            entry.disk_kind,
                            Some(gix::dir::entry::Kind::File | gix::dir::entry::Kind::Symlink)
                        )
                    {
                        actions.insert(entry.rela_path, Action::Disk { untracked: true });
                    }
                }
                Item::IndexWorktree(WorktreeItem::Rewrite { .. }) => {}
            }
        }
        for (path, action) in index_actions {
            actions.entry(path).or_insert(action);
        }
        // git-exp's own output is not the run's code: report sites are left out
        // like kept artifacts (a committed version stays).
        let sites = self.report_sites(actions.keys().map(|p| p.to_str_lossy()));
        let kept: Vec<Kept> = kept.iter().cloned().chain(sites).collect();
        if actions.is_empty() {
            return Ok(Snapshot {
                tree: head_tree.map(|t| t.to_string()),
                head,
                dirty: false,
                skipped: vec![],
            });
        }
        let base = head_tree.unwrap_or_else(|| gix::ObjectId::empty_tree(repo.object_hash()));
        let mut editor = repo.edit_tree(base).map_err(Error::git)?;
        let mut skipped = Vec::new();
        let mut skipped_dirs: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        let mut kept_dirs: BTreeMap<String, (u64, u64, &'static str)> = BTreeMap::new();
        let mut total = 0u64;
        for (path, action) in actions {
            let path_str = path.to_str_lossy().into_owned();
            let covered = match action {
                Action::Remove => None,
                _ => kept.iter().find(|k| k.covers(&path_str)),
            };
            if let Some(k) = covered {
                // Left as HEAD has it (or absent): the data is kept elsewhere.
                let size = fs_err::symlink_metadata(self.workdir().join(&path_str))
                    .map(|m| m.len())
                    .unwrap_or(0);
                if k.dir {
                    let entry = kept_dirs.entry(format!("{}/", k.path)).or_insert((0, 0, k.reason));
                    entry.0 += 1;
                    entry.1 += size;
                } else {
                    skipped.push(SkippedFile { path: path_str, size, reason: k.reason.into() });
                }
                continue;
            }
            match action {
                Action::Remove => {
                    editor.remove(path.as_bstr()).map_err(Error::git)?;
                }
                Action::Index(id, kind) => {
                    editor.upsert(path.as_bstr(), kind, id).map_err(Error::git)?;
                }
                Action::Disk { untracked: true } if tool_dir(&path_str).is_some() => {
                    let dir = tool_dir(&path_str).expect("checked by the guard").to_owned();
                    let size = fs_err::symlink_metadata(self.workdir().join(&path_str))
                        .map(|m| m.len())
                        .unwrap_or(0);
                    let entry = skipped_dirs.entry(dir).or_default();
                    entry.0 += 1;
                    entry.1 += size;
                }
                Action::Disk { untracked } => {
                    match self
                        .read_worktree_file(&path_str, untracked, opts, redactor, &mut total)?
                    {
                        Read::Blob(bytes, kind) => {
                            let id = self.write_blob(&bytes)?;
                            editor.upsert(path.as_bstr(), kind, id).map_err(Error::git)?;
                        }
                        Read::Gone => {
                            editor.remove(path.as_bstr()).map_err(Error::git)?;
                        }
                        Read::Skip(size, reason) => {
                            skipped.push(SkippedFile { path: path_str, size, reason })
                        }
                    }
                }
            }
        }
        for (dir, (files, size)) in skipped_dirs {
            let reason = format!("tool or cache directory ({files} untracked files)");
            skipped.push(SkippedFile { path: format!("{dir}/"), size, reason });
        }
        for (dir, (files, size, reason)) in kept_dirs {
            let files = if files == 1 { "1 file".to_owned() } else { format!("{files} files") };
            let path = if dir == "/" { "./".to_owned() } else { dir };
            skipped.push(SkippedFile { path, size, reason: format!("{reason} ({files})") });
        }
        if skipped.len() > MAX_LISTED_SKIPS {
            let rest = skipped.split_off(MAX_LISTED_SKIPS);
            let size = rest.iter().map(|s| s.size).sum();
            let reason = format!("{} more files left out", rest.len());
            skipped.push(SkippedFile { path: "...".into(), size, reason });
        }
        let tree = editor.write().map_err(Error::git)?.detach();
        let dirty = Some(tree) != head_tree;
        Ok(Snapshot { head, tree: Some(tree.to_string()), dirty, skipped })
    }

    /// The directories among the parents of `paths` that hold a report site
    /// ([`REPORT_MANIFEST`]), outermost only. The working tree root is never
    /// one: a site there would leave out every change.
    fn report_sites<'a>(
        &self,
        paths: impl Iterator<Item = std::borrow::Cow<'a, str>>,
    ) -> Vec<Kept> {
        let mut checked: BTreeMap<String, bool> = BTreeMap::new();
        let mut sites = Vec::new();
        for path in paths {
            let mut end = 0;
            while let Some(i) = path[end..].find('/') {
                end += i;
                let dir = &path[..end];
                end += 1;
                let is_site = match checked.get(dir) {
                    Some(known) => *known,
                    None => {
                        let manifest = self.workdir().join(dir).join(REPORT_MANIFEST);
                        let found = fs_err::symlink_metadata(manifest).is_ok_and(|m| m.is_file());
                        checked.insert(dir.to_owned(), found);
                        found
                    }
                };
                if is_site {
                    if !sites.iter().any(|k: &Kept| k.path == dir) {
                        sites.push(Kept { path: dir.to_owned(), dir: true, reason: REPORT_SITE });
                    }
                    break;
                }
            }
        }
        sites
    }

    fn read_worktree_file(
        &self,
        path: &str,
        untracked: bool,
        opts: &Options,
        redactor: &Redactor,
        total: &mut u64,
    ) -> Result<Read> {
        if untracked && looks_secret(path) {
            return Ok(Read::Skip(0, SECRET_NAME.into()));
        }
        let full = self.workdir().join(path);
        let io = |source| Error::Io { path: full.display().to_string(), source };
        let meta = match fs_err::symlink_metadata(&full) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Read::Gone),
            Err(e) => return Err(io(e)),
        };
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&full).map_err(io)?;
            let bytes = target.as_os_str().as_encoded_bytes().to_vec();
            return Ok(Read::Blob(bytes, EntryKind::Link));
        }
        if !meta.is_file() {
            return Ok(Read::Gone);
        }
        let size = meta.len();
        if untracked && excluded(path, &opts.exclude) {
            return Ok(Read::Skip(size, EXCLUDED.into()));
        }
        if size > opts.max_file_bytes {
            return Ok(Read::Skip(size, "larger than the per-file limit".into()));
        }
        if *total + size > opts.max_total_bytes {
            return Ok(Read::Skip(size, "over the total size limit".into()));
        }
        *total += size;
        let bytes = fs_err::read(&full).map_err(|e| Error::Io { path: path.into(), source: e })?;
        let text = String::from_utf8_lossy(&bytes);
        let config = is_config_file(path);
        if let Some((finding, line)) = redactor.find_in_file(&text, config) {
            let reason = format!("holds what looks like {} (line {line})", finding.describe());
            if untracked {
                return Ok(Read::Skip(size, reason));
            }
            // A tracked file whose change brings a secret (a key filled into
            // a committed template): the committed version is kept instead.
            // One whose committed version holds it too is in git already.
            let committed = match self.head_commit()? {
                Some(head) => self.read_run_path(&head, path)?,
                None => None,
            };
            let known = committed.is_some_and(|old| {
                redactor.find_in_file(&String::from_utf8_lossy(&old), config).is_some()
            });
            if !known {
                return Ok(Read::Skip(size, format!("{reason}; the committed version is kept")));
            }
        }
        use std::os::unix::fs::PermissionsExt;
        let kind = if meta.permissions().mode() & 0o111 != 0 {
            EntryKind::BlobExecutable
        } else {
            EntryKind::Blob
        };
        Ok(Read::Blob(bytes, kind))
    }
}

enum Read {
    Blob(Vec<u8>, EntryKind),
    Gone,
    Skip(u64, String),
}

fn index_action(mode: gix::index::entry::Mode, id: &gix::oid) -> Action {
    match mode.to_tree_entry_mode() {
        Some(m) => Action::Index(id.to_owned(), m.kind()),
        None => Action::Remove,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_directories_are_recognised_at_any_depth() {
        assert_eq!(tool_dir(".venv/lib/python3.11/x.py"), Some(".venv"));
        assert_eq!(tool_dir("sub/node_modules/a/b.js"), Some("sub/node_modules"));
        assert_eq!(tool_dir("src/__pycache__/m.pyc"), Some("src/__pycache__"));
        assert_eq!(tool_dir("src/venv.py"), None);
        assert_eq!(tool_dir("venv"), None);
        assert_eq!(tool_dir("src/model.py"), None);
    }

    #[test]
    fn kept_paths_cover_themselves_and_what_is_under_a_directory() {
        let kept = |path: &str, dir| Kept { path: path.into(), dir, reason: KEPT_AS_ARTIFACT };
        assert!(kept("model.pt", false).covers("model.pt"));
        assert!(!kept("model.pt", false).covers("model.pt/x"));
        assert!(kept("out", true).covers("out/a/b.pt"));
        assert!(!kept("out", true).covers("outside.txt"));
        assert!(!kept("out", true).covers("out"));
        assert!(kept("", true).covers("anything/at/all"));
    }

    #[test]
    fn secret_looking_files() {
        for p in [
            ".env",
            "conf/.env.local",
            "keys/server.pem",
            "id_rsa",
            "a/credentials.json",
            "my-service-account.json",
            "prod.env",
            ".docker/config.json",
            "home/.kube/config",
            "infra/prod.tfvars",
            "x/.ssh/known_keys",
        ] {
            assert!(looks_secret(p), "{p}");
        }
        for p in [
            "env.py",
            "environment.yml",
            "keyboard.py",
            "tokenizer.json",
            "docker/config.json",
            "kube/config",
            "config.json",
            "venv.txt",
        ] {
            assert!(!looks_secret(p), "{p}");
        }
    }

    #[test]
    fn exclude_patterns_match_names_anywhere_and_paths_from_the_root() {
        let patterns: Vec<glob::Pattern> = ["*.secret", "private/**", "/data/local.json"]
            .iter()
            .map(|p| exclude_pattern(p).unwrap())
            .collect();
        for p in ["a.secret", "deep/er/.b.secret", "private/x/y.md", "data/local.json"] {
            assert!(excluded(p, &patterns), "{p}");
        }
        for p in ["a.secrets", "sub/private/x.md", "data/local.json.bak", "x/data/local.json"] {
            assert!(!excluded(p, &patterns), "{p}");
        }
        assert!(exclude_pattern("[oops").is_err());
    }
}
