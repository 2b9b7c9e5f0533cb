//! Which files a run keeps, and under which names: the live run's
//! `artifacts/` directory, the paths and globs given with `-a/--artifact`, and
//! the files named by `_artifact` events. Nothing is read here but directory
//! listings and file types; storing is `super::local`'s job.
//!
//! Symbolic links met while walking a directory or matching a glob are not
//! followed (they are listed as skipped); a path given literally with `-a` is
//! followed when it is a link, as `cp -H` and `find -H` do with the paths on
//! their command line: naming it is asking for what it points to.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use glob::{MatchOptions, Pattern};

use super::local::Origin;
use super::{clean_name, Skipped};
use crate::artifacts::ArtifactRef;
use crate::store::code::{self, Kept};

/// Files to keep by name in the run: where each is, and who owns it.
pub type Wanted = BTreeMap<String, (PathBuf, Origin)>;

/// How `-a` globs match: `*`, `?` and `[...]` stay within one path component,
/// `**` spans any number of them, and a leading `.` must be written (as in a shell).
const MATCH: MatchOptions = MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: true,
};

/// Whether `arg` is a glob rather than a plain path.
pub fn is_glob(arg: &str) -> bool {
    arg.contains(['*', '?', '['])
}

/// Checks an `-a` argument before the run starts; returns why it is refused.
pub fn check_arg(arg: &str) -> Result<(), String> {
    if arg.is_empty() {
        return Err("an empty path".into());
    }
    if is_glob(arg) {
        Pattern::new(arg).map_err(|e| format!("not a valid glob: {}", e.msg))?;
    }
    Ok(())
}

/// Adds every regular file under `dir` as `prefix/relative path`; symbolic
/// links and other special files are skipped, `.git` directories too.
pub fn walk(
    dir: &Path,
    prefix: &str,
    origin: Origin,
    wanted: &mut Wanted,
    skipped: &mut Vec<Skipped>,
) {
    let Ok(entries) = fs_err::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let file = entry.file_name().to_string_lossy().into_owned();
        let name = if prefix.is_empty() { file.clone() } else { format!("{prefix}/{file}") };
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() && file.eq_ignore_ascii_case(".git") {
            skipped.push(Skipped { path: name, reason: "'.git' is not allowed".into() });
        } else if kind.is_dir() {
            walk(&entry.path(), &name, origin, wanted, skipped);
        } else if kind.is_file() {
            match clean_name(&name) {
                Ok(n) => {
                    wanted.insert(n, (entry.path(), origin));
                }
                Err(reason) => skipped.push(Skipped { path: name, reason: reason.into() }),
            }
        } else if kind.is_symlink() {
            skipped.push(Skipped { path: name, reason: "a symbolic link (not followed)".into() });
        } else {
            skipped.push(Skipped { path: name, reason: "not a regular file".into() });
        }
    }
}

/// Adds the files named by `_artifact` events (relative paths are resolved
/// against `base`). Their default name is the file name.
pub fn events(base: &Path, refs: &[ArtifactRef], wanted: &mut Wanted, skipped: &mut Vec<Skipped>) {
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
            Ok(m) if m.is_dir() => walk(&path, &name, Origin::User, wanted, skipped),
            Ok(m) if m.is_file() => {
                wanted.insert(name, (path, Origin::User));
            }
            Ok(_) => skipped.push(Skipped { path: name, reason: "not a regular file".into() }),
            Err(_) => skipped
                .push(Skipped { path: name, reason: format!("{} does not exist", path.display()) }),
        }
    }
}

