//! The errors of a restore. Paths in them are already shown on one line
//! without escape sequences (they may come from someone else's run).

/// Errors of [`super::restore`]; nothing was written unless a write itself failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The run has no artifact or directory of artifacts by that name.
    #[error("run {run} has no artifact '{wanted}'")]
    NoSuchArtifact {
        /// The run.
        run: String,
        /// The path asked for.
        wanted: String,
        /// Up to five of the run's artifacts.
        known: Vec<String>,
    },
    /// The run lists an entry that is not a clean name with a real hash, or a
    /// file that is also a directory.
    #[error("run {run} lists an unsafe artifact entry '{path}'; nothing was written")]
    UnsafeEntry {
        /// The run.
        run: String,
        /// The entry.
        path: String,
    },
    /// The run lists a store object at another size than its content has.
    #[error(
        "run lists {path} as {listed} bytes, but its content has {actual}; nothing was written"
    )]
    SizeMismatch {
        /// The artifact.
        path: String,
        /// The size the run lists.
        listed: u64,
        /// The size of the content.
        actual: u64,
    },
    /// A directory of artifacts cannot go to one writer.
    #[error("'{0}' is a directory of artifacts; -o - takes one file")]
    DirToStdout(String),
    /// The destination has no usable file name.
    #[error("bad destination {0}")]
    BadDestination(String),
    /// The destination file is a symbolic link to something not a file.
    #[error("{path} is a symbolic link to {what}; refusing to write through it")]
    LinkRefused {
        /// The link.
        path: String,
        /// What it points to.
        what: String,
    },
    /// The destination link could not be followed.
    #[error("cannot follow {path}: {kind}")]
    CannotFollow {
        /// The link.
        path: String,
        /// Why.
        kind: std::io::ErrorKind,
    },
    /// A directory (or a link to one) is where a file goes.
    #[error("{path} is {what}")]
    IsDir {
        /// The path.
        path: String,
        /// What is there.
        what: String,
    },
    /// Something other than a regular file is where a file goes.
    #[error("{path} is {what}, not a regular file; refusing to replace it")]
    NotRegular {
        /// The path.
        path: String,
        /// What is there.
        what: String,
    },
    /// A file exists where one goes, without `force`.
    #[error("{0} exists")]
    Exists(String),
    /// The directory named is a link to something else.
    #[error("{path} is a symbolic link to {what}, not to a directory")]
    LinkNotToDir {
        /// The link.
        path: String,
        /// What it points to.
        what: &'static str,
    },
    /// The directory named is a link that cannot be followed.
    #[error("{path} is a symbolic link that cannot be followed: {kind}")]
    LinkUnfollowable {
        /// The link.
        path: String,
        /// Why.
        kind: std::io::ErrorKind,
    },
    /// A directory to write into is a symbolic link (from the run: never followed).
    #[error("{0} is a symbolic link; refusing to write through it")]
    DirIsLink(String),
    /// A directory to write into is something else.
    #[error("{0} exists and is not a directory")]
    NotADir(String),
    /// A directory to write into cannot be examined.
    #[error("cannot check {path}: {error}")]
    CannotCheck {
        /// The path.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// The local store's copy cannot be read.
    #[error("cannot read the local copy of {path}: {error}")]
    LocalUnreadable {
        /// The artifact.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// The object is missing or damaged here and no store is configured.
    #[error("{why}, and no artifact store is configured to fetch it from")]
    NoStore {
        /// What is wrong with the local copy.
        why: String,
        /// The remote whose store the hint names.
        remote: String,
    },
    /// The remote store could not deliver the object.
    #[error("cannot fetch {path} from {url}: {message}")]
    FetchFailed {
        /// The artifact.
        path: String,
        /// The store.
        url: String,
        /// What failed.
        message: String,
    },
    /// The run's tree lacks an inline artifact's blob.
    #[error("the run's tree has no {0}; the run is damaged")]
    MissingBlob(String),
    /// An inline artifact does not match its entry.
    #[error("inline artifact {path} is damaged: {problem}")]
    InlineDamaged {
        /// The artifact.
        path: String,
        /// How.
        problem: String,
    },
    /// A verified file changed while it was copied.
    #[error("{path} changed while it was read: {problem}")]
    Changed {
        /// The artifact.
        path: String,
        /// How.
        problem: String,
    },
    /// The remote store could not be opened.
    #[error(transparent)]
    Remote(#[from] crate::artifacts::remote::Error),
    /// The repository failed.
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    /// Writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}
