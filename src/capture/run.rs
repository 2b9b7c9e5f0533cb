//! `git exp run`, the core: reserve a name, snapshot the code, go live, run the
//! command while capturing it, and commit the run whatever happens to it.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::env::{manifest, redact::Redactor};
use crate::store::format::Status;
use crate::store::name::groups_clash;
use crate::store::{self, code, name, Store};

use super::child::{self, SpawnError};
use super::events::Ingest;
use super::finish::{self, Committed, Ending};
use super::live::{self, LiveMeta, LiveRun};
use super::output::OutputLog;
use super::params;
use super::python;

/// What to run and how to record it (validated by the command layer).
pub struct Options {
    /// Requested name, or `None` to generate one.
    pub name: Option<String>,
    /// Typed params (params file merged with `-p`).
    pub params: toml::Table,
    /// Text of each param by dotted key, for `{key}` placeholders.
    pub param_texts: BTreeMap<String, String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Note.
    pub note: String,
    /// The command, before placeholder substitution.
    pub command: Vec<String>,
    /// Cap of `output.log` in bytes.
    pub output_limit: u64,
    /// Limits of the `code` tree.
    pub code: code::Options,
    /// The process environment (read once at the edge).
    pub vars: Vec<(String, String)>,
    /// The clock and randomness (read once at the edge).
    pub clock: crate::util::Clock,
    /// The directory the command runs in.
    pub cwd: std::path::PathBuf,
    /// Put the `wandb` shim on the command's `PYTHONPATH`.
    pub wandb_shim: bool,
    /// Artifact paths and globs (`-a`), relative to `cwd`, kept when the run ends.
    pub artifacts: Vec<String>,
}

