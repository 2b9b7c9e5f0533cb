//! A hand-written scanner for one line of JSON, the syntax of an events file
//! line; what the values mean is `events`'s business.
//!
//! This module owns the JSON grammar as events files use it: objects, arrays,
//! strings (escapes decoded, lone surrogates as U+FFFD, borrowed unless they have
//! escapes), numbers (checked against the grammar but handed out as text, so
//! their user parses them once and rounds them exactly), `true`, `false`, `null`,
//! and Python's bare `NaN`, `Infinity` and `-Infinity`. It builds
//! `serde_json::Value`s only when asked to. It never panics on any input: a
//! syntax error is a [`Fault`] with its position. It knows nothing of metrics or
//! reserved keys, and does no I/O.

use std::borrow::Cow;

use serde_json::{Map, Number, Value};

/// Deepest nesting of objects and arrays accepted (serde_json's limit too).
pub(super) const MAX_DEPTH: u32 = 128;

/// Why a line is not a JSON object.
#[derive(Debug)]
pub(super) enum Fault {
    NotObject,
    Syntax { pos: usize, what: &'static str },
}

impl Fault {
    pub(super) fn message(&self) -> String {
        match self {
            Fault::NotObject => "not a JSON object".to_owned(),
            Fault::Syntax { pos, what } => format!("invalid JSON at column {}: {what}", pos + 1),
        }
    }
}

/// A value that is not an object or array (those are skipped as `Composite`).
pub(super) enum Scalar<'a> {
    Number(&'a str, bool),
    Bool(bool),
    Null,
    Special(f64),
    Str(Cow<'a, str>),
    Composite,
}

/// A recursive-descent JSON scanner over one line, at byte `pos` of `text`.
pub(super) struct Scanner<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    /// A scanner at the start of `text`.
    pub(super) fn new(text: &'a str) -> Self {
        Scanner { text, pos: 0 }
    }

    /// Steps over the byte [`Scanner::peek`] returned.
    pub(super) fn bump(&mut self) {
        self.pos += 1;
    }

    /// Whether the whole text has been read.
    pub(super) fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    /// Parses any value into a `serde_json::Value`.
    pub(super) fn value(&mut self, depth: u32) -> Result<Value, Fault> {
        if depth > MAX_DEPTH {
            return self.fail("nested too deeply");
        }
        match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                let mut map = Map::new();
                let mut key = self.first_key()?;
                while let Some(k) = key {
                    let value = self.value(depth + 1)?;
                    map.insert(k.into_owned(), value);
                    key = self.next_key()?;
                }
                Ok(Value::Object(map))
            }
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                loop {
                    self.ws();
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Value::Array(items));
                        }
                        _ => return self.fail("expected `,` or `]`"),
                    }
                }
            }
            _ => Ok(match self.scalar(depth)? {
                Scalar::Number(text, integer) => number_value(text, integer),
                Scalar::Bool(b) => Value::Bool(b),
                Scalar::Null | Scalar::Composite => Value::Null,
                Scalar::Special(v) => Value::String(special_name(v).to_owned()),
                Scalar::Str(s) => Value::String(s.into_owned()),
            }),
        }
    }

    pub(super) fn scalar(&mut self, depth: u32) -> Result<Scalar<'a>, Fault> {
        match self.peek() {
            Some(b'"') => Ok(Scalar::Str(self.string()?)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') if self.eat("true") => Ok(Scalar::Bool(true)),
            Some(b'f') if self.eat("false") => Ok(Scalar::Bool(false)),
            Some(b'n') if self.eat("null") => Ok(Scalar::Null),
            Some(b'N') if self.eat("NaN") => Ok(Scalar::Special(f64::NAN)),
            Some(b'I') if self.eat("Infinity") => Ok(Scalar::Special(f64::INFINITY)),
            Some(b'{' | b'[') => {
                self.value(depth)?;
                Ok(Scalar::Composite)
            }
            _ => self.fail("expected a value"),
        }
    }

    /// Parses a number per the JSON grammar (or `-Infinity`); the text is parsed
    /// to a float only by its user.
    fn number(&mut self) -> Result<Scalar<'a>, Fault> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
            if self.eat("Infinity") {
                return Ok(Scalar::Special(f64::NEG_INFINITY));
            }
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return self.fail("invalid number"),
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
                return self.fail("invalid number");
            }
            self.digits();
            integer = false;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
                return self.fail("invalid number");
            }
            self.digits();
            integer = false;
        }
        Ok(Scalar::Number(self.slice(start, self.pos), integer))
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
    }

    /// Parses a string at its opening quote; borrowed unless it has escapes.
    fn string(&mut self) -> Result<Cow<'a, str>, Fault> {
        self.pos += 1;
        let start = self.pos;
        let bytes = self.text.as_bytes();
        loop {
            match bytes.get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Cow::Borrowed(self.slice(start, self.pos - 1)));
                }
                Some(b'\\') => break,
                Some(&c) if c < 0x20 => return self.fail("control character in string"),
                Some(_) => self.pos += 1,
                None => return self.fail("unterminated string"),
            }
        }
        let mut s = self.slice(start, self.pos).to_owned();
        loop {
            let run = self.pos;
            while bytes.get(self.pos).is_some_and(|&c| c != b'"' && c != b'\\' && c >= 0x20) {
                self.pos += 1;
            }
            // Stops only at ASCII bytes, so the run is whole characters.
            s.push_str(self.slice(run, self.pos));
            match bytes.get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Cow::Owned(s));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    self.escape(&mut s)?;
                }
                Some(_) => return self.fail("control character in string"),
                None => return self.fail("unterminated string"),
            }
        }
    }

    /// Parses the escape after a backslash into `s`; lone surrogates become U+FFFD.
    fn escape(&mut self, s: &mut String) -> Result<(), Fault> {
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.pos += 1;
                let hi = self.hex4()?;
                let mut code = hi;
                if (0xD800..0xDC00).contains(&hi) {
                    let back = self.pos;
                    code = 0xFFFD;
                    if self.eat("\\u") {
                        match self.hex4()? {
                            lo @ 0xDC00..0xE000 => {
                                code = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                            }
                            _ => self.pos = back,
                        }
                    }
                }
                s.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
                return Ok(());
            }
            _ => return self.fail("invalid escape"),
        };
        self.pos += 1;
        s.push(c);
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, Fault> {
        let mut code = 0;
        for _ in 0..4 {
            match self.peek().and_then(|b| char::from(b).to_digit(16)) {
                Some(d) => code = code * 16 + d,
                None => return self.fail("invalid \\u escape"),
            }
            self.pos += 1;
        }
        Ok(code)
    }

    /// After `{`: the first key, or `None` for an empty object.
    pub(super) fn first_key(&mut self) -> Result<Option<Cow<'a, str>>, Fault> {
        self.ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(None);
        }
        self.key().map(Some)
    }

    /// After a member: the next key, or `None` at `}`.
    pub(super) fn next_key(&mut self) -> Result<Option<Cow<'a, str>>, Fault> {
        self.ws();
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                self.ws();
                self.key().map(Some)
            }
            Some(b'}') => {
                self.pos += 1;
                Ok(None)
            }
            _ => self.fail("expected `,` or `}`"),
        }
    }

    /// Parses `"key" :` and the whitespace after it.
    fn key(&mut self) -> Result<Cow<'a, str>, Fault> {
        if self.peek() != Some(b'"') {
            return self.fail("expected a string key");
        }
        let key = self.string()?;
        self.ws();
        if self.peek() != Some(b':') {
            return self.fail("expected `:`");
        }
        self.pos += 1;
        self.ws();
        Ok(key)
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    pub(super) fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn eat(&mut self, word: &str) -> bool {
        let found =
            self.text.as_bytes().get(self.pos..).is_some_and(|b| b.starts_with(word.as_bytes()));
        if found {
            self.pos += word.len();
        }
        found
    }

    /// Returns the text between two positions at ASCII bytes (so on char boundaries).
    fn slice(&self, start: usize, end: usize) -> &'a str {
        self.text.get(start..end).unwrap_or_default()
    }

    pub(super) fn fail<T>(&self, what: &'static str) -> Result<T, Fault> {
        Err(Fault::Syntax { pos: self.pos, what })
    }
}

fn number_value(text: &str, integer: bool) -> Value {
    if integer {
        if let Ok(n) = text.parse::<u64>() {
            return Value::Number(n.into());
        }
        if let Ok(n) = text.parse::<i64>() {
            return Value::Number(n.into());
        }
    }
    let f = text.parse::<f64>().unwrap_or(f64::NAN);
    match Number::from_f64(f) {
        Some(n) => Value::Number(n),
        None => Value::String(special_name(f).to_owned()),
    }
}

fn special_name(v: f64) -> &'static str {
    if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escapes_in_keys_and_strings() {
        let text =
            r#"{"a\"b": 1, "\u00e9\ud83d\ude00": 2, "lone\ud800x": 3, "_note": "tab\there\/"}"#;
        let value = Scanner::new(text).value(1).unwrap();
        assert_eq!(value, json!({"a\"b": 1, "é😀": 2, "lone\u{fffd}x": 3, "_note": "tab\there/"}));
    }
}
