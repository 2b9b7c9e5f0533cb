//! `git exp compare`: named runs and pull-request mode on real branches
//! (including a rebased one), exact deltas, key order, and the Markdown a PR
//! comment gets, parsed by a CommonMark/GFM parser.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use crate::common::TestRepo;

/// Runs that log `loss` (the given curve) and `acc`, with params.
fn run(repo: &TestRepo, name: &str, params: &[&str], losses: &[f64], acc: f64) {
    let mut lines = String::new();
    for l in losses {
        lines.push_str(&format!("{{\"loss\": {l}}}\\n"));
    }
    lines.push_str(&format!("{{\"acc\": {acc}}}\\n"));
    let script = format!("printf '{lines}' >> \"$GIT_EXP_EVENTS\"");
    let mut args = vec!["run", "-q", "-n", name];
    for p in params {
        args.extend(["-p", p]);
    }
    args.extend(["--", "sh", "-c", &script]);
    repo.exp_ok(&args);
}

fn commit(repo: &TestRepo, file: &str, content: &str, msg: &str) {
    repo.write(file, content);
    repo.git(&["add", file]);
    repo.git(&["commit", "-q", "-m", msg]);
}

/// main: A (runs base-1, base-2); feature: A -> B (runs head-1, head-2).
fn two_branches() -> TestRepo {
    let repo = TestRepo::new();
    commit(&repo, "train.py", "lr = 0.1\n", "A");
    run(&repo, "base-1", &["lr=0.1", "opt=sgd"], &[1.0, 0.7, 0.5], 0.8);
    run(&repo, "base-2", &["lr=0.1", "opt=sgd", "seed=2"], &[1.0, 0.8, 0.6], 0.7);
    repo.git(&["checkout", "-q", "-b", "feature"]);
    commit(&repo, "train.py", "lr = 0.05\nwarmup = 1\n", "B");
    run(&repo, "head-1", &["lr=0.05", "opt=adam"], &[0.9, 0.6, 0.4], 0.85);
    run(&repo, "head-2", &["lr=0.05", "opt=adam", "seed=2"], &[0.9, 0.5, 0.45], 0.9);
    repo
}

fn json(repo: &TestRepo, args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&repo.exp_ok(args)).expect("compare prints JSON")
}

fn names(v: &serde_json::Value) -> Vec<String> {
    v["runs"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_owned()).collect()
}

fn metric<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v["metrics"].as_array().unwrap().iter().find(|m| m["name"] == name).unwrap()
}

fn close(a: &serde_json::Value, b: f64) {
    let a = a.as_f64().unwrap_or_else(|| panic!("{a} is not a number"));
    assert!((a - b).abs() < 1e-9, "{a} != {b}");
}

