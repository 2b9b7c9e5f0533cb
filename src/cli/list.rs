//! `git exp list` (`ls`): one row per run, newest first, or filtered, sorted and
//! cut with `--filter`, `--sort` and `--limit`; `--columns` picks the cells.

use std::collections::BTreeSet;
use std::io::Write;

use clap::Args;

use super::error::Kind;
use super::output::{self, FormatArgs, OutputFormat};
use super::{CliError, Context};
use crate::report::filter::{self, Engine};
use crate::report::model::{flatten, format_number, format_value, MetricView, RunView};
use crate::store::repo::Detail;
use crate::store::Store;

/// Most param and metric columns in the table format (all in csv/markdown/json).
const TABLE_MAX_PARAMS: usize = 6;
const TABLE_MAX_METRICS: usize = 8;

/// The example every expression error ends with.
const FILTER_EXAMPLE: &str =
    r#"--filter 'metrics.acc > 0.9 and config.lr <= 0.01 and status == "finished"'"#;

/// The fixed `--columns` entries; `params.KEY`, `config.KEY`, `metrics.NAME`,
/// `min.NAME` and `max.NAME` come on top.
const FIXED_COLUMNS: &[&str] = &[
    "name", "status", "age", "duration", "code", "tags", "started", "ended", "id", "commit",
    "host", "user", "note", "group", "job_type",
];

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

/// One column of the listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    /// A fixed column (one of [`FIXED_COLUMNS`]).
    Field(&'static str),
    /// A param, dotted for nested ones.
    Param(String),
    /// A metric's shown value (the `_summary` value, else the last).
    Metric(String),
    /// A metric's smallest value.
    Min(String),
    /// A metric's largest value.
    Max(String),
}

