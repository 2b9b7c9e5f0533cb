//! The run view model: one `Serialize` struct per run, the source of every
//! output format of `list` and `show`. Its JSON shape is documented in
//! docs/json.md and only ever grows.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::store::format::{MalformedEvents, SkippedFile, Status};
use crate::store::RunRecord;

/// One metric's summary as shown to users.
#[derive(Debug, Clone, Serialize)]
pub struct MetricView {
    /// Value at the last step (null when the metric only has an explicit value).
    pub last: Option<f64>,
    /// Smallest value.
    pub min: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
    /// Number of points.
    pub count: u64,
    /// Step of `last`.
    pub last_step: Option<u64>,
    /// The value the script set explicitly (`_summary`), if any; it wins over `last`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
}

impl MetricView {
    /// The value to show people: the explicit one if set, else `last`,
    /// numbers to 4 decimals ([`format_number`]).
    pub fn shown(&self) -> Option<String> {
        self.text(format_number)
    }

    /// The same value for programs: numbers as their shortest exact text.
    pub fn exact(&self) -> Option<String> {
        self.text(|x| x.to_string())
    }

    fn text(&self, number: fn(f64) -> String) -> Option<String> {
        match (&self.value, self.last) {
            (Some(v), _) => Some(match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) if n.is_f64() => {
                    n.as_f64().map_or_else(|| n.to_string(), number)
                }
                other => other.to_string(),
            }),
            (None, Some(l)) => Some(number(l)),
            (None, None) => None,
        }
    }
}

/// A run for `list --format json` (and the base of `show`).
#[derive(Debug, Clone, Serialize)]
pub struct RunView {
    /// Name (ref name after `refs/experiments/`).
    pub name: String,
    /// Run id.
    pub id: String,
    /// Status.
    pub status: Status,
    /// The run's commit; null while the run is still running.
    pub commit: Option<String>,
    /// The code commit (HEAD when it started), null on an unborn branch.
    pub code_commit: Option<String>,
    /// Whether the code had uncommitted changes.
    pub code_dirty: bool,
    /// Start, RFC 3339.
    pub started: String,
    /// End, RFC 3339; null while running.
    pub ended: Option<String>,
    /// Duration in seconds.
    pub duration_s: f64,
    /// Tags.
    pub tags: Vec<String>,
    /// The run's group (`wandb.init(group=)`); null when none.
    pub group: Option<String>,
    /// What the run does (`wandb.init(job_type=)`); null when not said.
    pub job_type: Option<String>,
    /// Host.
    pub host: String,
    /// User.
    pub user: String,
    /// Note.
    pub note: String,
    /// Config (params).
    pub config: serde_json::Value,
    /// Per metric summary.
    pub summary: BTreeMap<String, MetricView>,
}

/// A run for `show --format json`: everything.
#[derive(Debug, Clone, Serialize)]
pub struct RunDetail {
    /// The listing fields.
    #[serde(flatten)]
    pub run: RunView,
    /// Command as executed (redacted).
    pub command: Vec<String>,
    /// Exit code, if it exited.
    pub exit_code: Option<i32>,
    /// Signal that ended it, if any.
    pub signal: Option<i32>,
    /// W&B project, entity and display name (`wandb.init`); only those set.
    pub wandb: crate::store::format::WandbNames,
    /// Directory relative to the repository root.
    pub workdir: String,
    /// Environment manifest (env.toml as JSON).
    pub env: serde_json::Value,
    /// Files left out of the code tree.
    pub code_skipped: Vec<SkippedFile>,
    /// Malformed event lines.
    pub malformed_events: MalformedEvents,
    /// Last lines of output.log.
    pub log_tail: String,
    /// Artifacts kept (artifacts.toml).
    pub artifacts: Vec<crate::store::format::Entry>,
    /// Artifacts asked for but not kept.
    pub artifacts_skipped: Vec<crate::store::format::Skipped>,
    /// git-exp version that wrote the run.
    pub git_exp_version: String,
}

