//! `git exp list` (`ls`): one row per run, newest first, or filtered, sorted and
//! cut with `--filter`, `--sort` and `--limit`; `--columns` picks the cells.

use std::io::Write;

use clap::Args;

use super::output::{self, FormatArgs, OutputFormat};
use super::{CliError, Context};
use crate::report::columns::{default_columns, fit_order, rows, Column, Style, FIXED_COLUMNS};
use crate::report::filter::{self, Engine};
use crate::report::model::RunView;
use crate::store::repo::Detail;

/// The example every expression error ends with.
const FILTER_EXAMPLE: &str =
    r#"--filter 'metrics.acc > 0.9 and config.lr <= 0.01 and status == "finished"'"#;

/// List runs, newest first
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Output format and --json
    #[command(flatten)]
    pub format: FormatArgs,
    /// Keep only runs for which this expression is true, e.g. 'metrics.acc > 0.9 and status == "finished"'
    #[arg(long, value_name = "EXPR")]
    pub filter: Option<String>,
    /// Order by these keys (comma-separated or repeated; -KEY for descending), e.g. -metrics.acc,name
    #[arg(long, value_name = "KEY[,KEY...]", allow_hyphen_values = true)]
    pub sort: Vec<String>,
    /// Show at most this many runs (after --filter and --sort)
    #[arg(short = 'n', long, value_name = "N")]
    pub limit: Option<usize>,
    /// Columns of table, csv and markdown output, e.g. name,status,params.lr,metrics.acc
    #[arg(long, value_name = "COLS")]
    pub columns: Option<String>,
    /// Leave out runs that are still running
    #[arg(long)]
    pub no_running: bool,
}

/// Runs `git exp list`.
pub fn cmd_list(
    args: ListArgs,
    ctx: &Context,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    let columns = args.columns.as_deref().map(parse_columns).transpose()?;
    let engine = Engine::new();
    let filter = match &args.filter {
        Some(text) => Some(engine.filter(text).map_err(|e| bad("--filter expression", text, e))?),
        None => None,
    };
    let mut sort = Vec::new();
    for text in args.sort.iter().flat_map(|s| filter::split_keys(s)) {
        sort.push(engine.sort_key(&text).map_err(|e| bad("--sort key", &text, e))?);
    }

    let store = ctx.open_store(err)?;
    let (mut runs, problems) = store.load_runs(Detail::Listing)?;
    if !args.no_running {
        runs.extend(crate::capture::recover::running_runs(&store, &ctx.vars, &ctx.clock));
        crate::store::spec::sort_newest_first(&mut runs);
    }
    super::warn_skipped(err, &problems);
    let outcome = filter::select(runs, filter.as_ref(), &sort)
        .map_err(|e| bad("--filter expression", args.filter.as_deref().unwrap_or(""), e))?;
    if let Some((name, message)) = &outcome.first_failure {
        super::ui::warning(
            err,
            &format!(
                "--filter failed on {} run(s), which are left out; first on run {name}: {message}",
                outcome.failed
            ),
        );
    }
    let limit = args.limit.unwrap_or(usize::MAX);
    let views: Vec<RunView> = outcome.runs.iter().take(limit).map(RunView::new).collect();
    let format = args.format.resolve();
    if format == OutputFormat::Json {
        output::write_json(out, &views)?;
        return Ok(());
    }
    let columns = columns.unwrap_or_else(|| default_columns(&views, format != OutputFormat::Table));
    let style = if format == OutputFormat::Csv { Style::Data } else { Style::People };
    let (header, rows) = rows(&views, &columns, ctx.clock.now(), style);
    match format {
        OutputFormat::Table => {
            if views.is_empty() {
                let message = if args.filter.is_some() {
                    "No runs match the filter."
                } else if outcome.runs.is_empty() {
                    "No runs yet. Start one with `git exp run -- <command>`."
                } else {
                    "No runs shown (-n 0)."
                };
                ctx.ui.status(err, message);
                return Ok(());
            }
            let order = if args.columns.is_some() {
                (0..columns.len()).collect()
            } else {
                fit_order(&columns)
            };
            let hidden = output::write_table_ranked(out, &ctx.ui, &header, &rows, &order)?;
            if hidden > 0 {
                out.flush()?;
                super::ui::hint(
                    err,
                    &format!(
                        "{hidden} column{} left out to fit the terminal; pick columns with --columns (e.g. --columns name,status,metrics.NAME), or see them all with --format csv or json",
                        if hidden == 1 { "" } else { "s" }
                    ),
                );
            }
        }
        OutputFormat::Csv => output::write_csv(out, &header, &rows)?,
        OutputFormat::Markdown => output::write_markdown(out, &header, &rows)?,
        OutputFormat::Json => unreachable!("handled above"),
    }
    Ok(())
}

/// A usage error for a bad expression: what, where (a caret under the column), and an example.
pub(super) fn bad(what: &str, text: &str, e: filter::Error) -> CliError {
    let filter::Error::Invalid { message, column } = e;
    let mut error = format!("bad {what}: {message}");
    if let Some(column) = column {
        let caret = " ".repeat(column.saturating_sub(1));
        error.push_str(&format!(" at column {column}\n  {text}\n  {caret}^"));
    } else {
        error.push_str(&format!("\n  {text}"));
    }
    CliError::usage(error).hint(format!("variables are {}", filter::VARIABLES.join(", "))).hint(
        format!(
            "for example {FILTER_EXAMPLE} --sort -metrics.acc; see docs/commands.md (git exp list)"
        ),
    )
}

/// Parses `--columns`: each entry with itself as header.
fn parse_columns(text: &str) -> Result<Vec<(String, Column)>, CliError> {
    text.split(',')
        .map(|entry| {
            let entry = entry.trim();
            let column = Column::parse(entry).ok_or_else(|| {
                CliError::usage(format!("unknown --columns entry '{entry}'")).hint(format!(
                    "columns are {}, params.KEY, config.KEY, metrics.NAME, min.NAME, max.NAME",
                    FIXED_COLUMNS.join(", ")
                ))
            })?;
            Ok((entry.to_owned(), column))
        })
        .collect()
}
