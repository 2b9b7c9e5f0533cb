//! `git exp push`, `pull` and `init`: runs travel through a bare remote with
//! the real git, large artifacts through a remote store (a `file://` directory
//! here, and an S3-compatible server on loopback: see `common::s3`).

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{s3, stderr, stdout, walk_files, TestRepo};

/// A repository with a bare remote `origin` and a clone of it, sharing one
/// environment.
struct Team {
    repo: TestRepo,
    bare: PathBuf,
    clone: PathBuf,
    /// Extra environment (S3 settings) for every git-exp command.
    vars: Vec<(String, String)>,
}

impl Team {
    fn new() -> Team {
        let repo = TestRepo::new();
        repo.git(&["config", "exp.artifacts.inlineMax", "1000"]);
        let bare = repo.tmp.path().join("remote.git");
        repo.git(&["init", "-q", "--bare", bare.to_str().unwrap()]);
        repo.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
        repo.git(&["push", "-q", "-u", "origin", "main"]);
        let clone = repo.tmp.path().join("clone");
        repo.git_in(repo.tmp.path(), &["clone", "-q", bare.to_str().unwrap(), "clone"]);
        repo.git_in(&clone, &["config", "exp.artifacts.inlineMax", "1000"]);
        Team { repo, bare, clone, vars: Vec::new() }
    }

    /// A team whose store is `s3://BUCKET/PREFIX/artifacts` on the S3-compatible
    /// `server`.
    fn with_s3(server: &s3::S3, prefix: &str) -> Team {
        let mut team = Team::new();
        team.vars = server.credentials.to_vec();
        team.vars.push(("AWS_ENDPOINT_URL".into(), server.endpoint.clone()));
        team.store(&format!("s3://{}/{prefix}/artifacts", server.bucket));
        team
    }

    /// Configures the same artifact store in both repositories.
    fn store(&self, url: &str) {
        for dir in [&self.repo.root, &self.clone] {
            self.repo.git_in(dir, &["config", "remote.origin.expArtifacts", url]);
        }
    }

    fn exp_in(&self, dir: &Path, args: &[&str]) -> Output {
        let mut cmd = self.repo.cmd_in(dir, args);
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        cmd.output().expect("git-exp runs")
    }

    fn ok_in(&self, dir: &Path, args: &[&str]) -> Output {
        let out = self.exp_in(dir, args);
        assert!(out.status.success(), "git-exp {args:?} failed: {}", stderr(&out));
        out
    }

    /// A run in `dir` whose command writes `bytes` as `artifacts/<file>`.
    fn run_with_artifact(&self, dir: &Path, name: &str, file: &str, bytes: &[u8]) {
        let src = self.repo.tmp.path().join(format!("src-{}", name.replace('/', "_")));
        std::fs::write(&src, bytes).unwrap();
        let script = format!(
            "mkdir -p \"$GIT_EXP_DIR/artifacts\" && cp '{}' \"$GIT_EXP_DIR/artifacts/{file}\"",
            src.display()
        );
        self.ok_in(dir, &["run", "-q", "-n", name, "--", "sh", "-c", &script]);
    }

    fn remote_refs(&self) -> String {
        self.repo.git(&["ls-remote", self.bare.to_str().unwrap(), "refs/experiments/*"])
    }
}

fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 9) as u8).collect()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).expect("json report")
}

