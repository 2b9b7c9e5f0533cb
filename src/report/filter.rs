//! Filter expressions and sort keys of `git exp list`: the variables a run offers
//! to an expression (its context), evaluation with minijinja's expression engine,
//! and the rule for values a run does not have. Knows no flags, never prints.
//!
//! Missing values: minijinja orders values of different kinds (undefined first,
//! any object last), so `undefined < 0.9` would be true. To make a comparison with
//! a missing value hold neither way, an expression is evaluated twice: once with
//! missing values as undefined (below everything) and once as a [`Missing`] object
//! (above everything). A run matches only when both say true; runs whose values
//! are all present get the same answer twice.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr, Value};
use minijinja::{Environment, ErrorKind, Expression, UndefinedBehavior};

use crate::store::RunRecord;

/// The variables an expression can use, in the order the docs list them.
pub const VARIABLES: &[&str] = &[
    "params",
    "config",
    "metrics",
    "min",
    "max",
    "status",
    "tags",
    "name",
    "id",
    "started",
    "ended",
    "duration",
    "code_commit",
    "dirty",
    "commit",
    "note",
    "host",
    "user",
    "group",
    "job_type",
];

/// A problem with an expression itself (not with one run).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The expression does not parse, names an unknown variable, filter or test.
    #[error("{message}")]
    Invalid {
        /// What is wrong, without position.
        message: String,
        /// 1-based character column of the problem, when known.
        column: Option<usize>,
    },
}

/// What evaluating a filter on one run gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The expression is true for the run.
    Match,
    /// False, or it needed a value the run does not have.
    NoMatch,
    /// It failed for another reason (e.g. adding a number to a string); the message says why.
    Failed(String),
}

/// Shared state of one run's context: which evaluation runs, and whether a
/// lookup found nothing.
#[derive(Debug, Default)]
struct Probe {
    high: AtomicBool,
    missing: AtomicBool,
}

/// A value a run does not have, in the second evaluation: above every other
/// value, truthy, and every attribute of it is missing too.
#[derive(Debug)]
struct Missing;

impl Object for Missing {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, _key: &Value) -> Option<Value> {
        Some(Value::from_object(Missing))
    }

    fn render(self: &Arc<Self>, _f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        Ok(())
    }
}

/// A map of dotted keys seen as nested maps: key `a.b` is reachable as `x["a.b"]`
/// and as `x.a.b`. When a key is both a value and a prefix (`a` and `a.b`), `x.a`
/// is the value and `a.b` is reachable only as `x["a.b"]`.
#[derive(Debug)]
struct Tree {
    flat: Arc<BTreeMap<String, Value>>,
    prefix: String,
    probe: Arc<Probe>,
}

impl Tree {
    fn lookup(self: &Arc<Self>, key: &str) -> Option<Value> {
        let full =
            if self.prefix.is_empty() { key.to_owned() } else { format!("{}{key}", self.prefix) };
        if let Some(v) = self.flat.get(&full) {
            return Some(v.clone());
        }
        let sub = full + ".";
        if self.flat.range(sub.clone()..).next().is_some_and(|(k, _)| k.starts_with(&sub)) {
            return Some(Value::from_object(Tree {
                flat: self.flat.clone(),
                prefix: sub,
                probe: self.probe.clone(),
            }));
        }
        self.probe.missing.store(true, AtomicOrdering::Relaxed);
        if self.probe.high.load(AtomicOrdering::Relaxed) {
            Some(Value::from_object(Missing))
        } else {
            None
        }
    }

    /// The keys one level below this node.
    fn children(&self) -> Vec<Value> {
        let mut out: Vec<Value> = Vec::new();
        let mut last: Option<&str> = None;
        for key in self.flat.range(self.prefix.clone()..).map(|(k, _)| k) {
            let Some(rest) = key.strip_prefix(&self.prefix) else { break };
            let first = rest.split('.').next().unwrap_or(rest);
            if last != Some(first) {
                out.push(Value::from(first));
                last = Some(first);
            }
        }
        out
    }
}

impl Object for Tree {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str() {
            Some(key) => self.lookup(key),
            None => None,
        }
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
        self.lookup(key)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.children())
    }
}

/// The variables of one run, built once and shared by the filter and sort keys.
pub struct RunContext {
    root: Value,
    probe: Arc<Probe>,
}

