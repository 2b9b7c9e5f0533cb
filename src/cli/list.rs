//! `git exp list` (`ls`): one row per run, newest first.

use std::collections::BTreeSet;
use std::io::Write;

use clap::Args;

use super::output::{self, FormatArgs, OutputFormat};
use super::{CliError, Context};
use crate::report::model::{flatten, format_value, RunView};
use crate::store::repo::Detail;
use crate::store::Store;

/// Most param and metric columns in the table format (all in csv/markdown/json).
const TABLE_MAX_PARAMS: usize = 6;
const TABLE_MAX_METRICS: usize = 8;

/// List runs, newest first
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Output format and --json
    #[command(flatten)]
    pub format: FormatArgs,
    /// Show at most this many runs
    #[arg(short = 'n', long)]
    pub limit: Option<usize>,
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
    let store = ctx.open_store(err)?;
    let (mut runs, problems) = store.load_runs(Detail::Listing)?;
    if !args.no_running {
        runs.extend(crate::capture::recover::running_runs(&store, &ctx.vars));
        crate::store::spec::sort_newest_first(&mut runs);
    }
    for p in problems {
        let _ = writeln!(err, "warning: skipped a run: {p}");
    }
    let limit = args.limit.unwrap_or(usize::MAX);
    let views: Vec<RunView> = runs.iter().take(limit).map(RunView::new).collect();
    let format = args.format.resolve();
    if format == OutputFormat::Json {
        output::write_json(out, &views)?;
        return Ok(());
    }
    let all_columns = format != OutputFormat::Table;
    let (header, rows) = rows(&views, all_columns, crate::util::now_unix());
    match format {
        OutputFormat::Table => {
            if views.is_empty() {
                let _ = writeln!(err, "No runs yet. Start one with `git exp run -- <command>`.");
                return Ok(());
            }
            output::write_table(out, &ctx.ui, &header, &rows)?
        }
        OutputFormat::Csv => output::write_csv(out, &header, &rows)?,
        OutputFormat::Markdown => output::write_markdown(out, &header, &rows)?,
        OutputFormat::Json => unreachable!("handled above"),
    }
    Ok(())
}

/// Builds the header and rows of the listing.
pub fn rows(views: &[RunView], all_columns: bool, now: f64) -> (Vec<String>, Vec<Vec<String>>) {
    // Params worth a column: those whose values differ between runs (all of them for one run).
    let mut param_keys: Vec<String> = Vec::new();
    let mut seen = BTreeSet::new();
    for v in views {
        for (k, _) in flatten(&v.config) {
            if seen.insert(k.clone()) {
                param_keys.push(k);
            }
        }
    }
    if views.len() > 1 && !all_columns {
        param_keys.retain(|k| {
            let values: BTreeSet<String> = views.iter().map(|v| param_text(v, k)).collect();
            values.len() > 1
        });
    }
    let mut metric_keys: Vec<String> = views
        .iter()
        .flat_map(|v| v.summary.keys().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !all_columns {
        param_keys.truncate(TABLE_MAX_PARAMS);
        metric_keys.truncate(TABLE_MAX_METRICS);
    }
    let mut header: Vec<String> =
        ["name", "status", "age", "duration", "code"].map(String::from).into();
    header.extend(param_keys.iter().cloned());
    header.extend(metric_keys.iter().cloned());
    let rows = views
        .iter()
        .map(|v| {
            let started = crate::util::parse_rfc3339(&v.started).unwrap_or(now);
            let code = match &v.code_commit {
                Some(c) => format!("{}{}", Store::short(c), if v.code_dirty { "+" } else { "" }),
                None => {
                    if v.code_dirty {
                        "+".into()
                    } else {
                        "-".into()
                    }
                }
            };
            let mut row = vec![
                v.name.clone(),
                v.status.to_string(),
                crate::util::human_age(started, now),
                crate::util::human_duration(v.duration_s),
                code,
            ];
            row.extend(param_keys.iter().map(|k| param_text(v, k)));
            row.extend(
                metric_keys
                    .iter()
                    .map(|k| v.summary.get(k).and_then(|m| m.shown()).unwrap_or_default()),
            );
            row
        })
        .collect();
    (header, rows)
}

fn param_text(v: &RunView, key: &str) -> String {
    flatten(&v.config)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, value)| format_value(value))
        .unwrap_or_default()
}
