//! The smaller things a new user meets first, one test each. See: issue 11
//! (item 12).

use crate::common::{stderr, stdout, TestRepo};

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
    let out = repo.exp(&["run", "-q", "-p", "lr=0.1", "--", "echo", "{lrr}", "{lr}", "{1: 2}"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(
            "warning: {lrr} in the command names no param, so it is passed as it is (params: lr)"
        ),
        "{err}"
    );
    assert!(!err.contains("{1: 2}") && !err.contains("{lr} in"), "{err}");
    assert_eq!(stdout(&out), "{lrr} 0.1 {1: 2}\n");
}

#[test]
fn a_params_file_error_says_where_and_nothing_unrelated() {
    let repo = TestRepo::new();
    repo.write("p.toml", "lr = 0.1\nepochs = = 3\n");
    let out = repo.exp(&["run", "--params-file", "p.toml", "--", "true"]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("line 2, column"), "{err}");
    assert!(!err.contains("KEY=VALUE"), "{err}");
}

#[test]
fn forgetting_the_double_dash_gets_a_hint() {
    let repo = TestRepo::new();
    let out = repo.exp(&["run", "-n", "x", "python3", "train.py"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(
            "hint: put `--` before the command to run: git exp run -n x -- python3 train.py"
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
fn pull_without_a_remote_hints_pull() {
    let repo = TestRepo::new();
    let out = repo.exp(&["pull"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("`git exp pull REMOTE`"), "{}", stderr(&out));
}

#[test]
fn list_n_0_does_not_say_there_are_no_runs() {
    let repo = TestRepo::new();
    repo.exp_ok(&["run", "-q", "--", "true"]);
    let out = repo.exp(&["list", "-n", "0"]);
    assert!(out.status.success());
    assert!(!stderr(&out).contains("No runs yet"), "{}", stderr(&out));
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
    let csv = repo.exp_ok(&[
        "list",
        "--format",
        "csv",
        "--columns",
        "name,age,duration,user,host,note,metrics.best",
    ]);
    let row: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    assert!(row[1].ends_with('Z') && row[1].contains('T'), "age is an RFC 3339 time: {csv}");
    assert!(row[2].parse::<f64>().is_ok(), "duration in seconds: {csv}");
    assert_eq!(row[3], "tester");
    assert!(!row[4].is_empty());
    assert_eq!(row[5], "first try");
    assert_eq!(row[6], "0.123456789", "full precision for programs");
    // People get 4 decimals, as for every other number.
    let table = repo.exp_ok(&["list", "--columns", "name,metrics.best"]);
    assert!(table.contains("0.1235") && !table.contains("0.123456789"), "{table}");
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
    assert!(out.status.success());
    assert!(stderr(&out).contains("(1 point, 1 metric)"), "{}", stderr(&out));
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
    let out = repo.exp(&["show", ""]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("error: no run matches ''"), "{}", stderr(&out));
    repo.forge_run("a", "bad", &[("summary.toml", Some(b"[metrics.x\n".as_slice()))]);
    let out = repo.exp(&["show", "bad"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("hint: ") && stderr(&out).contains("git exp rm NAME"),
        "{}",
        stderr(&out)
    );
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
    let out = repo.exp(&["compare", "good", "bad"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("warning: run bad: metrics.csv cannot be read ("), "{err}");
}
