//! `git exp artifacts RUN` and `git exp get RUN PATH`: listing a run's
//! artifacts and restoring them, verified by hash, from the run's tree (inline
//! ones), the local store, or the remote store when the local copy is missing
//! or damaged.
//!
//! Paths in a run may come from someone else (a fetched run): a path is only
//! used if it is a clean relative name, a hash only if it is one, and
//! restoring never writes outside the destination: no `..`, no absolute
//! paths, no following of symbolic links found under it (nor of a link where
//! a directory named after the artifact goes). The destination the user names
//! with `-o` is trusted: a link there to a directory is written into, as `cp`
//! does. Every artifact is verified and every destination checked before the
//! first file is written; files appear whole (written to a temporary name,
//! then renamed), existing files are kept unless `--force`, and only regular
//! files (or links) are ever replaced, never a directory, device, FIFO or
//! socket. A temporary file is removed when SIGINT, SIGTERM or SIGHUP ends the
//! restore; one left by a harder end is removed by a later restore into its
//! directory once it is an hour old. A local store object is damaged when its
//! content does not hash to its name; it is then removed and fetched again.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use clap::Args;
use sha2::{Digest, Sha256};

mod dest;
mod write;

use dest::{check_destination, existing_dir, plan, replaceable};
use write::Writer;

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
    /// The git remote whose artifact store to fetch from (default: exp.artifacts.url, else the
    /// store of the remote `git fetch` uses, else of the only remote with one); it must be one
    /// of the repository's remotes
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
    let (run, found) = store.resolve(&args.run, Detail::Listing)?;
    super::note_prefix(err, &args.run, &run.name, found);
    let file = store.run_artifacts(&run.name, run.committed()?)?;
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
        let listing = Listing {
            run: &run.name,
            commit: run.committed()?,
            artifacts: rows,
            skipped: &file.skipped,
        };
        output::write_json(out, &listing)?;
        return Ok(());
    }
    let header: Vec<String> =
        ["path", "size", "storage", "here", "sha256", "type"].map(String::from).into();
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                shown(r.path),
                if format == OutputFormat::Table {
                    human_bytes(r.size)
                } else {
                    r.size.to_string()
                },
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
                shown(r.media_type),
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
                writeln!(err, "not kept: {}: {}", shown(&s.path), shown(&s.reason))?;
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
    let wanted = clean_name(&args.path).map_err(|reason| {
        CliError::usage(format!("bad artifact path '{}': {reason}", args.path))
    })?;
    let store = ctx.open_store(err)?;
    if let Some(name) = &args.remote {
        let names = store.remote_names();
        if !names.contains(name) {
            let known = if names.is_empty() { "none".to_owned() } else { names.join(", ") };
            return Err(CliError::user(format!(
                "'{}' is not a configured git remote (remotes: {})",
                shown(name),
                shown(known)
            )));
        }
    }
    let (run, found) = store.resolve(&args.run, Detail::Listing)?;
    super::note_prefix(err, &args.run, &run.name, found);
    let file = store.run_artifacts(&run.name, run.committed()?)?;
    let (entries, is_dir) = select(&file.artifacts, &wanted, &run.name)?;
    let to_stdout = args.output.as_deref() == Some(Path::new("-"));
    if to_stdout && is_dir {
        return Err(CliError::usage(format!(
            "'{wanted}' is a directory of artifacts; -o - takes one file"
        )));
    }
    let plan =
        if to_stdout { None } else { Some(plan(&args, &ctx.cwd, &wanted, &entries, is_dir)?) };
    if let Some(plan) = &plan {
        check_destination(plan, args.force)?;
    }

    // Every artifact is found and verified before anything is written, so a
    // missing or damaged one leaves no partial restore behind.
    let remote = args.remote.clone().or_else(|| store.default_remote(false));
    let mut fetcher = Fetcher {
        store: &store,
        ctx,
        remote: remote.as_deref(),
        explicit: args.remote.is_some(),
        open: None,
    };
    let mut sources = Vec::with_capacity(entries.len());
    for entry in &entries {
        sources.push(content(&store, run.committed()?, entry, &mut fetcher, args.quiet, err)?);
    }
    let Some(plan) = plan else {
        return copy_verified(&store, run.committed()?, &sources[0], entries[0], out);
    };
    let mut writer = Writer::new(&store, run.committed()?, args.force, SystemTime::now());
    let mut written = 0u64;
    for ((entry, rel), source) in plan.files.iter().zip(&sources) {
        writer.write(&plan.root, rel, entry, source)?;
        if !args.quiet {
            let shown_path = plan.root.join(rel);
            writeln!(
                err,
                "Restored {} ({}).",
                shown(shown_path.display()),
                human_bytes(entry.size)
            )?;
        }
        written += entry.size;
    }
    if !args.quiet && plan.files.len() > 1 {
        writeln!(err, "Restored {} artifacts ({}).", plan.files.len(), human_bytes(written))?;
    }
    Ok(())
}

