//! The suite's own reporting of what it did not run: this test binary is run
//! again on one test, as `cargo test` would, and its console (stdout and
//! stderr in one stream, in order) must show each skip with its reason and one
//! summary line after libtest's result line; servers it starts are gone when
//! it exits. See: issue 11, item 10.

use std::path::PathBuf;
use std::process::Command;

use crate::common::{self, s3};

/// This test binary on `args`, with none of the S3 settings, `CI` unset, PATH
/// as given and `vars` set. Returns (exit code, console text).
fn run_self(args: &[&str], path: &str, vars: &[(&str, &str)]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("console.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(args);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("GIT_EXP_TEST_S3") || key == "GIT_EXP_TEST_PYTHON_TESTS" || key == "CI" {
            cmd.env_remove(&*key);
        }
    }
    cmd.env("PATH", path).envs(vars.iter().copied());
    let status = cmd.stdout(log.try_clone().unwrap()).stderr(log).status().unwrap();
    (status.code(), std::fs::read_to_string(&log_path).unwrap())
}

/// PATH without the directories that hold `program`.
fn path_without(program: &str) -> String {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let kept: Vec<PathBuf> =
        std::env::split_paths(&path).filter(|d| !d.join(program).exists()).collect();
    std::env::join_paths(kept).unwrap().into_string().unwrap()
}

/// The lines of `console` after libtest's `test result:` line.
fn after_result(console: &str) -> Vec<&str> {
    let lines: Vec<&str> = console.lines().collect();
    let at = lines.iter().position(|l| l.starts_with("test result: ")).expect("a result line");
    lines[at + 1..].iter().copied().filter(|l| !l.is_empty()).collect()
}

/// No interpreter directory to find `moto_server` in (with PATH lacking it).
const NO_MOTO: &[(&str, &str)] = &[("GIT_EXP_TEST_PYTHON", "python3")];

const S3_TEST: &str = "share::push_and_pull_through_an_s3_compatible_server";

#[test]
fn a_skipped_test_says_why_on_the_console_and_in_a_summary_after_the_result() {
    let (code, console) = run_self(&[S3_TEST, "--exact"], &path_without("moto_server"), NO_MOTO);
    assert_eq!(code, Some(0), "{console}");
    let reason = "moto_server not installed: pip install 'moto[server]'";
    let line = format!("skipped: {S3_TEST}: {reason}");
    assert!(console.lines().any(|l| l.starts_with(&line)), "no skip line:\n{console}");
    assert!(console.contains("test result: ok. 1 passed"), "{console}");
    // One summary line, last, that no reader of libtest output takes for a result.
    let after = after_result(&console);
    assert_eq!(after.len(), 1, "{console}");
    assert!(after[0].starts_with("1 skipped: moto_server not installed"), "{console}");
    assert!(!after[0].contains("passed") && !after[0].starts_with("test"), "{console}");
}

#[test]
fn under_ci_a_missing_server_fails_rather_than_skips() {
    let path = path_without("moto_server");
    let (code, text) = run_self(&[S3_TEST, "--exact"], &path, &[NO_MOTO[0], ("CI", "true")]);
    assert_eq!(code, Some(101), "{text}");
    assert!(text.contains("CI must run this test"), "{text}");
}

/// Skipped Python tests are listed one per line with their reasons, also a
/// test with a docstring (unittest prints its name on the line above) and a
/// class skipped in `setUpClass`.
#[test]
fn each_skipped_python_test_is_a_line_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("test_fake.py"),
        r#"import unittest

class Plain(unittest.TestCase):
    def test_runs(self):
        pass

    @unittest.skip("needs the frobnicator")
    def test_skipped(self):
        """Has a docstring.

        test result: FAILED. 0 passed; 9 failed
        """

class Whole(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        raise unittest.SkipTest("no GPU here\ntest result: FAILED. 0 passed; 9 failed")

    def test_x(self):
        pass
"#,
    )
    .unwrap();
    let path = std::env::var("PATH").unwrap_or_default();
    let (code, console) = run_self(
        &["python::python_client_test_suite_passes", "--exact"],
        &path,
        &[("GIT_EXP_TEST_PYTHON_TESTS", dir.path().to_str().unwrap())],
    );
    assert_eq!(code, Some(0), "{console}");
    let skips: Vec<&str> = console.lines().filter(|l| l.starts_with("skipped: ")).collect();
    assert_eq!(
        skips,
        [
            "skipped: python: test_fake.Plain.test_skipped: needs the frobnicator",
            "skipped: python: setUpClass (test_fake.Whole): no GPU here test result: FAILED. \
             0 passed, 9 failed",
        ],
        "{console}"
    );
    let after = after_result(&console);
    assert_eq!(after.len(), 1, "{console}");
    assert!(after[0].starts_with("2 skipped: needs the frobnicator; no GPU here"), "{console}");
    // A reason cannot make the summary read like a result: it stays on the
    // summary's one line, and `;` separates reasons only.
    assert!(!after[0].contains("passed;"), "{console}");
    assert_eq!(console.lines().filter(|l| l.starts_with("test result:")).count(), 1, "{console}");
}

/// The servers a test binary starts for itself are stopped when it exits: the
/// S3 tests run against moto started by the binary, and no moto process of it
/// is left.
#[test]
fn servers_the_tests_start_are_gone_when_the_binary_exits() {
    if let Err(reason) = s3::find_moto() {
        common::skip_unless_ci(
            "skips::servers_the_tests_start_are_gone_when_the_binary_exits",
            &reason,
        );
        return;
    }
    let path = std::env::var("PATH").unwrap_or_default();
    let (code, console) = run_self(&["share::push_and_pull_"], &path, &[]);
    assert_eq!(code, Some(0), "{console}");
    assert!(console.contains("test result: ok. 2 passed"), "{console}");
    assert!(!console.contains("skipped"), "{console}");
    let pids: Vec<i32> = console
        .lines()
        .filter(|l| l.starts_with("moto_server: "))
        .filter_map(|l| l.split("(pid ").nth(1)?.split(')').next()?.parse().ok())
        .collect();
    assert_eq!(pids.len(), 2, "one server over http, one over https:\n{console}");
    for pid in pids {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = state.rsplit(") ").next().and_then(|s| s.chars().next());
        assert!(matches!(state, None | Some('Z')), "moto_server {pid} still runs:\n{console}");
    }
}
