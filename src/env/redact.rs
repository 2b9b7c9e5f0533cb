//! Redaction: keeps credentials out of everything a run stores.
//!
//! Runs are pushed to shared git hosts and published as static sites, so argv,
//! config tables, environment values and captured text pass through a
//! [`Redactor`] before they are written. This module owns what counts as a
//! secret: names ([`Redactor::is_secret_name`]), the values the environment
//! holds under such names, and credential-shaped tokens in free text. It reads no
//! environment itself (the caller passes the variables in), never fails and
//! never prints. Names are judged in `names`, streams cut in `stream`.
//!
//! There is no regex crate: free text is scanned once, byte by byte, and only
//! the few bytes that can start a credential trigger a closer look. A stream
//! (a run's output) is redacted as it comes by [`StreamRedactor`], before
//! anything cuts it; the untracked files of the `code` tree are checked with
//! [`Redactor::find_in_file`].

use std::borrow::Cow;

mod names;
mod stream;

use names::{is_key_word, is_secret_name, may_be_secret_name};
pub use stream::StreamRedactor;

/// The text that replaces every secret.
pub const REDACTED: &str = "[REDACTED]";

/// Environment values shorter than this are not scrubbed from free text: too
/// many innocent strings would match.
const MIN_SECRET_CHARS: usize = 6;

/// What kind of secret was found, for messages that must not show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finding {
    /// A PEM private key block.
    PrivateKey,
    /// A credential-shaped token: a cloud or API key, an access token, a JWT.
    Token,
    /// A password in a URL, or an `Authorization`/`Bearer` credential.
    Credential,
    /// The value of a `name = value` pair whose name is secret.
    Assignment,
    /// The value of an environment variable with a secret name.
    KnownValue,
}

impl Finding {
    /// Describes the kind in a few words: `a private key`.
    pub fn describe(self) -> &'static str {
        match self {
            Finding::PrivateKey => "a private key",
            Finding::Token => "a credential token",
            Finding::Credential => "a password or credential",
            Finding::Assignment => "a secret assignment",
            Finding::KnownValue => "the value of a secret environment variable",
        }
    }
}

/// Scrubs secrets from argv, config tables and free text.
///
/// Built once per run from the environment: it remembers the exact values of
/// secret-looking variables, and also recognises credential-shaped tokens
/// (cloud keys, API tokens, JWTs, private keys, passwords in URLs and
/// `name=value` pairs) anywhere.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Exact values to scrub, longest first so that a secret containing
    /// another is removed whole.
    secrets: Vec<String>,
}

impl Redactor {
    /// Collects the values of secret-looking environment variables to scrub anywhere.
    ///
    /// A variable counts when its name is secret ([`Redactor::is_secret_name`]) and its
    /// value has at least 6 characters; shorter values would match too much
    /// innocent text.
    pub fn from_env(vars: &[(String, String)]) -> Self {
        let mut secrets: Vec<String> = vars
            .iter()
            .filter(|(name, value)| {
                value.chars().count() >= MIN_SECRET_CHARS
                    && !REDACTED.contains(value.as_str())
                    && is_secret_name(name)
            })
            .map(|(_, value)| value.clone())
            .collect();
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        Redactor { secrets }
    }