/// Errors of `run`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store refused.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// Live directory trouble.
    #[error(transparent)]
    Live(#[from] live::Error),
    /// Committing failed.
    #[error(transparent)]
    Finish(#[from] finish::Error),
    /// The command could not start.
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    /// A run with this name is live right now.
    #[error("a run named '{0}' is running now")]
    NameLive(String),
    /// `start` was given a process that does not exist.
    #[error("no process with id {0} is running")]
    NoSuchProcess(u32),
    /// `finish` was given an id that is not live.
    #[error("no live run has the id '{0}'")]
    NotLive(String),
    /// Another process holds the live run.
    #[error(
        "the run '{0}' is held by another git-exp process (its tracker, or a finish in progress)"
    )]
    Busy(String),
    /// Output capture could not start.
    #[error("cannot capture output in {dir}")]
    Capture {
        /// The live directory.
        dir: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// A finished `run`.
pub struct Outcome {
    /// The committed run.
    pub committed: Committed,
    /// Final status.
    pub status: Status,
    /// What `git exp run` should exit with (the child's code, or 128 + signal).
    pub exit_code: i32,
    /// Duration in seconds.
    pub duration_s: f64,
}

/// A run that has gone live: its locked directory, the redactor its values
/// pass through, the command after placeholder substitution and what the
/// environment manifest needs.
pub(super) struct Begun {
    pub live: LiveRun,
    pub redactor: Redactor,
    pub argv: Vec<String>,
    describe: Option<String>,
}

/// Reserves the name, snapshots the code and creates the live directory with
/// `meta.toml`, an empty events file and `params.json`.
pub(super) fn begin(store: &Store, opts: &Options) -> Result<Begun, Error> {
    let argv = params::substitute(&opts.command, &opts.param_texts);
    // Values judged secret in the command line or the params are then
    // redacted in the output, events and tags too.
    let redactor = Redactor::from_env(&opts.vars).learning(&argv, &opts.params);
    let recorded_command = redactor.redact_argv(&argv);
    let mut config = opts.params.clone();
    redactor.redact_table(&mut config);

    let snapshot =
        store.snapshot_code_except(&opts.code, &kept_elsewhere(store, opts), &redactor)?;
    let started = opts.clock.now();
    let id = opts.clock.new_run_id(started);
    let var = |k: &str| opts.vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let host = hostname();
    let user = var("USER")
        .or_else(|| var("LOGNAME"))
        .or_else(crate::env::manifest::user_from_passwd)
        .unwrap_or_default();

    let live = {
        let _registry = live::lock_registry(store.common_dir())?;
        let live_names = live::live_names(store.common_dir());
        let name = match &opts.name {
            Some(name) => {
                name::validate(name)?;
                if store.run_exists(name)? {
                    return Err(store::Error::NameTaken { name: name.clone() }.into());
                }
                if live_names.contains(name) {
                    return Err(Error::NameLive(name.clone()));
                }
                if store.name_conflicts(name)? || live_names.iter().any(|l| groups_clash(l, name)) {
                    return Err(store::Error::InvalidName {
                        name: name.clone(),
                        reason:
                            "a run group and a run cannot share a name (one is a prefix of the \
                                 other)"
                                .into(),
                    }
                    .into());
                }
                name.clone()
            }
            None => name::generate(opts.clock.random_u64(), |candidate| {
                live_names.iter().any(|n| n == candidate || groups_clash(n, candidate))
                    || store.run_exists(candidate).unwrap_or(true)
                    || store.name_conflicts(candidate).unwrap_or(true)
            }),
        };
        let meta = LiveMeta {
            id: id.clone(),
            name,
            command: recorded_command,
            started,
            code_commit: snapshot.head.clone(),
            code_tree: snapshot.tree.clone(),
            code_dirty: snapshot.dirty,
            code_skipped: snapshot.skipped.clone(),
            workdir: store.cwd_relative(),
            host,
            user,
            config,
            tags: opts.tags.iter().map(|t| redactor.redact_text(t).into_owned()).collect(),
            note: redactor.redact_text(&opts.note).into_owned(),
            output_limit: opts.output_limit,
            artifacts: opts.artifacts.clone(),
        };
        LiveRun::create(store.common_dir(), meta)?
    };
    let describe = snapshot
        .head
        .as_deref()
        .map(|h| format!("{}{}", Store::short(h), if snapshot.dirty { "-dirty" } else { "" }));
    let begun = Begun { live, redactor, argv, describe };
    // From here on, a failure leaves the live directory for recovery.
    let params_json = serde_json::to_string(&opts.params).unwrap_or_else(|_| "{}".into());
    fs_err::write(begun.live.path(live::files::PARAMS), params_json)
        .map_err(|e| begun.capture(e))?;
    Ok(begun)
}

impl Begun {
    fn capture(&self, source: std::io::Error) -> Error {
        Error::Capture { dir: self.live.dir.display().to_string(), source }
    }

    /// A job that captures the environment manifest into the live directory
    /// (run on a thread while the command starts, or inline).
    pub(super) fn env_job(&self, store: &Store, vars: &[(String, String)]) -> impl FnOnce() + Send {
        let vars = vars.to_vec();
        let command = self.live.meta.command.clone();
        let workdir = self.live.meta.workdir.clone();
        let cache = store.common_dir().join("exp").join("cache");
        let describe = self.describe.clone();
        let env_path = self.live.path(live::files::ENV);
        let redactor = self.redactor.clone();
        move || {
            let m = manifest::capture(
                &manifest::Options {
                    vars: &vars,
                    command: &command,
                    workdir_rel: workdir,
                    cache_dir: Some(&cache),
                    code_describe: describe,
                },
                &redactor,
            );
            if let Ok(text) = toml::to_string(&m) {
                let _ = fs_err::write(env_path, text);
            }
        }
    }
}

/// Runs `opts.command` as a tracked run.
pub fn run(
    store: &Store,
    opts: Options,
    out: Box<dyn Write + Send>,
    err: Box<dyn Write + Send>,
) -> Result<Outcome, Error> {
    let begun = begin(store, &opts)?;
    let log = OutputLog::create(&begun.live.dir, opts.output_limit, begun.redactor.clone())
        .map_err(|e| begun.capture(e))?;
    let log = Arc::new(Mutex::new(log));
    let env_thread = std::thread::spawn(begun.env_job(store, &opts.vars));
    let Begun { live, redactor, argv, .. } = begun;

    let child_env = child_env(store, &live, &opts.vars, opts.wandb_shim);
    let events = live.path(live::files::EVENTS);
    let spec = child::Spec {
        argv: &argv,
        env: &child_env,
        events: &events,
        cwd: &opts.cwd,
        live_dir: &live.dir,
        clock: &opts.clock,
    };
    let mut err = SharedWriter(Arc::new(Mutex::new(err)));
    let child_err = Box::new(err.clone());
    let ingest = Ingest::with_redactor(redactor.clone());
    let result = child::run(&spec, Arc::clone(&log), out, child_err, ingest);
    let _ = env_thread.join();
    let (exit, ingest) = match result {
        Ok(r) => r,
        Err(e) => {
            // Nothing ran: there is no run to record.
            let _ = live.remove();
            return Err(e.into());
        }
    };
    let ended = opts.clock.now();
    let status = if exit.received.is_some() || exit.signal.is_some() {
        Status::Killed
    } else if exit.code == Some(0) {
        Status::Finished
    } else {
        Status::Failed
    };
    let ending = Ending { status, exit_code: exit.code, signal: exit.signal, ended };
    if let Ok(mut log) = log.lock() {
        // Best effort, like every write to the log: what it cannot store, the
        // recovery of a crashed run would not have either.
        let _ = log.close();
    }
    drop(log);
    let committed =
        finish::commit(store, &live.dir, &live.meta, ending, ingest.into_ingested(), &redactor)?;
    let duration_s = ending.ended - live.meta.started;
    finish::write_warnings(&committed, &mut err);
    // A file that could be neither kept nor moved to lost-found keeps the
    // directory; its mark tells recovery that the run is committed.
    if !committed.keeps_live_dir() {
        let _ = live.remove();
    }
    Ok(Outcome { committed, status, exit_code: exit.process_code(), duration_s })
}

/// The working-tree paths whose data the run keeps outside its `code` tree:
/// those the `-a` arguments name now (they become artifacts; large ones belong
/// in the artifact store, not in every clone), and git-exp's own directory,
/// where the live run is, should the common git dir lie in the working tree.
fn kept_elsewhere(store: &Store, opts: &Options) -> Vec<code::Kept> {
    let root = store.workdir();
    let mut kept = crate::artifacts::select::in_worktree(root, &opts.cwd, &opts.artifacts);
    let own = store.common_dir().join("exp");
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    if let Ok(rel) = own.canonicalize().unwrap_or(own).strip_prefix(&root) {
        let path = rel.to_string_lossy().into_owned();
        kept.push(code::Kept { path, dir: true, reason: code::GIT_EXP_DIR });
    }
    kept
}

/// The stderr the command's output passes through, shared with git-exp's own
/// warnings once the command has ended.
#[derive(Clone)]
struct SharedWriter(Arc<Mutex<Box<dyn Write + Send>>>);

impl Write for SharedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).flush()
    }
}

