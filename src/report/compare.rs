//! The comparison model behind `git exp compare` (and the report's compare
//! pages): runs side by side, the first one the baseline. Config keys that
//! differ come first; each metric has its last and best value (best by the
//! metric's direction), deltas against the baseline and a sparkline of its
//! curve; the environment only where it differs; the code as a diffstat
//! against the baseline's code. Its JSON shape is documented in docs/json.md.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::report::direction::{self, Direction};
use crate::report::model::{flatten, number};
use crate::store::format::Status;
use crate::store::history::FileStat;
use crate::store::metrics::TimedCurves;
use crate::store::RunRecord;

/// One run of the comparison.
#[derive(Debug, Clone, Serialize)]
pub struct ComparedRun {
    /// Run name.
    pub name: String,
    /// Run id.
    pub id: String,
    /// Run commit.
    pub commit: Option<String>,
    /// Code commit.
    pub code_commit: Option<String>,
    /// Whether the code had uncommitted changes.
    pub code_dirty: bool,
    /// Status.
    pub status: Status,
    /// Start, RFC 3339.
    pub started: String,
    /// In pull-request mode: `"base"` or `"head"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub side: Option<String>,
}

/// One config key across the runs.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigRow {
    /// Dotted key.
    pub key: String,
    /// Whether the runs disagree (a missing key counts as a difference).
    pub differs: bool,
    /// One value per run; `null` where the run does not have the key.
    pub values: Vec<Option<serde_json::Value>>,
}

/// A change against the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Delta {
    /// `value - baseline`.
    pub abs: f64,
    /// `(value - baseline) / |baseline|`; `null` when the baseline is 0 or not finite.
    pub rel: Option<f64>,
    /// Whether the change is an improvement (by the metric's direction); `null` when the
    /// direction is unknown or nothing changed.
    pub better: Option<bool>,
}

/// One metric of one run.
#[derive(Debug, Clone, Serialize)]
pub struct MetricCell {
    /// The value at the last step; for a value only set with `_summary`, that value.
    pub last: Option<f64>,
    /// The best value by the metric's direction (`null` when the direction is unknown).
    pub best: Option<f64>,
    /// Number of points.
    pub count: u64,
    /// The value set with `_summary`, when it is not a number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// `last` against the baseline's `last` (`null` for the baseline itself).
    pub delta_last: Option<Delta>,
    /// `best` against the baseline's `best`.
    pub delta_best: Option<Delta>,
    /// The curve in 16 block characters, scaled to the row's range ("" without points).
    pub sparkline: String,
}

/// One metric across the runs.
#[derive(Debug, Clone, Serialize)]
pub struct MetricRow {
    /// Metric name.
    pub name: String,
    /// Its direction, from `--direction` or the name; `null` when unknown.
    pub direction: Option<Direction>,
    /// One cell per run; `null` where the run did not log it.
    pub values: Vec<Option<MetricCell>>,
    /// Index of the run with the best value (`best`, or `last` without a direction; the
    /// first on ties); `null` when the direction is unknown.
    pub best_run: Option<usize>,
}

/// One environment entry that differs between the runs.
#[derive(Debug, Clone, Serialize)]
pub struct EnvRow {
    /// Dotted key of env.toml (`python.version`, `packages.numpy`, `gpu`).
    pub key: String,
    /// One value per run; `null` where the run does not have it.
    pub values: Vec<Option<String>>,
}

/// The code of one run.
#[derive(Debug, Clone, Serialize)]
pub struct CodeCell {
    /// The code commit (HEAD when the run started).
    pub commit: Option<String>,
    /// Whether uncommitted changes were part of the run's code.
    pub dirty: bool,
    /// The run's `code` tree.
    pub tree: Option<String>,
    /// Files changed from the baseline's `code` tree (`null` for the baseline, or when
    /// either tree is missing).
    pub diffstat: Option<DiffStat>,
}

/// Changes between two code trees.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DiffStat {
    /// Number of files changed.
    pub files_changed: usize,
    /// Lines added.
    pub insertions: u64,
    /// Lines removed.
    pub deletions: u64,
    /// Per file.
    pub files: Vec<FileStat>,
}

