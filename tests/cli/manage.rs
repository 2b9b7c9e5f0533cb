//! `git exp rm`, `git exp rename` and `git exp gc` on temporary repositories,
//! checked with the real git (`for-each-ref`, `fsck --strict`) and the files of
//! the local artifact store.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::{sha256_hex, stderr, stdout, TestRepo};

/// A repository whose artifacts above 10 bytes go to the local store.
fn store_repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.git(&["config", "exp.artifacts.inlineMax", "10"]);
    repo
}

/// Makes a finished run `name` that keeps `content` as the stored artifact `model.bin`.
fn run_with_artifact(repo: &TestRepo, name: &str, content: &str) {
    let script = format!(
        "mkdir -p \"$GIT_EXP_DIR/artifacts\" && printf '%s' '{content}' > \"$GIT_EXP_DIR/artifacts/model.bin\""
    );
    repo.exp_ok(&["run", "-q", "-n", name, "--", "sh", "-c", &script]);
}

/// Makes a finished run without artifacts.
fn run_plain(repo: &TestRepo, name: &str) {
    repo.exp_ok(&["run", "-q", "-n", name, "--", "true"]);
}

/// `(name, commit)` of every run, by git itself.
fn refs(repo: &TestRepo) -> Vec<(String, String)> {
    repo.git(&["for-each-ref", "--format=%(refname:strip=2) %(objectname)", "refs/experiments/"])
        .lines()
        .map(|l| {
            let (n, c) = l.split_once(' ').unwrap();
            (n.to_owned(), c.to_owned())
        })
        .collect()
}

fn commit_of(repo: &TestRepo, name: &str) -> String {
    repo.git(&["rev-parse", &format!("refs/experiments/{name}")]).trim().to_owned()
}

fn short(commit: &str) -> &str {
    &commit[..7]
}

/// Where the store keeps `content`.
fn object_path(repo: &TestRepo, content: &str) -> PathBuf {
    repo.object_path(&sha256_hex(content.as_bytes()))
}

fn gc_json(repo: &TestRepo, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["gc", "--format", "json"];
    all.extend_from_slice(args);
    serde_json::from_str(&repo.exp_ok(&all)).expect("gc prints JSON")
}

const CONTENT_A: &str = "weights of run a, stored";
const CONTENT_B: &str = "weights of run b, stored";

#[test]
fn rm_deletes_only_the_named_runs_and_their_reflogs() {
    let repo = TestRepo::new();
    for name in ["a", "b", "c", "g/x"] {
        run_plain(&repo, name);
    }
    let before = refs(&repo);
    let (a, gx) = (commit_of(&repo, "a"), commit_of(&repo, "g/x"));
    let out = repo.exp(&["rm", "a", "refs/experiments/g/x", "a"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out),
        format!("Deleted run a ({}).\nDeleted run g/x ({}).\n", short(&a), short(&gx))
    );
    let after = refs(&repo);
    let expected: Vec<_> = before.into_iter().filter(|(n, _)| n != "a" && n != "g/x").collect();
    assert_eq!(after, expected);
    assert_eq!(after.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["b", "c"]);
    let reflog = Command::new("git")
        .args(["reflog", "exists", "refs/experiments/a"])
        .current_dir(&repo.root)
        .status()
        .unwrap();
    assert!(!reflog.success(), "the reflog goes with the ref");
    // The commit is still an object until git's own gc.
    assert_eq!(repo.git(&["cat-file", "-t", &a]).trim(), "commit");
    repo.fsck();
    // The names are free again.
    run_plain(&repo, "a");
    run_plain(&repo, "g");
}

