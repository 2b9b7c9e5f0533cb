//! The whole build of `git exp report`: which runs go on the site, what each
//! stale page and the comparison need (full records, curves, code diffs, inline
//! artifacts), the pages rendered in parallel, and the manifest that makes the
//! next build incremental. Notices reach a callback as they happen; nothing
//! here prints.

use std::collections::{BTreeMap, BTreeSet};

use minijinja::Environment;

use super::{Built, Manifest, RunData, SiteOptions};
use crate::report::compare::{Comparison, Input};
use crate::report::filter::{self, Filter};
use crate::store::format::{files, Storage};
use crate::store::metrics::{self, TimedCurves};
use crate::store::repo::Detail;
use crate::store::spec::Found;
use crate::store::{name, RunRecord, Store};

/// Errors of a build.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Reading the runs failed, or a run spec matches no run.
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    /// The filter failed to evaluate.
    #[error(transparent)]
    Filter(#[from] filter::Error),
    /// The output directory cannot be made.
    #[error("cannot make the site directory {path}: {error}")]
    OutputDir {
        /// The directory.
        path: String,
        /// The cause.
        error: std::io::Error,
    },
    /// A page failed to render or be written.
    #[error(transparent)]
    Site(#[from] super::Error),
}

/// What [`build`] builds.
pub struct Options<'a> {
    /// The template environment and the hash of its texts ([`super::environment`]).
    pub templates: (&'a Environment<'static>, &'a str),
    /// Run specs to include (empty: the runs `filter` selects, else every run).
    pub runs: &'a [String],
    /// The filter, when no runs are named.
    pub filter: Option<&'a Filter<'a>>,
    /// Site-wide settings (the output directory among them).
    pub site: SiteOptions<'a>,
    /// How many of the newest runs the comparison page holds (under 2: none).
    pub compare: usize,
}

/// What a build tells as it goes.
#[derive(Debug)]
pub enum Notice<'a> {
    /// Runs that could not be listed (they are left out).
    Skipped(&'a [crate::store::Error]),
    /// A spec picked a run by a prefix of its name.
    Picked {
        /// The spec given.
        spec: &'a str,
        /// The run's name.
        name: &'a str,
        /// How it was found.
        found: Found,
    },
    /// A run left out because its name cannot be a path.
    NotAPath(&'a str),
    /// A run left out because it cannot be read in full.
    Unreadable {
        /// The run's name.
        name: &'a str,
        /// Why.
        error: &'a crate::store::Error,
    },
}

/// Builds the site in `options.site.out`: renders the pages of runs that
/// changed since the manifest's build (or whose templates or settings did),
/// writes the site-wide pages, removes the pages of runs no longer selected and
/// writes the new manifest. A run that cannot be read is left out with a
/// notice; the others are still published.
pub fn build(
    store: &Store,
    options: &Options,
    notice: &mut dyn FnMut(Notice<'_>),
) -> Result<Built, BuildError> {
    let (env, templates_hash) = options.templates;
    let site = &options.site;
    let mut runs = select(store, options, notice)?;
    let out = site.out;
    fs_err::create_dir_all(out)
        .map_err(|error| BuildError::OutputDir { path: out.display().to_string(), error })?;
    let mut manifest = Manifest::load(out);
    super::upgrade(out, &mut manifest);
    let compared: Vec<&RunRecord> = runs.iter().take(options.compare).collect();
    let has_compare = compared.len() >= 2;
    // Run pages depend on their run, the templates and these settings only.
    let page_key = format!(
        "{templates_hash} {:?} {:?} {has_compare}",
        site.title,
        site.base_url.unwrap_or("")
    );
    let stale: Vec<&RunRecord> = super::stale_runs(&runs, &manifest, &page_key, out);

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
        blob.ok().flatten().and_then(|b| metrics::read_curves(&b).ok()).unwrap_or_default()
    });
    let mut data: Vec<RunData> = Vec::new();
    let mut unreadable: BTreeSet<String> = BTreeSet::new();
    for (run, curves) in needed.iter().zip(curves) {
        match run_data(store, run, curves) {
            Ok(d) => data.push(d),
            Err(e) => {
                notice(Notice::Unreadable { name: &run.name, error: &e });
                unreadable.insert(run.name.clone());
            }
        }
    }

    let mut built = Built::default();
    let stale_names: BTreeSet<&str> = stale.iter().map(|r| r.name.as_str()).collect();
    let rendered: Vec<&RunData> =
        data.iter().filter(|d| stale_names.contains(d.record.name.as_str())).collect();
    built.written += write_run_pages(env, &rendered, site, has_compare)?;
    built.rendered = rendered.len();
    built.kept = runs.len().saturating_sub(rendered.len() + unreadable.len());

    // The comparison of the newest runs, from the same model as `git exp compare`.
    let comparison = if has_compare {
        let inputs: Vec<Input<'_>> = compared
            .iter()
            .filter_map(|r| data.iter().find(|d| d.record.name == r.name))
            .map(|d| Input {
                run: &d.record,
                curves: crate::report::compare::step_curves(&d.curves),
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
    built.written += super::write_site_pages(
        env,
        &runs,
        comparison.as_ref().map(|(c, curves)| (c, curves.as_slice())),
        site,
    )?;
    if !has_compare {
        let _ = fs_err::remove_file(out.join("compare.html"));
    }
    let pages: BTreeMap<String, String> = runs
        .iter()
        .map(|r| (super::run_page(&r.name).0, r.commit.as_deref().unwrap_or_default().to_owned()))
        .collect();
    let keep: BTreeSet<String> = pages.keys().cloned().collect();
    built.removed = super::remove_stale(out, &manifest, &keep);
    super::write_manifest(
        out,
        &Manifest { format: super::MANIFEST_FORMAT, pages, templates: page_key },
    )?;
    built.runs = runs.len();
    Ok(built)
}

/// The runs on the site, newest first: those named, or those the filter selects.
/// Names become paths: a run fetched from elsewhere with an unusable name is left out.
fn select(
    store: &Store,
    options: &Options,
    notice: &mut dyn FnMut(Notice<'_>),
) -> Result<Vec<RunRecord>, BuildError> {
    let (all, problems) = store.load_runs(Detail::Listing)?;
    notice(Notice::Skipped(&problems));
    let mut runs: Vec<RunRecord> = if options.runs.is_empty() {
        filter::select(all, options.filter, &[])?.runs
    } else {
        let mut picked = Vec::new();
        let mut seen = BTreeSet::new();
        for spec in options.runs {
            let (run, found) = crate::store::spec::pick(&all, spec, &|name| store.made_here(name))?;
            notice(Notice::Picked { spec, name: &run.name, found });
            if seen.insert(run.name.clone()) {
                picked.push(run.clone());
            }
        }
        crate::store::spec::sort_newest_first(&mut picked);
        picked
    };
    runs.retain(|r| {
        let ok = name::validate(&r.name).is_ok();
        if !ok {
            notice(Notice::NotAPath(&r.name));
        }
        ok
    });
    Ok(runs)
}

/// Renders the run pages on as many threads as there are cores; returns the
/// number of files written.
fn write_run_pages(
    env: &Environment<'static>,
    rendered: &[&RunData],
    site: &SiteOptions,
    has_compare: bool,
) -> Result<usize, super::Error> {
    let threads =
        std::thread::available_parallelism().map_or(1, |n| n.get()).min(rendered.len()).max(1);
    let chunk = rendered.len().div_ceil(threads).max(1);
    let results: Vec<Result<usize, super::Error>> = std::thread::scope(|scope| {
        let handles: Vec<_> = rendered
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|d| super::write_run_page(env, d, site, has_compare))
                        .sum::<Result<usize, super::Error>>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("page thread")).collect()
    });
    results.into_iter().sum()
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
                (Some(a), Some(b)) => Some(super::page_diff(&store.diff_patch(&a, &b)?)),
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::store::RunFiles;

    fn write(store: &Store, name: &str, i: usize) -> String {
        let files = RunFiles {
            exp: crate::store::format::sample_exp(i, name),
            config: String::new(),
            metrics: b"step,name,value,time\n0,loss,1.5,1700000000\n1,loss,0.5,1700000001\n"
                .to_vec(),
            summary: String::new(),
            env: String::new(),
            output: Vec::new(),
            code_tree: None,
            artifacts: None,
            artifact_blobs: Vec::new(),
            message: format!("exp: {name}"),
            time: 1_700_000_000,
        };
        store.write_run(&files).unwrap()
    }

    /// Builds the site of every run in `out` with `title`; the notices as text.
    fn build_site(store: &Store, out: &Path, title: &str) -> (Built, Vec<String>) {
        let (env, hash) = super::super::environment(None).unwrap();
        let options = Options {
            templates: (&env, &hash),
            runs: &[],
            filter: None,
            site: SiteOptions { out, title, base_url: None, scatter_metric: None },
            compare: 8,
        };
        let mut notices = Vec::new();
        let built = build(store, &options, &mut |n| notices.push(format!("{n:?}"))).unwrap();
        (built, notices)
    }

    #[test]
    fn a_rebuild_renders_only_what_changed_and_removes_what_left() {
        let (dir, store) = crate::store::format::sample_store();
        let out = dir.path().join("site");
        write(&store, "a", 1);
        write(&store, "b", 2);
        let (first, notices) = build_site(&store, &out, "T");
        assert_eq!(notices, ["Skipped([])"]);
        assert_eq!((first.runs, first.rendered, first.kept, first.removed), (2, 2, 0, 0));
        assert!(first.written > 0);
        assert!(out.join("index.html").is_file() && out.join("compare.html").is_file());
        let manifest = Manifest::load(&out);
        assert_eq!(manifest.pages.len(), 2);

        // Nothing changed: no run page is rendered again.
        let (again, _) = build_site(&store, &out, "T");
        assert_eq!((again.runs, again.rendered, again.kept, again.removed), (2, 0, 2, 0));

        // A third run: only its page is rendered.
        write(&store, "c", 3);
        let (more, _) = build_site(&store, &out, "T");
        assert_eq!((more.runs, more.rendered, more.kept), (3, 1, 2));

        // Another title is in every page: all are rendered again.
        let (retitled, _) = build_site(&store, &out, "U");
        assert_eq!((retitled.rendered, retitled.kept), (3, 0));

        // A deleted run's page goes, and the manifest forgets it.
        let c = store.run_ref("c").unwrap().unwrap();
        store.delete_runs(&[("c".into(), c)]).unwrap();
        let (fewer, _) = build_site(&store, &out, "U");
        assert_eq!((fewer.runs, fewer.rendered, fewer.kept, fewer.removed), (2, 0, 2, 1));
        let manifest = Manifest::load(&out);
        assert_eq!(manifest.pages.len(), 2);
        assert!(!manifest.pages.contains_key("runs/c/index.html"), "{:?}", manifest.pages);
        assert!(!out.join("runs/c/index.html").exists());
    }
}
