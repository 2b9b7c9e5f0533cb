//! The command layer: argument parsing (clap), dispatch, and the one place that
//! prints errors. Each subcommand lives in its own module with its `Args`
//! struct and a `cmd_<name>` function; none of them touches git directly.

pub mod artifacts;
pub mod compare;
pub mod completions;
pub mod demo;
pub mod error;
pub mod gc;
pub mod get;
pub mod list;
pub mod man;
pub mod output;
pub mod progress;
pub mod rename;
pub mod report;
pub mod rm;
pub mod run;
pub mod share;
pub mod show;
pub mod start;
pub mod ui;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::capture::recover;
use crate::store::Store;
pub use error::CliError;

/// Machine-learning experiment tracking that lives inside git.
///
/// Every run is a commit under refs/experiments/<name>: config, metrics,
/// environment, log and the exact code. Runs travel with git push.
#[derive(Debug, Parser)]
#[command(name = "git exp", bin_name = "git exp", version, max_term_width = 100)]
pub struct Cli {
    /// Run as if started in this directory
    #[arg(short = 'C', global = true, value_name = "PATH")]
    pub dir: Option<PathBuf>,
    /// --quiet, --color, --no-pager
    #[command(flatten)]
    pub global: ui::GlobalArgs,
    /// The command
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a command as a tracked run
    Run(run::RunArgs),
    /// List runs, newest first
    #[command(visible_alias = "ls")]
    List(list::ListArgs),
    /// Show one run
    Show(show::ShowArgs),
    /// Compare runs: config, metrics, environment and code side by side
    Compare(compare::CompareArgs),
    /// Write a static HTML site of runs (index, run pages, comparison)
    Report(report::ReportArgs),
    /// Track a few runs of a small example in a scratch repository
    Demo(demo::DemoArgs),
    /// Start a run for a running process (plumbing: the Python client uses it)
    Start(start::StartArgs),
    /// Commit a run made with `git exp start`
    Finish(start::FinishArgs),
    /// List a run's artifacts
    Artifacts(artifacts::ArtifactsArgs),
    /// Restore a run's artifact, verified by its hash
    Get(get::GetArgs),
    /// Push runs and upload their large artifacts
    Push(share::PushArgs),
    /// Fetch runs from a remote (and with --artifacts their large artifacts)
    #[command(visible_alias = "fetch")]
    Pull(share::PullArgs),
    /// Make plain `git push` and `git fetch` carry runs too
    Init(share::InitArgs),
    /// Delete runs
    Rm(rm::RmArgs),
    /// Rename a run
    Rename(rename::RenameArgs),
    /// Remove artifact store objects that no run points to
    Gc(gc::GcArgs),
    /// Install man pages, so `git help exp` and `man git-exp-run` work
    InstallMan(man::InstallManArgs),
    /// Print a shell completion script (bash, zsh or fish)
    Completions(completions::CompletionsArgs),
    /// Print the run names, one a line (internal: shell completion uses it)
    #[command(name = "__complete-runs", hide = true)]
    CompleteRuns(completions::CompleteRunsArgs),
    /// Print the command reference, docs/cli-reference.md (internal)
    #[command(name = "__reference", hide = true)]
    Reference(man::ReferenceArgs),
    /// Report the signals this process gets (internal: `git exp run` starts it)
    #[command(name = crate::capture::signals::SENTINEL_COMMAND, hide = true)]
    SignalSentinel,
}

impl Command {
    /// The name `pager.exp.<name>` uses, for the commands whose output is
    /// paged.
    fn pager_name(&self) -> Option<&'static str> {
        match self {
            Command::List(_) => Some("list"),
            Command::Show(_) => Some("show"),
            Command::Compare(_) => Some("compare"),
            _ => None,
        }
    }
}

/// What every command gets: the process environment (read once), the working
/// directory and the terminal state.
pub struct Context {
    /// Environment variables.
    pub vars: Vec<(String, String)>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Terminal state.
    pub ui: ui::Ui,
    /// The clock and randomness (pinned by the test-only variables).
    pub clock: crate::util::Clock,
}

