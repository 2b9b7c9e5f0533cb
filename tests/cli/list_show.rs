//! `git exp list` and `git exp show`: formats, JSON fields, run specs.

use crate::common::TestRepo;

fn three_runs() -> TestRepo {
    let repo = TestRepo::new();
    for (name, lr, loss) in
        [("alpha", "0.1", "0.5"), ("beta", "0.2", "0.25"), ("gamma", "0.3", "0.125")]
    {
        let body = format!(r#"printf '{{"loss": 1}}\n{{"loss": {loss}}}\n' >> "$GIT_EXP_EVENTS""#);
        repo.exp_ok(&[
            "run",
            "-q",
            "-n",
            name,
            "-p",
            &format!("lr={lr}"),
            "-p",
            "seed=1",
            "--",
            "sh",
            "-c",
            &body,
        ]);
    }
    repo
}

#[test]
fn list_json_has_the_documented_fields_newest_first() {
    let repo = three_runs();
    let runs = repo.list_json();
    let names: Vec<&str> = runs.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["gamma", "beta", "alpha"]);
    let g = &runs[0];
    for key in [
        "name",
        "id",
        "status",
        "commit",
        "code_commit",
        "started",
        "duration_s",
        "config",
        "summary",
    ] {
        assert!(g.get(key).is_some(), "missing {key} in {g}");
    }
    assert_eq!(
        g["commit"].as_str().unwrap(),
        repo.git(&["rev-parse", "refs/experiments/gamma"]).trim()
    );
    assert_eq!(g["code_commit"].as_str().unwrap(), repo.git(&["rev-parse", "HEAD"]).trim());
    assert_eq!(g["config"]["lr"], serde_json::json!(0.3));
    let loss = &g["summary"]["loss"];
    assert_eq!(loss["last"], serde_json::json!(0.125));
    assert_eq!(loss["min"], serde_json::json!(0.125));
    assert_eq!(loss["max"], serde_json::json!(1.0));
    assert_eq!(loss["count"], serde_json::json!(2));
    assert_eq!(g["id"].as_str().unwrap().len(), 32);
}