impl RunContext {
    /// Builds the context of `run` (see [`VARIABLES`] and docs/commands.md).
    pub fn new(run: &RunRecord) -> RunContext {
        let probe = Arc::new(Probe::default());
        let tree = |flat: BTreeMap<String, Value>| {
            Value::from_object(Tree {
                flat: Arc::new(flat),
                prefix: String::new(),
                probe: probe.clone(),
            })
        };
        let mut config = BTreeMap::new();
        flatten_toml(&run.config, &mut config);
        let config = tree(config);
        let (mut metrics, mut min, mut max) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
        for (name, m) in &run.summary.metrics {
            for (map, v) in [(&mut metrics, m.last), (&mut min, m.min), (&mut max, m.max)] {
                if !v.is_nan() {
                    map.insert(name.clone(), Value::from(v));
                }
            }
        }
        for (name, v) in &run.summary.values {
            match summary_value(v) {
                Some(v) => metrics.insert(name.clone(), v),
                None => metrics.remove(name),
            };
        }
        let exp = &run.exp;
        let mut fields: BTreeMap<String, Value> = BTreeMap::new();
        let mut put = |k: &str, v: Value| {
            fields.insert(k.to_owned(), v);
        };
        put("params", config.clone());
        put("config", config);
        put("metrics", tree(metrics));
        put("min", tree(min));
        put("max", tree(max));
        put("status", Value::from(exp.status.as_str()));
        put(
            "tags",
            Value::from(exp.tags.iter().map(|t| Value::from(t.as_str())).collect::<Vec<_>>()),
        );
        put("name", Value::from(run.name.as_str()));
        put("id", Value::from(exp.id.as_str()));
        put("started", Value::from(exp.started.as_str()));
        put("duration", Value::from(exp.duration_s));
        put("dirty", Value::from(exp.code_dirty));
        put("note", Value::from(exp.note.as_str()));
        put("host", Value::from(exp.host.as_str()));
        put("user", Value::from(exp.user.as_str()));
        // Missing while running (ended, commit) or on an unborn branch (code_commit).
        if !exp.ended.is_empty() {
            put("ended", Value::from(exp.ended.as_str()));
        }
        if let Some(commit) = &run.commit {
            put("commit", Value::from(commit.as_str()));
        }
        if let Some(c) = &exp.code_commit {
            put("code_commit", Value::from(c.as_str()));
        }
        // Missing unless the script named them (`wandb.init(group=, job_type=)`).
        if let Some(g) = &exp.group {
            put("group", Value::from(g.as_str()));
        }
        if let Some(j) = &exp.job_type {
            put("job_type", Value::from(j.as_str()));
        }
        RunContext { root: tree(fields), probe }
    }
}

/// Adds `table`'s values under dotted keys; nested tables become prefixes.
fn flatten_toml(table: &toml::Table, out: &mut BTreeMap<String, Value>) {
    crate::util::flatten_keys(table, &toml::Value::as_table, &mut |key, v| {
        if let Some(v) = toml_value(v) {
            out.insert(key, v);
        }
    });
}

/// A TOML value as an expression value; NaN is left out (it counts as missing).
fn toml_value(v: &toml::Value) -> Option<Value> {
    Some(match v {
        toml::Value::String(s) => Value::from(s.as_str()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) if f.is_nan() => return None,
        toml::Value::Float(f) => Value::from(*f),
        toml::Value::Boolean(b) => Value::from(*b),
        toml::Value::Datetime(d) => Value::from(d.to_string()),
        toml::Value::Array(a) => Value::from(a.iter().filter_map(toml_value).collect::<Vec<_>>()),
        toml::Value::Table(t) => {
            let map: BTreeMap<String, Value> =
                t.iter().filter_map(|(k, v)| Some((k.clone(), toml_value(v)?))).collect();
            Value::from(map)
        }
    })
}

/// A `_summary` value: the strings the store uses for NaN and infinities become
/// numbers again (NaN counts as missing).
fn summary_value(v: &toml::Value) -> Option<Value> {
    match v.as_str() {
        Some("NaN") => None,
        Some("Infinity") => Some(Value::from(f64::INFINITY)),
        Some("-Infinity") => Some(Value::from(f64::NEG_INFINITY)),
        _ => toml_value(v),
    }
}

