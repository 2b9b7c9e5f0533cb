//! The local content-addressed artifact store,
//! `<common git dir>/exp/objects/sha256/ab/cdef...`: one read-only file per
//! content, named by its SHA-256.
//!
//! A file is put in the store by the cheapest method that cannot make an
//! object disagree with its name, and it is read once when that is possible:
//!
//! 1. reflink (a copy-on-write clone, btrfs, XFS, ...) into a temporary file of
//!    `exp/objects/tmp/`, which is then hashed: nobody else can write the clone;
//! 2. hardlink, only for a file git-exp owns (the live run's `artifacts/`,
//!    removed once the run is committed): linked into `tmp/`, made read-only,
//!    hashed, and refused if it was modified meanwhile. A user's file is never
//!    hardlinked: an in-place write to it later would change the stored object;
//! 3. copy: the file is hashed first, and copied only if the store lacks that
//!    content; the copy is hashed as it is written and refused if the two hashes
//!    differ (the file changed meanwhile).
//!
//! The temporary file is renamed to its hash's name, or dropped when the store
//! has the content already, whose modification time is then refreshed so that
//! a `gc` that spares recent objects spares it. Concurrent runs storing the
//! same content each rename their own complete file over the name: one object
//! stays, always whole. This module never decides what a run keeps.

use std::cell::Cell;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use crate::util::hex;

/// Leftovers in `exp/objects/tmp/` older than this (by change time) belong to
/// a process that died while storing; they are removed.
const STALE_TMP: Duration = Duration::from_secs(24 * 3600);
/// Read buffer for hashing and copying.
const BUF: usize = 1 << 20;

/// The local store path of a content hash.
pub fn store_path(common_dir: &Path, sha256: &str) -> PathBuf {
    common_dir.join("exp").join("objects").join("sha256").join(&sha256[..2]).join(&sha256[2..])
}

/// The directory of files being stored (same file system as the objects).
pub fn tmp_dir(common_dir: &Path) -> PathBuf {
    common_dir.join("exp").join("objects").join("tmp")
}

/// SHA-256 of everything `reader` yields, as hex.
pub fn hash_reader(reader: impl Read) -> std::io::Result<String> {
    hash_counted(reader).map(|(sha, _)| sha)
}

/// SHA-256 as hex and the number of bytes read.
fn hash_counted(mut reader: impl Read) -> std::io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; BUF];
    let mut size = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hex(&hasher.finalize()), size))
}

/// Who owns a file that is to be stored, which decides whether it may be hardlinked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// In the live run directory: git-exp's own, deleted after the commit.
    Live,
    /// Anywhere else: the user's, who may overwrite it in place later.
    User,
}

/// How an object came to be in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// The store had the content already (its time was refreshed).
    Existing,
    /// Cloned copy-on-write.
    Reflink,
    /// Hardlinked from the live directory.
    Hardlink,
    /// Copied.
    Copy,
}

/// A file in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Its SHA-256, hex.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// How it got there.
    pub method: Method,
}

/// Puts files into the local store of one repository, remembering which
/// methods the file system refused so each is tried once.
pub struct LocalStore {
    common_dir: PathBuf,
    reflink: Cell<bool>,
    hardlink: Cell<bool>,
}

impl LocalStore {
    /// The store of the repository whose common git dir is `common_dir`.
    pub fn new(common_dir: &Path) -> LocalStore {
        LocalStore {
            common_dir: common_dir.to_path_buf(),
            reflink: Cell::new(true),
            hardlink: Cell::new(true),
        }
    }

    /// Stores the regular file at `path`; returns its hash and size, or why it
    /// could not be stored.
    pub fn put(&self, path: &Path, origin: Origin) -> Result<Stored, String> {
        let fail = |e: std::io::Error| format!("cannot store {}: {e}", path.display());
        let tmp_dir = tmp_dir(&self.common_dir);
        fs_err::create_dir_all(&tmp_dir).map_err(fail)?;
        let src = fs_err::File::open(path).map_err(fail)?.into_parts().0;
        if self.reflink.get() {
            match self.reflinked(path, &src, &tmp_dir) {
                Ok(stored) => return stored,
                Err(_) => self.reflink.set(false),
            }
        }
        // A file with another link is shared with someone else: not ours alone.
        let single = || src.metadata().is_ok_and(|m| m.nlink() == 1);
        if origin == Origin::Live && self.hardlink.get() && single() {
            match self.hardlinked(path, &tmp_dir) {
                Ok(stored) => return stored,
                Err(_) => self.hardlink.set(false),
            }
        }
        self.copied(path, src, &tmp_dir)
    }

