//! Live runs: the directory `<common git dir>/exp/live/<id>/` that holds a run
//! while its command executes (events file, params, captured output, metadata),
//! and the lock that marks its tracker alive.
//!
//! A live directory is built under a dot-name, locked, then renamed into place,
//! so any directory another process sees under its final name is complete and
//! its lock tells whether a tracker still owns it. Names are reserved under a
//! registry lock, so two runs never go live with the same name.

use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::store::format::SkippedFile;

/// File names inside a live directory.
pub mod files {
    /// Held locked by the tracker for the whole run.
    pub const LOCK: &str = "lock";
    /// [`super::LiveMeta`] as TOML.
    pub const META: &str = "meta.toml";
    /// The events file the command appends to (`GIT_EXP_EVENTS`).
    pub const EVENTS: &str = "events.jsonl";
    /// The run's params as JSON (`GIT_EXP_PARAMS`).
    pub const PARAMS: &str = "params.json";
    /// The environment manifest, written once captured.
    pub const ENV: &str = "env.toml";
    /// `<pid> <start time>` of the command, once started.
    pub const CHILD: &str = "child";
}

/// What a tracker knows of its run before the command starts; enough to commit
/// the run if the tracker dies.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LiveMeta {
    /// Run id.
    pub id: String,
    /// Run name.
    pub name: String,
    /// Command as recorded (placeholders substituted, secrets redacted).
    pub command: Vec<String>,
    /// Start time, unix seconds.
    pub started: f64,
    /// HEAD commit at start.
    #[serde(default)]
    pub code_commit: Option<String>,
    /// The `code` tree.
    #[serde(default)]
    pub code_tree: Option<String>,
    /// Whether `code` differs from HEAD's tree.
    #[serde(default)]
    pub code_dirty: bool,
    /// Files left out of `code`.
    #[serde(default)]
    pub code_skipped: Vec<SkippedFile>,
    /// Directory of the command, relative to the repository root.
    pub workdir: String,
    /// Host name.
    pub host: String,
    /// User name.
    pub user: String,
    /// Params given on the command line (already redacted).
    #[serde(default)]
    pub config: toml::Table,
    /// Tags given on the command line.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Note given on the command line.
    #[serde(default)]
    pub note: String,
    /// Cap of `output.log` in bytes.
    pub output_limit: u64,
    /// Paths and globs given with `-a/--artifact`, as given: relative to
    /// `workdir`, expanded when the run is committed (the command makes the files).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<String>,
}

/// A live directory owned by this process (its lock is held while this lives).
pub struct LiveRun {
    /// The directory.
    pub dir: PathBuf,
    /// The metadata written at creation.
    pub meta: LiveMeta,
    _lock: File,
}