impl Context {
    /// Opens the repository and commits any orphaned live runs first.
    pub fn open_store(&self, err: &mut dyn Write) -> Result<Store, CliError> {
        let overrides = self
            .vars
            .iter()
            .find(|(k, _)| k == "GIT_CONFIG_PARAMETERS")
            .map(|(_, v)| crate::store::repo::config_overrides(v))
            .unwrap_or_default();
        let store = Store::discover(&self.cwd, &overrides)?;
        let (recovered, problems) = recover::recover_orphans(&store, &self.vars);
        for r in recovered {
            let _ = writeln!(
                err,
                "git-exp: recovered run {} (its tracker died) as crashed: {}",
                r.name,
                Store::short(&r.commit)
            );
        }
        for p in problems {
            ui::warning(err, &p.to_string());
        }
        Ok(store)
    }
}

/// Warns about the runs a reader skipped, one line each, and says once how
/// to get rid of one that is not wanted.
pub(crate) fn warn_skipped(err: &mut dyn Write, problems: &[crate::store::Error]) {
    for p in problems {
        ui::warning(err, &format!("skipped a run: {p}"));
    }
    if !problems.is_empty() {
        ui::hint(
            err,
            "a run you do not need can be deleted by its exact name: `git exp rm NAME` (or its full ref)",
        );
    }
}

/// Tells the user which run a prefix picked (`show rf-2` may be `rf-200`), on
/// stderr, before anything is done with it.
pub(crate) fn note_prefix(
    err: &mut dyn Write,
    spec: &str,
    name: &str,
    found: crate::store::spec::Found,
) {
    if found == crate::store::spec::Found::ByPrefix {
        let _ = writeln!(err, "Using run {name} for '{spec}' (a prefix).");
    }
}

/// For `git exp run python3 train.py` (no `--`): the command line with `--`
/// where it belongs. The arguments are the user's own, shown sanitised.
fn missing_dashes_hint(e: &clap::Error) -> Option<String> {
    if e.kind() != clap::error::ErrorKind::UnknownArgument {
        return None;
    }
    let args: Vec<String> =
        std::env::args_os().skip(1).map(|a| a.to_string_lossy().into_owned()).collect();
    let sub = args.iter().position(|a| a == "run" || a == "start")?;
    if args.iter().any(|a| a == "--") {
        return None;
    }
    let clap::error::ContextValue::String(bad) = e.get(clap::error::ContextKind::InvalidArg)?
    else {
        return None;
    };
    let at = sub + 1 + args[sub + 1..].iter().position(|a| a == bad)?;
    let mut fixed: Vec<&str> = args[..at].iter().map(String::as_str).collect();
    fixed.push("--");
    fixed.extend(args[at..].iter().map(String::as_str));
    Some(
        crate::text::line(&format!(
            "put `--` before the command to run: git exp {}",
            fixed.join(" ")
        ))
        .into_owned(),
    )
}

/// Runs git-exp with the process's arguments and environment.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            if let Some(hint) = missing_dashes_hint(&e) {
                let _ = writeln!(std::io::stderr(), "\nhint: {hint}");
            }
            return ExitCode::from(match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => error::EXIT_USAGE,
            });
        }
    };
    let vars: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    let mut cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    if let Some(dir) = &cli.dir {
        cwd = cwd.join(dir);
    }
    let ui = if matches!(cli.command, Command::SignalSentinel | Command::CompleteRuns(_)) {
        // Started by every `run`: no terminal of its own, so no git config read.
        ui::Ui::plain()
    } else {
        ui::Ui::resolve(&cli.global, &vars, &cwd, cli.command.pager_name())
    };
    let clock = match crate::util::Clock::from_vars(&vars) {
        Ok(clock) => clock,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e}");
            return ExitCode::from(error::EXIT_USAGE);
        }
    };
    let ctx = Context { ui, vars, cwd, clock };
    // Messages quote names, keys and parser errors from runs: one writer
    // neutralises every control and format character they may carry.
    let mut stderr = crate::text::SafeWriter::new(std::io::stderr());
    let result = dispatch(cli.command, &ctx, &mut stderr);
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            error::print(&mut stderr, &e);
            ExitCode::from(e.code())
        }
    }
}