impl RunView {
    /// Builds the view of a run.
    pub fn new(run: &RunRecord) -> RunView {
        let mut summary: BTreeMap<String, MetricView> = run
            .summary
            .metrics
            .iter()
            .map(|(k, m)| {
                let view = MetricView {
                    last: Some(m.last),
                    min: Some(m.min),
                    max: Some(m.max),
                    count: m.count,
                    last_step: Some(m.last_step),
                    value: None,
                };
                (k.clone(), view)
            })
            .collect();
        for (k, v) in &run.summary.values {
            let json = serde_json::to_value(v).unwrap_or(serde_json::Value::Null);
            summary
                .entry(k.clone())
                .or_insert(MetricView {
                    last: None,
                    min: None,
                    max: None,
                    count: 0,
                    last_step: None,
                    value: None,
                })
                .value = Some(json);
        }
        RunView {
            name: run.name.clone(),
            id: run.exp.id.clone(),
            status: run.exp.status,
            commit: run.commit.as_ref().map(|c| c.to_string()),
            code_commit: run.exp.code_commit.clone(),
            code_dirty: run.exp.code_dirty,
            started: run.exp.started.clone(),
            ended: (!run.exp.ended.is_empty()).then(|| run.exp.ended.clone()),
            duration_s: run.exp.duration_s,
            tags: run.exp.tags.clone(),
            group: run.exp.group.clone(),
            job_type: run.exp.job_type.clone(),
            host: run.exp.host.clone(),
            user: run.exp.user.clone(),
            note: run.exp.note.clone(),
            config: serde_json::to_value(&run.config).unwrap_or(serde_json::Value::Null),
            summary,
        }
    }
}

impl RunDetail {
    /// Builds the full view of a run read with `Detail::Full`; `tail_lines` of the log are kept.
    pub fn new(run: &RunRecord, tail_lines: usize) -> RunDetail {
        let log = run.output.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(tail_lines)..].join("\n");
        RunDetail {
            run: RunView::new(run),
            command: run.exp.command.clone(),
            exit_code: run.exp.exit_code,
            signal: run.exp.signal,
            wandb: run.exp.wandb.clone(),
            workdir: run.exp.workdir.clone(),
            env: run
                .env
                .as_ref()
                .and_then(|e| serde_json::to_value(e).ok())
                .unwrap_or(serde_json::Value::Null),
            code_skipped: run.exp.code_skipped.clone(),
            malformed_events: run.exp.malformed_events.clone(),
            log_tail: tail,
            artifacts: run.artifacts.artifacts.clone(),
            artifacts_skipped: run.artifacts.skipped.clone(),
            git_exp_version: run.exp.git_exp_version.clone(),
        }
    }

    /// The run as `(section, key, value)` rows (`show --format csv|markdown`):
    /// the run's fields, then its config flattened to dotted keys, then its summary.
    pub fn key_values(&self) -> Vec<Vec<String>> {
        let r = &self.run;
        let mut rows: Vec<Vec<String>> = vec![
            vec!["run".into(), "name".into(), r.name.clone()],
            vec!["run".into(), "id".into(), r.id.clone()],
            vec!["run".into(), "status".into(), r.status.to_string()],
            vec!["run".into(), "commit".into(), r.commit.clone().unwrap_or_default()],
            vec!["run".into(), "code_commit".into(), r.code_commit.clone().unwrap_or_default()],
            vec!["run".into(), "started".into(), r.started.clone()],
            vec!["run".into(), "duration_s".into(), r.duration_s.to_string()],
            vec!["run".into(), "command".into(), self.command.join(" ")],
        ];
        let w = &self.wandb;
        for (key, value) in [
            ("group", &r.group),
            ("job_type", &r.job_type),
            ("wandb.project", &w.project),
            ("wandb.entity", &w.entity),
            ("wandb.name", &w.name),
        ] {
            if let Some(v) = value {
                rows.push(vec!["run".into(), key.into(), v.clone()]);
            }
        }
        for (k, v) in flatten(&r.config) {
            rows.push(vec!["config".into(), k, format_value(v)]);
        }
        for (k, m) in &r.summary {
            rows.push(vec!["summary".into(), k.clone(), m.shown().unwrap_or_default()]);
        }
        rows
    }
}

/// Formats a metric value compactly: up to 4 significant decimals, no trailing zeros.
pub fn format_number(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v == v.trunc() && v.abs() < 1e15 {
        return format!("{}", v as i64);
    }
    let a = v.abs();
    if !(1e-4..1e6).contains(&a) {
        return format!("{v:.3e}");
    }
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Renders a config value compactly for tables.
pub fn format_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => format_number(f),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// Flattens nested config into dotted keys.
pub fn flatten(value: &serde_json::Value) -> Vec<(String, &serde_json::Value)> {
    let mut out = Vec::new();
    if let Some(map) = value.as_object() {
        crate::util::flatten_keys(map, &serde_json::Value::as_object, &mut |k, v| out.push((k, v)));
    }
    out
}

/// A TOML value as a number, if it is one.
pub fn number(v: &toml::Value) -> Option<f64> {
    match v {
        toml::Value::Float(f) => Some(*f),
        toml::Value::Integer(i) => Some(*i as f64),
        _ => None,
    }
}
