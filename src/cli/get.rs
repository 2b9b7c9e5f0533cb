//! `git exp artifacts RUN` and `git exp get RUN PATH`: listing a run's
//! artifacts and restoring them, verified by hash, from the run's tree (inline
//! ones), the local store, or the remote store when the local copy is missing
//! or damaged.
//!
//! Paths in a run may come from someone else (a fetched run): a path is only
//! used if it is a clean relative name, and restoring never writes outside the
//! destination: no `..`, no absolute paths, no following of symbolic links
//! found under it. Files appear whole (written to a temporary name, then
//! renamed) and existing files are kept unless `--force`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use sha2::{Digest, Sha256};

use super::output::{self, FormatArgs, OutputFormat};
use super::progress::Bar;
use super::{CliError, Context};
use crate::artifacts::remote::{self, Object, Remote, Settings};
use crate::artifacts::{clean_name, store_path};
use crate::store::format::{files, Entry, Storage};
use crate::store::repo::Detail;
use crate::store::Store;
use crate::util::{hex, human_bytes};

/// List a run's artifacts
#[derive(Debug, Args)]
pub struct ArtifactsArgs {
    /// The run: a name, a unique prefix of a name, id or commit, `@`, `@~N`
    #[arg(default_value = "@")]
    pub run: String,
    /// Output format and --json
    #[command(flatten)]
    pub format: FormatArgs,
}

/// Restore a run's artifact, verified by its hash
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The run: a name, a unique prefix of a name, id or commit, `@`, `@~N`
    pub run: String,
    /// The artifact's path in the run, or a directory of artifacts
    pub path: String,
    /// Where to write it: a file, an existing directory, or `-` for stdout
    /// (default: its file name in the current directory)
    #[arg(short, long, value_name = "DEST")]
    pub output: Option<PathBuf>,
    /// Replace existing files
    #[arg(short, long)]
    pub force: bool,
    /// The git remote whose artifact store to fetch from (default: exp.artifacts.url, else origin's)
    #[arg(long, value_name = "REMOTE")]
    pub remote: Option<String>,
    /// No status lines or progress bar
    #[arg(short, long)]
    pub quiet: bool,
}

/// One row of `git exp artifacts`.
#[derive(Debug, serde::Serialize)]
struct Row<'a> {
    path: &'a str,
    size: u64,
    sha256: &'a str,
    media_type: &'a str,
    storage: Storage,
    /// Whether the content is here (inline ones always are).
    local: bool,
}

/// Runs `git exp artifacts`.
pub fn cmd_artifacts(
    args: ArtifactsArgs,
    ctx: &Context,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    let store = ctx.open_store(err)?;
    let run = store.resolve(&args.run, Detail::Listing)?;
    let file = store.run_artifacts(&run.name, &run.commit)?;
    let rows: Vec<Row> = file
        .artifacts
        .iter()
        .map(|e| Row {
            path: &e.path,
            size: e.size,
            sha256: &e.sha256,
            media_type: &e.media_type,
            storage: e.storage,
            local: e.storage == Storage::Inline
                || remote::local_path(store.common_dir(), &e.sha256).is_some_and(|p| p.exists()),
        })
        .collect();
    let format = args.format.resolve();
    if format == OutputFormat::Json {
        #[derive(serde::Serialize)]
        struct Listing<'a> {
            run: &'a str,
            commit: &'a str,
            artifacts: Vec<Row<'a>>,
            skipped: &'a [crate::store::format::Skipped],
        }
        let listing =
            Listing { run: &run.name, commit: &run.commit, artifacts: rows, skipped: &file.skipped };
        output::write_json(out, &listing)?;
        return Ok(());
    }
    let header: Vec<String> =
        ["path", "size", "storage", "here", "sha256", "type"].map(String::from).into();
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                output::sanitize(r.path),
                if format == OutputFormat::Table { human_bytes(r.size) } else { r.size.to_string() },
                match r.storage {
                    Storage::Inline => "inline".into(),
                    Storage::Store => "store".into(),
                },
                if r.local { "yes".into() } else { "no".into() },
                if format == OutputFormat::Table {
                    r.sha256.get(..12).unwrap_or(r.sha256).to_owned()
                } else {
                    r.sha256.to_owned()
                },
                output::sanitize(r.media_type),
            ]
        })
        .collect();
    match format {
        OutputFormat::Csv => output::write_csv(out, &header, &table)?,
        OutputFormat::Markdown => output::write_markdown(out, &header, &table)?,
        _ => {
            if table.is_empty() {
                writeln!(err, "Run {} has no artifacts.", run.name)?;
            } else {
                output::write_table(out, &ctx.ui, &header, &table)?;
            }
            for s in &file.skipped {
                writeln!(
                    err,
                    "not kept: {}: {}",
                    output::sanitize(&s.path),
                    output::sanitize(&s.reason)
                )?;
            }
        }
    }
    Ok(())
}