impl Column {
    /// Parses one `--columns` entry.
    pub fn parse(entry: &str) -> Option<Column> {
        if let Some(f) = FIXED_COLUMNS.iter().find(|f| **f == entry) {
            return Some(Column::Field(f));
        }
        let (kind, key) = entry.split_once('.')?;
        if key.is_empty() {
            return None;
        }
        let key = key.to_owned();
        Some(match kind {
            "params" | "config" => Column::Param(key),
            "metrics" => Column::Metric(key),
            "min" => Column::Min(key),
            "max" => Column::Max(key),
            _ => return None,
        })
    }
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
        runs.extend(crate::capture::recover::running_runs(&store, &ctx.vars));
        crate::store::spec::sort_newest_first(&mut runs);
    }
    super::warn_skipped(err, &problems);
    let outcome = filter::select(runs, filter.as_ref(), &sort)
        .map_err(|e| bad("--filter expression", args.filter.as_deref().unwrap_or(""), e))?;
    if let Some((name, message)) = &outcome.first_failure {
        let _ = writeln!(
            err,
            "warning: --filter failed on {} run(s), which are left out; first on run {name}: {message}",
            outcome.failed
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
    let (header, rows) = rows(&views, &columns, crate::util::now_unix(), style);
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
                let _ = writeln!(err, "{message}");
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
                let _ = writeln!(
                    err,
                    "hint: {hidden} column{} left out to fit the terminal; pick columns with --columns (e.g. --columns name,status,metrics.NAME), or see them all with --format csv or json",
                    if hidden == 1 { "" } else { "s" }
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
    CliError { kind: Kind::Usage, error: error.into(), hints: vec![], exit_code: None }
        .hint(format!("variables are {}", filter::VARIABLES.join(", ")))
        .hint(format!(
            "for example {FILTER_EXAMPLE} --sort -metrics.acc; see docs/commands.md (git exp list)"
        ))
}

/// Parses `--columns`: each entry with itself as header.
fn parse_columns(text: &str) -> Result<Vec<(String, Column)>, CliError> {
    text.split(',')
        .map(|entry| {
            let entry = entry.trim();
            let column = Column::parse(entry).ok_or_else(|| CliError {
                kind: Kind::Usage,
                error: format!("unknown --columns entry '{entry}'").into(),
                hints: vec![format!(
                    "columns are {}, params.KEY, config.KEY, metrics.NAME, min.NAME, max.NAME",
                    FIXED_COLUMNS.join(", ")
                )],
                exit_code: None,
            })?;
            Ok((entry.to_owned(), column))
        })
        .collect()
}

/// The columns shown without `--columns`, with their headers: the five fixed ones,
/// then params, then metrics, headed by their bare names. With `all` false (the
/// table format), only params whose values differ (all of them for one run), at
/// most [`TABLE_MAX_PARAMS`] and [`TABLE_MAX_METRICS`].
pub fn default_columns(views: &[RunView], all: bool) -> Vec<(String, Column)> {
    let flat: Vec<Params> = views.iter().map(params).collect();
    let mut param_keys: Vec<String> = Vec::new();
    let mut seen = BTreeSet::new();
    for v in views {
        for (k, _) in flatten(&v.config) {
            if seen.insert(k.clone()) {
                param_keys.push(k);
            }
        }
    }
    if views.len() > 1 && !all {
        param_keys.retain(|k| {
            let values: BTreeSet<&str> =
                flat.iter().map(|p| p.get(k).map_or("", String::as_str)).collect();
            values.len() > 1
        });
    }
    let mut metric_keys: Vec<String> = views
        .iter()
        .flat_map(|v| v.summary.keys().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !all {
        param_keys.truncate(TABLE_MAX_PARAMS);
        metric_keys.truncate(TABLE_MAX_METRICS);
    }
    let mut columns: Vec<(String, Column)> =
        FIXED_COLUMNS[..5].iter().map(|f| ((*f).to_owned(), Column::Field(f))).collect();
    columns.extend(param_keys.into_iter().map(|k| (k.clone(), Column::Param(k))));
    columns.extend(metric_keys.into_iter().map(|k| (k.clone(), Column::Metric(k))));
    columns
}

/// The order in which the default columns get a narrow terminal's room: the
/// name and status, then metrics, then the params that tell the runs apart,
/// then duration, age and code.
fn fit_order(columns: &[(String, Column)]) -> Vec<usize> {
    let rank = |c: &Column| match c {
        Column::Field("name") => 0,
        Column::Field("status") => 1,
        Column::Metric(_) | Column::Min(_) | Column::Max(_) => 2,
        Column::Param(_) => 3,
        Column::Field("duration") => 4,
        Column::Field("age") => 5,
        Column::Field(_) => 6,
    };
    let mut order: Vec<usize> = (0..columns.len()).collect();
    order.sort_by_key(|&i| rank(&columns[i].1));
    order
}

/// Who reads the cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// People (table, Markdown): ages (`5m ago`), durations (`4m05s`),
    /// numbers to 4 decimals.
    People,
    /// Programs (CSV): RFC 3339 times, durations in seconds, numbers as
    /// their shortest exact text.
    Data,
}

/// Builds the header and rows of the listing from (header, column) pairs.
pub fn rows(
    views: &[RunView],
    columns: &[(String, Column)],
    now: f64,
    style: Style,
) -> (Vec<String>, Vec<Vec<String>>) {
    let header = columns.iter().map(|(h, _)| h.clone()).collect();
    let rows = views
        .iter()
        .map(|v| {
            let params = params(v);
            columns.iter().map(|(_, c)| cell(v, &params, c, now, style)).collect()
        })
        .collect();
    (header, rows)
}

/// A run's params by dotted key, as cells show them: flattened once per run,
/// so a run with many params costs time linear in their number.
type Params = std::collections::HashMap<String, String>;

fn params(v: &RunView) -> Params {
    flatten(&v.config).into_iter().map(|(k, value)| (k, format_value(value))).collect()
}

fn cell(v: &RunView, params: &Params, column: &Column, now: f64, style: Style) -> String {
    let number = |x: f64| match style {
        Style::People => format_number(x),
        Style::Data => x.to_string(),
    };
    let stat = |k: &str, pick: fn(&MetricView) -> Option<f64>| {
        v.summary.get(k).and_then(pick).map(number).unwrap_or_default()
    };
    match column {
        Column::Field("name") => v.name.clone(),
        Column::Field("status") => v.status.to_string(),
        Column::Field("age") if style == Style::Data => v.started.clone(),
        Column::Field("age") => {
            crate::util::human_age(crate::util::parse_rfc3339(&v.started).unwrap_or(now), now)
        }
        Column::Field("duration") if style == Style::Data => v.duration_s.to_string(),
        Column::Field("duration") => crate::util::human_duration(v.duration_s),
        Column::Field("code") => match &v.code_commit {
            Some(c) => format!("{}{}", Store::short(c), if v.code_dirty { "+" } else { "" }),
            None if v.code_dirty => "+".into(),
            None => "-".into(),
        },
        Column::Field("tags") => v.tags.join(","),
        Column::Field("started") => v.started.clone(),
        Column::Field("ended") => v.ended.clone().unwrap_or_default(),
        Column::Field("id") => v.id.clone(),
        Column::Field("commit") => {
            v.commit.as_deref().map(Store::short).unwrap_or_default().to_owned()
        }
        Column::Field("host") => v.host.clone(),
        Column::Field("user") => v.user.clone(),
        Column::Field("note") => v.note.clone(),
        Column::Field("group") => v.group.clone().unwrap_or_default(),
        Column::Field("job_type") => v.job_type.clone().unwrap_or_default(),
        Column::Field(other) => unreachable!("not a column: {other}"),
        Column::Param(k) => params.get(k).cloned().unwrap_or_default(),
        Column::Metric(k) => {
            let metric = v.summary.get(k);
            let text = match style {
                Style::People => metric.and_then(|m| m.shown()),
                Style::Data => metric.and_then(|m| m.exact()),
            };
            text.unwrap_or_default()
        }
        Column::Min(k) => stat(k, |m| m.min),
        Column::Max(k) => stat(k, |m| m.max),
    }
}
