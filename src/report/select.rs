//! Pull-request mode of `compare`: which runs belong to each side of a change.
//!
//! - head side: runs whose code commit is in `BASE..HEAD`, plus runs whose code
//!   commit is in neither history but has the patch of a commit in `BASE..HEAD`
//!   (the branch was rebased: the run commit's parent keeps the old commit);
//! - base side: runs whose code commit is in `HEAD..BASE`; when there are none,
//!   the runs of the newest commit that has runs on the first-parent history of
//!   the merge base.
//!
//! Then the best run of each side by one metric, or the newest without one, or
//! every run with `all`.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use crate::report::direction::{self, Direction};
use crate::report::model::number;
use crate::store::history::is_object_id;
use crate::store::{RunRecord, Store};

/// How far back the base side's fallback looks for a commit with runs.
const FALLBACK_DEPTH: usize = 10_000;

/// What was compared and why, for the output.
#[derive(Debug, Clone, Serialize)]
pub struct Selection {
    /// The base side.
    pub base: Side,
    /// The head side.
    pub head: Side,
    /// The metric that picked the best run per side, if any.
    pub metric: Option<String>,
    /// Its direction.
    pub direction: Option<Direction>,
}

/// One side of a pull request.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    /// The revision as given.
    pub rev: String,
    /// The commit it names.
    pub commit: String,
    /// Names of all runs of this side, newest first.
    pub runs: Vec<String>,
    /// Names of the runs compared (the best one, or all).
    pub chosen: Vec<String>,
    /// How the side's runs were found: `"range"`, `"rebased"` (some matched by
    /// patch id), or `"merge-base"` (the base fallback).
    pub found_by: String,
}

/// Errors of the selection.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store or git failed.
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    /// A side has no runs.
    #[error("no runs on the {side} side ({detail})")]
    NoRuns {
        /// `base` or `head`.
        side: &'static str,
        /// Which commits were looked at.
        detail: String,
    },
    /// No run of a side logged the metric.
    #[error("no run on the {side} side has the metric '{metric}'")]
    NoMetric {
        /// `base` or `head`.
        side: &'static str,
        /// The metric.
        metric: String,
    },
}

/// Picks the runs to compare: base side first, then head side. `runs` are the
/// repository's committed runs, newest first.
pub fn select<'a>(
    store: &Store,
    runs: &'a [RunRecord],
    base_rev: &str,
    head_rev: &str,
    metric: Option<&str>,
    directions: &BTreeMap<String, Direction>,
    all: bool,
) -> Result<(Vec<&'a RunRecord>, Vec<&'a RunRecord>, Selection), Error> {
    let base = store.resolve_commit(base_rev)?;
    let head = store.resolve_commit(head_rev)?;
    let head_only = store.commits_between(&base, &head)?;
    let base_only = store.commits_between(&head, &base)?;
    let code = |r: &RunRecord| r.exp.code_commit.clone().filter(|c| is_object_id(c));

    let mut head_runs: Vec<&RunRecord> = Vec::new();
    let mut base_runs: Vec<&RunRecord> = Vec::new();
    let mut elsewhere: Vec<&RunRecord> = Vec::new();
    for run in runs {
        match code(run) {
            Some(c) if head_only.contains(&c) => head_runs.push(run),
            Some(c) if base_only.contains(&c) => base_runs.push(run),
            Some(_) => elsewhere.push(run),
            None => {}
        }
    }

    // A rebased branch: the runs' code commits left every history, their patches did not.
    let mut head_found_by = "range";
    if !elsewhere.is_empty() && !head_only.is_empty() {
        let in_history: HashSet<String> = store.ancestors(&[&head, &base])?;
        let orphans: Vec<&RunRecord> = elsewhere
            .iter()
            .copied()
            .filter(|r| code(r).is_some_and(|c| !in_history.contains(&c)))
            .collect();
        if !orphans.is_empty() {
            let branch = store.patch_ids_between(&base, &head)?;
            let mut patch_of: HashMap<String, Option<String>> = HashMap::new();
            for run in orphans {
                let c = code(run).unwrap_or_default();
                let patch = patch_of.entry(c.clone()).or_insert_with(|| store.patch_id(&c));
                if patch.as_ref().is_some_and(|p| branch.contains_key(p)) {
                    head_runs.push(run);
                    head_found_by = "rebased";
                }
            }
            head_runs.sort_by(|a, b| {
                b.exp.started.cmp(&a.exp.started).then_with(|| b.exp.id.cmp(&a.exp.id))
            });
        }
    }

    let mut base_found_by = "range";
    if base_runs.is_empty() {
        base_found_by = "merge-base";
        if let Some(mb) = store.merge_base(&base, &head) {
            let mut by_commit: HashMap<String, Vec<&RunRecord>> = HashMap::new();
            for run in runs {
                if let Some(c) = code(run) {
                    by_commit.entry(c).or_default().push(run);
                }
            }
            for commit in store.first_parents(&mb, FALLBACK_DEPTH)? {
                if let Some(found) = by_commit.remove(&commit) {
                    base_runs = found;
                    break;
                }
            }
        }
    }

    if head_runs.is_empty() {
        return Err(Error::NoRuns {
            side: "head",
            detail: format!("commits in {base_rev}..{head_rev}"),
        });
    }
    if base_runs.is_empty() {
        return Err(Error::NoRuns {
            side: "base",
            detail: format!(
                "commits in {head_rev}..{base_rev} and the history of their merge base"
            ),
        });
    }

    let direction = metric.and_then(|m| direction::resolve(m, directions));
    let chosen = |side: &'static str,
                  runs: &[&'a RunRecord]|
     -> Result<Vec<&'a RunRecord>, Error> {
        if all {
            return Ok(runs.to_vec());
        }
        let Some(metric) = metric else { return Ok(runs.first().copied().into_iter().collect()) };
        let value = |r: &RunRecord| -> Option<f64> {
            let s = r.summary.metrics.get(metric);
            let explicit = r.summary.values.get(metric).and_then(number);
            match direction {
                Some(Direction::Min) => explicit.or(s.map(|s| s.min)),
                Some(Direction::Max) => explicit.or(s.map(|s| s.max)),
                None => explicit.or(s.map(|s| s.last)),
            }
            .filter(|v| !v.is_nan())
        };
        let mut best: Option<(&'a RunRecord, f64)> = None;
        for run in runs {
            let Some(v) = value(run) else { continue };
            let wins = match (best, direction) {
                (None, _) => true,
                (Some((_, b)), Some(Direction::Min)) => v < b,
                (Some((_, b)), _) => v > b,
            };
            if wins {
                best = Some((run, v));
            }
        }
        match best {
            Some((run, _)) => Ok(vec![run]),
            None => Err(Error::NoMetric { side, metric: metric.to_owned() }),
        }
    };
    let base_chosen = chosen("base", &base_runs)?;
    let head_chosen = chosen("head", &head_runs)?;
    let names = |runs: &[&RunRecord]| runs.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
    let selection = Selection {
        base: Side {
            rev: base_rev.to_owned(),
            commit: base,
            runs: names(&base_runs),
            chosen: names(&base_chosen),
            found_by: base_found_by.to_owned(),
        },
        head: Side {
            rev: head_rev.to_owned(),
            commit: head,
            runs: names(&head_runs),
            chosen: names(&head_chosen),
            found_by: head_found_by.to_owned(),
        },
        metric: metric.map(str::to_owned),
        direction,
    };
    Ok((base_chosen, head_chosen, selection))
}