/// Runs `git exp get`.
pub fn cmd_get(
    args: GetArgs,
    ctx: &Context,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    let store = ctx.open_store(err)?;
    let run = store.resolve(&args.run, Detail::Listing)?;
    let file = store.run_artifacts(&run.name, &run.commit)?;
    let wanted = clean_name(&args.path).map_err(|reason| {
        CliError::usage(format!("bad artifact path '{}': {reason}", args.path))
    })?;
    // The file itself, else every file under it as a directory.
    let dir_prefix = format!("{wanted}/");
    let (entries, is_dir): (Vec<&Entry>, bool) =
        match file.artifacts.iter().find(|e| e.path == wanted) {
            Some(e) => (vec![e], false),
            None => (file.artifacts.iter().filter(|e| e.path.starts_with(&dir_prefix)).collect(), true),
        };
    if entries.is_empty() {
        let known: Vec<&str> = file.artifacts.iter().take(5).map(|e| e.path.as_str()).collect();
        return Err(CliError::user(format!("run {} has no artifact '{wanted}'", run.name)).hint(
            if known.is_empty() {
                "it has no artifacts".to_owned()
            } else {
                format!("`git exp artifacts {}` lists them (e.g. {})", run.name, known.join(", "))
            },
        ));
    }
    // Fetched runs are untrusted: every path must be a clean relative name.
    for e in &entries {
        if clean_name(&e.path).as_deref() != Ok(e.path.as_str()) || !entry_is_sane(e) {
            return Err(CliError::user(format!(
                "run {} lists an unsafe artifact entry '{}'; nothing was written",
                run.name,
                output::sanitize(&e.path)
            )));
        }
    }
    let base_name = |p: &str| p.rsplit('/').next().unwrap_or(p).to_owned();
    let to_stdout = args.output.as_deref() == Some(Path::new("-"));
    if to_stdout && is_dir {
        return Err(CliError::usage(format!("'{wanted}' is a directory of artifacts; -o - takes one file")));
    }
    // (artifact, destination directory, file name under it)
    let dest_root: PathBuf;
    let mut plan: Vec<(&Entry, String)> = Vec::new();
    if is_dir {
        dest_root = match &args.output {
            Some(o) => ctx.cwd.join(o),
            None => ctx.cwd.join(base_name(&wanted)),
        };
        for e in &entries {
            plan.push((e, e.path[dir_prefix.len()..].to_owned()));
        }
    } else {
        let target = match &args.output {
            Some(o) if !to_stdout => ctx.cwd.join(o),
            _ => ctx.cwd.join(base_name(&wanted)),
        };
        if target.is_dir() {
            dest_root = target;
            plan.push((entries[0], base_name(&wanted)));
        } else {
            let name = target.file_name().map(|n| n.to_string_lossy().into_owned());
            let Some(name) = name.filter(|n| clean_name(n).as_deref() == Ok(n.as_str())) else {
                return Err(CliError::usage(format!("bad destination {}", target.display())));
            };
            dest_root = target.parent().map(Path::to_path_buf).unwrap_or_else(|| ctx.cwd.clone());
            plan.push((entries[0], name));
        }
    }
    if !to_stdout && !args.force {
        for (_, rel) in &plan {
            let dest = dest_root.join(rel);
            if dest.symlink_metadata().is_ok() {
                return Err(CliError::user(format!("{} exists", dest.display()))
                    .hint("use --force to replace it, or -o to write elsewhere"));
            }
        }
    }

    // Store artifacts whose local copy is missing or damaged come from the remote store.
    let mut fetcher = Fetcher { store: &store, ctx, remote: args.remote.as_deref(), open: None };
    let mut written = 0u64;
    for (entry, rel) in &plan {
        let bytes_source = content(&store, &run.commit, entry, &mut fetcher, args.quiet, err)?;
        if to_stdout {
            copy_verified(bytes_source, entry, out)?;
        } else {
            write_into(&dest_root, rel, entry, bytes_source, args.force)?;
            if !args.quiet {
                writeln!(err, "Restored {} ({}).", dest_root.join(rel).display(), human_bytes(entry.size))?;
            }
        }
        written += entry.size;
    }
    if !args.quiet && plan.len() > 1 {
        writeln!(err, "Restored {} artifacts ({}).", plan.len(), human_bytes(written))?;
    }
    Ok(())
}

