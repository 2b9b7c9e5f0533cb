//! `git exp report`: a static site from minijinja templates (embedded, or
//! overridden by file name from a directory), with autoescaping for every
//! value; charts are SVG rendered here and inserted as trusted markup. Pages
//! never load anything from another origin. Run pages are cached by the run's
//! commit id in a manifest (`.git-exp-report.json`), so a rebuild renders only
//! runs that changed; site-wide pages are written only when their bytes change.
//! Output is deterministic for the same runs and templates. A run's inline
//! artifacts go on the site only as `inert` decides (raster images or text,
//! named by hash), whatever the templates do. [`build`] is the whole build:
//! selection, reading what the pages need, and the incremental manifest.

mod build;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use minijinja::{context, AutoEscape, Environment, Value};
use serde::{Deserialize, Serialize};

use crate::report::chart::{line_chart, Options as ChartOptions, Series};
use crate::report::compare::{Comparison, Curves};
use crate::report::compare_text::{curve_charts, table_sections};
use crate::report::inert;
use crate::report::model::{flatten, format_number, format_value, RunDetail, RunView};
use crate::store::format::{Entry, Storage};
use crate::store::{RunRecord, Store};
use crate::util::{human_bytes, human_duration};

pub use build::{build, BuildError, Notice, Options};

/// The embedded templates and assets, by file name.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("index.html", include_str!("../templates/index.html")),
    ("run.html", include_str!("../templates/run.html")),
    ("compare.html", include_str!("../templates/compare.html")),
];
const ASSETS: &[(&str, &str)] = &[
    ("assets/site.css", include_str!("../templates/site.css")),
    ("assets/site.js", include_str!("../templates/site.js")),
];
/// The manifest of what a build wrote.
pub const MANIFEST: &str = crate::store::code::REPORT_MANIFEST;
/// Format of the manifest. 2: inline artifacts are named by the rule of
/// `inert` (format 1 sites hold them under the runs' own names).
pub const MANIFEST_FORMAT: u32 = 2;
/// Directory beside a run's page that holds its inline artifacts.
const ARTIFACTS_DIR: &str = "artifacts";
/// Longest code diff shown on a run page, in bytes.
const MAX_DIFF: usize = 200 * 1024;

/// Errors of a build.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A template does not parse or fails to render.
    #[error("template {name}: {message}")]
    Template {
        /// The template's file name.
        name: String,
        /// What minijinja said.
        message: String,
    },
    /// `--templates` names no directory.
    #[error("templates directory {path} does not exist or is not a directory")]
    NoTemplates {
        /// The path given.
        path: String,
    },
    /// Writing the site failed.
    #[error("cannot write {path}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

fn template_error(name: &str, e: &minijinja::Error) -> Error {
    let mut message = e.to_string();
    if let Some(line) = e.line() {
        message = format!("{message} (line {line})");
    }
    Error::Template { name: name.to_owned(), message }
}

/// The template environment: embedded templates, each replaced by the file of
/// the same name in `dir` when there is one. Returns it with a hash of the
/// template texts (run pages rendered with other templates are rebuilt).
pub fn environment(dir: Option<&Path>) -> Result<(Environment<'static>, String), Error> {
    if let Some(dir) = dir.filter(|d| !d.is_dir()) {
        return Err(Error::NoTemplates { path: dir.display().to_string() });
    }
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    // Text from runs goes through the one HTML rule of `crate::text`, which
    // also shows control and format characters as `<U+XXXX>`.
    env.set_formatter(|out, state, value| {
        if let (AutoEscape::Html, false, Some(text)) =
            (state.auto_escape(), value.is_safe(), value.as_str())
        {
            return Ok(out.write_str(&crate::text::html(text))?);
        }
        minijinja::escape_formatter(out, state, value)
    });
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (name, embedded) in TEMPLATES {
        let text = match dir.map(|d| d.join(name)) {
            Some(path) if path.is_file() => fs_err::read_to_string(&path)
                .map_err(|source| Error::Io { path: path.display().to_string(), source })?,
            _ => (*embedded).to_owned(),
        };
        for b in name.bytes().chain(text.bytes()) {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        env.add_template_owned(*name, text).map_err(|e| template_error(name, &e))?;
    }
    let hash = format!("{hash:016x}-{}", env!("CARGO_PKG_VERSION"));
    Ok((env, hash))
}

/// Everything one run page needs.
pub struct RunData {
    /// The run, read in full.
    pub record: RunRecord,
    /// Its curves: `(step, value, time)` per metric, in file order.
    pub curves: crate::store::metrics::TimedCurves,
    /// Diff of its `code` tree against its code commit, when it had uncommitted changes.
    pub code_diff: Option<String>,
    /// Inline artifacts' bytes by path.
    pub inline: BTreeMap<String, Vec<u8>>,
}

/// Site-wide settings.
pub struct SiteOptions<'a> {
    /// Output directory.
    pub out: &'a Path,
    /// Title of the site.
    pub title: &'a str,
    /// Public URL of the site, for canonical links only.
    pub base_url: Option<&'a str>,
    /// The metric the params scatter plots use.
    pub scatter_metric: Option<&'a str>,
}

