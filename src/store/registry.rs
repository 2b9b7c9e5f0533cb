//! The registry lock of live runs: `<common git dir>/exp/live/.registry.lock`.
//!
//! A run reserves its name and creates its live directory while holding it
//! (`capture::live`), and `rename` checks the live names and moves the ref while
//! holding it (`store::manage`), so neither can take a name the other has just
//! taken. This module owns only the lock file, not the live directories.

use std::fs::File;
use std::path::Path;

/// Holds the registry lock: while it lives, no other process creates a live run.
pub struct RegistryLock(#[allow(dead_code)] File);

/// Takes the registry lock, waiting for other processes to release it.
pub fn lock(common_dir: &Path) -> std::io::Result<RegistryLock> {
    let dir = common_dir.join("exp").join("live");
    fs_err::create_dir_all(&dir)?;
    let file = fs_err::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(".registry.lock"))?
        .into_parts()
        .0;
    file.lock()?;
    Ok(RegistryLock(file))
}
