//! Renderings of a [`Comparison`] as text: rows for the terminal table and
//! CSV, GitHub-flavoured Markdown for pull-request comments, and a small
//! self-contained HTML page. Every text that comes from a run is escaped for
//! the format it goes into.

use std::fmt::Write as _;

use crate::report::chart::{line_chart, Options as ChartOptions, Series};
use crate::report::compare::{Comparison, Curves, Delta, MetricCell, MetricRow};
use crate::report::direction::Direction;
use crate::report::model::{format_number, format_value};
use crate::store::Store;

/// The line that starts every Markdown comparison, so CI can find its own comment.
pub const MARKDOWN_MARKER: &str = "<!-- git-exp compare -->";

/// `+0.012 (+2.4%) ▲`; an empty string without a delta.
pub fn delta_text(d: Option<Delta>) -> String {
    let Some(d) = d else { return String::new() };
    if d.abs == 0.0 {
        return "(=)".into();
    }
    let arrow = if d.abs > 0.0 { "▲" } else { "▼" };
    let sign = if d.abs > 0.0 { "+" } else { "" };
    match d.rel {
        Some(rel) => format!("{sign}{} ({sign}{:.1}%) {arrow}", format_number(d.abs), rel * 100.0),
        None => format!("{sign}{} {arrow}", format_number(d.abs)),
    }
}

/// The value a metric row shows: best when the direction is known, else last.
pub fn shown(cell: &MetricCell, direction: Option<Direction>) -> (Option<f64>, Option<Delta>) {
    match direction {
        Some(_) => (cell.best, cell.delta_best),
        None => (cell.last, cell.delta_last),
    }
}

fn metric_label(row: &MetricRow) -> String {
    match row.direction {
        Some(Direction::Min) => format!("{} ↓", row.name),
        Some(Direction::Max) => format!("{} ↑", row.name),
        None => row.name.clone(),
    }
}

fn cell_value(cell: &MetricCell, direction: Option<Direction>) -> String {
    match (shown(cell, direction).0, &cell.text) {
        (Some(v), _) => format_number(v),
        (None, Some(t)) => t.clone(),
        (None, None) => "-".into(),
    }
}

/// Sections of the terminal table: (title, header, rows).
pub fn table_sections(c: &Comparison) -> Vec<(String, Vec<String>, Vec<Vec<String>>)> {
    let names: Vec<String> = c.runs.iter().map(|r| r.name.clone()).collect();
    let header =
        |first: &str| std::iter::once(first.to_owned()).chain(names.iter().cloned()).collect();
    let mut out = Vec::new();

    let mut metrics = Vec::new();
    for row in &c.metrics {
        let mut values = vec![metric_label(row)];
        let mut curves = vec![String::new()];
        for (i, cell) in row.values.iter().enumerate() {
            let Some(cell) = cell else {
                values.push("-".into());
                curves.push(String::new());
                continue;
            };
            let mut text = cell_value(cell, row.direction);
            if row.best_run == Some(i) && c.runs.len() > 1 {
                text.push_str(" *");
            }
            let delta = delta_text(shown(cell, row.direction).1);
            if !delta.is_empty() {
                text = format!("{text} {delta}");
            }
            if row.direction.is_some() && cell.last != cell.best {
                if let Some(last) = cell.last {
                    text = format!("{text}, last {}", format_number(last));
                }
            }
            values.push(text);
            curves.push(cell.sparkline.clone());
        }
        metrics.push(values);
        if curves.iter().any(|s| !s.is_empty()) {
            metrics.push(curves);
        }
    }
    out.push((
        "metrics (best ↓/↑ by direction, * = best run, deltas against the first run)".to_owned(),
        header("metric"),
        metrics,
    ));

    let config: Vec<Vec<String>> = c
        .config
        .iter()
        .map(|r| {
            let key = if r.differs { format!("≠ {}", r.key) } else { format!("  {}", r.key) };
            std::iter::once(key)
                .chain(r.values.iter().map(|v| v.as_ref().map_or("(missing)".into(), format_value)))
                .collect()
        })
        .collect();
    out.push(("config (≠ = differs)".to_owned(), header("key"), config));

    if !c.env.is_empty() {
        let env = c
            .env
            .iter()
            .map(|r| {
                std::iter::once(r.key.clone())
                    .chain(r.values.iter().map(|v| v.clone().unwrap_or_else(|| "(missing)".into())))
                    .collect()
            })
            .collect();
        out.push(("environment (only what differs)".to_owned(), header("key"), env));
    }

    let mut code = vec![std::iter::once("commit".to_owned())
        .chain(c.code.iter().map(|k| {
            let short = k.commit.as_deref().map_or("-".to_owned(), |s| Store::short(s).to_owned());
            if k.dirty {
                format!("{short}+")
            } else {
                short
            }
        }))
        .collect::<Vec<_>>()];
    code.push(
        std::iter::once("changes from the first".to_owned())
            .chain(c.code.iter().enumerate().map(|(i, k)| match (&k.diffstat, i) {
                (_, 0) => "-".into(),
                (Some(d), _) => {
                    format!("{} files, +{} -{}", d.files_changed, d.insertions, d.deletions)
                }
                (None, _) => "?".into(),
            }))
            .collect(),
    );
    out.push(("code (+ = uncommitted changes)".to_owned(), header(""), code));
    out
}

