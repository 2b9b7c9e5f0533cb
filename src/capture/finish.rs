//! Turning a live run into its commit: assembles every file of format 1 from the
//! live directory and what was ingested, then writes it through the store. The
//! same code commits a run that ended normally and one recovered after its
//! tracker died, so both look alike.
//!
//! Once the run is committed, the files of the live directory it could not
//! keep are moved to lost-found; should that fail, the live directory must stay
//! (the caller sees [`Committed::keeps_live_dir`]) and a `committed` mark in it
//! tells recovery that the run is committed already.

use std::io::Write;
use std::path::Path;

use crate::artifacts;
use crate::env::redact::Redactor;
use crate::store::format::{self, files, ExpFile, MalformedEvents, Status, SummaryFile};
use crate::store::{self, RunFiles, Store};

use super::events::Ingested;
use super::live::{self, LiveMeta};
use super::output;

/// How the run ended.
#[derive(Debug, Clone, Copy)]
pub struct Ending {
    /// Final status.
    pub status: Status,
    /// Exit code of the command, if it exited.
    pub exit_code: Option<i32>,
    /// Signal that ended it, if any.
    pub signal: Option<i32>,
    /// End time, unix seconds.
    pub ended: f64,
}

/// The committed run.
#[derive(Debug, Clone)]
pub struct Committed {
    /// The name it was stored under (differs from the live name only after a clash).
    pub name: String,
    /// The run commit.
    pub commit: String,
    /// Number of metric points.
    pub points: usize,
    /// Number of distinct metrics.
    pub metrics: usize,
    /// Malformed event lines.
    pub malformed: MalformedEvents,
    /// A few malformed lines with reasons, for the report at the end.
    pub malformed_samples: Vec<(u64, String)>,
    /// Whether the live name was taken and a fallback name used.
    pub renamed: bool,
    /// Number of artifacts kept, and of those that could not be.
    pub artifacts: (usize, usize),
    /// Files of the live directory that could not be kept, and whether each
    /// was moved to lost-found.
    pub lost: Vec<artifacts::Rescue>,
}

impl Committed {
    /// Whether the live directory must stay: it holds a file that could not be
    /// kept nor moved to lost-found.
    pub fn keeps_live_dir(&self) -> bool {
        self.lost.iter().any(|r| r.error.is_some())
    }

    /// Warnings about the files that could not be kept (without `warning: `).
    pub fn warnings(&self) -> Vec<String> {
        artifacts::lost_warnings(&self.lost)
    }
}

/// Writes the warnings of a committed run to `err`, as `warning: ...` lines.
pub fn write_warnings(committed: &Committed, err: &mut dyn Write) {
    for line in committed.warnings() {
        let _ = writeln!(err, "warning: {line}");
    }
}

/// The file, in a live directory left behind on purpose, that names the run's
/// commit: `<commit> <name>`.
const COMMITTED_MARK: &str = "committed";

/// The run committed from the live directory `dir` by an earlier process
/// that had to leave the directory behind: its name and commit.
pub(super) fn committed_mark(dir: &Path) -> Option<(String, String)> {
    let text = fs_err::read_to_string(dir.join(COMMITTED_MARK)).ok()?;
    let (commit, name) = text.trim_end().split_once(' ')?;
    Some((name.to_owned(), commit.to_owned()))
}

/// The name a run is committed under when its own was taken meanwhile.
pub(super) fn fallback_name(meta: &LiveMeta) -> String {
    format!("{}-{}", meta.name, &meta.id[meta.id.len().saturating_sub(8)..])
}

