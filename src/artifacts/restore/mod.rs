//! Restoring a run's artifacts (`git exp get RUN PATH`), verified by hash, from
//! the run's tree (inline ones), the local store, or the remote store when the
//! local copy is missing or damaged. Nothing here prints: what happens is told
//! to a [`Progress`], and [`restore`] returns what it wrote.
//!
//! Paths in a run may come from someone else (a fetched run): a path is only
//! used if it is a clean relative name, a hash only if it is one, and
//! restoring never writes outside the destination: no `..`, no absolute
//! paths, no following of symbolic links found under it (nor of a link where
//! a directory named after the artifact goes). The destination the user names
//! with `-o` is trusted: a link there to a directory is written into, as `cp`
//! does. Every artifact is verified and every destination checked before the
//! first file is written; files appear whole (written to a temporary name,
//! then renamed), existing files are kept unless `--force`, and only regular
//! files (or links) are ever replaced, never a directory, device, FIFO or
//! socket. A temporary file is removed when SIGINT, SIGTERM or SIGHUP ends the
//! restore; one left by a harder end is removed by a later restore into its
//! directory once it is an hour old. A local store object is damaged when its
//! content does not hash to its name; it is then removed and fetched again.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

mod dest;
mod error;
mod write;

use dest::{check_destination, existing_dir, plan, replaceable};
pub use error::Error;
use write::Writer;

use crate::artifacts::remote::{self, Object, Remote, Settings};
use crate::artifacts::{clean_name, store_path};
use crate::store::format::{files, Entry, Storage};
use crate::store::Store;
use crate::util::hex;

/// What a restore tells as it goes.
pub trait Progress {
    /// The local copy of an artifact was damaged and removed (`why`); it is
    /// fetched again from the store at `url`.
    fn refetching(&self, why: &str, url: &str);
    /// A download of `bytes` starts; the counter returned follows it and is
    /// dropped when it ends.
    fn download(&self, bytes: u64) -> Box<dyn remote::Progress + '_>;
    /// A file was written whole at `path`.
    fn restored(&self, path: &Path, size: u64);
}

/// Where a restore writes.
pub enum Target<'a> {
    /// One file's bytes to this writer (`-o -`).
    Stdout(&'a mut dyn Write),
    /// Files: into `output` (a file, or a directory, existing or ending with
    /// `/`), else under their file names in `cwd`.
    Files {
        /// The current directory.
        cwd: &'a Path,
        /// The destination given (`-o`).
        output: Option<&'a Path>,
        /// Whether existing regular files are replaced.
        force: bool,
    },
}

/// How a restore runs.
pub struct Options<'a> {
    /// Where it writes.
    pub target: Target<'a>,
    /// The git remote whose artifact store to fetch from (named in hints too).
    pub remote: Option<&'a str>,
    /// Whether `remote` was asked for (no other store is tried).
    pub explicit: bool,
    /// The environment (for store credentials).
    pub vars: &'a [(String, String)],
}

/// What [`restore`] wrote: each file with its size (none for [`Target::Stdout`]).
#[derive(Debug, Default)]
pub struct Restored {
    /// The files written, in order.
    pub files: Vec<(PathBuf, u64)>,
    /// Their total size in bytes.
    pub bytes: u64,
}

/// Restores the artifact `wanted` (a clean name: a file, or a directory of
/// artifacts) of run `name` at `commit`. Every artifact is found and verified,
/// and every destination checked, before the first file is written, so a
/// missing or damaged one leaves no partial restore behind.
pub fn restore(
    store: &Store,
    name: &str,
    commit: &str,
    wanted: &str,
    options: Options<'_>,
    progress: &dyn Progress,
) -> Result<Restored, Error> {
    let file = store.run_artifacts(name, commit)?;
    let (entries, is_dir) = select(&file.artifacts, wanted, name)?;
    let plan = match &options.target {
        Target::Stdout(_) if is_dir => return Err(Error::DirToStdout(wanted.to_owned())),
        Target::Stdout(_) => None,
        Target::Files { cwd, output, force } => {
            let plan = plan(*output, cwd, wanted, &entries, is_dir)?;
            check_destination(&plan, *force)?;
            Some(plan)
        }
    };
    let mut fetcher = Fetcher {
        store,
        vars: options.vars,
        remote: options.remote,
        explicit: options.explicit,
        open: None,
    };
    let mut sources = Vec::with_capacity(entries.len());
    for entry in &entries {
        sources.push(content(store, commit, entry, &mut fetcher, progress)?);
    }
    let (plan, force) = match (plan, options.target) {
        (_, Target::Stdout(out)) => {
            copy_verified(store, commit, &sources[0], entries[0], out)?;
            return Ok(Restored::default());
        }
        (Some(plan), Target::Files { force, .. }) => (plan, force),
        (None, Target::Files { .. }) => unreachable!("files have a plan"),
    };
    let mut writer = Writer::new(store, commit, force, SystemTime::now());
    let mut restored = Restored::default();
    for ((entry, rel), source) in plan.files.iter().zip(&sources) {
        writer.write(&plan.root, rel, entry, source)?;
        let path = plan.root.join(rel);
        progress.restored(&path, entry.size);
        restored.files.push((path, entry.size));
        restored.bytes += entry.size;
    }
    Ok(restored)
}

