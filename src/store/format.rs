//! The files of a run's tree in storage format 1: their Rust types, and the
//! serialization of each to and from its TOML or CSV text.
//!
//! This module owns what the bytes in a run commit look like. It knows nothing
//! of git (see `store::repo`) and nothing of terminals.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The storage format version this build writes and the only one it reads.
pub const FORMAT_VERSION: u32 = 1;

/// File names inside a run's tree.
pub mod files {
    /// Identity, status, command and timing of the run.
    pub const EXP: &str = "exp.toml";
    /// The run's hyperparameters.
    pub const CONFIG: &str = "config.toml";
    /// Every metric point, long format.
    pub const METRICS: &str = "metrics.csv";
    /// Per-metric statistics and explicit summary values.
    pub const SUMMARY: &str = "summary.toml";
    /// The environment manifest.
    pub const ENV: &str = "env.toml";
    /// Combined stdout and stderr, capped.
    pub const OUTPUT: &str = "output.log";
    /// The tree of the code the run used.
    pub const CODE: &str = "code";
    /// Artifact list (see `crate::artifacts`).
    pub const ARTIFACTS: &str = "artifacts.toml";
    /// Inline artifacts.
    pub const ARTIFACTS_DIR: &str = "artifacts";
    /// The header line of `metrics.csv`.
    pub const METRICS_HEADER: &str = "step,name,value,time\n";
}

/// The state a run ended in (or is in, while live).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Live: the tracker is still running it.
    Running,
    /// The command exited with code 0.
    Finished,
    /// The command exited with a non-zero code.
    Failed,
    /// The command was ended by a signal (Ctrl-C, SIGTERM, ...).
    Killed,
    /// The tracker died; a later command committed what was logged.
    Crashed,
}

impl Status {
    /// Returns the lowercase word used in files, JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Finished => "finished",
            Status::Failed => "failed",
            Status::Killed => "killed",
            Status::Crashed => "crashed",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A file left out of the `code` tree, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkippedFile {
    /// Repository-relative path.
    pub path: String,
    /// Size in bytes, when known.
    #[serde(default)]
    pub size: u64,
    /// Why it was left out (`too large`, `over total cap`, `looks like a secret`, ...).
    pub reason: String,
}

/// Malformed lines of the events file, reported once the run ends.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MalformedEvents {
    /// How many lines could not be used.
    pub count: u64,
    /// 1-based line numbers of the first of them (at most 100).
    #[serde(default)]
    pub lines: Vec<u64>,
}

/// `exp.toml`: what the run is, how it ran and on which code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpFile {
    /// Storage format version; readers reject versions they do not know.
    pub format: u32,
    /// Random, time-ordered 128-bit id (32 lowercase hex digits); never changes.
    pub id: String,
    /// The run's name, the part of the ref after `refs/experiments/`.
    pub name: String,
    /// How the run ended.
    pub status: Status,
    /// The command as executed (after placeholder substitution and redaction).
    pub command: Vec<String>,
    /// The command's exit code, when it exited on its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The signal that ended the command, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// Start time, RFC 3339 UTC with milliseconds.
    pub started: String,
    /// End time, RFC 3339 UTC with milliseconds.
    pub ended: String,
    /// Wall-clock duration in seconds.
    pub duration_s: f64,
    /// Host name of the machine that ran it.
    pub host: String,
    /// User name that ran it.
    pub user: String,
    /// Tags, in the order they were added.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Free-text note.
    #[serde(default)]
    pub note: String,
    /// The group the run belongs to (W&B's `group`: the folds of one
    /// cross-validation, the workers of one job), when the script named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// What the run does (W&B's `job_type`: `train`, `eval`, ...), when the script said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_type: Option<String>,
    /// The commit that was HEAD when the run started; absent on an unborn branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_commit: Option<String>,
    /// Whether the working tree differed from `code_commit` (so `code` differs from its tree).
    #[serde(default)]
    pub code_dirty: bool,
    /// The directory the command ran in, relative to the repository root (`.` for the root).
    #[serde(default)]
    pub workdir: String,
    /// Files left out of the `code` tree.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub code_skipped: Vec<SkippedFile>,
    /// Event lines that could not be used.
    #[serde(default, skip_serializing_if = "is_default_malformed")]
    pub malformed_events: MalformedEvents,
    /// What `wandb.init` named that git-exp has no field of its own for.
    #[serde(default, skip_serializing_if = "WandbNames::is_empty")]
    pub wandb: WandbNames,
    /// The version of git-exp that wrote the run.
    pub git_exp_version: String,
}