/// Errors while committing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store refused.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// A file of the live directory could not be read.
    #[error("cannot read the live run in {dir}")]
    Io {
        /// The live directory.
        dir: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Live metadata trouble.
    #[error(transparent)]
    Live(#[from] live::Error),
}

/// Commits the run held in `dir`.
pub fn commit(
    store: &Store,
    dir: &Path,
    meta: &LiveMeta,
    ending: Ending,
    mut ingested: Ingested,
    redactor: &Redactor,
) -> Result<Committed, Error> {
    let io = |source| Error::Io { dir: dir.display().to_string(), source };
    // Metric names are text the script chose: a token logged as one is redacted.
    ingested.metrics.rename(|name| match redactor.redact_text(name) {
        std::borrow::Cow::Owned(new) => Some(new),
        std::borrow::Cow::Borrowed(_) => None,
    });
    let Record { exp, config, summary } = record(meta, &ingested, &ending, redactor);

    let mut metrics_csv = Vec::with_capacity(ingested.metrics.len() * 32 + 32);
    ingested.metrics.write_csv(&mut metrics_csv).map_err(io)?;

    let env = match fs_err::read_to_string(dir.join(live::files::ENV)) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io(e)),
    };

    let mut extra = Vec::new();
    for (line, text) in &ingested.malformed_samples {
        extra.extend_from_slice(format!("[git-exp] events line {line}: {text}\n").as_bytes());
    }
    if ingested.malformed.count > ingested.malformed_samples.len() as u64 {
        let more = ingested.malformed.count - ingested.malformed_samples.len() as u64;
        extra.extend_from_slice(
            format!("[git-exp] ... and {more} more malformed lines\n").as_bytes(),
        );
    }
    // `run` checked the value before the command started; a value changed to
    // a bad one meanwhile must not cost the run, so it means the default here.
    let inline_max = store
        .config_integer(artifacts::CONFIG_INLINE_MAX, 0..=i64::MAX, "a size")
        .ok()
        .flatten()
        .map_or(artifacts::DEFAULT_INLINE_MAX, |v| v as u64);
    let base = store.workdir().join(&meta.workdir);
    let lost_found = artifacts::lost_found_dir(store.common_dir(), &meta.id);
    let kept = artifacts::collect(
        store,
        dir,
        &base,
        &meta.artifacts,
        &ingested.artifacts,
        inline_max,
        &lost_found,
    );
    for skipped in kept.file.skipped.iter().take(20) {
        let line = format!("[git-exp] artifact {} not kept: {}\n", skipped.path, skipped.reason);
        extra.extend_from_slice(line.as_bytes());
    }
    let artifacts_toml = if kept.file.artifacts.is_empty() && kept.file.skipped.is_empty() {
        None
    } else {
        Some(format::to_toml(&kept.file, files::ARTIFACTS).map_err(store::Error::from)?)
    };
    let output = output::assemble(dir, meta.output_limit / 2, &extra, redactor).map_err(io)?;
    let output = match redactor.redact_text(&String::from_utf8_lossy(&output)) {
        std::borrow::Cow::Borrowed(_) => output,
        std::borrow::Cow::Owned(text) => text.into_bytes(),
    };

    let artifact_counts = (kept.file.artifacts.len(), kept.file.skipped.len());
    let mut files = RunFiles {
        message: message(&exp, &summary),
        exp,
        config: format::to_toml(&config, files::CONFIG).map_err(store::Error::from)?,
        metrics: metrics_csv,
        summary: format::to_toml(&summary, files::SUMMARY).map_err(store::Error::from)?,
        env,
        output,
        code_tree: meta.code_tree.clone(),
        artifacts: artifacts_toml,
        artifact_blobs: kept.blobs,
        time: ending.ended as i64,
    };
    let mut renamed = false;
    let commit = match store.write_run(&files) {
        Ok(commit) => commit,
        Err(store::Error::NameTaken { .. }) => {
            // The name was taken outside git-exp's reservation (a fetch, say):
            // keep the data under a name derived from the unique id.
            files.exp.name = fallback_name(meta);
            files.message = message(&files.exp, &summary);
            renamed = true;
            store.write_run(&files)?
        }
        Err(e) => return Err(e.into()),
    };
    let lost: Vec<_> = kept.lost.into_iter().map(artifacts::Lost::rescue).collect();
    if lost.iter().any(|r| r.error.is_some()) {
        // Best effort: without it, recovery still finds the run by name and id.
        let _ = fs_err::write(dir.join(COMMITTED_MARK), format!("{commit} {}\n", files.exp.name));
    }
    Ok(Committed {
        name: files.exp.name,
        commit,
        points: ingested.metrics.len(),
        metrics: ingested.metrics.names().len(),
        malformed: ingested.malformed,
        malformed_samples: ingested.malformed_samples,
        renamed,
        artifacts: artifact_counts,
        lost,
    })
}

/// The parts of a run that do not depend on the files in its live directory.
pub struct Record {
    /// exp.toml.
    pub exp: ExpFile,
    /// config.toml: command-line params merged with `_config` events, redacted.
    pub config: toml::Table,
    /// summary.toml, explicit values redacted.
    pub summary: SummaryFile,
}