/// The two environments an expression is compiled in (see the module docs).
pub struct Engine {
    low: Environment<'static>,
    high: Environment<'static>,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

impl Engine {
    /// Sets up the environments, with `defined`, `undefined` and `default` aware of
    /// missing values.
    pub fn new() -> Engine {
        Engine {
            low: environment(UndefinedBehavior::Chainable),
            high: environment(UndefinedBehavior::SemiStrict),
        }
    }

    /// Compiles a filter expression and checks the variables it names.
    pub fn filter(&self, source: &str) -> Result<Filter<'_>, Error> {
        Ok(Filter { low: compile(&self.low, source)?, high: compile(&self.high, source)? })
    }

    /// Compiles a sort key: an expression, descending when it starts with `-`.
    pub fn sort_key(&self, text: &str) -> Result<SortKey<'_>, Error> {
        let trimmed = text.trim();
        let (descending, source) = match trimmed.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        if source.trim().is_empty() {
            return Err(Error::Invalid { message: "empty sort key".into(), column: None });
        }
        Ok(SortKey { expr: compile(&self.low, source)?, descending })
    }
}

fn environment(behavior: UndefinedBehavior) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(behavior);
    env.set_debug(true);
    env.add_test("defined", |v: &Value| !is_missing(v));
    env.add_test("undefined", |v: &Value| is_missing(v));
    env.add_filter("default", default_filter);
    env.add_filter("d", default_filter);
    env
}

fn is_missing(v: &Value) -> bool {
    v.is_undefined() || v.downcast_object_ref::<Missing>().is_some()
}

/// `x | default(y)`: y when x is missing (or, with a true second argument, false).
fn default_filter(v: &Value, other: Option<Value>, lax: Option<bool>) -> Value {
    if is_missing(v) || (lax == Some(true) && !v.is_true()) {
        other.unwrap_or_else(|| Value::from(""))
    } else {
        v.clone()
    }
}

fn compile<'e>(
    env: &'e Environment<'static>,
    source: &str,
) -> Result<Expression<'e, 'static>, Error> {
    let expr = env.compile_expression_owned(source.to_owned()).map_err(|e| {
        let column = e.range().map(|r| column_of(source, r.start));
        Error::Invalid { message: describe(&e), column }
    })?;
    let mut unknown: Vec<String> = expr
        .undeclared_variables(false)
        .into_iter()
        .filter(|n| !VARIABLES.contains(&n.as_str()))
        .collect();
    unknown.sort_by_key(|n| find_name(source, n).unwrap_or(usize::MAX));
    if let Some(name) = unknown.first() {
        return Err(Error::Invalid {
            message: format!("unknown name `{name}`"),
            column: find_name(source, name).map(|at| column_of(source, at)),
        });
    }
    Ok(expr)
}

/// A minijinja error as one line: its kind and detail, without template name or line.
fn describe(e: &minijinja::Error) -> String {
    match e.detail() {
        Some(detail) if e.kind() == ErrorKind::SyntaxError => detail.to_owned(),
        Some(detail) => format!("{}: {detail}", e.kind()),
        None => e.kind().to_string(),
    }
}

fn column_of(source: &str, byte: usize) -> usize {
    source.get(..byte.min(source.len())).map_or(byte, |s| s.chars().count()) + 1
}

/// Byte offset of the first use of `name` as a variable (not after a `.`).
fn find_name(source: &str, name: &str) -> Option<usize> {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    source.match_indices(name).map(|(at, _)| at).find(|&at| {
        let before = source[..at].chars().next_back();
        let after = source[at + name.len()..].chars().next();
        !before.is_some_and(|c| ident(c) || c == '.') && !after.is_some_and(ident)
    })
}

/// A compiled `--filter` expression.
pub struct Filter<'e> {
    low: Expression<'e, 'static>,
    high: Expression<'e, 'static>,
}