fn is_default_malformed(m: &MalformedEvents) -> bool {
    m.count == 0
}

/// The names a W&B script gave its run (`wandb.init(project=, entity=, name=)`)
/// that have no git-exp counterpart, kept in exp.toml's `[wandb]` table rather
/// than in the config (where `train(**wandb.config)` would trip over them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WandbNames {
    /// The W&B project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// The W&B entity (team or user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    /// The display name asked for, when it is not the run's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl WandbNames {
    /// Whether no name is set.
    pub fn is_empty(&self) -> bool {
        self.project.is_none() && self.entity.is_none() && self.name.is_none()
    }
}

/// Statistics of one metric over all its points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSummary {
    /// The value at the highest step (the last logged one on ties).
    pub last: f64,
    /// Smallest value, NaN ignored (NaN when every value is NaN).
    pub min: f64,
    /// Largest value, NaN ignored (NaN when every value is NaN).
    pub max: f64,
    /// Number of points.
    pub count: u64,
    /// The step of `last`.
    pub last_step: u64,
}

/// `summary.toml`: per-metric statistics plus values the script set explicitly.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SummaryFile {
    /// Statistics per metric name.
    #[serde(default)]
    pub metrics: BTreeMap<String, MetricSummary>,
    /// Values set with `_summary` events; they win over `last` where both exist.
    #[serde(default)]
    pub values: toml::Table,
}

/// Errors reading or writing the files of a run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file is not valid TOML of the expected shape.
    #[error("{file} of run {run} is not valid: {message}")]
    Parse {
        /// Which file.
        file: &'static str,
        /// Which run (name or commit).
        run: String,
        /// What the parser said.
        message: String,
    },
    /// The run was written by a newer git-exp.
    #[error("run {run} uses storage format {found}, but this git-exp reads format {FORMAT_VERSION} only")]
    UnknownFormat {
        /// Which run.
        run: String,
        /// The version found in `exp.toml`.
        found: String,
    },
    /// A value cannot be written as TOML.
    #[error("cannot write {file}: {message}")]
    Serialize {
        /// Which file.
        file: &'static str,
        /// What the serializer said.
        message: String,
    },
}

/// Parses `exp.toml`, checking the format version before anything else.
pub fn parse_exp(text: &str, run: &str) -> Result<ExpFile, Error> {
    let table: toml::Table = toml::from_str(text).map_err(|e| Error::Parse {
        file: files::EXP,
        run: run.to_owned(),
        message: one_line(&e.to_string()),
    })?;
    match table.get("format") {
        Some(toml::Value::Integer(v)) if *v == i64::from(FORMAT_VERSION) => {}
        Some(other) => {
            return Err(Error::UnknownFormat { run: run.to_owned(), found: other.to_string() })
        }
        None => return Err(Error::UnknownFormat { run: run.to_owned(), found: "(none)".into() }),
    }
    let exp: ExpFile = table.try_into().map_err(|e: toml::de::Error| Error::Parse {
        file: files::EXP,
        run: run.to_owned(),
        message: one_line(&e.to_string()),
    })?;
    // Fields every reader relies on (ordering, ids in paths, ages) must have
    // the documented shape, whoever wrote the file.
    let bad = |message: &str| Error::Parse {
        file: files::EXP,
        run: run.to_owned(),
        message: message.to_owned(),
    };
    if exp.id.len() != 32 || !exp.id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(bad("id is not 32 lowercase hex digits"));
    }
    if crate::util::parse_rfc3339(&exp.started).is_none() {
        return Err(bad("started is not an RFC 3339 time"));
    }
    if !exp.ended.is_empty() && crate::util::parse_rfc3339(&exp.ended).is_none() {
        return Err(bad("ended is not an RFC 3339 time"));
    }
    Ok(exp)
}

