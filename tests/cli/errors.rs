//! Bad input: one-line errors with hints, documented exit codes, no panics.

use crate::common::{stderr, TestRepo};

fn assert_clean_error(out: &std::process::Output, code: i32, needle: &str) {
    let e = stderr(out);
    assert_eq!(out.status.code(), Some(code), "{e}");
    assert!(e.starts_with("error: "), "{e}");
    assert!(e.contains(needle), "{needle:?} not in {e}");
    assert!(!e.contains("panicked") && !e.contains("RUST_BACKTRACE"), "{e}");
}

#[test]
fn outside_a_repository_and_in_a_bare_one() {
    let repo = TestRepo::new();
    let outside = repo.tmp.path().join("nowhere");
    std::fs::create_dir_all(&outside).unwrap();
    let mut cmd = repo.cmd_in(&outside, &["list"]);
    cmd.env("GIT_CEILING_DIRECTORIES", repo.tmp.path());
    let out = cmd.output().unwrap();
    assert_clean_error(&out, 1, "not in a git repository");
    assert!(stderr(&out).contains("hint: "));

    let bare = repo.tmp.path().join("bare.git");
    repo.git(&["init", "-q", "--bare", bare.to_str().unwrap()]);
    let out = repo.cmd_in(&bare, &["list"]).output().unwrap();
    assert_clean_error(&out, 1, "bare repository");
    let out = repo.cmd_in(&bare, &["run", "--", "true"]).output().unwrap();
    assert_clean_error(&out, 125, "bare repository");
}

#[test]
fn bad_names_unknown_runs_and_taken_names() {
    let repo = TestRepo::new();
    let out = repo.exp(&["run", "-n", "bad name", "--", "true"]);
    assert_clean_error(&out, 125, "invalid run name 'bad name'");
    let out = repo.exp(&["run", "-n", "x..y", "--", "true"]);
    assert_clean_error(&out, 125, "invalid run name");
    let out = repo.exp(&["show", "nope"]);
    assert_clean_error(&out, 1, "no run matches 'nope'");
    repo.exp_ok(&["run", "-q", "-n", "taken", "--", "true"]);
    let before = repo.git(&["rev-parse", "refs/experiments/taken"]);
    let marker = repo.tmp.path().join("ran");
    let out = repo.exp(&["run", "-n", "taken", "--", "touch", marker.to_str().unwrap()]);
    assert_clean_error(&out, 125, "already exists");
    assert!(!marker.exists(), "the command must not run when the name is taken");
    assert_eq!(repo.git(&["rev-parse", "refs/experiments/taken"]), before);
}

#[test]
fn commands_that_cannot_start() {
    let repo = TestRepo::new();
    let out = repo.exp(&["run", "--", "definitely-not-a-command-xyz"]);
    assert_clean_error(&out, 127, "command not found");
    let script = repo.tmp.path().join("noexec.sh");
    std::fs::write(&script, "#!/bin/sh\n").unwrap();
    let out = repo.exp(&["run", "--", script.to_str().unwrap()]);
    assert_clean_error(&out, 126, "not executable");
    assert!(repo.git(&["for-each-ref", "refs/experiments/"]).is_empty());
}

