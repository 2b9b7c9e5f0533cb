//! `git exp gc`'s core: removes local artifact store objects that no run points
//! to, stale temporary files of the store, and Python clients unpacked by other
//! versions of git-exp. Returns what it did (or would do); never prints.
//!
//! Safety rules, in order of importance:
//! - If any run under `refs/experiments/` cannot be read, or its `artifacts.toml`
//!   cannot be parsed, nothing is removed: a read error must never look like
//!   "no run needs this object".
//! - Only names that match the store layout are touched
//!   (`exp/objects/sha256/<2 hex>/<62 hex>`, lowercase, and the temporary files
//!   of `exp/objects/tmp/`); everything else under `exp/objects/` is reported
//!   and left alone.
//! - Anything modified within the grace period (`keep_recent`) is kept: a run may
//!   be committing right now, and the store touches an object when a new run
//!   reuses it. "Modified" is the later of the modification and the inode change
//!   time (a hardlinked object keeps its old modification time). The time is
//!   checked again just before each removal.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::{ArtifactsFile, Storage};
use crate::store::format::files;
use crate::store::{self, Store};

/// Objects younger than this are kept unless told otherwise.
pub const DEFAULT_KEEP_RECENT: Duration = Duration::from_secs(3600);

/// What `gc` is asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// Only report what would be removed.
    pub dry_run: bool,
    /// Keep everything modified less than this long ago.
    pub keep_recent: Duration,
    /// The current time.
    pub now: SystemTime,
    /// The unpacked Python client this binary uses (always kept); `None` leaves
    /// `exp/python/` alone.
    pub python_current: Option<PathBuf>,
    /// Some runs are running: a client unpacked by another version may be on their
    /// `PYTHONPATH`, so no client is removed.
    pub runs_live: bool,
}

/// What a removed file or directory was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A store object no run points to.
    Object,
    /// A temporary file of the store (or a half-unpacked Python client) left by a
    /// process that died.
    Temp,
    /// A Python client unpacked by another version of git-exp.
    Python,
}

/// One removed (or, in a dry run, removable) item.
#[derive(Debug, Clone, Serialize)]
pub struct Removed {
    /// What it was.
    pub kind: Kind,
    /// Its path relative to the common git dir, `/`-separated.
    pub path: String,
    /// The content hash, for objects.
    pub sha256: Option<String>,
    /// Bytes it held (for a directory, the sum of its files).
    pub size: u64,
}

/// Something that could not be examined or removed.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// Path relative to the common git dir.
    pub path: String,
    /// What went wrong.
    pub error: String,
}

/// The result of a `gc`: also the JSON of `git exp gc --format json`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    /// Nothing was removed; `removed` lists what would be.
    pub dry_run: bool,
    /// The grace period, in seconds.
    pub keep_recent_s: u64,
    /// Removed items, objects first, each group by path.
    pub removed: Vec<Removed>,
    /// Number of objects in `removed`.
    pub objects_removed: usize,
    /// Bytes of the objects in `removed`.
    pub bytes_removed: u64,
    /// Objects kept: `kept_referenced + kept_recent`.
    pub objects_kept: usize,
    /// Objects some run points to.
    pub kept_referenced: usize,
    /// Objects no run points to, kept because they are younger than the grace period.
    pub kept_recent: usize,
    /// Paths under `exp/objects/` (and `exp/python/`) that do not match the layout; left alone.
    pub foreign: Vec<String>,
    /// Items that could not be examined or removed.
    pub failed: Vec<Failure>,
}