/// What a build did.
#[derive(Debug, Default)]
pub struct Built {
    /// Runs on the site.
    pub runs: usize,
    /// Run pages rendered.
    pub rendered: usize,
    /// Run pages kept from an earlier build.
    pub kept: usize,
    /// Files written (pages, assets, artifacts).
    pub written: usize,
    /// Run pages removed (their runs are no longer selected).
    pub removed: usize,
}

/// The manifest: for each run page, the run commit and template hash it was made from.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Manifest {
    /// Format of this file.
    pub format: u32,
    /// Run pages: page path -> run commit.
    pub pages: BTreeMap<String, String>,
    /// What else the run pages depend on: the templates' hash and the site settings.
    pub templates: String,
}

impl Manifest {
    /// Reads the manifest of an earlier build (empty when missing or unreadable).
    pub fn load(out: &Path) -> Manifest {
        fs_err::read(out.join(MANIFEST))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }
}

/// The path of a run's page inside the site, and the prefix that leads back to the root.
pub fn run_page(name: &str) -> (String, String) {
    let depth = name.split('/').count() + 1;
    (format!("runs/{name}/index.html"), "../".repeat(depth))
}

/// Which run pages need rendering: those not in `manifest` with the same commit and templates.
pub fn stale_runs<'a>(
    runs: &'a [RunRecord],
    manifest: &Manifest,
    templates: &str,
    out: &Path,
) -> Vec<&'a RunRecord> {
    runs.iter()
        .filter(|r| {
            let (page, _) = run_page(&r.name);
            manifest.templates != templates
                || manifest.pages.get(&page).map(String::as_str) != r.commit.as_deref()
                || !out.join(&page).is_file()
        })
        .collect()
}

/// Writes `bytes` to `out/rel` unless the file already holds them; true if written.
fn write_if_changed(out: &Path, rel: &str, bytes: &[u8]) -> Result<bool, Error> {
    let path = out.join(rel);
    if fs_err::read(&path).is_ok_and(|old| old == bytes) {
        return Ok(false);
    }
    let io = |source| Error::Io { path: path.display().to_string(), source };
    if let Some(parent) = path.parent() {
        fs_err::create_dir_all(parent).map_err(io)?;
    }
    fs_err::write(&path, bytes).map_err(io)?;
    Ok(true)
}