#[test]
fn named_runs_deltas_directions_and_key_order() {
    let repo = two_branches();
    let c = json(&repo, &["compare", "base-1", "head-1", "base-2", "--format", "json"]);
    assert_eq!(names(&c), ["base-1", "head-1", "base-2"]);
    let loss = metric(&c, "loss");
    assert_eq!(loss["direction"], "min");
    assert_eq!(loss["best_run"], 1);
    let head = &loss["values"][1];
    close(&head["last"], 0.4);
    close(&head["best"], 0.4);
    close(&head["delta_best"]["abs"], -0.1);
    close(&head["delta_best"]["rel"], -0.2);
    assert_eq!(head["delta_best"]["better"], true);
    assert!(loss["values"][0]["delta_best"].is_null());
    assert_eq!(loss["values"][0]["sparkline"].as_str().unwrap().chars().count(), 3);
    let acc = metric(&c, "acc");
    assert_eq!(acc["direction"], "max");
    assert_eq!(acc["best_run"], 1);
    close(&acc["values"][2]["delta_last"]["abs"], -0.1);
    assert_eq!(acc["values"][2]["delta_last"]["better"], false);
    // Keys that differ first (in key order), then equal ones; a missing key differs.
    let keys: Vec<(String, bool)> = c["config"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["key"].as_str().unwrap().to_owned(), r["differs"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        keys,
        [("lr".to_owned(), true), ("opt".to_owned(), true), ("seed".to_owned(), true)]
    );
    assert_eq!(c["config"][2]["values"], serde_json::json!([null, null, 2]));
    // The code: head-1 changed train.py from base-1's code.
    let stat = &c["code"][1]["diffstat"];
    assert_eq!(stat["files_changed"], 1);
    assert_eq!(stat["insertions"], 2);
    assert_eq!(stat["deletions"], 1);
    assert!(c["code"][0]["diffstat"].is_null());
    // --code prints the full diff of each run's code against the baseline's.
    let out = repo.run(&["compare", "base-1", "head-1", "--code", "--format", "csv"]);
    insta::assert_snapshot!(out, @r#"
    section,key,base-1,head-1
    metric,acc.last,0.8,0.85
    metric,acc.best,0.8,0.85
    metric,loss.last,0.5,0.4
    metric,loss.best,0.5,0.4
    config,lr,0.1,0.05
    config,opt,sgd,adam
    code,commit,[COMMIT],[COMMIT]

    # code of head-1 against base-1
    diff --git a/train.py b/train.py
    index [HASH]..[HASH] 100644
    --- a/train.py
    +++ b/train.py
    @@ -1 +1,2 @@
    -lr = 0.1
    +lr = 0.05
    +warmup = 1
    "#);
    // HTML: the tables, then one SVG chart per metric with a line (or a dot) per run.
    let html = repo.exp_ok(&["compare", "base-1", "head-1", "--format", "html"]);
    assert!(html.starts_with("<!doctype html>") && html.contains("Content-Security-Policy"));
    assert_eq!(html.matches("<svg ").count(), 2, "acc and loss");
    assert_eq!(html.matches("<polyline").count(), 2, "loss has 3 points per run");
    assert_eq!(html.matches("<circle").count(), 2, "acc has 1 point per run");
    assert!(!html.contains("<script"));
    // --direction overrides the name.
    let c = json(&repo, &["compare", "base-1", "head-1", "--direction", "loss=max", "--json"]);
    assert_eq!(metric(&c, "loss")["best_run"], 0);
    // Same run twice: nothing differs.
    let c = json(&repo, &["compare", "base-1", "base-1", "--json"]);
    assert!(c["config"].as_array().unwrap().iter().all(|r| r["differs"] == false));
}

#[test]
fn pull_request_mode_picks_the_best_run_of_each_side() {
    let repo = two_branches();
    let c = json(
        &repo,
        &["compare", "--base", "main", "--head", "feature", "--metric", "loss", "--json"],
    );
    assert_eq!(names(&c), ["base-1", "head-1"]);
    let sel = &c["selection"];
    assert_eq!(sel["base"]["found_by"], "merge-base");
    assert_eq!(sel["base"]["runs"], serde_json::json!(["base-2", "base-1"]));
    assert_eq!(sel["head"]["found_by"], "range");
    assert_eq!(sel["head"]["runs"], serde_json::json!(["head-2", "head-1"]));
    assert_eq!(sel["direction"], "min");
    // By accuracy (maximized) head-2 wins; --all takes every run, base side first.
    let c = json(
        &repo,
        &["compare", "--base", "main", "--head", "feature", "--metric", "acc", "--json"],
    );
    assert_eq!(names(&c), ["base-1", "head-2"]);
    let c = json(&repo, &["compare", "--base", "main", "--head", "feature", "--all", "--json"]);
    assert_eq!(names(&c), ["base-2", "base-1", "head-2", "head-1"]);
    let sides: Vec<&str> =
        c["runs"].as_array().unwrap().iter().map(|r| r["side"].as_str().unwrap()).collect();
    assert_eq!(sides, ["base", "base", "head", "head"]);

    // Main moves on and gets its own run: that is the base side now.
    repo.git(&["checkout", "-q", "main"]);
    commit(&repo, "data.py", "rows = 10\n", "C");
    run(&repo, "main-new", &["lr=0.1", "opt=sgd"], &[0.8, 0.55], 0.82);
    let c = json(
        &repo,
        &["compare", "--base", "main", "--head", "feature", "--metric", "loss", "--json"],
    );
    assert_eq!(names(&c), ["main-new", "head-1"]);
    assert_eq!(c["selection"]["base"]["found_by"], "range");

    // The branch is rebased onto the new main: its runs' code commits are gone from
    // history, and are found again by their patch.
    repo.git(&["checkout", "-q", "feature"]);
    repo.git(&["rebase", "-q", "main"]);
    let c = json(
        &repo,
        &["compare", "--base", "main", "--head", "feature", "--metric", "loss", "--json"],
    );
    assert_eq!(names(&c), ["main-new", "head-1"]);
    assert_eq!(c["selection"]["head"]["found_by"], "rebased");
    assert_eq!(c["selection"]["head"]["runs"], serde_json::json!(["head-2", "head-1"]));
}

#[test]
fn markdown_is_a_gfm_table_with_the_best_value_in_bold() {
    let repo = two_branches();
    let md = repo.exp_ok(&[
        "compare", "--base", "main", "--head", "feature", "--metric", "loss", "--format",
        "markdown",
    ]);
    insta::assert_snapshot!(crate::common::output::filter(&repo, &md), @r#"
    <!-- git-exp compare -->
    ### Experiments: `base-1` vs `head-1`

    **Base** main ([HASH]): `base-1` of 2 run(s) (lowest loss), from the merge base  
    **Head** feature ([HASH]): `head-1` of 2 run(s) (lowest loss)  

    | metric | `base-1` | `head-1` |
    |---|---|---|
    | acc ↑ | 0.8 `▁` | **0.85** +0.05 (+6.2%) ▲ `█` |
    | loss ↓ | 0.5 `█▄▂` | **0.4** -0.1 (-20.0%) ▼ `▇▃▁` |

    <details><summary>Config: 2 key(s) differ</summary>

    | key | `base-1` | `head-1` |
    |---|---|---|
    | lr | 0.1 | 0.05 |
    | opt | sgd | adam |

    </details>

    <details><summary>Code changes from <code>base-1</code>: <code>head-1</code>: 1 file(s), +2 −1</summary>

    `head-1`:

    - `train.py` +2 −1

    </details>

    <sub>↓ lower is better, ↑ higher is better; best values in bold; deltas against `base-1`.</sub>
    "#);
    let tables = parse_tables(&md);
    assert_eq!(tables.len(), 2, "metrics and config tables:\n{md}");
    let metrics = &tables[0];
    assert_eq!(metrics[0], ["metric", "base-1", "head-1"]);
    assert_eq!(metrics[1][0], "acc ↑");
    assert_eq!(metrics[2][0], "loss ↓");
    // Cells: value (bold = best), delta, sparkline.
    assert!(metrics[2][1].starts_with("0.5 "), "{:?}", metrics[2]);
    assert!(metrics[2][2].starts_with("**0.4** -0.1 (-20.0%) ▼"), "{:?}", metrics[2]);
    assert!(metrics[1][2].starts_with("**0.85** +0.05 (+6.2%) ▲"), "{:?}", metrics[1]);
    let config = &tables[1];
    assert_eq!(config[0], ["key", "base-1", "head-1"]);
    assert_eq!(config[1], ["lr", "0.1", "0.05"]);
    assert_eq!(config[2], ["opt", "sgd", "adam"]);
}

#[test]
fn markup_in_names_and_values_is_escaped() {
    let repo = TestRepo::new();
    run(&repo, "x1", &["note=<script>alert(1)</script>", "p=a|b"], &[1.0], 0.5);
    run(&repo, "x2", &["note=*bold* @someone", "p=c"], &[2.0], 0.5);
    let md = repo.exp_ok(&["compare", "x1", "x2", "--format", "markdown"]);
    assert!(!md.contains("<script>"), "{md}");
    let tables = parse_tables(&md);
    let config = &tables[1];
    assert_eq!(config[1], ["note", "<script>alert(1)</script>", "*bold* @\u{2060}someone"]);
    assert_eq!(config[2], ["p", "a|b", "c"]);
    let html = repo.exp_ok(&["compare", "x1", "x2", "--format", "html"]);
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !html.contains("<script>"));
}

#[test]
fn errors_say_what_to_do() {
    let repo = two_branches();
    insta::assert_snapshot!(repo.run(&["compare", "base-1"]), @r#"
    ------- stderr -------
    error: compare needs at least two runs
    hint: name them (`git exp compare lr-0.1 lr-0.01`), or pick them from a change with --base REV --head REV
    [exit status: 2]
    "#);
    insta::assert_snapshot!(repo.run(&["compare", "--base", "feature", "--head", "feature"]), @r#"
    ------- stderr -------
    error: no runs on the head side (commits in feature..feature)
    hint: run experiments on the branch, or fetch them: git fetch origin '+refs/experiments/*:refs/experiments/*'
    [exit status: 1]
    "#);
    insta::assert_snapshot!(repo.run(&["compare", "--base", "nope", "--head", "feature"]), @r#"
    ------- stderr -------
    error: unknown revision 'nope'
    hint: give a branch, tag or commit; fetch it first if it is remote (`git fetch origin`)
    [exit status: 1]
    "#);
    let out = repo.run(&["compare", "base-1", "head-1", "--direction", "loss=up"]);
    insta::assert_snapshot!(out, @r#"
    ------- stderr -------
    error: bad --direction 'loss=up'
    hint: write NAME=min or NAME=max, e.g. --direction val/score=max
    [exit status: 2]
    "#);
    let out = repo.run(&["compare", "--base", "main", "--head", "feature", "--metric", "bleu"]);
    insta::assert_snapshot!(out, @r#"
    ------- stderr -------
    error: no run on the base side has the metric 'bleu'
    hint: `git exp list` shows each run's metrics; pick one with --metric
    [exit status: 1]
    "#);
}

/// The tables of a Markdown document as rows of cell texts (inline markup kept as
/// `**x**`, code spans as their text).
fn parse_tables(md: &str) -> Vec<Vec<Vec<String>>> {
    let mut tables = Vec::new();
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut cell: Option<String> = None;
    for event in Parser::new_ext(md, Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::Table(_)) => rows.clear(),
            Event::Start(Tag::TableHead | Tag::TableRow) => rows.push(Vec::new()),
            Event::Start(Tag::TableCell) => cell = Some(String::new()),
            Event::End(TagEnd::TableCell) => rows.last_mut().unwrap().push(cell.take().unwrap()),
            Event::End(TagEnd::Table) => tables.push(std::mem::take(&mut rows)),
            Event::Start(Tag::Strong) | Event::End(TagEnd::Strong) => {
                if let Some(c) = cell.as_mut() {
                    c.push_str("**");
                }
            }
            Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t) => {
                if let Some(c) = cell.as_mut() {
                    c.push_str(&t);
                }
            }
            _ => {}
        }
    }
    tables
}
