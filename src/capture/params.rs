//! Run params: typed values from `-p KEY=VALUE` and params files, and `{key}`
//! placeholders in the command.
//!
//! `-p` values are typed: `true`/`false` -> bool, integers -> int, other
//! numbers (`0.01`, `1e-3`, `nan`) -> float, anything else -> string. Dotted keys
//! (`model.layers=3`) make nested tables. A placeholder `{key}` in an argument is
//! replaced only when `key` is a param, so other braces (`{1: 2}`) stay as typed.

use std::collections::BTreeMap;
use std::path::Path;

/// Errors in params.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `-p` without `=`.
    #[error("param '{0}' is not KEY=VALUE")]
    NoEquals(String),
    /// An empty key or key segment.
    #[error("param key '{0}' is empty or has an empty part")]
    BadKey(String),
    /// A params file could not be read.
    #[error("cannot read params file {path}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A params file is not valid.
    #[error("params file {path} is not valid {kind}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// TOML or JSON.
        kind: &'static str,
        /// What the parser said.
        message: String,
    },
    /// A params file of an unsupported kind.
    #[error("params file {0} must end in .toml or .json")]
    Kind(String),
    /// A key is both a value and a table.
    #[error("param '{0}' is set both as a value and as a group")]
    Conflict(String),
}

/// Parses one `-p` value into a typed TOML value.
pub fn typed(text: &str) -> toml::Value {
    match text {
        "true" => return toml::Value::Boolean(true),
        "false" => return toml::Value::Boolean(false),
        _ => {}
    }
    if let Ok(i) = text.parse::<i64>() {
        return toml::Value::Integer(i);
    }
    let looks_numeric = text.bytes().any(|b| b.is_ascii_digit())
        || matches!(text.to_ascii_lowercase().as_str(), "nan" | "inf" | "-inf" | "+inf");
    if looks_numeric {
        if let Ok(f) = text.parse::<f64>() {
            return toml::Value::Float(f);
        }
    }
    toml::Value::String(text.to_owned())
}

/// Sets `key` (dotted for nesting) to `value` in `table`.
pub fn set(table: &mut toml::Table, key: &str, value: toml::Value) -> Result<(), Error> {
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(Error::BadKey(key.to_owned()));
    }
    let (last, groups) = parts.split_last().expect("split yields at least one part");
    let mut current = table;
    for group in groups {
        let entry = current
            .entry(group.to_string())
            .or_insert_with(|| toml::Value::Table(Default::default()));
        current = match entry {
            toml::Value::Table(t) => t,
            _ => return Err(Error::Conflict(key.to_owned())),
        };
    }
    if matches!(current.get(*last), Some(toml::Value::Table(_))) && !value.is_table() {
        return Err(Error::Conflict(key.to_owned()));
    }
    current.insert(last.to_string(), value);
    Ok(())
}

/// Applies `-p KEY=VALUE` arguments to `table`; returns the text of each value
/// (by dotted key) for placeholder substitution.
pub fn apply_args(
    table: &mut toml::Table,
    args: &[String],
    texts: &mut BTreeMap<String, String>,
) -> Result<(), Error> {
    for arg in args {
        let (key, value) = arg.split_once('=').ok_or_else(|| Error::NoEquals(arg.clone()))?;
        let key = key.trim();
        set(table, key, typed(value))?;
        texts.insert(key.to_owned(), value.to_owned());
    }
    Ok(())
}

/// Reads a params file (`.toml` or `.json`).
pub fn read_file(path: &Path) -> Result<toml::Table, Error> {
    let shown = path.display().to_string();
    let text = fs_err::read_to_string(path)
        .map_err(|source| Error::Read { path: shown.clone(), source })?;
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("toml") => {
            let mut table: toml::Table = toml::from_str(&text).map_err(|e| Error::Parse {
                path: shown,
                kind: "TOML",
                message: match e.span() {
                    Some(span) => {
                        let (line, column) = line_column(&text, span.start);
                        format!("line {line}, column {column}: {}", e.message())
                    }
                    None => e.message().to_owned(),
                },
            })?;
            dates_to_strings(&mut table);
            Ok(table)
        }
        Some("json") => {
            let value: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text)
                .map_err(|e| Error::Parse { path: shown, kind: "JSON", message: e.to_string() })?;
            Ok(super::finish::json_to_toml_table(&value))
        }
        _ => Err(Error::Kind(shown)),
    }
}

/// The 1-based line and column (in characters) of byte `offset` of `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Turns TOML dates and times into their text: config reaches JSON and CSV,
/// which have no such type.
fn dates_to_strings(table: &mut toml::Table) {
    fn fix(value: &mut toml::Value) {
        match value {
            toml::Value::Datetime(d) => *value = toml::Value::String(d.to_string()),
            toml::Value::Table(t) => t.iter_mut().for_each(|(_, v)| fix(v)),
            toml::Value::Array(a) => a.iter_mut().for_each(fix),
            _ => {}
        }
    }
    table.iter_mut().for_each(|(_, v)| fix(v));
}

