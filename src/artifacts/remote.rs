//! Remote artifact stores: the content-addressed store kept in the object
//! storage a team already has, through the `object_store` crate. A store is a
//! URL (`s3://bucket/prefix`, `gs://`, `az://`, `file:///path`) and holds
//! objects at `<prefix>/sha256/ab/<62 hex>`, the local store's layout.
//!
//! Objects are immutable and named by their hash, so a transfer is safe to
//! repeat: an object the other side has (same name, same size) is skipped, an
//! interrupted transfer resumes with the objects it did not finish, and every
//! byte is hashed on its way (a corrupt local copy is never uploaded, a corrupt
//! download never enters the local store). An object only becomes visible when
//! complete: S3 multipart uploads and local renames are atomic.

mod config;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::StreamExt;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use sha2::{Digest, Sha256};

pub use config::{Settings, CONFIG_ENDPOINT, CONFIG_JOBS, CONFIG_REGION, CONFIG_URL, REMOTE_KEY};

use super::store_path;
use crate::util::hex;

/// Objects up to this size are uploaded with one request.
const SINGLE_PUT_MAX: u64 = 16 << 20;
/// Smallest part of a multipart upload (S3 wants at least 5 MiB).
const MIN_PART: u64 = 16 << 20;
/// Parts of one file in flight at once.
const PARTS_IN_FLIGHT: usize = 2;
/// S3 allows 10,000 parts; stay below.
const MAX_PARTS: u64 = 9_000;
/// Uploads of more objects than this ask a listing of the store which it has.
const LIST_ABOVE: usize = 32;
/// Objects larger than this are downloaded in ranges of this size.
const RANGE: u64 = 8 << 20;
/// Ranges of one object in flight at once.
const RANGES_IN_FLIGHT: usize = 4;

/// Errors of opening a remote store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The URL cannot name a store.
    #[error("bad artifact store URL '{url}': {reason}")]
    BadUrl {
        /// The URL as configured.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The store could not be set up (credentials, region, ...).
    #[error("cannot open the artifact store {url}: {message}")]
    Open {
        /// The URL.
        url: String,
        /// The cause, on one line.
        message: String,
    },
    /// The async runtime could not start.
    #[error("cannot start the transfer threads: {0}")]
    Runtime(#[source] std::io::Error),
}

/// One stored object: its SHA-256 and size.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Object {
    /// SHA-256, lowercase hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// An object that could not be transferred, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Failure {
    /// The object.
    pub sha256: String,
    /// What went wrong, on one line.
    pub message: String,
}

/// What a transfer did.
#[derive(Debug, Default, serde::Serialize)]
pub struct Transfer {
    /// Objects copied.
    pub transferred: Vec<Object>,
    /// Objects the destination had already.
    pub present: Vec<Object>,
    /// Objects that failed.
    pub failed: Vec<Failure>,
}

impl Transfer {
    /// Bytes copied.
    pub fn bytes(&self) -> u64 {
        self.transferred.iter().map(|o| o.size).sum()
    }
}

/// Reports transfer progress (a progress bar on a terminal, nothing elsewhere).
pub trait Progress: Sync {
    /// `bytes` more were transferred.
    fn advance(&self, bytes: u64);
    /// An object was found present and skipped.
    fn skip(&self, bytes: u64) {
        self.advance(bytes)
    }
}

/// No progress reporting.
pub struct Quiet;

impl Progress for Quiet {
    fn advance(&self, _bytes: u64) {}
}