impl DiffStat {
    /// Totals of per-file changes.
    pub fn new(files: Vec<FileStat>) -> DiffStat {
        DiffStat {
            files_changed: files.len(),
            insertions: files.iter().filter_map(|f| f.insertions).sum(),
            deletions: files.iter().filter_map(|f| f.deletions).sum(),
            files,
        }
    }
}

/// Runs side by side; the first is the baseline.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The runs, baseline first.
    pub runs: Vec<ComparedRun>,
    /// Config keys: those that differ first, then the rest, each group by key.
    pub config: Vec<ConfigRow>,
    /// Metrics by name.
    pub metrics: Vec<MetricRow>,
    /// Environment entries that differ, by key.
    pub env: Vec<EnvRow>,
    /// The code of each run.
    pub code: Vec<CodeCell>,
    /// In pull-request mode: how the runs were picked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selection: Option<crate::report::select::Selection>,
}

/// Each metric's `(step, value)` points in step order (what sparklines and
/// charts are drawn from).
pub type Curves = BTreeMap<String, Vec<(f64, f64)>>;

/// One curve of `metrics.csv` as chart points: `(step, value)` in step order,
/// points of one step in logged order. The one reader of curves for sparklines,
/// compare charts and the report's run pages.
pub fn by_step(points: &[(u64, f64, f64)]) -> Vec<(f64, f64)> {
    let mut sorted = points.to_vec();
    sorted.sort_by_key(|p| p.0);
    sorted.into_iter().map(|(step, value, _)| (step as f64, value)).collect()
}

/// Every curve of a run as chart points ([`by_step`]).
pub fn step_curves(curves: &TimedCurves) -> Curves {
    curves.iter().map(|(name, points)| (name.clone(), by_step(points))).collect()
}

/// What the comparison is built from, per run: the record (with `env`), its
/// curves, and its code diffstat against the baseline.
pub struct Input<'a> {
    /// The run.
    pub run: &'a RunRecord,
    /// Its metric curves.
    pub curves: Curves,
    /// Its code tree.
    pub code_tree: Option<String>,
    /// Changes from the baseline's code tree.
    pub diffstat: Option<DiffStat>,
    /// `"base"`/`"head"` in pull-request mode.
    pub side: Option<String>,
}

/// Width of sparklines in characters.
pub const SPARK_WIDTH: usize = 16;
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

