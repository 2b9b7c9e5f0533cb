//! Reading the machine: the process variables the caller passed in, small
//! files, and programs on `PATH`. Shared by the manifest and its probes; knows
//! nothing of either.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The last value of a variable in `vars`.
pub(crate) fn var<'a>(vars: &'a [(String, String)], name: &str) -> Option<&'a str> {
    vars.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// `s` without surrounding white space, or `None` when nothing is left.
pub(crate) fn non_empty(s: String) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// The text of a file, or `None` when it cannot be read.
pub(crate) fn read(path: impl AsRef<Path>) -> Option<String> {
    fs_err::read_to_string(path.as_ref()).ok()
}

/// Whether `path` is a file someone may execute.
pub(crate) fn is_executable(path: &Path) -> bool {
    fs_err::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Resolves a program name like the shell does: a name with a `/` is a path,
/// any other is looked up on `path`.
pub(crate) fn find_program(name: &str, path: Option<&str>) -> Option<PathBuf> {
    if name.is_empty() {
        return None;
    }
    if name.contains('/') {
        let p = PathBuf::from(name);
        return is_executable(&p).then_some(p);
    }
    std::env::split_paths(path?)
        .map(|dir| if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir })
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}