/// The entries `wanted` names, at least one: the file itself, else every file
/// under it as a directory (`true`). Fetched runs are untrusted: each one must be a clean
/// relative name with a real hash, and no file may also be a directory.
fn select<'a>(all: &'a [Entry], wanted: &str, run: &str) -> Result<(Vec<&'a Entry>, bool), Error> {
    let dir_prefix = format!("{wanted}/");
    let (entries, is_dir): (Vec<&Entry>, bool) = match all.iter().find(|e| e.path == wanted) {
        Some(e) => (vec![e], false),
        None => (all.iter().filter(|e| e.path.starts_with(&dir_prefix)).collect(), true),
    };
    if entries.is_empty() {
        return Err(Error::NoSuchArtifact {
            run: run.to_owned(),
            wanted: wanted.to_owned(),
            known: all.iter().take(5).map(|e| shown(&e.path)).collect(),
        });
    }
    let unsafe_entry = |path: &str| Error::UnsafeEntry { run: run.to_owned(), path: shown(path) };
    let mut seen = std::collections::HashSet::new();
    for e in &entries {
        if clean_name(&e.path).as_deref() != Ok(e.path.as_str()) || !remote::is_sha256(&e.sha256) {
            return Err(unsafe_entry(&e.path));
        }
        if !seen.insert(e.path.as_str()) {
            return Err(unsafe_entry(&e.path));
        }
    }
    for e in &entries {
        let mut dirs = e.path.match_indices('/').map(|(i, _)| &e.path[..i]);
        if let Some(dir) = dirs.find(|d| seen.contains(d)) {
            return Err(unsafe_entry(dir));
        }
    }
    Ok((entries, is_dir))
}

/// A path from a run, or under the destination, for a message: on one line,
/// without escape sequences (names may hold any character but `/` and NUL).
fn shown(text: impl std::fmt::Display) -> String {
    crate::text::line(&text.to_string()).into_owned()
}

/// Where an artifact's verified bytes are: a blob of the run's tree (by its
/// path there) or a local store file.
enum Source {
    Inline(String),
    File(PathBuf),
}

/// Opens the remote store on first need.
struct Fetcher<'a> {
    store: &'a Store,
    vars: &'a [(String, String)],
    /// `--remote`, else the remote `git fetch` would use (named in hints).
    remote: Option<&'a str>,
    /// Whether `remote` was given with `--remote` (no other remote is tried).
    explicit: bool,
    open: Option<Remote>,
}

impl Fetcher<'_> {
    /// The store to fetch from, or `None` when none is configured.
    fn remote(&mut self) -> Result<Option<&Remote>, Error> {
        if self.open.is_none() {
            let (store, vars) = (self.store, self.vars);
            let settings = if self.explicit {
                // Its own store, else exp.artifacts.url (the store of every other remote).
                Settings::for_remote(store, self.remote, vars)?
            } else {
                let mut settings = Settings::for_remote(store, None, vars)?;
                if let (None, Some(named)) = (&settings, self.remote) {
                    settings = Settings::for_remote(store, Some(named), vars)?;
                }
                if settings.is_none() {
                    let key = |n: &String| format!("remote.{n}.{}", remote::REMOTE_KEY);
                    let names = store.remote_names();
                    let mut with_store =
                        names.iter().filter(|n| store.config_string(&key(n)).is_some());
                    if let (Some(only), None) = (with_store.next(), with_store.next()) {
                        settings = Settings::for_remote(store, Some(only), vars)?;
                    }
                }
                settings
            };
            let Some(settings) = settings else { return Ok(None) };
            self.open = Some(Remote::open(&settings)?);
        }
        Ok(self.open.as_ref())
    }

    /// The error for an object that cannot be fetched for want of a store.
    fn no_store(&self, why: String) -> Error {
        Error::NoStore { why, remote: self.remote.unwrap_or("origin").to_owned() }
    }
}