/// Adds the files of the `-a` arguments: paths and globs relative to `base`,
/// the directory git-exp was started in. A file is named by its path relative
/// to `base` when it lies inside it, else by its file name; a directory brings
/// its files under its own name.
pub fn args(base: &Path, args: &[String], wanted: &mut Wanted, skipped: &mut Vec<Skipped>) {
    for arg in args {
        if is_glob(arg) && glob(base, arg, wanted, skipped) {
            continue;
        }
        // A plain path, or a glob that matched nothing but names a file as it is.
        let path = base.join(arg);
        let found = match fs_err::symlink_metadata(&path) {
            // Named explicitly: a link is followed (as `cp -H` does).
            Ok(m) if m.is_symlink() => fs_err::metadata(&path).ok(),
            Ok(m) => Some(m),
            Err(_) => None,
        };
        match found {
            Some(m) => add(base, &path, m.is_dir(), m.is_file(), wanted, skipped),
            None if is_glob(arg) => skipped
                .push(Skipped { path: arg.clone(), reason: "the glob matches no file".into() }),
            None => skipped
                .push(Skipped { path: arg.clone(), reason: "no such file or directory".into() }),
        }
    }
}

/// Adds one `-a` match: a directory's files, or a file.
fn add(
    base: &Path,
    path: &Path,
    is_dir: bool,
    is_file: bool,
    wanted: &mut Wanted,
    skipped: &mut Vec<Skipped>,
) {
    let name = name_for(base, path);
    if is_dir {
        // The starting directory itself (`-a .`) adds its files without a prefix.
        let prefix = match name.as_deref() {
            None | Some("") => String::new(),
            Some(n) => match clean_name(n) {
                Ok(n) => n,
                Err(reason) => {
                    skipped.push(Skipped {
                        path: n.to_owned(),
                        reason: format!("bad name: {reason}"),
                    });
                    return;
                }
            },
        };
        walk(path, &prefix, Origin::User, wanted, skipped);
        return;
    }
    let name = name.unwrap_or_default();
    match clean_name(&name) {
        Ok(_) if !is_file => {
            skipped.push(Skipped { path: name, reason: "not a regular file".into() })
        }
        Ok(n) => {
            wanted.insert(n, (path.to_path_buf(), Origin::User));
        }
        Err(reason) => skipped.push(Skipped { path: name, reason: format!("bad name: {reason}") }),
    }
}

/// Expands one glob: walks from its longest literal leading directory,
/// without following symbolic links, matching every path on the way. Returns
/// whether anything matched.
fn glob(base: &Path, arg: &str, wanted: &mut Wanted, skipped: &mut Vec<Skipped>) -> bool {
    let found = match glob_matches(base, arg) {
        Ok(found) => found,
        Err(reason) => {
            skipped.push(Skipped { path: arg.to_owned(), reason: reason.into() });
            return true;
        }
    };
    for (path, kind) in &found {
        if kind.is_symlink() {
            let name = name_for(base, path).unwrap_or_default();
            skipped.push(Skipped { path: name, reason: "a symbolic link (not followed)".into() });
        } else {
            add(base, path, kind.is_dir(), kind.is_file(), wanted, skipped);
        }
    }
    !found.is_empty()
}

/// The paths one glob matches now (a matched directory is not entered), or
/// why it cannot be matched.
fn glob_matches(base: &Path, arg: &str) -> Result<Vec<(PathBuf, std::fs::FileType)>, &'static str> {
    // Components without `.` or empty parts; the literal ones lead to the root.
    let parts: Vec<&str> = arg.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    let literal = parts.iter().take_while(|p| !is_glob(p)).count();
    let mut root = if arg.starts_with('/') { PathBuf::from("/") } else { base.to_path_buf() };
    root.extend(&parts[..literal]);
    let rest = &parts[literal..];
    let root_text = root.to_str().ok_or("the path is not UTF-8")?;
    // The walk yields `root/...`: the pattern is the escaped root, then the glob.
    let text = format!("{}/{}", Pattern::escape(root_text.trim_end_matches('/')), rest.join("/"));
    let pattern = Pattern::new(&text).map_err(|_| "not a valid glob")?;
    let depth = if rest.contains(&"**") { usize::MAX } else { rest.len() };
    let mut found = Vec::new();
    matches(&root, &pattern, depth, &mut found);
    Ok(found)
}

