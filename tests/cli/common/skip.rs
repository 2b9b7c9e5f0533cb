//! Skipped tests, said out loud. libtest has no "skipped" outcome: a test
//! that returns early counts as passed and anything it prints with `eprintln!`
//! is captured and shown only on failure. So a skip is written straight to
//! the process's stderr (which libtest does not capture), one line
//! `skipped: TEST: REASON`, and recorded; when the test binary exits, after
//! libtest's `test result:` line, one line `N skipped: REASON; REASON (K tests)`
//! sums them up. The servers the tests started are stopped at the same moment.

use std::io::Write;
use std::sync::{Mutex, Once, OnceLock};

/// (test, reason) of every skip so far.
static SKIPS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

/// Whether this is CI (`CI` set, as CI services do, and not `false` or `0`):
/// there the optional parts are installed, so a test that would skip for lack
/// of one fails instead.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Reports that `test` did not run for `reason`: a line on the console now and
/// a place in the summary at exit.
pub fn skip(test: &str, reason: &str) {
    let (test, reason) = (one_line(test), one_line(reason));
    write_stderr(&format!("skipped: {test}: {reason}\n"));
    SKIPS.lock().unwrap_or_else(|e| e.into_inner()).push((test, reason));
    at_exit();
}

/// [`skip`], except under CI, where the missing part is a failure of `test`.
pub fn skip_unless_ci(test: &str, reason: &str) {
    assert!(!in_ci(), "{test}: {reason}; CI must run this test");
    skip(test, reason);
}

/// Writes `text` to the process's stderr in one write, past libtest's capture
/// (output of parallel tests stays whole lines). With one test thread libtest
/// has printed `test NAME ... ` and waits for the result: `text` starts on a
/// line of its own there.
pub fn write_stderr(text: &str) {
    let text = if one_thread() { format!("\n{text}") } else { text.to_owned() };
    write_raw(&text);
}

fn write_raw(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Whether libtest runs one test at a time (`--test-threads 1` or
/// `RUST_TEST_THREADS=1`).
fn one_thread() -> bool {
    static ONE: OnceLock<bool> = OnceLock::new();
    *ONE.get_or_init(|| {
        let args: Vec<String> = std::env::args().collect();
        let flag = args.iter().enumerate().any(|(i, a)| {
            a == "--test-threads=1"
                || (a == "--test-threads" && args.get(i + 1).is_some_and(|n| n == "1"))
        });
        flag || std::env::var("RUST_TEST_THREADS").is_ok_and(|n| n == "1")
    })
}

/// Registers, once, what runs when the test binary exits: after libtest has
/// printed its result and before the process ends.
pub fn at_exit() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // SAFETY: `finish` is a plain `extern "C" fn` that does not unwind.
        let failed = unsafe { libc::atexit(finish) } != 0;
        assert!(!failed, "atexit refused the exit hook");
    });
}

extern "C" fn finish() {
    // A panic cannot unwind out of an `extern "C"` fn: catch it, say it.
    let done = std::panic::catch_unwind(|| {
        super::s3::stop_all();
        if let Some(line) = summary(&SKIPS.lock().unwrap_or_else(|e| e.into_inner())) {
            write_raw(&line);
        }
    });
    if done.is_err() {
        write_raw("error: the test binary's exit hook failed\n");
    }
}

/// The summary line of `skips` (`None` when nothing was skipped): the count,
/// then each distinct reason once, in the order first seen, with how many
/// tests it skipped when more than one. It starts with the count and
/// `skipped:`, so it is never libtest's `test result:` line nor a closing
/// `N passed, N failed` line; reasons cannot break it (see [`one_line`]).
fn summary(skips: &[(String, String)]) -> Option<String> {
    if skips.is_empty() {
        return None;
    }
    let mut reasons: Vec<(&str, usize)> = Vec::new();
    for (_, reason) in skips {
        match reasons.iter_mut().find(|(r, _)| r == reason) {
            Some((_, n)) => *n += 1,
            None => reasons.push((reason, 1)),
        }
    }
    let parts: Vec<String> = reasons
        .iter()
        .map(|(r, n)| if *n == 1 { (*r).to_owned() } else { format!("{r} ({n} tests)") })
        .collect();
    Some(format!("{} skipped: {}\n", skips.len(), parts.join("; ")))
}

/// `text` as part of one line: control characters (a newline could start a
/// line that reads like libtest's) become spaces, runs of spaces one, and `;`
/// (the summary's separator) a comma.
fn one_line(text: &str) -> String {
    let text: String = text
        .chars()
        .map(|c| {
            if c.is_control() {
                ' '
            } else if c == ';' {
                ','
            } else {
                c
            }
        })
        .collect();
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn the_summary_counts_each_reason_once_and_stays_one_line() {
    let skips: Vec<(String, String)> = [("a", "no x"), ("b", "no y"), ("c", "no x")]
        .iter()
        .map(|(t, r)| (t.to_string(), r.to_string()))
        .collect();
    assert_eq!(summary(&skips).unwrap(), "3 skipped: no x (2 tests); no y\n");
    assert_eq!(summary(&[]), None);
    assert_eq!(
        one_line("x\n\ntest result: ok. 1 passed; 0 failed\r"),
        "x test result: ok. 1 passed, 0 failed"
    );
}
