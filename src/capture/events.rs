//! Incremental parser of a run's events file: the JSON lines a training process
//! appends while the tracker tails it, turned into metric points, config,
//! summary values, tags, a note and artifact paths.
//!
//! This module owns what an event line means; the JSON syntax is `json_line`'s.
//! It never fails and never panics on any input: a line it cannot use is counted
//! as malformed (with its 1-based line number and a short sample) and skipped. It
//! does no I/O; the caller reads the file and passes the new bytes to
//! [`Ingest::feed`].
//!
//! Rules, one JSON object per line (`{"loss": 0.3, "acc": 0.9, "_step": 12}`):
//! - Keys not starting with `_` are metrics. Numbers are read as `f64` (rounded
//!   exactly, like Rust's `str::parse`); booleans are 1 and 0; `null` is skipped;
//!   the strings `nan`, `inf`, `infinity`, `-inf`, `-infinity` (any case) are the
//!   special floats; objects are flattened with `.` (`{"train": {"loss": 1}}` logs
//!   `train.loss`). Any other value (string, array) skips that key and makes the
//!   line malformed ("wrong type for key X"); the line's other metrics are kept.
//!   A key given twice in one line logs one point, with the later value.
//! - Python's bare `NaN`, `Infinity` and `-Infinity` (not JSON, but what
//!   `json.dumps` writes) are accepted wherever a number is; inside `_config` and
//!   `_summary` they become the strings `"NaN"`, `"Infinity"`, `"-Infinity"`.
//! - `_step`, a non-negative integer (or a float without fraction), is the step of
//!   the line's metrics; without it the step is the previous metric line's + 1,
//!   starting at 0. Lines without metrics do not advance it. A bad `_step` makes
//!   the line malformed and drops its metrics (its other keys still count).
//! - `_time`, unix seconds, stamps the line's points; without it they get the
//!   `now` passed to [`Ingest::feed`]. A bad `_time` is replaced by `now` and makes
//!   the line malformed. `null` counts as absent for both.
//! - `_config` objects are deep-merged into the config, later values winning;
//!   `_summary` objects are flattened to dotted keys and merged; `_tag` takes a
//!   string or an array of strings, `_artifact` a path, a `{"path", "name"}`
//!   object or an array of these (both deduplicated, order kept); `_note` takes a
//!   string, the last one winning. `_run` sets run fields from an object of
//!   strings: `group`, `job_type`, and `wandb` (`project`, `entity`, `name`), each
//!   the last one given winning; unknown fields are ignored, a field of another
//!   type makes the line malformed (its other fields still count). `null` values are ignored
//!   there too, also inside `_config` and `_summary` objects (TOML has no null).
//!   Other types make the line malformed. Unknown `_`-keys are ignored, so newer
//!   clients can add keys.
//! - Blank lines are skipped without being counted. Lines that are not a JSON
//!   object, not UTF-8, nested deeper than 128 levels or longer than 1 MiB are
//!   malformed; a long line is dropped as it streams in, so at most 1 MiB of it is
//!   ever held. `\r\n` line ends are accepted.

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::artifacts::ArtifactRef;
use crate::capture::json_line::{Fault, Scalar, Scanner, MAX_DEPTH};
use crate::capture::metrics::{Metrics, Point};
use crate::env::Redactor;
use crate::store::format::{MalformedEvents, WandbNames};

/// Longest line accepted, in bytes, without its `\n`.
const MAX_LINE: usize = 1 << 20;
/// How many malformed line numbers are kept.
const MAX_MALFORMED_LINES: usize = 100;
/// How many malformed line samples are kept.
const MAX_SAMPLES: usize = 20;
/// How many characters of a malformed line its sample shows.
const SAMPLE_CHARS: usize = 120;

/// Everything read from an events file once the stream has ended.
#[derive(Debug, Clone, Default)]
pub struct Ingested {
    /// Every metric point, in logged order.
    pub metrics: Metrics,
    /// `_config` objects, deep-merged, later values winning.
    pub config: Map<String, Value>,
    /// `_summary` objects flattened to dotted keys and merged, later values winning.
    pub summary_values: Map<String, Value>,
    /// `_tag` values, deduplicated, in first-logged order.
    pub tags: Vec<String>,
    /// The last `_note`.
    pub note: Option<String>,
    /// The last `_run.group`.
    pub group: Option<String>,
    /// The last `_run.job_type`.
    pub job_type: Option<String>,
    /// The last `_run.wandb` fields.
    pub wandb: WandbNames,
    /// `_artifact` references, deduplicated, in first-logged order.
    pub artifacts: Vec<ArtifactRef>,
    /// How many lines were malformed, and the first line numbers.
    pub malformed: MalformedEvents,
    /// The first 20 malformed lines: line number and `reason: first 120 characters`.
    pub malformed_samples: Vec<(u64, String)>,
}

/// Parses an events file incrementally, as bytes are appended to it.
#[derive(Debug)]
pub struct Ingest {
    out: Ingested,
    /// 1-based number of the last line ended.
    line_no: u64,
    /// Step of the last line that logged metrics.
    last_step: Option<u64>,
    /// The start of a line whose `\n` has not arrived yet.
    partial: Vec<u8>,
    /// While dropping a line past `max_line`: its malformed sample.
    overlong: Option<String>,
    max_line: usize,
    line: Line,
    /// Per metric name index: the line it was last logged on and the point's index.
    seen: Vec<(u64, usize)>,
    artifact_set: HashSet<ArtifactRef>,
    /// Redacts malformed lines before they are cut to a sample.
    redactor: Redactor,
}

impl Default for Ingest {
    fn default() -> Self {
        Self::new()
    }
}