/// The verified source of one artifact's bytes; a store object missing or
/// damaged here is fetched from the remote store.
fn content(
    store: &Store,
    commit: &str,
    entry: &Entry,
    fetcher: &mut Fetcher,
    progress: &dyn Progress,
) -> Result<Source, Error> {
    if entry.storage == Storage::Inline {
        let path = format!("{}/{}", files::ARTIFACTS_DIR, entry.path);
        read_inline(store, commit, &path, entry)?;
        return Ok(Source::Inline(path));
    }
    let local = store_path(store.common_dir(), &entry.sha256);
    let found = hash_file(&local)
        .map_err(|error| Error::LocalUnreadable { path: shown(&entry.path), error })?;
    let (why, damaged) = match found {
        Some((sha256, size)) if sha256 == entry.sha256 => {
            if size == entry.size {
                return Ok(Source::File(local));
            }
            // The object is right (its name is its hash): the run is wrong.
            return Err(Error::SizeMismatch {
                path: shown(&entry.path),
                listed: entry.size,
                actual: size,
            });
        }
        Some((sha256, size)) => {
            let problem = compare(&sha256, size, entry).err().unwrap_or_default();
            // Removed so the good copy can land (a transfer skips objects present).
            fs_err::remove_file(&local)?;
            (
                format!(
                    "the local copy of {} is damaged ({problem}) and was removed",
                    shown(&entry.path)
                ),
                true,
            )
        }
        None => (format!("{} is not in the local artifact store", shown(&entry.path)), false),
    };
    let Some(remote) = fetcher.remote()? else { return Err(fetcher.no_store(why)) };
    if damaged {
        progress.refetching(&why, remote.url());
    }
    let object = Object { sha256: entry.sha256.clone(), size: entry.size };
    let bar = progress.download(entry.size);
    let transfer = remote.download(store.common_dir(), std::slice::from_ref(&object), &*bar);
    drop(bar);
    if let Some(f) = transfer.failed.first() {
        return Err(Error::FetchFailed {
            path: shown(&entry.path),
            url: remote.url().to_owned(),
            message: f.message.clone(),
        });
    }
    Ok(Source::File(local))
}

/// The verified bytes of an inline artifact, the blob `path` of the run's tree.
fn read_inline(store: &Store, commit: &str, path: &str, entry: &Entry) -> Result<Vec<u8>, Error> {
    let bytes =
        store.read_run_path(commit, path)?.ok_or_else(|| Error::MissingBlob(shown(path)))?;
    verify(&bytes, entry)
        .map_err(|problem| Error::InlineDamaged { path: shown(&entry.path), problem })?;
    Ok(bytes)
}

/// SHA-256 and size of the file at `path`, or `None` when it does not exist.
fn hash_file(path: &Path) -> std::io::Result<Option<(String, u64)>> {
    let mut file = match fs_err::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok(Some((hex(&hasher.finalize()), size)))
}

fn verify(bytes: &[u8], entry: &Entry) -> Result<(), String> {
    compare(&hex(&Sha256::digest(bytes)), bytes.len() as u64, entry)
}

fn compare(sha256: &str, size: u64, entry: &Entry) -> Result<(), String> {
    if size != entry.size {
        Err(format!("{size} bytes, the run says {}", entry.size))
    } else if sha256 != entry.sha256 {
        Err(format!("its content hashes to {sha256}"))
    } else {
        Ok(())
    }
}

