//! `git exp run`: the run commit, its files, the code tree, params, the child's
//! environment, events, output capture and exit codes.

use std::time::Duration;

use crate::common::{stderr, stdout, wait_deadline, TestRepo};

const LOG3: &str = r#"printf '{"loss": 1.5, "acc": 0.5}\n{"loss": 1.0, "acc": 0.75}\n{"loss": 0.25, "acc": 1, "_step": 10}\n' >> "$GIT_EXP_EVENTS""#;

#[test]
fn run_commits_metrics_readable_with_git() {
    let repo = TestRepo::new();
    let out = repo.exp(&["run", "-n", "first", "--", "sh", "-c", LOG3]);
    assert!(out.status.success(), "{}", stderr(&out));
    let csv = repo.show_file("first", "metrics.csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "step,name,value,time");
    let rows: Vec<(String, String, String)> = lines[1..]
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_owned(), f[1].to_owned(), f[2].to_owned())
        })
        .collect();
    let expect = [
        ("0", "loss", "1.5"),
        ("0", "acc", "0.5"),
        ("1", "loss", "1"),
        ("1", "acc", "0.75"),
        ("10", "loss", "0.25"),
        ("10", "acc", "1"),
    ];
    let expect: Vec<(String, String, String)> =
        expect.iter().map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())).collect();
    assert_eq!(rows, expect);
    // Every file of format 1 is there, and git finds nothing wrong.
    let tree = repo.git(&["ls-tree", "--name-only", "refs/experiments/first"]);
    for f in
        ["code", "config.toml", "env.toml", "exp.toml", "metrics.csv", "output.log", "summary.toml"]
    {
        assert!(tree.lines().any(|l| l == f), "{f} missing from {tree}");
    }
    repo.fsck();
    // The parent is the code commit; the message carries the trailers.
    let head = repo.git(&["rev-parse", "HEAD"]);
    let parent = repo.git(&["rev-parse", "refs/experiments/first^"]);
    assert_eq!(head, parent);
    let msg = repo.git(&["log", "-1", "--format=%B", "refs/experiments/first"]);
    assert!(msg.starts_with("exp: first (finished)"), "{msg}");
    assert!(msg.contains("Exp-Status: finished"), "{msg}");
    let summary = repo.show_file("first", "summary.toml");
    let summary: toml::Table = toml::from_str(&summary).unwrap();
    let loss = &summary["metrics"]["loss"];
    assert_eq!(loss["last"].as_float(), Some(0.25));
    assert_eq!(loss["min"].as_float(), Some(0.25));
    assert_eq!(loss["max"].as_float(), Some(1.5));
    assert_eq!(loss["count"].as_integer(), Some(3));
    assert_eq!(loss["last_step"].as_integer(), Some(10));
    // A reflog is written for the run ref.
    let reflog = repo.git(&["reflog", "show", "refs/experiments/first"]);
    assert!(reflog.contains("git-exp: run first"), "{reflog}");
}

#[test]
fn exit_code_and_status_follow_the_command() {
    let repo = TestRepo::new();
    let out = repo.exp(&["run", "-n", "bad", "--", "sh", "-c", "echo oops >&2; exit 3"]);
    assert_eq!(out.status.code(), Some(3));
    let exp: toml::Table = toml::from_str(&repo.show_file("bad", "exp.toml")).unwrap();
    assert_eq!(exp["status"].as_str(), Some("failed"));
    assert_eq!(exp["exit_code"].as_integer(), Some(3));
    assert_eq!(exp["format"].as_integer(), Some(1));
    assert_eq!(repo.show_file("bad", "output.log"), "oops\n");
}