impl Comparison {
    /// Builds the comparison; `directions` override the inferred ones by metric name.
    pub fn build(inputs: &[Input<'_>], directions: &BTreeMap<String, Direction>) -> Comparison {
        let runs = inputs
            .iter()
            .map(|i| ComparedRun {
                name: i.run.name.clone(),
                id: i.run.exp.id.clone(),
                commit: i.run.commit.as_ref().map(|c| c.to_string()),
                code_commit: i.run.exp.code_commit.clone(),
                code_dirty: i.run.exp.code_dirty,
                status: i.run.exp.status,
                started: i.run.exp.started.clone(),
                side: i.side.clone(),
            })
            .collect();
        Comparison {
            runs,
            config: config_rows(inputs),
            metrics: metric_rows(inputs, directions),
            env: env_rows(inputs),
            code: inputs
                .iter()
                .map(|i| CodeCell {
                    commit: i.run.exp.code_commit.clone(),
                    dirty: i.run.exp.code_dirty,
                    tree: i.code_tree.clone(),
                    diffstat: i.diffstat.clone(),
                })
                .collect(),
            selection: None,
        }
    }
}

fn config_rows(inputs: &[Input<'_>]) -> Vec<ConfigRow> {
    let flat: Vec<BTreeMap<String, serde_json::Value>> = inputs
        .iter()
        .map(|i| {
            let json = serde_json::to_value(&i.run.config).unwrap_or_default();
            flatten(&json).into_iter().map(|(k, v)| (k, v.clone())).collect()
        })
        .collect();
    let keys: BTreeSet<&String> = flat.iter().flat_map(|m| m.keys()).collect();
    let mut rows: Vec<ConfigRow> = keys
        .into_iter()
        .map(|k| {
            let values: Vec<Option<serde_json::Value>> =
                flat.iter().map(|m| m.get(k).cloned()).collect();
            let differs = values.windows(2).any(|w| w[0] != w[1]);
            ConfigRow { key: k.clone(), differs, values }
        })
        .collect();
    // Stable: keys stay in order within each group.
    rows.sort_by_key(|r| !r.differs);
    rows
}

fn metric_rows(inputs: &[Input<'_>], directions: &BTreeMap<String, Direction>) -> Vec<MetricRow> {
    let mut names: BTreeSet<&str> = BTreeSet::new();
    for i in inputs {
        names.extend(i.run.summary.metrics.keys().map(String::as_str));
        names.extend(i.run.summary.values.keys().map(String::as_str));
    }
    names
        .into_iter()
        .map(|name| {
            let direction = direction::resolve(name, directions);
            let mut values: Vec<Option<MetricCell>> =
                inputs.iter().map(|i| cell(i, name, direction)).collect();
            sparklines(inputs, name, &mut values);
            let base = values.first().cloned().flatten();
            for cell in values.iter_mut().skip(1).flatten() {
                if let Some(base) = &base {
                    cell.delta_last = delta(base.last, cell.last, direction);
                    cell.delta_best = delta(base.best, cell.best, direction);
                }
            }
            let best_run = direction.and_then(|d| best_index(&values, d));
            MetricRow { name: name.to_owned(), direction, values, best_run }
        })
        .collect()
}

fn cell(input: &Input<'_>, name: &str, direction: Option<Direction>) -> Option<MetricCell> {
    let summary = &input.run.summary;
    let explicit = summary.values.get(name);
    let stats = summary.metrics.get(name);
    if explicit.is_none() && stats.is_none() {
        return None;
    }
    let explicit_number = explicit.and_then(number);
    let text = match explicit {
        Some(v) if explicit_number.is_none() => Some(match v {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        }),
        _ => None,
    };
    // An explicit value is what the script says the result is: it wins over the curve.
    let last = explicit_number.or(stats.map(|s| s.last));
    let best = match (direction, stats) {
        (Some(Direction::Min), Some(s)) => Some(explicit_number.map_or(s.min, |e| e.min(s.min))),
        (Some(Direction::Max), Some(s)) => Some(explicit_number.map_or(s.max, |e| e.max(s.max))),
        (Some(_), None) => explicit_number,
        (None, _) => None,
    };
    Some(MetricCell {
        last,
        best,
        count: stats.map_or(0, |s| s.count),
        text,
        delta_last: None,
        delta_best: None,
        sparkline: String::new(),
    })
}

fn delta(base: Option<f64>, value: Option<f64>, direction: Option<Direction>) -> Option<Delta> {
    let (base, value) = (base?, value?);
    let abs = value - base;
    let rel = (base != 0.0 && base.is_finite() && abs.is_finite()).then(|| abs / base.abs());
    let better = match direction {
        _ if abs == 0.0 || abs.is_nan() => None,
        Some(Direction::Min) => Some(abs < 0.0),
        Some(Direction::Max) => Some(abs > 0.0),
        None => None,
    };
    Some(Delta { abs, rel, better })
}

fn best_index(values: &[Option<MetricCell>], direction: Direction) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, cell) in values.iter().enumerate() {
        let Some(v) = cell.as_ref().and_then(|c| c.best).filter(|v| !v.is_nan()) else { continue };
        let wins = match (best, direction) {
            (None, _) => true,
            (Some((_, b)), Direction::Min) => v < b,
            (Some((_, b)), Direction::Max) => v > b,
        };
        if wins {
            best = Some((i, v));
        }
    }
    best.map(|(i, _)| i)
}

/// Draws each run's curve of `name`, all on the same scale.
fn sparklines(inputs: &[Input<'_>], name: &str, cells: &mut [Option<MetricCell>]) {
    let buckets: Vec<Option<Vec<f64>>> =
        inputs.iter().map(|i| i.curves.get(name).map(|c| downsample(c, SPARK_WIDTH))).collect();
    // (downsample averages values only; x is the point's position in step order.)
    let finite = buckets.iter().flatten().flatten().copied().filter(|v| v.is_finite());
    let (lo, hi) =
        finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    for (cell, bucket) in cells.iter_mut().zip(buckets) {
        if let (Some(cell), Some(bucket)) = (cell.as_mut(), bucket) {
            cell.sparkline = bucket
                .iter()
                .map(|v| {
                    if !v.is_finite() {
                        ' '
                    } else if hi <= lo {
                        BARS[3]
                    } else {
                        let level = ((v - lo) / (hi - lo) * (BARS.len() - 1) as f64).round();
                        BARS[level as usize]
                    }
                })
                .collect();
        }
    }
}

/// Means of the values of `width` equal slices of `points` (fewer when there are fewer).
fn downsample(points: &[(f64, f64)], width: usize) -> Vec<f64> {
    let values: Vec<f64> = points.iter().map(|p| p.1).collect();
    let n = values.len();
    if n <= width {
        return values;
    }
    (0..width)
        .map(|b| {
            let slice = &values[b * n / width..(b + 1) * n / width];
            let finite: Vec<f64> = slice.iter().copied().filter(|v| v.is_finite()).collect();
            if finite.is_empty() {
                f64::NAN
            } else {
                finite.iter().sum::<f64>() / finite.len() as f64
            }
        })
        .collect()
}

fn env_rows(inputs: &[Input<'_>]) -> Vec<EnvRow> {
    let flat: Vec<BTreeMap<String, String>> = inputs
        .iter()
        .map(|i| {
            let Some(env) = &i.run.env else { return BTreeMap::new() };
            let json = serde_json::to_value(env).unwrap_or_default();
            flatten(&json)
                .into_iter()
                .filter(|(k, _)| !VOLATILE_ENV.contains(&k.as_str()))
                .map(|(k, v)| (k, crate::report::model::format_value(v)))
                .collect()
        })
        .collect();
    let keys: BTreeSet<&String> = flat.iter().flat_map(|m| m.keys()).collect();
    keys.into_iter()
        .filter_map(|k| {
            let values: Vec<Option<String>> = flat.iter().map(|m| m.get(k).cloned()).collect();
            values.windows(2).any(|w| w[0] != w[1]).then(|| EnvRow { key: k.clone(), values })
        })
        .collect()
}

/// env.toml entries that differ between any two runs and say nothing about results.
const VOLATILE_ENV: &[&str] = &["git.describe", "workdir"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_are_in_step_order_and_keep_logged_order_within_a_step() {
        let points =
            [(3, 0.3, 9.0), (1, 0.1, 8.0), (3, f64::NAN, 7.0), (0, 1.0, 6.0), (1, 0.2, 5.0)];
        let got = by_step(&points);
        assert_eq!(got.iter().map(|p| p.0).collect::<Vec<_>>(), [0.0, 1.0, 1.0, 3.0, 3.0]);
        assert_eq!(got[1].1, 0.1);
        assert_eq!(got[2].1, 0.2);
        assert_eq!(got[3].1, 0.3);
        assert!(got[4].1.is_nan(), "NaN points are kept for the chart to skip");
        let timed =
            TimedCurves::from([("loss".to_owned(), points.to_vec()), ("acc".into(), vec![])]);
        let curves = step_curves(&timed);
        assert_eq!(curves.keys().collect::<Vec<_>>(), ["acc", "loss"]);
        assert_eq!(curves["loss"].len(), 5);
        assert!(curves["acc"].is_empty());
    }

    #[test]
    fn deltas_and_improvement() {
        let d = delta(Some(0.5), Some(0.4), Some(Direction::Min)).unwrap();
        assert!((d.abs + 0.1).abs() < 1e-12);
        assert!((d.rel.unwrap() + 0.2).abs() < 1e-12);
        assert_eq!(d.better, Some(true));
        let d = delta(Some(0.0), Some(0.4), Some(Direction::Max)).unwrap();
        assert_eq!((d.rel, d.better), (None, Some(true)));
        assert_eq!(delta(Some(1.0), Some(1.0), Some(Direction::Max)).unwrap().better, None);
        assert!(delta(None, Some(1.0), None).is_none());
    }

    #[test]
    fn downsampling_keeps_the_shape() {
        let v: Vec<(f64, f64)> = (0..1600).map(|i| (f64::from(i), f64::from(i))).collect();
        let d = downsample(&v, 16);
        assert_eq!(d.len(), 16);
        assert_eq!(d[0], 49.5);
        assert_eq!(d[15], 1549.5);
        assert_eq!(downsample(&[(0.0, 1.0), (1.0, 2.0)], 16), [1.0, 2.0]);
    }
}