/// The entries `wanted` names, at least one: the file itself, else every file
/// under it as a directory (`true`). Fetched runs are untrusted: each one must be a clean
/// relative name with a real hash, and no file may also be a directory.
fn select<'a>(
    all: &'a [Entry],
    wanted: &str,
    run: &str,
) -> Result<(Vec<&'a Entry>, bool), CliError> {
    let dir_prefix = format!("{wanted}/");
    let (entries, is_dir): (Vec<&Entry>, bool) = match all.iter().find(|e| e.path == wanted) {
        Some(e) => (vec![e], false),
        None => (all.iter().filter(|e| e.path.starts_with(&dir_prefix)).collect(), true),
    };
    if entries.is_empty() {
        let known: Vec<String> = all.iter().take(5).map(|e| shown(&e.path)).collect();
        return Err(CliError::user(format!("run {run} has no artifact '{wanted}'")).hint(
            if known.is_empty() {
                "it has no artifacts".to_owned()
            } else {
                format!("`git exp artifacts {run}` lists them (e.g. {})", known.join(", "))
            },
        ));
    }
    let unsafe_entry = |path: &str| {
        CliError::user(format!(
            "run {run} lists an unsafe artifact entry '{}'; nothing was written",
            shown(path)
        ))
        .hint("the run was not written by git-exp, or its artifacts.toml is damaged")
    };
    let mut seen = std::collections::HashSet::new();
    for e in &entries {
        if clean_name(&e.path).as_deref() != Ok(e.path.as_str()) || !remote::is_sha256(&e.sha256) {
            return Err(unsafe_entry(&e.path));
        }
        if !seen.insert(e.path.as_str()) {
            return Err(unsafe_entry(&e.path));
        }
    }
    for e in &entries {
        let mut dirs = e.path.match_indices('/').map(|(i, _)| &e.path[..i]);
        if let Some(dir) = dirs.find(|d| seen.contains(d)) {
            return Err(unsafe_entry(dir));
        }
    }
    Ok((entries, is_dir))
}

/// A path from a run, or under the destination, for a message: on one line,
/// without escape sequences (names may hold any character but `/` and NUL).
fn shown(text: impl std::fmt::Display) -> String {
    crate::text::line(&text.to_string()).into_owned()
}

/// Where an artifact's verified bytes are: a blob of the run's tree (by its
/// path there) or a local store file.
enum Source {
    Inline(String),
    File(PathBuf),
}

/// Opens the remote store on first need.
struct Fetcher<'a> {
    store: &'a Store,
    ctx: &'a Context,
    /// `--remote`, else the remote `git fetch` would use (named in hints).
    remote: Option<&'a str>,
    /// Whether `remote` was given with `--remote` (no other remote is tried).
    explicit: bool,
    open: Option<Remote>,
}

impl Fetcher<'_> {
    /// The store to fetch from, or `None` when none is configured.
    fn remote(&mut self) -> Result<Option<&Remote>, CliError> {
        if self.open.is_none() {
            let (store, vars) = (self.store, &self.ctx.vars);
            let settings = if self.explicit {
                // Its own store, else exp.artifacts.url (the store of every other remote).
                Settings::for_remote(store, self.remote, vars)?
            } else {
                let mut settings = Settings::for_remote(store, None, vars)?;
                if let (None, Some(named)) = (&settings, self.remote) {
                    settings = Settings::for_remote(store, Some(named), vars)?;
                }
                if settings.is_none() {
                    let key = |n: &String| format!("remote.{n}.{}", remote::REMOTE_KEY);
                    let names = store.remote_names();
                    let mut with_store =
                        names.iter().filter(|n| store.config_string(&key(n)).is_some());
                    if let (Some(only), None) = (with_store.next(), with_store.next()) {
                        settings = Settings::for_remote(store, Some(only), vars)?;
                    }
                }
                settings
            };
            let Some(settings) = settings else { return Ok(None) };
            self.open = Some(Remote::open(&settings)?);
        }
        Ok(self.open.as_ref())
    }

    /// The error for an object that cannot be fetched for want of a store.
    fn no_store(&self, why: &str) -> CliError {
        CliError::user(format!("{why}, and no artifact store is configured to fetch it from")).hint(
            format!(
                "set the store the run was pushed to: `git config remote.{}.{} s3://BUCKET/PREFIX` \
                 (or {} for every remote)",
                self.remote.unwrap_or("origin"),
                remote::REMOTE_KEY,
                remote::CONFIG_URL
            ),
        )
    }
}