#[test]
fn output_passes_through_and_is_captured() {
    let repo = TestRepo::new();
    let out = repo.run(&["run", "-n", "talk", "--", "sh", "-c", "echo to-out; echo to-err >&2"]);
    insta::assert_snapshot!(out, @r#"
    to-out
    ------- stderr -------
    to-err
    git-exp: run talk finished in [DURATION] (0 points, 0 metrics) -> [HASH]
    "#);
    let log = repo.show_file("talk", "output.log");
    assert!(log.contains("to-out\n") && log.contains("to-err\n"), "{log}");
}

#[test]
fn big_output_is_capped_keeping_head_and_tail() {
    let repo = TestRepo::new();
    repo.git(&["config", "exp.outputLimit", "10000"]);
    let body = "i=0; while [ $i -lt 3000 ]; do echo line-$i; i=$((i+1)); done";
    let out = repo.exp(&["run", "-n", "loud", "--", "sh", "-c", body]);
    assert!(out.status.success());
    let log = repo.show_file("loud", "output.log");
    assert!(log.len() < 11_000, "log is {} bytes", log.len());
    assert!(log.starts_with("line-0\nline-1\n"));
    assert!(log.ends_with("line-2999\n"));
    assert!(log.contains("output cut"));
}

#[test]
fn params_are_typed_substituted_and_given_to_the_child() {
    let repo = TestRepo::new();
    repo.write("params.toml", "optimizer = \"sgd\"\n[model]\nlayers = 2\n");
    let script = repo.script(
        "child.sh",
        r#"echo "id=$GIT_EXP_RUN_ID name=$GIT_EXP_RUN_NAME"; test -d "$GIT_EXP_DIR"; cat "$GIT_EXP_PARAMS"; echo; echo "args:$*""#,
    );
    let out = repo.exp(&[
        "run",
        "-n",
        "p1",
        "--params-file",
        "params.toml",
        "-p",
        "lr=0.01",
        "-p",
        "epochs=5",
        "-p",
        "fast=true",
        "-p",
        "model.layers=4",
        "-p",
        "tag=v1",
        "--",
        script.to_str().unwrap(),
        "--lr",
        "{lr}",
        "--layers={model.layers}",
        "{nope}",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("name=p1"), "{text}");
    assert!(text.contains("args:--lr 0.01 --layers=4 {nope}"), "{text}");
    let params: serde_json::Value = serde_json::from_str(text.lines().nth(1).unwrap()).unwrap();
    assert_eq!(params["lr"], serde_json::json!(0.01));
    assert_eq!(params["model"]["layers"], serde_json::json!(4));
    let config: toml::Table = toml::from_str(&repo.show_file("p1", "config.toml")).unwrap();
    assert_eq!(config["lr"].as_float(), Some(0.01));
    assert_eq!(config["epochs"].as_integer(), Some(5));
    assert_eq!(config["fast"].as_bool(), Some(true));
    assert_eq!(config["tag"].as_str(), Some("v1"));
    assert_eq!(config["optimizer"].as_str(), Some("sgd"));
    assert_eq!(config["model"]["layers"].as_integer(), Some(4));
    let exp: toml::Table = toml::from_str(&repo.show_file("p1", "exp.toml")).unwrap();
    let cmd: Vec<&str> =
        exp["command"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(&cmd[1..], ["--lr", "0.01", "--layers=4", "{nope}"]);
}

#[test]
fn reserved_events_set_config_summary_tags_and_note() {
    let repo = TestRepo::new();
    let events = r#"printf '{"_config": {"batch": 32}}\n{"loss": 2}\n{"_summary": {"best": 0.9}}\n{"_tag": "baseline"}\n{"_note": "first try"}\n' >> "$GIT_EXP_EVENTS""#;
    let out =
        repo.exp(&["run", "-n", "r", "-t", "cli-tag", "-m", "from cli", "--", "sh", "-c", events]);
    assert!(out.status.success(), "{}", stderr(&out));
    let show: serde_json::Value =
        serde_json::from_str(&repo.exp_ok(&["show", "r", "--format", "json"])).unwrap();
    assert_eq!(show["config"]["batch"], serde_json::json!(32));
    assert_eq!(show["summary"]["best"]["value"], serde_json::json!(0.9));
    assert_eq!(show["summary"]["loss"]["last"], serde_json::json!(2.0));
    assert_eq!(show["tags"], serde_json::json!(["cli-tag", "baseline"]));
    assert!(show["note"].as_str().unwrap().contains("from cli"));
    assert!(show["note"].as_str().unwrap().contains("first try"));
}

#[test]
fn malformed_events_never_kill_a_run() {
    let repo = TestRepo::new();
    let long = "x".repeat(100_000);
    let events = format!(
        "not json\n{{\"loss\": 1}}\n\n{{\"loss\": \"high\"}}\n[1,2]\n{{\"acc\": 0.5, \"_step\": -1}}\n{{\"bad\": \"{long}\"}}\n{{{long}\n{{\"loss\": 0.5}}\n"
    );
    std::fs::write(repo.tmp.path().join("events.txt"), events).unwrap();
    let cmd =
        format!("cat {} >> \"$GIT_EXP_EVENTS\"", repo.tmp.path().join("events.txt").display());
    let out = repo.exp(&["run", "-n", "m", "--", "sh", "-c", &cmd]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("malformed event line"), "{}", stderr(&out));

    let csv = repo.show_file("m", "metrics.csv");
    let losses: Vec<&str> = csv.lines().filter(|l| l.contains(",loss,")).collect();
    assert_eq!(losses.len(), 2, "{csv}");
    let exp: toml::Table = toml::from_str(&repo.show_file("m", "exp.toml")).unwrap();
    let count = exp["malformed_events"]["count"].as_integer().unwrap();
    assert!(count >= 5, "{count}");
    let lines: Vec<i64> = exp["malformed_events"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_integer().unwrap())
        .collect();
    assert!(lines.contains(&1) && !lines.contains(&2) && !lines.contains(&3), "{lines:?}");
    assert!(repo.show_file("m", "output.log").contains("events line 1"));
}

#[test]
fn code_tree_holds_uncommitted_and_untracked_files_without_touching_the_worktree() {
    let repo = TestRepo::new();
    repo.write("src/model.py", "layers = 1\n");
    repo.write(".gitignore", "ignored.bin\n");
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "model"]);
    repo.write("src/model.py", "layers = 2\n"); // modified, unstaged
    repo.write("staged.txt", "staged\n");
    repo.git(&["add", "staged.txt"]);
    repo.write("notes/new.txt", "untracked\n");
    repo.write("ignored.bin", "ignored\n");
    repo.write(".env", "SECRET=1\n");
    std::fs::remove_file(repo.root.join("README.md")).unwrap();
    let status_before = repo.git(&["status", "--porcelain"]);
    let index_before = std::fs::read(repo.root.join(".git/index")).unwrap();
    let out = repo.exp(&["run", "-n", "dirty", "--", "true"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(repo.git(&["status", "--porcelain"]), status_before);
    assert_eq!(std::fs::read(repo.root.join(".git/index")).unwrap(), index_before);
    assert_eq!(repo.show_file("dirty", "code/src/model.py"), "layers = 2\n");
    assert_eq!(repo.show_file("dirty", "code/staged.txt"), "staged\n");
    assert_eq!(repo.show_file("dirty", "code/notes/new.txt"), "untracked\n");
    let files = repo.git(&["ls-tree", "-r", "--name-only", "refs/experiments/dirty:code"]);
    assert!(!files.contains("ignored.bin"), "{files}");
    assert!(!files.contains("README.md"), "{files}");
    assert!(!files.lines().any(|l| l == ".env"), "{files}");
    let exp: toml::Table = toml::from_str(&repo.show_file("dirty", "exp.toml")).unwrap();
    assert_eq!(exp["code_dirty"].as_bool(), Some(true));
    let skipped = exp["code_skipped"].as_array().unwrap();
    assert!(skipped.iter().any(|s| s["path"].as_str() == Some(".env")), "{skipped:?}");
    repo.fsck();
}

#[test]
fn clean_tree_reuses_head_tree_and_big_files_are_skipped() {
    let repo = TestRepo::new();
    repo.exp_ok(&["run", "-n", "clean", "--", "true"]);
    let head_tree = repo.git(&["rev-parse", "HEAD^{tree}"]);
    assert_eq!(repo.git(&["rev-parse", "refs/experiments/clean:code"]), head_tree);
    let exp: toml::Table = toml::from_str(&repo.show_file("clean", "exp.toml")).unwrap();
    assert_eq!(exp["code_dirty"].as_bool(), Some(false));
    repo.git(&["config", "exp.codeMaxFileSize", "100"]);
    repo.write("big.dat", &"x".repeat(1000));
    repo.exp_ok(&["run", "-n", "big", "--", "true"]);
    let exp: toml::Table = toml::from_str(&repo.show_file("big", "exp.toml")).unwrap();
    assert_eq!(exp["code_skipped"][0]["path"].as_str(), Some("big.dat"));
    assert_eq!(exp["code_skipped"][0]["size"].as_integer(), Some(1000));
}

#[test]
fn unborn_detached_subdirectory_and_linked_worktree() {
    // Unborn HEAD: no parent, untracked files still captured.
    let repo = TestRepo::empty();
    repo.write("train.py", "print(1)\n");
    repo.exp_ok(&["run", "-n", "unborn", "--", "true"]);
    let parents = repo.git(&["log", "-1", "--format=%P", "refs/experiments/unborn"]);
    assert_eq!(parents.trim(), "");
    assert_eq!(repo.show_file("unborn", "code/train.py"), "print(1)\n");

    let repo = TestRepo::new();
    let head = repo.git(&["rev-parse", "HEAD"]);
    repo.git(&["checkout", "-q", "--detach"]);
    repo.exp_ok(&["run", "-n", "detached", "--", "true"]);
    assert_eq!(repo.git(&["rev-parse", "refs/experiments/detached^"]), head);

    // From a subdirectory: the run lands in the same repository, workdir recorded.
    std::fs::create_dir_all(repo.root.join("sub/dir")).unwrap();
    let out = repo
        .cmd_in(&repo.root.join("sub/dir"), &["run", "-n", "sub", "--", "pwd"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).trim().ends_with("sub/dir"));
    let exp: toml::Table = toml::from_str(&repo.show_file("sub", "exp.toml")).unwrap();
    assert_eq!(exp["workdir"].as_str(), Some("sub/dir"));

    // A linked worktree on another branch: run refs are shared, parent is that branch.
    let wt = repo.tmp.path().join("wt");
    repo.git(&["worktree", "add", "-q", "-b", "other", wt.to_str().unwrap()]);
    std::fs::write(wt.join("wt.txt"), "wt\n").unwrap();
    repo.git_in(&wt, &["add", "wt.txt"]);
    repo.git_in(&wt, &["commit", "-q", "-m", "wt"]);
    let out = repo.cmd_in(&wt, &["run", "-n", "in-wt", "--", "true"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let wt_head = repo.git_in(&wt, &["rev-parse", "HEAD"]);
    assert_eq!(repo.git(&["rev-parse", "refs/experiments/in-wt^"]), wt_head);
    let names: Vec<String> =
        repo.list_json().iter().map(|r| r["name"].as_str().unwrap().to_owned()).collect();
    assert!(names.contains(&"in-wt".to_owned()) && names.contains(&"sub".to_owned()));
    repo.fsck();
}

#[test]
fn secrets_never_reach_any_object_of_the_run() {
    let repo = TestRepo::new();
    let env_secret = "s3cr3t-env-value-8f7a6b5c4d";
    let argv_token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
    let script = repo.script("leak.sh", r#"echo "token is $1"; printf '{"_config": {"api_key": "%s"}}\n' "$MY_API_TOKEN" >> "$GIT_EXP_EVENTS""#);
    let out = repo
        .cmd_in(
            &repo.root,
            &[
                "run",
                "-n",
                "leaky",
                "-p",
                "password=hunter2hunter2",
                "-t",
                argv_token,
                "-m",
                &format!("note {env_secret}"),
                "--",
                script.to_str().unwrap(),
                argv_token,
                "--api-key",
                "plainvalue123",
            ],
        )
        .env("MY_API_TOKEN", env_secret)
        .env("CUDA_VISIBLE_DEVICES", "0")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    // Look into every object reachable from the run.
    let objects = repo.git(&["rev-list", "--objects", "refs/experiments/leaky", "--not", "HEAD"]);
    let mut all = String::new();
    for line in objects.lines() {
        let id = line.split(' ').next().unwrap();
        all.push_str(&repo.git(&["cat-file", "-p", id]));
    }
    for secret in [env_secret, argv_token, "plainvalue123", "hunter2hunter2"] {
        assert!(!all.contains(secret), "{secret} leaked into the run");
    }
    assert!(all.contains("[REDACTED]"));
    // The allowlisted variable is recorded, the secret's name is not.
    let env = repo.show_file("leaky", "env.toml");
    assert!(env.contains("CUDA_VISIBLE_DEVICES"), "{env}");
    assert!(!env.contains("MY_API_TOKEN"), "{env}");
}

#[test]
fn env_manifest_describes_the_machine() {
    let repo = TestRepo::new();
    repo.exp_ok(&["run", "-n", "envy", "--", "true"]);
    let env: toml::Table = toml::from_str(&repo.show_file("envy", "env.toml")).unwrap();
    let text = toml::to_string(&env).unwrap();
    assert!(text.contains(std::env::consts::ARCH), "{text}");
    assert!(text.contains("Linux") || text.contains("linux"), "{text}");
}

#[test]
fn parallel_runs_all_land_with_unique_generated_names() {
    let repo = TestRepo::new();
    let mut children = Vec::new();
    for i in 0..8 {
        let mut cmd = repo.cmd_in(
            &repo.root,
            &[
                "run",
                "-q",
                "-p",
                &format!("i={i}"),
                "--",
                "sh",
                "-c",
                r#"printf '{"x": 1}\n' >> "$GIT_EXP_EVENTS""#,
            ],
        );
        children.push(cmd.spawn().unwrap());
    }
    for c in children {
        let out = crate::common::wait_deadline(c, Duration::from_secs(120));
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let runs = repo.list_json();
    assert_eq!(runs.len(), 8);
    let mut names: Vec<&str> = runs.iter().map(|r| r["name"].as_str().unwrap()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 8);
    let mut is: Vec<i64> = runs.iter().map(|r| r["config"]["i"].as_i64().unwrap()).collect();
    is.sort();
    assert_eq!(is, (0..8).collect::<Vec<_>>());
    repo.fsck();
}

#[test]
fn racing_for_one_name_one_wins_and_nothing_is_overwritten() {
    let repo = TestRepo::new();
    let mut children = Vec::new();
    for i in 0..4 {
        let cmd = format!("printf '{{\"who\": {i}}}\\n' >> \"$GIT_EXP_EVENTS\"; sleep 0.3");
        children.push(
            repo.cmd_in(&repo.root, &["run", "-q", "-n", "same", "--", "sh", "-c", &cmd])
                .output_async(),
        );
    }
    let outs: Vec<std::process::Output> =
        children.into_iter().map(|c| wait_deadline(c, Duration::from_secs(120))).collect();
    let winners = outs.iter().filter(|o| o.status.success()).count();
    assert_eq!(winners, 1, "{:?}", outs.iter().map(stderr).collect::<Vec<_>>());
    for o in outs.iter().filter(|o| !o.status.success()) {
        assert_eq!(o.status.code(), Some(125));
        let e = stderr(o);
        assert!(e.contains("'same'"), "{e}");
        assert_eq!(e.lines().filter(|l| l.starts_with("error:")).count(), 1, "{e}");
    }
    assert_eq!(repo.list_json().len(), 1);
    let reflog = repo.git(&["reflog", "show", "refs/experiments/same"]);
    assert_eq!(reflog.lines().count(), 1, "{reflog}");
}

trait SpawnOutput {
    fn output_async(&mut self) -> std::process::Child;
}

impl SpawnOutput for std::process::Command {
    fn output_async(&mut self) -> std::process::Child {
        self.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }
}

#[test]
fn untracked_virtualenvs_and_caches_stay_out_of_the_code_tree() {
    let repo = TestRepo::new();
    for i in 0..5 {
        repo.write(&format!(".venv/lib/site/pkg{i}.py"), "x = 1\n");
    }
    repo.write("src/__pycache__/m.cpython-311.pyc", "bytecode");
    repo.write("src/m.py", "y = 2\n");
    repo.exp_ok(&["run", "-q", "-n", "venv", "--", "true"]);
    let files = repo.git(&["ls-tree", "-r", "--name-only", "refs/experiments/venv:code"]);
    assert!(files.lines().any(|l| l == "src/m.py"), "{files}");
    assert!(!files.contains(".venv") && !files.contains("__pycache__"), "{files}");
    let exp: toml::Table = toml::from_str(&repo.show_file("venv", "exp.toml")).unwrap();
    let skipped = exp["code_skipped"].as_array().unwrap();
    let venv = skipped.iter().find(|s| s["path"].as_str() == Some(".venv/")).expect("venv listed");
    assert!(venv["reason"].as_str().unwrap().contains("5 untracked files"), "{venv}");
}

#[test]
fn dash_c_runs_the_command_there_and_git_dash_c_config_applies() {
    let repo = TestRepo::new();
    std::fs::create_dir_all(repo.root.join("sub")).unwrap();
    let elsewhere = repo.tmp.path();
    let out = repo
        .cmd_in(
            elsewhere,
            &["-C", repo.root.join("sub").to_str().unwrap(), "run", "-n", "c", "--", "pwd"],
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).trim().ends_with("repo/sub"), "{}", stdout(&out));
    // `git -c exp.outputLimit=...` reaches git-exp through GIT_CONFIG_PARAMETERS.
    let bin_dir = crate::common::git_exp_bin().parent().unwrap().to_path_buf();
    let mut cmd = std::process::Command::new("git");
    repo.env(&mut cmd);
    let body = "i=0; while [ $i -lt 3000 ]; do echo line-$i; i=$((i+1)); done";
    let out = cmd
        .env("PATH", format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap()))
        .args([
            "-c",
            "exp.outputLimit=2000",
            "exp",
            "run",
            "-q",
            "-n",
            "capped",
            "--",
            "sh",
            "-c",
            body,
        ])
        .current_dir(&repo.root)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(repo.show_file("capped", "output.log").len() < 2200);
}

/// Under the pinned clock and seed, a run gets the same generated name, id,
/// times and commits in every repository made the same way; a different seed
/// gives another name and id.
#[test]
fn the_pinned_clock_and_seed_make_runs_repeatable() {
    let record = |seed: Option<&str>| {
        let repo = TestRepo::new();
        let mut cmd = repo.cmd_in(&repo.root, &["run", "-q", "--", "true"]);
        if let Some(seed) = seed {
            cmd.env("GIT_EXP_TEST_SEED", seed);
        }
        assert!(cmd.output().unwrap().status.success());
        let run = repo.list_json().remove(0);
        let fields = ["name", "id", "started", "commit"];
        fields.map(|f| run[f].as_str().unwrap().to_owned())
    };
    let first = record(None);
    assert_eq!(first, record(None));
    assert_eq!(first[2], "2026-01-01T00:00:01.000Z");
    assert!(first[1].starts_with("019b76daabe8"), "the id starts with the time: {first:?}");
    let other = record(Some("12345"));
    assert_ne!((&other[0], &other[1]), (&first[0], &first[1]));
    assert_eq!(other[2], first[2]);
}

#[test]
fn an_unreadable_test_clock_is_a_usage_error() {
    let repo = TestRepo::new();
    let mut cmd = repo.cmd_in(&repo.root, &["list"]);
    cmd.env("GIT_EXP_TEST_NOW", "soon");
    let out = crate::common::CommandOutput::new(&repo, &cmd.output().unwrap());
    insta::assert_snapshot!(out, @r#"
    ------- stderr -------
    error: GIT_EXP_TEST_NOW="soon" is not an RFC 3339 time such as 2026-01-01T00:00:00Z
    [exit status: 2]
    "#);
}