/// Builds a run's record from its live metadata, what was ingested and how it ended.
pub fn record(
    meta: &LiveMeta,
    ingested: &Ingested,
    ending: &Ending,
    redactor: &Redactor,
) -> Record {
    let mut config = meta.config.clone();
    merge(&mut config, json_to_toml_table(&ingested.config));
    redactor.redact_table(&mut config);

    let metrics = ingested.metrics.summary();
    let metrics = metrics.into_iter().map(|(k, v)| (redactor.redact_text(&k).into_owned(), v));
    let mut summary = SummaryFile { metrics: metrics.collect(), ..Default::default() };
    summary.values = json_to_toml_table(&ingested.summary_values);
    redactor.redact_table(&mut summary.values);

    let mut tags = meta.tags.clone();
    for tag in &ingested.tags {
        if !tags.contains(tag) {
            tags.push(redactor.redact_text(tag).into_owned());
        }
    }
    let note = match &ingested.note {
        Some(n) if meta.note.is_empty() => redactor.redact_text(n).into_owned(),
        Some(n) => format!("{}\n{}", meta.note, redactor.redact_text(n)),
        None => meta.note.clone(),
    };
    let redacted = |v: &Option<String>| v.as_ref().map(|v| redactor.redact_text(v).into_owned());
    let wandb = format::WandbNames {
        project: redacted(&ingested.wandb.project),
        entity: redacted(&ingested.wandb.entity),
        name: redacted(&ingested.wandb.name),
    };
    let exp = ExpFile {
        format: format::FORMAT_VERSION,
        id: meta.id.clone(),
        name: meta.name.clone(),
        status: ending.status,
        command: meta.command.clone(),
        exit_code: ending.exit_code,
        signal: ending.signal,
        started: crate::util::rfc3339(meta.started),
        ended: crate::util::rfc3339(ending.ended),
        duration_s: ((ending.ended - meta.started).max(0.0) * 1000.0).round() / 1000.0,
        host: meta.host.clone(),
        user: meta.user.clone(),
        tags,
        note,
        group: redacted(&ingested.group),
        job_type: redacted(&ingested.job_type),
        code_commit: meta.code_commit.clone(),
        code_dirty: meta.code_dirty,
        workdir: meta.workdir.clone(),
        code_skipped: meta.code_skipped.clone(),
        malformed_events: ingested.malformed.clone(),
        wandb,
        git_exp_version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    Record { exp, config, summary }
}

/// The commit message: subject, command, status line, key metrics, trailers.
fn message(exp: &ExpFile, summary: &SummaryFile) -> String {
    let mut msg = format!("exp: {} ({})\n\n", exp.name, exp.status);
    msg.push_str(&format!("$ {}\n", exp.command.join(" ")));
    let code = match (exp.exit_code, exp.signal) {
        (Some(c), _) => format!("exit {c}"),
        (None, Some(s)) => format!("signal {s}"),
        (None, None) => "no exit status".into(),
    };
    msg.push_str(&format!(
        "{}, {}, {}\n",
        exp.status,
        code,
        crate::util::human_duration(exp.duration_s)
    ));
    let metrics: Vec<String> =
        summary.metrics.iter().take(8).map(|(k, m)| format!("{k}={}", m.last)).collect();
    if !metrics.is_empty() {
        msg.push_str(&metrics.join(" "));
        msg.push('\n');
    }
    msg.push_str(&format!("\nExp-Id: {}\nExp-Status: {}\n", exp.id, exp.status));
    msg
}

/// Deep-merges `from` into `into`: tables merge, other values replace.
pub fn merge(into: &mut toml::Table, from: toml::Table) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(toml::Value::Table(a)), toml::Value::Table(b)) => merge(a, b),
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

/// How a null value is written in config.toml and summary.toml.
pub const NULL_TEXT: &str = "None";

/// Converts JSON to TOML: `null` becomes [`NULL_TEXT`], integers stay integers.
pub fn json_to_toml_table(map: &serde_json::Map<String, serde_json::Value>) -> toml::Table {
    map.iter().filter_map(|(k, v)| json_to_toml(v).map(|v| (k.clone(), v))).collect()
}

/// One JSON value as TOML. TOML has no null: a JSON `null` (Python's `None`)
/// is the string `"None"`, the text the scikit-learn and Hugging Face
/// integrations (and MLflow) record for it, so one convention holds
/// everywhere (docs/format.md).
fn json_to_toml(value: &serde_json::Value) -> Option<toml::Value> {
    use serde_json::Value as J;
    Some(match value {
        J::Null => toml::Value::String(NULL_TEXT.to_owned()),
        J::Bool(b) => toml::Value::Boolean(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None => toml::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => toml::Value::String(s.clone()),
        J::Array(items) => toml::Value::Array(items.iter().filter_map(json_to_toml).collect()),
        J::Object(map) => toml::Value::Table(json_to_toml_table(map)),
    })
}
