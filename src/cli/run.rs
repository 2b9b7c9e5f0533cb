//! `git exp run`: parse the run's options, hand them to `capture::run`, and
//! report the outcome on stderr (stdout belongs to the command).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::error::{CliError, EXIT_RUN_OWN};
use super::Context;
use crate::artifacts::{self, select};
use crate::capture::finish::Committed;
use crate::capture::{output, params, run};
use crate::store::format::Status;
use crate::store::{code, Store};

/// Run a command as a tracked run
#[derive(Debug, Args)]
#[command(after_help = "The command gets GIT_EXP_RUN_ID, GIT_EXP_RUN_NAME, GIT_EXP_DIR, \
GIT_EXP_EVENTS and GIT_EXP_PARAMS; it logs metrics by appending JSON lines to $GIT_EXP_EVENTS. \
`{key}` in the command is replaced by the param's value. Python commands can `import git_exp` \
without installing it. Exit status: the command's own; 125 if git-exp failed, 126 if the \
command is not executable, 127 if it was not found.")]
pub struct RunArgs {
    /// What to record about the run
    #[command(flatten)]
    pub record: RecordArgs,
    /// Make `import wandb` load git-exp's W&B-compatible module, so W&B scripts log here
    #[arg(long)]
    pub wandb: bool,
    /// The command to run, after `--`
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// The options `run` and `start` share.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Name of the run (default: a generated one such as brave-otter)
    #[arg(short, long)]
    pub name: Option<String>,
    /// A param, typed (int, float, bool, string); dotted keys nest
    #[arg(short, long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Read params from a .toml or .json file (-p values win)
    #[arg(long, value_name = "FILE")]
    pub params_file: Option<PathBuf>,
    /// Tag the run (repeatable)
    #[arg(short, long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// A note about the run
    #[arg(short = 'm', long = "note", value_name = "TEXT")]
    pub note: Option<String>,
    /// Keep these files when the run ends: a path, a directory (its files) or a glob, relative to
    /// this directory (repeatable)
    #[arg(short = 'a', long = "artifact", value_name = "PATH_OR_GLOB")]
    pub artifacts: Vec<String>,
}

/// Config keys read by `run`.
pub mod config_keys {
    /// Cap of output.log in bytes (head and tail kept). Default 2 MiB.
    pub const OUTPUT_LIMIT: &str = "exp.outputLimit";
    /// Largest changed or untracked file taken into the code tree. Default 10 MiB.
    pub const CODE_MAX_FILE: &str = "exp.codeMaxFileSize";
    /// Total bytes read from the working tree for the code tree. Default 100 MiB.
    pub const CODE_MAX_TOTAL: &str = "exp.codeMaxTotalSize";
    /// Glob patterns of untracked files to leave out of the code tree
    /// (multi-valued). Default none.
    pub const CODE_EXCLUDE: &str = "exp.codeExclude";
}

/// What the size keys accept, as their error says.
const POSITIVE_SIZE: &str = "a positive size in bytes (git's k, m and g suffixes allowed)";
/// What `exp.artifacts.inlineMax` accepts.
const SIZE: &str = "a size in bytes, 0 or more (git's k, m and g suffixes allowed)";