/// Fields of an entry from a fetched run are checked before use.
fn entry_is_sane(e: &Entry) -> bool {
    remote::is_sha256(&e.sha256)
}

/// Where an artifact's bytes come from.
enum Source {
    Bytes(Vec<u8>),
    File(PathBuf),
}

/// Opens the remote store on first need.
struct Fetcher<'a> {
    store: &'a Store,
    ctx: &'a Context,
    remote: Option<&'a str>,
    open: Option<Remote>,
}

impl Fetcher<'_> {
    fn remote(&mut self) -> Result<&Remote, CliError> {
        if self.open.is_none() {
            let settings = match self.remote {
                Some(r) => Settings::for_remote(self.store, Some(r), &self.ctx.vars),
                None => Settings::for_remote(self.store, None, &self.ctx.vars).or_else(|| {
                    let names = self.store.remote_names();
                    let with_store: Vec<&String> = names
                        .iter()
                        .filter(|n| {
                            self.store
                                .config_string(&format!("remote.{n}.{}", remote::REMOTE_KEY))
                                .is_some()
                        })
                        .collect();
                    let pick = with_store
                        .iter()
                        .find(|n| n.as_str() == "origin")
                        .or(if with_store.len() == 1 { with_store.first() } else { None });
                    pick.and_then(|r| Settings::for_remote(self.store, Some(r), &self.ctx.vars))
                }),
            };
            let settings = settings.ok_or_else(|| {
                CliError::user("no artifact store is configured to fetch it from").hint(
                    "set one with `git config exp.artifacts.url s3://BUCKET/PREFIX` (or remote.NAME.expArtifacts), or pull it where it was made",
                )
            })?;
            self.open = Some(Remote::open(&settings)?);
        }
        Ok(self.open.as_ref().expect("opened above"))
    }
}

/// The verified source of one artifact's bytes.
fn content(
    store: &Store,
    commit: &str,
    entry: &Entry,
    fetcher: &mut Fetcher,
    quiet: bool,
    err: &mut dyn Write,
) -> Result<Source, CliError> {
    if entry.storage == Storage::Inline {
        let path = format!("{}/{}", files::ARTIFACTS_DIR, entry.path);
        let bytes = store.read_run_path(commit, &path)?.ok_or_else(|| {
            CliError::user(format!("the run's tree has no {path}; the run is damaged"))
        })?;
        verify(&bytes, entry).map_err(|m| {
            CliError::user(format!("inline artifact {} is damaged: {m}", entry.path))
        })?;
        return Ok(Source::Bytes(bytes));
    }
    let local = store_path(store.common_dir(), &entry.sha256);
    match check_file(&local, entry) {
        Ok(()) => return Ok(Source::File(local)),
        Err(None) => {}
        Err(Some(problem)) => {
            writeln!(
                err,
                "warning: the local copy of {} is damaged ({problem}); fetching it again",
                entry.path
            )?;
            // Read-only, but its directory is ours: remove it so the good copy can land.
            fs_err::remove_file(&local)?;
        }
    }
    let remote = fetcher.remote()?;
    let object = Object { sha256: entry.sha256.clone(), size: entry.size };
    let bar = Bar::new(entry.size, "Downloading", quiet);
    let transfer = remote.download(store.common_dir(), std::slice::from_ref(&object), &bar);
    drop(bar);
    if let Some(f) = transfer.failed.first() {
        return Err(CliError::user(format!(
            "cannot fetch {} from {}: {}",
            entry.path,
            remote.url(),
            f.message
        )));
    }
    Ok(Source::File(local))
}

