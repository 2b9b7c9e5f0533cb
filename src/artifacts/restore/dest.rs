//! Where a restore writes, and whether it may: the destination of each
//! artifact, which symbolic links are followed (the user's, not a run's), and
//! which existing files may be replaced (regular files, with --force).

use super::*;

/// Where a restore writes: each file at `root/<rel>`.
pub(super) struct Plan<'a> {
    pub(super) root: PathBuf,
    pub(super) root_kind: RootKind,
    pub(super) files: Vec<(&'a Entry, String)>,
}

/// What the root of a restore is, which decides how it is checked.
#[derive(Clone, Copy)]
pub(super) enum RootKind {
    /// The current directory, or the parent of a file named with -o: used as is.
    AsIs,
    /// A directory named with -o: the user's own, so a symbolic link to a
    /// directory there is followed, as `cp FILE LINK` does.
    Named,
    /// A directory named after the artifact (`get RUN models`): the name
    /// comes from the run, so it must not be a symbolic link.
    FromRun,
}

/// The destination of each entry: a directory goes to -o or to its last
/// name in the current directory; a file to -o (inside it when it is an
/// existing directory or ends with `/`) or to its file name.
pub(super) fn plan<'a>(
    output: Option<&Path>,
    cwd: &Path,
    wanted: &str,
    entries: &[&'a Entry],
    is_dir: bool,
) -> Result<Plan<'a>, Error> {
    let base = wanted.rsplit('/').next().unwrap_or(wanted);
    // Without a trailing `/`, which would make the checks below follow a link.
    let named = output.map(|o| cwd.join(o).components().collect::<PathBuf>());
    if is_dir {
        let skip = wanted.len() + 1;
        let files = entries.iter().map(|e| (*e, e.path[skip..].to_owned())).collect();
        let (root, root_kind) = match named {
            Some(root) => (root, RootKind::Named),
            None => (cwd.join(base), RootKind::FromRun),
        };
        return Ok(Plan { root, root_kind, files });
    }
    let inside = |root: PathBuf, root_kind| Plan {
        root,
        root_kind,
        files: vec![(entries[0], base.to_owned())],
    };
    let Some(target) = named else { return Ok(inside(cwd.to_path_buf(), RootKind::AsIs)) };
    let as_dir = output.is_some_and(|o| o.to_string_lossy().ends_with('/'));
    // Followed: the user's link to a directory is where to write.
    if as_dir || target.metadata().is_ok_and(|m| m.is_dir()) {
        return Ok(inside(target, RootKind::Named));
    }
    let target = follow_named_file(target)?;
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned());
    let Some(name) = name.filter(|n| clean_name(n).as_deref() == Ok(n.as_str())) else {
        return Err(Error::BadDestination(shown(target.display())));
    };
    let root = target.parent().map_or_else(|| cwd.to_path_buf(), Path::to_path_buf);
    Ok(Plan { root, root_kind: RootKind::AsIs, files: vec![(entries[0], name)] })
}

/// The file to write for `-o LINK` when LINK is a symbolic link (not to a
/// directory): its target, as `cp FILE LINK` writes, for replacing the link
/// could replace a system one (`-o /dev/stdout --force` as root). Any other
/// path is returned as is.
pub(super) fn follow_named_file(target: PathBuf) -> Result<PathBuf, Error> {
    if !target.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink()) {
        return Ok(target);
    }
    let refuse = |what: String| Error::LinkRefused { path: shown(target.display()), what };
    match target.metadata() {
        // Fails only when the link changes meanwhile.
        Ok(m) if m.is_file() => fs_err::canonicalize(&target)
            .map_err(|e| Error::CannotFollow { path: shown(target.display()), kind: e.kind() }),
        Ok(m) => Err(refuse(kind(&m.file_type()).to_owned())),
        Err(_) => Err(refuse("nothing".to_owned())),
    }
}

/// Checks, before anything is written, that every file of the plan can be
/// written: no symbolic link or file where a directory goes, nothing but a
/// file (or a link) where a file goes, and no existing file unless `force`.
pub(super) fn check_destination(plan: &Plan, force: bool) -> Result<(), Error> {
    let root_exists = match plan.root_kind {
        RootKind::AsIs => true,
        RootKind::Named => existing_named_dir(&plan.root)?,
        RootKind::FromRun => existing_dir(&plan.root)?,
    };
    for (_, rel) in &plan.files {
        let parts: Vec<&str> = rel.split('/').collect();
        let (name, dirs) = parts.split_last().expect("clean names have a part");
        let mut path = plan.root.clone();
        let mut exists = root_exists;
        for part in dirs {
            if !exists {
                break;
            }
            path.push(part);
            exists = existing_dir(&path)?;
        }
        if !exists {
            continue;
        }
        path.push(name);
        replaceable(&path, force)?;
    }
    Ok(())
}

/// Whether the file at `path` may be written: nothing there, or, with
/// `force`, a regular file or a symbolic link (replaced itself) to one or to
/// nothing. Never a directory, device, FIFO or socket, nor a link to one:
/// `-o /dev/null --force` must not replace the device.
pub(super) fn replaceable(path: &Path, force: bool) -> Result<(), Error> {
    let Ok(meta) = path.symlink_metadata() else { return Ok(()) };
    let what = if meta.file_type().is_symlink() {
        match path.metadata() {
            Ok(target) if !target.is_file() => {
                Some(format!("a symbolic link to {}", kind(&target.file_type())))
            }
            _ => None,
        }
    } else if meta.is_file() {
        None
    } else {
        Some(kind(&meta.file_type()).to_owned())
    };
    match what {
        Some(what) if meta.is_dir() => Err(Error::IsDir { path: shown(path.display()), what }),
        Some(what) => Err(Error::NotRegular { path: shown(path.display()), what }),
        None if force => Ok(()),
        None => Err(Error::Exists(shown(path.display()))),
    }
}

/// What a file that is not a regular one is, for a message.
pub(super) fn kind(file_type: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_file() {
        "a regular file"
    } else {
        "an unknown kind of file"
    }
}

/// Whether the directory named with -o exists; a symbolic link to a
/// directory counts (the user made it), one to anything else is an error.
pub(super) fn existing_named_dir(path: &Path) -> Result<bool, Error> {
    let is_link = path.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink());
    if !is_link {
        return existing_dir(path);
    }
    match path.metadata() {
        Ok(m) if m.is_dir() => Ok(true),
        Ok(m) => {
            Err(Error::LinkNotToDir { path: shown(path.display()), what: kind(&m.file_type()) })
        }
        Err(e) => Err(Error::LinkUnfollowable { path: shown(path.display()), kind: e.kind() }),
    }
}

/// Whether a directory to write into exists; an error when it is a symbolic
/// link (never followed) or not a directory.
pub(super) fn existing_dir(path: &Path) -> Result<bool, Error> {
    match path.symlink_metadata() {
        Ok(m) if m.file_type().is_symlink() => Err(Error::DirIsLink(shown(path.display()))),
        Ok(m) if m.is_dir() => Ok(true),
        Ok(_) => Err(Error::NotADir(shown(path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(Error::CannotCheck { path: shown(path.display()), error }),
    }
}