    /// Also treats as known secrets the values these rules redact in `argv`
    /// and `table` (a `--password` argument, a `db_password` param), so that
    /// the same values are redacted wherever else they show up, such as the
    /// command's output. Values shorter than 6 characters are left out, as
    /// for variables.
    pub fn learning(mut self, argv: &[String], table: &toml::Table) -> Self {
        fn leaves<'a>(table: &'a toml::Table, out: &mut Vec<&'a str>) {
            for value in table.values() {
                match value {
                    toml::Value::String(s) => out.push(s),
                    toml::Value::Table(t) => leaves(t, out),
                    toml::Value::Array(items) => {
                        out.extend(items.iter().filter_map(|v| v.as_str()));
                    }
                    _ => {}
                }
            }
        }
        let mut learned: Vec<String> = Vec::new();
        let redacted_argv = self.redact_argv(argv);
        for (before, after) in argv.iter().zip(&redacted_argv) {
            if before != after {
                learned
                    .push(before.rsplit_once('=').map_or(before.as_str(), |(_, v)| v).to_owned());
            }
        }
        let mut redacted = table.clone();
        self.redact_table(&mut redacted);
        let (mut old, mut new) = (Vec::new(), Vec::new());
        leaves(table, &mut old);
        leaves(&redacted, &mut new);
        if old.len() == new.len() {
            learned
                .extend(old.iter().zip(&new).filter(|(a, b)| a != b).map(|(a, _)| (*a).to_owned()));
        }
        learned.retain(|v| v.chars().count() >= MIN_SECRET_CHARS && !REDACTED.contains(v.as_str()));
        self.secrets.extend(learned);
        self.secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        self.secrets.dedup();
        self
    }

    /// Tells whether a variable, flag or key name looks like it holds a secret.
    ///
    /// Case-insensitive; words are split at `-`, `_`, `.`, any other punctuation
    /// and camelCase humps (`--api-key`, `db.password`, `HF_TOKEN`, `apiKey`,
    /// `AWS_SECRET_ACCESS_KEY`). `key` alone is not a secret (`sort_key`,
    /// `--key-size`), nor are `tokens`, `tokenizer`, or `token`/`auth`/`pass`
    /// followed by a describing word (`token_dropout`, `auth_type`) or preceded by
    /// a model term (`pad_token`, `multi_pass`).
    pub fn is_secret_name(name: &str) -> bool {
        is_secret_name(name)
    }

    /// Tells whether a name has any part a secret name could be made of (`key`,
    /// `token`, `pass`, `auth`, `secret`, `cred`, ...): a stricter test than
    /// [`Redactor::is_secret_name`], for names that are trusted by a prefix
    /// alone (`NCCL_IB_KEY`, `NCCL_..._TOKEN_FILE`).
    pub fn may_be_secret_name(name: &str) -> bool {
        may_be_secret_name(name.as_bytes())
    }

    /// Scrubs known secret values and credential-shaped tokens from free text.
    ///
    /// Recognised: AWS access key ids, GitHub, Slack, OpenAI-style, Hugging Face
    /// and Google API tokens, JWTs, PEM private key blocks, the password of a
    /// `scheme://user:password@host` URL, `Authorization:` and `Bearer`
    /// credentials, and the value of `name=value` / `'name': 'value'` pairs with
    /// a secret name. Returns the text borrowed when nothing changed.
    pub fn redact_text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut spans: Vec<(usize, usize)> =
            self.find_all(text).into_iter().map(|(start, end, _)| (start, end)).collect();
        if spans.is_empty() {
            return Cow::Borrowed(text);
        }
        spans.sort_unstable();
        let mut out = String::with_capacity(text.len());
        let mut pos = 0;
        let mut current: Option<(usize, usize)> = None;
        for (start, end) in spans {
            match current {
                Some((s, e)) if start <= e => current = Some((s, e.max(end))),
                _ => {
                    if let Some((s, e)) = current {
                        pos = replace(text, &mut out, pos, s, e);
                    }
                    current = Some((start, end));
                }
            }
        }
        if let Some((s, e)) = current {
            pos = replace(text, &mut out, pos, s, e);
        }
        out.push_str(&text[pos..]);
        Cow::Owned(out)
    }

    /// The spans of every secret in `text`, unsorted, with their kinds.
    pub(crate) fn find_all(&self, text: &str) -> Vec<(usize, usize, Finding)> {
        let mut spans = Vec::new();
        for secret in &self.secrets {
            spans.extend(
                text.match_indices(secret.as_str())
                    .map(|(i, m)| (i, i + m.len(), Finding::KnownValue)),
            );
        }
        scan(text.as_bytes(), &mut spans);
        spans
    }

    /// Finds the first secret in the text of a file (the `code` tree's untracked
    /// files): what [`Redactor::redact_text`] would redact, and in configuration
    /// files (`config` true: `.ini`, `.cfg`, `.env`, ...) also `name = value`
    /// lines with a secret name and a literal value. Returns its kind and
    /// 1-based line, never the secret.
    pub fn find_in_file(&self, text: &str, config: bool) -> Option<(Finding, usize)> {
        let first = self.find_all(text).into_iter().min_by_key(|&(start, _, _)| start);
        let mut found = first.map(|(start, _, kind)| (start, kind));
        if config {
            let mut offset = 0;
            for line in text.split_inclusive('\n') {
                if found.is_some_and(|(start, _)| start < offset) {
                    break;
                }
                if config_assignment(line) {
                    found = Some((offset, Finding::Assignment));
                    break;
                }
                offset += line.len();
            }
        }
        found.map(|(start, kind)| {
            (kind, 1 + text.as_bytes()[..start].iter().filter(|&&c| c == b'\n').count())
        })
    }

    /// Redacts secrets in a command line, keeping the number of elements.
    ///
    /// `--token=X` and `NAME=X` (environment assignments, Hydra overrides)
    /// with a secret name keep the name and lose the value; a secret
    /// flag such as `--password` loses the element after it unless that one is
    /// itself a flag. Short flags (`-p`) are too ambiguous to judge. Every
    /// element also goes through [`Redactor::redact_text`].
    pub fn redact_argv(&self, argv: &[String]) -> Vec<String> {
        let mut out = Vec::with_capacity(argv.len());
        let mut value_is_secret = false;
        let mut previous: &str = "";
        for arg in argv {
            let after = std::mem::replace(&mut previous, arg);
            if std::mem::take(&mut value_is_secret) && !looks_like_flag(arg) {
                out.push(REDACTED.to_owned());
                continue;
            }
            // `wandb login <key>`, `--key <key>`: a bare key after a key-like word.
            if is_bare_key(arg) && is_key_word(after.trim_start_matches('-')) {
                out.push(REDACTED.to_owned());
                continue;
            }
            let mut arg = Cow::Borrowed(arg.as_str());
            if let Some((name, value)) = arg.split_once('=') {
                if is_assignment_name(name) && !value.is_empty() && is_secret_name(name) {
                    arg = Cow::Owned(format!("{name}={REDACTED}"));
                }
            } else if arg.starts_with("--") && is_secret_name(&arg) {
                value_is_secret = true;
            }
            out.push(self.redact_text(&arg).into_owned());
        }
        out
    }

    /// Redacts a config table in place, at any nesting depth.
    ///
    /// The value of a key with a secret name becomes the string
    /// [`REDACTED`] (booleans are kept: they reveal nothing and keep switches
    /// such as `use_auth_token = true` readable); every other string, also inside
    /// arrays, goes through [`Redactor::redact_text`].
    pub fn redact_table(&self, table: &mut toml::Table) {
        // Keys are text too (a token logged as a `_config` key).
        let renamed: Vec<(String, String)> = table
            .keys()
            .filter_map(|k| match self.redact_text(k) {
                Cow::Owned(new) => Some((k.clone(), new)),
                Cow::Borrowed(_) => None,
            })
            .collect();
        for (old, new) in renamed {
            if let Some(value) = table.remove(&old) {
                table.insert(new, value);
            }
        }
        for (key, value) in table.iter_mut() {
            if is_secret_name(key) && !matches!(value, toml::Value::Boolean(_)) {
                *value = toml::Value::String(REDACTED.to_owned());
            } else {
                self.redact_value(value);
            }
        }
    }

    fn redact_value(&self, value: &mut toml::Value) {
        match value {
            toml::Value::String(s) => {
                if let Cow::Owned(redacted) = self.redact_text(s) {
                    *s = redacted;
                }
            }
            toml::Value::Array(items) => items.iter_mut().for_each(|v| self.redact_value(v)),
            toml::Value::Table(table) => self.redact_table(table),
            _ => {}
        }
    }
}