fn child_env(
    store: &Store,
    live: &LiveRun,
    vars: &[(String, String)],
    wandb_shim: bool,
) -> Vec<(String, String)> {
    let path = |f: &str| live.path(f).display().to_string();
    let mut env = vec![
        ("GIT_EXP_RUN_ID".to_owned(), live.meta.id.clone()),
        ("GIT_EXP_RUN_NAME".to_owned(), live.meta.name.clone()),
        ("GIT_EXP_DIR".to_owned(), live.dir.display().to_string()),
        ("GIT_EXP_EVENTS".to_owned(), path(live::files::EVENTS)),
        ("GIT_EXP_PARAMS".to_owned(), path(live::files::PARAMS)),
    ];
    // Pipes make Python buffer its output; keep the pass-through live.
    if !vars.iter().any(|(k, _)| k == "PYTHONUNBUFFERED") {
        env.push(("PYTHONUNBUFFERED".to_owned(), "1".to_owned()));
    }
    // The Python client that matches this binary, importable without installing it.
    // A failure to unpack it costs the command nothing but `import git_exp`.
    if let Ok(dirs) = python::unpack(store.common_dir()) {
        let current = vars.iter().find(|(k, _)| k == "PYTHONPATH").map(|(_, v)| v.as_str());
        env.push(("PYTHONPATH".to_owned(), python::python_path(&dirs, current, wandb_shim)));
    }
    env
}

/// The machine's host name.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return String::new();
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}