#[test]
fn unreadable_params_and_usage_errors() {
    let repo = TestRepo::new();
    let out = repo.exp(&["run", "--params-file", "missing.toml", "--", "true"]);
    assert_clean_error(&out, 125, "cannot read params file");
    repo.write("bad.toml", "lr = = 1\n");
    let out = repo.exp(&["run", "--params-file", "bad.toml", "--", "true"]);
    assert_clean_error(&out, 125, "not valid TOML");
    repo.write("p.yaml", "lr: 1\n");
    let out = repo.exp(&["run", "--params-file", "p.yaml", "--", "true"]);
    assert_clean_error(&out, 125, ".toml or .json");
    let out = repo.exp(&["run", "-p", "novalue", "--", "true"]);
    assert_clean_error(&out, 125, "KEY=VALUE");
    let out = repo.exp(&["run"]);
    assert_eq!(out.status.code(), Some(2));
    let out = repo.exp(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_run_of_an_unknown_format_version_is_rejected_clearly() {
    let repo = TestRepo::new();
    repo.exp_ok(&["run", "-q", "-n", "future", "--", "true"]);
    // Rewrite the run with format = 2, as a newer git-exp might have written it.
    let tmp_index = repo.tmp.path().join("idx");
    let exp = repo.show_file("future", "exp.toml").replace("format = 1", "format = 2");
    std::fs::write(repo.tmp.path().join("exp.toml"), exp).unwrap();
    let blob = repo.git(&["hash-object", "-w", repo.tmp.path().join("exp.toml").to_str().unwrap()]);
    let mut cmd = std::process::Command::new("git");
    repo.env(&mut cmd);
    let ok = cmd
        .env("GIT_INDEX_FILE", &tmp_index)
        .args(["read-tree", "refs/experiments/future"])
        .current_dir(&repo.root)
        .status()
        .unwrap();
    assert!(ok.success());
    let mut cmd = std::process::Command::new("git");
    repo.env(&mut cmd);
    let ok = cmd
        .env("GIT_INDEX_FILE", &tmp_index)
        .args(["update-index", "--cacheinfo", &format!("100644,{},exp.toml", blob.trim())])
        .current_dir(&repo.root)
        .status()
        .unwrap();
    assert!(ok.success());
    let mut cmd = std::process::Command::new("git");
    repo.env(&mut cmd);
    let tree = cmd
        .env("GIT_INDEX_FILE", &tmp_index)
        .arg("write-tree")
        .current_dir(&repo.root)
        .output()
        .unwrap();
    let tree = String::from_utf8(tree.stdout).unwrap();
    let commit = repo.git(&["commit-tree", tree.trim(), "-m", "future run"]);
    repo.git(&["update-ref", "refs/experiments/future", commit.trim()]);
    let out = repo.exp(&["show", "future"]);
    assert_clean_error(&out, 1, "storage format 2");
    assert!(stderr(&out).contains("hint: upgrade git-exp"));
    // list skips it with a warning and still lists the others.
    repo.exp_ok(&["run", "-q", "-n", "present", "--", "true"]);
    let out = repo.exp(&["list", "--json"]);
    assert!(out.status.success());
    assert!(stderr(&out).contains("storage format 2"));
    let runs: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(runs.len(), 1);
}

#[test]
fn a_damaged_run_shows_what_went_wrong_underneath() {
    let repo = TestRepo::new();
    repo.exp_ok(&["run", "-q", "-n", "a", "--", "true"]);
    repo.forge_run("a", "bad", &[("exp.toml", Some(b"\xff\xfe not utf-8".as_slice()))]);
    let out = repo.exp(&["show", "bad"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let e = stderr(&out);
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(lines[0], "error: exp.toml of run bad is missing or unreadable", "{e}");
    assert_eq!(lines[1], "  caused by: invalid utf-8 sequence of 1 bytes from index 0", "{e}");
    assert!(lines[2].starts_with("hint: ") && lines[2].contains("git exp rm NAME"), "{e}");
    assert_eq!(lines.len(), 3, "{e}");
}

/// Asserts that `run` refuses to start: exit 125, one error line naming the
/// key, the value and what is accepted, a hint, and no run written.
fn assert_bad_config(repo: &TestRepo, key: &str, value: &str, expected: &str) {
    repo.git(&["config", key, value]);
    let out = repo.exp(&["run", "-q", "-n", "never", "--", "true"]);
    let e = stderr(&out);
    assert_eq!(out.status.code(), Some(125), "{e}");
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(lines[0], format!("error: invalid value '{value}' for {key}: expected {expected}"));
    assert_eq!(
        lines[1..],
        [format!(
            "hint: see where it is set with `git config --show-origin --get-all {key}`, then fix \
             it or remove it with `git config --unset {key}`"
        )],
        "{e}"
    );
    assert!(!repo.exp_ok(&["list"]).contains("never"), "a run was written");
    repo.git(&["config", "--unset", key]);
}

// See: issue 12 (invalid `exp.*` values are an error naming the key).
#[test]
fn invalid_exp_config_values_stop_the_run() {
    let repo = TestRepo::new();
    let size = "a positive size in bytes (git's k, m and g suffixes allowed)";
    assert_bad_config(&repo, "exp.outputLimit", "lots", size);
    assert_bad_config(&repo, "exp.codeMaxFileSize", "0", size);
    assert_bad_config(&repo, "exp.codeMaxTotalSize", "-5m", size);
    let inline = "a size in bytes, 0 or more (git's k, m and g suffixes allowed)";
    assert_bad_config(&repo, "exp.artifacts.inlineMax", "1x", inline);
    // Valid values (with git's suffixes) still run.
    repo.git(&["config", "exp.outputLimit", "1k"]);
    repo.git(&["config", "exp.artifacts.inlineMax", "0"]);
    repo.exp_ok(&["run", "-q", "-n", "fine", "--", "true"]);
}

// See: issue 12 (invalid `exp.*` values are an error naming the key).
#[test]
fn invalid_artifact_jobs_stop_a_push_before_anything_goes_out() {
    let repo = TestRepo::new();
    let bare = repo.tmp.path().join("remote.git");
    let objects = repo.tmp.path().join("objects");
    repo.git(&["init", "-q", "--bare", bare.to_str().unwrap()]);
    repo.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    repo.git(&["config", "exp.artifacts.inlineMax", "10"]);
    let url = format!("file://{}", objects.display());
    repo.git(&["config", "exp.artifacts.url", &url]);
    let make = "head -c 100 /dev/zero > model.bin";
    repo.exp_ok(&["run", "-q", "-n", "big", "-a", "model.bin", "--", "sh", "-c", make]);
    repo.git(&["config", "exp.artifacts.jobs", "65"]);
    let out = repo.exp(&["push", "origin"]);
    let e = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert_eq!(
        e.lines().next(),
        Some("error: invalid value '65' for exp.artifacts.jobs: expected a number from 1 to 64"),
        "{e}"
    );
    assert!(e.contains("hint: see where it is set with `git config --show-origin"), "{e}");
    let refs = repo.git(&["ls-remote", bare.to_str().unwrap(), "refs/experiments/*"]);
    assert!(refs.trim().is_empty(), "a run went out: {refs}");
    assert!(!objects.exists(), "an artifact went out");
    // A valid value pushes.
    repo.git(&["config", "exp.artifacts.jobs", "2"]);
    repo.exp_ok(&["push", "origin"]);
    let refs = repo.git(&["ls-remote", bare.to_str().unwrap(), "refs/experiments/*"]);
    assert!(refs.contains("refs/experiments/big"), "{refs}");
    assert!(objects.exists(), "the artifact went to the store");
}