/// Copies a source to `out`, hashing on the way: the content was checked
/// already, this guards against it changing meanwhile.
fn copy_verified(
    store: &Store,
    commit: &str,
    source: &Source,
    entry: &Entry,
    out: &mut dyn Write,
) -> Result<(), Error> {
    match source {
        Source::Inline(path) => out.write_all(&read_inline(store, commit, path, entry)?)?,
        Source::File(path) => {
            let mut file = fs_err::File::open(path)?;
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; 1 << 20];
            let mut size = 0u64;
            loop {
                let n = file.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                out.write_all(&buf[..n])?;
                size += n as u64;
            }
            compare(&hex(&hasher.finalize()), size, entry)
                .map_err(|problem| Error::Changed { path: shown(&entry.path), problem })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::artifacts::remote::Quiet;
    use crate::share::testing::{run_with_artifact, Team};

    /// Records what a restore tells.
    #[derive(Default)]
    struct Told(RefCell<Vec<String>>);

    impl Progress for Told {
        fn refetching(&self, why: &str, url: &str) {
            self.0.borrow_mut().push(format!("refetching: {why} from {url}"));
        }
        fn download(&self, bytes: u64) -> Box<dyn remote::Progress + '_> {
            self.0.borrow_mut().push(format!("download {bytes}"));
            Box::new(Quiet)
        }
        fn restored(&self, path: &Path, size: u64) {
            self.0.borrow_mut().push(format!("restored {} {size}", path.display()));
        }
    }

    fn into<'a>(cwd: &'a Path, force: bool) -> Options<'a> {
        Options {
            target: Target::Files { cwd, output: None, force },
            remote: Some("origin"),
            explicit: false,
            vars: &[],
        }
    }

    #[test]
    fn a_verified_object_is_written_whole_and_listed() {
        let team = Team::new();
        let (root, store) = team.member("here");
        let (commit, _) = run_with_artifact(&store, 1, "r", &[7; 4000], true);
        let told = Told::default();
        let done = restore(&store, "r", &commit, "model.bin", into(&root, false), &told).unwrap();
        let dest = root.join("model.bin");
        assert_eq!(done.files, [(dest.clone(), 4000)]);
        assert_eq!(done.bytes, 4000);
        assert_eq!(fs_err::read(&dest).unwrap(), [7; 4000]);
        assert_eq!(*told.0.borrow(), [format!("restored {} 4000", dest.display())]);
        // Again without force: the file is kept and the error names it.
        let e = restore(&store, "r", &commit, "model.bin", into(&root, false), &told).unwrap_err();
        assert!(matches!(&e, Error::Exists(p) if p.ends_with("model.bin")), "{e:?}");
    }

    #[test]
    fn a_tampered_local_object_is_removed_and_never_written() {
        let team = Team::new();
        let (root, store) = team.member("here");
        let (commit, sha) = run_with_artifact(&store, 1, "r", &[7; 4000], true);
        let object = store_path(store.common_dir(), &sha);
        fs_err::write(&object, [9; 4000]).unwrap();
        let told = Told::default();
        // The artifact store (a file:// bucket) has no copy either.
        let e = restore(&store, "r", &commit, "model.bin", into(&root, true), &told).unwrap_err();
        assert!(matches!(&e, Error::FetchFailed { path, .. } if path == "model.bin"), "{e:?}");
        assert!(!object.exists(), "the damaged copy is removed");
        assert!(!root.join("model.bin").exists(), "nothing is written");
        let told = told.0.borrow();
        assert_eq!(told.len(), 2, "{told:?}");
        assert!(
            told[0].starts_with("refetching: the local copy of model.bin is damaged"),
            "{told:?}"
        );
        assert_eq!(told[1], "download 4000");
    }

    #[test]
    fn stdout_gets_the_verified_bytes_and_an_unknown_path_names_some_known_ones() {
        let team = Team::new();
        let (_root, store) = team.member("here");
        let (commit, _) = run_with_artifact(&store, 1, "r", &[7; 4000], true);
        let mut out = Vec::new();
        let options =
            Options { target: Target::Stdout(&mut out), remote: None, explicit: false, vars: &[] };
        let told = Told::default();
        let e = restore(&store, "r", &commit, "nothing", options, &told).unwrap_err();
        assert!(matches!(&e, Error::NoSuchArtifact { known, .. } if known == &["model.bin"]));
        let options =
            Options { target: Target::Stdout(&mut out), remote: None, explicit: false, vars: &[] };
        restore(&store, "r", &commit, "model.bin", options, &told).unwrap();
        assert_eq!(out, [7; 4000]);
    }
}