    /// Clones `src` into `tmp/` and stores the clone. The outer error means
    /// the file system cannot clone (then the caller tries another method).
    fn reflinked(
        &self,
        path: &Path,
        src: &File,
        tmp_dir: &Path,
    ) -> std::io::Result<Result<Stored, String>> {
        let mut tmp = tempfile::Builder::new().prefix(".reflink-").tempfile_in(tmp_dir)?;
        reflink_copy::reflink_file(src, tmp.as_file())?;
        let fail = |e: std::io::Error| format!("cannot store {}: {e}", path.display());
        let file = tmp.as_file_mut();
        let hashed = file.seek(SeekFrom::Start(0)).and_then(|_| hash_counted(&mut *file));
        let (sha256, size) = match hashed {
            Ok(h) => h,
            Err(e) => return Ok(Err(fail(e))),
        };
        let finished = file.sync_all().and_then(|_| make_read_only(file));
        if let Err(e) = finished {
            return Ok(Err(fail(e)));
        }
        Ok(self.settle(tmp, sha256, size, Method::Reflink))
    }

    /// Hardlinks `path` into `tmp/`, makes it read-only and stores it. The
    /// outer error means the file system cannot link it there.
    fn hardlinked(&self, path: &Path, tmp_dir: &Path) -> std::io::Result<Result<Stored, String>> {
        let tmp = tempfile::Builder::new()
            .prefix(".hardlink-")
            .make_in(tmp_dir, |name| std::fs::hard_link(path, name))?;
        let mut file = fs_err::File::open(tmp.path())?.into_parts().0;
        // Read-only before hashing, so nothing opens it for writing anew.
        make_read_only(&file)?;
        let fail = |e: std::io::Error| format!("cannot store {}: {e}", path.display());
        let hashed = (|| {
            let before = file.metadata().map_err(fail)?;
            let (sha256, size) = hash_counted(&mut file).map_err(fail)?;
            let after = file.metadata().map_err(fail)?;
            if size != after.len() || before.modified().ok() != after.modified().ok() {
                return Err(format!("{} changed while it was being stored", path.display()));
            }
            Ok((sha256, size))
        })();
        Ok(hashed.and_then(|(sha256, size)| self.settle(tmp, sha256, size, Method::Hardlink)))
    }

    /// Hashes `path`, and copies it unless the store has its content; the copy
    /// is hashed again as it is written.
    fn copied(&self, path: &Path, src: File, tmp_dir: &Path) -> Result<Stored, String> {
        let mut src = src;
        let (sha256, size) =
            hash_counted(&mut src).map_err(|e| format!("cannot store {}: {e}", path.display()))?;
        if reuse(&store_path(&self.common_dir, &sha256), size) {
            return Ok(Stored { sha256, size, method: Method::Existing });
        }
        self.copy_checked(path, src, tmp_dir, sha256, size)
    }

    /// Copies `src` (from its start) into the store as `sha256`, hashing the
    /// copy as it is written; refuses it when the copy's hash is not `sha256`.
    fn copy_checked(
        &self,
        path: &Path,
        mut src: File,
        tmp_dir: &Path,
        sha256: String,
        size: u64,
    ) -> Result<Stored, String> {
        let fail = |e: std::io::Error| format!("cannot store {}: {e}", path.display());
        let mut tmp =
            tempfile::Builder::new().prefix(".copy-").tempfile_in(tmp_dir).map_err(fail)?;
        src.seek(SeekFrom::Start(0)).map_err(fail)?;
        let (copy_sha, copied) = copy_hashing(&mut src, tmp.as_file_mut()).map_err(fail)?;
        if copied != size || copy_sha != sha256 {
            return Err(format!("{} changed while it was being stored", path.display()));
        }
        let file = tmp.as_file();
        file.sync_all().and_then(|_| make_read_only(file)).map_err(fail)?;
        self.settle(tmp, sha256, size, Method::Copy)
    }

    /// Gives the complete temporary file `tmp` its hash's name, unless the
    /// store has that content (then `tmp` is dropped).
    fn settle<F>(
        &self,
        tmp: tempfile::NamedTempFile<F>,
        sha256: String,
        size: u64,
        method: Method,
    ) -> Result<Stored, String> {
        let dest = store_path(&self.common_dir, &sha256);
        if reuse(&dest, size) {
            return Ok(Stored { sha256, size, method: Method::Existing });
        }
        let fail = |e: std::io::Error| format!("cannot store {}: {e}", dest.display());
        let parent = dest.parent().expect("store paths have a parent");
        fs_err::create_dir_all(parent).map_err(fail)?;
        // A concurrent run may have stored the same content meanwhile: renaming
        // over it replaces a whole file by an identical whole file.
        let tmp = match tmp.persist(&dest) {
            Ok(_) => return Ok(Stored { sha256, size, method }),
            // `git exp gc` removed the emptied fan-out directory just now: once more.
            Err(e) if e.error.kind() == std::io::ErrorKind::NotFound => e.file,
            Err(e) => return Err(fail(e.error)),
        };
        fs_err::create_dir_all(parent).map_err(fail)?;
        tmp.persist(&dest).map_err(|e| fail(e.error))?;
        Ok(Stored { sha256, size, method })
    }

