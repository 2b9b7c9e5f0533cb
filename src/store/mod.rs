//! The storage format and the repository: every run is a commit under
//! `refs/experiments/<name>`.
//!
//! This is the only module that uses `gix`. It speaks git-exp types (run names,
//! run records, hex commit ids) to the rest of the crate and never prints.

pub mod code;
pub mod config;
pub mod format;
pub mod history;
pub mod ids;
pub mod manage;
pub mod metrics;
pub mod name;
pub mod refs;
pub mod registry;
pub mod removed;
pub mod repo;
pub mod spec;
pub mod transport;

pub use ids::{CommitId, RunName};
pub use repo::{RunFiles, RunRecord, Store};

/// The ref namespace that holds runs.
pub const REF_PREFIX: &str = "refs/experiments/";

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The current directory is not inside a git repository.
    #[error("not in a git repository: {path}")]
    NotARepository {
        /// Where the search started.
        path: String,
    },
    /// The repository has no working tree.
    #[error("{path} is a bare repository; git-exp runs need a working tree")]
    Bare {
        /// The repository's git dir.
        path: String,
    },
    /// The repository keeps its refs in a reftable.
    #[error("{path} stores refs in a reftable, which git-exp cannot read yet")]
    Reftable {
        /// The repository's git dir.
        path: String,
    },
    /// A run with this name exists already.
    #[error("a run named '{name}' already exists")]
    NameTaken {
        /// The taken name.
        name: String,
    },
    /// The name cannot be a run name.
    #[error("invalid run name '{name}': {reason}")]
    InvalidName {
        /// The rejected name.
        name: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// A revision given to compare is not a commit here.
    #[error("unknown revision '{rev}'")]
    UnknownRevision {
        /// What the user typed.
        rev: String,
    },
    /// No run matches the spec.
    #[error("no run matches '{spec}'")]
    UnknownRun {
        /// What the user typed.
        spec: String,
    },
    /// A command that deletes or renames got a spec that is not exact.
    #[error("no run is named exactly '{spec}'")]
    NotExact {
        /// What the user typed.
        spec: String,
    },
    /// More than one run matches the spec.
    #[error("'{spec}' is ambiguous: it matches {}", candidates.join(", "))]
    AmbiguousRun {
        /// What the user typed.
        spec: String,
        /// Names of some of the matching runs.
        candidates: Vec<String>,
    },
    /// A ref is locked by another process (or a stale lock file).
    #[error("cannot update {name}: its lock file {lock} exists")]
    Locked {
        /// The ref.
        name: String,
        /// The lock file to remove if no git process is running.
        lock: String,
    },
    /// A ref under `refs/experiments/` that leads to no object: unreadable
    /// content, a missing object, a symbolic-ref loop.
    #[error("refs/experiments/{name} is not a run: {why}")]
    BadRef {
        /// The name after `refs/experiments/`.
        name: String,
        /// What is wrong with it.
        why: String,
    },
    /// A run's commit does not have the shape of a run.
    #[error("{what} of run {run} is missing or unreadable")]
    Corrupt {
        /// The run (name or commit).
        run: String,
        /// What is wrong.
        what: String,
        /// Why it could not be read, when an error said so.
        #[source]
        source: Option<Cause>,
    },
    /// A file of a run is invalid or of an unknown format version.
    #[error(transparent)]
    Format(#[from] format::Error),
    /// Reading the working tree failed.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A git config value git-exp reads is not one it accepts.
    #[error("invalid value '{value}' for {key}: expected {expected}")]
    BadConfig {
        /// The key, as git-exp names it (`exp.outputLimit`).
        key: String,
        /// The value as git gives it.
        value: String,
        /// What is accepted.
        expected: String,
    },
    /// A push or fetch could not be done (git has printed why).
    #[error("{0}")]
    Transport(String),
    /// gix (or the git binary) reported an error.
    #[error("git: {message}")]
    Git {
        /// The first line of the cause's message, or the whole message when
        /// there is no cause.
        message: String,
        /// The error gix returned, with its own chain of causes.
        #[source]
        source: Option<Cause>,
    },
}

/// The error behind a [`Error::Git`] or [`Error::Corrupt`], kept so that the
/// error printer can show the whole chain.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

impl Error {
    /// Wraps an error gix returned: the message is its first line, the error
    /// itself stays the source.
    pub(crate) fn git(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        let message = e.to_string().lines().next().unwrap_or("unknown error").to_owned();
        Error::Git { message, source: Some(Box::new(e)) }
    }

    /// A git failure described by a message alone (a git process's stderr, an
    /// id that does not parse).
    pub(crate) fn git_msg(message: impl Into<String>) -> Self {
        Error::Git { message: message.into(), source: None }
    }

    /// A run whose `what` cannot be read, with the error that said so.
    pub(crate) fn corrupt(
        run: impl Into<String>,
        what: impl Into<String>,
        source: Option<Cause>,
    ) -> Self {
        Error::Corrupt { run: run.into(), what: what.into(), source }
    }
}

/// Result of store operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