/// The run options from the command line and the repository's config.
pub fn options(
    record: RecordArgs,
    command: Vec<String>,
    store: &Store,
    ctx: &Context,
) -> Result<run::Options, CliError> {
    let mut table = match &record.params_file {
        Some(path) => params::read_file(&ctx.cwd.join(path))?,
        None => toml::Table::new(),
    };
    for arg in &record.artifacts {
        select::check_arg(arg).map_err(|reason| {
            CliError::usage(format!("invalid artifact path '{arg}': {reason}"))
        })?;
    }
    let mut texts: BTreeMap<String, String> = params::texts(&table);
    params::apply_args(&mut table, &record.params, &mut texts)?;
    let limit = |key: &str, default: u64| -> Result<u64, CliError> {
        let size = store.config_integer(key, 1..=i64::MAX, POSITIVE_SIZE)?;
        Ok(size.map_or(default, |v| v as u64))
    };
    // Read here, before the command starts, so a bad value stops the run at
    // once; finishing reads it again.
    store.config_integer(artifacts::CONFIG_INLINE_MAX, 0..=i64::MAX, SIZE)?;
    let defaults = code::Options::default();
    let exclude = store
        .config_strings(config_keys::CODE_EXCLUDE)
        .iter()
        .map(|text| {
            code::exclude_pattern(text).map_err(|reason| {
                let key = config_keys::CODE_EXCLUDE;
                CliError::user(format!("invalid {key} pattern '{text}': {reason}")).hint(format!(
                    "see the patterns with `git config --show-origin --get-all {key}` and fix \
                     that one in the file it names"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(run::Options {
        name: record.name,
        params: table,
        param_texts: texts,
        tags: record.tags,
        note: record.note.unwrap_or_default(),
        command,
        output_limit: limit(config_keys::OUTPUT_LIMIT, output::DEFAULT_LIMIT)?,
        code: code::Options {
            max_file_bytes: limit(config_keys::CODE_MAX_FILE, defaults.max_file_bytes)?,
            max_total_bytes: limit(config_keys::CODE_MAX_TOTAL, defaults.max_total_bytes)?,
            exclude,
        },
        vars: ctx.vars.clone(),
        clock: ctx.clock.clone(),
        cwd: ctx.cwd.clone(),
        wandb_shim: false,
        artifacts: record.artifacts,
    })
}

/// Runs `git exp run`; returns the command's exit code.
pub fn cmd_run(args: RunArgs, ctx: &Context, err: &mut dyn Write) -> Result<u8, CliError> {
    let own = |e: CliError| e.with_exit(EXIT_RUN_OWN);
    let store = ctx.open_store(err).map_err(own)?;
    let mut opts = options(args.record, args.command, &store, ctx).map_err(own)?;
    opts.wandb_shim = args.wandb;
    warn_placeholders(err, &opts);
    let outcome = run::run(&store, opts, Box::new(std::io::stdout()), Box::new(std::io::stderr()))?;
    if !ctx.ui.quiet {
        report(err, &outcome.committed, outcome.status, outcome.duration_s);
    }
    Ok(outcome.exit_code.clamp(0, 255) as u8)
}

/// Warns about `{key}` placeholders of the command that name no param: they
/// are passed to the command as they are, which is rarely what was meant.
pub fn warn_placeholders(err: &mut dyn Write, opts: &run::Options) {
    for key in params::unknown_placeholders(&opts.command, &opts.param_texts) {
        let known: Vec<&str> = opts.param_texts.keys().map(String::as_str).take(10).collect();
        let known = if known.is_empty() { "none".to_owned() } else { known.join(", ") };
        super::ui::warning(
            err,
            &format!(
                "{{{key}}} in the command names no param, so it is passed as it is (params: {known}); set it with -p {key}=VALUE"
            ),
        );
    }
}

/// Reports a committed run on stderr: the summary line and any warnings.
pub fn report(err: &mut dyn Write, c: &Committed, status: Status, duration_s: f64) {
    let _ = writeln!(
        err,
        "git-exp: run {} {} in {} ({}, {}) -> {}",
        c.name,
        status,
        crate::util::human_duration(duration_s),
        crate::util::count(c.points, "point", "points"),
        crate::util::count(c.metrics, "metric", "metrics"),
        Store::short(&c.commit),
    );
    if c.renamed {
        super::ui::warning(
            err,
            &format!("the name was taken meanwhile; the run was saved as {}", c.name),
        );
    }
    if c.malformed.count > 0 {
        let lines: Vec<String> = c.malformed.lines.iter().take(10).map(u64::to_string).collect();
        super::ui::warning(
            err,
            &format!(
                "{} malformed event line(s) skipped (lines {}{}); see the end of output.log",
                c.malformed.count,
                lines.join(", "),
                if c.malformed.count > 10 { ", ..." } else { "" }
            ),
        );
    }
}
