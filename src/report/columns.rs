//! The columns of a run listing and their cells, for people and for
//! programs: which columns `git exp list` shows by default, which get a
//! narrow terminal's room first, and the text of each cell. Pure functions of
//! the view models; the command layer only picks a format and writes.

use std::collections::BTreeSet;

use crate::report::model::{flatten, format_number, format_value, MetricView, RunView};
use crate::store::Store;

/// Most param and metric columns in the table format (all in csv/markdown/json).
const TABLE_MAX_PARAMS: usize = 6;
const TABLE_MAX_METRICS: usize = 8;

/// The fixed `--columns` entries; `params.KEY`, `config.KEY`, `metrics.NAME`,
/// `min.NAME` and `max.NAME` come on top.
pub const FIXED_COLUMNS: &[&str] = &[
    "name", "status", "age", "duration", "code", "tags", "started", "ended", "id", "commit",
    "host", "user", "note", "group", "job_type",
];

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
pub fn fit_order(columns: &[(String, Column)]) -> Vec<usize> {
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
