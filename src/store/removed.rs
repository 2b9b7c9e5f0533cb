//! Runs deleted here with `git exp rm`, remembered so that `git exp pull`
//! does not fetch them back from a remote that still has them.
//!
//! The memory is `<common git dir>/exp/removed.json`, keyed by name *and*
//! commit: a different run pushed later under a removed name is new and is
//! fetched. It is bounded (the oldest entries go first), written atomically
//! (a temporary file renamed over it, under a lock file), and a file that
//! cannot be read is reported and treated as empty, never an error: losing it
//! only means a pull may bring a deleted run back.
//!
//! This module only reads and writes that file; which runs a pull skips is
//! decided by the command.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The file's name in `<common git dir>/exp/`.
pub const FILE: &str = "removed.json";
/// The lock file taken while the file is rewritten.
const LOCK: &str = "removed.lock";
/// Version of the file's layout.
const FORMAT: u32 = 1;
/// At most this many runs are remembered; the oldest are forgotten first.
pub const MAX_ENTRIES: usize = 10_000;
/// A larger file is not read (a run name is at most a few hundred bytes).
const MAX_BYTES: u64 = 8 << 20;

/// Errors of writing the memory (reading never fails; see [`read`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file, its lock or its temporary file could not be written.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// One remembered run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    /// The run's name when it was deleted.
    pub name: String,
    /// Its commit (hex).
    pub commit: String,
    /// When it was deleted (unix seconds).
    pub removed: i64,
}

/// The file as stored.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct File {
    format: u32,
    /// Oldest first.
    runs: Vec<Entry>,
}

/// The runs deleted here.
#[derive(Debug, Default)]
pub struct Removed {
    entries: Vec<Entry>,
    keys: HashSet<(String, String)>,
}

impl Removed {
    fn new(entries: Vec<Entry>) -> Removed {
        let keys = entries.iter().map(|e| (e.name.clone(), e.commit.clone())).collect();
        Removed { entries, keys }
    }

    /// Whether the run `name` at `commit` was deleted here.
    pub fn contains(&self, name: &str, commit: &str) -> bool {
        self.keys.contains(&(name.to_owned(), commit.to_owned()))
    }

    /// The remembered runs, oldest first.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }
}

/// The path of the file in `common_dir`.
pub fn path(common_dir: &Path) -> PathBuf {
    common_dir.join("exp").join(FILE)
}

/// Reads the memory. When the file exists but cannot be used (unreadable,
/// too large, not JSON of this layout), the memory is empty and the second
/// value says why, for a warning.
pub fn read(common_dir: &Path) -> (Removed, Option<String>) {
    let file = path(common_dir);
    match read_file(&file) {
        Ok(entries) => (Removed::new(entries), None),
        Err(why) => (Removed::default(), Some(format!("{} is damaged: {why}", file.display()))),
    }
}

fn read_file(file: &Path) -> Result<Vec<Entry>, String> {
    let handle = match fs_err::File::open(file) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.to_string()),
    };
    let mut bytes = Vec::new();
    handle.take(MAX_BYTES + 1).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(format!("larger than {} MiB", MAX_BYTES >> 20));
    }
    let parsed: File = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    if parsed.format != FORMAT {
        return Err(format!("format {} is not known (this git-exp reads {FORMAT})", parsed.format));
    }
    Ok(parsed.runs)
}

/// Remembers the runs `(name, commit)` as deleted at `now` (unix seconds).
/// Returns why the old file was ignored, if it was damaged.
pub fn remember(
    common_dir: &Path,
    runs: &[(String, String)],
    now: i64,
) -> Result<Option<String>, Error> {
    if runs.is_empty() {
        return Ok(None);
    }
    update(common_dir, |entries| {
        entries.retain(|e| !runs.iter().any(|(n, c)| *n == e.name && *c == e.commit));
        entries.extend(runs.iter().map(|(name, commit)| Entry {
            name: name.clone(),
            commit: commit.clone(),
            removed: now,
        }));
        true
    })
}