/// Appends `text[pos..start]` and the redaction marker; returns where to go on.
fn replace(text: &str, out: &mut String, pos: usize, mut start: usize, mut end: usize) -> usize {
    // Spans end on ASCII bytes by construction; stay on char boundaries anyway.
    while start > pos && !text.is_char_boundary(start) {
        start -= 1;
    }
    while end < text.len() && !text.is_char_boundary(end) {
        end += 1;
    }
    out.push_str(&text[pos..start]);
    out.push_str(REDACTED);
    end
}

fn is_assignment_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|c| c.is_ascii_alphanumeric() || b"_-.+~".contains(&c))
}

/// Like argparse: an element starting with `-` is a flag unless it is a number.
fn looks_like_flag(arg: &str) -> bool {
    arg.len() > 1 && arg.starts_with('-') && arg[1..].parse::<f64>().is_err()
}

// ---- free-text scanning ----------------------------------------------------

/// What the scanner does after looking at one position.
enum Step {
    /// Redact `start..end`, a secret of this kind, then continue at `end`.
    Redact(usize, usize, Finding),
    /// Nothing to redact; continue at this index (past a run already judged).
    Skip(usize),
}

/// Adds the spans of credential-shaped tokens in `b` to `spans`, in one pass.
fn scan(b: &[u8], spans: &mut Vec<(usize, usize, Finding)>) {
    let mut i = 0;
    while i < b.len() {
        let next = match step(b, i) {
            Some(Step::Redact(start, end, kind)) => {
                spans.push((start, end, kind));
                end
            }
            Some(Step::Skip(next)) => next,
            None => i + 1,
        };
        i = next.max(i + 1);
    }
}