#[test]
fn list_table_csv_and_markdown() {
    let repo = three_runs();
    // Only the differing param gets a column; newest first.
    insta::assert_snapshot!(repo.run(&["list"]), @r#"
    name   status    age       duration  code     lr   loss
    gamma  finished  just now  [DURATION]       [HASH]  0.3  0.125
    beta   finished  just now  [DURATION]       [HASH]  0.2  0.25
    alpha  finished  just now  [DURATION]       [HASH]  0.1  0.5
    "#);
    let csv = repo.run(&["ls", "--format", "csv"]);
    insta::assert_snapshot!(csv, @r#"
    name,status,age,duration,code,lr,seed,loss
    gamma,finished,2026-01-01T00:00:03.000Z,0,[HASH],0.3,1,0.125
    beta,finished,2026-01-01T00:00:02.000Z,0,[HASH],0.2,1,0.25
    alpha,finished,2026-01-01T00:00:01.000Z,0,[HASH],0.1,1,0.5
    "#);
    let mut reader = csv::Reader::from_reader(csv.stdout.as_bytes());
    assert_eq!(reader.records().map(Result::unwrap).count(), 3);
    insta::assert_snapshot!(repo.run(&["list", "--format", "markdown"]), @r#"
    | name | status | age | duration | code | lr | seed | loss |
    | --- | --- | --- | --- | --- | --- | --- | --- |
    | gamma | finished | just now | [DURATION] | [HASH] | 0.3 | 1 | 0.125 |
    | beta | finished | just now | [DURATION] | [HASH] | 0.2 | 1 | 0.25 |
    | alpha | finished | just now | [DURATION] | [HASH] | 0.1 | 1 | 0.5 |
    "#);
    let limited = repo.exp_ok(&["list", "-n", "1", "--json"]);
    assert_eq!(serde_json::from_str::<Vec<serde_json::Value>>(&limited).unwrap().len(), 1);
}

#[test]
fn show_resolves_every_kind_of_spec() {
    let repo = three_runs();
    let name_of = |spec: &str| -> String {
        let v: serde_json::Value =
            serde_json::from_str(&repo.exp_ok(&["show", spec, "--format", "json"])).unwrap();
        v["name"].as_str().unwrap().to_owned()
    };
    assert_eq!(name_of("@"), "gamma");
    assert_eq!(name_of("@~1"), "beta");
    assert_eq!(name_of("@~2"), "alpha");
    assert_eq!(name_of("alp"), "alpha");
    assert_eq!(name_of("refs/experiments/beta"), "beta");
    let commit = repo.git(&["rev-parse", "refs/experiments/beta"]);
    assert_eq!(name_of(commit.trim()), "beta");
    assert_eq!(name_of(&commit[..10]), "beta");
    let runs = repo.list_json();
    let id = runs[2]["id"].as_str().unwrap();
    assert_eq!(name_of(&id[..32]), "alpha");
    insta::assert_snapshot!(repo.run(&["show", "@~7"]), @r#"
    ------- stderr -------
    error: no run matches '@~7'
    hint: `git exp list` shows the runs; fetch others' runs with `git exp pull`
    [exit status: 1]
    "#);
}

#[test]
fn show_json_has_everything_and_text_reads_well() {
    let repo = three_runs();
    let v: serde_json::Value =
        serde_json::from_str(&repo.exp_ok(&["show", "beta", "--json"])).unwrap();
    for key in
        ["env", "command", "tags", "note", "exit_code", "log_tail", "host", "config", "summary"]
    {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["exit_code"], serde_json::json!(0));
    assert_eq!(v["command"][0], "sh");
    insta::assert_snapshot!(repo.run(&["show", "beta"]), @r#"
    run beta
    status:   finished (exit 0)
    id:       [RUN_ID]
    commit:   [COMMIT]
    code:     [COMMIT]
    started:  2026-01-01T00:00:02.000Z ([DURATION])
    command:  sh -c printf '{"loss": 1}\n{"loss": 0.25}\n' >> "$GIT_EXP_EVENTS"
    where:    tester@[HOST]:.

    config
      lr = 0.2
      seed = 1

    summary
      loss  0.25  (min 0.25, max 1, 2 points, last step 1)

    environment
      [MACHINE]

    git show [HASH]:metrics.csv  # every point
    "#);
}

#[test]
fn ambiguous_prefix_is_an_error_listing_candidates() {
    let repo = TestRepo::new();
    repo.exp_ok(&["run", "-q", "-n", "lr-1", "--", "true"]);
    repo.exp_ok(&["run", "-q", "-n", "lr-2", "--", "true"]);
    insta::assert_snapshot!(repo.run(&["show", "lr"]), @r#"
    ------- stderr -------
    error: 'lr' is ambiguous: it matches lr-2, lr-1
    hint: type more of the name or id, or name the run by its ref: refs/experiments/NAME
    [exit status: 1]
    "#);
}

#[test]
fn grouped_names_list_and_resolve() {
    let repo = TestRepo::new();
    repo.exp_ok(&["run", "-q", "-n", "sweep/lr-0.1", "--", "true"]);
    repo.exp_ok(&["run", "-q", "-n", "sweep/lr-0.2", "--", "true"]);
    let names: Vec<String> =
        repo.list_json().iter().map(|r| r["name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names, ["sweep/lr-0.2", "sweep/lr-0.1"]);
    // A run cannot take a group's name, nor a group a run's: refused before the command runs.
    let marker = repo.tmp.path().join("ran");
    let touch = ["touch", marker.to_str().unwrap()];
    let out = repo.run(&[&["run", "-n", "sweep", "--"][..], &touch[..]].concat());
    insta::assert_snapshot!(out, @r#"
    ------- stderr -------
    error: invalid run name 'sweep': a run group and a run cannot share a name (one is a prefix of the other)
    hint: names use letters, digits, '.', '_', '-', and '/' to group runs
    [exit status: 125]
    "#);
    let out = repo.run(&[&["run", "-n", "sweep/lr-0.1/deeper", "--"][..], &touch[..]].concat());
    insta::assert_snapshot!(out, @r#"
    ------- stderr -------
    error: invalid run name 'sweep/lr-0.1/deeper': a run group and a run cannot share a name (one is a prefix of the other)
    hint: names use letters, digits, '.', '_', '-', and '/' to group runs
    [exit status: 125]
    "#);
    assert!(!marker.exists());
    assert!(repo.git(&["for-each-ref", "refs/experiments/"]).lines().count() == 2);
}

#[test]
fn escape_sequences_from_a_run_never_reach_the_terminal() {
    let repo = TestRepo::new();
    let body = r#"printf '\033]0;pwned\007\033[2J{"_note": "x"}\n'; printf '{"_note": "\\u001b[31mred", "_tag": "\\u001b[5mblink"}\n' >> "$GIT_EXP_EVENTS""#;
    repo.exp_ok(&["run", "-q", "-n", "esc", "--", "sh", "-c", body]);
    for args in [&["show", "esc"][..], &["list"][..]] {
        let out = repo.exp_ok(args);
        assert!(!out.contains('\x1b') && !out.contains('\x07'), "{args:?}: {out:?}");
    }
    // JSON keeps the data as it was logged (escaped by JSON itself).
    let json = repo.exp_ok(&["show", "esc", "--json"]);
    assert!(json.contains("\\u001b[31mred"), "{json}");
}

/// What `git exp ARGS` shows on a terminal `cols` columns wide (a pseudo-terminal
/// from script(1)), as lines.
fn on_terminal(repo: &TestRepo, cols: u16, args: &str) -> Vec<String> {
    let cmd = format!("{} {args}", crate::common::git_exp_bin().display());
    let mut script = std::process::Command::new("script");
    repo.env(&mut script);
    let out = script
        .args(["-qec", &cmd, "/dev/null"])
        .env("COLUMNS", cols.to_string())
        // The table as the terminal gets it, not through the default pager.
        .env("GIT_PAGER", "cat")
        .current_dir(&repo.root)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("script(1) runs");
    assert!(out.status.success(), "{args}: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim_end_matches('\r').to_owned())
        .collect()
}

// See: issue 11 (a table wrapped every cell character by character at 80 columns).
#[test]
fn list_fits_the_terminal_without_breaking_a_value() {
    let repo = TestRepo::new();
    for (name, lr) in [("baseline-with-long-name", "0.001"), ("second", "0.0125")] {
        repo.exp_ok(&[
            "run",
            "-q",
            "-n",
            name,
            "-p",
            &format!("lr={lr}"),
            "-p",
            "optimizer=adamw-with-warmup",
            "-p",
            "batch_size=64",
            "-p",
            &format!("scheduler=cosine-{name}"),
            "-p",
            "seed=1234",
            "--",
            "true",
        ]);
    }
    for cols in [80u16, 100] {
        let lines = on_terminal(&repo, cols, "list");
        let table: Vec<&String> = lines.iter().filter(|l| !l.starts_with("hint: ")).collect();
        assert_eq!(table.len(), 3, "a header and one line per run, nothing wrapped:\n{lines:#?}");
        for l in &table {
            assert!(l.chars().count() <= usize::from(cols), "{cols}: {l:?}");
        }
        assert!(
            table[1].starts_with("second ") && table[2].starts_with("baseline-with-long-name ")
        );
        let hint = lines.iter().find(|l| l.starts_with("hint: ")).expect("says what was left out");
        assert!(hint.contains("left out") && hint.contains("--columns"), "{hint}");
    }
    // Wide enough, everything is there and nothing is cut.
    let lines = on_terminal(&repo, 250, "list");
    assert!(lines.iter().all(|l| !l.starts_with("hint: ")), "{lines:#?}");
    assert!(lines[1].contains("cosine-second") && !lines[1].contains('…'), "{lines:#?}");
    // A value too long for any terminal is cut visibly, not wrapped.
    repo.exp_ok(&[
        "run",
        "-q",
        "-n",
        "long",
        "-p",
        &format!("note={}", "x".repeat(5000)),
        "--",
        "true",
    ]);
    let lines = on_terminal(&repo, 100, "list --columns name,params.note");
    assert_eq!(lines.len(), 4, "{lines:#?}");
    assert!(lines[1].starts_with("long") && lines[1].ends_with('…'), "{lines:#?}");
}

// See: issue 11. A narrow terminal keeps what tells runs apart: metrics and the
// params that differ go before duration, age and code.
#[test]
fn a_narrow_terminal_keeps_metrics_and_differing_params_first() {
    let repo = TestRepo::new();
    for opt in ["sgd", "adamw"] {
        let events =
            format!("echo '{{\"acc\": 0.{}, \"loss\": 0.25}}' >> \"$GIT_EXP_EVENTS\"", opt.len());
        repo.exp_ok(&[
            "run",
            "-q",
            "-n",
            &format!("sweep/{opt}-bs64"),
            "-p",
            "lr=0.1",
            "-p",
            "epochs=30",
            "-p",
            "batch_size=64",
            "-p",
            &format!("optimizer={opt}"),
            "-p",
            "seed=1",
            "--",
            "sh",
            "-c",
            &events,
        ]);
    }
    let lines = on_terminal(&repo, 80, "list");
    let header = &lines[0];
    for wanted in ["name", "status", "optimizer", "acc", "loss"] {
        assert!(header.split_whitespace().any(|h| h == wanted), "{wanted} in {header:?}");
    }
    assert!(lines.iter().all(|l| l.chars().count() <= 80), "{lines:#?}");
}
