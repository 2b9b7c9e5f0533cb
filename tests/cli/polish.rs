//! The smaller things a new user meets first, one test each. See: issue 11
//! (item 12).

use crate::common::{stderr, CommandOutput, TestRepo};

#[test]
fn the_artifacts_directory_exists_when_the_command_starts() {
    let repo = TestRepo::new();
    let out = repo.exp(&[
        "run",
        "-n",
        "a",
        "--",
        "sh",
        "-c",
        "echo hi > \"$GIT_EXP_DIR/artifacts/out.txt\"",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(repo.show_file("a", "artifacts/out.txt"), "hi\n");
}

#[test]
fn a_placeholder_that_names_no_param_is_warned_about() {
    let repo = TestRepo::new();
    let out = repo.run(&["run", "-q", "-p", "lr=0.1", "--", "echo", "{lrr}", "{lr}", "{1: 2}"]);
    insta::assert_snapshot!(out, @r#"
    {lrr} 0.1 {1: 2}
    ------- stderr -------
    warning: {lrr} in the command names no param, so it is passed as it is (params: lr); set it with -p lrr=VALUE
    "#);
}

#[test]
fn a_params_file_error_says_where_and_nothing_unrelated() {
    let repo = TestRepo::new();
    repo.write("p.toml", "lr = 0.1\nepochs = = 3\n");
    insta::assert_snapshot!(repo.run(&["run", "--params-file", "p.toml", "--", "true"]), @r#"
    ------- stderr -------
    error: params file $TEST_ENV/repo/p.toml is not valid TOML: line 2, column 10: extra `=`, expected nothing
    hint: fix the file at the place shown, then run again
    [exit status: 125]
    "#);
}

#[test]
fn forgetting_the_double_dash_gets_a_hint() {
    let repo = TestRepo::new();
    insta::assert_snapshot!(repo.run(&["run", "-n", "x", "python3", "train.py"]), @r#"
    ------- stderr -------
    error: unexpected argument 'python3' found

    Usage: git exp run [OPTIONS] -- <COMMAND>...

    For more information, try '--help'.

    hint: put `--` before the command to run: git exp run -n x -- python3 train.py
    [exit status: 2]
    "#);
}

#[test]
fn pull_without_a_remote_hints_pull() {
    let repo = TestRepo::new();
    insta::assert_snapshot!(repo.run(&["pull"]), @r#"
    ------- stderr -------
    error: this repository has no git remote to use
    hint: name one (`git exp pull REMOTE`), or add one with `git remote add origin URL`
    [exit status: 1]
    "#);
}

#[test]
fn list_n_0_does_not_say_there_are_no_runs() {
    let repo = TestRepo::new();
    repo.exp_ok(&["run", "-q", "--", "true"]);
    insta::assert_snapshot!(repo.run(&["list", "-n", "0"]), @r#"
    ------- stderr -------
    No runs shown (-n 0).
    "#);
}

#[test]
fn csv_is_for_programs_and_columns_include_who_and_where() {
    let repo = TestRepo::new();
    repo.exp_ok(&[
        "run",
        "-q",
        "-n",
        "r",
        "-m",
        "first try",
        "--",
        "sh",
        "-c",
        "echo '{\"_summary\": {\"best\": 0.123456789}}' >> \"$GIT_EXP_EVENTS\"",
    ]);
    // Age is an RFC 3339 time, duration in seconds, metrics at full precision.
    let columns = "name,age,duration,user,host,note,metrics.best";
    insta::assert_snapshot!(repo.run(&["list", "--format", "csv", "--columns", columns]), @r#"
    name,age,duration,user,host,note,metrics.best
    r,2026-01-01T00:00:01.000Z,0,tester,[HOST],first try,0.123456789
    "#);
    // People get 4 decimals, as for every other number.
    insta::assert_snapshot!(repo.run(&["list", "--columns", "name,metrics.best"]), @r#"
    name  metrics.best
    r     0.1235
    "#);
    let show = repo.exp_ok(&["show", "r"]);
    assert!(show.lines().any(|l| l.trim() == "best  0.1235"), "{show}");
}

#[test]
fn counts_read_as_english() {
    let repo = TestRepo::new();
    let out = repo.exp(&[
        "run",
        "-n",
        "one",
        "--",
        "sh",
        "-c",
        "echo '{\"loss\": 1}' >> \"$GIT_EXP_EVENTS\"",
    ]);
    insta::assert_snapshot!(CommandOutput::new(&repo, &out), @r#"
    ------- stderr -------
    git-exp: run one finished in [DURATION] (1 point, 1 metric) -> [HASH]
    "#);
    let show = repo.exp_ok(&["show", "one"]);
    assert!(show.contains("1 point,"), "{show}");
}

#[test]
fn a_null_config_value_is_kept_as_none() {
    let repo = TestRepo::new();
    repo.exp_ok(&[
        "run",
        "-q",
        "-n",
        "n",
        "--",
        "sh",
        "-c",
        "echo '{\"_config\": {\"max_depth\": null, \"layers\": [1, null]}}' >> \"$GIT_EXP_EVENTS\"",
    ]);
    let config = repo.show_file("n", "config.toml");
    assert!(config.contains("max_depth = \"None\""), "{config}");
    assert!(config.contains("layers = [1, \"None\"]"), "{config}");
}

#[test]
fn an_empty_spec_matches_no_run_and_a_damaged_run_gets_a_way_out() {
    let repo = TestRepo::new();
    repo.exp_ok(&["run", "-q", "-n", "a", "--", "true"]);
    insta::assert_snapshot!(repo.run(&["show", ""]), @r#"
    ------- stderr -------
    error: no run matches ''
    hint: `git exp list` shows the runs; fetch others' runs with `git exp pull`
    [exit status: 1]
    "#);
    repo.forge_run("a", "bad", &[("summary.toml", Some(b"[metrics.x\n".as_slice()))]);
    insta::assert_snapshot!(repo.run(&["show", "bad"]), @r#"
    ------- stderr -------
    error: summary.toml of run bad is not valid: TOML parse error at line 1, column 11 | 1 | [metrics.x | ^ unclosed table, expected `]`
    hint: the run was damaged or written by hand; if you do not need it, delete it by its exact name with `git exp rm NAME`
    [exit status: 1]
    "#);
}

#[test]
fn show_cuts_a_huge_config_value() {
    let repo = TestRepo::new();
    let big = "x".repeat(100_000);
    repo.exp_ok(&["run", "-q", "-n", "big", "-p", &format!("blob={big}"), "--", "true"]);
    let shown = repo.exp_ok(&["show", "big"]);
    assert!(shown.len() < 5_000, "{} bytes", shown.len());
    assert!(shown.contains("(99800 more characters; all of it in --format json)"), "{shown}");
    let json = repo.exp_ok(&["show", "big", "--format", "json"]);
    assert!(json.contains(&big));
}

#[test]
fn compare_says_when_a_runs_metrics_cannot_be_read() {
    let repo = TestRepo::new();
    repo.exp_ok(&[
        "run",
        "-q",
        "-n",
        "good",
        "--",
        "sh",
        "-c",
        "echo '{\"loss\": 1}' >> \"$GIT_EXP_EVENTS\"",
    ]);
    let csv = b"step,name,value,time\nnotanumber,loss,1,1\n";
    repo.forge_run("good", "bad", &[("metrics.csv", Some(csv.as_slice()))]);
    insta::assert_snapshot!(repo.run(&["compare", "good", "bad"]).ok().stderr, @r#"
    warning: run bad: metrics.csv cannot be read (metrics.csv line 2: step `notanumber` is not a non-negative integer); its curves and sparklines are left out
    "#);
}
