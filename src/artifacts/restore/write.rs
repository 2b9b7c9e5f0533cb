//! Writing restored files: each under a temporary name in its directory,
//! verified, renamed into place; temporary files removed on SIGINT, SIGTERM
//! and SIGHUP, and stale ones left by a killed restore cleaned up.

use super::*;

/// Where temporary files go: `.git-exp-get` and [`TEMP_RANDOM`] random
/// letters and digits, in the directory of the file they become.
pub(super) const TEMP_PREFIX: &str = ".git-exp-get";
/// How many random characters follow [`TEMP_PREFIX`].
pub(super) const TEMP_RANDOM: usize = 6;
/// Age after which a temporary file is taken as left by a restore that ended
/// without cleaning up (killed, crashed, power cut), not one under way.
pub(super) const STALE_TEMP: Duration = Duration::from_secs(3600);

/// Writes a restore's files, one by one.
pub(super) struct Writer<'a> {
    pub(super) store: &'a Store,
    pub(super) commit: &'a str,
    pub(super) force: bool,
    /// The clock, read once, against which temporary files are stale.
    pub(super) now: SystemTime,
    /// Directories already cleared of stale temporary files.
    pub(super) swept: HashSet<PathBuf>,
    /// The temporary file being written, which a signal removes.
    pub(super) pending: Arc<Mutex<Option<PathBuf>>>,
}

impl<'a> Writer<'a> {
    /// A writer that removes its temporary file when SIGINT, SIGTERM or
    /// SIGHUP ends the process; the signal then has its default effect.
    pub(super) fn new(store: &'a Store, commit: &'a str, force: bool, now: SystemTime) -> Self {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let pending: Arc<Mutex<Option<PathBuf>>> = Arc::default();
        // Without handlers (registration failed) the signals end the process
        // as before, leaving the file for a later restore to remove.
        if let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) {
            let pending = Arc::clone(&pending);
            // Never stopped: unregistering would leave the signals ignored, so
            // it handles them until the process ends.
            std::thread::spawn(move || {
                if let Some(signal) = signals.forever().next() {
                    // Held to the end, so no new temporary file appears meanwhile.
                    let slot = pending.lock().unwrap_or_else(PoisonError::into_inner);
                    if let Some(path) = slot.as_ref() {
                        let _ = fs_err::remove_file(path);
                    }
                    // Ends the process (it falls back on abort).
                    let _ = signal_hook::low_level::emulate_default_handler(signal);
                }
            });
        }
        Writer { store, commit, force, now, swept: HashSet::new(), pending }
    }

    /// Runs `f` on the temporary file slot, which no signal handling touches
    /// meanwhile.
    fn with_pending<T>(&self, f: impl FnOnce(&mut Option<PathBuf>) -> T) -> T {
        f(&mut self.pending.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Writes one artifact to `root/rel`: directories created one by one
    /// (none may be a symbolic link), the file written under a temporary name
    /// in its directory, verified, then renamed into place.
    pub(super) fn write(
        &mut self,
        root: &Path,
        rel: &str,
        entry: &Entry,
        source: &Source,
    ) -> Result<(), Error> {
        fs_err::create_dir_all(root)?;
        let mut dir = root.to_path_buf();
        let parts: Vec<&str> = rel.split('/').collect();
        let (name, dirs) = parts.split_last().expect("clean names have a part");
        for part in dirs {
            dir.push(part);
            if !existing_dir(&dir)? {
                fs_err::create_dir(&dir)?;
            }
        }
        let dest = dir.join(name);
        replaceable(&dest, self.force)?;
        if self.swept.insert(dir.clone()) {
            remove_stale_temps(&dir, self.now);
        }
        let mut tmp = self.with_pending(|slot| {
            // Mode 0666 less the umask, as any new file.
            let tmp = tempfile::Builder::new()
                .prefix(TEMP_PREFIX)
                .rand_bytes(TEMP_RANDOM)
                .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
                .tempfile_in(&dir)?;
            *slot = Some(tmp.path().to_path_buf());
            Ok::<_, Error>(tmp)
        })?;
        let written = copy_verified(self.store, self.commit, source, entry, tmp.as_file_mut())
            .and_then(|()| Ok(tmp.as_file().sync_all()?));
        self.with_pending(|slot| {
            *slot = None;
            // On error, dropping `tmp` removes the file.
            written?;
            // rename replaces a symbolic link itself, never its target.
            tmp.persist(&dest).map_err(|e| Error::Io(e.error))?;
            Ok(())
        })
    }
}

/// Removes, best effort, the temporary files in `dir` older than
/// [`STALE_TEMP`]: regular files named exactly as this module names them.
pub(super) fn remove_stale_temps(dir: &Path, now: SystemTime) {
    let Ok(entries) = fs_err::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let ours = name.to_str().and_then(|n| n.strip_prefix(TEMP_PREFIX)).is_some_and(|rest| {
            rest.len() == TEMP_RANDOM && rest.bytes().all(|b| b.is_ascii_alphanumeric())
        });
        let Ok(meta) = entry.path().symlink_metadata() else { continue };
        let age = meta.modified().ok().and_then(|m| now.duration_since(m).ok());
        if ours && meta.is_file() && age.is_some_and(|a| a > STALE_TEMP) {
            let _ = fs_err::remove_file(entry.path());
        }
    }
}