use crate::text::markdown as md;

/// A run's name in a Markdown table or line.
fn md_run(name: &str) -> String {
    crate::text::markdown_code(name, true)
}

/// A run's name inside the raw HTML of a `<summary>` line, where Markdown is
/// not parsed: HTML-escaped.
fn html_run(name: &str) -> String {
    format!("<code>{}</code>", crate::text::html(name))
}

/// The comparison as GitHub-flavoured Markdown, for a pull-request comment.
pub fn markdown(c: &Comparison) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{MARKDOWN_MARKER}");
    let runs: Vec<String> = c.runs.iter().map(|r| md_run(&r.name)).collect();
    let _ = writeln!(s, "### Experiments: {}\n", runs.join(" vs "));
    if let Some(sel) = &c.selection {
        let by = match (&sel.metric, sel.direction) {
            (Some(m), Some(Direction::Min)) => format!("lowest {}", md(m)),
            (Some(m), Some(Direction::Max)) => format!("highest {}", md(m)),
            (Some(m), None) => md(m),
            (None, _) => "newest".into(),
        };
        for (label, side) in [("Base", &sel.base), ("Head", &sel.head)] {
            let chosen: Vec<String> = side.chosen.iter().map(|n| md_run(n)).collect();
            let _ = writeln!(
                s,
                "**{label}** {} ({}): {} of {} run(s) ({by}){}  ",
                md(&side.rev),
                Store::short(&side.commit),
                chosen.join(", "),
                side.runs.len(),
                match side.found_by.as_str() {
                    "rebased" => ", some matched after a rebase",
                    "merge-base" => ", from the merge base",
                    _ => "",
                }
            );
        }
        s.push('\n');
    }
    let _ = writeln!(s, "| metric | {} |", runs.join(" | "));
    let _ = writeln!(s, "|---|{}", "---|".repeat(runs.len()));
    for row in &c.metrics {
        let mut cells = Vec::new();
        for (i, cell) in row.values.iter().enumerate() {
            let Some(cell) = cell else {
                cells.push("–".to_owned());
                continue;
            };
            let value = md(&cell_value(cell, row.direction));
            let mut text = if row.best_run == Some(i) && c.runs.len() > 1 {
                format!("**{value}**")
            } else {
                value
            };
            let delta = delta_text(shown(cell, row.direction).1);
            if !delta.is_empty() {
                text = format!("{text} {delta}");
            }
            if !cell.sparkline.is_empty() {
                text = format!("{text} `{}`", cell.sparkline);
            }
            cells.push(text);
        }
        let _ = writeln!(s, "| {} | {} |", md(&metric_label(row)), cells.join(" | "));
    }
    let differs: Vec<_> = c.config.iter().filter(|r| r.differs).collect();
    if !differs.is_empty() {
        let _ =
            writeln!(s, "\n<details><summary>Config: {} key(s) differ</summary>\n", differs.len());
        let _ = writeln!(s, "| key | {} |", runs.join(" | "));
        let _ = writeln!(s, "|---|{}", "---|".repeat(runs.len()));
        for r in differs {
            let values: Vec<String> = r
                .values
                .iter()
                .map(|v| v.as_ref().map_or("*missing*".into(), |v| md(&format_value(v))))
                .collect();
            let _ = writeln!(s, "| {} | {} |", md(&r.key), values.join(" | "));
        }
        let _ = writeln!(s, "\n</details>");
    }
    if !c.env.is_empty() {
        let _ = writeln!(
            s,
            "\n<details><summary>Environment: {} difference(s)</summary>\n",
            c.env.len()
        );
        let _ = writeln!(s, "| key | {} |", runs.join(" | "));
        let _ = writeln!(s, "|---|{}", "---|".repeat(runs.len()));
        for r in &c.env {
            let values: Vec<String> =
                r.values.iter().map(|v| v.as_deref().map_or("*missing*".into(), md)).collect();
            let _ = writeln!(s, "| {} | {} |", md(&r.key), values.join(" | "));
        }
        let _ = writeln!(s, "\n</details>");
    }
    let changed: Vec<(usize, &crate::report::compare::DiffStat)> = c
        .code
        .iter()
        .enumerate()
        .filter_map(|(i, k)| k.diffstat.as_ref().map(|d| (i, d)))
        .collect();
    if c.code.len() > 1 {
        let summary: Vec<String> = changed
            .iter()
            .map(|(i, d)| {
                format!(
                    "{}: {} file(s), +{} −{}",
                    html_run(&c.runs[*i].name),
                    d.files_changed,
                    d.insertions,
                    d.deletions
                )
            })
            .collect();
        let _ = writeln!(
            s,
            "\n<details><summary>Code changes from {}: {}</summary>\n",
            html_run(&c.runs[0].name),
            if summary.is_empty() { "none".to_owned() } else { summary.join("; ") }
        );
        for (i, d) in &changed {
            let _ = writeln!(s, "{}:\n", md_run(&c.runs[*i].name));
            for f in d.files.iter().take(50) {
                let counts = match (f.insertions, f.deletions) {
                    (Some(a), Some(r)) => format!("+{a} −{r}"),
                    _ => "binary".into(),
                };
                let _ = writeln!(s, "- {} {counts}", crate::text::markdown_code(&f.path, false));
            }
            if d.files.len() > 50 {
                let _ = writeln!(s, "- … and {} more", d.files.len() - 50);
            }
            s.push('\n');
        }
        let _ = writeln!(s, "</details>");
    }
    let _ = writeln!(s, "\n<sub>↓ lower is better, ↑ higher is better; best values in bold; deltas against {}.</sub>", md_run(&c.runs[0].name));
    s
}

