//! Artifacts: the files a run keeps (models, plots, checkpoints). When a run is
//! committed, the files under `$GIT_EXP_DIR/artifacts/`, those matched by the
//! `-a/--artifact` paths and globs, and those named by `_artifact` events are
//! hashed with SHA-256 and recorded in `artifacts.toml`. Small files go into the
//! run's tree under `artifacts/` (they travel with `git push`); larger ones go
//! to the local content-addressed store (`local`), once per content.
//!
//! Names come from the command (and, in fetched runs, from others), so they are
//! checked: relative, no `..`, no `.git`, no empty parts.
//!
//! A file of the live `artifacts/` directory is git-exp's only copy of it once
//! the command ended. When it cannot be kept (it cannot be read or stored, or
//! it is beyond the limits), it is listed as skipped and becomes a [`Lost`]
//! file, which the caller moves to `<common git dir>/exp/lost-found/<run id>/`
//! before it removes the live directory. Files refused for their name or type
//! (links, `.git`, bad names) were never artifacts and are not moved.

pub mod gc;
pub mod listing;
pub mod local;
pub mod remote;
pub mod restore;
pub mod select;

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

pub use crate::store::format::{ArtifactsFile, Entry, Skipped, Storage};
use crate::store::Store;
use crate::util::hex;
pub use local::{hash_reader, store_path};
use local::{LocalStore, Origin};

/// A file or directory the command asked to keep with an `_artifact` event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ArtifactRef {
    /// Where it is (absolute, or relative to the command's directory).
    pub path: String,
    /// Where it goes inside the run's `artifacts/` (default: its file name).
    pub name: Option<String>,
}

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
    /// Files of the live directory that were not kept, to be moved to lost-found.
    pub lost: Vec<Lost>,
}

/// Where the files of run `id` that could not be kept are moved:
/// `<common git dir>/exp/lost-found/<id>/`.
pub fn lost_found_dir(common_dir: &Path, id: &str) -> PathBuf {
    common_dir.join("exp").join("lost-found").join(id)
}

/// A file of the live directory's `artifacts/` that the run could not keep.
/// Its `[[skipped]]` reason already says it is kept at `shown`.
#[derive(Debug, Clone)]
pub struct Lost {
    /// Its artifact name: its path under the live `artifacts/`.
    pub name: String,
    /// Why it was not kept.
    pub cause: String,
    /// Where it is.
    pub from: PathBuf,
    /// Where it goes: the same path under the run's lost-found directory.
    pub to: PathBuf,
    /// `to` for people: relative to the working tree root when it lies inside it.
    pub shown: String,
}

impl Lost {
    /// The lost file of the live file `from`, named `name`, in `lost_found`.
    pub fn new(store: &Store, name: &str, cause: String, from: &Path, lost_found: &Path) -> Lost {
        let to = lost_found.join(name);
        let shown = match to.strip_prefix(store.workdir()) {
            Ok(rel) => rel.display().to_string(),
            Err(_) => to.display().to_string(),
        };
        Lost { name: name.to_owned(), cause, from: from.to_path_buf(), to, shown }
    }

    /// The `[[skipped]]` reason: the cause, then where the file is kept.
    pub fn reason(&self) -> String {
        format!("{}; kept at {}", self.cause, self.shown)
    }

    /// Moves the file to lost-found. A rename: lost-found and the live
    /// directory are both in the common git dir, so nothing is copied, and a
    /// file that cannot be renamed stays where it is.
    pub fn rescue(self) -> Rescue {
        let parent = self.to.parent().expect("lost-found paths have a parent");
        let moved =
            fs_err::create_dir_all(parent).and_then(|()| fs_err::rename(&self.from, &self.to));
        Rescue { error: moved.err().map(|e| e.to_string()), lost: self }
    }
}

/// At most this many lost files are named one by one in warnings.
const MAX_LOST_WARNINGS: usize = 20;

/// One line per lost file (without `warning: `), for the first 20 of them,
/// then one line for the rest.
pub fn lost_warnings(rescues: &[Rescue]) -> Vec<String> {
    let mut lines: Vec<String> =
        rescues.iter().take(MAX_LOST_WARNINGS).map(Rescue::warning).collect();
    if rescues.len() > MAX_LOST_WARNINGS {
        let more = rescues.len() - MAX_LOST_WARNINGS;
        let stuck = rescues.iter().filter(|r| r.error.is_some()).count();
        lines.push(format!(
            "{more} more artifacts could not be stored ({stuck} of all could not be moved to \
             lost-found either); see artifacts.toml"
        ));
    }
    lines
}

