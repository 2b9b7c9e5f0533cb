//! The Python client's own test suite (python/tests, unittest), run against the
//! built binary. It fails this test if any Python test fails; tests whose
//! optional framework is missing skip with a reason, listed in
//! `target/python-tests.log` and on stderr.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{git_exp_bin, isolated_git};

/// The interpreter: `GIT_EXP_TEST_PYTHON` (CI points it at a virtual environment
/// with scikit-learn and pandas), else `python3`.
fn python() -> String {
    std::env::var("GIT_EXP_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

#[test]
#[allow(clippy::print_stderr)]
fn python_client_test_suite_passes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    // `git exp` must resolve to this build: a PATH entry holding only it.
    let bin_dir = tmp.path().join("bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    std::os::unix::fs::symlink(git_exp_bin(), bin_dir.join("git-exp")).unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut cmd = Command::new(python());
    isolated_git(&mut cmd, &home, tmp.path());
    let out = cmd
        .args(["-m", "unittest", "discover", "-s", "python/tests", "-t", "python", "-v"])
        .current_dir(root)
        .env("PATH", path)
        .env("GIT_EXP_BIN", git_exp_bin())
        .env("PYTHONPATH", root.join("python"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("GIT_EXP_EVENTS")
        .env_remove("GIT_EXP_RUN_ID")
        .env_remove("GIT_EXP_DIR")
        .env_remove("WANDB_MODE")
        .output()
        .expect("the Python interpreter runs (set GIT_EXP_TEST_PYTHON to choose one)");
    let report = String::from_utf8_lossy(&out.stderr).into_owned();
    let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("../python-tests.log");
    let _ = std::fs::write(&log, format!("{}{report}", String::from_utf8_lossy(&out.stdout)));
    for line in report.lines().filter(|l| l.contains("skipped")) {
        eprintln!("python: {line}");
    }
    assert!(
        out.status.success(),
        "the Python test suite failed:\n{}\n{report}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(report.contains("\nOK"), "no test ran:\n{report}");
}