use crate::text::html as html_escape;

/// The comparison as one self-contained HTML page (no scripts, no other origin):
/// the tables, then one chart per metric with every run's curve.
pub fn html(c: &Comparison, curves: &[&Curves]) -> String {
    let mut s = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <title>git-exp compare</title>\n<style>body{font-family:system-ui,sans-serif;margin:2em}\
         table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}\
         .differs{background:#fff6d5}.best{font-weight:bold}.spark{font-family:monospace;color:#555}</style>\n</head><body>\n",
    );
    for (title, header, rows) in table_sections(c) {
        let _ = writeln!(
            s,
            "<h2>{}</h2>\n<table>\n<tr>{}</tr>",
            html_escape(&title),
            header.iter().map(|h| format!("<th>{}</th>", html_escape(h))).collect::<String>()
        );
        for row in rows {
            let class = if row.first().is_some_and(|k| k.starts_with('≠')) {
                " class=\"differs\""
            } else {
                ""
            };
            let cells: String =
                row.iter().map(|v| format!("<td>{}</td>", html_escape(v))).collect();
            let _ = writeln!(s, "<tr{class}>{cells}</tr>");
        }
        s.push_str("</table>\n");
    }
    for (_, chart) in curve_charts(c, curves) {
        let _ = writeln!(s, "<figure>{chart}</figure>");
    }
    s.push_str("</body></html>\n");
    s
}

/// One SVG chart per metric with every run's curve overlaid: (metric, svg).
pub fn curve_charts(c: &Comparison, curves: &[&Curves]) -> Vec<(String, String)> {
    let mut charts = Vec::new();
    for row in &c.metrics {
        let series: Vec<Series<'_>> = c
            .runs
            .iter()
            .zip(curves)
            .filter_map(|(run, curves)| {
                curves.get(&row.name).map(|points| Series { name: &run.name, points })
            })
            .collect();
        if series.iter().any(|s| !s.points.is_empty()) {
            charts
                .push((row.name.clone(), line_chart(&row.name, &series, &ChartOptions::default())));
        }
    }
    charts
}

/// The comparison as CSV rows: `section,key,<one column per run>`.
pub fn csv_rows(c: &Comparison) -> (Vec<String>, Vec<Vec<String>>) {
    let header = ["section".to_owned(), "key".to_owned()]
        .into_iter()
        .chain(c.runs.iter().map(|r| r.name.clone()))
        .collect();
    let mut rows = Vec::new();
    let num = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    for row in &c.metrics {
        for (field, pick) in [("last", 0), ("best", 1)] {
            if pick == 1 && row.direction.is_none() {
                continue;
            }
            let mut r = vec!["metric".to_owned(), format!("{}.{field}", row.name)];
            r.extend(row.values.iter().map(|c| {
                c.as_ref().map_or(String::new(), |c| {
                    if pick == 0 {
                        num(c.last).to_string()
                    } else {
                        num(c.best)
                    }
                })
            }));
            rows.push(r);
        }
    }
    for row in &c.config {
        let mut r = vec!["config".to_owned(), row.key.clone()];
        r.extend(row.values.iter().map(|v| v.as_ref().map(format_value).unwrap_or_default()));
        rows.push(r);
    }
    for row in &c.env {
        let mut r = vec!["env".to_owned(), row.key.clone()];
        r.extend(row.values.iter().map(|v| v.clone().unwrap_or_default()));
        rows.push(r);
    }
    let mut r = vec!["code".to_owned(), "commit".to_owned()];
    r.extend(c.code.iter().map(|k| k.commit.clone().unwrap_or_default()));
    rows.push(r);
    (header, rows)
}
