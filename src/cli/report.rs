//! `git exp report`: the static HTML site of the selected runs.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::list::bad;
use super::{CliError, Context};
use crate::capture::metrics::{Metrics, TimedCurves};
use crate::report::compare::{Comparison, Input};
use crate::report::filter::{self, Engine};
use crate::report::site::{self, Manifest, RunData, SiteOptions};
use crate::store::format::{files, Storage};
use crate::store::repo::Detail;
use crate::store::{name, RunRecord, Store};

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
    let (all, problems) = store.load_runs(Detail::Listing)?;
    super::warn_skipped(err, &problems);
    let mut runs: Vec<RunRecord> = if args.runs.is_empty() {
        let outcome = filter::select(all, filter.as_ref(), &[])
            .map_err(|e| bad("--filter expression", args.filter.as_deref().unwrap_or(""), e))?;
        outcome.runs
    } else {
        let mut picked = Vec::new();
        let mut seen = BTreeSet::new();
        for spec in &args.runs {
            let (run, found) = crate::store::spec::pick(&all, spec, &|name| store.made_here(name))?;
            super::note_prefix(err, spec, &run.name, found);
            if seen.insert(run.name.clone()) {
                picked.push(run.clone());
            }
        }
        crate::store::spec::sort_newest_first(&mut picked);
        picked
    };
    // Names become paths: a run fetched from elsewhere with an unusable name is left out.
    runs.retain(|r| {
        let ok = name::validate(&r.name).is_ok();
        if !ok {
            let _ = writeln!(err, "warning: run '{}' left out: its name cannot be a path", r.name);
        }
        ok
    });
    let out = ctx.cwd.join(&args.output);
    fs_err::create_dir_all(&out).map_err(|e| {
        CliError::user(format!("cannot make the site directory {}: {e}", out.display()))
            .hint("give -o a directory, new or one that git exp report wrote before")
    })?;
    let site = SiteOptions {
        out: &out,
        title: &args.title,
        base_url: args.base_url.as_deref(),
        scatter_metric: args.metric.as_deref(),
    };
    let mut manifest = Manifest::load(&out);
    site::upgrade(&out, &mut manifest);
    let compared: Vec<&RunRecord> = runs.iter().take(args.compare).collect();
    let has_compare = compared.len() >= 2;
    // Run pages depend on their run, the templates and these settings only.
    let page_key = format!(
        "{templates_hash} {:?} {:?} {has_compare}",
        args.title,
        args.base_url.as_deref().unwrap_or("")
    );
    let stale: Vec<&RunRecord> = site::stale_runs(&runs, &manifest, &page_key, &out);

    // Read what the stale pages and the comparison need: full records, curves, diffs.
    let mut needed: Vec<&RunRecord> = stale.clone();
    for r in &compared {
        if !needed.iter().any(|n| n.name == r.name) {
            needed.push(r);
        }
    }
    // A running run has no commit: its files read as missing, as for any unreadable run.
    let commits: Vec<String> =
        needed.iter().map(|r| r.commit.as_deref().unwrap_or_default().to_owned()).collect();
    let curves: Vec<TimedCurves> = store.map_run_files(&commits, files::METRICS, |blob| {
        blob.ok().flatten().and_then(|b| Metrics::read_curves(&b).ok()).unwrap_or_default()
    });
    // One run that cannot be read (a damaged env.toml, a missing code tree)
    // is left out with a warning; the others are still published.
    let mut data: Vec<RunData> = Vec::new();
    let mut unreadable: BTreeSet<String> = BTreeSet::new();
    for (run, curves) in needed.iter().zip(curves) {
        match run_data(&store, run, curves) {
            Ok(d) => data.push(d),
            Err(e) => {
                let _ = writeln!(err, "warning: skipped a run: {}: {e}", run.name);
                unreadable.insert(run.name.clone());
            }
        }
    }

    let mut built = site::Built::default();
    let stale_names: BTreeSet<&str> = stale.iter().map(|r| r.name.as_str()).collect();
    let rendered: Vec<&RunData> =
        data.iter().filter(|d| stale_names.contains(d.record.name.as_str())).collect();
    let threads =
        std::thread::available_parallelism().map_or(1, |n| n.get()).min(rendered.len()).max(1);
    let chunk = rendered.len().div_ceil(threads).max(1);
    let results: Vec<Result<usize, site::Error>> = std::thread::scope(|scope| {
        let handles: Vec<_> = rendered
            .chunks(chunk)
            .map(|part| {
                let (env, site) = (&env, &site);
                scope.spawn(move || {
                    part.iter()
                        .map(|d| site::write_run_page(env, d, site, has_compare))
                        .sum::<Result<usize, site::Error>>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("page thread")).collect()
    });
    for r in results {
        built.written += r.map_err(|e| CliError::user(e.to_string()))?;
    }
    built.rendered = rendered.len();
    built.kept = runs.len().saturating_sub(rendered.len() + unreadable.len());

    // The comparison of the newest runs, from the same model as `git exp compare`.
    let comparison = if has_compare {
        let inputs: Vec<Input<'_>> = compared
            .iter()
            .filter_map(|r| data.iter().find(|d| d.record.name == r.name))
            .map(|d| Input {
                run: &d.record,
                curves: d
                    .curves
                    .iter()
                    .map(|(k, v)| {
                        let mut v = v.clone();
                        v.sort_by_key(|p| p.0);
                        (k.clone(), v.into_iter().map(|(s, y, _)| (s as f64, y)).collect())
                    })
                    .collect(),
                code_tree: None,
                diffstat: None,
                side: None,
            })
            .collect();
        let c = Comparison::build(&inputs, &BTreeMap::new());
        let curves: Vec<_> = inputs.into_iter().map(|i| i.curves).collect();
        Some((c, curves))
    } else {
        None
    };
    runs.retain(|r| !unreadable.contains(&r.name));
    built.written += site::write_site_pages(
        &env,
        &runs,
        comparison.as_ref().map(|(c, curves)| (c, curves.as_slice())),
        &site,
    )
    .map_err(|e| CliError::user(e.to_string()))?;
    if !has_compare {
        let _ = fs_err::remove_file(out.join("compare.html"));
    }
    let pages: BTreeMap<String, String> = runs
        .iter()
        .map(|r| (site::run_page(&r.name).0, r.commit.as_deref().unwrap_or_default().to_owned()))
        .collect();
    let keep: BTreeSet<String> = pages.keys().cloned().collect();
    built.removed = site::remove_stale(&out, &manifest, &keep);
    site::write_manifest(
        &out,
        &Manifest { format: site::MANIFEST_FORMAT, pages, templates: page_key },
    )
    .map_err(|e| CliError::user(e.to_string()))?;
    let _ = writeln!(
        err,
        "git-exp: report of {} run(s) in {}: {} page(s) rendered, {} unchanged, {} file(s) written, {} removed",
        runs.len(),
        out.display(),
        built.rendered,
        built.kept,
        built.written,
        built.removed
    );
    Ok(0)
}

/// Everything a run's page and the comparison need of `run`.
fn run_data(
    store: &Store,
    run: &RunRecord,
    curves: TimedCurves,
) -> Result<RunData, crate::store::Error> {
    let record = store.read_run(&run.name, run.committed()?, Detail::Full)?;
    let code_diff = match (record.exp.code_dirty, &record.exp.code_commit) {
        (true, Some(code_commit)) => {
            let parent = store.commit_tree(code_commit)?;
            let tree = store.code_tree(record.committed()?)?;
            match (parent, tree) {
                (Some(a), Some(b)) => Some(site::page_diff(&store.diff_patch(&a, &b)?)),
                _ => None,
            }
        }
        _ => None,
    };
    let mut inline = BTreeMap::new();
    for a in record.artifacts.artifacts.iter().filter(|a| a.storage == Storage::Inline) {
        if crate::artifacts::clean_name(&a.path).as_deref() != Ok(a.path.as_str()) {
            continue;
        }
        if let Some(bytes) = store
            .read_run_path(record.committed()?, &format!("{}/{}", files::ARTIFACTS_DIR, a.path))?
        {
            inline.insert(a.path.clone(), bytes);
        }
    }
    Ok(RunData { record, curves, code_diff, inline })
}
