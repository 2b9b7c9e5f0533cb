//! Artifacts: the files a run keeps (models, plots, checkpoints). When a run is
//! committed, the files under `$GIT_EXP_DIR/artifacts/`, those matched by the
//! `-a/--artifact` paths and globs, and those named by `_artifact` events are
//! hashed with SHA-256 and recorded in `artifacts.toml`. Small files go into the
//! run's tree under `artifacts/` (they travel with `git push`); larger ones go
//! to the local content-addressed store (`local`), once per content.
//!
//! Names come from the command (and, in fetched runs, from others), so they are
//! checked: relative, no `..`, no `.git`, no empty parts.

pub mod gc;
pub mod local;
pub mod remote;
pub mod select;

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::capture::events::ArtifactRef;
pub use crate::store::format::{ArtifactsFile, Entry, Skipped, Storage};
use crate::store::Store;
use crate::util::hex;
pub use local::{hash_reader, store_path};
use local::{LocalStore, Origin};

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

/// Collects the artifacts of the run in `live_dir`: its `artifacts/` directory,
/// then the `-a` paths and globs in `args`, then the `_artifact` references
/// (relative paths and globs are resolved against `base`, the directory git-exp
/// was started in). A later file with the same name replaces an earlier one.
pub fn collect(
    store: &Store,
    live_dir: &Path,
    base: &Path,
    args: &[String],
    refs: &[ArtifactRef],
    inline_max: u64,
) -> Collected {
    let mut skipped = Vec::new();
    let mut wanted = select::Wanted::new();
    select::walk(&live_dir.join(LIVE_DIR), "", Origin::Live, &mut wanted, &mut skipped);
    select::args(base, args, &mut wanted, &mut skipped);
    select::events(base, refs, &mut wanted, &mut skipped);
    let local = LocalStore::new(store.common_dir());
    if !wanted.is_empty() {
        local.clean_stale(std::time::SystemTime::now());
    }
    let mut out = Collected::default();
    let mut files: Vec<&str> = Vec::new();
    for (name, (path, origin)) in &wanted {
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
        match keep(store, &local, path, *origin, name, inline_max) {
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

/// Hashes one file and stores it inline (returns the blob id) or in the store.
fn keep(
    store: &Store,
    local: &LocalStore,
    path: &Path,
    origin: Origin,
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
    drop(file);
    let stored = local.put(path, origin)?;
    let entry = Entry {
        path: name.to_owned(),
        size: stored.size,
        sha256: stored.sha256,
        media_type,
        storage: Storage::Store,
    };
    Ok((entry, None))
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