/// Whether `s` is a SHA-256 in lowercase hex (the only names the stores use;
/// values from fetched runs are checked with this before they name a path).
pub fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Makes ring the process's TLS provider: reqwest is built without one (the
/// default, aws-lc, is a long C build), and its clients take the installed one.
fn install_crypto_provider() {
    // Err only when a provider is installed already, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// An open remote store.
pub struct Remote {
    store: Arc<dyn ObjectStore>,
    prefix: Key,
    url: String,
    jobs: usize,
    /// Read large objects in ranges (local directories: their streams come in
    /// 8 KiB pieces); servers stream a whole object faster than ranges.
    ranged_reads: bool,
    runtime: tokio::runtime::Runtime,
}

impl Remote {
    /// Opens the store `settings` names. Nothing is sent until a transfer.
    pub fn open(settings: &Settings) -> Result<Remote, Error> {
        install_crypto_provider();
        let (store, prefix) = config::build(settings)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(std::thread::available_parallelism().map_or(2, |n| n.get()).min(4))
            .enable_all()
            .build()
            .map_err(Error::Runtime)?;
        let url = crate::util::anonymize_url(&settings.url);
        let ranged_reads = settings.url.starts_with("file:") || settings.url.starts_with('/');
        Ok(Remote { store, prefix, url, jobs: settings.jobs.max(1), ranged_reads, runtime })
    }

    /// The URL, for messages.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn key(&self, sha256: &str) -> Key {
        self.prefix.clone().join("sha256").join(&sha256[..2]).join(&sha256[2..])
    }

    /// Uploads the objects of the local store (`common_dir`) the remote lacks.
    pub fn upload(
        &self,
        common_dir: &Path,
        objects: &[Object],
        progress: &dyn Progress,
    ) -> Transfer {
        // Many objects: one listing of the store (1,000 keys per request on S3)
        // answers "is it there?" for all of them, instead of a request each.
        let listed = if objects.len() > LIST_ABOVE {
            self.runtime.block_on(self.listing()).ok()
        } else {
            None
        };
        self.each(objects, |object| {
            let there = listed.as_ref().map(|l| l.get(&object.sha256).copied());
            self.upload_one(common_dir, object, there, progress)
        })
    }

    /// Every object of the store, by hash, with its size.
    async fn listing(&self) -> Result<std::collections::HashMap<String, u64>, String> {
        let base = self.prefix.clone().join("sha256");
        let mut stream = self.store.list(Some(&base));
        let mut out = std::collections::HashMap::new();
        while let Some(meta) = stream.next().await {
            let meta = meta.map_err(|e| brief(&e))?;
            let parts: Vec<_> = meta.location.parts().collect();
            if let [.., fan, rest] = parts.as_slice() {
                let sha256 = format!("{}{}", fan.as_ref(), rest.as_ref());
                if is_sha256(&sha256) {
                    out.insert(sha256, meta.size);
                }
            }
        }
        Ok(out)
    }

    /// Downloads into the local store (`common_dir`) the objects it lacks.
    pub fn download(
        &self,
        common_dir: &Path,
        objects: &[Object],
        progress: &dyn Progress,
    ) -> Transfer {
        self.each(objects, |object| self.download_one(common_dir, object, progress))
    }

    /// Runs `work` on every object (invalid names fail, duplicates run once),
    /// `jobs` at a time, and sorts the outcomes.
    fn each<'a, F, Fut>(&'a self, objects: &'a [Object], work: F) -> Transfer
    where
        F: Fn(&'a Object) -> Fut,
        Fut: std::future::Future<Output = Result<bool, String>> + 'a,
    {
        let mut wanted: Vec<&Object> = Vec::new();
        let mut transfer = Transfer::default();
        let mut seen = std::collections::HashSet::new();
        for object in objects {
            if !is_sha256(&object.sha256) {
                transfer.failed.push(Failure {
                    sha256: object.sha256.clone(),
                    message: "not a SHA-256 (a run's artifacts.toml is damaged)".into(),
                });
            } else if seen.insert(&object.sha256) {
                wanted.push(object);
            }
        }
        let results: Vec<(&Object, Result<bool, String>)> = self.runtime.block_on(
            futures::stream::iter(wanted)
                .map(|object| {
                    let fut = work(object);
                    async move { (object, fut.await) }
                })
                .buffer_unordered(self.jobs)
                .collect(),
        );
        for (object, result) in results {
            match result {
                Ok(true) => transfer.transferred.push(object.clone()),
                Ok(false) => transfer.present.push(object.clone()),
                Err(message) => {
                    transfer.failed.push(Failure { sha256: object.sha256.clone(), message })
                }
            }
        }
        transfer.transferred.sort();
        transfer.present.sort();
        transfer.failed.sort_by(|a, b| a.sha256.cmp(&b.sha256));
        transfer
    }

    /// Uploads one object unless the remote has it; `Ok(true)` when uploaded.
    /// `there`: what a listing of the store said (the object's size there, or
    /// `None` when absent); without a listing, one HEAD request asks.
    async fn upload_one(
        &self,
        common_dir: &Path,
        object: &Object,
        there: Option<Option<u64>>,
        progress: &dyn Progress,
    ) -> Result<bool, String> {
        let key = self.key(&object.sha256);
        let found = match there {
            Some(Some(size)) => Ok(size),
            Some(None) => Err(None),
            None => match self.store.head(&key).await {
                Ok(meta) => Ok(meta.size),
                Err(object_store::Error::NotFound { .. }) => Err(None),
                Err(e) => Err(Some(brief(&e))),
            },
        };
        match found {
            // Same name, same size: the same content (names are hashes).
            Ok(size) if size == object.size => {
                progress.skip(object.size);
                return Ok(false);
            }
            // A different size under a hash's name is damage: replace it.
            Ok(_) | Err(None) => {}
            Err(Some(message)) => return Err(message),
        }
        let path = store_path(common_dir, &object.sha256);
        let mut file = match fs_err::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err("not in the local store, nor in the artifact store".into())
            }
            Err(e) => return Err(e.to_string()),
        };
        let mut hasher = Sha256::new();
        let mut sent = 0u64;
        if object.size <= SINGLE_PUT_MAX {
            let mut bytes = Vec::with_capacity(object.size as usize);
            tokio::task::block_in_place(|| {
                (&mut file).take(object.size + 1).read_to_end(&mut bytes)
            })
            .map_err(|e| e.to_string())?;
            hasher.update(&bytes);
            check(&object.sha256, object.size, &hex(&hasher.finalize()), bytes.len() as u64)?;
            let n = bytes.len() as u64;
            self.store.put(&key, PutPayload::from(bytes)).await.map_err(|e| brief(&e))?;
            progress.advance(n);
            return Ok(true);
        }
        let part = MIN_PART.max(object.size.div_ceil(MAX_PARTS).next_multiple_of(1 << 20));
        let upload = self.store.put_multipart(&key).await.map_err(|e| brief(&e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, part as usize);
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = match tokio::task::block_in_place(|| file.read(&mut buf)) {
                Ok(n) => n,
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(e.to_string());
                }
            };
            if n == 0 || sent + n as u64 > object.size {
                sent += n as u64;
                break;
            }
            hasher.update(&buf[..n]);
            if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                let _ = writer.abort().await;
                return Err(brief(&e));
            }
            writer.write(&buf[..n]);
            sent += n as u64;
            progress.advance(n as u64);
        }
        if let Err(message) = check(&object.sha256, object.size, &hex(&hasher.finalize()), sent) {
            let _ = writer.abort().await;
            return Err(message);
        }
        writer.finish().await.map_err(|e| brief(&e))?;
        Ok(true)
    }

    /// Downloads one object unless the local store has it; `Ok(true)` when
    /// downloaded.
    async fn download_one(
        &self,
        common_dir: &Path,
        object: &Object,
        progress: &dyn Progress,
    ) -> Result<bool, String> {
        let dest = store_path(common_dir, &object.sha256);
        if dest.exists() {
            progress.skip(object.size);
            return Ok(false);
        }
        let key = self.key(&object.sha256);
        let not_there = || format!("not in the artifact store {}", self.url);
        let wrong_size = |size: u64| {
            format!(
                "the artifact store has {size} bytes under this hash, the run says {}",
                object.size
            )
        };
        let parent = dest.parent().expect("store paths have a parent");
        fs_err::create_dir_all(parent).map_err(|e| e.to_string())?;
        let mut tmp = tempfile::NamedTempFile::new_in(parent).map_err(|e| e.to_string())?;
        let mut hasher = Sha256::new();
        let mut got = 0u64;
        let mut take = |chunk: &[u8]| -> Result<(), String> {
            got += chunk.len() as u64;
            if got > object.size {
                return Err(format!("the artifact store sent more than {} bytes", object.size));
            }
            hasher.update(chunk);
            tokio::task::block_in_place(|| tmp.write_all(chunk)).map_err(|e| e.to_string())?;
            progress.advance(chunk.len() as u64);
            Ok(())
        };
        if object.size <= RANGE || !self.ranged_reads {
            let result = match self.store.get(&key).await {
                Ok(r) => r,
                Err(object_store::Error::NotFound { .. }) => return Err(not_there()),
                Err(e) => return Err(brief(&e)),
            };
            if result.meta.size != object.size {
                return Err(wrong_size(result.meta.size));
            }
            let mut stream = result.into_stream();
            while let Some(chunk) = stream.next().await {
                take(&chunk.map_err(|e| brief(&e))?)?;
            }
        } else {
            // Large objects from local directories in ranges, a few at a time,
            // in order: big reads instead of 8 KiB ones.
            match self.store.head(&key).await {
                Ok(meta) if meta.size == object.size => {}
                Ok(meta) => return Err(wrong_size(meta.size)),
                Err(object_store::Error::NotFound { .. }) => return Err(not_there()),
                Err(e) => return Err(brief(&e)),
            }
            let ranges = (0..object.size)
                .step_by(RANGE as usize)
                .map(|start| start..(start + RANGE).min(object.size));
            let mut parts = futures::stream::iter(ranges)
                .map(|range| self.store.get_range(&key, range))
                .buffered(RANGES_IN_FLIGHT);
            while let Some(part) = parts.next().await {
                take(&part.map_err(|e| brief(&e))?)?;
            }
        }
        check(&object.sha256, object.size, &hex(&hasher.finalize()), got)
            .map_err(|m| format!("{m} (the copy in the artifact store is damaged)"))?;
        finish_object(tmp, &dest).map_err(|e| e.to_string())?;
        Ok(true)
    }
}

