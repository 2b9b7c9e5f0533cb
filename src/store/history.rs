//! Questions about the code history that `compare`'s pull-request mode asks:
//! which commits a branch has that its base does not, merge bases, patch ids
//! (to find commits again after a rebase), and diffs between `code` trees.
//! Answered by the user's `git` (always there: git-exp is a git subcommand),
//! which already implements each of them exactly as users know them.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::process::{Command, Stdio};

use super::{Error, Result, Store};

/// Lines changed in one file between two trees.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileStat {
    /// Path (the new path of a rename).
    pub path: String,
    /// Lines added (`None` for binary files).
    pub insertions: Option<u64>,
    /// Lines removed (`None` for binary files).
    pub deletions: Option<u64>,
}

/// Whether `s` is a full hex object id (so it is safe to hand to git as a revision).
pub fn is_object_id(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Store {
    fn git(&self, args: &[&str]) -> Result<Vec<u8>> {
        self.git_with_input(args, None)
    }

    fn git_with_input(&self, args: &[&str], input: Option<&[u8]>) -> Result<Vec<u8>> {
        let out = self.run_git(args, input, Stdio::piped())?;
        if !out.status.success() {
            let msg = String::from_utf8_lossy(&out.stderr);
            let first = msg.lines().next().unwrap_or("").trim_start_matches("fatal: ");
            return Err(Error::git_msg(format!("git {}: {first}", args.first().unwrap_or(&""))));
        }
        Ok(out.stdout)
    }

    /// Runs the user's git in the working tree with `input` on stdin and
    /// stdout captured; stderr captured or passed through, as `stderr` says.
    pub(super) fn run_git(
        &self,
        args: &[&str],
        input: Option<&[u8]>,
        stderr: Stdio,
    ) -> Result<std::process::Output> {
        let mut child = Command::new("git")
            .arg("-C")
            .arg(self.workdir())
            .args(args)
            .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| Error::Git {
                message: "cannot run git".into(),
                source: Some(Box::new(e)),
            })?;
        if let (Some(bytes), Some(mut stdin)) = (input, child.stdin.take()) {
            // git reads everything before it answers; a write error shows up
            // as its exit status.
            let bytes = bytes.to_vec();
            std::thread::spawn(move || {
                let _ = stdin.write_all(&bytes);
            });
        }
        child
            .wait_with_output()
            .map_err(|e| Error::Git { message: "git failed".into(), source: Some(Box::new(e)) })
    }

    /// The commit a revision names (`origin/main`, `HEAD~2`, an id), or an error
    /// that says which revision is unknown.
    pub fn resolve_commit(&self, rev: &str) -> Result<String> {
        let spec = format!("{rev}^{{commit}}");
        match self.git(&["rev-parse", "--verify", "--quiet", "--end-of-options", &spec]) {
            Ok(out) if !out.is_empty() => Ok(String::from_utf8_lossy(&out).trim().to_owned()),
            _ => Err(Error::UnknownRevision { rev: rev.to_owned() }),
        }
    }

    /// Commits reachable from `include` but not from `exclude` (`exclude..include`).
    pub fn commits_between(&self, exclude: &str, include: &str) -> Result<HashSet<String>> {
        let range = format!("{exclude}..{include}");
        let out = self.git(&["rev-list", "--end-of-options", &range])?;
        Ok(String::from_utf8_lossy(&out).lines().map(str::to_owned).collect())
    }

    /// Every commit reachable from any of `revs`.
    pub fn ancestors(&self, revs: &[&str]) -> Result<HashSet<String>> {
        let mut args = vec!["rev-list", "--end-of-options"];
        args.extend_from_slice(revs);
        let out = self.git(&args)?;
        Ok(String::from_utf8_lossy(&out).lines().map(str::to_owned).collect())
    }

    /// The merge base of two commits, if they share history.
    pub fn merge_base(&self, a: &str, b: &str) -> Option<String> {
        let out = self.git(&["merge-base", "--end-of-options", a, b]).ok()?;
        let id = String::from_utf8_lossy(&out).trim().to_owned();
        (!id.is_empty()).then_some(id)
    }

    /// `rev` and its first-parent ancestors, newest first (at most `limit`).
    pub fn first_parents(&self, rev: &str, limit: usize) -> Result<Vec<String>> {
        let max = format!("--max-count={limit}");
        let out = self.git(&["rev-list", "--first-parent", &max, "--end-of-options", rev])?;
        Ok(String::from_utf8_lossy(&out).lines().map(str::to_owned).collect())
    }

    /// Stable patch ids of the commits in `exclude..include`: patch id -> commit.
    pub fn patch_ids_between(
        &self,
        exclude: &str,
        include: &str,
    ) -> Result<HashMap<String, String>> {
        let range = format!("{exclude}..{include}");
        let log =
            self.git(&["log", "-p", "--no-color", "--no-ext-diff", "--end-of-options", &range])?;
        self.patch_ids(&log)
    }

    /// Stable patch id of one commit's change against its first parent.
    pub fn patch_id(&self, commit: &str) -> Option<String> {
        if !is_object_id(commit) {
            return None;
        }
        let show = self.git(&["show", "-p", "--no-color", "--no-ext-diff", commit]).ok()?;
        self.patch_ids(&show).ok()?.into_keys().next()
    }

    fn patch_ids(&self, patches: &[u8]) -> Result<HashMap<String, String>> {
        if patches.is_empty() {
            return Ok(HashMap::new());
        }
        let out = self.git_with_input(&["patch-id", "--stable"], Some(patches))?;
        Ok(String::from_utf8_lossy(&out)
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(patch, commit)| (patch.to_owned(), commit.to_owned()))
            .collect())
    }

    /// Lines changed per file from tree `a` to tree `b` (rename detection on).
    pub fn diff_stat(&self, a: &str, b: &str) -> Result<Vec<FileStat>> {
        if !is_object_id(a) || !is_object_id(b) {
            return Err(Error::git_msg("not a tree id"));
        }
        let out = self.git(&["diff-tree", "-r", "-M", "--numstat", "-z", "--no-ext-diff", a, b])?;
        Ok(parse_numstat_z(&out))
    }

    /// The unified diff from tree `a` to tree `b`.
    pub fn diff_patch(&self, a: &str, b: &str) -> Result<Vec<u8>> {
        if !is_object_id(a) || !is_object_id(b) {
            return Err(Error::git_msg("not a tree id"));
        }
        self.git(&["diff-tree", "-r", "-M", "-p", "--no-color", "--no-ext-diff", a, b])
    }
}