impl Filter<'_> {
    /// Evaluates the filter on one run. An error means the expression itself is
    /// wrong (an unknown filter or test), whatever the run.
    pub fn eval(&self, ctx: &RunContext) -> Result<Verdict, Error> {
        ctx.probe.missing.store(false, AtomicOrdering::Relaxed);
        for (high, expr) in [(false, &self.low), (true, &self.high)] {
            ctx.probe.high.store(high, AtomicOrdering::Relaxed);
            match expr.eval(&ctx.root) {
                Ok(v) if v.is_true() => {}
                Ok(_) => return Ok(Verdict::NoMatch),
                Err(e) => {
                    return match e.kind() {
                        ErrorKind::UnknownFilter
                        | ErrorKind::UnknownTest
                        | ErrorKind::UnknownFunction
                        | ErrorKind::UnknownMethod => {
                            Err(Error::Invalid { message: describe(&e), column: None })
                        }
                        ErrorKind::UndefinedError => Ok(Verdict::NoMatch),
                        _ if ctx.probe.missing.load(AtomicOrdering::Relaxed) => {
                            Ok(Verdict::NoMatch)
                        }
                        _ => Ok(Verdict::Failed(describe(&e))),
                    };
                }
            }
        }
        Ok(Verdict::Match)
    }
}

/// A compiled `--sort` key.
pub struct SortKey<'e> {
    expr: Expression<'e, 'static>,
    descending: bool,
}

/// A run's value for a sort key. Ascending order: numbers, then strings, then
/// booleans, then anything else (by its text); missing values always last.
#[derive(Debug, Clone, PartialEq)]
pub enum SortValue {
    /// A number (integers too).
    Number(f64),
    /// A string.
    Text(String),
    /// A boolean.
    Bool(bool),
    /// A list or map, compared by its text.
    Other(String),
    /// The run does not have it (also NaN, and failed evaluations).
    Missing,
}

impl SortValue {
    fn rank(&self) -> u8 {
        match self {
            SortValue::Number(_) => 0,
            SortValue::Text(_) => 1,
            SortValue::Bool(_) => 2,
            SortValue::Other(_) => 3,
            SortValue::Missing => 4,
        }
    }

