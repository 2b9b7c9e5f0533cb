//! The Python client's own test suite (python/tests, unittest), run against the
//! built binary. It fails this test if any Python test fails; each Python test
//! skipped (its optional framework missing) is reported through
//! `common::skip` with unittest's reason, one console line per test, and
//! counted in the summary. unittest's full output is kept in
//! `target/python-tests.log`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{git_exp_bin, isolated_git, skip};

/// The interpreter: `GIT_EXP_TEST_PYTHON` (CI points it at a virtual environment
/// with scikit-learn and pandas), else `python3`.
fn python() -> String {
    std::env::var("GIT_EXP_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Runs unittest's discovery from `start` (`top` the top-level directory) as
/// `python -m unittest discover -v` would, then writes what ran and what was
/// skipped, with reasons, as JSON to the file named by the last argument:
/// parsing the verbose text would miss names unittest prints on the line
/// above (tests with a docstring).
const RUNNER: &str = r#"
import json, sys, unittest
start, top, out = sys.argv[1:4]
suite = unittest.defaultTestLoader.discover(start, top_level_dir=top)
result = unittest.TextTestRunner(verbosity=2).run(suite)
with open(out, "w") as f:
    json.dump({"ran": result.testsRun, "skipped": [[t.id(), r] for t, r in result.skipped]}, f)
sys.exit(0 if result.wasSuccessful() else 1)
"#;

#[test]
fn python_client_test_suite_passes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // A test-only hook: another suite in place of python/tests (the skip
    // reporting is tested on one made for it).
    let (start, top) = match std::env::var_os("GIT_EXP_TEST_PYTHON_TESTS") {
        Some(dir) => (PathBuf::from(&dir), PathBuf::from(dir)),
        None => (root.join("python/tests"), root.join("python")),
    };
    let tmp = tempfile::tempdir().unwrap();
    // `git exp` must resolve to this build: a PATH entry holding only it.
    let bin_dir = tmp.path().join("bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    std::os::unix::fs::symlink(git_exp_bin(), bin_dir.join("git-exp")).unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let result_file = tmp.path().join("result.json");
    let mut cmd = Command::new(python());
    isolated_git(&mut cmd, &home, tmp.path());
    let child = cmd
        .arg("-c")
        .arg(RUNNER)
        .args([&start, &top, &result_file])
        .current_dir(root)
        .env("PATH", path)
        .env("GIT_EXP_BIN", git_exp_bin())
        .env("PYTHONPATH", root.join("python"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("GIT_EXP_EVENTS")
        .env_remove("GIT_EXP_RUN_ID")
        .env_remove("GIT_EXP_DIR")
        .env_remove("WANDB_MODE")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the Python interpreter runs (set GIT_EXP_TEST_PYTHON to choose one)");
    // The frameworks' tests are slow, but a hang must not hold CI for hours.
    let out = crate::common::wait_deadline(child, std::time::Duration::from_secs(30 * 60));
    let report = String::from_utf8_lossy(&out.stderr).into_owned();
    let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("../python-tests.log");
    let _ = std::fs::write(&log, format!("{}{report}", String::from_utf8_lossy(&out.stdout)));
    let result: serde_json::Value = std::fs::read_to_string(&result_file)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_else(|| panic!("the Python test runner wrote no result:\n{report}"));
    for pair in result["skipped"].as_array().into_iter().flatten() {
        let (id, reason) = (pair[0].as_str().unwrap_or("?"), pair[1].as_str().unwrap_or("?"));
        skip(&format!("python: {id}"), reason);
    }
    assert!(
        out.status.success(),
        "the Python test suite failed:\n{}\n{report}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(result["ran"].as_u64() > Some(0), "no test ran:\n{report}");
}