/// Why `gc` refused to run. In every case nothing was removed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The run refs cannot be listed.
    #[error("cannot list the runs, so nothing was removed")]
    Refs(#[source] store::Error),
    /// A run cannot be read.
    #[error("cannot read run {run}, so nothing was removed (its artifacts could be among them)")]
    UnreadableRun {
        /// The run's name.
        run: String,
        /// The cause.
        #[source]
        source: store::Error,
    },
    /// A run's `artifacts.toml` is not valid.
    #[error("artifacts.toml of run {run} cannot be parsed ({message}), so nothing was removed")]
    BadArtifacts {
        /// The run's name.
        run: String,
        /// The parser's message.
        message: String,
    },
    /// The store directory cannot be listed.
    #[error("cannot list {path}, so nothing was removed")]
    Io {
        /// The directory.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Removes (or with `dry_run`, lists) what no run needs. See the module docs.
pub fn run(store: &Store, options: &Options) -> Result<Outcome, Error> {
    let refs = store.list_refs_strict().map_err(Error::Refs)?;
    let mut keep = referenced(store, &refs)?;
    let common = store.common_dir();
    let scan = scan_store(common)?;
    // A run committed (or renamed) while the store was being read may point to
    // objects too: read the runs that appeared meanwhile.
    let seen: HashSet<&str> = refs.iter().map(|(_, c)| c.as_str()).collect();
    let again = store.list_refs_strict().map_err(Error::Refs)?;
    let new: Vec<(String, String)> =
        again.into_iter().filter(|(_, c)| !seen.contains(c.as_str())).collect();
    keep.extend(referenced(store, &new)?);

    let mut out = Outcome {
        dry_run: options.dry_run,
        keep_recent_s: options.keep_recent.as_secs(),
        foreign: scan.foreign,
        failed: scan.failed,
        ..Outcome::default()
    };
    let young = |mtime: SystemTime| is_young(mtime, options.now, options.keep_recent);
    let mut emptied: HashSet<PathBuf> = HashSet::new();
    for object in scan.objects {
        let sha = object.sha256.clone().expect("objects have a hash");
        if keep.contains(&sha) {
            out.kept_referenced += 1;
            continue;
        }
        if young(object.mtime) {
            out.kept_recent += 1;
            continue;
        }
        if !options.dry_run {
            // Checked again right before removing: a run may have reused it since.
            match fs_err::symlink_metadata(&object.path).map(|m| last_change(&m)) {
                Ok(mtime) if young(mtime) => {
                    out.kept_recent += 1;
                    continue;
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    out.failed.push(Failure { path: object.rel, error: e.to_string() });
                    continue;
                }
            }
            // A run may reuse it between that check and the removal: move it
            // aside first (a run that finds it gone stores it again), then look
            // once more whether a run touched it; if so, put it back.
            let aside = object.path.with_file_name(format!(".tmpgc-{sha}"));
            match fs_err::rename(&object.path, &aside) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    out.failed.push(Failure { path: object.rel, error: e.to_string() });
                    continue;
                }
            }
            // The move changed the change time: judge by the modification time.
            if fs_err::metadata(&aside).and_then(|m| m.modified()).is_ok_and(young) {
                // Another copy may have been stored meanwhile: either is right.
                let _ = fs_err::rename(&aside, &object.path);
                out.kept_recent += 1;
                continue;
            }
            if let Err(e) = fs_err::remove_file(&aside) {
                out.failed.push(Failure { path: object.rel, error: e.to_string() });
                continue;
            }
            if let Some(parent) = object.path.parent() {
                emptied.insert(parent.to_path_buf());
            }
        }
        out.objects_removed += 1;
        out.bytes_removed += object.size;
        out.removed.push(Removed {
            kind: Kind::Object,
            path: object.rel,
            sha256: Some(sha),
            size: object.size,
        });
    }
    out.objects_kept = out.kept_referenced + out.kept_recent;
    for temp in scan.temps.into_iter().filter(|t| !young(t.mtime)) {
        remove(&mut out, options.dry_run, temp, Kind::Temp);
    }
    if !options.dry_run {
        for dir in scan.fanouts {
            // An empty fan-out directory another process just made is about to
            // receive an object: only those this gc emptied, or old ones, go.
            let old = fs_err::metadata(&dir).is_ok_and(|m| !young(last_change(&m)));
            if emptied.contains(&dir) || old {
                let _ = std::fs::remove_dir(&dir);
            }
        }
    }
    if let Some(current) = &options.python_current {
        python_clients(common, current, options, &mut out);
    }
    Ok(out)
}