impl Ingest {
    /// Creates a parser at the start of an empty events file; samples of
    /// malformed lines are redacted with the text rules alone.
    pub fn new() -> Self {
        Self::with_redactor(Redactor::default())
    }

    /// Creates a parser whose samples of malformed lines are redacted with
    /// `redactor` (also the environment's secret values), whole, before they
    /// are cut: a sample never keeps the start of a secret.
    pub fn with_redactor(redactor: Redactor) -> Self {
        Ingest {
            out: Ingested::default(),
            line_no: 0,
            last_step: None,
            partial: Vec::new(),
            overlong: None,
            max_line: MAX_LINE,
            line: Line::default(),
            seen: Vec::new(),
            artifact_set: HashSet::new(),
            redactor,
        }
    }

    /// Feeds the bytes appended to the file since the last call.
    ///
    /// Complete lines are parsed now; a trailing partial line is kept for the next
    /// call. `now` (unix seconds) stamps points whose line has no `_time`.
    pub fn feed(&mut self, mut chunk: &[u8], now: f64) {
        while let Some(i) = find_newline(chunk) {
            let (line, rest) = chunk.split_at(i);
            self.end_line(line, now);
            chunk = rest.get(1..).unwrap_or_default();
        }
        if chunk.is_empty() || self.overlong.is_some() {
            return;
        }
        if self.partial.len() + chunk.len() > self.max_line {
            self.overlong = Some(self.long_line_sample(&self.partial, chunk));
            self.partial = Vec::new();
        } else {
            self.partial.extend_from_slice(chunk);
        }
    }

    /// Ends the stream: a trailing partial line is parsed as a line.
    pub fn finish(&mut self, now: f64) {
        if self.overlong.is_some() || !self.partial.is_empty() {
            self.end_line(&[], now);
        }
    }

    /// Returns the metric points read so far.
    pub fn metrics(&self) -> &Metrics {
        &self.out.metrics
    }

    /// Returns everything read; call [`Ingest::finish`] first to get a last line
    /// that has no `\n`.
    pub fn into_ingested(self) -> Ingested {
        self.out
    }

    /// Handles a line whose `\n` was just found; `tail` is its part in this chunk.
    fn end_line(&mut self, tail: &[u8], now: f64) {
        self.line_no += 1;
        if let Some(sample) = self.overlong.take() {
            self.malformed(|_| sample);
        } else if self.partial.is_empty() {
            self.parse_line(tail, now);
        } else if self.partial.len() + tail.len() > self.max_line {
            let sample = self.long_line_sample(&self.partial, tail);
            self.partial.clear();
            self.malformed(|_| sample);
        } else {
            let mut whole = std::mem::take(&mut self.partial);
            whole.extend_from_slice(tail);
            self.parse_line(&whole, now);
            whole.clear();
            self.partial = whole;
        }
    }

    fn long_line_sample(&self, head: &[u8], rest: &[u8]) -> String {
        // Only bytes every split of the stream has seen, so samples do not depend on it.
        let limit = self.max_line.min(4 * SAMPLE_CHARS);
        let mut bytes = head[..head.len().min(limit)].to_vec();
        bytes.extend_from_slice(&rest[..rest.len().min(limit - bytes.len())]);
        sample(&self.redactor, "line longer than 1 MiB", &bytes)
    }

    fn parse_line(&mut self, raw: &[u8], now: f64) {
        if raw.len() > self.max_line {
            let sample = self.long_line_sample(raw, &[]);
            return self.malformed(|_| sample);
        }
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
            return;
        }
        let Ok(text) = std::str::from_utf8(raw) else {
            return self.malformed(|r| sample(r, "invalid UTF-8", raw));
        };
        self.line.clear();
        let parsed = Parser { scan: Scanner::new(text), out: &mut self.line }.line();
        if let Err(fault) = parsed {
            return self.malformed(|r| sample(r, &fault.message(), raw));
        }
        self.apply(now);
        if let Some(problem) = self.line.problem.take() {
            self.malformed(|r| sample(r, &problem, raw));
        }
    }

    fn malformed(&mut self, sample: impl FnOnce(&Redactor) -> String) {
        let m = &mut self.out.malformed;
        m.count += 1;
        if m.lines.len() < MAX_MALFORMED_LINES {
            m.lines.push(self.line_no);
        }
        if self.out.malformed_samples.len() < MAX_SAMPLES {
            self.out.malformed_samples.push((self.line_no, sample(&self.redactor)));
        }
    }

    /// Applies a line that parsed.
    fn apply(&mut self, now: f64) {
        let (line, out) = (&mut self.line, &mut self.out);
        if !line.bad_step && !line.values.is_empty() {
            let step = line
                .step
                .unwrap_or(self.last_step.map_or(0, |s| s.saturating_add(1).min(i64::MAX as u64)));
            self.last_step = Some(step);
            let time = line.time.unwrap_or(now);
            for &(start, end, value) in &line.values {
                let name = out.metrics.intern(line.names.get(start..end).unwrap_or_default());
                let i = name as usize;
                if self.seen.len() <= i {
                    self.seen.resize(i + 1, (0, 0));
                }
                let seen = &mut self.seen[i];
                if seen.0 == self.line_no {
                    out.metrics.set_value(seen.1, value);
                } else {
                    *seen = (self.line_no, out.metrics.len());
                    out.metrics.push_point(Point { step, name, value, time });
                }
            }
        }
        for (key, value) in line.reserved.drain(..) {
            let ok = match (key, value) {
                (Reserved::Config, Value::Object(map)) => {
                    deep_merge(&mut out.config, map);
                    true
                }
                (Reserved::Summary, Value::Object(map)) => {
                    flatten_into(&mut out.summary_values, &map);
                    true
                }
                (Reserved::Note, Value::String(note)) => {
                    out.note = Some(note);
                    true
                }
                (Reserved::Run, Value::Object(map)) => apply_run(map, out),
                (Reserved::Tag, value) => add_strings(value, |tag| {
                    if !out.tags.contains(&tag) {
                        out.tags.push(tag);
                    }
                }),
                (Reserved::Artifact, value) => add_artifacts(value, |r| {
                    if self.artifact_set.insert(r.clone()) {
                        out.artifacts.push(r);
                    }
                }),
                _ => false,
            };
            if !ok && line.problem.is_none() {
                line.problem = Some(format!("wrong type for key {}", key.name()));
            }
        }
    }
}

