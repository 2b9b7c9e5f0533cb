//! `git exp get RUN PATH`: restoring a run's artifacts, verified by hash. The
//! restore is `artifacts::restore`; this file resolves the run, the destination
//! and the remote, and renders status lines, the progress bar and errors.

use std::cell::RefCell;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use super::progress::Bar;
use super::{CliError, Context};
use crate::artifacts::clean_name;
use crate::artifacts::remote::{self, CONFIG_URL, REMOTE_KEY};
use crate::artifacts::restore::{self, Error, Options, Target};
use crate::store::repo::Detail;
use crate::util::human_bytes;

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
                shown(&known)
            )));
        }
    }
    let (run, found) = store.resolve(&args.run, Detail::Listing)?;
    super::note_prefix(err, &args.run, &run.name, found);
    let target = if args.output.as_deref() == Some(Path::new("-")) {
        Target::Stdout(out)
    } else {
        Target::Files { cwd: &ctx.cwd, output: args.output.as_deref(), force: args.force }
    };
    let remote = args.remote.clone().or_else(|| store.default_remote(false));
    let options = Options {
        target,
        remote: remote.as_deref(),
        explicit: args.remote.is_some(),
        vars: &ctx.vars,
    };
    let status = Status { err: RefCell::new(err), quiet: ctx.ui.quiet };
    let restored = restore::restore(&store, &run.name, run.committed()?, &wanted, options, &status)
        .map_err(restore_error)?;
    let err = status.err.into_inner();
    if !ctx.ui.quiet && restored.files.len() > 1 {
        writeln!(
            err,
            "Restored {} artifacts ({}).",
            restored.files.len(),
            human_bytes(restored.bytes)
        )?;
    }
    Ok(())
}

/// Status lines and the download bar on stderr.
struct Status<'a> {
    err: RefCell<&'a mut dyn Write>,
    quiet: bool,
}

impl restore::Progress for Status<'_> {
    fn refetching(&self, why: &str, url: &str) {
        let _ = writeln!(self.err.borrow_mut(), "warning: {why}; fetching it again from {url}");
    }

    fn download(&self, bytes: u64) -> Box<dyn remote::Progress + '_> {
        Box::new(Bar::new(bytes, "Downloading", self.quiet))
    }

    fn restored(&self, path: &Path, size: u64) {
        if !self.quiet {
            let shown_path = shown(&path.display().to_string());
            let _ =
                writeln!(self.err.borrow_mut(), "Restored {shown_path} ({}).", human_bytes(size));
        }
    }
}

/// A restore's error, with its kind and hint.
fn restore_error(e: Error) -> CliError {
    let damaged = "the run was not written by git-exp, or its artifacts.toml is damaged";
    let hint = match &e {
        Error::Store(_) | Error::Remote(_) | Error::Io(_) => None,
        Error::DirToStdout(_) | Error::BadDestination(_) => {
            return CliError::usage(e.to_string());
        }
        Error::NoSuchArtifact { run, known, .. } => Some(if known.is_empty() {
            "it has no artifacts".to_owned()
        } else {
            format!("`git exp artifacts {run}` lists them (e.g. {})", known.join(", "))
        }),
        Error::UnsafeEntry { .. } | Error::SizeMismatch { .. } => Some(damaged.to_owned()),
        Error::IsDir { .. } => Some("use -o to write elsewhere".to_owned()),
        Error::Exists(_) => Some("use --force to replace it, or -o to write elsewhere".to_owned()),
        Error::DirIsLink(_) => Some("use -o to name a real directory".to_owned()),
        Error::NoStore { remote: named, .. } => Some(format!(
            "set the store the run was pushed to: `git config remote.{named}.{REMOTE_KEY} \
             s3://BUCKET/PREFIX` (or {CONFIG_URL} for every remote)"
        )),
        _ => None,
    };
    match e {
        Error::Store(e) => e.into(),
        Error::Remote(e) => e.into(),
        Error::Io(e) => e.into(),
        e => CliError::user(e.to_string()).with_hints(hint.into_iter().collect()),
    }
}

/// A path or name for a message: on one line, without escape sequences.
fn shown(text: &str) -> String {
    crate::text::line(text).into_owned()
}
