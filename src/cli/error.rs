//! `CliError`: every failure of a command, with its kind (which picks the exit
//! code) and hints, printed once by [`print`]: `error: ...`, one `caused by: ...`
//! per source, then `hint: ...` lines.

use std::io::Write;

use crate::capture::{child::SpawnError, live, params, run};
use crate::store;

/// Exit code for user errors (bad input, unknown run, ...).
pub const EXIT_USER: u8 = 1;
/// Exit code for usage errors (as clap uses).
pub const EXIT_USAGE: u8 = 2;
/// Exit code of `run` when git-exp itself failed before the command started.
pub const EXIT_RUN_OWN: u8 = 125;
/// Exit code of `run` when the command is not executable.
pub const EXIT_RUN_NOEXEC: u8 = 126;
/// Exit code of `run` when the command was not found.
pub const EXIT_RUN_NOTFOUND: u8 = 127;
/// Exit code for internal errors (bugs, unexpected repository trouble).
pub const EXIT_INTERNAL: u8 = 255;

/// What kind of failure, which decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The user asked for something that cannot be done.
    User,
    /// The command line is wrong.
    Usage,
    /// Something unexpected.
    Internal,
}

/// A command's failure.
#[derive(Debug)]
pub struct CliError {
    /// Its kind.
    pub kind: Kind,
    /// The error.
    pub error: Box<dyn std::error::Error + Send + Sync>,
    /// What the user can do about it.
    pub hints: Vec<String>,
    /// Overrides the exit code (for `run`).
    pub exit_code: Option<u8>,
}

impl CliError {
    /// A user error with a message.
    pub fn user(message: impl Into<String>) -> Self {
        CliError { kind: Kind::User, error: message.into().into(), hints: vec![], exit_code: None }
    }

    /// A usage error (exit 2) with a message.
    pub fn usage(message: impl Into<String>) -> Self {
        CliError { kind: Kind::Usage, error: message.into().into(), hints: vec![], exit_code: None }
    }

    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    /// Sets the exit code explicitly.
    pub fn with_exit(mut self, code: u8) -> Self {
        self.exit_code = Some(code);
        self
    }

    /// The process exit code.
    pub fn code(&self) -> u8 {
        self.exit_code.unwrap_or(match self.kind {
            Kind::User => EXIT_USER,
            Kind::Usage => EXIT_USAGE,
            Kind::Internal => EXIT_INTERNAL,
        })
    }
}

fn new(kind: Kind, e: impl std::error::Error + Send + Sync + 'static) -> CliError {
    CliError { kind, error: Box::new(e), hints: vec![], exit_code: None }
}

impl From<store::Error> for CliError {
    fn from(e: store::Error) -> Self {
        use store::Error as E;
        let hint = match &e {
            E::NotARepository { .. } => {
                Some("run git-exp inside a git repository, or create one with `git init`")
            }
            E::Bare { .. } => {
                Some("run it in a clone with a working tree (`git clone` without --bare)")
            }
            E::Reftable { .. } => {
                Some("convert the repository with `git refs migrate --ref-format=files`")
            }
            E::NameTaken { .. } => {
                Some("pick another name with --name, or omit --name to get a fresh one")
            }
            E::InvalidName { .. } => {
                Some("names use letters, digits, '.', '_', '-', and '/' to group runs")
            }
            E::UnknownRun { .. } => {
                Some("`git exp list` shows the runs; fetch others' runs with `git exp pull`")
            }
            E::AmbiguousRun { .. } => Some(
                "type more of the name or id, or name the run by its ref: refs/experiments/NAME",
            ),
            E::Corrupt { .. } => Some(
                "it was damaged or written by hand; if you do not need it, delete it by its exact name with `git exp rm NAME`",
            ),
            E::Transport(_) => Some(
                "git's own message above says why; check the remote with `git remote -v` and `git ls-remote REMOTE`",
            ),
            E::BadRef { .. } => Some(
                "git-exp leaves it alone; if you do not need it, delete it with `git update-ref -d --no-deref REF`, or remove its file under .git/refs/experiments/",
            ),
            E::NotExact { .. } => Some(
                "commands that delete or rename take an exact name, a full id or `@`; `git exp list` shows the names",
            ),
            E::UnknownRevision { .. } => Some(
                "give a branch, tag or commit; fetch it first if it is remote (`git fetch origin`)",
            ),
            E::Locked { .. } => {
                Some("if no other git process is running, remove the lock file and retry")
            }
            E::Format(store::format::Error::UnknownFormat { .. }) => {
                Some("upgrade git-exp to read this run")
            }
            E::Format(store::format::Error::Parse { .. }) => Some(
                "the run was damaged or written by hand; if you do not need it, delete it by its exact name with `git exp rm NAME`",
            ),
            _ => None,
        };
        let kind = match &e {
            E::Git(_) | E::Io { .. } => Kind::Internal,
            _ => Kind::User,
        };
        let err = new(kind, e);
        match hint {
            Some(h) => err.hint(h),
            None => err,
        }
    }
}

