//! `git exp compare`: runs side by side, named or picked from the two sides of a
//! pull request (`--base`/`--head`).

use std::collections::BTreeMap;
use std::io::Write;

use clap::{Args, ValueEnum};

use super::output;
use super::{CliError, Context};
use crate::report::compare::{self, Comparison, Curves, DiffStat, Input};
use crate::report::compare_text;
use crate::report::direction::Direction;
use crate::report::select;
use crate::store::format::files;
use crate::store::metrics;
use crate::store::repo::Detail;
use crate::store::{RunRecord, Store};

/// Compare runs: config, metrics, environment and code side by side
#[derive(Debug, Args)]
#[command(after_help = "The first run is the baseline: deltas are against it. With --base and \
--head, the runs are picked from the two sides of a change (see docs/pull-requests.md). Metric \
directions: names with loss/error/mae/rmse/perplexity... are minimized, acc/f1/auc/precision/\
recall/r2/bleu... maximized; --direction overrides.")]
pub struct CompareArgs {
    /// Runs to compare (at least 2 without --base/--head); the first is the baseline
    #[arg(value_name = "RUN")]
    pub runs: Vec<String>,
    /// Pull-request mode: the base revision (e.g. origin/main)
    #[arg(long, value_name = "REV", requires = "head", conflicts_with = "runs")]
    pub base: Option<String>,
    /// Pull-request mode: the head revision (e.g. HEAD)
    #[arg(long, value_name = "REV", requires = "base")]
    pub head: Option<String>,
    /// Pull-request mode: pick the best run of each side by this metric
    #[arg(long, value_name = "NAME")]
    pub metric: Option<String>,
    /// Pull-request mode: compare every run of both sides, not the best of each
    #[arg(long)]
    pub all: bool,
    /// Whether smaller or larger is better for a metric (repeatable)
    #[arg(long = "direction", value_name = "NAME=min|max")]
    pub directions: Vec<String>,
    /// Also print the full code diff of each run against the first
    #[arg(long)]
    pub code: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = CompareFormat::Table)]
    pub format: CompareFormat,
    /// Same as --format json
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
}

/// Output formats of `compare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompareFormat {
    /// Aligned tables for people
    Table,
    /// GitHub-flavoured Markdown for a pull-request comment
    Markdown,
    /// Stable JSON for programs (see docs/json.md)
    Json,
    /// One row per key, one column per run
    Csv,
    /// A self-contained HTML page
    Html,
}