/// A lost file after the attempt to move it to lost-found.
#[derive(Debug, Clone)]
pub struct Rescue {
    /// The file.
    pub lost: Lost,
    /// Why it could not be moved; it is still in the live directory then.
    pub error: Option<String>,
}

impl Rescue {
    /// One line for people (without `warning: `).
    pub fn warning(&self) -> String {
        let Lost { name, cause, from, shown, .. } = &self.lost;
        match &self.error {
            None => format!("artifact {name} could not be stored ({cause}); kept at {shown}"),
            Some(e) => format!(
                "artifact {name} could not be stored ({cause}) and could not be moved to \
                 {shown} ({e}); it stays at {}, and so does the run's live directory",
                from.display()
            ),
        }
    }
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
/// Files of `live_dir` that cannot be kept are listed in `lost`, bound for
/// `lost_found` (nothing is moved here).
pub fn collect(
    store: &Store,
    live_dir: &Path,
    base: &Path,
    args: &[String],
    refs: &[ArtifactRef],
    inline_max: u64,
    lost_found: &Path,
) -> Collected {
    let mut skipped = Vec::new();
    let mut wanted = select::Wanted::new();
    let live_files = live_dir.join(LIVE_DIR);
    select::walk(&live_files, "", Origin::Live, &mut wanted, &mut skipped);
    select::args(base, args, &mut wanted, &mut skipped);
    select::events(base, refs, &mut wanted, &mut skipped);
    let local = LocalStore::new(store.common_dir());
    if !wanted.is_empty() {
        local.clean_stale(std::time::SystemTime::now());
    }
    let mut out = Collected::default();
    let mut files: Vec<&str> = Vec::new();
    for (name, (path, origin)) in &wanted {
        let refused = if out.file.artifacts.len() >= MAX_ARTIFACTS {
            format!("more than {MAX_ARTIFACTS} artifacts")
        } else if files
            .iter()
            .any(|f| name.starts_with(f) && name.as_bytes().get(f.len()) == Some(&b'/'))
        {
            // A name cannot be both a file and a directory in a tree (`a` and `a/b`).
            "a file of the same name as its directory is an artifact".into()
        } else {
            match keep(store, &local, path, *origin, name, inline_max) {
                Ok((entry, blob)) => {
                    if let Some(blob) = blob {
                        out.blobs.push((name.clone(), blob));
                    }
                    out.file.artifacts.push(entry);
                    files.push(name);
                    continue;
                }
                Err(reason) => reason,
            }
        };
        // Whoever named it, a file of the live directory has no other copy.
        let reason = match path.strip_prefix(&live_files) {
            Ok(rel) if rel.components().all(|c| matches!(c, Component::Normal(_))) => {
                let rel = rel.to_string_lossy();
                let lost = Lost::new(store, &rel, refused, path, lost_found);
                let reason = lost.reason();
                out.lost.push(lost);
                reason
            }
            _ => refused,
        };
        skipped.push(Skipped { path: name.clone(), reason });
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
    fn lost_files_are_told_one_by_one_then_summed_up() {
        let rescue = |i: usize, error: Option<&str>| Rescue {
            lost: Lost {
                name: format!("ckpt{i}.pt"),
                cause: "cannot store it".into(),
                from: PathBuf::from(format!("/live/artifacts/ckpt{i}.pt")),
                to: PathBuf::from(format!("/repo/.git/exp/lost-found/01/ckpt{i}.pt")),
                shown: format!(".git/exp/lost-found/01/ckpt{i}.pt"),
            },
            error: error.map(str::to_owned),
        };
        let moved = rescue(0, None);
        assert_eq!(moved.lost.reason(), "cannot store it; kept at .git/exp/lost-found/01/ckpt0.pt");
        assert_eq!(
            moved.warning(),
            "artifact ckpt0.pt could not be stored (cannot store it); kept at \
             .git/exp/lost-found/01/ckpt0.pt"
        );
        let stuck = rescue(1, Some("Not a directory"));
        assert!(stuck.warning().ends_with(
            "could not be moved to .git/exp/lost-found/01/ckpt1.pt (Not a directory); it stays \
             at /live/artifacts/ckpt1.pt, and so does the run's live directory"
        ));
        let many: Vec<Rescue> = (0..25).map(|i| rescue(i, (i == 24).then_some("x"))).collect();
        let lines = lost_warnings(&many);
        assert_eq!(lines.len(), 21);
        assert!(lines[20].starts_with("5 more artifacts could not be stored (1 of all "));
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
