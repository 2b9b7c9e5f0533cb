//! `git exp report`: the static HTML site of the selected runs. The build is
//! `report::site::build`; this file resolves the options and renders its notices
//! and summary.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::list::bad;
use super::{CliError, Context};
use crate::report::filter::Engine;
use crate::report::site::{self, BuildError, Notice, SiteOptions};

/// Write a static HTML site of runs (index, run pages, comparison), for any static host
#[derive(Debug, Args)]
#[command(after_help = "Pages load nothing from another origin and read fully without \
JavaScript. Re-running on the same directory renders only runs that changed. A site on a public \
host is public: choose its runs with RUNS or --filter (docs/github-pages.md).")]
pub struct ReportArgs {
    /// Runs to include (default: every committed run)
    #[arg(value_name = "RUN")]
    pub runs: Vec<String>,
    /// Output directory
    #[arg(short, long, value_name = "DIR", default_value = "exp-report")]
    pub output: PathBuf,
    /// Include the runs this expression selects (as for `git exp list --filter`)
    #[arg(long, value_name = "EXPR", conflicts_with = "runs")]
    pub filter: Option<String>,
    /// Title of the site
    #[arg(long, value_name = "TEXT", default_value = "Experiments")]
    pub title: String,
    /// Directory of templates that replace the embedded ones by file name
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// Public URL of the site (used for canonical links only; all links are relative)
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// The metric the index's params scatter plots use (default: the first with a direction)
    #[arg(long, value_name = "NAME")]
    pub metric: Option<String>,
    /// How many runs the comparison page holds (the newest; 0 for none)
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub compare: usize,
}

/// Runs `git exp report`.
pub fn cmd_report(args: ReportArgs, ctx: &Context, err: &mut dyn Write) -> Result<u8, CliError> {
    let engine = Engine::new();
    let filter_text = args.filter.as_deref().unwrap_or("");
    let filter = match &args.filter {
        Some(text) => Some(engine.filter(text).map_err(|e| bad("--filter expression", text, e))?),
        None => None,
    };
    let templates_dir = args.templates.as_ref().map(|d| ctx.cwd.join(d));
    let (env, templates_hash) = site::environment(templates_dir.as_deref()).map_err(|e| {
        CliError::user(e.to_string())
            .hint("see the templates' variables in docs/commands.md (git exp report)")
    })?;
    let store = ctx.open_store(err)?;
    let out = ctx.cwd.join(&args.output);
    let options = site::Options {
        templates: (&env, &templates_hash),
        runs: &args.runs,
        filter: filter.as_ref(),
        site: SiteOptions {
            out: &out,
            title: &args.title,
            base_url: args.base_url.as_deref(),
            scatter_metric: args.metric.as_deref(),
        },
        compare: args.compare,
    };
    let built = site::build(&store, &options, &mut |n| match n {
        Notice::Skipped(problems) => super::warn_skipped(err, problems),
        Notice::Picked { spec, name, found } => super::note_prefix(err, spec, name, found),
        Notice::NotAPath(name) => {
            let _ = writeln!(err, "warning: run '{name}' left out: its name cannot be a path");
        }
        Notice::Unreadable { name, error } => {
            let _ = writeln!(err, "warning: skipped a run: {name}: {error}");
        }
    })
    .map_err(|e| match e {
        BuildError::Store(e) => e.into(),
        BuildError::Filter(e) => bad("--filter expression", filter_text, e),
        e @ BuildError::OutputDir { .. } => CliError::user(e.to_string())
            .hint("give -o a directory, new or one that git exp report wrote before"),
        BuildError::Site(e) => CliError::user(e.to_string()),
    })?;
    let _ = writeln!(
        err,
        "git-exp: report of {} run(s) in {}: {} page(s) rendered, {} unchanged, {} file(s) written, {} removed",
        built.runs,
        out.display(),
        built.rendered,
        built.kept,
        built.written,
        built.removed
    );
    Ok(0)
}