impl From<crate::artifacts::remote::Error> for CliError {
    fn from(e: crate::artifacts::remote::Error) -> Self {
        use crate::artifacts::remote::Error as E;
        let hint = match &e {
            E::BadUrl { .. } => "artifact store URLs look like s3://BUCKET/PREFIX, gs://BUCKET/PREFIX, az://CONTAINER/PREFIX or file:///PATH",
            E::Open { .. } => "check the provider's credentials and settings (see docs/artifacts.md)",
            E::Runtime(_) => "",
        };
        let err = new(if hint.is_empty() { Kind::Internal } else { Kind::User }, e);
        if hint.is_empty() {
            err
        } else {
            err.hint(hint)
        }
    }
}

impl From<crate::share::Error> for CliError {
    fn from(e: crate::share::Error) -> Self {
        use crate::share::Error as E;
        use store::config::Error as Config;
        let hints = match &e {
            E::Store(_) | E::Artifacts(_) => vec![],
            E::NoRemote { command } => vec![format!(
                "name one (`git exp {command} REMOTE`), or add one with `git remote add origin URL`"
            )],
            E::NotConfigured { .. } => {
                vec!["add it with `git remote add NAME URL`, then run `git exp init NAME`".into()]
            }
            E::NoSuchRun { .. } => vec!["`git exp pull` without run names fetches them all".into()],
            E::NoArtifactStore { remote, .. } => vec![
                format!("set one: `git config remote.{remote}.expArtifacts s3://BUCKET/PREFIX` (or exp.artifacts.url for every remote); see docs/artifacts.md"),
                "or push the runs alone with --no-artifacts".into(),
            ],
            E::Config(Config::NotABoolean { key, .. }) => {
                vec![format!("see `git config --get-all {key}` and set it to true or false")]
            }
            E::NotRemoteNorRun { .. } | E::Config(_) => vec![],
        };
        let err = match e {
            E::Store(e) => return e.into(),
            E::Artifacts(e) => return e.into(),
            other => new(Kind::User, other),
        };
        hints.into_iter().fold(err, CliError::hint)
    }
}

impl From<params::Error> for CliError {
    fn from(e: params::Error) -> Self {
        let hint = match &e {
            params::Error::NoEquals(_) | params::Error::BadKey(_) => {
                "params are KEY=VALUE, e.g. -p lr=0.01 -p model.layers=3"
            }
            params::Error::Parse { .. } => "fix the file at the place shown, then run again",
            params::Error::Kind(_) | params::Error::Read { .. } => {
                "params files are .toml or .json tables"
            }
            params::Error::Conflict(_) => "give the key either a value or sub-keys, not both",
        };
        new(Kind::User, e).hint(hint)
    }
}

impl From<live::Error> for CliError {
    fn from(e: live::Error) -> Self {
        new(Kind::Internal, e)
    }
}

impl From<run::Error> for CliError {
    fn from(e: run::Error) -> Self {
        match e {
            run::Error::Store(e) => CliError::from(e).with_exit(EXIT_RUN_OWN),
            run::Error::Spawn(SpawnError::NotFound(p)) => {
                CliError::user(format!("command not found: {p}"))
                    .hint("check the spelling, or give the full path of the program")
                    .with_exit(EXIT_RUN_NOTFOUND)
            }
            run::Error::Spawn(SpawnError::NotExecutable(p)) => {
                CliError::user(format!("command is not executable: {p}"))
                    .hint(format!("make it executable with `chmod +x {p}`"))
                    .with_exit(EXIT_RUN_NOEXEC)
            }
            run::Error::NameLive(_) => new(Kind::User, e)
                .hint("wait for it to end, or pick another name with --name")
                .with_exit(EXIT_RUN_OWN),
            other => new(Kind::Internal, other).with_exit(EXIT_RUN_OWN),
        }
    }
}

/// Prints `err` to `w` the git way.
pub fn print(w: &mut dyn Write, err: &CliError) {
    // Messages can quote data from fetched runs (names, TOML lines): no
    // control characters reach the terminal (line breaks stay: some messages
    // show an expression and a caret below it).
    let line = |text: String| crate::text::lines(&text).into_owned();
    let _ = writeln!(w, "error: {}", line(err.error.to_string()));
    let mut source = err.error.source();
    while let Some(s) = source {
        let _ = writeln!(w, "caused by: {}", line(s.to_string()));
        source = s.source();
    }
    for hint in &err.hints {
        let _ = writeln!(w, "hint: {}", line(hint.clone()));
    }
}
