//! Artifacts: the files a run keeps (models, plots, checkpoints). When a run is
//! committed, the files under `$GIT_EXP_DIR/artifacts/` and those named by
//! `_artifact` events are hashed with SHA-256 and recorded in `artifacts.toml`.
//! Small files go into the run's tree under `artifacts/` (they travel with
//! `git push`); larger ones go to the local content-addressed store,
//! `<common git dir>/exp/objects/sha256/ab/cdef...`, once per content.
//!
//! Names come from the command (and, in fetched runs, from others), so they are
//! checked: relative, no `..`, no `.git`, no empty parts.

pub mod gc;
pub mod remote;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::capture::events::ArtifactRef;
pub use crate::store::format::{ArtifactsFile, Entry, Skipped, Storage};
use crate::store::Store;
use crate::util::hex;

/// Files up to this size are stored inline by default (`exp.artifacts.inlineMax`).
pub const DEFAULT_INLINE_MAX: u64 = 1 << 20;
/// Config key of the inline threshold in bytes.
pub const CONFIG_INLINE_MAX: &str = "exp.artifacts.inlineMax";
/// At most this many artifacts per run; the rest are listed as skipped.
pub const MAX_ARTIFACTS: usize = 10_000;
/// Directory of the live run whose files become artifacts.
pub const LIVE_DIR: &str = "artifacts";

/// The artifacts of a run, ready to commit.
#[derive(Debug, Default)]
pub struct Collected {
    /// `artifacts.toml`.
    pub file: ArtifactsFile,
    /// Inline blobs: path under `artifacts/` and blob id.
    pub blobs: Vec<(String, String)>,
}

/// Checks an artifact name and returns it normalized (`./a//b` -> `a/b`), or why
/// it is refused.
pub fn clean_name(name: &str) -> Result<String, &'static str> {
    if name.starts_with('/') {
        return Err("absolute paths are not allowed");
    }
    if name.contains('\0') || name.contains('\\') {
        return Err("NUL and backslash are not allowed");
    }
    let mut parts = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => continue,
            ".." => return Err("'..' is not allowed"),
            p if p.eq_ignore_ascii_case(".git") => return Err("'.git' is not allowed"),
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return Err("the name is empty");
    }
    let clean = parts.join("/");
    if clean.len() > 1024 {
        return Err("the name is longer than 1024 bytes");
    }
    Ok(clean)
}

/// The local store path of a content hash.
pub fn store_path(common_dir: &Path, sha256: &str) -> PathBuf {
    common_dir.join("exp").join("objects").join("sha256").join(&sha256[..2]).join(&sha256[2..])
}

/// Collects the artifacts of the run in `live_dir`: its `artifacts/` directory,
/// then the `_artifact` references (relative ones resolved against `base`, the
/// command's directory). A later file with the same name replaces an earlier one.
pub fn collect(
    store: &Store,
    live_dir: &Path,
    base: &Path,
    refs: &[ArtifactRef],
    inline_max: u64,
) -> Collected {
    let mut skipped = Vec::new();
    let mut wanted: BTreeMap<String, PathBuf> = BTreeMap::new();
    walk(&live_dir.join(LIVE_DIR), "", &mut wanted, &mut skipped);
    for r in refs {
        let path = base.join(&r.path);
        let name = match &r.name {
            Some(n) => n.clone(),
            None => path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        };
        let name = match clean_name(&name) {
            Ok(n) => n,
            Err(reason) => {
                skipped.push(Skipped { path: name, reason: format!("bad name: {reason}") });
                continue;
            }
        };
        match fs_err::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => walk(&path, &name, &mut wanted, &mut skipped),
            Ok(m) if m.is_file() => {
                wanted.insert(name, path);
            }
            Ok(_) => skipped.push(Skipped { path: name, reason: "not a regular file".into() }),
            Err(_) => skipped
                .push(Skipped { path: name, reason: format!("{} does not exist", path.display()) }),
        }
    }
    let mut out = Collected::default();
    let mut files: Vec<&str> = Vec::new();
    for (name, path) in &wanted {
        if out.file.artifacts.len() >= MAX_ARTIFACTS {
            skipped.push(Skipped {
                path: name.clone(),
                reason: format!("more than {MAX_ARTIFACTS} artifacts"),
            });
            continue;
        }
        // A name cannot be both a file and a directory in a tree (`a` and `a/b`).
        if files.iter().any(|f| name.starts_with(f) && name.as_bytes().get(f.len()) == Some(&b'/'))
        {
            skipped.push(Skipped {
                path: name.clone(),
                reason: "a file of the same name as its directory is an artifact".into(),
            });
            continue;
        }
        match keep(store, path, name, inline_max) {
            Ok((entry, blob)) => {
                if let Some(blob) = blob {
                    out.blobs.push((name.clone(), blob));
                }
                out.file.artifacts.push(entry);
                files.push(name);
            }
            Err(reason) => skipped.push(Skipped { path: name.clone(), reason }),
        }
    }
    out.file.skipped = skipped;
    out
}