/// The sha256 of every store artifact of `refs`' runs. Fails on the first run
/// that cannot be read or whose `artifacts.toml` does not parse.
pub fn referenced(store: &Store, refs: &[(String, String)]) -> Result<HashSet<String>, Error> {
    enum Problem {
        Read(store::Error),
        Parse(String),
    }
    let commits: Vec<String> = refs.iter().map(|(_, c)| c.clone()).collect();
    let results = store.map_run_files(&commits, files::ARTIFACTS, |read| match read {
        Err(e) => Err(Problem::Read(e)),
        Ok(None) => Ok(Vec::new()),
        Ok(Some(bytes)) => store_hashes(&bytes).map_err(Problem::Parse),
    });
    let mut out = HashSet::new();
    for ((name, _), result) in refs.iter().zip(results) {
        match result {
            Ok(hashes) => out.extend(hashes),
            Err(Problem::Read(source)) => {
                return Err(Error::UnreadableRun { run: name.clone(), source })
            }
            Err(Problem::Parse(message)) => {
                return Err(Error::BadArtifacts { run: name.clone(), message })
            }
        }
    }
    Ok(out)
}

/// The hashes of the `storage = "store"` entries of an `artifacts.toml`, lowercase.
pub fn store_hashes(bytes: &[u8]) -> Result<Vec<String>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "it is not UTF-8".to_owned())?;
    let file: ArtifactsFile = toml::from_str(text)
        .map_err(|e| e.to_string().split_whitespace().collect::<Vec<_>>().join(" "))?;
    Ok(file
        .artifacts
        .into_iter()
        .filter(|e| e.storage == Storage::Store)
        .map(|e| e.sha256.to_ascii_lowercase())
        .collect())
}

/// A file found in the store.
struct Found {
    path: PathBuf,
    rel: String,
    sha256: Option<String>,
    size: u64,
    mtime: SystemTime,
}

/// Everything under `exp/objects/`, sorted out by the layout.
#[derive(Default)]
struct Scan {
    objects: Vec<Found>,
    temps: Vec<Found>,
    fanouts: Vec<PathBuf>,
    foreign: Vec<String>,
    failed: Vec<Failure>,
}

/// Whether `name` is a fan-out directory name: 2 lowercase hex digits.
pub fn is_fanout_name(name: &str) -> bool {
    name.len() == 2 && is_lower_hex(name)
}

/// Whether `name` is an object file name inside a fan-out directory: 62 lowercase hex digits.
pub fn is_object_name(name: &str) -> bool {
    name.len() == 62 && is_lower_hex(name)
}

/// Whether `name` is a temporary file left in a fan-out directory (made by
/// `tempfile`, renamed into place when complete).
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with(".tmp")
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether a file modified at `mtime` is within the grace period (times in the
/// future count as young).
pub fn is_young(mtime: SystemTime, now: SystemTime, keep_recent: Duration) -> bool {
    match now.duration_since(mtime) {
        Ok(age) => age < keep_recent,
        Err(_) => true,
    }
}

fn scan_store(common: &Path) -> Result<Scan, Error> {
    let mut scan = Scan::default();
    let objects = common.join("exp").join("objects");
    let rel = |p: &Path| relative(common, p);
    let Some(top) = read_dir(&objects)? else { return Ok(scan) };
    for (name, path, meta) in top {
        if meta.is_dir() && (name == "sha256" || name == "tmp") {
            continue;
        }
        scan.foreign.push(rel(&path));
    }
    // Files being stored (`local::tmp_dir`): every name there is a temporary file.
    for (name, path, meta) in read_dir(&objects.join("tmp"))?.unwrap_or_default() {
        if meta.is_file() && name.starts_with('.') {
            scan.temps.push(found(&path, rel(&path), None, &meta));
        } else {
            scan.foreign.push(rel(&path));
        }
    }
    let sha_dir = objects.join("sha256");
    let Some(fanouts) = read_dir(&sha_dir)? else { return Ok(scan) };
    for (name, path, meta) in fanouts {
        if meta.is_file() && is_temp_name(&name) {
            scan.temps.push(found(&path, rel(&path), None, &meta));
            continue;
        }
        if !(meta.is_dir() && is_fanout_name(&name)) {
            scan.foreign.push(rel(&path));
            continue;
        }
        let entries = match read_dir(&path) {
            Ok(entries) => entries.unwrap_or_default(),
            Err(e) => {
                scan.failed.push(Failure { path: rel(&path), error: e.to_string() });
                continue;
            }
        };
        for (file, fpath, fmeta) in entries {
            if fmeta.is_file() && is_object_name(&file) {
                let sha = format!("{name}{file}");
                scan.objects.push(found(&fpath, rel(&fpath), Some(sha), &fmeta));
            } else if fmeta.is_file() && is_temp_name(&file) {
                scan.temps.push(found(&fpath, rel(&fpath), None, &fmeta));
            } else {
                scan.foreign.push(rel(&fpath));
            }
        }
        scan.fanouts.push(path);
    }
    scan.objects.sort_by(|a, b| a.rel.cmp(&b.rel));
    scan.temps.sort_by(|a, b| a.rel.cmp(&b.rel));
    scan.foreign.sort();
    Ok(scan)
}

type DirEntries = Vec<(String, PathBuf, std::fs::Metadata)>;

/// The entries of `dir` with their metadata (symbolic links not followed), or
/// `None` when `dir` does not exist.
fn read_dir(dir: &Path) -> Result<Option<DirEntries>, Error> {
    let io = |source| Error::Io { path: dir.display().to_string(), source };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        let meta = fs_err::symlink_metadata(&path).map_err(io)?;
        out.push((entry.file_name().to_string_lossy().into_owned(), path, meta));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Some(out))
}