fn step(b: &[u8], i: usize) -> Option<Step> {
    let boundary = i == 0 || !is_word_byte(b[i - 1]);
    let alnum = |c: u8| c.is_ascii_alphanumeric();
    let found = match b[i] {
        b'A' if boundary => {
            aws_key(b, i).or_else(|| google_key(b, i)).or_else(|| authorization(b, i))
        }
        b'a' if boundary => authorization(b, i),
        b'g' if boundary => {
            github_token(b, i).or_else(|| prefixed_run(b, i, b"glpat-", 20, is_b64url))
        }
        b'x' if boundary => slack_token(b, i),
        b's' if boundary => openai_key(b, i).or_else(|| stripe_key(b, i)),
        b'r' if boundary => stripe_key(b, i),
        b'h' if boundary => prefixed_run(b, i, b"hf_", 30, alnum),
        b'n' if boundary => prefixed_run(b, i, b"npm_", 36, alnum),
        b'p' if boundary => prefixed_run(b, i, b"pypi-", 32, is_b64url),
        b'd' if boundary => databricks_token(b, i),
        b'e' if boundary => jwt(b, i),
        b'B' | b'b' if boundary => bearer(b, i),
        b'-' => pem_private_key(b, i),
        b':' => url_password(b, i).or_else(|| assignment(b, i)),
        b'=' => assignment(b, i),
        _ => None,
    };
    found.or_else(|| bare_key(b, i))
}

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn is_b64url(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

/// Characters of an HTTP `token68` credential.
fn is_token68(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-._~+/=".contains(&c)
}

/// The end of the run of bytes satisfying `ok` that starts at `from`.
fn run_end(b: &[u8], from: usize, ok: impl Fn(u8) -> bool) -> usize {
    let from = from.min(b.len());
    from + b[from..].iter().take_while(|&&c| ok(c)).count()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A literal prefix followed by at least `min` bytes satisfying `ok`.
fn prefixed_run(b: &[u8], i: usize, prefix: &[u8], min: usize, ok: fn(u8) -> bool) -> Option<Step> {
    if !b[i..].starts_with(prefix) {
        return None;
    }
    let start = i + prefix.len();
    let end = run_end(b, start, ok);
    Some(if end - start >= min { Step::Redact(i, end, Finding::Token) } else { Step::Skip(end) })
}

/// `AKIA` or `ASIA` and 16 uppercase letters or digits.
fn aws_key(b: &[u8], i: usize) -> Option<Step> {
    let prefix = b.get(i..i + 4)?;
    if prefix != b"AKIA" && prefix != b"ASIA" {
        return None;
    }
    let end = run_end(b, i + 4, |c| c.is_ascii_uppercase() || c.is_ascii_digit());
    let whole = b.get(end).is_none_or(|c| !c.is_ascii_alphanumeric());
    (end - i == 20 && whole).then_some(Step::Redact(i, end, Finding::Token))
}

fn google_key(b: &[u8], i: usize) -> Option<Step> {
    prefixed_run(b, i, b"AIza", 35, is_b64url)
}

fn github_token(b: &[u8], i: usize) -> Option<Step> {
    if b[i..].starts_with(b"github_pat_") {
        return prefixed_run(b, i, b"github_pat_", 20, is_word_byte);
    }
    let prefix = b.get(i..i + 4)?;
    if !(prefix.starts_with(b"gh") && b"pousr".contains(&prefix[2]) && prefix[3] == b'_') {
        return None;
    }
    prefixed_run(b, i, prefix, 20, |c| c.is_ascii_alphanumeric())
}

/// `xoxb-...`, `xoxp-...` and the other Slack token kinds.
fn slack_token(b: &[u8], i: usize) -> Option<Step> {
    let prefix = b.get(i..i + 5)?;
    if !(prefix.starts_with(b"xox") && b"abprse".contains(&prefix[3]) && prefix[4] == b'-') {
        return None;
    }
    prefixed_run(b, i, prefix, 10, |c| c.is_ascii_alphanumeric() || c == b'-')
}

/// `sk-` and 20 or more key characters with letters and digits (OpenAI,
/// Anthropic and many others); `sk-learn` and `sk-some-words` do not count.
fn openai_key(b: &[u8], i: usize) -> Option<Step> {
    if !b[i..].starts_with(b"sk-") {
        return None;
    }
    let end = run_end(b, i + 3, is_b64url);
    let key = &b[i + 3..end];
    let mixed =
        key.iter().any(|c| c.is_ascii_digit()) && key.iter().any(|c| c.is_ascii_alphabetic());
    Some(if key.len() >= 20 && mixed {
        Step::Redact(i, end, Finding::Token)
    } else {
        Step::Skip(end)
    })
}

/// Stripe secret and restricted keys: `sk_live_`, `sk_test_`, `rk_live_`,
/// `rk_test_` and 20 or more letters and digits.
fn stripe_key(b: &[u8], i: usize) -> Option<Step> {
    let rest = b.get(i + 1..)?;
    if rest.first() != Some(&b'k') {
        return None;
    }
    let prefix: &[u8] = if rest.starts_with(b"k_live_") {
        b"k_live_"
    } else if rest.starts_with(b"k_test_") {
        b"k_test_"
    } else {
        return None;
    };
    let start = i + 1 + prefix.len();
    let end = run_end(b, start, |c| c.is_ascii_alphanumeric());
    Some(if end - start >= 20 { Step::Redact(i, end, Finding::Token) } else { Step::Skip(end) })
}

/// Databricks personal access tokens: `dapi` and 32 hex digits, maybe `-2`.
fn databricks_token(b: &[u8], i: usize) -> Option<Step> {
    if !b[i..].starts_with(b"dapi") {
        return None;
    }
    let end = run_end(b, i + 4, |c| c.is_ascii_hexdigit());
    if end - (i + 4) != 32 {
        return Some(Step::Skip(end));
    }
    let end = match (b.get(end), b.get(end + 1)) {
        (Some(b'-'), Some(d)) if d.is_ascii_digit() => run_end(b, end + 1, |c| c.is_ascii_digit()),
        _ => end,
    };
    Some(Step::Redact(i, end, Finding::Token))
}

/// Characters of standard base64 without padding.
fn is_b64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'+' || c == b'/'
}

/// Keys with no prefix to recognise them by, told by their shape:
/// - 86 base64 characters and `==` (an Azure storage account key), anywhere;
/// - 40 base64 characters that mix upper and lower case and digits as random
///   text does (an AWS secret access key), anywhere;
/// - 40 hex digits (a W&B API key, but also a git commit id) and other 40
///   character runs only after a key-like word ([`names::KEY_CONTEXT_WORDS`] or a
///   secret name): `key="..."`, `wandb login ...`, `aws_secret_access_key ...`.
///
/// Only a whole run counts: one that is part of a longer word, path or base64
/// text does not.
fn bare_key(b: &[u8], i: usize) -> Option<Step> {
    let inside = |c: u8| is_b64(c) || matches!(c, b'_' | b'-' | b'.');
    if !is_b64(b[i]) || (i > 0 && inside(b[i - 1])) {
        return None;
    }
    // Nothing longer than 88 characters matters: stop counting there.
    let end = i + b[i..b.len().min(i + 90)].iter().take_while(|&&c| is_b64(c)).count();
    let len = end - i;
    let whole = |at: usize| b.get(at).is_none_or(|&c| !inside(c) && c != b'=');
    if len == 86 && b[end..].starts_with(b"==") && whole(end + 2) {
        return Some(Step::Redact(i, end + 2, Finding::Token));
    }
    if len != 40 || !whole(end) {
        return None;
    }
    let key = &b[i..end];
    (looks_random(key) || after_key_word(b, i)).then_some(Step::Redact(i, end, Finding::Token))
}

/// Whether 40 base64 characters read like random text rather than words or
/// hex: upper and lower case and digits, at least 24 distinct characters
/// (random base64 averages 30; words repeat their letters) and at least 14
/// changes between those classes (random base64 averages 25; `CamelCaseWords`
/// and paths far fewer). About 1 random key in 400 fails this.
fn looks_random(key: &[u8]) -> bool {
    let class = |c: u8| match c {
        b'A'..=b'Z' => 0,
        b'a'..=b'z' => 1,
        b'0'..=b'9' => 2,
        _ => 3,
    };
    let has = |k| key.iter().any(|&c| class(c) == k);
    let changes = key.windows(2).filter(|w| class(w[0]) != class(w[1])).count();
    let mut seen = [false; 256];
    key.iter().for_each(|&c| seen[c as usize] = true);
    let distinct = seen.iter().filter(|&&s| s).count();
    has(0) && has(1) && has(2) && changes >= 14 && distinct >= 24
}

/// Whether the word before `i` (past quotes, `=`, `:` and blanks) makes what
/// follows a key: see [`names::KEY_CONTEXT_WORDS`].
fn after_key_word(b: &[u8], i: usize) -> bool {
    let mut end = i;
    while end > 0 && i - end < 4 && matches!(b[end - 1], b' ' | b'\t' | b'"' | b'\'' | b'=' | b':')
    {
        end -= 1;
    }
    if end == i {
        return false;
    }
    let is_name_byte = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.');
    let mut start = end;
    while start > 0 && end - start < 64 && is_name_byte(b[start - 1]) {
        start -= 1;
    }
    std::str::from_utf8(&b[start..end]).is_ok_and(is_key_word)
}

/// Whether a whole argument is shaped like a bare key (see [`bare_key`]).
fn is_bare_key(arg: &str) -> bool {
    let b = arg.as_bytes();
    b.len() == 40 && b.iter().all(|&c| is_b64(c))
}

/// `eyJ<header>.eyJ<payload>.<signature>`.
fn jwt(b: &[u8], i: usize) -> Option<Step> {
    if !b[i..].starts_with(b"eyJ") {
        return None;
    }
    let header_end = run_end(b, i, is_b64url);
    if header_end - i < 10
        || b.get(header_end) != Some(&b'.')
        || !b[header_end + 1..].starts_with(b"eyJ")
    {
        return Some(Step::Skip(header_end));
    }
    let payload_end = run_end(b, header_end + 1, is_b64url);
    if b.get(payload_end) != Some(&b'.') {
        return Some(Step::Skip(payload_end));
    }
    Some(Step::Redact(i, run_end(b, payload_end + 1, is_b64url), Finding::Token))
}

/// `Bearer <credential>` with a credential that does not read like a word.
fn bearer(b: &[u8], i: usize) -> Option<Step> {
    if !b.get(i..i + 6)?.eq_ignore_ascii_case(b"bearer") {
        return None;
    }
    let start = run_end(b, i + 6, |c| c == b' ' || c == b'\t');
    if start == i + 6 {
        return None;
    }
    let end = run_end(b, start, is_token68);
    let credential = &b[start..end];
    let opaque = credential.iter().any(|c| !c.is_ascii_alphabetic());
    (credential.len() >= 8 && opaque).then_some(Step::Redact(start, end, Finding::Credential))
}

/// `Authorization: <scheme> <credential>`, also as a JSON key or `=` pair.
fn authorization(b: &[u8], i: usize) -> Option<Step> {
    const WORD: &[u8] = b"authorization";
    if !b.get(i..i + WORD.len())?.eq_ignore_ascii_case(WORD) {
        return None;
    }
    let j = run_end(b, i + WORD.len(), |c| c == b'"' || c == b'\'' || c == b' ');
    if !matches!(b.get(j), Some(b':' | b'=')) {
        return None;
    }
    let mut start = run_end(b, j + 1, |c| matches!(c, b' ' | b'\t' | b'"' | b'\''));
    let scheme_end = run_end(b, start, |c| c.is_ascii_alphabetic());
    if scheme_end > start && b.get(scheme_end) == Some(&b' ') {
        start = run_end(b, scheme_end, |c| c == b' ');
    }
    if b[start..].starts_with(REDACTED.as_bytes()) {
        return Some(Step::Skip(start + REDACTED.len()));
    }
    let end = run_end(b, start, is_token68);
    (end > start).then_some(Step::Redact(start, end, Finding::Credential))
}

/// `-----BEGIN ... PRIVATE KEY-----` through its END line. A block whose END
/// was cut off (a capped log) is redacted as far as its base64 lines go.
fn pem_private_key(b: &[u8], i: usize) -> Option<Step> {
    const BEGIN: &[u8] = b"-----BEGIN ";
    const END: &[u8] = b"-----END ";
    const MAX_BLOCK: usize = 64 << 10;
    if !b[i..].starts_with(BEGIN) {
        return None;
    }
    let label_start = i + BEGIN.len();
    let label_len = b[label_start..].iter().take(100).position(|&c| c == b'-' || c == b'\n')?;
    let label_end = label_start + label_len;
    if find(&b[label_start..label_end], b"PRIVATE KEY").is_none()
        || !b[label_end..].starts_with(b"-----")
    {
        return None;
    }
    let body = label_end + 5;
    let window = &b[body..b.len().min(body + MAX_BLOCK)];
    let end = match find(window, END) {
        Some(k) => {
            let after = body + k + END.len();
            let tail = &b[after..b.len().min(after + 100)];
            after + find(tail, b"-----").map_or(0, |m| m + 5)
        }
        // Inside a string with escaped line breaks (`\\n`, an event line), the
        // block runs as far as base64 and escapes go.
        None if b[body..].starts_with(b"\\") => {
            run_end(b, body, |c| c.is_ascii_alphanumeric() || b"+/=\\".contains(&c))
        }
        None => body + base64_lines_len(&b[body..]),
    };
    Some(Step::Redact(i, end, Finding::PrivateKey))
}

/// The length of the leading lines that could belong to a PEM body.
fn base64_lines_len(b: &[u8]) -> usize {
    let mut len = 0;
    for line in b.split_inclusive(|&c| c == b'\n') {
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        let base64 = content.iter().all(|c| c.is_ascii_alphanumeric() || b"+/=".contains(c));
        if !(base64 || find(content, b": ").is_some()) {
            break;
        }
        len += line.len();
    }
    len
}

/// The password in `scheme://user:password@host`; the user stays.
fn url_password(b: &[u8], i: usize) -> Option<Step> {
    if i == 0 || !b[i - 1].is_ascii_alphanumeric() || !b[i + 1..].starts_with(b"//") {
        return None;
    }
    let start = i + 3;
    let limit = b.len().min(start + 512);
    let is_end = |c: &u8| b"/?#\"'<>`".contains(c) || c.is_ascii_whitespace();
    let end = b[start..limit].iter().position(is_end).map_or(limit, |k| start + k);
    let at = start + b[start..end].iter().rposition(|&c| c == b'@')?;
    let colon = start + b[start..at].iter().position(|&c| c == b':')?;
    let password = &b[colon + 1..at];
    if password.is_empty() || password == REDACTED.as_bytes() {
        return Some(Step::Skip(at));
    }
    Some(Step::Redact(colon + 1, at, Finding::Credential))
}

/// The value of `name=value`, `name: value` or `'name': 'value'` (printed
/// argparse namespaces, dicts, YAML, query strings) when the name is secret.
fn assignment(b: &[u8], i: usize) -> Option<Step> {
    const MAX_NAME: usize = 64;
    let is_name_byte = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.');
    let colon = b[i] == b':';
    // The name may be quoted (`'api_key': ...`) and `=` may have one space before it.
    let mut name_end = i;
    let mut quote = None;
    if name_end > 0 && matches!(b[name_end - 1], b'"' | b'\'') {
        quote = Some(b[name_end - 1]);
        name_end -= 1;
    } else if !colon && name_end > 0 && b[name_end - 1] == b' ' {
        name_end -= 1;
    }
    let mut name_start = name_end;
    while name_start > 0 && name_end - name_start <= MAX_NAME && is_name_byte(b[name_start - 1]) {
        name_start -= 1;
    }
    let before = name_start.checked_sub(1).map(|k| b[k]);
    if name_start == name_end || before.is_some_and(is_name_byte) {
        return None;
    }
    if quote.is_some() && before != quote {
        return None;
    }
    let name = &b[name_start..name_end];
    if !may_be_secret_name(name) || !is_secret_name(std::str::from_utf8(name).ok()?) {
        return None;
    }
    let spaced = name_end < i && quote.is_none();
    let mut j = i + 1;
    if colon || spaced {
        j = run_end(b, j, |c| c == b' ');
    }
    let (start, end) = match b.get(j) {
        Some(&q @ (b'"' | b'\'')) => {
            let len = b[j + 1..].iter().take(4096).position(|&c| c == q || c == b'\n')?;
            (j + 1, j + 1 + len)
        }
        // `password = x` is usually code in a traceback; `token:x` is `host:port`-like.
        _ if spaced || (colon && j == i + 1) => return None,
        _ => {
            let stop = |c: u8| c.is_ascii_whitespace() || b"\"',;&)]}>".contains(&c);
            (j, run_end(b, j, |c| !stop(c)))
        }
    };
    if b[start..].starts_with(REDACTED.as_bytes()) {
        return Some(Step::Skip(start + REDACTED.len()));
    }
    const PLAIN: &[&[u8]] = &[b"true", b"false", b"none", b"null"];
    let value = &b[start..end];
    let plain = PLAIN.iter().any(|w| value.eq_ignore_ascii_case(w));
    // `<your token>`, `${TOKEN}`, `{{ token }}`: a placeholder or reference.
    let reference = value.starts_with(b"<") || value.starts_with(b"${") || value.starts_with(b"{{");
    if value.is_empty() || plain || reference {
        return Some(Step::Skip(end));
    }
    Some(Step::Redact(start, end, Finding::Assignment))
}

/// A configuration line `name = value` or `name: value` (also `export NAME=value`)
/// with a secret name and a literal value: not empty, not a boolean or null,
/// not a reference such as `$VAR`, `${VAR}`, `%(var)s`, `{{ var }}` or `<placeholder>`.
fn config_assignment(line: &str) -> bool {
    let line = line.trim();
    if line.starts_with(['#', ';', '/', '[']) {
        return false;
    }
    let line = line.strip_prefix("export ").unwrap_or(line);
    let Some(sep) = line.find(['=', ':']) else { return false };
    let name = line[..sep].trim().trim_matches(['"', '\'']);
    if name.is_empty() || !name.bytes().all(|c| c.is_ascii_alphanumeric() || b"_-.".contains(&c)) {
        return false;
    }
    let value = line[sep + 1..].trim().trim_end_matches([',', ';']).trim_matches(['"', '\'']);
    const PLAIN: &[&str] = &["true", "false", "none", "null", "~"];
    let reference = value.starts_with(['$', '<', '{', '%', '[']) || value.starts_with(REDACTED);
    !value.is_empty()
        && !reference
        && !PLAIN.iter().any(|w| value.eq_ignore_ascii_case(w))
        && is_secret_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor(vars: &[(&str, &str)]) -> Redactor {
        let vars: Vec<(String, String)> =
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Redactor::from_env(&vars)
    }

    fn redact(text: &str) -> String {
        Redactor::default().redact_text(text).into_owned()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    // Fake credentials are assembled at run time so that secret scanners on
    // git hosts do not flag this file.
    fn fake(prefix: &str, body: &str, repeat: usize) -> String {
        format!("{prefix}{}", body.repeat(repeat))
    }

    #[test]
    fn token_patterns_are_redacted() {
        let cases = [
            fake("AKIA", "ABCDEFGH", 2),
            fake("ASIA", "1234ABCD", 2),
            fake("ghp_", "a1B2c3", 6),
            fake("gho_", "Zz09", 9),
            fake("github_pat_", "11AB_cd", 8),
            fake("xoxb-", "1234-abcd", 3),
            fake("sk-", "a1b2c3d4", 6),
            fake("sk-proj-", "Ab3_x-9", 6),
            fake("hf_", "aBcDeFgHiJ", 4),
            fake("AIza", "Sy1-_abcdefg", 3),
            format!("{}.{}.{}", fake("eyJ", "hbGciOiJ", 2), fake("eyJ", "zdWIiOiIx", 2), "sig-_1"),
            fake("glpat-", "xY9_-aB1", 3),
            fake("sk_live_", "4eC39HqLyjWDarjtT1zdp7dc", 1),
            fake("rk_live_", "Ab12Cd34", 4),
            fake("sk_test_", "Ab12Cd34", 4),
            fake("npm_", "a1B2c3D4e5F6", 3),
            fake("pypi-AgEIcHlwaS5vcmc", "CJDk1ZjA3", 6),
            fake("dapi", "0123456789abcdef", 2),
            fake("dapi", "fedcba9876543210", 2) + "-2",
            // An Azure storage account key: 64 random bytes in base64.
            fake("", "Xq7+Lm2/Pz9KwR3t", 5) + "Ab3dE6==",
            // An AWS secret access key: 40 random-looking base64 characters.
            fake("wJalr", "XUtn7FEMI/K7MDENG+bPxRfiCY", 1) + "9zQ3Lk5Rt",
        ];
        for token in &cases {
            let text = format!("using {token} now");
            assert_eq!(redact(&text), "using [REDACTED] now", "{token}");
            assert_eq!(redact(token), REDACTED, "{token}");
        }
    }

    #[test]
    fn bare_keys_are_redacted_by_shape_or_by_context() {
        let hex = fake("", "0a1b2c3d4e", 4);
        // 40 hex digits are a W&B key after a key-like word...
        for text in [
            format!("wandb login {hex}"),
            format!("wandb.login(key='{hex}')"),
            format!("key={hex}"),
            format!("{{\"api_token\": \"{hex}\"}}"),
            format!("aws_secret_access_key {hex}"),
        ] {
            let out = redact(&text);
            assert!(!out.contains(&hex) && out.contains(REDACTED), "{text} -> {out}");
        }
        // ... and a git commit id anywhere else.
        for text in [
            format!("commit {hex}"),
            format!("HEAD is now at {hex}"),
            format!("revision={hex}"),
            format!("https://github.com/o/r/commit/{hex}"),
        ] {
            assert_eq!(redact(&text), text);
        }
        // Words, paths and longer base64 are not AWS secrets.
        for text in [
            "see src/Models/Transformer2/layers/attention here",
            "ThisIsSomeCamelCaseIdentifierWithWords42",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert_eq!(redact(text), text);
        }
        let long_base64 = fake("", "Xq7+Lm2/Pz9KwR3t", 4);
        assert_eq!(redact(&long_base64), long_base64);
        let r = Redactor::default();
        let argv = strings(&["wandb", "login", &hex, "git", "checkout", &hex, "--key", &hex]);
        assert_eq!(
            r.redact_argv(&argv),
            strings(&["wandb", "login", REDACTED, "git", "checkout", &hex, "--key", REDACTED])
        );
    }

    #[test]
    fn a_private_key_in_an_event_line_is_redacted_whole_even_when_cut() {
        let line = r#"{"key": "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1b2c\nAbC+/0=="#;
        assert_eq!(redact(line), format!(r#"{{"key": "{REDACTED}"#));
        let whole = format!(r#"{line}\n-----END RSA PRIVATE KEY-----"}}"#);
        assert_eq!(redact(&whole), format!(r#"{{"key": "{REDACTED}"}}"#));
    }

    #[test]
    fn secrets_in_files_are_found_with_their_line_and_kind() {
        let r = Redactor::default();
        let ini = "[db]\nhost = localhost\npassword = hunter2\n";
        assert_eq!(r.find_in_file(ini, true), Some((Finding::Assignment, 3)));
        // In code, `password = x` reads a value; only a literal counts.
        assert_eq!(r.find_in_file(ini, false), None);
        let py =
            "import os\npassword = os.environ['PW']\nkey = cfg.key\nDB_PASSWORD = \"hunter2\"\n";
        assert_eq!(r.find_in_file(py, false), Some((Finding::Assignment, 4)));
        let pem = "x\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n";
        assert_eq!(r.find_in_file(pem, false), Some((Finding::PrivateKey, 2)));
        let token = format!("a\nb\ntoken {}\n", fake("npm_", "a1B2c3D4e5F6", 3));
        assert_eq!(r.find_in_file(&token, false), Some((Finding::Token, 3)));
        for clean in [
            "password = ${DB_PASSWORD}\n",
            "token: <your token here>\n",
            "use_auth_token = true\n",
            "password =\n",
            "# password = hunter2\n",
            "max_tokens = 512\npad_token: '<pad>'\n",
        ] {
            assert_eq!(r.find_in_file(clean, true), None, "{clean}");
        }
    }

    #[test]
    fn structured_secrets_are_redacted() {
        assert_eq!(
            redact("postgres://alice:s3cr3t@db:5432/x and https://u:p@h.io/"),
            "postgres://alice:[REDACTED]@db:5432/x and https://u:[REDACTED]@h.io/"
        );
        assert_eq!(
            redact("Authorization: Bearer abc.def-123456\n"),
            "Authorization: Bearer [REDACTED]\n"
        );
        assert_eq!(
            redact(r#"{"authorization": "Basic dXNlcjpwYXNz"}"#),
            r#"{"authorization": "Basic [REDACTED]"}"#
        );
        assert_eq!(redact("curl -H 'bearer 9f8e7d6c5b4a'"), "curl -H 'bearer [REDACTED]'");
        let pem =
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEow==\nAbC+/0\n-----END RSA PRIVATE KEY-----";
        assert_eq!(redact(&format!("key:\n{pem}\ndone")), "key:\n[REDACTED]\ndone");
        let cut = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=\n[... 3 lines cut ...]\n";
        assert_eq!(redact(cut), "[REDACTED][... 3 lines cut ...]\n");
        assert_eq!(
            redact("Namespace(api_key='abc123', lr=0.1, hf_token=xyz9, use_auth_token=True)"),
            "Namespace(api_key='[REDACTED]', lr=0.1, hf_token=[REDACTED], use_auth_token=True)"
        );
        assert_eq!(
            redact(r#"{'password': 'hunter2', "db.password":"x y", 'pad_token': '<pad>'}"#),
            r#"{'password': '[REDACTED]', "db.password":"[REDACTED]", 'pad_token': '<pad>'}"#
        );
        assert_eq!(
            redact("GET /cb?access_token=q1w2&page=2"),
            "GET /cb?access_token=[REDACTED]&page=2"
        );
        assert_eq!(redact("password: hunter22\n"), "password: [REDACTED]\n");
    }

    #[test]
    fn text_without_secrets_is_borrowed() {
        let text = "step=10 loss=0.25 max_tokens=512 tokenizer=gpt2 https://example.com/a?b=c \
                    sk-learn eyJ bearer of news Authorization: [REDACTED] key=7 host:8080 \
                    -----BEGIN CERTIFICATE----- x==y token = tokens[0] ünïcødé ghp_short";
        assert!(matches!(Redactor::default().redact_text(text), Cow::Borrowed(_)));
        let r = redactor(&[("HF_TOKEN", "not-in-the-text")]);
        assert!(matches!(r.redact_text(text), Cow::Borrowed(_)));
    }

    #[test]
    fn redaction_is_idempotent() {
        let r = redactor(&[("MY_SECRET", "value-42")]);
        let text = format!(
            "a value-42 b https://u:pw1@h/ Authorization: token {} password=x '{}'",
            fake("ghp_", "Qw12", 9),
            fake("hf_", "Ab", 16)
        );
        let once = r.redact_text(&text).into_owned();
        assert!(!once.contains("value-42") && !once.contains("pw1") && !once.contains("Qw12"));
        assert!(matches!(r.redact_text(&once), Cow::Borrowed(_)), "{once}");
    }

    #[test]
    fn env_secret_values_are_scrubbed_everywhere() {
        let r = redactor(&[
            ("WANDB_API_KEY", "0123456789abcdef"),
            ("DB_PASSWORD", "hunter2hunter2"),
            ("SHORT_TOKEN", "abc"),
            ("HOME", "/home/alice"),
        ]);
        assert_eq!(
            r.redact_text("key 0123456789abcdef pw=hunter2hunter2! abc /home/alice"),
            "key [REDACTED] pw=[REDACTED]! abc /home/alice"
        );
        let argv = strings(&["python", "train.py", "--wandb", "0123456789abcdef"]);
        assert_eq!(r.redact_argv(&argv), strings(&["python", "train.py", "--wandb", REDACTED]));
    }

    #[test]
    fn argv_forms_are_redacted() {
        let r = Redactor::default();
        let argv = strings(&[
            "env",
            "HF_TOKEN=abc",
            "python",
            "train.py",
            "--api-key=X",
            "--api-key",
            "Y",
            "--password",
            "-n3x7",
            "--use-auth-token",
            "--lr",
            "0.1",
            "+db.password=pw",
            "--max-tokens=512",
            "--key-size",
            "128",
            "-p",
            "secretish",
            "--token",
        ]);
        let out = r.redact_argv(&argv);
        assert_eq!(
            out,
            strings(&[
                "env",
                "HF_TOKEN=[REDACTED]",
                "python",
                "train.py",
                "--api-key=[REDACTED]",
                "--api-key",
                REDACTED,
                "--password",
                "-n3x7",
                "--use-auth-token",
                "--lr",
                "0.1",
                "+db.password=[REDACTED]",
                "--max-tokens=512",
                "--key-size",
                "128",
                "-p",
                "secretish",
                "--token",
            ])
        );
        let url = strings(&["git", "clone", "https://bob:pw@host/r.git"]);
        assert_eq!(r.redact_argv(&url)[2], "https://bob:[REDACTED]@host/r.git");
        let negative = strings(&["--password", "-123456"]);
        assert_eq!(r.redact_argv(&negative), strings(&["--password", REDACTED]));
    }

    #[test]
    fn nested_tables_are_redacted() {
        let r = redactor(&[("OPENAI_API_KEY", "envsecret99")]);
        let mut table: toml::Table = toml::from_str(
            r#"
            lr = 0.1
            max_tokens = 256
            note = "uses envsecret99"
            use_auth_token = true
            [model]
            pad_token = "<pad>"
            [db]
            password = "pw"
            port = 5432
            [db.auth]
            user = "u"
            [[sources]]
            url = "s3://k:v@bucket/x"
            api_key = 12345
            tags = ["a", "envsecret99"]
            "#,
        )
        .unwrap();
        r.redact_table(&mut table);
        let expected: toml::Table = toml::from_str(
            r#"
            lr = 0.1
            max_tokens = 256
            note = "uses [REDACTED]"
            use_auth_token = true
            [model]
            pad_token = "<pad>"
            [db]
            password = "[REDACTED]"
            port = 5432
            auth = "[REDACTED]"
            [[sources]]
            url = "s3://k:[REDACTED]@bucket/x"
            api_key = "[REDACTED]"
            tags = ["a", "[REDACTED]"]
            "#,
        )
        .unwrap();
        assert_eq!(table, expected);
    }

    #[test]
    fn large_text_is_scanned_linearly() {
        let line = "step=1 loss=0.5 sk-sk-sk- eyJeyJ AKIA https://a.b/c ----- xox- ghp_ hf_ \n";
        let mut text = line.repeat(40_000);
        text.push_str(&fake("hf_", "Zq", 20));
        let start = std::time::Instant::now();
        let out = Redactor::default().redact_text(&text);
        assert!(out.ends_with(REDACTED));
        assert_eq!(out.len(), text.len() - 40 - 3 + REDACTED.len());
        // Generous even for an unoptimised build; quadratic scanning would take minutes.
        assert!(start.elapsed().as_secs() < 5);
        let adversarial = "-sk-a".repeat(200_000);
        assert!(matches!(Redactor::default().redact_text(&adversarial), Cow::Borrowed(_)));
    }
}