/// Parses `summary.toml`.
pub fn parse_summary(text: &str, run: &str) -> Result<SummaryFile, Error> {
    toml::from_str(text).map_err(|e| Error::Parse {
        file: files::SUMMARY,
        run: run.to_owned(),
        message: one_line(&e.to_string()),
    })
}

/// Parses a TOML table file such as `config.toml` or `env.toml`.
pub fn parse_table(text: &str, file: &'static str, run: &str) -> Result<toml::Table, Error> {
    toml::from_str(text).map_err(|e| Error::Parse {
        file,
        run: run.to_owned(),
        message: one_line(&e.to_string()),
    })
}

/// Serializes any of the TOML files.
pub fn to_toml<T: Serialize>(value: &T, file: &'static str) -> Result<String, Error> {
    toml::to_string(value).map_err(|e| Error::Serialize { file, message: e.to_string() })
}

/// `s` on one line: runs of whitespace, line breaks included, as one space.
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `artifacts.toml`: the files a run kept (see `crate::artifacts`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArtifactsFile {
    /// One entry per stored file, by path.
    #[serde(rename = "artifact", default)]
    pub artifacts: Vec<Entry>,
    /// Files that were asked for but could not be kept, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
}

/// One artifact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Path inside the run's artifacts (`artifacts/<path>` when inline).
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
    /// Media type guessed from the file name.
    pub media_type: String,
    /// Where the content is.
    pub storage: Storage,
}

/// Where an artifact's content is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Storage {
    /// A blob in the run's tree, under `artifacts/`.
    Inline,
    /// The content-addressed store, by `sha256`.
    Store,
}

/// A file asked for that could not be kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    /// Its name inside the run's artifacts (or the path asked for).
    pub path: String,
    /// Why.
    pub reason: String,
}

/// A new empty repository (`git init`) and its store, for tests.
#[cfg(test)]
pub(crate) fn sample_store() -> (tempfile::TempDir, super::Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let ok = std::process::Command::new("git")
        .args(["init", "-q", "-b", "main"])
        .current_dir(dir.path())
        .status()
        .expect("git runs");
    assert!(ok.success());
    let store = super::Store::discover(dir.path(), &[]).expect("a repository");
    (dir, store)
}

/// A finished run's exp.toml for tests: id and times from `i`.
#[cfg(test)]
pub(crate) fn sample_exp(i: usize, name: &str) -> ExpFile {
    ExpFile {
        format: FORMAT_VERSION,
        id: format!("{i:032x}"),
        name: name.into(),
        status: Status::Finished,
        command: vec!["true".into()],
        exit_code: Some(0),
        signal: None,
        started: crate::util::rfc3339(1_700_000_000.0 + i as f64),
        ended: crate::util::rfc3339(1_700_000_001.0 + i as f64),
        duration_s: 1.0,
        host: "h".into(),
        user: "u".into(),
        tags: vec![],
        note: String::new(),
        group: None,
        job_type: None,
        code_commit: None,
        code_dirty: false,
        workdir: ".".into(),
        code_skipped: vec![],
        malformed_events: Default::default(),
        wandb: Default::default(),
        git_exp_version: "test".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_format_is_rejected_before_shape() {
        let err = parse_exp("format = 2\nwhatever = 1\n", "r1").unwrap_err();
        assert!(matches!(err, Error::UnknownFormat { ref found, .. } if found == "2"), "{err}");
        let err = parse_exp("name = 'x'\n", "r1").unwrap_err();
        assert!(matches!(err, Error::UnknownFormat { .. }));
    }

    #[test]
    fn summary_round_trips_nan_and_inf() {
        let mut s = SummaryFile::default();
        s.metrics.insert(
            "val/loss".into(),
            MetricSummary { last: f64::NAN, min: 0.5, max: f64::INFINITY, count: 3, last_step: 2 },
        );
        let text = to_toml(&s, files::SUMMARY).unwrap();
        let back = parse_summary(&text, "r").unwrap();
        let m = &back.metrics["val/loss"];
        assert!(m.last.is_nan());
        assert_eq!(m.max, f64::INFINITY);
        assert_eq!(m.count, 3);
    }
}