/// The working-tree paths that the `-a` arguments name now, for leaving them
/// out of the run's `code` tree: each literal path that exists (and, for a
/// symbolic link, what it points to), and each file and directory a glob
/// matches. Directories are not walked: a kept directory stands for all that
/// is under it. Paths outside `root` (the working tree) are dropped.
pub fn in_worktree(root: &Path, base: &Path, args: &[String]) -> Vec<Kept> {
    let mut paths = Vec::new();
    for arg in args {
        if is_glob(arg) {
            match glob_matches(base, arg) {
                Ok(found) if !found.is_empty() => {
                    // Links met by a glob are not kept (not followed), so they stay code.
                    let found = found.into_iter().filter(|(_, kind)| !kind.is_symlink());
                    paths.extend(found.map(|(path, _)| path));
                    continue;
                }
                Ok(_) => {}
                Err(_) => continue,
            }
        }
        let path = base.join(arg);
        let Ok(meta) = fs_err::symlink_metadata(&path) else { continue };
        if meta.is_symlink() {
            paths.extend(fs_err::canonicalize(&path).ok());
        }
        paths.push(path);
    }
    let canonical_root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let mut kept: Vec<Kept> = paths
        .iter()
        .filter_map(|path| {
            let rel = relative(root, path).or_else(|| relative(&canonical_root, path))?;
            let dir = fs_err::symlink_metadata(path).is_ok_and(|m| m.is_dir());
            Some(Kept { path: rel, dir, reason: code::KEPT_AS_ARTIFACT })
        })
        .collect();
    kept.sort_by(|a, b| a.path.cmp(&b.path));
    kept.dedup_by(|a, b| a.path == b.path);
    kept
}

/// `path` relative to `root`, `/`-separated (empty for `root` itself): by its
/// text, else with its parent directory's symbolic links resolved (the
/// directory git-exp was started in may be reached through a link).
fn relative(root: &Path, path: &Path) -> Option<String> {
    let path = normalize(path);
    let rel = match path.strip_prefix(root) {
        Ok(rel) => rel.to_path_buf(),
        Err(_) => {
            let parent = path.parent()?.canonicalize().ok()?;
            let full = match path.file_name() {
                Some(file) => parent.join(file),
                None => parent,
            };
            full.strip_prefix(root).ok()?.to_path_buf()
        }
    };
    let parts: Vec<String> =
        rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    Some(parts.join("/"))
}

/// Collects the paths under `dir` (down to `depth` levels) that `pattern`
/// matches; a matching directory is not entered (it is taken whole).
fn matches(
    dir: &Path,
    pattern: &Pattern,
    depth: usize,
    found: &mut Vec<(PathBuf, std::fs::FileType)>,
) {
    if depth == 0 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let Ok(kind) = entry.file_type() else { continue };
        let path = entry.path();
        if pattern.matches_path_with(&path, MATCH) {
            found.push((path, kind));
        } else if kind.is_dir() && !entry.file_name().eq_ignore_ascii_case(".git") {
            matches(&path, pattern, depth - 1, found);
        }
    }
}

/// The name of `path` in the run: relative to `base` when inside it (`Some("")`
/// for `base` itself), else its file name; `None` when it has neither.
fn name_for(base: &Path, path: &Path) -> Option<String> {
    let (base, path) = (normalize(base), normalize(&base.join(path)));
    match path.strip_prefix(&base) {
        Ok(rel) => Some(rel.to_string_lossy().into_owned()),
        Err(_) => path.file_name().map(|n| n.to_string_lossy().into_owned()),
    }
}