/// Applies a `_run` object's fields; false if one has the wrong type (the
/// others are still applied).
fn apply_run(map: Map<String, Value>, out: &mut Ingested) -> bool {
    let mut ok = true;
    let mut set = |slot: &mut Option<String>, value: Value| match value {
        Value::String(s) => *slot = Some(s),
        Value::Null => {}
        _ => ok = false,
    };
    let mut wandb = None;
    for (key, value) in map {
        match key.as_str() {
            "group" => set(&mut out.group, value),
            "job_type" => set(&mut out.job_type, value),
            "wandb" => wandb = Some(value),
            _ => {}
        }
    }
    match wandb {
        Some(Value::Object(names)) => {
            for (key, value) in names {
                match key.as_str() {
                    "project" => set(&mut out.wandb.project, value),
                    "entity" => set(&mut out.wandb.entity, value),
                    "name" => set(&mut out.wandb.name, value),
                    _ => {}
                }
            }
        }
        None | Some(Value::Null) => {}
        Some(_) => ok = false,
    }
    ok
}

/// Returns the index of the first `\n` in `bytes`.
fn find_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

/// Returns `reason: ` and the first characters of a line, control characters
/// replaced. Both are redacted first (a key name in the reason may be a token;
/// the line is redacted whole, so a secret the cut would split goes whole).
fn sample(redactor: &Redactor, reason: &str, raw: &[u8]) -> String {
    let line = String::from_utf8_lossy(raw);
    let line = redactor.redact_text(&line);
    let shown = line.chars().take(SAMPLE_CHARS);
    let mut s = format!("{}: ", redactor.redact_text(reason));
    s.extend(shown.map(|c| if c.is_control() { char::REPLACEMENT_CHARACTER } else { c }));
    s
}

/// Feeds a string, or each string of an array, to `add`; false if anything else was seen.
fn add_strings(value: Value, mut add: impl FnMut(String)) -> bool {
    match value {
        Value::String(s) => {
            add(s);
            true
        }
        Value::Array(items) => {
            let mut ok = true;
            for item in items {
                match item {
                    Value::String(s) => add(s),
                    _ => ok = false,
                }
            }
            ok
        }
        _ => false,
    }
}

/// Calls `add` for each artifact reference of an `_artifact` value; false if any
/// part has the wrong shape (the usable parts are still added).
fn add_artifacts(value: Value, mut add: impl FnMut(ArtifactRef)) -> bool {
    let mut one = |item: Value| match item {
        Value::String(path) => {
            add(ArtifactRef { path, name: None });
            true
        }
        Value::Object(mut map) => match (map.remove("path"), map.remove("name")) {
            (Some(Value::String(path)), None | Some(Value::Null)) => {
                add(ArtifactRef { path, name: None });
                true
            }
            (Some(Value::String(path)), Some(Value::String(name))) => {
                add(ArtifactRef { path, name: Some(name) });
                true
            }
            _ => false,
        },
        _ => false,
    };
    match value {
        Value::Array(items) => {
            // Every item is tried, so the usable ones count even after a bad one.
            let mut ok = true;
            for item in items {
                ok &= one(item);
            }
            ok
        }
        other => one(other),
    }
}

/// Merges `from` into `into`: objects recursively, anything else replaced (a
/// null too: it is stored as `"None"`, see `finish::NULL_TEXT`).
fn deep_merge(into: &mut Map<String, Value>, from: Map<String, Value>) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(Value::Object(old)), Value::Object(new)) => deep_merge(old, new),
            (_, Value::Object(new)) => {
                let mut cleaned = Map::new();
                deep_merge(&mut cleaned, new);
                into.insert(key, Value::Object(cleaned));
            }
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

/// Inserts the leaves of `from` into `into` under dotted keys (nulls too).
fn flatten_into(into: &mut Map<String, Value>, from: &Map<String, Value>) {
    crate::util::flatten_keys(from, &Value::as_object, &mut |key, value| {
        into.insert(key, value.clone());
    });
}

/// The reserved keys whose values are applied once the whole line has parsed.
#[derive(Debug, Clone, Copy)]
enum Reserved {
    Config,
    Summary,
    Tag,
    Note,
    Artifact,
    Run,
}

impl Reserved {
    fn name(self) -> &'static str {
        match self {
            Reserved::Config => "_config",
            Reserved::Summary => "_summary",
            Reserved::Tag => "_tag",
            Reserved::Note => "_note",
            Reserved::Artifact => "_artifact",
            Reserved::Run => "_run",
        }
    }
}

/// What one line holds; buffers are reused from line to line.
#[derive(Debug, Default)]
struct Line {
    /// The flattened name of the metric being parsed.
    path: String,
    /// Names of the line's metrics, concatenated; `values` holds their ranges.
    names: String,
    values: Vec<(usize, usize, f64)>,
    step: Option<u64>,
    bad_step: bool,
    time: Option<f64>,
    reserved: Vec<(Reserved, Value)>,
    /// Why the line is malformed although it parsed (the first reason).
    problem: Option<String>,
}