/// Parses `git diff-tree --numstat -z`: `ins\tdel\tpath\0`, or for a rename
/// `ins\tdel\t\0old\0new\0`; binary files have `-` counts.
fn parse_numstat_z(bytes: &[u8]) -> Vec<FileStat> {
    let mut out = Vec::new();
    let mut fields = bytes.split(|b| *b == 0).peekable();
    while let Some(head) = fields.next() {
        let text = String::from_utf8_lossy(head);
        let mut parts = text.splitn(3, '\t');
        let (Some(ins), Some(del), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let path = if path.is_empty() {
            let _old = fields.next();
            fields.next().map(|p| String::from_utf8_lossy(p).into_owned()).unwrap_or_default()
        } else {
            path.to_owned()
        };
        out.push(FileStat { path, insertions: ins.parse().ok(), deletions: del.parse().ok() });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numstat_with_renames_and_binaries() {
        let raw = b"3\t1\tsrc/a.py\0-\t-\tmodel.bin\x000\t0\t\0old.py\0new.py\0";
        let stats = parse_numstat_z(raw);
        assert_eq!(
            stats,
            [
                FileStat { path: "src/a.py".into(), insertions: Some(3), deletions: Some(1) },
                FileStat { path: "model.bin".into(), insertions: None, deletions: None },
                FileStat { path: "new.py".into(), insertions: Some(0), deletions: Some(0) },
            ]
        );
        assert!(is_object_id(&"a".repeat(40)) && !is_object_id("HEAD") && !is_object_id("-x"));
    }
}
