//! Bad input: one-line errors with hints, documented exit codes, no panics.

use crate::common::{stderr, CommandOutput, TestRepo};

#[test]
fn outside_a_repository_and_in_a_bare_one() {
    let repo = TestRepo::new();
    let outside = repo.tmp.path().join("nowhere");
    std::fs::create_dir_all(&outside).unwrap();
    let mut cmd = repo.cmd_in(&outside, &["list"]);
    cmd.env("GIT_CEILING_DIRECTORIES", repo.tmp.path());
    insta::assert_snapshot!(CommandOutput::new(&repo, &cmd.output().unwrap()), @r#"
    ------- stderr -------
    error: not in a git repository: $TEST_ENV/nowhere
    hint: run git-exp inside a git repository, or create one with `git init`
    [exit status: 1]
    "#);

    let bare = repo.tmp.path().join("bare.git");
    repo.git(&["init", "-q", "--bare", bare.to_str().unwrap()]);
    let out = repo.cmd_in(&bare, &["list"]).output().unwrap();
    insta::assert_snapshot!(CommandOutput::new(&repo, &out), @r#"
    ------- stderr -------
    error: $TEST_ENV/bare.git is a bare repository; git-exp runs need a working tree
    hint: run it in a clone with a working tree (`git clone` without --bare)
    [exit status: 1]
    "#);
    let out = repo.cmd_in(&bare, &["run", "--", "true"]).output().unwrap();
    insta::assert_snapshot!(CommandOutput::new(&repo, &out), @r#"
    ------- stderr -------
    error: $TEST_ENV/bare.git is a bare repository; git-exp runs need a working tree
    hint: run it in a clone with a working tree (`git clone` without --bare)
    [exit status: 125]
    "#);
}

#[test]
fn bad_names_unknown_runs_and_taken_names() {
    let repo = TestRepo::new();
    insta::assert_snapshot!(repo.run(&["run", "-n", "bad name", "--", "true"]), @r#"
    ------- stderr -------
    error: invalid run name 'bad name': ' ' is not allowed; use ASCII letters, digits, '.', '_', '-' and '/' between groups
    hint: names use letters, digits, '.', '_', '-', and '/' to group runs
    [exit status: 125]
    "#);
    insta::assert_snapshot!(repo.run(&["run", "-n", "x..y", "--", "true"]), @r#"
    ------- stderr -------
    error: invalid run name 'x..y': it contains '..'
    hint: names use letters, digits, '.', '_', '-', and '/' to group runs
    [exit status: 125]
    "#);
    insta::assert_snapshot!(repo.run(&["show", "nope"]), @r#"
    ------- stderr -------
    error: no run matches 'nope'
    hint: `git exp list` shows the runs; fetch others' runs with `git exp pull`
    [exit status: 1]
    "#);
    repo.exp_ok(&["run", "-q", "-n", "taken", "--", "true"]);
    let before = repo.git(&["rev-parse", "refs/experiments/taken"]);
    let marker = repo.tmp.path().join("ran");
    let out = repo.run(&["run", "-n", "taken", "--", "touch", marker.to_str().unwrap()]);
    insta::assert_snapshot!(out, @r#"
    ------- stderr -------
    error: a run named 'taken' already exists
    hint: pick another name with --name, or omit --name to get a fresh one
    [exit status: 125]
    "#);
    assert!(!marker.exists(), "the command must not run when the name is taken");
    assert_eq!(repo.git(&["rev-parse", "refs/experiments/taken"]), before);
}

#[test]
fn commands_that_cannot_start() {
    let repo = TestRepo::new();
    insta::assert_snapshot!(repo.run(&["run", "--", "definitely-not-a-command-xyz"]), @r#"
    ------- stderr -------
    error: command not found: definitely-not-a-command-xyz
    hint: check the spelling, or give the full path of the program
    [exit status: 127]
    "#);
    let script = repo.tmp.path().join("noexec.sh");
    std::fs::write(&script, "#!/bin/sh\n").unwrap();
    insta::assert_snapshot!(repo.run(&["run", "--", script.to_str().unwrap()]), @r#"
    ------- stderr -------
    error: command is not executable: $TEST_ENV/noexec.sh
    hint: make it executable with `chmod +x $TEST_ENV/noexec.sh`
    [exit status: 126]
    "#);
    assert!(repo.git(&["for-each-ref", "refs/experiments/"]).is_empty());
}

#[test]
fn unreadable_params_and_usage_errors() {
    let repo = TestRepo::new();
    let out = repo.run(&["run", "--params-file", "missing.toml", "--", "true"]);
    insta::assert_snapshot!(out, @r#"
    ------- stderr -------
    error: cannot read params file $TEST_ENV/repo/missing.toml
      caused by: failed to open file `$TEST_ENV/repo/missing.toml`: No such file or directory (os error 2)
    hint: params files are .toml or .json tables
    [exit status: 125]
    "#);
    repo.write("bad.toml", "lr = = 1\n");
    insta::assert_snapshot!(repo.run(&["run", "--params-file", "bad.toml", "--", "true"]), @r#"
    ------- stderr -------
    error: params file $TEST_ENV/repo/bad.toml is not valid TOML: line 1, column 6: extra `=`, expected nothing
    hint: fix the file at the place shown, then run again
    [exit status: 125]
    "#);
    repo.write("p.yaml", "lr: 1\n");
    insta::assert_snapshot!(repo.run(&["run", "--params-file", "p.yaml", "--", "true"]), @r#"
    ------- stderr -------
    error: params file $TEST_ENV/repo/p.yaml must end in .toml or .json
    hint: params files are .toml or .json tables
    [exit status: 125]
    "#);
    insta::assert_snapshot!(repo.run(&["run", "-p", "novalue", "--", "true"]), @r#"
    ------- stderr -------
    error: param 'novalue' is not KEY=VALUE
    hint: params are KEY=VALUE, e.g. -p lr=0.01 -p model.layers=3
    [exit status: 125]
    "#);
    insta::assert_snapshot!(repo.run(&["run"]), @r#"
    ------- stderr -------
    error: the following required arguments were not provided:
      <COMMAND>...

    Usage: git exp run -- <COMMAND>...

    For more information, try '--help'.
    [exit status: 2]
    "#);
    insta::assert_snapshot!(repo.run(&["frobnicate"]), @r#"
    ------- stderr -------
    error: unrecognized subcommand 'frobnicate'

    Usage: git exp [OPTIONS] <COMMAND>

    For more information, try '--help'.
    [exit status: 2]
    "#);
}

#[test]
fn a_run_of_an_unknown_format_version_is_rejected_clearly() {
    let repo = TestRepo::new();
    repo.exp_ok(&["run", "-q", "-n", "future", "--", "true"]);
    // Rewrite the run with format = 2, as a newer git-exp might have written it.
    let exp = repo.show_file("future", "exp.toml").replace("format = 1", "format = 2");
    repo.forge_run("future", "future", &[("exp.toml", Some(exp.as_bytes()))]);
    insta::assert_snapshot!(repo.run(&["show", "future"]), @r#"
    ------- stderr -------
    error: run future uses storage format 2, but this git-exp reads format 1 only
    hint: upgrade git-exp to read this run
    [exit status: 1]
    "#);
    // list skips it with a warning and still lists the others.
    repo.exp_ok(&["run", "-q", "-n", "present", "--", "true"]);
    let out = repo.run(&["list", "--json"]).ok();
    insta::assert_snapshot!(out.stderr, @r#"
    warning: skipped a run: run future uses storage format 2, but this git-exp reads format 1 only
    hint: a run you do not need can be deleted by its exact name: `git exp rm NAME` (or its full ref)
    "#);
    let runs: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).unwrap();
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