impl Line {
    fn clear(&mut self) {
        self.names.clear();
        self.values.clear();
        self.step = None;
        self.bad_step = false;
        self.time = None;
        self.reserved.clear();
        self.problem = None;
    }

    fn problem(&mut self, problem: impl FnOnce() -> String) {
        if self.problem.is_none() {
            self.problem = Some(problem());
        }
    }
}

/// Parses one line with a [`Scanner`], writing metrics straight into a [`Line`];
/// `serde_json::Value`s are built only for the rare reserved keys.
struct Parser<'a, 'l> {
    scan: Scanner<'a>,
    out: &'l mut Line,
}

impl Parser<'_, '_> {
    fn line(&mut self) -> Result<(), Fault> {
        self.scan.ws();
        if self.scan.peek() != Some(b'{') {
            return Err(Fault::NotObject);
        }
        self.scan.bump();
        let mut key = self.scan.first_key()?;
        while let Some(k) = key {
            self.member(&k)?;
            key = self.scan.next_key()?;
        }
        self.scan.ws();
        if !self.scan.at_end() {
            return self.scan.fail("trailing characters after the object");
        }
        Ok(())
    }

    fn member(&mut self, key: &str) -> Result<(), Fault> {
        if !key.starts_with('_') {
            self.out.path.clear();
            self.out.path.push_str(key);
            return self.metric(1);
        }
        let reserved = match key {
            "_step" => {
                let step = self.scan.scalar(1)?;
                match step_of(step) {
                    Ok(step) => self.out.step = step.or(self.out.step),
                    Err(()) => {
                        self.out.bad_step = true;
                        self.out.problem(|| "_step is not a non-negative integer".to_owned());
                    }
                }
                return Ok(());
            }
            "_time" => {
                let time = match self.scan.scalar(1)? {
                    Scalar::Null => return Ok(()),
                    Scalar::Number(text, _) => text.parse::<f64>().ok().filter(|t| t.is_finite()),
                    _ => None,
                };
                match time {
                    Some(t) => self.out.time = Some(t),
                    None => self.out.problem(|| "_time is not a number of unix seconds".to_owned()),
                }
                return Ok(());
            }
            "_config" => Reserved::Config,
            "_summary" => Reserved::Summary,
            "_tag" => Reserved::Tag,
            "_note" => Reserved::Note,
            "_artifact" => Reserved::Artifact,
            "_run" => Reserved::Run,
            _ => {
                self.scan.value(1)?;
                return Ok(());
            }
        };
        let value = self.scan.value(1)?;
        if !value.is_null() {
            self.out.reserved.push((reserved, value));
        }
        Ok(())
    }

    /// Parses the value of the metric named `out.path`.
    fn metric(&mut self, depth: u32) -> Result<(), Fault> {
        if self.scan.peek() == Some(b'{') {
            if depth > MAX_DEPTH {
                return self.scan.fail("nested too deeply");
            }
            self.scan.bump();
            let len = self.out.path.len();
            let mut key = self.scan.first_key()?;
            while let Some(k) = key {
                self.out.path.truncate(len);
                self.out.path.push('.');
                self.out.path.push_str(&k);
                self.metric(depth + 1)?;
                key = self.scan.next_key()?;
            }
            return Ok(());
        }
        let value = match self.scan.scalar(depth)? {
            Scalar::Number(text, _) => match text.parse::<f64>() {
                Ok(v) => v,
                Err(_) => return self.scan.fail("invalid number"),
            },
            Scalar::Bool(b) => f64::from(u8::from(b)),
            Scalar::Null => return Ok(()),
            Scalar::Special(v) => v,
            Scalar::Str(s) => match special_float(&s) {
                Some(v) => v,
                None => {
                    self.wrong_type();
                    return Ok(());
                }
            },
            Scalar::Composite => {
                self.wrong_type();
                return Ok(());
            }
        };
        let out = &mut *self.out;
        let start = out.names.len();
        out.names.push_str(&out.path);
        out.values.push((start, out.names.len(), value));
        Ok(())
    }

    fn wrong_type(&mut self) {
        let out = &mut *self.out;
        if out.problem.is_none() {
            out.problem = Some(format!("wrong type for key {}", out.path));
        }
    }
}

/// Reads a `_step` value: `Ok(None)` for null, `Err` for anything but a
/// non-negative integer (or a float without fraction).
fn step_of(value: Scalar<'_>) -> Result<Option<u64>, ()> {
    match value {
        Scalar::Null => Ok(None),
        Scalar::Number(text, integer) => {
            if integer {
                // Steps are stored as TOML integers (i64) in summary.toml.
                if let Ok(n) = text.parse::<i64>() {
                    return u64::try_from(n).map(Some).map_err(|_| ());
                }
            }
            let f = text.parse::<f64>().map_err(|_| ())?;
            // 2^63 is exact as an f64; anything below it with no fraction fits an i64.
            if f >= 0.0 && f.fract() == 0.0 && f < 9_223_372_036_854_775_808.0 {
                Ok(Some(f as u64))
            } else {
                Err(())
            }
        }
        _ => Err(()),
    }
}