#[test]
fn push_then_pull_with_artifacts_through_a_file_store() {
    let team = Team::new();
    let bucket = team.repo.tmp.path().join("bucket");
    team.store(&format!("file://{}", bucket.display()));
    let model = data(300_000, 1);
    team.run_with_artifact(&team.repo.root, "train/a", "model.bin", &model);
    team.run_with_artifact(&team.repo.root, "train/b", "model.bin", &model);
    team.ok_in(&team.repo.root, &["run", "-q", "-n", "tiny", "--", "true"]);

    let out = team.ok_in(&team.repo.root, &["push", "--format", "json"]);
    let report = json(&out);
    let outcomes: Vec<(&str, &str)> = report["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap(), r["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(outcomes, [("tiny", "new"), ("train/a", "new"), ("train/b", "new")]);
    // One object for the two runs' identical model.
    assert_eq!(report["artifacts"]["transferred"].as_array().unwrap().len(), 1);
    let stored = walk_files(&bucket.join("sha256"));
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(std::fs::read(&stored[0]).unwrap(), model);
    let refs = team.remote_refs();
    for name in ["tiny", "train/a", "train/b"] {
        let local = team.repo.git(&["rev-parse", &format!("refs/experiments/{name}")]);
        assert!(refs.contains(&format!("{}\trefs/experiments/{name}", local.trim())), "{refs}");
    }

    // Again: nothing to send.
    let report = json(&team.ok_in(&team.repo.root, &["push", "--format", "json"]));
    assert!(report["runs"].as_array().unwrap().iter().all(|r| r["outcome"] == "up-to-date"));
    assert_eq!(report["artifacts"]["present"].as_array().unwrap().len(), 1);

    // The clone fetches the runs, then their artifacts.
    let out = team.ok_in(&team.clone, &["pull"]);
    assert!(stderr(&out).contains("Fetched 3 runs from origin"), "{}", stderr(&out));
    let listed = stdout(&team.ok_in(&team.clone, &["artifacts", "train/a", "--format", "csv"]));
    assert!(listed.contains(",store,no,"), "{listed}");
    let out = team.ok_in(&team.clone, &["pull", "--artifacts", "--format", "json"]);
    assert_eq!(json(&out)["artifacts"]["transferred"].as_array().unwrap().len(), 1);
    let listed = stdout(&team.ok_in(&team.clone, &["artifacts", "train/a", "--format", "csv"]));
    assert!(listed.contains(",store,yes,"), "{listed}");
    let dest = team.repo.tmp.path().join("restored.bin");
    team.ok_in(&team.clone, &["get", "train/b", "model.bin", "-o", dest.to_str().unwrap()]);
    assert_eq!(std::fs::read(&dest).unwrap(), model);
    // The same commits on both sides, and both repositories are sound.
    for name in ["tiny", "train/a"] {
        let r = format!("refs/experiments/{name}");
        assert_eq!(
            team.repo.git(&["rev-parse", &r]),
            team.repo.git_in(&team.clone, &["rev-parse", &r])
        );
    }
    team.repo.fsck();
    team.repo.git_in(&team.clone, &["fsck", "--strict", "--no-dangling"]);
}

#[test]
fn push_without_a_store_refuses_before_sending_anything() {
    let team = Team::new();
    team.run_with_artifact(&team.repo.root, "big", "weights.bin", &data(5000, 2));
    let out = team.exp_in(&team.repo.root, &["push"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("1 large artifact (4.9 KiB) need an artifact store"), "{err}");
    assert!(err.contains("git config remote.origin.expArtifacts"), "{err}");
    assert_eq!(team.remote_refs(), "");
    // Runs alone, on request.
    team.ok_in(&team.repo.root, &["push", "--no-artifacts"]);
    assert!(team.remote_refs().contains("refs/experiments/big"));
}

#[test]
fn a_run_whose_artifact_cannot_be_uploaded_is_held_back() {
    let team = Team::new();
    let bucket = team.repo.tmp.path().join("bucket");
    team.store(&format!("file://{}", bucket.display()));
    team.run_with_artifact(&team.repo.root, "lost", "a.bin", &data(4000, 3));
    team.run_with_artifact(&team.repo.root, "fine", "b.bin", &data(4000, 4));
    // The local copy of lost's artifact is gone (and the store never had it).
    let lost = stdout(&team.ok_in(&team.repo.root, &["artifacts", "lost", "--format", "csv"]));
    let sha = lost.lines().nth(1).unwrap().split(',').nth(4).unwrap().to_owned();
    let git_dir = team.repo.root.join(".git");
    std::fs::remove_file(git_dir.join("exp/objects/sha256").join(&sha[..2]).join(&sha[2..]))
        .unwrap();
    let out = team.exp_in(&team.repo.root, &["push"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("run lost was not pushed"), "{err}");
    assert!(err.contains("not in the local store, nor in the artifact store"), "{err}");
    let refs = team.remote_refs();
    assert!(refs.contains("refs/experiments/fine") && !refs.contains("refs/experiments/lost"));
    let out = team.exp_in(&team.repo.root, &["push", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    let lost = report["runs"].as_array().unwrap().iter().find(|r| r["name"] == "lost").unwrap();
    assert_eq!(lost["outcome"], "held-back");
    assert_eq!(report["artifacts"]["failed"][0]["sha256"], sha.as_str());
}

#[test]
fn a_name_taken_on_the_other_side_is_never_overwritten() {
    let team = Team::new();
    team.ok_in(&team.repo.root, &["run", "-q", "-n", "baseline", "--", "true"]);
    team.ok_in(&team.repo.root, &["push"]);
    let theirs = team.repo.git(&["rev-parse", "refs/experiments/baseline"]);
    // A colleague made a different run with the same name.
    team.ok_in(&team.clone, &["run", "-q", "-n", "baseline", "--", "sh", "-c", "echo other"]);
    team.ok_in(&team.clone, &["run", "-q", "-n", "mine", "--", "true"]);
    let mine = team.repo.git_in(&team.clone, &["rev-parse", "refs/experiments/baseline"]);
    assert_ne!(theirs, mine);

    let out = team.exp_in(&team.clone, &["push"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("run baseline: origin has a different run of this name")
            && err.contains("rename yours with `git exp rename baseline NEW-NAME` and push again"),
        "{err}"
    );
    let refs = team.remote_refs();
    assert!(refs.contains(&format!("{}\trefs/experiments/baseline", theirs.trim())), "{refs}");
    assert!(refs.contains("refs/experiments/mine"), "the other runs still go: {refs}");

    let out = team.exp_in(&team.clone, &["pull"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("you have a different run of this name"), "{}", stderr(&out));
    assert_eq!(team.repo.git_in(&team.clone, &["rev-parse", "refs/experiments/baseline"]), mine);
}

#[test]
fn runs_can_be_named_and_dry_runs_change_nothing() {
    let team = Team::new();
    team.ok_in(&team.repo.root, &["run", "-q", "-n", "one", "--", "true"]);
    team.ok_in(&team.repo.root, &["run", "-q", "-n", "two", "--", "true"]);
    let out = team.ok_in(&team.repo.root, &["push", "--dry-run"]);
    assert!(stderr(&out).contains("Would push 2 runs to origin"), "{}", stderr(&out));
    assert_eq!(team.remote_refs(), "");
    // A run as the first argument: the default remote.
    team.ok_in(&team.repo.root, &["push", "one"]);
    let refs = team.remote_refs();
    assert!(refs.contains("refs/experiments/one") && !refs.contains("refs/experiments/two"));
    team.ok_in(&team.repo.root, &["push", "origin", "two"]);
    team.ok_in(&team.clone, &["fetch", "origin", "two"]);
    let names: Vec<String> = team
        .repo
        .git_in(&team.clone, &["for-each-ref", "--format=%(refname)", "refs/experiments"])
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(names, ["refs/experiments/two"]);
    let out = team.exp_in(&team.clone, &["pull", "origin", "three"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("origin has no run named 'three'"), "{}", stderr(&out));
    let out = team.exp_in(&team.repo.root, &["push", "nowhere"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("'nowhere' is neither a git remote nor a run"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn init_makes_plain_git_push_and_fetch_carry_runs_and_keeps_branch_pushes() {
    let team = Team::new();
    let root = &team.repo.root;
    team.ok_in(root, &["init"]);
    let pushes = team.repo.git(&["config", "--get-all", "remote.origin.push"]);
    assert_eq!(pushes, "HEAD\nrefs/experiments/*:refs/experiments/*\n");
    // A second init adds nothing.
    team.ok_in(root, &["init"]);
    assert_eq!(team.repo.git(&["config", "--get-all", "remote.origin.push"]), pushes);

    // A branch that must not be pushed, then work on main.
    team.repo.git(&["branch", "feature"]);
    team.repo.git(&["checkout", "-q", "feature"]);
    team.repo.write("f.txt", "feature\n");
    team.repo.git(&["add", "f.txt"]);
    team.repo.git(&["commit", "-q", "-m", "feature work"]);
    team.repo.git(&["checkout", "-q", "main"]);
    team.repo.write("m.txt", "main\n");
    team.repo.git(&["add", "m.txt"]);
    team.repo.git(&["commit", "-q", "-m", "main work"]);
    team.ok_in(root, &["run", "-q", "-n", "carried", "--", "true"]);
    team.repo.git(&["push", "-q"]);
    let heads = team.repo.git(&["ls-remote", team.bare.to_str().unwrap()]);
    let main = team.repo.git(&["rev-parse", "main"]);
    assert!(heads.contains(&format!("{}\trefs/heads/main", main.trim())), "{heads}");
    assert!(!heads.contains("refs/heads/feature"), "only the current branch: {heads}");
    assert!(heads.contains("refs/experiments/carried"), "{heads}");

    // The clone: plain git fetch brings the runs once it is set up.
    team.ok_in(&team.clone, &["init"]);
    team.repo.git_in(&team.clone, &["fetch", "-q"]);
    let there = team.repo.git_in(&team.clone, &["for-each-ref", "refs/experiments"]);
    assert!(there.contains("refs/experiments/carried"), "{there}");

    team.ok_in(root, &["init", "--remove"]);
    let left = std::process::Command::new("git")
        .args(["-C", root.to_str().unwrap(), "config", "--get-all", "remote.origin.push"])
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert_eq!(stdout(&left), "", "init --remove takes back what it added");
    assert_eq!(
        team.repo.git(&["config", "--get-all", "remote.origin.fetch"]),
        "+refs/heads/*:refs/remotes/origin/*\n"
    );
}

/// Against a real S3-compatible server on loopback (`common::s3`: the one
/// `GIT_EXP_TEST_S3_ENDPOINT` names, else moto started by the tests).
#[test]
fn push_and_pull_through_an_s3_compatible_server() {
    let Some(server) = s3::http("share::push_and_pull_through_an_s3_compatible_server") else {
        return;
    };
    let bucket = &server.bucket;
    let prefix = format!("t{}", std::process::id());
    let team = Team::with_s3(server, &prefix);
    // Large enough for a multipart upload, and a small store object.
    let big = data(20 << 20, 5);
    let small = data(70_000, 6);
    team.run_with_artifact(&team.repo.root, "s3/big", "weights.bin", &big);
    team.run_with_artifact(&team.repo.root, "s3/small", "plot.bin", &small);
    let report = json(&team.ok_in(&team.repo.root, &["push", "--format", "json"]));
    assert_eq!(report["artifacts"]["transferred"].as_array().unwrap().len(), 2, "{report}");
    let again = json(&team.ok_in(&team.repo.root, &["push", "--format", "json"]));
    assert_eq!(again["artifacts"]["present"].as_array().unwrap().len(), 2, "{again}");

    team.ok_in(&team.clone, &["pull", "--artifacts"]);
    for (run, file, bytes) in [("s3/big", "weights.bin", &big), ("s3/small", "plot.bin", &small)] {
        let dest = team.repo.tmp.path().join(format!("got-{file}"));
        team.ok_in(&team.clone, &["get", run, file, "-o", dest.to_str().unwrap()]);
        assert!(std::fs::read(&dest).unwrap() == *bytes, "{file} differs");
    }
    // `get` fetches on demand too: a third clone without pull --artifacts.
    let third = team.repo.tmp.path().join("third");
    team.repo.git_in(team.repo.tmp.path(), &["clone", "-q", team.bare.to_str().unwrap(), "third"]);
    team.repo.git_in(
        &third,
        &["config", "exp.artifacts.url", &format!("s3://{bucket}/{prefix}/artifacts")],
    );
    team.ok_in(&third, &["pull"]);
    let dest = team.repo.tmp.path().join("on-demand.bin");
    team.ok_in(&third, &["get", "s3/small", "plot.bin", "-o", dest.to_str().unwrap()]);
    assert!(std::fs::read(&dest).unwrap() == small);
}

#[test]
fn an_interrupted_push_resumes_with_what_it_did_not_finish() {
    let team = Team::new();
    let bucket = team.repo.tmp.path().join("bucket");
    team.store(&format!("file://{}", bucket.display()));
    team.repo.git(&["config", "exp.artifacts.jobs", "1"]);
    let files: Vec<Vec<u8>> = (0..24).map(|i| data(3 << 20, 100 + i as u8)).collect();
    let src = team.repo.tmp.path().join("many");
    std::fs::create_dir_all(&src).unwrap();
    for (i, bytes) in files.iter().enumerate() {
        std::fs::write(src.join(format!("part-{i:02}.bin")), bytes).unwrap();
    }
    let script = format!(
        "mkdir -p \"$GIT_EXP_DIR/artifacts\" && cp '{}'/* \"$GIT_EXP_DIR/artifacts/\"",
        src.display()
    );
    team.ok_in(&team.repo.root, &["run", "-q", "-n", "many", "--", "sh", "-c", &script]);

    // Kill the push (SIGKILL: no chance to clean up) once some objects are in the store.
    let mut child = team.repo.cmd_in(&team.repo.root, &["push", "-q"]).spawn().unwrap();
    // Complete objects only (a file store writes `<hash>#N` first, then renames).
    let complete = |b: &Path| -> Vec<PathBuf> {
        walk_files(&b.join("sha256"))
            .into_iter()
            .filter(|p| p.file_name().unwrap().to_str().unwrap().len() == 62)
            .collect()
    };
    let stored = |b: &Path| complete(b).len();
    let start = std::time::Instant::now();
    while stored(&bucket) == 0 && start.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    child.kill().unwrap();
    crate::common::wait_deadline(child, std::time::Duration::from_secs(60));
    let before = stored(&bucket);
    assert!(before > 0 && before < files.len(), "killed after {before} of {} objects", files.len());
    assert_eq!(team.remote_refs(), "", "no ref before all its artifacts are stored");

    let report = json(&team.ok_in(&team.repo.root, &["push", "--format", "json"]));
    let count = |k: &str| report["artifacts"][k].as_array().unwrap().len();
    assert_eq!(count("present"), before, "{report}");
    assert_eq!(count("transferred"), files.len() - before);
    assert!(team.remote_refs().contains("refs/experiments/many"));
    let mut in_store: Vec<Vec<u8>> =
        complete(&bucket).iter().map(|p| std::fs::read(p).unwrap()).collect();
    let mut want = files.clone();
    in_store.sort();
    want.sort();
    assert!(in_store == want, "every object whole and right");
}

#[test]
fn init_keeps_unpushed_runs_from_pruning_and_leaves_upstream_pushes_alone() {
    let team = Team::new();
    let root = &team.repo.root;
    team.repo.git(&["config", "fetch.prune", "true"]);
    let out = team.ok_in(root, &["init"]);
    assert!(stderr(&out).contains("no longer prune"), "{}", stderr(&out));
    assert_eq!(team.repo.git(&["config", "remote.origin.prune"]), "false\n");
    // A run not pushed yet survives a plain (pruning) fetch.
    team.ok_in(root, &["run", "-q", "-n", "unpushed", "--", "true"]);
    team.repo.git(&["fetch", "-q"]);
    assert!(team.repo.git(&["for-each-ref", "refs/experiments"]).contains("unpushed"));
    team.ok_in(root, &["init", "--remove"]);
    let left = std::process::Command::new("git")
        .args(["-C", root.to_str().unwrap(), "config", "--get-all", "remote.origin.prune"])
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert_eq!(stdout(&left), "", "init --remove takes back the prune setting");

    // push.default=upstream has no refspec equivalent: git push is left alone.
    team.repo.git_in(&team.clone, &["config", "push.default", "upstream"]);
    let out = team.ok_in(&team.clone, &["init"]);
    assert!(stderr(&out).contains("plain git push is left as it is"), "{}", stderr(&out));
    let pushes = std::process::Command::new("git")
        .args(["-C", team.clone.to_str().unwrap(), "config", "--get-all", "remote.origin.push"])
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert_eq!(stdout(&pushes), "");
    let fetches = team.repo.git_in(&team.clone, &["config", "--get-all", "remote.origin.fetch"]);
    assert!(fetches.contains("refs/experiments/*:refs/experiments/*"), "{fetches}");
}

#[test]
fn a_name_used_as_a_group_on_the_other_side_is_a_clash_not_a_retry() {
    let team = Team::new();
    team.ok_in(&team.repo.root, &["run", "-q", "-n", "grp", "--", "true"]);
    team.ok_in(&team.repo.root, &["push"]);
    team.ok_in(&team.clone, &["run", "-q", "-n", "grp/x", "--", "true"]);
    let out = team.exp_in(&team.clone, &["push", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    assert_eq!(report["runs"][0]["outcome"], "name-clash");
    assert_eq!(report["runs"][0]["clashes_with"], "grp");
    assert!(
        stderr(&out).contains("a name cannot be both a run and a group of runs; rename yours with `git exp rename grp/x NEW-NAME`"),
        "{}",
        stderr(&out)
    );
    let out = team.exp_in(&team.clone, &["pull"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("you have run grp/x"), "{}", stderr(&out));
}

#[test]
fn a_damaged_run_is_held_back_without_stopping_the_others_or_reaching_the_terminal() {
    let team = Team::new();
    let bucket = team.repo.tmp.path().join("bucket");
    team.store(&format!("file://{}", bucket.display()));
    team.ok_in(&team.repo.root, &["run", "-q", "-n", "good", "--", "true"]);
    team.repo.forge_artifacts(
        "good",
        "evil",
        "[[artifact]]\npath = 1 \u{1b}]0;PWNED\u{7}\u{1b}[31mRED\n",
    );
    let out = team.exp_in(&team.repo.root, &["push"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(!err.contains('\u{1b}') && !err.contains('\u{7}'), "control characters: {err:?}");
    assert!(err.contains("warning: run evil:") && err.contains("git exp rm evil"), "{err}");
    assert!(err.contains("run evil was not pushed"), "{err}");
    let refs = team.remote_refs();
    assert!(refs.contains("refs/experiments/good") && !refs.contains("refs/experiments/evil"));
    // Pushed with plain git, it reaches a colleague, who is told at once.
    team.repo.git(&["push", "-q", "origin", "refs/experiments/evil"]);
    let out = team.exp_in(&team.clone, &["pull"]);
    let err = stderr(&out);
    assert!(err.contains("warning: fetched run evil cannot be read"), "{err}");
    assert!(!err.contains('\u{1b}'), "control characters: {err:?}");
}

#[test]
fn credentials_in_urls_are_never_shown() {
    let team = Team::new();
    team.run_with_artifact(&team.repo.root, "big", "w.bin", &data(5000, 9));
    team.repo.git(&["config", "exp.artifacts.url", "s3://AKIAEXAMPLE:wJalrSECRET@bucket/x"]);
    let out = team.exp_in(&team.repo.root, &["push", "-n"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("credentials do not belong in the URL"), "{err}");
    assert!(!err.contains("SECRET") && !err.contains("AKIAEXAMPLE"), "{err}");
    team.repo.git(&["config", "exp.artifacts.url", "az://container/x?sig=SECRETSIG"]);
    let out = team.exp_in(&team.repo.root, &["push", "-n"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!stderr(&out).contains("SECRETSIG"), "{}", stderr(&out));
    // A git remote URL with a token.
    let out = team.exp_in(&team.repo.root, &["push", "http://user:tok3n@127.0.0.1:9/x.git", "big"]);
    assert_ne!(out.status.code(), Some(0));
    let text = stderr(&out);
    let ours: Vec<&str> = text.lines().filter(|l| l.starts_with("error:")).collect();
    assert!(!ours.is_empty() && ours.iter().all(|l| !l.contains("tok3n")), "{ours:?}");
}

#[test]
fn a_progress_bar_is_drawn_on_a_terminal_only() {
    let team = Team::new();
    let bucket = team.repo.tmp.path().join("bucket");
    team.store(&format!("file://{}", bucket.display()));
    team.run_with_artifact(&team.repo.root, "pb", "w.bin", &data(40 << 20, 7));
    // Piped: status lines, no bar.
    team.ok_in(&team.repo.root, &["push", "--dry-run"]);
    let out = team.ok_in(&team.repo.root, &["push", "origin", "pb"]);
    assert!(!stderr(&out).contains("Uploading artifacts"), "{}", stderr(&out));
    // In a terminal (script(1) gives the command one): the bar, then the summary.
    let dest = team.repo.tmp.path().join("bucket2");
    team.repo.git(&["config", "remote.origin.expArtifacts", &format!("file://{}", dest.display())]);
    let inner = format!(
        "cd {} && {} push --no-artifacts origin pb >/dev/null 2>&1; {} push origin pb",
        team.repo.root.display(),
        crate::common::git_exp_bin().display(),
        crate::common::git_exp_bin().display()
    );
    let mut cmd = std::process::Command::new("script");
    team.repo.env(&mut cmd);
    let out = cmd
        .env("TERM", "xterm")
        .args(["-qfec", &inner, "/dev/null"])
        .output()
        .expect("script(1) runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Uploading artifacts") && text.contains("40.00 MiB"), "{text}");
    assert!(text.contains("Uploaded 1 artifact (40.0 MiB)"), "{text}");
}

/// Against the S3-compatible server over TLS whose certificate a throwaway CA
/// signed (`common::s3`: `GIT_EXP_TEST_S3_TLS_ENDPOINT` and
/// `GIT_EXP_TEST_S3_CA`, else moto started by the tests with a CA made with
/// openssl). The CA is trusted the way a user would: `SSL_CERT_FILE`, which
/// the TLS layer reads instead of the system's list.
#[test]
fn push_and_pull_over_https_with_a_private_ca() {
    let Some(server) = s3::https("share::push_and_pull_over_https_with_a_private_ca") else {
        return;
    };
    assert!(server.endpoint.starts_with("https://"), "{}", server.endpoint);
    let ca = server.ca.as_ref().expect("a CA for https").to_str().unwrap().to_owned();
    let prefix = format!("tls{}", std::process::id());
    let mut team = Team::with_s3(server, &prefix);
    // Large enough for a multipart upload, and a small store object.
    let big = data(17 << 20, 15);
    let small = data(60_000, 16);
    team.run_with_artifact(&team.repo.root, "tls/big", "weights.bin", &big);
    team.run_with_artifact(&team.repo.root, "tls/small", "plot.bin", &small);

    // Without the CA: the certificate is refused, on one line, and nothing is
    // left half done (the runs stay unpushed).
    let out = team.exp_in(&team.repo.root, &["push"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    let cert_lines: Vec<&str> = err.lines().filter(|l| l.contains("certificate")).collect();
    assert!(!cert_lines.is_empty(), "no certificate error: {err}");
    assert!(
        cert_lines.iter().all(|l| l.starts_with("error: ") && l.contains("SSL_CERT_FILE")),
        "{err}"
    );
    assert!(!team.remote_refs().contains("refs/experiments/tls/"), "{}", team.remote_refs());

    // With it: everything goes through.
    team.vars.push(("SSL_CERT_FILE".into(), ca));
    let report = json(&team.ok_in(&team.repo.root, &["push", "--format", "json"]));
    assert_eq!(report["artifacts"]["transferred"].as_array().unwrap().len(), 2, "{report}");
    assert!(report["artifacts"]["failed"].as_array().is_none_or(|f| f.is_empty()), "{report}");
    team.ok_in(&team.clone, &["pull", "--artifacts"]);
    for (run, file, bytes) in [("tls/big", "weights.bin", &big), ("tls/small", "plot.bin", &small)]
    {
        let dest = team.repo.tmp.path().join(format!("tls-{file}"));
        team.ok_in(&team.clone, &["get", run, file, "-o", dest.to_str().unwrap()]);
        assert!(std::fs::read(&dest).unwrap() == *bytes, "{file} differs");
    }
}

/// Every spelling git accepts for a true boolean, on `fetch.prune` and on the
/// remote's own `prune` (including a `prune` line with no `=`), is taken as
/// pruning: `init` turns it off, and a plain fetch keeps an unpushed run.
/// See: issue 11, item 13.
#[test]
fn init_turns_off_pruning_however_git_spells_true() {
    let spellings = ["true", "True", "TRUE", "yes", "On", "1", "2"];
    let mut cases: Vec<(&str, Option<&str>)> = Vec::new();
    for s in spellings {
        cases.push(("fetch.prune", Some(s)));
        cases.push(("remote.origin.prune", Some(s)));
    }
    // `[remote "origin"]` with a bare `prune` line means true to git.
    cases.push(("remote.origin.prune", None));
    for (key, value) in cases {
        let team = Team::new();
        let root = &team.repo.root;
        match value {
            Some(v) => {
                team.repo.git(&["config", key, v]);
            }
            None => {
                let config = root.join(".git/config");
                let mut text = std::fs::read_to_string(&config).unwrap();
                text.push_str("[remote \"origin\"]\n\tprune\n");
                std::fs::write(&config, text).unwrap();
            }
        }
        let out = team.ok_in(root, &["init"]);
        assert!(stderr(&out).contains("no longer prune"), "{key} = {value:?}: {}", stderr(&out));
        assert_eq!(
            team.repo.git(&["config", "--type=bool", "--get", "remote.origin.prune"]),
            "false\n",
            "{key} = {value:?}"
        );
        team.ok_in(root, &["run", "-q", "-n", "unpushed", "--", "true"]);
        team.repo.git(&["fetch", "-q"]);
        assert!(
            team.repo.git(&["for-each-ref", "refs/experiments"]).contains("unpushed"),
            "{key} = {value:?}: a plain fetch deleted the unpushed run"
        );
    }
}

/// Pruning that is off in any spelling is left alone, also when the remote's
/// own setting overrides a pruning `fetch.prune`.
#[test]
fn init_leaves_pruning_alone_when_git_says_it_is_off() {
    for (settings, spelling) in [
        (&[("fetch.prune", "False")][..], "False"),
        (&[("fetch.prune", "off")], "off"),
        (&[("fetch.prune", "0")], "0"),
        (&[("fetch.prune", "true"), ("remote.origin.prune", "No")], "No"),
        (&[("fetch.prune", "yes"), ("remote.origin.prune", "")], "empty"),
    ] {
        let team = Team::new();
        for (k, v) in settings {
            team.repo.git(&["config", k, v]);
        }
        let out = team.ok_in(&team.repo.root, &["init"]);
        assert!(!stderr(&out).contains("no longer prune"), "{spelling}: {}", stderr(&out));
        let all = std::process::Command::new("git")
            .args(["-C", team.repo.root.to_str().unwrap(), "config", "--get-all"])
            .arg("remote.origin.expPruneSet")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .unwrap();
        assert_eq!(stdout(&all), "", "{spelling}: nothing to take back later");
    }
}

/// A prune value git cannot read as a boolean stops `init` with the key named,
/// rather than being taken as "off".
#[test]
fn init_refuses_a_prune_value_git_cannot_read() {
    let team = Team::new();
    team.repo.git(&["config", "remote.origin.prune", "maybe"]);
    let out = team.exp_in(&team.repo.root, &["init"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("remote.origin.prune"), "{}", stderr(&out));
    let fetches = team.repo.git(&["config", "--get-all", "remote.origin.fetch"]);
    assert!(!fetches.contains("refs/experiments"), "nothing changed: {fetches}");
}

/// The commit of run `name` in `dir`, or `None`.
fn local_run(team: &Team, dir: &Path, name: &str) -> Option<String> {
    let refs = team.repo.git_in(dir, &["for-each-ref", "--format=%(refname) %(objectname)"]);
    refs.lines()
        .find_map(|l| l.strip_prefix(&format!("refs/experiments/{name} ")).map(str::to_owned))
}

/// The outcome of run `name` in a push or pull JSON report.
fn outcome_of(report: &serde_json::Value, name: &str) -> Option<String> {
    report["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .map(|r| r["outcome"].as_str().unwrap().to_owned())
}

// See: issue 11, item 12 (runs removed with `rm` came back on the next pull).
#[test]
fn a_run_removed_here_stays_removed_on_pull_unless_asked_for() {
    let team = Team::new();
    team.ok_in(&team.repo.root, &["run", "-q", "-n", "a", "--", "true"]);
    team.ok_in(&team.repo.root, &["run", "-q", "-n", "b", "--", "true"]);
    team.ok_in(&team.repo.root, &["push", "-q"]);
    let clone = &team.clone;
    team.ok_in(clone, &["pull", "-q"]);
    let a = local_run(&team, clone, "a").expect("a fetched");
    team.ok_in(clone, &["rm", "-q", "a"]);

    let out = team.ok_in(clone, &["pull"]);
    assert_eq!(local_run(&team, clone, "a"), None, "rm'd run came back");
    let err = stderr(&out);
    assert!(err.contains(&format!("Skipped run a ({}): removed here", &a[..7])), "{err}");
    assert!(err.contains("`git exp pull origin a`"), "{err}");
    assert!(err.contains("Fetched 0 runs from origin (1 up to date, 1 removed here)."), "{err}");
    let out = team.ok_in(clone, &["pull", "--dry-run", "--format", "json"]);
    let report = json(&out);
    assert_eq!(outcome_of(&report, "a").as_deref(), Some("removed-here"));
    assert_eq!(outcome_of(&report, "b").as_deref(), Some("up-to-date"));

    // Named, it comes back; and then it is an ordinary run again.
    team.ok_in(clone, &["pull", "-q", "origin", "a"]);
    assert_eq!(local_run(&team, clone, "a").as_deref(), Some(a.as_str()));
    let report = json(&team.ok_in(clone, &["pull", "--format", "json"]));
    assert_eq!(outcome_of(&report, "a").as_deref(), Some("up-to-date"));

    // --include-removed brings back every run removed here.
    team.ok_in(clone, &["rm", "-q", "a", "b"]);
    team.ok_in(clone, &["pull", "-q"]);
    assert_eq!((local_run(&team, clone, "a"), local_run(&team, clone, "b")), (None, None));
    let report = json(&team.ok_in(clone, &["pull", "--include-removed", "--format", "json"]));
    assert_eq!(outcome_of(&report, "a").as_deref(), Some("new"));
    assert_eq!(outcome_of(&report, "b").as_deref(), Some("new"));
    assert_eq!(local_run(&team, clone, "a").as_deref(), Some(a.as_str()));
    team.repo.git_in(clone, &["fsck", "--strict", "--no-progress"]);
}

#[test]
fn a_different_run_pushed_later_under_a_removed_name_is_pulled() {
    let team = Team::new();
    team.ok_in(&team.repo.root, &["run", "-q", "-n", "a", "--", "true"]);
    team.ok_in(&team.repo.root, &["push", "-q"]);
    let clone = &team.clone;
    team.ok_in(clone, &["pull", "-q"]);
    let old = local_run(&team, clone, "a").unwrap();
    team.ok_in(clone, &["rm", "-q", "a"]);
    // The author replaces the run on the remote with a new one of that name.
    team.ok_in(&team.repo.root, &["rm", "-q", "--remote", "a"]);
    team.ok_in(&team.repo.root, &["run", "-q", "-n", "a", "--", "sh", "-c", "echo again"]);
    team.ok_in(&team.repo.root, &["push", "-q"]);
    let new = local_run(&team, &team.repo.root, "a").unwrap();
    assert_ne!(old, new);
    let report = json(&team.ok_in(clone, &["pull", "--format", "json"]));
    assert_eq!(outcome_of(&report, "a").as_deref(), Some("new"));
    assert_eq!(local_run(&team, clone, "a"), Some(new));
}

#[test]
fn a_damaged_memory_of_removed_runs_is_a_warning_not_an_error() {
    let team = Team::new();
    team.ok_in(&team.repo.root, &["run", "-q", "-n", "a", "--", "true"]);
    team.ok_in(&team.repo.root, &["push", "-q"]);
    let clone = &team.clone;
    team.ok_in(clone, &["pull", "-q"]);
    team.ok_in(clone, &["rm", "-q", "a"]);
    let file = clone.join(".git/exp/removed.json");
    assert!(file.is_file(), "rm remembers the run in .git/exp/removed.json");
    std::fs::write(&file, b"{\"format\": 1, \"runs\": [garbage\x1b[2J").unwrap();
    let out = team.ok_in(clone, &["pull", "-q"]);
    let err = stderr(&out);
    assert!(err.starts_with("warning: "), "{err}");
    assert!(err.contains("removed.json"), "{err}");
    assert!(!err.contains('\x1b'), "{err:?}");
    // Read as empty: the run comes back.
    assert!(local_run(&team, clone, "a").is_some());
}

#[test]
fn rm_remote_deletes_the_run_on_the_remote_too() {
    let team = Team::new();
    let root = &team.repo.root;
    for name in ["a", "b", "c"] {
        team.ok_in(root, &["run", "-q", "-n", name, "--", "true"]);
    }
    team.ok_in(root, &["push", "-q"]);
    let out = team.ok_in(root, &["rm", "--remote", "a"]);
    let err = stderr(&out);
    assert!(err.contains("Deleted run a ("), "{err}");
    assert!(err.contains("here and on origin"), "{err}");
    let refs = team.remote_refs();
    assert!(!refs.contains("refs/experiments/a\n"), "{refs}");
    assert!(refs.contains("refs/experiments/b"), "{refs}");
    assert_eq!(local_run(&team, root, "a"), None);
    // The remote named; --dry-run changes nothing on either side.
    let out = team.ok_in(root, &["rm", "--dry-run", "--remote", "origin", "b"]);
    assert!(stderr(&out).contains("Would delete run b ("), "{}", stderr(&out));
    assert!(team.remote_refs().contains("refs/experiments/b"));
    assert!(local_run(&team, root, "b").is_some());
    team.ok_in(root, &["rm", "-q", "--remote", "origin", "b"]);
    assert!(!team.remote_refs().contains("refs/experiments/b"));
    // A run the remote never had is deleted here, and the output says so.
    team.ok_in(root, &["run", "-q", "-n", "local", "--", "true"]);
    let out = team.ok_in(root, &["rm", "--remote", "local"]);
    assert!(stderr(&out).contains("origin did not have it"), "{}", stderr(&out));
    assert!(team.remote_refs().contains("refs/experiments/c"));
}

#[test]
fn rm_remote_never_deletes_a_different_run_of_that_name_there() {
    let team = Team::new();
    let root = &team.repo.root;
    team.ok_in(root, &["run", "-q", "-n", "x", "--", "true"]);
    team.ok_in(root, &["run", "-q", "-n", "y", "--", "true"]);
    team.ok_in(root, &["push", "-q"]);
    let clone = &team.clone;
    team.ok_in(clone, &["pull", "-q"]);
    // The author replaces x on the remote.
    team.ok_in(root, &["rm", "-q", "--remote", "x"]);
    team.ok_in(root, &["run", "-q", "-n", "x", "--", "sh", "-c", "echo new"]);
    team.ok_in(root, &["push", "-q"]);
    let before = team.remote_refs();

    let out = team.exp_in(clone, &["rm", "--remote", "y", "x"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    let theirs = local_run(&team, root, "x").unwrap();
    assert!(
        err.contains(&format!("origin has a different run named x ({})", &theirs[..7])),
        "{err}"
    );
    assert!(err.contains("nothing was deleted"), "{err}");
    assert_eq!(team.remote_refs(), before);
    assert!(local_run(&team, clone, "x").is_some() && local_run(&team, clone, "y").is_some());
}

#[test]
fn a_run_renamed_here_does_not_come_back_under_its_old_name() {
    let team = Team::new();
    team.ok_in(&team.repo.root, &["run", "-q", "-n", "a", "--", "true"]);
    team.ok_in(&team.repo.root, &["push", "-q"]);
    let clone = &team.clone;
    team.ok_in(clone, &["pull", "-q"]);
    team.ok_in(clone, &["rename", "-q", "a", "mine"]);
    let report = json(&team.ok_in(clone, &["pull", "--format", "json"]));
    assert_eq!(outcome_of(&report, "a").as_deref(), Some("removed-here"));
    assert_eq!(local_run(&team, clone, "a"), None);
    assert!(local_run(&team, clone, "mine").is_some());
}

#[test]
fn rm_says_when_plain_git_fetch_would_bring_the_runs_back() {
    let team = Team::new();
    let clone = &team.clone;
    team.ok_in(&team.repo.root, &["run", "-q", "-n", "a", "--", "true"]);
    team.ok_in(&team.repo.root, &["run", "-q", "-n", "b", "--", "true"]);
    team.ok_in(&team.repo.root, &["push", "-q"]);
    team.ok_in(clone, &["pull", "-q"]);
    let out = team.ok_in(clone, &["rm", "a"]);
    assert!(!stderr(&out).contains("git fetch"), "{}", stderr(&out));
    team.ok_in(clone, &["init"]);
    let out = team.ok_in(clone, &["rm", "b"]);
    let err = stderr(&out);
    assert!(err.contains("a plain `git fetch origin` fetches it again"), "{err}");
    assert!(err.contains("`git exp rm --remote origin`"), "{err}");
    // As documented: git itself knows nothing of the memory.
    team.repo.git_in(clone, &["fetch", "-q", "origin"]);
    assert!(local_run(&team, clone, "b").is_some());
}