/// Runs `git exp compare`.
pub fn cmd_compare(
    args: CompareArgs,
    ctx: &Context,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    let directions = parse_directions(&args.directions)?;
    let store = ctx.open_store(err)?;
    let (runs, problems) = store.load_runs(Detail::Listing)?;
    // Runs named on the command line: other runs' problems matter only when
    // one of them cannot be found.
    let named = args.base.is_none() && args.head.is_none();
    if !named {
        super::warn_skipped(err, &problems);
    }
    let (chosen, sides, selection) = match (&args.base, &args.head) {
        (Some(base), Some(head)) => {
            let (b, h, sel) = select::select(
                &store,
                &runs,
                base,
                head,
                args.metric.as_deref(),
                &directions,
                args.all,
            )
            .map_err(selection_error)?;
            let sides =
                std::iter::repeat_n("base", b.len()).chain(std::iter::repeat_n("head", h.len()));
            let sides: Vec<Option<String>> = sides.map(|s| Some(s.to_owned())).collect();
            let names: Vec<String> = b.iter().chain(h.iter()).map(|r| r.name.clone()).collect();
            (names, sides, Some(sel))
        }
        _ => {
            if args.runs.len() < 2 {
                return Err(CliError::usage("compare needs at least two runs")
                    .hint("name them (`git exp compare lr-0.1 lr-0.01`), or pick them from a change with --base REV --head REV"));
            }
            let mut names = Vec::new();
            for spec in &args.runs {
                let picked = crate::store::spec::pick(&runs, spec, &|name| store.made_here(name));
                let (run, found) = picked.inspect_err(|_| super::warn_skipped(err, &problems))?;
                super::note_prefix(err, spec, &run.name, found);
                names.push(run.name.clone());
            }
            let sides = vec![None; names.len()];
            (names, sides, None)
        }
    };
    // Full records (env), curves and code of the chosen runs.
    let mut records: Vec<RunRecord> = Vec::new();
    for name in &chosen {
        let run = runs.iter().find(|r| &r.name == name).expect("chosen among the loaded runs");
        records.push(store.read_run(&run.name, run.committed()?, Detail::Full)?);
    }
    let commits: Vec<String> =
        records.iter().map(|r| r.committed().map(|c| c.to_string())).collect::<Result<_, _>>()?;
    let read: Vec<Result<Curves, String>> =
        store.map_run_files(&commits, files::METRICS, |blob| curves(blob.ok().flatten()));
    let mut curves: Vec<Curves> = Vec::with_capacity(read.len());
    for (record, result) in records.iter().zip(read) {
        curves.push(result.unwrap_or_else(|why| {
            super::ui::warning(
                err,
                &format!(
                    "run {}: metrics.csv cannot be read ({why}); its curves and sparklines are left out",
                    record.name
                ),
            );
            Curves::new()
        }));
    }
    let trees: Vec<Option<String>> =
        records.iter().map(|r| store.code_tree(r.committed()?)).collect::<Result<_, _>>()?;
    let base_tree = trees.first().cloned().flatten();
    let mut inputs = Vec::new();
    for (i, ((run, curves), side)) in records.iter().zip(curves).zip(sides).enumerate() {
        let diffstat = match (&base_tree, &trees[i]) {
            (Some(a), Some(b)) if i > 0 => Some(DiffStat::new(store.diff_stat(a, b)?)),
            _ => None,
        };
        inputs.push(Input { run, curves, code_tree: trees[i].clone(), diffstat, side });
    }
    let mut comparison = Comparison::build(&inputs, &directions);
    comparison.selection = selection;

    let format = if args.json { CompareFormat::Json } else { args.format };
    match format {
        CompareFormat::Json => output::write_json(out, &comparison)?,
        CompareFormat::Markdown => out.write_all(compare_text::markdown(&comparison).as_bytes())?,
        CompareFormat::Html => {
            let curves: Vec<&Curves> = inputs.iter().map(|i| &i.curves).collect();
            out.write_all(compare_text::html(&comparison, &curves).as_bytes())?
        }
        CompareFormat::Csv => {
            let (header, rows) = compare_text::csv_rows(&comparison);
            output::write_csv(out, &header, &rows)?;
        }
        CompareFormat::Table => {
            if let Some(sel) = &comparison.selection {
                for (label, side) in [("base", &sel.base), ("head", &sel.head)] {
                    writeln!(
                        out,
                        "{label}: {} ({}) {} run(s), compared: {}",
                        crate::text::line(&side.rev),
                        Store::short(&side.commit),
                        side.runs.len(),
                        crate::text::line(&side.chosen.join(", "))
                    )?;
                }
            }
            for (title, header, rows) in compare_text::table_sections(&comparison) {
                writeln!(out, "\n{}", super::ui::paint(ctx.ui.color, super::ui::BOLD, &title))?;
                output::write_table(out, &ctx.ui, &header, &rows)?;
            }
        }
    }
    if args.code {
        for (i, run) in records.iter().enumerate().skip(1) {
            if let (Some(a), Some(b)) = (&base_tree, &trees[i]) {
                let (name, base) =
                    (crate::text::line(&run.name), crate::text::line(&records[0].name));
                writeln!(out, "\n# code of {name} against {base}")?;
                // The code comes from the run: no control character leaves
                // as it is, on a terminal or in a pipe.
                let patch = store.diff_patch(a, b)?;
                out.write_all(crate::text::lines(&String::from_utf8_lossy(&patch)).as_bytes())?;
            }
        }
    }
    Ok(())
}

/// `NAME=min|max` pairs.
fn parse_directions(args: &[String]) -> Result<BTreeMap<String, Direction>, CliError> {
    let mut out = BTreeMap::new();
    for arg in args {
        let (name, dir) = arg.rsplit_once('=').unwrap_or((arg, ""));
        let dir = match dir {
            "min" => Direction::Min,
            "max" => Direction::Max,
            _ => {
                return Err(CliError::usage(format!("bad --direction '{arg}'"))
                    .hint("write NAME=min or NAME=max, e.g. --direction val/score=max"))
            }
        };
        out.insert(name.to_owned(), dir);
    }
    Ok(out)
}

/// A run's curves: each metric's points in step order (empty without a
/// metrics.csv), or why its metrics.csv cannot be read.
fn curves(blob: Option<Vec<u8>>) -> Result<Curves, String> {
    let Some(bytes) = blob else { return Ok(Curves::new()) };
    let curves = metrics::read_curves(&bytes).map_err(|e| e.to_string())?;
    Ok(compare::step_curves(&curves))
}

fn selection_error(e: select::Error) -> CliError {
    match e {
        select::Error::Store(e) => e.into(),
        select::Error::NoRuns { side, .. } => {
            let hint = if side == "head" {
                "run experiments on the branch, or fetch them: git fetch origin '+refs/experiments/*:refs/experiments/*'"
            } else {
                "fetch the base's runs (git fetch origin '+refs/experiments/*:refs/experiments/*'), or record one on the base branch"
            };
            CliError::user(e.to_string()).hint(hint)
        }
        select::Error::NoMetric { .. } => CliError::user(e.to_string())
            .hint("`git exp list` shows each run's metrics; pick one with --metric"),
    }
}
