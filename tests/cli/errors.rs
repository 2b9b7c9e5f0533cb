//! Bad input: one-line errors with hints, documented exit codes, no panics.

use crate::common::{CommandOutput, TestRepo};

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