    /// Removes temporary files that a process which died while storing left
    /// behind (a file being stored now is younger than a day by change time).
    pub fn clean_stale(&self, now: SystemTime) {
        let Ok(entries) = std::fs::read_dir(tmp_dir(&self.common_dir)) else { return };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            let changed = std::time::UNIX_EPOCH + Duration::from_secs(meta.ctime().max(0) as u64);
            if now.duration_since(changed).is_ok_and(|age| age > STALE_TMP) && meta.is_file() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// Copies `src` to `dst` and hashes what was copied; returns the hash and the
/// size. The hash is computed on a second thread while the next chunk is read
/// and written, so a copy costs about the time of the slower of the two.
fn copy_hashing(src: &mut File, dst: &mut File) -> std::io::Result<(String, u64)> {
    use std::sync::mpsc;
    let (full_tx, full_rx) = mpsc::sync_channel::<(Vec<u8>, usize)>(2);
    let (free_tx, free_rx) = mpsc::channel::<Vec<u8>>();
    for _ in 0..3 {
        free_tx.send(vec![0u8; BUF]).expect("the receiver is here");
    }
    std::thread::scope(|scope| {
        let hasher = scope.spawn(move || {
            let mut hasher = Sha256::new();
            for (buf, n) in full_rx {
                hasher.update(&buf[..n]);
                // The copying side may have stopped: then the buffer is not needed.
                let _ = free_tx.send(buf);
            }
            hex(&hasher.finalize())
        });
        let mut copied = 0u64;
        let copying = (|| loop {
            let mut buf = free_rx.recv().expect("the hasher gives buffers back until the end");
            let n = loop {
                match src.read(&mut buf) {
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    done => break done?,
                }
            };
            if n == 0 {
                return Ok(());
            }
            dst.write_all(&buf[..n])?;
            copied += n as u64;
            full_tx.send((buf, n)).expect("the hasher runs until the sender is dropped");
        })();
        drop(full_tx);
        let sha256 = hasher.join().expect("hashing does not panic");
        copying.map(|()| (sha256, copied))
    })
}

/// Whether the store holds `dest` with `size` bytes; if so, its modification
/// time is set to now (a `gc` spares recently used objects). An object of the
/// wrong size is damaged and will be replaced.
fn reuse(dest: &Path, size: u64) -> bool {
    match std::fs::metadata(dest) {
        Ok(m) if m.is_file() && m.len() == size => {}
        _ => return false,
    }
    match touch(dest) {
        // Removed in between (by gc): store it again.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        // Not ours to touch (a shared repository): it is still there.
        _ => true,
    }
}

/// Sets the access and modification times of `path` to now. Needs only write
/// permission or ownership, so it works on read-only objects.
fn touch(path: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    // SAFETY: a NUL-terminated path; a null `times` means "now" for both times.
    let rc = unsafe { libc::utimensat(libc::AT_FDCWD, c_path.as_ptr(), std::ptr::null(), 0) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn make_read_only(file: &File) -> std::io::Result<()> {
    let mut perms = file.metadata()?.permissions();
    perms.set_readonly(true);
    file.set_permissions(perms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object_files(common: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let root = common.join("exp/objects/sha256");
        for dir in std::fs::read_dir(root).into_iter().flatten().flatten() {
            for f in std::fs::read_dir(dir.path()).into_iter().flatten().flatten() {
                out.push(f.path());
            }
        }
        out
    }

    fn reflink_works(dir: &Path) -> bool {
        let a = dir.join("probe-a");
        std::fs::write(&a, b"probe").unwrap();
        let src = File::open(&a).unwrap();
        let dst = File::create(dir.join("probe-b")).unwrap();
        let ok = reflink_copy::reflink_file(&src, &dst).is_ok();
        let _ = std::fs::remove_file(dir.join("probe-b"));
        let _ = std::fs::remove_file(a);
        ok
    }

    #[test]
    fn user_files_are_copied_then_only_hashed() {
        let tmp = tempfile::tempdir().unwrap();
        let common = tmp.path().join("git");
        let file = tmp.path().join("model.bin");
        std::fs::write(&file, vec![7u8; 3 << 20]).unwrap();
        let store = LocalStore::new(&common);
        let first = store.put(&file, Origin::User).unwrap();
        let reflink = reflink_works(tmp.path());
        assert_eq!(first.method, if reflink { Method::Reflink } else { Method::Copy });
        assert_eq!(first.size, 3 << 20);
        assert_eq!(first.sha256, hash_reader(File::open(&file).unwrap()).unwrap());
        let object = store_path(&common, &first.sha256);
        let meta = std::fs::metadata(&object).unwrap();
        assert!(meta.permissions().readonly());
        assert_ne!(meta.ino(), std::fs::metadata(&file).unwrap().ino());

        // Reused: the object's time is refreshed, nothing else is written.
        let old = SystemTime::now() - Duration::from_secs(7200);
        File::open(&object).unwrap().set_modified(old).unwrap();
        let again = LocalStore::new(&common).put(&file, Origin::User).unwrap();
        assert_eq!(again.method, Method::Existing);
        assert_eq!(again.sha256, first.sha256);
        let mtime = std::fs::metadata(&object).unwrap().modified().unwrap();
        assert!(mtime > old + Duration::from_secs(3600));
        assert_eq!(object_files(&common), [object]);
        assert_eq!(std::fs::read_dir(tmp_dir(&common)).unwrap().count(), 0);
    }

    #[test]
    fn live_files_are_linked_and_a_damaged_object_is_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        if reflink_works(tmp.path()) {
            return; // Reflink comes first; the hardlink path is not taken here.
        }
        let common = tmp.path().join("git");
        let live = tmp.path().join("plot.bin");
        std::fs::write(&live, b"0123456789").unwrap();
        let sha = hash_reader(&b"0123456789"[..]).unwrap();
        // A damaged object (wrong size) under the right name.
        let object = store_path(&common, &sha);
        std::fs::create_dir_all(object.parent().unwrap()).unwrap();
        std::fs::write(&object, b"bad").unwrap();

        let stored = LocalStore::new(&common).put(&live, Origin::Live).unwrap();
        assert_eq!(stored, Stored { sha256: sha, size: 10, method: Method::Hardlink });
        let (a, b) = (std::fs::metadata(&live).unwrap(), std::fs::metadata(&object).unwrap());
        assert_eq!(a.ino(), b.ino());
        assert!(b.permissions().readonly());
        assert_eq!(std::fs::read(&object).unwrap(), b"0123456789");
    }

    #[test]
    fn concurrent_puts_of_one_content_leave_one_whole_object() {
        let tmp = tempfile::tempdir().unwrap();
        let common = tmp.path().join("git");
        let content: Vec<u8> = (0..(3u32 << 20)).map(|i| (i % 251) as u8).collect();
        let paths: Vec<PathBuf> = (0..4)
            .map(|i| {
                let p = tmp.path().join(format!("f{i}"));
                std::fs::write(&p, &content).unwrap();
                p
            })
            .collect();
        let results: Vec<Stored> = std::thread::scope(|s| {
            let handles: Vec<_> = paths
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let common = &common;
                    let origin = if i % 2 == 0 { Origin::Live } else { Origin::User };
                    s.spawn(move || LocalStore::new(common).put(p, origin).unwrap())
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let sha = hash_reader(&content[..]).unwrap();
        assert!(results.iter().all(|r| r.sha256 == sha && r.size == content.len() as u64));
        let objects = object_files(&common);
        assert_eq!(objects, [store_path(&common, &sha)]);
        assert_eq!(hash_reader(File::open(&objects[0]).unwrap()).unwrap(), sha);
        assert_eq!(std::fs::read_dir(tmp_dir(&common)).unwrap().count(), 0);
    }

    #[test]
    fn a_file_that_changed_after_its_hash_is_not_copied() {
        let tmp = tempfile::tempdir().unwrap();
        let common = tmp.path().join("git");
        let file = tmp.path().join("ckpt.pt");
        std::fs::write(&file, b"before").unwrap();
        let sha = hash_reader(&b"before"[..]).unwrap();
        // What the copy finds after the first hash: other bytes.
        std::fs::write(&file, b"after!").unwrap();
        let store = LocalStore::new(&common);
        fs_err::create_dir_all(tmp_dir(&common)).unwrap();
        let src = File::open(&file).unwrap();
        let err = store.copy_checked(&file, src, &tmp_dir(&common), sha.clone(), 6).unwrap_err();
        assert!(err.ends_with("changed while it was being stored"), "{err}");
        assert!(!store_path(&common, &sha).exists());
        assert_eq!(std::fs::read_dir(tmp_dir(&common)).unwrap().count(), 0);
    }

    #[test]
    fn stale_temporary_files_are_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let store = LocalStore::new(tmp.path());
        fs_err::create_dir_all(tmp_dir(tmp.path())).unwrap();
        let left = tmp_dir(tmp.path()).join(".copy-x");
        std::fs::write(&left, b"x").unwrap();
        store.clean_stale(SystemTime::now());
        assert!(left.exists());
        store.clean_stale(SystemTime::now() + Duration::from_secs(2 * 24 * 3600));
        assert!(!left.exists());
    }
}