/// `Ok` when the file at `path` has the entry's content; `Err(None)` when it
/// is missing, `Err(Some(why))` when it differs.
fn check_file(path: &Path, entry: &Entry) -> Result<(), Option<String>> {
    let file = match fs_err::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(None),
        Err(e) => return Err(Some(e.to_string())),
    };
    let mut file = file;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| Some(e.to_string()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    compare(&hex(&hasher.finalize()), size, entry).map_err(Some)
}

fn verify(bytes: &[u8], entry: &Entry) -> Result<(), String> {
    compare(&hex(&Sha256::digest(bytes)), bytes.len() as u64, entry)
}

fn compare(sha256: &str, size: u64, entry: &Entry) -> Result<(), String> {
    if size != entry.size {
        Err(format!("{size} bytes, the run says {}", entry.size))
    } else if sha256 != entry.sha256 {
        Err(format!("its content hashes to {sha256}"))
    } else {
        Ok(())
    }
}

/// Copies a source to `out`, hashing on the way; the hash was checked
/// already, this guards against the file changing meanwhile.
fn copy_verified(source: Source, entry: &Entry, out: &mut dyn Write) -> Result<(), CliError> {
    match source {
        Source::Bytes(bytes) => out.write_all(&bytes)?,
        Source::File(path) => {
            let mut file = fs_err::File::open(&path)?;
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; 1 << 20];
            let mut size = 0u64;
            loop {
                let n = file.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                out.write_all(&buf[..n])?;
                size += n as u64;
            }
            compare(&hex(&hasher.finalize()), size, entry).map_err(|m| {
                CliError::user(format!("{} changed while it was read: {m}", entry.path))
            })?;
        }
    }
    Ok(())
}

/// Writes one artifact to `root/rel`: directories created one by one (none
/// may be a symbolic link), the file written under a temporary name in its
/// directory, verified, then renamed into place.
fn write_into(
    root: &Path,
    rel: &str,
    entry: &Entry,
    source: Source,
    force: bool,
) -> Result<(), CliError> {
    let unsafe_dest = |p: &Path| {
        CliError::user(format!("{} is a symbolic link; refusing to write through it", p.display()))
    };
    fs_err::create_dir_all(root)?;
    let mut dir = root.to_path_buf();
    let parts: Vec<&str> = rel.split('/').collect();
    for part in &parts[..parts.len() - 1] {
        dir.push(part);
        match dir.symlink_metadata() {
            Ok(m) if m.file_type().is_symlink() => return Err(unsafe_dest(&dir)),
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(CliError::user(format!("{} exists and is not a directory", dir.display())))
            }
            Err(_) => fs_err::create_dir(&dir)?,
        }
    }
    let dest = dir.join(parts[parts.len() - 1]);
    if let Ok(m) = dest.symlink_metadata() {
        if m.is_dir() {
            return Err(CliError::user(format!("{} is a directory", dest.display())));
        }
        if !force {
            return Err(CliError::user(format!("{} exists", dest.display()))
                .hint("use --force to replace it"));
        }
    }
    // Mode 0666 less the umask, as any new file.
    let mut tmp = tempfile::Builder::new()
        .prefix(".git-exp-get")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
        .tempfile_in(&dir)?;
    copy_verified(source, entry, tmp.as_file_mut())?;
    tmp.as_file().sync_all()?;
    // rename replaces a symbolic link itself, never its target.
    tmp.persist(&dest).map_err(|e| CliError::from(e.error))?;
    Ok(())
}