/// The special float a metric string stands for, if any.
fn special_float(s: &str) -> Option<f64> {
    let lower = |w: &str| s.eq_ignore_ascii_case(w);
    if lower("nan") {
        Some(f64::NAN)
    } else if lower("inf") || lower("infinity") {
        Some(f64::INFINITY)
    } else if lower("-inf") || lower("-infinity") {
        Some(f64::NEG_INFINITY)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: f64 = 1_700_000_000.0;

    fn ingest(text: &str) -> Ingested {
        let mut ing = Ingest::new();
        ing.feed(text.as_bytes(), NOW);
        ing.finish(NOW);
        ing.into_ingested()
    }

    /// `(name, step, value)` of every point.
    fn points(m: &Metrics) -> Vec<(String, u64, f64)> {
        m.points().iter().map(|p| (m.names()[p.name as usize].clone(), p.step, p.value)).collect()
    }

    fn pts(list: &[(&str, u64, f64)]) -> Vec<(String, u64, f64)> {
        list.iter().map(|&(n, s, v)| (n.to_owned(), s, v)).collect()
    }

    /// Everything in an `Ingested`, as text, with NaN comparing equal to itself.
    fn fingerprint(out: &Ingested) -> String {
        let mut csv = Vec::new();
        out.metrics.write_csv(&mut csv).unwrap();
        format!(
            "{}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
            String::from_utf8(csv).unwrap(),
            out.config,
            out.summary_values,
            out.tags,
            out.note,
            out.artifacts,
            out.malformed,
            out.malformed_samples
        )
    }

    #[test]
    fn steps_auto_increment_and_follow_explicit_steps() {
        let out = ingest(
            "{\"loss\": 1}\n{\"loss\": 2, \"acc\": 0.5}\n{\"_config\": {\"lr\": 0.1}}\n\
             {\"loss\": 3, \"_step\": 10}\n{\"loss\": 4}\n{\"loss\": 5, \"_step\": 2.0}\n\
             {\"_step\": 50}\n{\"x\": 6}\n",
        );
        assert_eq!(
            points(&out.metrics),
            pts(&[
                ("loss", 0, 1.0),
                ("loss", 1, 2.0),
                ("acc", 1, 0.5),
                ("loss", 10, 3.0),
                ("loss", 11, 4.0),
                ("loss", 2, 5.0),
                ("x", 3, 6.0),
            ])
        );
        assert_eq!(out.malformed.count, 0);
        assert!(out.metrics.points().iter().all(|p| p.time == NOW));
    }

    #[test]
    fn time_comes_from_the_line_or_now() {
        let out = ingest("{\"a\": 1, \"_time\": 12.5}\n{\"a\": 2}\n{\"a\": 3, \"_time\": \"x\"}\n");
        let times: Vec<f64> = out.metrics.points().iter().map(|p| p.time).collect();
        assert_eq!(times, [12.5, NOW, NOW]);
        assert_eq!(out.malformed.lines, [3]);
        assert_eq!(
            out.malformed_samples[0].1,
            "_time is not a number of unix seconds: {\"a\": 3, \"_time\": \"x\"}"
        );
    }

    #[test]
    fn reserved_keys() {
        let out = ingest(concat!(
            "{\"_config\": {\"lr\": 0.1, \"opt\": {\"name\": \"adam\", \"beta\": 0.9}}}\n",
            "{\"_config\": {\"opt\": {\"beta\": 0.99, \"eps\": null}, \"seed\": 7}}\n",
            "{\"_summary\": {\"best\": {\"acc\": 0.9}, \"epochs\": 3}, \"_tag\": \"base\"}\n",
            "{\"_summary\": {\"epochs\": 4, \"gone\": null}, \"_tag\": [\"a\", \"base\", \"b\"]}\n",
            "{\"_note\": \"first\", \"_artifact\": \"model.pt\", \"_future\": {\"x\": [1]}}\n",
            "{\"_note\": \"second\", \"_artifact\": [\"model.pt\", \"log.txt\"], \"_note2\": 1}\n",
            "{\"_artifact\": [{\"path\": \"/m.pt\", \"name\": \"best/m.pt\"}, {\"path\": \"log.txt\"}]}\n",
            "{\"_note\": null, \"_tag\": null, \"_step\": null, \"_time\": null}\n",
        ));
        assert_eq!(
            Value::Object(out.config),
            json!({"lr": 0.1, "opt": {"name": "adam", "beta": 0.99, "eps": null}, "seed": 7})
        );
        assert_eq!(
            Value::Object(out.summary_values),
            json!({"best.acc": 0.9, "epochs": 4, "gone": null})
        );
        assert_eq!(out.tags, ["base", "a", "b"]);
        assert_eq!(out.note.as_deref(), Some("second"));
        let refs: Vec<(&str, Option<&str>)> =
            out.artifacts.iter().map(|r| (r.path.as_str(), r.name.as_deref())).collect();
        assert_eq!(refs, [("model.pt", None), ("log.txt", None), ("/m.pt", Some("best/m.pt"))]);
        assert_eq!(out.malformed.count, 0);
        assert!(out.metrics.is_empty());
    }

    /// `_run` sets run fields, never config. See: issue 11, item 8.
    #[test]
    fn run_fields_are_kept_apart_from_the_config() {
        let out = ingest(concat!(
            "{\"_run\": {\"group\": \"g0\", \"job_type\": \"train\", \"later\": [1]}}\n",
            "{\"_run\": {\"group\": \"g1\", \"wandb\": {\"project\": \"p\", \"entity\": \"e\"}}}\n",
            "{\"_run\": {\"job_type\": null, \"wandb\": {\"name\": \"my run\"}}}\n",
            "{\"_run\": {\"group\": 3, \"job_type\": \"eval\"}}\n",
            "{\"_run\": {\"wandb\": \"p\"}}\n",
            "{\"_run\": \"x\"}\n",
        ));
        assert_eq!(out.group.as_deref(), Some("g1"));
        assert_eq!(out.job_type.as_deref(), Some("eval"));
        let w = &out.wandb;
        assert_eq!(
            (w.project.as_deref(), w.entity.as_deref(), w.name.as_deref()),
            (Some("p"), Some("e"), Some("my run"))
        );
        assert!(out.config.is_empty());
        assert_eq!(out.malformed.lines, [4, 5, 6]);
        assert!(out
            .malformed_samples
            .iter()
            .all(|(_, s)| s.starts_with("wrong type for key _run")));
    }

    #[test]
    fn reserved_keys_of_the_wrong_type_are_malformed() {
        let out = ingest(concat!(
            "{\"_config\": 3, \"a\": 1}\n",
            "{\"_summary\": [1]}\n",
            "{\"_tag\": [\"ok\", 1]}\n",
            "{\"_note\": 5}\n",
            "{\"_artifact\": [{\"p\": \"x\"}, \"kept.txt\"]}\n",
            "{\"_tag\": \"fine\"}\n",
        ));
        assert_eq!(out.malformed.lines, [1, 2, 3, 4, 5]);
        let reasons: Vec<&str> =
            out.malformed_samples.iter().map(|(_, s)| s.split(':').next().unwrap()).collect();
        assert_eq!(
            reasons,
            [
                "wrong type for key _config",
                "wrong type for key _summary",
                "wrong type for key _tag",
                "wrong type for key _note",
                "wrong type for key _artifact"
            ]
        );
        assert_eq!(out.tags, ["ok", "fine"]);
        assert_eq!(out.artifacts.len(), 1);
        assert_eq!(out.artifacts[0].path, "kept.txt");
        assert_eq!(points(&out.metrics), pts(&[("a", 0, 1.0)]));
    }

    #[test]
    fn nested_objects_are_flattened() {
        let out = ingest(
            "{\"train\": {\"loss\": 1, \"sub\": {\"x\": 2}}, \"val\": {}, \"v\": {\"acc\": 3}}\n",
        );
        assert_eq!(
            points(&out.metrics),
            pts(&[("train.loss", 0, 1.0), ("train.sub.x", 0, 2.0), ("v.acc", 0, 3.0)])
        );
    }

    #[test]
    fn value_types() {
        let out = ingest(concat!(
            "{\"b\": true, \"f\": false, \"n\": null, \"i\": -3, \"e\": 1.5e3, \"big\": 1e400}\n",
            "{\"s\": \"hello\", \"arr\": [1, 2], \"ok\": 0.1}\n",
        ));
        assert_eq!(
            points(&out.metrics),
            pts(&[
                ("b", 0, 1.0),
                ("f", 0, 0.0),
                ("i", 0, -3.0),
                ("e", 0, 1500.0),
                ("big", 0, f64::INFINITY),
                ("ok", 1, 0.1),
            ])
        );
        assert_eq!(out.malformed.lines, [2]);
        assert_eq!(
            out.malformed_samples[0].1,
            format!("wrong type for key s: {}", "{\"s\": \"hello\", \"arr\": [1, 2], \"ok\": 0.1}")
        );
    }

    #[test]
    fn numbers_are_rounded_exactly() {
        let values = [0.9856906946328695, 0.30000000000000004, 5e-324, 1.7976931348623157e308];
        let text: String = values.iter().map(|v| format!("{{\"v\": {v:?}}}\n")).collect();
        let out = ingest(&text);
        let got: Vec<f64> = out.metrics.points().iter().map(|p| p.value).collect();
        assert_eq!(got, values);
    }

    #[test]
    fn nan_and_infinity_bare_and_as_strings() {
        let out = ingest(concat!(
            "{\"a\": NaN, \"b\": Infinity, \"c\": -Infinity, \"_step\": 1}\n",
            "{\"a\": \"nan\", \"b\": \"INF\", \"c\": \"-infinity\", ",
            "\"d\": \"NaN\", \"e\": \"Infinity\"}\n",
            "{\"_summary\": {\"best\": NaN}, \"_config\": {\"x\": -Infinity}, \"s\": \"NaN,\"}\n",
            "{\"a\": nan}\n",
            "{\"_step\": NaN, \"a\": 1}\n",
        ));
        let p = points(&out.metrics);
        let specials = |v: f64| if v.is_nan() { "nan".to_owned() } else { v.to_string() };
        let got: Vec<(String, u64, String)> =
            p.into_iter().map(|(n, s, v)| (n, s, specials(v))).collect();
        let want = [
            ("a", 1, "nan"),
            ("b", 1, "inf"),
            ("c", 1, "-inf"),
            ("a", 2, "nan"),
            ("b", 2, "inf"),
            ("c", 2, "-inf"),
            ("d", 2, "nan"),
            ("e", 2, "inf"),
        ];
        let want: Vec<(String, u64, String)> =
            want.iter().map(|&(n, s, v)| (n.to_owned(), s, v.to_owned())).collect();
        assert_eq!(got, want);
        assert_eq!(Value::Object(out.summary_values), json!({"best": "NaN"}));
        assert_eq!(Value::Object(out.config), json!({"x": "-Infinity"}));
        assert_eq!(out.malformed.lines, [3, 4, 5]);
        assert!(out.malformed_samples[1]
            .1
            .starts_with("invalid JSON at column 7: expected a value"));
        assert!(out.malformed_samples[2].1.starts_with("_step is not a non-negative integer"));
    }

    #[test]
    fn bad_steps_drop_the_lines_metrics() {
        let out = ingest(concat!(
            "{\"a\": 1}\n",
            "{\"a\": 2, \"_step\": -1}\n",
            "{\"a\": 3, \"_step\": \"4\"}\n",
            "{\"a\": 4, \"_step\": 1.5, \"_tag\": \"kept\"}\n",
            "{\"a\": 5}\n",
            "{\"a\": 6, \"_step\": 18446744073709551615}\n",
            "{\"a\": 7}\n",
            "{\"a\": 8, \"_step\": 9223372036854775807}\n",
        ));
        // Steps beyond i64::MAX cannot be stored as TOML integers: malformed.
        assert_eq!(
            points(&out.metrics),
            pts(&[("a", 0, 1.0), ("a", 1, 5.0), ("a", 2, 7.0), ("a", i64::MAX as u64, 8.0)])
        );
        assert_eq!(out.malformed.lines, [2, 3, 4, 6]);
        assert_eq!(out.tags, ["kept"]);
    }

    #[test]
    fn duplicate_keys_log_the_later_value() {
        let out =
            ingest("{\"a\": 1, \"b\": 2, \"a\": 3, \"t\": {\"x\": 4}, \"t.x\": 5}\n{\"a\": 6}\n");
        assert_eq!(
            points(&out.metrics),
            pts(&[("a", 0, 3.0), ("b", 0, 2.0), ("t.x", 0, 5.0), ("a", 1, 6.0)])
        );
    }

    #[test]
    fn malformed_lines_are_counted_and_sampled() {
        let out = ingest(concat!(
            "not json\n",
            "[1, 2]\n",
            "42\n",
            "{\"a\": 1,}\n",
            "{\"a\": 1} {\"b\": 2}\n",
            "{\"a\": 01}\n",
            "{\"a\": \"x\ty\"}\n",
            "{\"a\": 1\n",
            "{\"ok\": 1}\n",
        ));
        assert_eq!(out.malformed.count, 8);
        assert_eq!(out.malformed.lines, [1, 2, 3, 4, 5, 6, 7, 8]);
        let samples: Vec<String> = out.malformed_samples.iter().map(|(_, s)| s.clone()).collect();
        assert_eq!(
            samples,
            [
                "not a JSON object: not json",
                "not a JSON object: [1, 2]",
                "not a JSON object: 42",
                "invalid JSON at column 9: expected a string key: {\"a\": 1,}",
                "invalid JSON at column 10: trailing characters after the object: \
                 {\"a\": 1} {\"b\": 2}",
                "invalid JSON at column 8: expected `,` or `}`: {\"a\": 01}",
                "invalid JSON at column 9: control character in string: {\"a\": \"x\u{fffd}y\"}",
                "invalid JSON at column 8: expected `,` or `}`: {\"a\": 1",
            ]
        );
        assert_eq!(points(&out.metrics), pts(&[("ok", 0, 1.0)]));
    }

    #[test]
    fn invalid_utf8_crlf_and_blank_lines() {
        let mut ing = Ingest::new();
        ing.feed(
            b"{\"a\": 1}\r\n\r\n   \n\t\n{\"a\": \"\xff\"}\n{\"\xc3\xa9t\xc3\xa9\": 2}\r\n\n",
            NOW,
        );
        ing.finish(NOW);
        let out = ing.into_ingested();
        assert_eq!(points(&out.metrics), pts(&[("a", 0, 1.0), ("été", 1, 2.0)]));
        assert_eq!(out.malformed.lines, [5]);
        assert_eq!(out.malformed_samples[0].1, "invalid UTF-8: {\"a\": \"\u{fffd}\"}");
    }

    #[test]
    fn partial_lines_wait_for_their_end_or_finish() {
        let mut ing = Ingest::new();
        ing.feed(b"{\"a\": 1}\n{\"a\"", 1.0);
        assert_eq!(ing.metrics().len(), 1);
        ing.feed(b": 2}", 2.0);
        assert_eq!(ing.metrics().len(), 1);
        ing.feed(b"\n{\"a\": 3}", 3.0);
        assert_eq!(ing.metrics().len(), 2);
        ing.finish(4.0);
        let times: Vec<f64> = ing.metrics().points().iter().map(|p| p.time).collect();
        assert_eq!(times, [1.0, 3.0, 4.0]);
    }

    #[test]
    fn lines_of_100_kb_do_not_hurt() {
        let pad = "x".repeat(100_000);
        let text = format!(
            "{{\"loss\": 0.5, \"_note\": \"{pad}\"}}\n{{\"loss\": \"{pad}\"}}\n\
             {{\"{pad}\n{{\"loss\": 1}}\n"
        );
        let mut ing = Ingest::new();
        for chunk in text.as_bytes().chunks(4096) {
            ing.feed(chunk, NOW);
        }
        let out = ing.into_ingested();
        assert_eq!(points(&out.metrics), pts(&[("loss", 0, 0.5), ("loss", 1, 1.0)]));
        assert_eq!(out.note.as_deref(), Some(pad.as_str()));
        assert_eq!(out.malformed.lines, [2, 3]);
        let sample = &out.malformed_samples[0].1;
        assert_eq!(sample.chars().count(), "wrong type for key loss: ".len() + SAMPLE_CHARS);
    }

    #[test]
    fn lines_over_1_mib_are_dropped_without_buffering_them() {
        let mut ing = Ingest::new();
        ing.feed(b"{\"a\": 1}\n{\"_note\": \"", NOW);
        let block = vec![b'y'; 64 * 1024];
        for _ in 0..48 {
            ing.feed(&block, NOW);
            assert!(ing.partial.len() <= MAX_LINE);
        }
        assert!(ing.overlong.is_some() && ing.partial.capacity() <= MAX_LINE);
        ing.feed(b"\"}\n{\"a\": 2}\n", NOW);
        // A long line that never ends.
        ing.feed(&vec![b'z'; MAX_LINE + 1], NOW);
        ing.finish(NOW);
        let out = ing.into_ingested();
        assert_eq!(points(&out.metrics), pts(&[("a", 0, 1.0), ("a", 1, 2.0)]));
        assert_eq!(out.malformed.lines, [2, 4]);
        assert!(out.malformed_samples[0]
            .1
            .starts_with("line longer than 1 MiB: {\"_note\": \"yyy"));
        // Exactly at the limit is fine, in one chunk or several.
        let line = format!("{{\"_note\": \"{}\"}}\n", "n".repeat(MAX_LINE - 13));
        assert_eq!(line.len(), MAX_LINE + 1);
        assert!(ingest(&line).note.is_some());
        let longer = format!("{{\"_note\": \"{}\"}}\n", "n".repeat(MAX_LINE - 12));
        assert_eq!(ingest(&longer).malformed.count, 1);
    }

    #[test]
    fn malformed_lists_are_capped() {
        let out = ingest(&"x\n".repeat(500));
        assert_eq!(out.malformed.count, 500);
        assert_eq!(out.malformed.lines, (1..=100).collect::<Vec<u64>>());
        assert_eq!(out.malformed_samples.len(), 20);
    }

    #[test]
    fn deep_nesting_is_malformed_not_a_crash() {
        let deep = format!("{{\"a\": {}1{}}}\n", "{\"b\": ".repeat(200), "}".repeat(200));
        let arrays = format!("{{\"_x\": {}{}}}\n", "[".repeat(100_000), "]".repeat(100_000));
        let out = ingest(&format!("{deep}{arrays}{{\"ok\": 1}}\n"));
        assert_eq!(out.malformed.lines, [1, 2]);
        assert_eq!(out.metrics.len(), 1);
    }

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: u64) -> usize {
            (self.next() % n) as usize
        }
    }

    /// A stream of valid lines, damaged lines and random bytes.
    fn garbage(rng: &mut XorShift, lines: usize) -> Vec<u8> {
        const PIECES: &[&str] = &[
            "{\"loss\": 0.5}",
            "{\"loss\": NaN, \"_step\": 3}",
            "{\"a\": {\"b\": -Infinity}, \"_time\": 5}",
            "{\"_config\": {\"lr\": 1e-3, \"o\": {\"n\": \"x\"}}}",
            "{\"_summary\": {\"s\": [1, {\"t\": null}]}, \"_tag\": [\"t1\", \"t2\"]}",
            "{\"_note\": \"h\\u00e9\\\"\", \"_artifact\": \"p\"}",
            "{\"x\": \"inf\", \"y\": true, \"z\": null}",
            "{\"\\ud800\": 1}",
            "",
            "   ",
            "\r",
            "[]",
        ];
        let mut out = Vec::new();
        for _ in 0..lines {
            let mut line = PIECES[rng.below(PIECES.len() as u64)].as_bytes().to_vec();
            match rng.below(6) {
                0 if !line.is_empty() => {
                    let i = rng.below(line.len() as u64);
                    line[i] = rng.next() as u8;
                }
                1 if !line.is_empty() => line.truncate(rng.below(line.len() as u64)),
                2 => line = (0..rng.below(90)).map(|_| rng.next() as u8).collect(),
                3 => line.extend(std::iter::repeat_n(b'w', rng.below(200))),
                _ => {}
            }
            out.extend_from_slice(&line);
            out.extend_from_slice(if rng.below(4) == 0 { b"\r\n" } else { b"\n" });
        }
        out
    }

    fn ingest_split(bytes: &[u8], max_line: usize, rng: Option<&mut XorShift>) -> String {
        let mut ing = Ingest::new();
        ing.max_line = max_line;
        match rng {
            None => ing.feed(bytes, NOW),
            Some(rng) => {
                let mut rest = bytes;
                while !rest.is_empty() {
                    let most = if rng.below(2) == 0 { 8 } else { 300 };
                    let n = (1 + rng.below(most)).min(rest.len());
                    let (chunk, tail) = rest.split_at(n);
                    ing.feed(chunk, NOW);
                    ing.feed(&[], NOW);
                    rest = tail;
                }
            }
        }
        ing.finish(NOW);
        fingerprint(&ing.into_ingested())
    }

    #[test]
    fn garbage_in_any_chunk_split_gives_the_same_result() {
        let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
        for round in 0..40 {
            let bytes = garbage(&mut rng, 200);
            for max_line in [MAX_LINE, 40 + round] {
                let whole = ingest_split(&bytes, max_line, None);
                for _ in 0..4 {
                    assert_eq!(
                        ingest_split(&bytes, max_line, Some(&mut rng)),
                        whole,
                        "round {round}"
                    );
                }
            }
        }
    }

    #[test]
    #[ignore = "timing; run with --release -- --ignored --nocapture"]
    #[allow(clippy::print_stdout)]
    fn ingest_speed() {
        let mut text = Vec::new();
        for i in 0..1_000_000u64 {
            text.extend_from_slice(
                format!("{{\"loss\": 0.{:06}, \"_step\": {i}}}\n", i % 999_983).as_bytes(),
            );
        }
        let start = std::time::Instant::now();
        let mut ing = Ingest::new();
        for chunk in text.chunks(64 * 1024) {
            ing.feed(chunk, NOW);
        }
        ing.finish(NOW);
        let took = start.elapsed();
        assert_eq!(ing.metrics().len(), 1_000_000);
        let rate = 1e6 / took.as_secs_f64();
        println!(
            "ingest: 1,000,000 lines ({} MB) in {took:?}: {rate:.0} points/s",
            text.len() / 1_000_000
        );
    }
}