/// Forgets the runs `(name, commit)`: they are here again. Writes nothing
/// when none of them was remembered.
pub fn forget(common_dir: &Path, runs: &[(String, String)]) -> Result<Option<String>, Error> {
    if runs.is_empty() {
        return Ok(None);
    }
    update(common_dir, |entries| {
        let before = entries.len();
        entries.retain(|e| !runs.iter().any(|(n, c)| *n == e.name && *c == e.commit));
        entries.len() != before
    })
}

/// Reads, changes and rewrites the file under its lock; `change` says whether
/// it changed anything.
fn update(
    common_dir: &Path,
    change: impl FnOnce(&mut Vec<Entry>) -> bool,
) -> Result<Option<String>, Error> {
    let dir = common_dir.join("exp");
    fs_err::create_dir_all(&dir)?;
    let lock = fs_err::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK))?
        .into_parts()
        .0;
    lock.lock()?;
    let (removed, damaged) = read(common_dir);
    let mut entries = removed.entries;
    if !change(&mut entries) && damaged.is_none() {
        return Ok(None);
    }
    if entries.len() > MAX_ENTRIES {
        entries.drain(..entries.len() - MAX_ENTRIES);
    }
    let text = serde_json::to_vec_pretty(&File { format: FORMAT, runs: entries })
        .map_err(std::io::Error::other)?;
    let mut tmp = tempfile::Builder::new().prefix(".removed-").suffix(".tmp").tempfile_in(&dir)?;
    tmp.write_all(&text)?;
    tmp.write_all(b"\n")?;
    tmp.as_file().sync_all()?;
    tmp.persist(path(common_dir)).map_err(|e| e.error)?;
    Ok(damaged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(n, c)| (n.to_string(), c.to_string())).collect()
    }

    #[test]
    fn remembers_by_name_and_commit_and_forgets() {
        let dir = tempfile::tempdir().unwrap();
        let common = dir.path();
        assert!(read(common).0.entries().is_empty());
        assert_eq!(remember(common, &runs(&[("a", "c1"), ("b", "c2")]), 5).unwrap(), None);
        let (removed, damaged) = read(common);
        assert_eq!(damaged, None);
        assert!(removed.contains("a", "c1") && removed.contains("b", "c2"));
        assert!(!removed.contains("a", "c2"), "another commit under that name is another run");
        forget(common, &runs(&[("a", "c1"), ("z", "c9")])).unwrap();
        let (removed, _) = read(common);
        assert!(!removed.contains("a", "c1") && removed.contains("b", "c2"));
        // Remembering again does not duplicate.
        remember(common, &runs(&[("b", "c2")]), 6).unwrap();
        assert_eq!(read(common).0.entries().len(), 1);
        assert_eq!(read(common).0.entries()[0].removed, 6);
    }

    #[test]
    fn keeps_only_the_newest_entries() {
        let dir = tempfile::tempdir().unwrap();
        let many: Vec<(String, String)> =
            (0..MAX_ENTRIES + 5).map(|i| (format!("r{i}"), format!("{i:040x}"))).collect();
        remember(dir.path(), &many, 1).unwrap();
        let (removed, _) = read(dir.path());
        assert_eq!(removed.entries().len(), MAX_ENTRIES);
        assert!(!removed.contains("r4", &format!("{:040x}", 4)));
        assert!(removed.contains("r5", &format!("{:040x}", 5)));
        let last = MAX_ENTRIES + 4;
        assert!(removed.contains(&format!("r{last}"), &format!("{last:040x}")));
    }

    #[test]
    fn a_damaged_file_reads_as_empty_with_the_reason_and_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let common = dir.path();
        fs_err::create_dir_all(common.join("exp")).unwrap();
        for bad in [&b"{not json"[..], b"{\"format\": 7, \"runs\": []}", b"\xff\xfe", b"[]"] {
            fs_err::write(path(common), bad).unwrap();
            let (removed, damaged) = read(common);
            assert!(removed.entries().is_empty());
            assert!(damaged.unwrap().contains("removed.json is damaged"));
        }
        let damaged = remember(common, &runs(&[("a", "c1")]), 1).unwrap();
        assert!(damaged.is_some());
        let (removed, damaged) = read(common);
        assert_eq!(damaged, None);
        assert!(removed.contains("a", "c1"));
        // No temporary file is left behind.
        let names: Vec<String> = fs_err::read_dir(common.join("exp"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    }
}