fn dispatch(command: Command, ctx: &Context, err: &mut dyn Write) -> Result<u8, CliError> {
    match command {
        Command::Run(args) => run::cmd_run(args, ctx, err),
        Command::Demo(args) => demo::cmd_demo(args, ctx, err),
        Command::List(args) => paged(ctx, err, |out, err| list::cmd_list(args, ctx, out, err)),
        Command::Show(args) => paged(ctx, err, |out, err| show::cmd_show(args, ctx, out, err)),
        Command::Compare(args) => {
            paged(ctx, err, |out, err| compare::cmd_compare(args, ctx, out, err))
        }
        Command::Report(args) => report::cmd_report(args, ctx, err),
        Command::Start(args) => buffered(|out| start::cmd_start(args, ctx, out, err)),
        Command::Finish(args) => buffered(|out| start::cmd_finish(args, ctx, out, err)),
        Command::Artifacts(args) => buffered(|out| artifacts::cmd_artifacts(args, ctx, out, err)),
        Command::Get(args) => buffered(|out| get::cmd_get(args, ctx, out, err)),
        Command::Push(args) => buffered(|out| share::cmd_push(args, ctx, out, err)),
        Command::Pull(args) => buffered(|out| share::cmd_pull(args, ctx, out, err)),
        Command::Init(args) => buffered(|out| share::cmd_init(args, ctx, out, err)),
        Command::Rm(args) => buffered(|out| rm::cmd_rm(args, ctx, out, err)),
        Command::Rename(args) => buffered(|out| rename::cmd_rename(args, ctx, out, err)),
        Command::Gc(args) => buffered(|out| gc::cmd_gc(args, ctx, out, err)),
        Command::InstallMan(args) => man::cmd_install_man(args, ctx, err).map(|()| 0),
        Command::Completions(args) => buffered(|out| completions::cmd_completions(args, out)),
        Command::CompleteRuns(_) => buffered(|out| completions::cmd_complete_runs(ctx, out)),
        Command::Reference(_) => buffered(man::cmd_reference),
        Command::SignalSentinel => {
            crate::capture::signals::sentinel_loop(std::io::stdin(), &mut std::io::stdout())?;
            Ok(0)
        }
    }
}

/// Runs a data command with stdout behind one buffer (a line-buffered stdout
/// would make a system call per line); `run` and `demo` leave stdout to their
/// children.
fn buffered(command: impl FnOnce(&mut dyn Write) -> Result<(), CliError>) -> Result<u8, CliError> {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    command(&mut out)?;
    out.flush()?;
    Ok(0)
}

/// [`buffered`], through the pager when the command pages (see
/// [`ui::pager_command`]). The pager is waited for before the command's
/// error, if any, is printed; a pager that quits early makes the writes fail
/// with a broken pipe, which ends the command quietly.
fn paged(
    ctx: &Context,
    err: &mut dyn Write,
    command: impl FnOnce(&mut dyn Write, &mut dyn Write) -> Result<(), CliError>,
) -> Result<u8, CliError> {
    let Some(pager) = ctx.ui.pager.as_deref() else { return buffered(|out| command(out, err)) };
    let mut pager = match ui::Pager::spawn(pager, &ctx.vars) {
        Ok(pager) => pager,
        Err(e) => {
            ui::warning(err, &format!("cannot run the pager {pager}: {e}"));
            return buffered(|out| command(out, err));
        }
    };
    let Some(input) = pager.input() else { return buffered(|out| command(out, err)) };
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, input);
    let result = command(&mut out, err).and_then(|()| Ok(out.flush()?));
    drop(out);
    pager.wait();
    result.map(|()| 0)
}

fn is_broken_pipe(e: &CliError) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e.error());
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return io.kind() == std::io::ErrorKind::BrokenPipe;
        }
        source = s.source();
    }
    false
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::new(error::Kind::Internal, e)
    }
}