fn found(path: &Path, rel: String, sha256: Option<String>, meta: &std::fs::Metadata) -> Found {
    Found { path: path.to_path_buf(), rel, sha256, size: meta.len(), mtime: last_change(meta) }
}

/// When a file last changed: the later of its modification time and its inode
/// change time. A file hardlinked into the store keeps the modification time the
/// command gave it, but linking, renaming and `chmod` set the change time.
pub fn last_change(meta: &std::fs::Metadata) -> SystemTime {
    use std::os::unix::fs::MetadataExt;
    let ctime = if meta.ctime() >= 0 {
        SystemTime::UNIX_EPOCH
            + Duration::new(meta.ctime() as u64, meta.ctime_nsec().clamp(0, 999_999_999) as u32)
    } else {
        SystemTime::UNIX_EPOCH
    };
    // Without a modification time, the file counts as brand new, so it is kept.
    let mtime = meta.modified().unwrap_or_else(|_| SystemTime::now() + Duration::from_secs(1));
    mtime.max(ctime)
}

/// Removes one file or directory (unless `dry_run`) and records it.
fn remove(out: &mut Outcome, dry_run: bool, item: Found, kind: Kind) {
    if !dry_run {
        let result = match fs_err::symlink_metadata(&item.path) {
            Ok(m) if m.is_dir() => fs_err::remove_dir_all(&item.path),
            Ok(_) => fs_err::remove_file(&item.path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            out.failed.push(Failure { path: item.rel, error: e.to_string() });
            return;
        }
    }
    out.removed.push(Removed { kind, path: item.rel, sha256: None, size: item.size });
}

/// Python clients in `exp/python/` other than `current`: removed when no run is
/// live and they are older than the grace period; half-unpacked `.new-*`
/// directories older than the grace period too.
fn python_clients(common: &Path, current: &Path, options: &Options, out: &mut Outcome) {
    let root = common.join("exp").join("python");
    let entries = match read_dir(&root) {
        Ok(Some(entries)) => entries,
        Ok(None) => return,
        Err(e) => {
            out.failed.push(Failure { path: relative(common, &root), error: e.to_string() });
            return;
        }
    };
    let current_name = current.file_name().map(|n| n.to_string_lossy().into_owned());
    for (name, path, meta) in entries {
        let rel = relative(common, &path);
        let is_client = meta.is_dir() && name.len() >= 8 && is_lower_hex(&name);
        let is_partial = meta.is_dir() && name.starts_with(".new-");
        if Some(&name) == current_name.as_ref() {
            continue;
        }
        if !is_client && !is_partial {
            out.foreign.push(rel);
            continue;
        }
        let mtime = last_change(&meta);
        if is_young(mtime, options.now, options.keep_recent) || (is_client && options.runs_live) {
            continue;
        }
        let item = Found { size: dir_size(&path), path, rel, sha256: None, mtime };
        remove(out, options.dry_run, item, if is_client { Kind::Python } else { Kind::Temp });
    }
}

/// Total bytes of the regular files under `dir` (links not followed).
fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.path().symlink_metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) if m.is_file() => m.len(),
            _ => 0,
        })
        .sum()
}

