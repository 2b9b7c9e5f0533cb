//! `CliError`: every failure of a command, with its kind (which picks the exit
//! code) and hints, printed once by [`print`]: `error: ...`, one `  caused by: ...`
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

/// A command's failure, built through its constructors ([`CliError::new`],
/// [`CliError::user`], [`CliError::usage`], the `From` impls) so that the
/// error keeps its chain of causes.
#[derive(Debug)]
pub struct CliError {
    /// Its kind.
    kind: Kind,
    /// The error.
    error: Box<dyn std::error::Error + Send + Sync>,
    /// What the user can do about it.
    hints: Vec<String>,
    /// Overrides the exit code (for `run`).
    exit_code: Option<u8>,
}

impl CliError {
    /// An error of `kind` wrapping `error`, whose sources are printed as
    /// `caused by:` lines.
    pub fn new(kind: Kind, error: impl std::error::Error + Send + Sync + 'static) -> Self {
        CliError { kind, error: Box::new(error), hints: vec![], exit_code: None }
    }

    /// An error of `kind` with a message and no cause.
    pub fn message(kind: Kind, message: impl Into<String>) -> Self {
        CliError { kind, error: message.into().into(), hints: vec![], exit_code: None }
    }

    /// A user error with a message.
    pub fn user(message: impl Into<String>) -> Self {
        CliError::message(Kind::User, message)
    }

    /// A usage error (exit 2) with a message.
    pub fn usage(message: impl Into<String>) -> Self {
        CliError::message(Kind::Usage, message)
    }

    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    /// Replaces the hints (a caller that knows better than the `From` impl).
    pub fn with_hints(mut self, hints: Vec<String>) -> Self {
        self.hints = hints;
        self
    }

    /// Sets the exit code explicitly.
    pub fn with_exit(mut self, code: u8) -> Self {
        self.exit_code = Some(code);
        self
    }

    /// Drops an explicit exit code, so the kind decides it again.
    pub fn without_exit(mut self) -> Self {
        self.exit_code = None;
        self
    }

    /// Its kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The error itself (its sources are the causes).
    pub fn error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self.error.as_ref()
    }

    /// The hints, in order.
    pub fn hints(&self) -> &[String] {
        &self.hints
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
        let config_hint = match &e {
            E::BadConfig { key, .. } => Some(format!(
                "see where it is set with `git config --show-origin --get-all {key}`, then fix it \
                 or remove it with `git config --unset {key}`"
            )),
            _ => None,
        };
        let kind = match &e {
            E::Git { .. } | E::Io { .. } => Kind::Internal,
            _ => Kind::User,
        };
        let err = CliError::new(kind, e);
        let hints = hint.map(str::to_owned).into_iter().chain(config_hint);
        hints.fold(err, CliError::hint)
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
        let err = CliError::new(if hint.is_empty() { Kind::Internal } else { Kind::User }, e);
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
            other => CliError::new(Kind::User, other),
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
        CliError::new(Kind::User, e).hint(hint)
    }
}

impl From<live::Error> for CliError {
    fn from(e: live::Error) -> Self {
        CliError::new(Kind::Internal, e)
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
            run::Error::NameLive(_) => CliError::new(Kind::User, e)
                .hint("wait for it to end, or pick another name with --name")
                .with_exit(EXIT_RUN_OWN),
            other => CliError::new(Kind::Internal, other).with_exit(EXIT_RUN_OWN),
        }
    }
}

/// How many `caused by:` lines [`print`] shows at most.
const MAX_CAUSES: usize = 8;

/// Prints `err` to `w` the git way: `error: <message>`, then one indented
/// `caused by: <source>` line per cause, then `hint: ` lines.
pub fn print(w: &mut dyn Write, err: &CliError) {
    // Messages can quote data from fetched runs (names, TOML lines): no
    // control characters reach the terminal (line breaks stay: some messages
    // show an expression and a caret below it).
    let line = |text: &str| crate::text::lines(text).into_owned();
    let message = err.error.to_string();
    let _ = writeln!(w, "error: {}", line(&message));
    for cause in causes(&*err.error, &message) {
        // A cause's own further lines stay under it.
        let _ = writeln!(w, "  caused by: {}", line(&cause).replace('\n', "\n    "));
    }
    for hint in &err.hints {
        let _ = writeln!(w, "hint: {}", line(hint));
    }
}

/// The messages of `error`'s sources, at most [`MAX_CAUSES`], leaving out a
/// cause that only repeats what the line before it says (an error that quotes
/// its source, as `git: <first line of the gix error>` does).
fn causes(error: &(dyn std::error::Error + 'static), message: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut previous = message.to_owned();
    let mut source = error.source();
    for _ in 0..MAX_CAUSES {
        let Some(s) = source else { break };
        let text = s.to_string();
        if !text.is_empty() && !previous.ends_with(text.as_str()) {
            out.push(text.clone());
        }
        previous = text;
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error with a message and an optional source, to build chains.
    #[derive(Debug)]
    struct Link(String, Option<Box<Link>>);

    impl std::fmt::Display for Link {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }

    impl std::error::Error for Link {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|l| l as _)
        }
    }

    fn chain(messages: &[&str]) -> Link {
        let mut link: Option<Box<Link>> = None;
        for m in messages.iter().rev() {
            link = Some(Box::new(Link((*m).to_owned(), link)));
        }
        *link.expect("at least one message")
    }

    fn printed(err: &CliError) -> String {
        let mut out = Vec::new();
        print(&mut out, err);
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn prints_each_cause_then_the_hints() {
        let err = CliError::new(Kind::User, chain(&["top", "middle", "bottom"])).hint("do this");
        assert_eq!(
            printed(&err),
            "error: top\n  caused by: middle\n  caused by: bottom\nhint: do this\n"
        );
    }

    #[test]
    fn skips_a_cause_that_repeats_the_line_before() {
        let err = CliError::new(Kind::Internal, chain(&["git: broken ref", "broken ref", "io"]));
        assert_eq!(printed(&err), "error: git: broken ref\n  caused by: io\n");
    }

    #[test]
    fn stops_after_eight_causes() {
        let names: Vec<String> = (0..20).map(|i| format!("e{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let text = printed(&CliError::new(Kind::Internal, chain(&refs)));
        assert_eq!(text.matches("caused by:").count(), MAX_CAUSES);
        assert!(text.ends_with("  caused by: e8\n"), "{text}");
    }

    #[test]
    fn causes_are_sanitized() {
        let err = CliError::new(Kind::User, chain(&["top", "evil\u{1b}[31m\u{202e}"]));
        assert_eq!(printed(&err), "error: top\n  caused by: evil<U+001B>[31m<U+202E>\n");
    }

    #[test]
    fn git_errors_keep_their_source() {
        let io = std::io::Error::other("disk on fire\nsecond line");
        let err = CliError::from(store::Error::git(io));
        assert_eq!(err.kind(), Kind::Internal);
        assert_eq!(
            printed(&err),
            "error: git: disk on fire\n  caused by: disk on fire\n    second line\n"
        );
        assert!(err.error().source().is_some());
    }
}