#[test]
fn rm_resolves_specs_like_show_and_handles_packed_refs() {
    let repo = TestRepo::new();
    for name in ["alpha", "beta", "gamma"] {
        run_plain(&repo, name);
    }
    repo.git(&["pack-refs", "--all"]);
    assert!(!repo.root.join(".git/refs/experiments/alpha").exists());
    let (beta, gamma) = (commit_of(&repo, "beta"), commit_of(&repo, "gamma"));
    // `@` is the latest run; a prefix is refused (see: issue 11), an exact name is not.
    let out = repo.exp(&["rm", "-q", "@", "be"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(refs(&repo).len(), 3, "nothing deleted");
    repo.exp_ok(&["rm", "-q", "@", "beta"]);
    assert_eq!(refs(&repo), [("alpha".to_owned(), commit_of(&repo, "alpha"))]);
    let packed = std::fs::read_to_string(repo.root.join(".git/packed-refs")).unwrap();
    assert!(!packed.contains(&beta) && !packed.contains(&gamma), "{packed}");
    repo.fsck();
}

#[test]
fn rm_with_an_unknown_spec_deletes_nothing() {
    let repo = TestRepo::new();
    run_plain(&repo, "a");
    run_plain(&repo, "b");
    let before = refs(&repo);
    insta::assert_snapshot!(repo.run(&["rm", "a", "nope", "b"]), @r#"
    ------- stderr -------
    error: no run is named exactly 'nope'
    hint: commands that delete or rename take an exact name, a full id or `@`; `git exp list` shows the names
    hint: nothing was deleted
    [exit status: 1]
    "#);
    assert_eq!(refs(&repo), before);
}

#[test]
fn rm_dry_run_and_quiet() {
    let repo = TestRepo::new();
    run_plain(&repo, "a");
    let before = refs(&repo);
    let out = repo.exp(&["rm", "--dry-run", "a"]);
    assert!(out.status.success());
    assert_eq!(stderr(&out), format!("Would delete run a ({}).\n", short(&before[0].1)));
    assert_eq!(refs(&repo), before);
    let out = repo.exp(&["rm", "-q", "a"]);
    assert!(out.status.success());
    assert_eq!(stderr(&out), "");
    assert!(refs(&repo).is_empty());
}

#[test]
fn rm_refuses_a_running_run() {
    let repo = TestRepo::new();
    run_plain(&repo, "done");
    let mut owner =
        Command::new("sleep").arg("300").stdin(Stdio::null()).spawn().expect("sleep runs");
    let pid = owner.id().to_string();
    repo.exp_ok(&["start", "--pid", &pid, "-n", "live", "--", "train"]);
    let out = repo.exp(&["rm", "done", "live"]);
    let _ = owner.kill();
    let _ = owner.wait();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.starts_with("error: run live is still running; it has no commit yet\n"), "{err}");
    assert_eq!(refs(&repo).len(), 1, "nothing was deleted");
}

#[test]
fn rm_deletes_a_run_that_cannot_be_read() {
    let repo = TestRepo::new();
    let commit = broken_run(&repo, "broken", "not = [valid");
    let out = repo.exp(&["rm", "broken"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), format!("Deleted run broken ({}).\n", short(&commit)));
    assert!(refs(&repo).is_empty());
}

#[test]
fn rename_moves_the_ref_and_keeps_the_commit() {
    let repo = TestRepo::new();
    run_plain(&repo, "a");
    run_plain(&repo, "other");
    let commit = commit_of(&repo, "a");
    let out = repo.exp(&["rename", "a", "team/a-v2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), format!("Renamed run a to team/a-v2 ({}).\n", short(&commit)));
    assert_eq!(
        refs(&repo),
        [("other".to_owned(), commit_of(&repo, "other")), ("team/a-v2".to_owned(), commit.clone()),]
    );
    // list and show use the new name; the old one is gone.
    let names: Vec<String> =
        repo.list_json().iter().map(|r| r["name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names, ["other", "team/a-v2"]);
    let shown: serde_json::Value =
        serde_json::from_str(&repo.exp_ok(&["show", "--json", "team/a-v2"])).unwrap();
    assert_eq!(shown["name"], "team/a-v2");
    assert_eq!(shown["commit"], commit.as_str());
    assert_eq!(repo.exp(&["show", "a"]).status.code(), Some(1));
    // The commit is the same object, so exp.toml keeps the name the run was made with.
    assert!(repo.show_file("team/a-v2", "exp.toml").contains("name = \"a\"\n"));
    let reflog = repo.git(&["reflog", "show", "--format=%gs", "refs/experiments/team/a-v2"]);
    assert_eq!(reflog, "git-exp: rename a to team/a-v2\n");
    repo.fsck();
    // The old name is free again.
    run_plain(&repo, "a");
    // A group whose last run was deleted is free as a name too.
    run_plain(&repo, "g/x");
    repo.exp_ok(&["rm", "g/x"]);
    let a = commit_of(&repo, "a");
    repo.exp_ok(&["rename", "a", "g"]);
    assert_eq!(commit_of(&repo, "g"), a);
    repo.fsck();
}

#[test]
fn rename_by_spec_and_of_packed_refs() {
    let repo = TestRepo::new();
    run_plain(&repo, "first");
    run_plain(&repo, "second");
    repo.git(&["pack-refs", "--all"]);
    let commit = commit_of(&repo, "second");
    repo.exp_ok(&["rename", "-q", "@", "latest"]);
    assert_eq!(commit_of(&repo, "latest"), commit);
    let names: Vec<String> = refs(&repo).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["first", "latest"]);
    repo.fsck();
}

#[test]
fn rename_onto_a_taken_name_fails_and_changes_nothing() {
    let repo = TestRepo::new();
    run_plain(&repo, "a");
    run_plain(&repo, "b");
    run_plain(&repo, "g/x");
    let before = refs(&repo);
    insta::assert_snapshot!(repo.run(&["rename", "a", "b"]), @r#"
    ------- stderr -------
    error: a run named 'b' already exists
    hint: pick another name (`git exp list` shows the names in use), or delete the other run first with `git exp rm b`
    [exit status: 1]
    "#);
    assert_eq!(refs(&repo), before);

    let refused: String = ["g", "b/c", "bad name", ".."]
        .iter()
        .map(|target| {
            let out = repo.run(&["rename", "a", target]);
            assert_eq!(refs(&repo), before, "{target}");
            format!("$ rename a {target}\n{out}\n")
        })
        .collect();
    insta::assert_snapshot!(refused, @r#"
    $ rename a g
    ------- stderr -------
    error: cannot rename run a to g: run g/x exists, and a name cannot be both a run and a group of runs
    hint: pick another name; `a` and `a/b` cannot both be runs, but `a-1` and `a/b` can
    [exit status: 1]
    $ rename a b/c
    ------- stderr -------
    error: cannot rename run a to b/c: run b exists, and a name cannot be both a run and a group of runs
    hint: pick another name; `a` and `a/b` cannot both be runs, but `a-1` and `a/b` can
    [exit status: 1]
    $ rename a bad name
    ------- stderr -------
    error: invalid run name 'bad name': ' ' is not allowed; use ASCII letters, digits, '.', '_', '-' and '/' between groups
    hint: names use letters, digits, '.', '_', '-', and '/' to group runs
    [exit status: 1]
    $ rename a ..
    ------- stderr -------
    error: invalid run name '..': a group starts with '.'
    hint: names use letters, digits, '.', '_', '-', and '/' to group runs
    [exit status: 1]
    "#);
    // Into its own group: refused with the way around.
    insta::assert_snapshot!(repo.run(&["rename", "a", "a/b"]), @r#"
    ------- stderr -------
    error: cannot rename run a to a/b in one step: one name is a group of the other
    hint: go through a free name: `git exp rename a a-tmp && git exp rename a-tmp a/b`
    [exit status: 1]
    "#);
    assert_eq!(refs(&repo), before);
    // Unknown run.
    insta::assert_snapshot!(repo.run(&["rename", "nope", "z"]), @r#"
    ------- stderr -------
    error: no run is named exactly 'nope'
    hint: commands that delete or rename take an exact name, a full id or `@`; `git exp list` shows the names
    [exit status: 1]
    "#);
    assert_eq!(refs(&repo), before);
}

#[test]
fn rename_refuses_the_name_of_a_running_run() {
    let repo = TestRepo::new();
    run_plain(&repo, "a");
    let mut owner =
        Command::new("sleep").arg("300").stdin(Stdio::null()).spawn().expect("sleep runs");
    let pid = owner.id().to_string();
    repo.exp_ok(&["start", "--pid", &pid, "-n", "live", "--", "train"]);
    let taken = repo.run(&["rename", "a", "live"]);
    let group = repo.run(&["rename", "a", "live/x"]);
    let _ = owner.kill();
    let _ = owner.wait();
    insta::assert_snapshot!(taken, @r#"
    ------- stderr -------
    error: a running run is named 'live'
    hint: pick another name, or wait for that run to end
    [exit status: 1]
    "#);
    insta::assert_snapshot!(group, @r#"
    ------- stderr -------
    error: cannot rename run a to live/x: run live exists, and a name cannot be both a run and a group of runs
    hint: pick another name; `a` and `a/b` cannot both be runs, but `a-1` and `a/b` can
    [exit status: 1]
    "#);
    assert_eq!(refs(&repo).len(), 1);
    assert_eq!(refs(&repo)[0].0, "a");
}

#[test]
fn gc_dry_run_removes_nothing() {
    let repo = store_repo();
    run_with_artifact(&repo, "a", CONTENT_A);
    let object = object_path(&repo, CONTENT_A);
    assert!(object.is_file());
    repo.exp_ok(&["rm", "a"]);
    let out = repo.exp(&["gc", "--dry-run", "--keep-recent", "0s"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let sha = sha256_hex(CONTENT_A.as_bytes());
    assert_eq!(
        stdout(&out),
        format!("object       24 B  exp/objects/sha256/{}/{}\n", &sha[..2], &sha[2..])
    );
    assert_eq!(stderr(&out), "Would remove 1 object (24 B); would keep 0.\n");
    assert!(object.is_file(), "a dry run removes nothing");
    let json = gc_json(&repo, &["-n", "--keep-recent", "0s"]);
    assert_eq!(json["dry_run"], true);
    assert_eq!(json["objects_removed"], 1);
    assert!(object.is_file());
}

#[test]
fn gc_removes_an_object_only_after_its_last_run_is_deleted() {
    let repo = store_repo();
    run_with_artifact(&repo, "a", CONTENT_A);
    run_with_artifact(&repo, "a-again", CONTENT_A);
    run_with_artifact(&repo, "b", CONTENT_B);
    let (object_a, object_b) = (object_path(&repo, CONTENT_A), object_path(&repo, CONTENT_B));
    assert!(object_a.is_file() && object_b.is_file());

    // Nothing is unreferenced.
    let json = gc_json(&repo, &["--keep-recent", "0s"]);
    assert_eq!(json["objects_removed"], 0);
    assert_eq!(json["kept_referenced"], 2);

    repo.exp_ok(&["rm", "a"]);
    let json = gc_json(&repo, &["--keep-recent", "0s"]);
    assert_eq!(json["objects_removed"], 0, "a-again still points to it");
    assert!(object_a.is_file());

    repo.exp_ok(&["rm", "a-again"]);
    let sha = sha256_hex(CONTENT_A.as_bytes());
    let json = gc_json(&repo, &["--keep-recent", "0s"]);
    assert_eq!(
        json,
        serde_json::json!({
            "dry_run": false,
            "keep_recent_s": 0,
            "removed": [{
                "kind": "object",
                "path": format!("exp/objects/sha256/{}/{}", &sha[..2], &sha[2..]),
                "sha256": sha,
                "size": 24,
            }],
            "objects_removed": 1,
            "bytes_removed": 24,
            "objects_kept": 1,
            "kept_referenced": 1,
            "kept_recent": 0,
            "foreign": [],
            "failed": [],
        })
    );
    assert!(!object_a.exists());
    assert!(!object_a.parent().unwrap().exists(), "the emptied fan-out directory goes too");
    assert!(object_b.is_file(), "b's object is kept");
    // b's artifact is intact and verified.
    repo.exp_ok(&["get", "-q", "b", "model.bin", "-o", "restored.bin"]);
    assert_eq!(std::fs::read_to_string(repo.root.join("restored.bin")).unwrap(), CONTENT_B);
    repo.fsck();
}

#[test]
fn gc_keeps_young_objects_by_default() {
    let repo = store_repo();
    run_with_artifact(&repo, "a", CONTENT_A);
    repo.exp_ok(&["rm", "a"]);
    let out = repo.exp(&["gc"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out),
        "Removed 0 objects (0 B); kept 1.\nhint: 1 object no run points to was kept because it \
         was modified in the last 1h; `--keep-recent 0s` includes them\n"
    );
    assert!(object_path(&repo, CONTENT_A).is_file());
    let json = gc_json(&repo, &["--keep-recent", "10min"]);
    assert_eq!(json["keep_recent_s"], 600);
    assert_eq!(json["kept_recent"], 1);
    assert_eq!(json["objects_removed"], 0);
    let out = repo.exp(&["gc", "--keep-recent", "soon"]);
    assert_eq!(out.status.code(), Some(2), "a bad duration is a usage error");
}

/// A commit with the tree of a real run but `artifacts.toml` replaced by
/// `artifacts`, made with git plumbing, under `refs/experiments/<name>`.
fn broken_run(repo: &TestRepo, name: &str, artifacts: &str) -> String {
    run_plain(repo, "template");
    let commit = repo.forge_artifacts("template", name, artifacts);
    repo.exp_ok(&["rm", "-q", "template"]);
    commit
}

#[test]
fn gc_refuses_when_a_run_cannot_be_read() {
    let repo = store_repo();
    run_with_artifact(&repo, "a", CONTENT_A);
    repo.exp_ok(&["rm", "a"]);
    let object = object_path(&repo, CONTENT_A);
    broken_run(&repo, "corrupt", "[[artifact]\npath = ");
    insta::assert_snapshot!(repo.run(&["gc", "--keep-recent", "0s"]), @r#"
    ------- stderr -------
    error: artifacts.toml of run corrupt cannot be parsed (TOML parse error at line 1, column 12 | 1 | [[artifact] | ^ unclosed array table, expected `]`), so nothing was removed
    hint: repair the run or delete it with `git exp rm corrupt` (its store artifacts then count as unused), and run gc again
    [exit status: 1]
    "#);
    assert!(object.is_file(), "nothing is removed");

    // A ref to a commit that is not there.
    repo.exp_ok(&["rm", "-q", "corrupt"]);
    std::fs::create_dir_all(repo.root.join(".git/refs/experiments")).unwrap();
    std::fs::write(
        repo.root.join(".git/refs/experiments/ghost"),
        "1234567890123456789012345678901234567890\n",
    )
    .unwrap();
    let out = repo.exp(&["gc", "--keep-recent", "0s"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("error: cannot read run ghost, so nothing was removed"));
    assert!(object.is_file(), "nothing is removed");

    std::fs::remove_file(repo.root.join(".git/refs/experiments/ghost")).unwrap();
    let json = gc_json(&repo, &["--keep-recent", "0s"]);
    assert_eq!(json["objects_removed"], 1);
    assert!(!object.exists());
}

#[test]
fn gc_leaves_foreign_files_alone_and_removes_stale_temp_files() {
    let repo = store_repo();
    let objects = repo.root.join(".git/exp/objects");
    let fanout = objects.join("sha256/ab");
    std::fs::create_dir_all(&fanout).unwrap();
    std::fs::create_dir_all(objects.join("tmp")).unwrap();
    let foreign = [
        objects.join("README"),
        fanout.join("notes.txt"),
        fanout.join("C".repeat(62)),
        objects.join("sha256/ab").join("c".repeat(63)),
    ];
    for f in &foreign {
        std::fs::write(f, "keep me").unwrap();
    }
    let temp = objects.join("tmp/.copy-x1y2");
    std::fs::write(&temp, "half").unwrap();
    let old_temp = fanout.join(".tmpAbC");
    std::fs::write(&old_temp, "half").unwrap();

    // Young temp files stay by default.
    let json = gc_json(&repo, &[]);
    assert_eq!(json["removed"], serde_json::json!([]));
    assert!(temp.is_file() && old_temp.is_file());

    let out = repo.exp(&["gc", "--keep-recent", "0s"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "temp          4 B  exp/objects/sha256/ab/.tmpAbC\n\
         temp          4 B  exp/objects/tmp/.copy-x1y2\n"
    );
    let err = stderr(&out);
    for f in ["exp/objects/README", "exp/objects/sha256/ab/notes.txt"] {
        assert!(err.contains(&format!("warning: {f} is not part of the store layout")), "{err}");
    }
    assert!(err.contains("Also removed 2 stale temporary files."), "{err}");
    assert!(!temp.exists() && !old_temp.exists());
    for f in &foreign {
        assert_eq!(std::fs::read_to_string(f).unwrap(), "keep me", "{}", f.display());
    }
    let json = gc_json(&repo, &["--keep-recent", "0s"]);
    let mut expected: Vec<String> = vec![
        "exp/objects/README".into(),
        format!("exp/objects/sha256/ab/{}", "C".repeat(62)),
        format!("exp/objects/sha256/ab/{}", "c".repeat(63)),
        "exp/objects/sha256/ab/notes.txt".into(),
    ];
    expected.sort();
    assert_eq!(json["foreign"], serde_json::json!(expected));
}

#[test]
fn gc_removes_python_clients_of_other_versions() {
    let repo = TestRepo::new();
    run_plain(&repo, "a");
    let python = repo.root.join(".git/exp/python");
    let current: Vec<String> = list_dir(&python);
    assert_eq!(current.len(), 1, "a run unpacks the client: {current:?}");
    let old = python.join("0123456789abcdef");
    std::fs::create_dir_all(old.join("lib/git_exp")).unwrap();
    std::fs::write(old.join("lib/git_exp/__init__.py"), "x = 1\n").unwrap();
    std::fs::write(python.join("notes"), "mine").unwrap();

    let out = repo.exp(&["gc", "-n", "--keep-recent", "0s"]);
    assert_eq!(stdout(&out), "python        6 B  exp/python/0123456789abcdef\n");
    assert!(old.is_dir());
    let out = repo.exp(&["gc", "--keep-recent", "0s"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("Also removed 1 unused Python client."), "{}", stderr(&out));
    assert!(!old.exists());
    let mut left = current.clone();
    left.push("notes".into());
    left.sort();
    assert_eq!(list_dir(&python), left);
}

fn list_dir(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