/// Adds every regular file under `dir` as `prefix/relative path`.
fn walk(
    dir: &Path,
    prefix: &str,
    wanted: &mut BTreeMap<String, PathBuf>,
    skipped: &mut Vec<Skipped>,
) {
    let Ok(entries) = fs_err::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let name = if prefix.is_empty() { file } else { format!("{prefix}/{file}") };
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            walk(&entry.path(), &name, wanted, skipped);
        } else if kind.is_file() {
            match clean_name(&name) {
                Ok(n) => {
                    wanted.insert(n, entry.path());
                }
                Err(reason) => skipped.push(Skipped { path: name, reason: reason.into() }),
            }
        } else {
            skipped.push(Skipped { path: name, reason: "not a regular file".into() });
        }
    }
}

/// Hashes one file and stores it inline (returns the blob id) or in the store.
fn keep(
    store: &Store,
    path: &Path,
    name: &str,
    inline_max: u64,
) -> Result<(Entry, Option<String>), String> {
    let fail = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let mut file = fs_err::File::open(path).map_err(fail)?;
    let size = file.metadata().map_err(fail)?.len();
    let media_type = media_type(name).to_owned();
    if size <= inline_max {
        let mut bytes = Vec::with_capacity(size as usize);
        (&mut file).take(inline_max + 1).read_to_end(&mut bytes).map_err(fail)?;
        if bytes.len() as u64 <= inline_max {
            let sha256 = hex(&Sha256::digest(&bytes));
            let blob = store.put_blob(&bytes).map_err(|e| e.to_string())?;
            let entry = Entry {
                path: name.to_owned(),
                size: bytes.len() as u64,
                sha256,
                media_type,
                storage: Storage::Inline,
            };
            return Ok((entry, Some(blob)));
        }
        // It grew past the threshold meanwhile: store it.
    }
    let sha256 = hash_reader(fs_err::File::open(path).map_err(fail)?).map_err(fail)?;
    let size = put_in_store(store.common_dir(), path, &sha256)?;
    Ok((Entry { path: name.to_owned(), size, sha256, media_type, storage: Storage::Store }, None))
}

/// SHA-256 of everything `reader` yields, as hex.
pub fn hash_reader(mut reader: impl Read) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// Copies `path` into the store as `sha256` unless the store has it; returns
/// the size. The copy is hashed as it is written, so a file that changed since
/// it was hashed is refused rather than stored under the wrong hash.
fn put_in_store(common_dir: &Path, path: &Path, sha256: &str) -> Result<u64, String> {
    let dest = store_path(common_dir, sha256);
    if let Ok(m) = fs_err::metadata(&dest) {
        return Ok(m.len());
    }
    let fail = |e: std::io::Error| format!("cannot store {}: {e}", path.display());
    let parent = dest.parent().expect("store paths have a parent");
    fs_err::create_dir_all(parent).map_err(fail)?;
    let mut tmp = tempfile::NamedTempFile::new_in(parent).map_err(fail)?;
    let mut src = fs_err::File::open(path).map_err(fail)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = src.read(&mut buf).map_err(fail)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        tmp.write_all(&buf[..n]).map_err(fail)?;
        size += n as u64;
    }
    if hex(&hasher.finalize()) != sha256 {
        return Err(format!("{} changed while it was being stored", path.display()));
    }
    tmp.as_file().sync_all().map_err(fail)?;
    let mut perms = tmp.as_file().metadata().map_err(fail)?.permissions();
    perms.set_readonly(true);
    let _ = std::fs::set_permissions(tmp.path(), perms);
    // Another run may have stored the same content meanwhile: either copy is right.
    tmp.persist(&dest).map_err(|e| fail(e.error))?;
    Ok(size)
}

/// The media type of a file name, by extension.
pub fn media_type(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "webp" => "image/webp",
        "txt" | "log" => "text/plain",
        "md" => "text/markdown",
        "csv" => "text/csv",
        "json" => "application/json",
        "jsonl" => "application/jsonl",
        "toml" => "application/toml",
        "yaml" | "yml" => "application/yaml",
        "html" | "htm" => "text/html",
        "pdf" => "application/pdf",
        "wav" => "audio/wav",
        "mp4" => "video/mp4",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalized_or_refused() {
        assert_eq!(clean_name("./a//b.png").unwrap(), "a/b.png");
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "a/.git/config", ".GIT", "a\\b", "./"] {
            assert!(clean_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn hashes_are_sha256() {
        assert_eq!(
            hash_reader(&b"abc"[..]).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(media_type("x/Plot.PNG"), "image/png");
        assert_eq!(media_type("model"), "application/octet-stream");
    }
}