/// Makes a verified temporary file the store object `dest` (read-only).
pub(crate) fn finish_object(tmp: tempfile::NamedTempFile, dest: &Path) -> std::io::Result<()> {
    tmp.as_file().sync_all()?;
    let mut perms = tmp.as_file().metadata()?.permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(tmp.path(), perms)?;
    // Another process may have stored the same content meanwhile: either is right.
    tmp.persist(dest).map_err(|e| e.error)?;
    Ok(())
}

/// Compares what was read with what the run recorded.
fn check(sha256: &str, size: u64, got_sha256: &str, got_size: u64) -> Result<(), String> {
    if got_size != size {
        return Err(format!("has {got_size} bytes, the run says {size}"));
    }
    if got_sha256 != sha256 {
        return Err(format!("its content hashes to {got_sha256}"));
    }
    Ok(())
}

/// An object_store error on one line, without the request dump, with its
/// innermost cause (what the server or the TLS layer said: "error sending
/// request" alone does not tell an untrusted certificate from a refused
/// connection).
fn brief(e: &object_store::Error) -> String {
    let text = e.to_string();
    let line = text.lines().next().unwrap_or("unknown error").trim();
    let mut out: String = line.chars().take(300).collect();
    if out.len() < line.len() {
        out.push('…');
    }
    let mut cause = None;
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        cause = Some(inner.to_string());
        source = inner.source();
    }
    let cause = cause.as_deref().and_then(|c| c.lines().next()).map(str::trim).unwrap_or("");
    if !cause.is_empty() && !line.contains(cause) {
        out.push_str(": ");
        out.extend(cause.chars().take(200));
        if cause.contains("certificate") {
            out.push_str(
                " (a server whose certificate a private CA signed: set SSL_CERT_FILE \
                 to a PEM file of the CAs to trust)",
            );
        }
    }
    out
}