    fn cmp_present(&self, other: &SortValue) -> std::cmp::Ordering {
        use SortValue as S;
        match (self, other) {
            (S::Number(a), S::Number(b)) => a.total_cmp(b),
            (S::Text(a), S::Text(b)) | (S::Other(a), S::Other(b)) => a.cmp(b),
            (S::Bool(a), S::Bool(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl SortKey<'_> {
    /// The run's value for this key.
    pub fn value(&self, ctx: &RunContext) -> SortValue {
        ctx.probe.high.store(false, AtomicOrdering::Relaxed);
        let Ok(v) = self.expr.eval(&ctx.root) else { return SortValue::Missing };
        if v.is_undefined() || v.is_none() {
            SortValue::Missing
        } else if v.is_number() {
            match f64::try_from(v.clone()) {
                Ok(f) if !f.is_nan() => SortValue::Number(f),
                _ => SortValue::Missing,
            }
        } else if let Some(s) = v.as_str() {
            SortValue::Text(s.to_owned())
        } else if v.kind() == minijinja::value::ValueKind::Bool {
            SortValue::Bool(v.is_true())
        } else {
            SortValue::Other(v.to_string())
        }
    }

    /// Compares two runs' values: missing last in either direction.
    pub fn compare(&self, a: &SortValue, b: &SortValue) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        match (a == &SortValue::Missing, b == &SortValue::Missing) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) if self.descending => b.cmp_present(a),
            (false, false) => a.cmp_present(b),
        }
    }
}

/// Runs kept by [`select`], and the runs the filter failed on.
pub struct Outcome {
    /// Matching runs in their final order.
    pub runs: Vec<RunRecord>,
    /// How many runs the filter failed on (see [`Verdict::Failed`]).
    pub failed: usize,
    /// The first of them: run name and what went wrong.
    pub first_failure: Option<(String, String)>,
}

/// Keeps the runs `filter` matches and orders them by `sort` (stable: runs that
/// tie keep the order they came in).
pub fn select(
    runs: Vec<RunRecord>,
    filter: Option<&Filter<'_>>,
    sort: &[SortKey<'_>],
) -> Result<Outcome, Error> {
    let mut outcome = Outcome { runs: Vec::new(), failed: 0, first_failure: None };
    if filter.is_none() && sort.is_empty() {
        outcome.runs = runs;
        return Ok(outcome);
    }
    let mut kept: Vec<(Vec<SortValue>, RunRecord)> = Vec::new();
    for run in runs {
        let ctx = RunContext::new(&run);
        if let Some(filter) = filter {
            match filter.eval(&ctx)? {
                Verdict::Match => {}
                Verdict::NoMatch => continue,
                Verdict::Failed(message) => {
                    outcome.failed += 1;
                    outcome.first_failure.get_or_insert((run.name.clone(), message));
                    continue;
                }
            }
        }
        let values = sort.iter().map(|k| k.value(&ctx)).collect();
        kept.push((values, run));
    }
    kept.sort_by(|(a, _), (b, _)| {
        sort.iter()
            .zip(a.iter().zip(b))
            .map(|(key, (a, b))| key.compare(a, b))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    outcome.runs = kept.into_iter().map(|(_, run)| run).collect();
    Ok(outcome)
}

/// Splits a `--sort` value at commas outside quotes and brackets.
pub fn split_keys(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut quote, mut current) = (0i32, None::<char>, String::new());
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '(') => depth += 1,
            (None, ']' | ')') => depth -= 1,
            (None, ',') if depth == 0 => {
                out.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    out.push(current);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::format::{ExpFile, MetricSummary, Status, SummaryFile, FORMAT_VERSION};

    /// The commit id of the sample run.
    const C0FFEE: &str = "c0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ff";

    fn run(name: &str, config: &str, metrics: &[(&str, f64)], values: &str) -> RunRecord {
        let summary = SummaryFile {
            metrics: metrics
                .iter()
                .map(|&(k, v)| {
                    let m = MetricSummary {
                        last: v,
                        min: v - 1.0,
                        max: v + 1.0,
                        count: 2,
                        last_step: 1,
                    };
                    (k.to_owned(), m)
                })
                .collect(),
            values: toml::from_str(values).unwrap(),
        };
        RunRecord {
            name: name.into(),
            commit: crate::store::CommitId::parse(C0FFEE),
            exp: ExpFile {
                format: FORMAT_VERSION,
                id: "0123456789abcdef0123456789abcdef".into(),
                name: name.into(),
                status: Status::Finished,
                command: vec!["true".into()],
                exit_code: Some(0),
                signal: None,
                started: "2026-11-02T10:00:00.000Z".into(),
                ended: "2026-11-02T10:01:00.000Z".into(),
                duration_s: 60.0,
                host: "h".into(),
                user: "u".into(),
                tags: vec!["baseline".into()],
                note: String::new(),
                group: None,
                job_type: None,
                code_commit: None,
                code_dirty: true,
                workdir: ".".into(),
                code_skipped: vec![],
                malformed_events: Default::default(),
                wandb: Default::default(),
                git_exp_version: "test".into(),
            },
            config: toml::from_str(config).unwrap(),
            summary,
            env: None,
            output: None,
            artifacts: Default::default(),
        }
    }

    fn sample() -> RunRecord {
        run(
            "r",
            "lr = 0.01\nopt = \"adam\"\n[model]\ndepth = 4\n",
            &[("acc", 0.9), ("val/loss", 0.5), ("train.loss", 0.25), ("a", 1.0), ("a.b", 2.0)],
            "acc = 0.95\nbest = \"NaN\"\ntop = \"Infinity\"\n",
        )
    }

    fn verdict(expr: &str, run: &RunRecord) -> Verdict {
        let engine = Engine::new();
        engine.filter(expr).unwrap().eval(&RunContext::new(run)).unwrap()
    }

    fn yes(expr: &str) -> bool {
        match verdict(expr, &sample()) {
            Verdict::Match => true,
            Verdict::NoMatch => false,
            Verdict::Failed(m) => panic!("{expr}: failed: {m}"),
        }
    }

    #[test]
    fn context_has_the_documented_variables() {
        for expr in [
            "params.lr == 0.01 and config.lr == 0.01",
            "config.model.depth == 4 and config[\"model.depth\"] == 4",
            "metrics.acc == 0.95",
            "min.acc == -0.1 + 0 or min.acc < 0",
            "max[\"val/loss\"] == 1.5",
            "metrics[\"val/loss\"] == 0.5",
            "metrics.train.loss == 0.25 and metrics[\"train.loss\"] == 0.25",
            "status == \"finished\" and name == \"r\" and id[:4] == \"0123\"",
            "\"baseline\" in tags and started >= \"2026-11-01\" and ended > started",
            &format!("duration == 60 and dirty and commit == \"{C0FFEE}\" and host == \"h\" and user == \"u\""),
            "metrics.top > 1e300",
        ] {
            assert!(yes(expr), "{expr}");
        }
    }

    #[test]
    fn the_explicit_summary_value_wins_and_nan_is_missing() {
        assert!(yes("metrics.acc == 0.95 and max.acc == 1.9"));
        assert!(yes("metrics.best is not defined"));
        assert!(!yes("metrics.best > 0") && !yes("metrics.best < 0"));
    }

    #[test]
    fn a_leaf_wins_over_a_prefix() {
        assert!(yes("metrics.a == 1 and metrics[\"a.b\"] == 2"));
        assert!(!yes("metrics.a.b == 2"));
        assert!(!yes("metrics.a.b < 2"));
    }

    #[test]
    fn missing_values_compare_neither_way() {
        for expr in [
            "metrics.nope > 0",
            "metrics.nope < 0",
            "metrics.nope == 0",
            "not metrics.nope > 0",
            "metrics.deep.nope.x < 1",
            "code_commit == \"x\"",
            "metrics.nope * 2 > 1",
            "config.nope is defined",
        ] {
            assert!(!yes(expr), "{expr}");
        }
        for expr in [
            "metrics.nope > 0 or \"baseline\" in tags",
            "metrics.nope != 0",
            "metrics.nope is not defined",
            "(metrics.nope | default(0)) == 0",
            "code_commit is undefined",
        ] {
            assert!(yes(expr), "{expr}");
        }
    }

    #[test]
    fn runtime_errors_fail_the_run() {
        let v = verdict("config.opt + 1 > 2", &sample());
        assert!(matches!(v, Verdict::Failed(_)), "{v:?}");
    }

    #[test]
    fn bad_expressions_point_at_the_problem() {
        let engine = Engine::new();
        let err = |e: &str| match engine.filter(e) {
            Err(Error::Invalid { message, column }) => (message, column),
            Ok(_) => panic!("{e} compiled"),
        };
        let (message, column) = err("metrics.acc >");
        assert_eq!(message, "unexpected end of input, expected expression");
        assert_eq!(column, Some(13));
        assert_eq!(err("metric.acc > 1"), ("unknown name `metric`".into(), Some(1)));
        assert_eq!(err("metrics.metric > 1 and metric > 1").1, Some(24));
        let unknown_filter =
            engine.filter("name | nope").unwrap().eval(&RunContext::new(&sample()));
        assert!(unknown_filter.is_err());
    }

    #[test]
    fn sort_keys_put_missing_last_both_ways() {
        let engine = Engine::new();
        let runs = vec![
            run("a", "lr = 0.1", &[("loss", 0.5)], ""),
            run("b", "lr = 0.2", &[], ""),
            run("c", "lr = 0.3", &[("loss", 0.7)], ""),
            run("d", "lr = \"x\"", &[("loss", 0.5)], ""),
        ];
        let names = |keys: &[&str]| -> Vec<String> {
            let keys: Vec<SortKey> = keys.iter().map(|k| engine.sort_key(k).unwrap()).collect();
            let out = select(runs.clone(), None, &keys).unwrap();
            out.runs.iter().map(|r| r.name.clone()).collect()
        };
        assert_eq!(names(&["metrics.loss"]), ["a", "d", "c", "b"]);
        assert_eq!(names(&["-metrics.loss"]), ["c", "a", "d", "b"]);
        assert_eq!(names(&["-metrics.loss", "name"]), ["c", "a", "d", "b"]);
        assert_eq!(names(&["-metrics.loss", "-name"]), ["c", "d", "a", "b"]);
        assert_eq!(names(&["params.lr"]), ["a", "b", "c", "d"]);
        assert_eq!(names(&["-params.lr"]), ["d", "c", "b", "a"]);
    }

    #[test]
    fn sort_values_split_at_top_level_commas() {
        assert_eq!(split_keys("-metrics.acc,name"), ["-metrics.acc", "name"]);
        assert_eq!(split_keys("metrics[\"a,b\"],id"), ["metrics[\"a,b\"]", "id"]);
    }
}