/// Errors of live-directory handling.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// File system trouble.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Metadata could not be written or read.
    #[error("live run metadata {path} is unreadable: {message}")]
    Meta {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// `<common>/exp/live`.
pub fn root(common_dir: &Path) -> PathBuf {
    common_dir.join("exp").join("live")
}

pub use crate::store::registry::RegistryLock;

/// Takes the registry lock, waiting for other processes to release it.
pub fn lock_registry(common_dir: &Path) -> Result<RegistryLock, Error> {
    Ok(crate::store::registry::lock(common_dir)?)
}

/// The directories of live runs (complete ones only: dot-names are skipped).
pub fn list(common_dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs_err::read_dir(root(common_dir)) else { return Vec::new() };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// Reads a live directory's metadata.
pub fn read_meta(dir: &Path) -> Result<LiveMeta, Error> {
    let path = dir.join(files::META);
    let text = fs_err::read_to_string(&path)?;
    toml::from_str(&text)
        .map_err(|e| Error::Meta { path: path.display().to_string(), message: e.to_string() })
}

/// Names held by live runs (for name reservation; call under the registry lock).
pub fn live_names(common_dir: &Path) -> Vec<String> {
    list(common_dir).iter().filter_map(|d| read_meta(d).ok()).map(|m| m.name).collect()
}

impl LiveRun {
    /// Creates and locks the live directory of a new run (call under the registry lock).
    pub fn create(common_dir: &Path, meta: LiveMeta) -> Result<LiveRun, Error> {
        let root = root(common_dir);
        let tmp = root.join(format!(".new-{}", meta.id));
        let dir = root.join(&meta.id);
        fs_err::create_dir_all(&tmp)?;
        let lock = fs_err::File::create(tmp.join(files::LOCK))?.into_parts().0;
        lock.lock()?;
        let text = toml::to_string(&meta).map_err(|e| Error::Meta {
            path: tmp.join(files::META).display().to_string(),
            message: e.to_string(),
        })?;
        fs_err::write(tmp.join(files::META), text)?;
        fs_err::write(tmp.join(files::EVENTS), b"")?;
        // Scripts write the files they keep here (`$GIT_EXP_DIR/artifacts/`).
        fs_err::create_dir_all(tmp.join(crate::artifacts::LIVE_DIR))?;
        fs_err::rename(&tmp, &dir)?;
        Ok(LiveRun { dir, meta, _lock: lock })
    }

    /// Path of a file in the live directory.
    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// Removes the directory once the run is committed.
    pub fn remove(self) -> Result<(), Error> {
        fs_err::remove_dir_all(&self.dir)?;
        Ok(())
    }
}

/// A live directory whose tracker is gone, locked by this process for recovery.
pub struct Orphan {
    /// The directory.
    pub dir: PathBuf,
    _lock: File,
}

impl Orphan {
    /// Removes the directory once the run is committed.
    pub fn remove(self) -> Result<(), Error> {
        fs_err::remove_dir_all(&self.dir)?;
        Ok(())
    }
}

/// Tries to take over `dir`: succeeds only if no tracker holds its lock and the
/// directory still exists once the lock is ours (another recoverer may have
/// finished it meanwhile).
pub fn try_adopt(dir: &Path) -> Option<Orphan> {
    let lock = File::options().write(true).open(dir.join(files::LOCK)).ok()?;
    if lock.try_lock().is_err() {
        return None;
    }
    if !dir.join(files::META).exists() {
        return None;
    }
    Some(Orphan { dir: dir.to_path_buf(), _lock: lock })
}

/// Whether the run in `dir` is really running: its tracker holds the lock, or
/// the tracker died but the command it started is still going (and may still log).
pub fn is_alive(dir: &Path) -> bool {
    let locked = match File::options().write(true).open(dir.join(files::LOCK)) {
        Ok(f) => f.try_lock().is_err(),
        Err(_) => false,
    };
    locked || child_alive(dir)
}

/// Records the command's process id and start time, so a later command can tell
/// whether it still runs after its tracker died.
pub fn record_child(dir: &Path, pid: u32) {
    if let Some(start) = process_start(pid) {
        let _ = fs_err::write(dir.join(files::CHILD), format!("{pid} {start}"));
    }
}

/// Whether a process with this id exists (and is not a zombie).
pub fn process_running(pid: u32) -> bool {
    process_start(pid).is_some() && !is_zombie(pid)
}

/// Whether the command recorded in `dir` is still running (same pid, same start
/// time, so a reused pid does not count).
pub fn child_alive(dir: &Path) -> bool {
    let Ok(text) = fs_err::read_to_string(dir.join(files::CHILD)) else { return false };
    let mut parts = text.split_whitespace();
    let (Some(Ok(pid)), Some(Ok(start))) =
        (parts.next().map(str::parse::<u32>), parts.next().map(str::parse::<u64>))
    else {
        return false;
    };
    process_start(pid) == Some(start) && !is_zombie(pid)
}

/// The start time of a process in clock ticks since boot (`/proc/<pid>/stat` field 22).
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rfind(')').map(|i| s[i + 1..].trim_start().starts_with('Z')))
        .unwrap_or(true)
}

/// Removes half-built live directories (`.new-*`) whose creator is gone; they
/// never held a run's data (the command starts only after the rename).
pub fn clean_unfinished(common_dir: &Path) {
    let Ok(entries) = fs_err::read_dir(root(common_dir)) else { return };
    let entries: Vec<_> = entries.flatten().collect();
    if !entries.iter().any(|e| e.file_name().to_string_lossy().starts_with(".new-")) {
        return;
    }
    // Creators build `.new-*` under the registry lock: holding it, none is half-way.
    let Ok(_registry) = lock_registry(common_dir) else { return };
    for entry in entries {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(".new-") {
            continue;
        }
        let lock = File::options().write(true).open(entry.path().join(files::LOCK));
        if lock.is_ok_and(|f| f.try_lock().is_ok()) || !entry.path().join(files::LOCK).exists() {
            let _ = fs_err::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_without_artifact_args_still_loads_and_none_are_not_written() {
        let old =
            "id = \"01\"\nname = \"a\"\ncommand = [\"true\"]\nstarted = 1.5\nworkdir = \".\"\n\
                   host = \"h\"\nuser = \"u\"\noutput_limit = 10\n";
        let mut meta: LiveMeta = toml::from_str(old).unwrap();
        assert!(meta.artifacts.is_empty());
        assert!(!toml::to_string(&meta).unwrap().contains("artifacts"));
        meta.artifacts = vec!["out/*.pt".into()];
        let back: LiveMeta = toml::from_str(&toml::to_string(&meta).unwrap()).unwrap();
        assert_eq!(back.artifacts, ["out/*.pt"]);
    }
}