/// Renders one run page and writes it with its inline artifacts; returns the files written.
pub fn write_run_page(
    env: &Environment<'_>,
    data: &RunData,
    site: &SiteOptions<'_>,
    has_compare: bool,
) -> Result<usize, Error> {
    let run = &data.record;
    let (page, root) = run_page(&run.name);
    let detail = RunDetail::new(run, 200);
    let mut written = 0;
    let mut charts = Vec::new();
    for (name, points) in &data.curves {
        let by_step = crate::report::compare::by_step(points);
        let t0 = points.iter().map(|p| p.2).fold(f64::INFINITY, f64::min);
        let mut by_time: Vec<(f64, f64)> = points.iter().map(|p| (p.2 - t0, p.1)).collect();
        by_time.sort_by(|a, b| a.0.total_cmp(&b.0));
        let step_series = [Series { name: &run.name, points: &by_step }];
        let step = line_chart(name, &step_series, &ChartOptions::default());
        let time_opts =
            ChartOptions { x_label: "seconds since the first point", ..ChartOptions::default() };
        let time_series = [Series { name: &run.name, points: &by_time }];
        let time = line_chart(name, &time_series, &time_opts);
        charts.push(context! { metric => name, step => Value::from_safe_string(step), time => Value::from_safe_string(time) });
    }
    let summary: Vec<Value> = detail
        .run
        .summary
        .iter()
        .map(|(name, m)| {
            let num = |v: Option<f64>| v.map(format_number).unwrap_or_default();
            context! {
                name => name,
                value => m.shown().unwrap_or_default(),
                min => num(m.min),
                max => num(m.max),
                count => m.count,
                last_step => m.last_step.map(|s| s.to_string()).unwrap_or_default(),
            }
        })
        .collect();
    let config: Vec<Value> = flatten(&detail.run.config)
        .into_iter()
        .map(|(k, v)| context! { key => k, value => format_value(v) })
        .collect();
    let env_rows: Vec<Value> = flatten(&detail.env)
        .into_iter()
        .map(|(k, v)| context! { key => k, value => format_value(v) })
        .collect();
    // Inline artifacts are written by the rule of `inert`: named by their
    // hash, as raster images or text, never under a name of the run's.
    let dir = format!("runs/{}/{ARTIFACTS_DIR}", run.name);
    let mut kept = BTreeSet::new();
    let mut artifacts = Vec::new();
    for a in &detail.artifacts {
        let file = match (a.storage, data.inline.get(&a.path)) {
            (Storage::Inline, Some(bytes)) => Some((inert::site_file(bytes), bytes)),
            _ => None,
        };
        // Content that is not what artifacts.toml says is listed, not linked.
        let file = file.filter(|(f, _)| f.sha256 == a.sha256);
        if let Some((f, bytes)) = &file {
            if write_if_changed(site.out, &format!("{dir}/{}", f.name), bytes)? {
                written += 1;
            }
            kept.insert(f.name.clone());
        }
        artifacts.push(artifact_context(a, file.map(|(f, _)| f)));
    }
    remove_other_files(&site.out.join(&dir), &kept);
    let html = env
        .get_template("run.html")
        .and_then(|t| {
            t.render(context! {
                title => site.title,
                root => root,
                page => page,
                base_url => site.base_url,
                has_compare => has_compare,
                run => Value::from_serialize(&detail),
                duration_text => human_duration(detail.run.duration_s),
                charts => charts,
                summary => summary,
                config => config,
                env => env_rows,
                artifacts => artifacts,
                code_diff => data.code_diff,
                code_base => detail.run.code_commit.as_deref().map(Store::short).unwrap_or("the empty tree"),
            })
        })
        .map_err(|e| template_error("run.html", &e))?;
    if write_if_changed(site.out, &page, html.as_bytes())? {
        written += 1;
    }
    Ok(written)
}

fn artifact_context(a: &Entry, file: Option<inert::SiteFile>) -> Value {
    let image = file.as_ref().is_some_and(|f| f.image);
    context! {
        path => a.path,
        size => human_bytes(a.size),
        sha256 => a.sha256,
        storage => match a.storage { Storage::Inline => "in the run", Storage::Store => "artifact store" },
        image => image,
        download => (file.is_some() && !image).then(|| inert::download_name(&a.path)),
        href => file.map(|f| format!("{ARTIFACTS_DIR}/{}", f.name)),
    }
}

/// Removes the files directly in `dir` that are not in `keep`: what an
/// earlier page of the same run name had. Directories are left alone (they
/// hold the pages of runs named `<name>/artifacts/...`).
fn remove_other_files(dir: &Path, keep: &BTreeSet<String>) {
    let Ok(entries) = fs_err::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let is_file = entry.file_type().is_ok_and(|t| !t.is_dir());
        if is_file && !entry.file_name().to_str().is_some_and(|n| keep.contains(n)) {
            let _ = fs_err::remove_file(entry.path());
        }
    }
}

/// A code diff for a page: cut at `MAX_DIFF` bytes with a note.
pub fn page_diff(patch: &[u8]) -> String {
    let text = String::from_utf8_lossy(&patch[..patch.len().min(MAX_DIFF)]).into_owned();
    if patch.len() > MAX_DIFF {
        format!(
            "{text}\n[diff cut at {} of {}]",
            human_bytes(MAX_DIFF as u64),
            human_bytes(patch.len() as u64)
        )
    } else {
        text
    }
}

