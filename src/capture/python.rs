//! The Python client embedded in the binary (see `build.rs`), unpacked once per
//! client version into `<common git dir>/exp/python/<hash>/` and put on the
//! `PYTHONPATH` of commands, so `import git_exp` works inside `git exp run`
//! without installing anything, and `--wandb` can offer the `wandb` shim.

use std::path::{Path, PathBuf};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/python_files.rs"));
}

/// The directory this binary's client is (or will be) unpacked to.
pub fn client_dir(common_dir: &Path) -> PathBuf {
    common_dir.join("exp").join("python").join(embedded::HASH)
}

/// Where an unpacked client lives.
#[derive(Debug, Clone)]
pub struct Dirs {
    /// Holds the `git_exp` package.
    pub lib: PathBuf,
    /// Holds the top-level `wandb` shim package.
    pub shim: PathBuf,
}

/// Unpacks the embedded client unless this version is already there.
pub fn unpack(common_dir: &Path) -> std::io::Result<Dirs> {
    let root = common_dir.join("exp").join("python");
    let dir = client_dir(common_dir);
    let dirs = Dirs { lib: dir.join("lib"), shim: dir.join("shim") };
    if dir.is_dir() {
        return Ok(dirs);
    }
    // Build under a unique name and rename into place: a directory seen under
    // its final name is complete, and concurrent runs do not disturb each other.
    let tmp = root.join(format!(".new-{}-{}", embedded::HASH, std::process::id()));
    let _ = fs_err::remove_dir_all(&tmp);
    for (name, bytes) in embedded::FILES {
        let path = tmp.join(name);
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent)?;
        }
        fs_err::write(&path, bytes)?;
    }
    fs_err::create_dir_all(tmp.join("lib"))?;
    fs_err::create_dir_all(tmp.join("shim"))?;
    match fs_err::rename(&tmp, &dir) {
        Ok(()) => Ok(dirs),
        // Another run unpacked the same version first.
        Err(_) if dir.is_dir() => {
            let _ = fs_err::remove_dir_all(&tmp);
            Ok(dirs)
        }
        Err(e) => Err(e),
    }
}

/// The command's `PYTHONPATH`: the shim first when asked for (so `import wandb`
/// finds it before an installed wandb), then the user's entries, then the client
/// (so a client the user points PYTHONPATH at wins).
pub fn python_path(dirs: &Dirs, current: Option<&str>, wandb_shim: bool) -> String {
    let mut parts: Vec<String> = Vec::new();
    if wandb_shim {
        parts.push(dirs.shim.display().to_string());
    }
    // Kept as it is: an empty entry means the current directory to Python.
    if let Some(current) = current.filter(|c| !c.is_empty()) {
        parts.push(current.to_owned());
    }
    parts.push(dirs.lib.display().to_string());
    parts.join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpacks_once_and_orders_the_path() {
        let common = tempfile::tempdir().unwrap();
        let dirs = unpack(common.path()).unwrap();
        for (name, bytes) in embedded::FILES {
            assert_eq!(&fs_err::read(dirs.lib.parent().unwrap().join(name)).unwrap(), bytes);
        }
        // A second call reuses the copy.
        let again = unpack(common.path()).unwrap();
        assert_eq!(again.lib, dirs.lib);
        let lib = dirs.lib.display().to_string();
        let shim = dirs.shim.display().to_string();
        assert_eq!(python_path(&dirs, None, false), lib);
        assert_eq!(python_path(&dirs, Some("/a::/b"), true), format!("{shim}:/a::/b:{lib}"));
    }
}
