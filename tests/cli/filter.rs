//! `git exp list --filter/--sort/--limit/--columns`: which runs, in which order,
//! with which cells; and the errors for a bad expression or column.

use std::process::{Command, Stdio};

use crate::common::{stderr, TestRepo};

/// Four runs, created in this order (so listed newest first: delta, gamma, beta, alpha):
///
/// | run   | lr    | model.depth | tags     | status   | acc  | loss | val/loss | train.loss |
/// |-------|-------|-------------|----------|----------|------|------|----------|------------|
/// | alpha | 0.1   | 2           | baseline | finished | 0.8  | 0.5  | 0.6      | 0.7        |
/// | beta  | 0.01  | 4           |          | finished | 0.95 | 0.3  | 0.4      |            |
/// | gamma | 0.001 | 4           | baseline | finished | 0.92 |      |          |            |
/// | delta | 0.01  | 8           |          | failed   | 0.97 | 0.2  |          |            |
fn four_runs() -> TestRepo {
    let repo = TestRepo::new();
    let runs = [
        (
            "alpha",
            "0.1",
            "2",
            Some("baseline"),
            r#"{"acc": 0.8, "loss": 0.5, "val/loss": 0.6, "train.loss": 0.7}"#,
            "0",
        ),
        ("beta", "0.01", "4", None, r#"{"acc": 0.95, "loss": 0.3, "val/loss": 0.4}"#, "0"),
        ("gamma", "0.001", "4", Some("baseline"), r#"{"acc": 0.92}"#, "0"),
        ("delta", "0.01", "8", None, r#"{"acc": 0.97, "loss": 0.2}"#, "1"),
    ];
    for (name, lr, depth, tag, events, code) in runs {
        let body = format!(r#"printf '%s\n' '{events}' >> "$GIT_EXP_EVENTS"; exit {code}"#);
        let lr = format!("lr={lr}");
        let depth = format!("model.depth={depth}");
        let mut args = vec!["run", "-q", "-n", name, "-p", &lr, "-p", &depth];
        if let Some(tag) = tag {
            args.extend(["-t", tag]);
        }
        args.extend(["--", "sh", "-c", &body]);
        let out = repo.exp(&args);
        assert_eq!(out.status.code(), Some(code.parse().unwrap()), "{}", stderr(&out));
    }
    repo
}

/// Names listed by `git exp list ARGS --format json`.
fn names(repo: &TestRepo, args: &[&str]) -> Vec<String> {
    let mut all = vec!["list", "--format", "json"];
    all.extend_from_slice(args);
    let runs: Vec<serde_json::Value> = serde_json::from_str(&repo.exp_ok(&all)).unwrap();
    runs.iter().map(|r| r["name"].as_str().unwrap().to_owned()).collect()
}

fn filter(repo: &TestRepo, expr: &str) -> Vec<String> {
    names(repo, &["--filter", expr])
}

#[test]
fn numeric_comparisons_and_boolean_operators() {
    let repo = four_runs();
    assert_eq!(names(&repo, &[]), ["delta", "gamma", "beta", "alpha"]);
    assert_eq!(filter(&repo, "metrics.acc > 0.9"), ["delta", "gamma", "beta"]);
    assert_eq!(filter(&repo, "config.lr <= 0.01"), ["delta", "gamma", "beta"]);
    assert_eq!(
        filter(&repo, r#"metrics.acc > 0.9 and config.lr <= 0.01 and status == "finished""#),
        ["gamma", "beta"]
    );
    assert_eq!(filter(&repo, r#"params.lr == 0.1 or status == "failed""#), ["delta", "alpha"]);
    assert_eq!(filter(&repo, "not metrics.acc > 0.9"), ["alpha"]);
    assert_eq!(
        filter(&repo, "not (metrics.acc > 0.9 and params.lr < 0.01)"),
        ["delta", "beta", "alpha"]
    );
    assert_eq!(filter(&repo, "duration >= 0 and metrics.acc * 100 >= 95"), ["delta", "beta"]);
}

#[test]
fn tags_status_and_strings() {
    let repo = four_runs();
    assert_eq!(filter(&repo, r#""baseline" in tags"#), ["gamma", "alpha"]);
    assert_eq!(filter(&repo, r#""baseline" not in tags"#), ["delta", "beta"]);
    assert_eq!(filter(&repo, r#"status == "failed""#), ["delta"]);
    assert_eq!(filter(&repo, r#"status != "finished" or name == "beta""#), ["delta", "beta"]);
    assert_eq!(filter(&repo, r#"name >= "b" and name < "e""#), ["delta", "beta"]);
    assert_eq!(filter(&repo, r#"name is startingwith("g") or "lph" in name"#), ["gamma", "alpha"]);
    let runs = repo.list_json();
    let beta_started = runs[2]["started"].as_str().unwrap();
    assert_eq!(
        filter(&repo, &format!(r#"started >= "{beta_started}""#)),
        ["delta", "gamma", "beta"]
    );
    assert_eq!(filter(&repo, r#"started >= "2000-01-01" and started < "2000-01-02""#), [""; 0]);
    let head = repo.git(&["rev-parse", "HEAD"]);
    assert_eq!(
        filter(&repo, &format!(r#"code_commit == "{}" and not dirty"#, head.trim())).len(),
        4
    );
}

#[test]
fn missing_metrics_never_match_and_never_fail() {
    let repo = four_runs();
    assert_eq!(filter(&repo, "metrics.loss < 1"), ["delta", "beta", "alpha"]);
    assert_eq!(filter(&repo, "metrics.loss >= 0"), ["delta", "beta", "alpha"]);
    assert_eq!(filter(&repo, "not metrics.loss < 1"), [""; 0]);
    assert_eq!(filter(&repo, r#"metrics.loss > 0.4 or "baseline" in tags"#), ["gamma", "alpha"]);
    assert_eq!(filter(&repo, "metrics.loss is not defined"), ["gamma"]);
    assert_eq!(filter(&repo, "metrics.nope.deeper > 0"), [""; 0]);
    assert_eq!(filter(&repo, "metrics.loss.deeper < 1"), [""; 0]);
    let out = repo.exp(&["list", "--filter", "metrics.loss < 1"]);
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

#[test]
fn nested_config_and_metric_names_with_dots_and_slashes() {
    let repo = four_runs();
    assert_eq!(filter(&repo, "config.model.depth == 4"), ["gamma", "beta"]);
    assert_eq!(filter(&repo, r#"params["model.depth"] > 2"#), ["delta", "gamma", "beta"]);
    assert_eq!(filter(&repo, r#"metrics["val/loss"] < 0.5"#), ["beta"]);
    assert_eq!(filter(&repo, "metrics.train.loss == 0.7"), ["alpha"]);
    assert_eq!(filter(&repo, r#"metrics["train.loss"] == 0.7"#), ["alpha"]);
    assert_eq!(filter(&repo, "min.acc == 0.8 and max.acc == 0.8"), ["alpha"]);
}

#[test]
fn sort_descending_puts_missing_values_last_and_ties_keep_newest_first() {
    let repo = four_runs();
    assert_eq!(names(&repo, &["--sort", "-metrics.loss"]), ["alpha", "beta", "delta", "gamma"]);
    assert_eq!(names(&repo, &["--sort=metrics.loss"]), ["delta", "beta", "alpha", "gamma"]);
    assert_eq!(names(&repo, &["--sort", "config.lr"]), ["gamma", "delta", "beta", "alpha"]);
    assert_eq!(names(&repo, &["--sort", "-config.lr,name"]), ["alpha", "beta", "delta", "gamma"]);
    assert_eq!(
        names(&repo, &["--sort", "-params.lr", "--sort", "-name"]),
        ["alpha", "delta", "beta", "gamma"]
    );
    assert_eq!(
        names(&repo, &["--sort", r#"metrics["val/loss"]"#]),
        ["beta", "alpha", "delta", "gamma"]
    );
    assert_eq!(names(&repo, &["--sort", "name"]), ["alpha", "beta", "delta", "gamma"]);
    assert_eq!(names(&repo, &["--sort", "-started"]), ["delta", "gamma", "beta", "alpha"]);
}

#[test]
fn limit_applies_after_filter_and_sort() {
    let repo = four_runs();
    assert_eq!(names(&repo, &["--sort", "-metrics.acc", "-n", "2"]), ["delta", "beta"]);
    assert_eq!(names(&repo, &["--sort", "metrics.acc", "--limit", "1"]), ["alpha"]);
    assert_eq!(
        names(&repo, &["--filter", r#""baseline" in tags"#, "--sort", "-metrics.acc", "-n", "1"]),
        ["gamma"]
    );
    assert_eq!(names(&repo, &["--limit", "3"]), ["delta", "gamma", "beta"]);
}

#[test]
fn columns_choose_the_cells() {
    let repo = four_runs();
    let cols = "name,status,params.lr,config.model.depth,metrics.acc,metrics.val/loss,tags";
    let csv = repo.exp_ok(&["list", "--format", "csv", "--sort", "name", "--columns", cols]);
    assert_eq!(
        csv,
        "name,status,params.lr,config.model.depth,metrics.acc,metrics.val/loss,tags\n\
         alpha,finished,0.1,2,0.8,0.6,baseline\n\
         beta,finished,0.01,4,0.95,0.4,\n\
         delta,failed,0.01,8,0.97,,\n\
         gamma,finished,0.001,4,0.92,,baseline\n"
    );
    let table = repo.exp_ok(&[
        "list",
        "--columns",
        "name,min.acc,max.loss",
        "--filter",
        "metrics.loss < 0.4",
    ]);
    assert_eq!(table, "name   min.acc  max.loss\ndelta  0.97     0.2\nbeta   0.95     0.3\n");
    let md = repo.exp_ok(&["list", "--format", "markdown", "--columns", "name,id", "-n", "1"]);
    let id = repo.list_json()[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(md, format!("| name | id |\n| --- | --- |\n| delta | {id} |\n"));
    // JSON keeps its shape; --columns does not change it.
    let json = repo.exp_ok(&["list", "--json", "--columns", "name", "-n", "1"]);
    let runs: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    assert!(runs[0].get("summary").is_some() && runs[0].get("config").is_some());
}

#[test]
fn a_bad_expression_is_a_usage_error_that_points_at_the_problem() {
    let repo = four_runs();
    let out = repo.exp(&["list", "--filter", "metrics.acc >> 0.9"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert_eq!(
        stderr(&out),
        "error: bad --filter expression: unexpected `>` at column 14\n\
         \x20 metrics.acc >> 0.9\n\
         \x20              ^\n\
         hint: variables are params, config, metrics, min, max, status, tags, name, id, started, \
         ended, duration, code_commit, dirty, commit, note, host, user, group, job_type\n\
         hint: for example --filter 'metrics.acc > 0.9 and config.lr <= 0.01 and status == \
         \"finished\"' --sort -metrics.acc; see docs/commands.md (git exp list)\n"
    );
    let out = repo.exp(&["list", "--filter", "metric.acc > 0.9"]);
    assert_eq!(out.status.code(), Some(2));
    let first = stderr(&out).lines().take(3).collect::<Vec<_>>().join("\n");
    assert_eq!(
        first,
        "error: bad --filter expression: unknown name `metric` at column 1\n  metric.acc > 0.9\n  ^"
    );
    let out = repo.exp(&["list", "--sort", "-metrics.acc,metrics["]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).starts_with("error: bad --sort key: "), "{}", stderr(&out));
}

#[test]
fn an_unknown_column_is_a_usage_error() {
    let repo = four_runs();
    let out = repo.exp(&["list", "--columns", "name,colour"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: unknown --columns entry 'colour'\n\
         hint: columns are name, status, age, duration, code, tags, started, ended, id, commit, \
         host, user, note, group, job_type, params.KEY, config.KEY, metrics.NAME, min.NAME, max.NAME\n"
    );
}

#[test]
fn a_run_the_expression_fails_on_is_left_out_with_one_warning() {
    let repo = four_runs();
    let out = repo.exp(&["list", "--json", "--filter", "name + 1 > 0 or metrics.acc > 0.96"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let runs: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(runs.is_empty(), "{runs:?}");
    assert_eq!(
        stderr(&out),
        "warning: --filter failed on 4 run(s), which are left out; first on run delta: \
         invalid operation: tried to use + operator on unsupported types string and number\n"
    );
}

#[test]
fn running_runs_take_part() {
    let repo = four_runs();
    let mut owner = Command::new("sleep").arg("300").stdin(Stdio::null()).spawn().unwrap();
    let pid = owner.id().to_string();
    let started = repo.exp_ok(&[
        "start", "--format", "json", "--pid", &pid, "-n", "live", "-p", "lr=0.5", "--", "x",
    ]);
    let started: serde_json::Value = serde_json::from_str(&started).unwrap();
    let events = started["events"].as_str().unwrap();
    std::fs::write(events, "{\"acc\": 0.99, \"loss\": 0.9}\n").unwrap();
    let live = filter(&repo, r#"status == "running" and metrics.acc > 0.98"#);
    let sorted = names(&repo, &["--sort", "-metrics.loss", "-n", "2"]);
    let _ = owner.kill();
    let _ = owner.wait();
    assert_eq!(live, ["live"]);
    assert_eq!(sorted, ["live", "alpha"]);
}