/// Writes index.html, compare.html and the assets; returns the files written.
pub fn write_site_pages(
    env: &Environment<'_>,
    runs: &[RunRecord],
    comparison: Option<(&Comparison, &[Curves])>,
    site: &SiteOptions<'_>,
) -> Result<usize, Error> {
    let mut written = 0;
    for (rel, text) in ASSETS {
        written += usize::from(write_if_changed(site.out, rel, text.as_bytes())?);
    }
    let views: Vec<RunView> = runs.iter().map(RunView::new).collect();
    // Columns: params whose values differ between runs, and every metric.
    let mut param_values: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for v in &views {
        for (k, value) in flatten(&v.config) {
            param_values.entry(k).or_default().insert(format_value(value));
        }
    }
    let param_keys: Vec<String> = param_values
        .iter()
        .filter(|(_, values)| values.len() > 1 || views.len() == 1)
        .map(|(k, _)| k.clone())
        .collect();
    let metric_names: Vec<String> = views
        .iter()
        .flat_map(|v| v.summary.keys().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let value_of = |v: &RunView, name: &str| -> Option<f64> {
        let m = v.summary.get(name)?;
        match &m.value {
            Some(value) => value.as_f64(),
            None => m.last,
        }
    };
    let rows: Vec<Value> = views
        .iter()
        .map(|v| {
            let flat: BTreeMap<String, &serde_json::Value> =
                flatten(&v.config).into_iter().collect();
            let params: Vec<Value> = param_keys
                .iter()
                .map(|k| {
                    let text = flat.get(k).map(|x| format_value(x)).unwrap_or_default();
                    context! { sort => text.clone(), text => text }
                })
                .collect();
            let metrics: Vec<Value> = metric_names
                .iter()
                .map(|name| {
                    let shown = v.summary.get(name).and_then(|m| m.shown()).unwrap_or_default();
                    let sort = value_of(v, name).map(|x| x.to_string()).unwrap_or_default();
                    context! { sort => sort, text => shown }
                })
                .collect();
            let short = v.code_commit.as_deref().map(Store::short).unwrap_or("-");
            context! {
                name => v.name,
                href => run_page(&v.name).0,
                status => v.status.as_str(),
                started => v.started,
                started_text => v.started.get(..16).unwrap_or(&v.started).replace('T', " "),
                duration_s => v.duration_s,
                duration_text => human_duration(v.duration_s),
                code_text => format!("{short}{}", if v.code_dirty { "+" } else { "" }),
                tags => v.tags,
                params => params,
                metrics => metrics,
            }
        })
        .collect();
    // Overview: each metric's value per run, runs in start order.
    let oldest_first: Vec<&RunView> = views.iter().rev().collect();
    let overview: Vec<Value> = metric_names
        .iter()
        .filter_map(|name| {
            let points: Vec<(f64, f64)> = oldest_first
                .iter()
                .enumerate()
                .filter_map(|(i, v)| value_of(v, name).map(|y| (i as f64, y)))
                .collect();
            (!points.is_empty()).then(|| {
                let opts = ChartOptions {
                    x_label: "run (oldest first)",
                    dots: true,
                    ..ChartOptions::default()
                };
                let svg = line_chart(name, &[Series { name, points: &points }], &opts);
                context! { metric => name, svg => Value::from_safe_string(svg) }
            })
        })
        .collect();
    // Scatter: each numeric param against the chosen metric.
    let scatter_metric = site
        .scatter_metric
        .map(str::to_owned)
        .or_else(|| {
            metric_names.iter().find(|m| crate::report::direction::infer(m).is_some()).cloned()
        })
        .or_else(|| metric_names.first().cloned());
    let mut scatter = Vec::new();
    if let Some(metric) = &scatter_metric {
        for key in &param_keys {
            let points: Vec<(f64, f64)> = views
                .iter()
                .filter_map(|v| {
                    let flat: BTreeMap<String, &serde_json::Value> =
                        flatten(&v.config).into_iter().collect();
                    Some((flat.get(key)?.as_f64()?, value_of(v, metric)?))
                })
                .collect();
            if points.len() >= 2 {
                let mut sorted = points.clone();
                sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
                let title = format!("{metric} by {key}");
                let opts = ChartOptions { x_label: key, dots: true, ..ChartOptions::default() };
                let svg = line_chart(&title, &[Series { name: metric, points: &sorted }], &opts);
                scatter.push(context! { param => key, svg => Value::from_safe_string(svg) });
            }
        }
    }
    let has_compare = comparison.is_some();
    let base = |page: &str| {
        context! {
            title => site.title,
            root => "",
            page => page,
            base_url => site.base_url,
            runs_count => runs.len(),
            has_compare => has_compare,
        }
    };
    let index = env
        .get_template("index.html")
        .and_then(|t| {
            t.render(context! {
                ..base("index.html"),
                ..context! {
                    runs => rows,
                    param_keys => param_keys,
                    metric_names => metric_names,
                    overview => overview,
                    scatter => scatter,
                    scatter_metric => scatter_metric,
                }
            })
        })
        .map_err(|e| template_error("index.html", &e))?;
    written += usize::from(write_if_changed(site.out, "index.html", index.as_bytes())?);

    if let Some((c, curves)) = comparison {
        let sections: Vec<Value> = table_sections(c)
            .into_iter()
            .map(
                |(title, header, rows)| context! { title => title, header => header, rows => rows },
            )
            .collect();
        let curves: Vec<&Curves> = curves.iter().collect();
        let charts: Vec<Value> = curve_charts(c, &curves)
            .into_iter()
            .map(|(metric, svg)| context! { metric => metric, svg => Value::from_safe_string(svg) })
            .collect();
        let run_links: Vec<Value> = c
            .runs
            .iter()
            .map(|r| context! { name => r.name, href => run_page(&r.name).0 })
            .collect();
        let html = env
            .get_template("compare.html")
            .and_then(|t| {
                t.render(context! {
                    ..base("compare.html"),
                    ..context! {
                        comparison => Value::from_serialize(c),
                        runs => run_links,
                        sections => sections,
                        charts => charts,
                    }
                })
            })
            .map_err(|e| template_error("compare.html", &e))?;
        written += usize::from(write_if_changed(site.out, "compare.html", html.as_bytes())?);
    }
    Ok(written)
}

/// Removes the pages (and copied artifacts) of runs that are no longer in the
/// site; only files an earlier build recorded are touched.
pub fn remove_stale(out: &Path, manifest: &Manifest, keep: &BTreeSet<String>) -> usize {
    let mut removed = 0;
    for page in manifest.pages.keys().filter(|p| !keep.contains(*p) && is_run_page(p)) {
        // Pages are `runs/<name>/index.html`; their artifacts sit beside them.
        let path = out.join(page);
        if fs_err::remove_file(&path).is_ok() {
            removed += 1;
        }
        if let Some(dir) = path.parent() {
            let _ = fs_err::remove_dir_all(dir.join(ARTIFACTS_DIR));
            let _ = std::fs::remove_dir(dir);
        }
    }
    removed
}

/// The manifest is a file in the output directory, so it is not trusted to
/// name paths: only `runs/<valid run name>/index.html` (and the artifacts
/// beside it) is ever removed.
fn is_run_page(page: &str) -> bool {
    page.strip_prefix("runs/")
        .and_then(|p| p.strip_suffix("/index.html"))
        .is_some_and(|name| crate::store::name::validate(name).is_ok())
}

/// Brings a directory built by an older git-exp up to this one: a format 1
/// site holds the inline artifacts of runs under their own names, HTML and
/// SVG included, so the artifacts of every page it lists are removed and
/// every page is rendered again.
pub fn upgrade(out: &Path, manifest: &mut Manifest) {
    if manifest.format >= MANIFEST_FORMAT {
        return;
    }
    for page in manifest.pages.keys().filter(|p| is_run_page(p)) {
        if let Some(dir) = out.join(page).parent() {
            let _ = fs_err::remove_dir_all(dir.join(ARTIFACTS_DIR));
        }
    }
    manifest.templates.clear();
}

/// Writes the manifest.
pub fn write_manifest(out: &Path, manifest: &Manifest) -> Result<(), Error> {
    let text = serde_json::to_vec_pretty(manifest).unwrap_or_default();
    write_if_changed(out, MANIFEST, &text)?;
    Ok(())
}