/// The local store path of an object, after checking its name.
pub fn local_path(common_dir: &Path, sha256: &str) -> Option<PathBuf> {
    is_sha256(sha256).then(|| store_path(common_dir, sha256))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str) -> Settings {
        Settings { url: url.into(), jobs: 4, ..Settings::default() }
    }

    fn put_local(common: &Path, bytes: &[u8]) -> Object {
        let sha256 = hex(&Sha256::digest(bytes));
        let path = store_path(common, &sha256);
        fs_err::create_dir_all(path.parent().unwrap()).unwrap();
        fs_err::write(&path, bytes).unwrap();
        Object { sha256, size: bytes.len() as u64 }
    }

    #[test]
    fn round_trip_through_a_file_store_skips_what_is_there() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b, bucket) =
            (tmp.path().join("a"), tmp.path().join("b"), tmp.path().join("bucket"));
        let small = put_local(&a, b"small artifact");
        let big: Vec<u8> = (0..(SINGLE_PUT_MAX + 3 * (1 << 20))).map(|i| (i % 251) as u8).collect();
        let big = put_local(&a, &big);
        let url = url::Url::from_directory_path(&bucket).unwrap().to_string();
        let remote = Remote::open(&settings(&url)).unwrap();
        let objects = vec![small.clone(), big.clone(), small.clone()];
        let up = remote.upload(&a, &objects, &Quiet);
        assert_eq!(up.transferred.len(), 2, "{:?}", up.failed);
        assert!(bucket.join("sha256").join(&big.sha256[..2]).join(&big.sha256[2..]).is_file());
        let again = remote.upload(&a, &objects, &Quiet);
        assert_eq!((again.transferred.len(), again.present.len()), (0, 2));
        let down = remote.download(&b, &objects, &Quiet);
        assert_eq!(down.transferred.len(), 2, "{:?}", down.failed);
        for o in [&small, &big] {
            assert_eq!(
                fs_err::read(store_path(&b, &o.sha256)).unwrap(),
                fs_err::read(store_path(&a, &o.sha256)).unwrap()
            );
        }
    }

    #[test]
    fn many_objects_are_checked_with_one_listing() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, bucket) = (tmp.path().join("a"), tmp.path().join("bucket"));
        let objects: Vec<Object> =
            (0..LIST_ABOVE + 8).map(|i| put_local(&a, format!("object {i}").as_bytes())).collect();
        let url = url::Url::from_directory_path(&bucket).unwrap().to_string();
        let remote = Remote::open(&settings(&url)).unwrap();
        // The store has the first ten already, one of them damaged (wrong size).
        let first = remote.upload(&a, &objects[..10], &Quiet);
        assert_eq!(first.transferred.len(), 10);
        let damaged = &objects[3];
        let key = bucket.join("sha256").join(&damaged.sha256[..2]).join(&damaged.sha256[2..]);
        fs_err::write(&key, b"short").unwrap();
        let all = remote.upload(&a, &objects, &Quiet);
        assert!(all.failed.is_empty(), "{:?}", all.failed);
        assert_eq!(all.present.len(), 9);
        assert_eq!(all.transferred.len(), objects.len() - 9);
        assert!(all.transferred.contains(damaged));
        assert_eq!(fs_err::read(&key).unwrap(), b"object 3");
    }

    #[test]
    fn damaged_objects_are_neither_uploaded_nor_accepted() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b, bucket) =
            (tmp.path().join("a"), tmp.path().join("b"), tmp.path().join("bucket"));
        let object = put_local(&a, b"the real content");
        fs_err::write(store_path(&a, &object.sha256), b"the fake content").unwrap();
        let url = url::Url::from_directory_path(&bucket).unwrap().to_string();
        let remote = Remote::open(&settings(&url)).unwrap();
        let up = remote.upload(&a, std::slice::from_ref(&object), &Quiet);
        assert_eq!(up.failed.len(), 1);
        assert!(up.failed[0].message.contains("hashes to"), "{}", up.failed[0].message);
        // The bucket holds a damaged copy: the download is refused.
        let key = bucket.join("sha256").join(&object.sha256[..2]);
        fs_err::create_dir_all(&key).unwrap();
        fs_err::write(key.join(&object.sha256[2..]), b"the fake content").unwrap();
        let down = remote.download(&b, std::slice::from_ref(&object), &Quiet);
        assert!(down.failed[0].message.contains("damaged"), "{}", down.failed[0].message);
        assert!(!store_path(&b, &object.sha256).exists());
        // Names that are not hashes never reach a path.
        let bad = Object { sha256: "../../etc/passwd".into(), size: 1 };
        assert_eq!(remote.download(&b, &[bad], &Quiet).failed.len(), 1);
    }
}