/// The text of every leaf value of `table` by dotted key (strings unquoted).
pub fn texts(table: &toml::Table) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    crate::util::flatten_keys(table, &toml::Value::as_table, &mut |key, v| {
        let text = match v {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        out.insert(key, text);
    });
    out
}

/// The `{key}` placeholders of `argv` whose key is no param, in order, each
/// once. Only names that could be keys count (letters, digits, `_`, `-`, `.`,
/// starting with a letter or `_`), so `{}`, `{1: 2}` or `{print(x)}` do not.
pub fn unknown_placeholders(argv: &[String], values: &BTreeMap<String, String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for arg in argv {
        let mut rest = arg.as_str();
        while let Some(open) = rest.find('{') {
            rest = &rest[open + 1..];
            let Some(close) = rest.find('}') else { break };
            let key = &rest[..close];
            let key_like = key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            if key_like && !values.contains_key(key) && !out.iter().any(|k| k == key) {
                out.push(key.to_owned());
            }
        }
    }
    out
}

/// Replaces `{key}` in each argument where `key` is in `values`.
pub fn substitute(argv: &[String], values: &BTreeMap<String, String>) -> Vec<String> {
    argv.iter()
        .map(|arg| {
            let mut out = String::with_capacity(arg.len());
            let mut rest = arg.as_str();
            while let Some(open) = rest.find('{') {
                out.push_str(&rest[..open]);
                let after = &rest[open + 1..];
                match after.find('}').map(|close| (&after[..close], close)) {
                    Some((key, close)) if values.contains_key(key) => {
                        out.push_str(&values[key]);
                        rest = &after[close + 1..];
                    }
                    _ => {
                        out.push('{');
                        rest = after;
                    }
                }
            }
            out.push_str(rest);
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_typed() {
        assert_eq!(typed("3"), toml::Value::Integer(3));
        assert_eq!(typed("-3"), toml::Value::Integer(-3));
        assert_eq!(typed("0.01"), toml::Value::Float(0.01));
        assert_eq!(typed("1e-3"), toml::Value::Float(0.001));
        assert_eq!(typed("true"), toml::Value::Boolean(true));
        assert_eq!(typed("adam"), toml::Value::String("adam".into()));
        assert_eq!(typed("infinity-war"), toml::Value::String("infinity-war".into()));
        assert_eq!(typed(""), toml::Value::String(String::new()));
        assert!(matches!(typed("nan"), toml::Value::Float(f) if f.is_nan()));
    }

    #[test]
    fn dotted_keys_nest_and_conflicts_are_errors() {
        let mut t = toml::Table::new();
        let mut texts = BTreeMap::new();
        apply_args(&mut t, &["model.layers=3".into(), "lr=0.1".into()], &mut texts).unwrap();
        assert_eq!(t["model"]["layers"].as_integer(), Some(3));
        assert!(apply_args(&mut t, &["lr.x=1".into()], &mut texts).is_err());
        assert!(apply_args(&mut t, &["model=1".into()], &mut texts).is_err());
        assert!(apply_args(&mut t, &["novalue".into()], &mut texts).is_err());
        assert!(apply_args(&mut t, &["a..b=1".into()], &mut texts).is_err());
    }

    #[test]
    fn unknown_placeholders_are_found_but_not_other_braces() {
        let values: BTreeMap<String, String> = [("lr".to_string(), "1".to_string())].into();
        let argv: Vec<String> =
            ["--lr", "{lrr}", "{lr}", "{}", "{1: 2}", "x{m.d}y{lrr}"].map(String::from).to_vec();
        assert_eq!(unknown_placeholders(&argv, &values), ["lrr", "m.d"]);
    }

    #[test]
    fn placeholders_replace_known_keys_only() {
        let values: BTreeMap<String, String> =
            [("lr".to_string(), "1e-3".to_string()), ("m.d".to_string(), "4".to_string())].into();
        let argv: Vec<String> =
            ["--lr={lr}", "{m.d}", "{1: 2}", "{unknown}", "{", "}{lr}{"].map(String::from).into();
        assert_eq!(
            substitute(&argv, &values),
            ["--lr=1e-3", "4", "{1: 2}", "{unknown}", "{", "}1e-3{"]
        );
    }
}

#[cfg(test)]
mod file_tests {
    use super::*;

    #[test]
    fn toml_dates_become_strings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        std::fs::write(&path, "when = 2026-01-02\n[data]\nsnapshot = 2026-01-02T03:04:05Z\n")
            .unwrap();
        let t = read_file(&path).unwrap();
        assert_eq!(t["when"].as_str(), Some("2026-01-02"));
        assert_eq!(t["data"]["snapshot"].as_str(), Some("2026-01-02T03:04:05Z"));
    }
}
