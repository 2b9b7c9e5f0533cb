//! `CommandOutput`: what a `git-exp` command printed and how it exited, with
//! what differs from one machine or one moment to the next filtered out, for
//! whole-output snapshots (jj's `CommandOutput` is the model).
//!
//! Filters, in order: the test's temporary directory becomes `$TEST_ENV` (so
//! the repository is `$TEST_ENV/repo`) and the binary `$GIT_EXP`; hex words
//! become `[RUN_ID]` (32 digits), `[COMMIT]` (40), `[SHA256]` (64) or
//! `[HASH]` (7 digits, the length of a short commit id, whatever they are; 8 to
//! 16 digits holding both a digit and a letter); durations as
//! git-exp writes them (`850ms`, `12.3s`, `4m05s`, `2h13m`, `3d04h`) become
//! `[DURATION]`; this machine's host name becomes `[HOST]`; and the lines of
//! an `environment` section (as `show` writes it: OS, CPU, memory, Python,
//! GPUs of the machine the run ran on) become one `  [MACHINE]` line.

use std::fmt;
use std::process::Output;

use super::TestRepo;

/// The filtered stdout, stderr and exit status of one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    /// stdout, filtered.
    pub stdout: String,
    /// stderr, filtered.
    pub stderr: String,
    /// The exit code, or `None` when a signal ended it.
    pub status: Option<i32>,
}

impl CommandOutput {
    /// The filtered output of a command run for `repo`.
    pub fn new(repo: &TestRepo, out: &Output) -> CommandOutput {
        let filter = |bytes: &[u8]| filter(repo, &String::from_utf8_lossy(bytes));
        CommandOutput {
            stdout: filter(&out.stdout),
            stderr: filter(&out.stderr),
            status: out.status.code(),
        }
    }

    /// Whether it exited 0.
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }

    /// Panics with the whole output unless it exited 0; returns it.
    #[track_caller]
    pub fn ok(self) -> CommandOutput {
        assert!(self.success(), "the command failed:\n{self}");
        self
    }
}

/// stdout; then stderr under a `------- stderr -------` line, when there is
/// any; then `[exit status: N]` unless it is 0.
impl fmt::Display for CommandOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.stdout)?;
        if !self.stderr.is_empty() {
            if !self.stdout.is_empty() && !self.stdout.ends_with('\n') {
                f.write_str("\n")?;
            }
            write!(f, "------- stderr -------\n{}", self.stderr)?;
        }
        match self.status {
            Some(0) => Ok(()),
            code => {
                let last = if self.stderr.is_empty() { &self.stdout } else { &self.stderr };
                if !last.is_empty() && !last.ends_with('\n') {
                    f.write_str("\n")?;
                }
                match code {
                    Some(code) => write!(f, "[exit status: {code}]"),
                    None => f.write_str("[killed by a signal]"),
                }
            }
        }
    }
}

/// Applies every filter of the module to `text`.
pub fn filter(repo: &TestRepo, text: &str) -> String {
    let mut text = text.to_owned();
    let bin = super::git_exp_bin();
    let tmp = repo.tmp.path();
    for (path, name) in [(bin.clone(), "$GIT_EXP"), (tmp.to_path_buf(), "$TEST_ENV")] {
        if let Ok(real) = path.canonicalize() {
            text = text.replace(&*real.to_string_lossy(), name);
        }
        text = text.replace(&*path.to_string_lossy(), name);
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let text = match host.trim() {
        "" => text,
        host if host.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            replace_words(&text, |w| (w == host).then_some("[HOST]"))
        }
        host => text.replace(host, "[HOST]"),
    };
    filter_environment(&filter_durations(&filter_hex(&text)))
}

/// An `environment` section, up to the next blank line, becomes `[MACHINE]`.
pub fn filter_environment(text: &str) -> String {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.split('\n') {
        if inside && line.starts_with("  ") {
            continue;
        }
        inside = line == "environment";
        out.push(line);
        if inside {
            out.push("  [MACHINE]");
        }
    }
    out.join("\n")
}

/// Hex words: run ids, commits, SHA-256s and short hashes.
pub fn filter_hex(text: &str) -> String {
    replace_words(text, |word| {
        if !word.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
            return None;
        }
        let digit = word.bytes().any(|b| b.is_ascii_digit());
        let letter = word.bytes().any(|b| b.is_ascii_alphabetic());
        match word.len() {
            32 => Some("[RUN_ID]"),
            40 => Some("[COMMIT]"),
            64 => Some("[SHA256]"),
            // A run's commit differs from machine to machine (it records the
            // host), so its short id may be all digits or all letters there.
            7 => Some("[HASH]"),
            8..=16 if digit && letter => Some("[HASH]"),
            _ => None,
        }
    })
}

/// Durations in the forms `util::human_duration` writes.
pub fn filter_durations(text: &str) -> String {
    replace_words(text, |word| is_duration(word).then_some("[DURATION]"))
}

fn is_duration(word: &str) -> bool {
    let split = word.find(|c: char| !c.is_ascii_digit()).unwrap_or(word.len());
    let (number, rest) = word.split_at(split);
    if number.is_empty() {
        return false;
    }
    if rest == "ms" || rest == "s" {
        return true;
    }
    if let Some(tail) = rest.strip_prefix('.') {
        let frac = tail.trim_end_matches('s');
        return tail.ends_with('s')
            && tail.len() == frac.len() + 1
            && !frac.is_empty()
            && frac.bytes().all(|b| b.is_ascii_digit());
    }
    let b = rest.as_bytes();
    b.len() == 4
        && matches!((b[0], b[3]), (b'm', b's') | (b'h', b'm') | (b'd', b'h'))
        && b[1].is_ascii_digit()
        && b[2].is_ascii_digit()
}

/// Replaces each word (a run of ASCII letters, digits and dots between digits)
/// that `pick` names a replacement for.
fn replace_words(text: &str, pick: impl Fn(&str) -> Option<&'static str>) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_alphanumeric() {
            let next = text[i..].chars().next().expect("inside the text");
            out.push(next);
            i += next.len_utf8();
            continue;
        }
        let start = i;
        while i < bytes.len()
            && (bytes[i].is_ascii_alphanumeric()
                || (bytes[i] == b'.'
                    && bytes[i - 1].is_ascii_digit()
                    && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)))
        {
            i += 1;
        }
        let word = &text[start..i];
        out.push_str(pick(word).unwrap_or(word));
    }
    out
}

#[test]
fn filters_pick_ids_hashes_and_durations_only() {
    let text = "run 0190aabbccddeeff0011223344556677 at 1a2b3c4 took 12.3s, 850ms, 4m05s; \
                version 1.2.3 size 10485760 added deadbeef 1234567 10s.";
    assert_eq!(
        filter_durations(&filter_hex(text)),
        "run [RUN_ID] at [HASH] took [DURATION], [DURATION], [DURATION]; \
         version 1.2.3 size 10485760 added deadbeef [HASH] [DURATION]."
    );
}