/// `path` with `.` removed and `..` applied to the part before it (without
/// reading the file system).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(root: &Path, files: &[&str]) {
        for f in files {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, f.as_bytes()).unwrap();
        }
    }

    fn expand(base: &Path, list: &[&str]) -> (Vec<String>, Vec<String>) {
        let (mut wanted, mut skipped) = (Wanted::new(), Vec::new());
        let list: Vec<String> = list.iter().map(|s| s.to_string()).collect();
        args(base, &list, &mut wanted, &mut skipped);
        for (path, origin) in wanted.values() {
            assert!(path.is_file() && *origin == Origin::User);
        }
        let skipped = skipped.into_iter().map(|s| format!("{}: {}", s.path, s.reason)).collect();
        (wanted.into_keys().collect(), skipped)
    }

    #[test]
    fn globs_paths_and_directories_expand_to_names() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().join("work");
        tree(
            &base,
            &["out/a.pt", "out/b.pt", "out/.hidden.pt", "out/sub/c.pt", "out/log.txt", "x[1].csv"],
        );
        tree(tmp.path(), &["data/d.bin"]);
        let (names, skipped) = expand(&base, &["out/*.pt"]);
        assert_eq!(names, ["out/a.pt", "out/b.pt"]);
        assert!(skipped.is_empty());
        let (names, _) = expand(&base, &["./out/**/*.pt"]);
        assert_eq!(names, ["out/a.pt", "out/b.pt", "out/sub/c.pt"]);
        let (names, _) = expand(&base, &["out/sub", "../data/d.bin", "x[1].csv"]);
        assert_eq!(names, ["d.bin", "out/sub/c.pt", "x[1].csv"]);
        let abs = format!("{}/out/*.txt", base.display());
        let (names, _) = expand(&base, &[&abs, "../data"]);
        assert_eq!(names, ["data/d.bin", "out/log.txt"]);
        let (names, _) = expand(&base, &["."]);
        assert_eq!(names.len(), 6);
        let (names, skipped) = expand(&base, &["*.none", "missing.bin", "out/*.pt"]);
        assert_eq!(names, ["out/a.pt", "out/b.pt"]);
        assert_eq!(
            skipped,
            ["*.none: the glob matches no file", "missing.bin: no such file or directory"]
        );
    }

    #[test]
    fn links_are_followed_only_when_named_literally() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path();
        tree(base, &["ckpt/epoch3.pt", "real/r.bin"]);
        std::os::unix::fs::symlink("epoch3.pt", base.join("ckpt/last.pt")).unwrap();
        std::os::unix::fs::symlink("real", base.join("linked")).unwrap();
        std::os::unix::fs::symlink("nowhere", base.join("dangling")).unwrap();
        let (names, skipped) = expand(base, &["ckpt/*.pt", "ckpt"]);
        assert_eq!(names, ["ckpt/epoch3.pt"]);
        assert_eq!(
            skipped,
            [
                "ckpt/last.pt: a symbolic link (not followed)",
                "ckpt/last.pt: a symbolic link (not followed)"
            ]
        );
        let (names, skipped) = expand(base, &["ckpt/last.pt", "linked", "dangling"]);
        assert_eq!(names, ["ckpt/last.pt", "linked/r.bin"]);
        assert_eq!(skipped, ["dangling: no such file or directory"]);
    }

    #[test]
    fn worktree_paths_are_relative_to_the_root_even_through_a_linked_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("work");
        tree(&root, &["out/a.pt", "out/b.txt", "ckpt/e1/w.bin", "data/x.npy"]);
        tree(tmp.path(), &["outside.bin"]);
        std::os::unix::fs::symlink("data/x.npy", root.join("last.npy")).unwrap();
        std::os::unix::fs::symlink("work", tmp.path().join("link")).unwrap();
        let base = tmp.path().join("link");
        let args: Vec<String> = ["out/*.pt", "ckpt", "last.npy", "missing", "../outside.bin"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let kept: Vec<(String, bool)> =
            in_worktree(&root, &base, &args).into_iter().map(|k| (k.path, k.dir)).collect();
        let expect =
            [("ckpt", true), ("data/x.npy", false), ("last.npy", false), ("out/a.pt", false)];
        let expect: Vec<(String, bool)> = expect.iter().map(|(p, d)| (p.to_string(), *d)).collect();
        assert_eq!(kept, expect);
    }

    #[test]
    fn bad_names_and_globs_are_refused() {
        assert!(check_arg("out/[").is_err());
        assert!(check_arg("").is_err());
        assert!(check_arg("out/**/*.pt").is_ok());
        let tmp = tempfile::tempdir().unwrap();
        tree(tmp.path(), &[".git/config", "sub/.git/x", "sub/ok"]);
        let (names, skipped) = expand(tmp.path(), &[".git/config", "sub"]);
        assert_eq!(names, ["sub/ok"]);
        assert_eq!(
            skipped,
            [".git/config: bad name: '.git' is not allowed", "sub/.git: '.git' is not allowed"]
        );
    }
}