/// The verified source of one artifact's bytes; a store object missing or
/// damaged here is fetched from the remote store.
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
        read_inline(store, commit, &path, entry)?;
        return Ok(Source::Inline(path));
    }
    let local = store_path(store.common_dir(), &entry.sha256);
    let found = hash_file(&local).map_err(|e| {
        CliError::user(format!("cannot read the local copy of {}: {e}", shown(&entry.path)))
    })?;
    let (why, damaged) = match found {
        Some((sha256, size)) if sha256 == entry.sha256 => {
            if size == entry.size {
                return Ok(Source::File(local));
            }
            // The object is right (its name is its hash): the run is wrong.
            return Err(CliError::user(format!(
                "run lists {} as {} bytes, but its content has {size}; nothing was written",
                shown(&entry.path),
                entry.size
            ))
            .hint("the run was not written by git-exp, or its artifacts.toml is damaged"));
        }
        Some((sha256, size)) => {
            let problem = compare(&sha256, size, entry).err().unwrap_or_default();
            // Removed so the good copy can land (a transfer skips objects present).
            fs_err::remove_file(&local)?;
            (
                format!(
                    "the local copy of {} is damaged ({problem}) and was removed",
                    shown(&entry.path)
                ),
                true,
            )
        }
        None => (format!("{} is not in the local artifact store", shown(&entry.path)), false),
    };
    let Some(remote) = fetcher.remote()? else { return Err(fetcher.no_store(&why)) };
    if damaged {
        writeln!(err, "warning: {why}; fetching it again from {}", remote.url())?;
    }
    let object = Object { sha256: entry.sha256.clone(), size: entry.size };
    let bar = Bar::new(entry.size, "Downloading", quiet);
    let transfer = remote.download(store.common_dir(), std::slice::from_ref(&object), &bar);
    drop(bar);
    if let Some(f) = transfer.failed.first() {
        return Err(CliError::user(format!(
            "cannot fetch {} from {}: {}",
            shown(&entry.path),
            remote.url(),
            f.message
        )));
    }
    Ok(Source::File(local))
}

/// The verified bytes of an inline artifact, the blob `path` of the run's tree.
fn read_inline(
    store: &Store,
    commit: &str,
    path: &str,
    entry: &Entry,
) -> Result<Vec<u8>, CliError> {
    let bytes = store.read_run_path(commit, path)?.ok_or_else(|| {
        CliError::user(format!("the run's tree has no {}; the run is damaged", shown(path)))
    })?;
    verify(&bytes, entry).map_err(|m| {
        CliError::user(format!("inline artifact {} is damaged: {m}", shown(&entry.path)))
    })?;
    Ok(bytes)
}

/// SHA-256 and size of the file at `path`, or `None` when it does not exist.
fn hash_file(path: &Path) -> std::io::Result<Option<(String, u64)>> {
    let mut file = match fs_err::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok(Some((hex(&hasher.finalize()), size)))
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

/// Copies a source to `out`, hashing on the way: the content was checked
/// already, this guards against it changing meanwhile.
fn copy_verified(
    store: &Store,
    commit: &str,
    source: &Source,
    entry: &Entry,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    match source {
        Source::Inline(path) => out.write_all(&read_inline(store, commit, path, entry)?)?,
        Source::File(path) => {
            let mut file = fs_err::File::open(path)?;
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
                CliError::user(format!("{} changed while it was read: {m}", shown(&entry.path)))
            })?;
        }
    }
    Ok(())
}