/// `path` relative to the common git dir, `/`-separated.
fn relative(common: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(common).unwrap_or(path);
    rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_names() {
        assert!(is_fanout_name("ab"));
        assert!(is_fanout_name("09"));
        for bad in ["AB", "a", "abc", "zz", ".t"] {
            assert!(!is_fanout_name(bad), "{bad}");
        }
        let object = "c".repeat(62);
        assert!(is_object_name(&object));
        assert!(!is_object_name(&"c".repeat(61)));
        assert!(!is_object_name(&"C".repeat(62)));
        assert!(!is_object_name(&format!("{}g", "c".repeat(61))));
        assert!(is_temp_name(".tmpA1b2C3"));
        assert!(!is_temp_name("tmp"));
        assert!(!is_temp_name(".keep"));
    }

    #[test]
    fn grace_period() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(10_000);
        let hour = Duration::from_secs(3600);
        assert!(is_young(now - Duration::from_secs(3599), now, hour));
        assert!(!is_young(now - hour, now, hour));
        assert!(is_young(now + Duration::from_secs(5), now, hour), "future times are young");
        assert!(!is_young(now, now, Duration::ZERO));
    }

    #[test]
    fn store_hashes_keep_only_store_entries_and_reject_bad_files() {
        let text = br#"
[[artifact]]
path = "a.bin"
size = 5
sha256 = "ABCDEF"
media_type = "application/octet-stream"
storage = "store"

[[artifact]]
path = "b.txt"
size = 1
sha256 = "0123"
media_type = "text/plain"
storage = "inline"
"#;
        assert_eq!(store_hashes(text).unwrap(), ["abcdef"]);
        assert_eq!(store_hashes(b"").unwrap(), Vec::<String>::new());
        assert!(store_hashes(b"[[artifact]]\npath = 1\n").is_err());
        assert!(store_hashes(b"not toml = = =").is_err());
        assert!(store_hashes(&[0xff, 0xfe]).is_err());
        let unknown_storage = br#"
[[artifact]]
path = "a"
size = 1
sha256 = "00"
media_type = "x"
storage = "elsewhere"
"#;
        assert!(store_hashes(unknown_storage).is_err(), "an unknown storage kind is refused");
    }

    #[test]
    fn scan_sorts_files_by_layout() {
        let dir = tempfile::tempdir().unwrap();
        let common = dir.path();
        let sha = common.join("exp/objects/sha256");
        let object = "a".repeat(62);
        std::fs::create_dir_all(sha.join("ab")).unwrap();
        std::fs::create_dir_all(sha.join("XY")).unwrap();
        std::fs::write(sha.join("ab").join(&object), b"x").unwrap();
        std::fs::write(sha.join("ab").join(".tmpQ"), b"x").unwrap();
        std::fs::write(sha.join("ab").join("notes.txt"), b"x").unwrap();
        std::fs::write(sha.join("ab").join("A".repeat(62)), b"x").unwrap();
        std::fs::write(common.join("exp/objects/README"), b"x").unwrap();
        std::fs::create_dir_all(common.join("exp/objects/tmp/sub")).unwrap();
        std::fs::write(common.join("exp/objects/tmp/.copy-12ab"), b"x").unwrap();
        std::fs::write(common.join("exp/objects/tmp/visible"), b"x").unwrap();
        std::os::unix::fs::symlink("/etc/hostname", sha.join("ab").join("b".repeat(62))).unwrap();
        let scan = scan_store(common).unwrap();
        let objects: Vec<_> = scan.objects.iter().map(|o| o.sha256.clone().unwrap()).collect();
        assert_eq!(objects, [format!("ab{object}")]);
        let temps: Vec<_> = scan.temps.iter().map(|t| t.rel.as_str()).collect();
        assert_eq!(temps, ["exp/objects/sha256/ab/.tmpQ", "exp/objects/tmp/.copy-12ab"]);
        assert_eq!(
            scan.foreign,
            [
                "exp/objects/README".to_owned(),
                "exp/objects/sha256/XY".to_owned(),
                format!("exp/objects/sha256/ab/{}", "A".repeat(62)),
                format!("exp/objects/sha256/ab/{}", "b".repeat(62)),
                "exp/objects/sha256/ab/notes.txt".to_owned(),
                "exp/objects/tmp/sub".to_owned(),
                "exp/objects/tmp/visible".to_owned(),
            ]
        );
        assert_eq!(scan.fanouts, [sha.join("ab")]);
    }
}
