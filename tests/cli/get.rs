//! `git exp artifacts RUN` and `git exp get RUN PATH`: listing a run's
//! artifacts and restoring them byte for byte from the run's tree, the local
//! store or a `file://` artifact store; damaged copies and untrusted runs
//! (made by hand with git plumbing) never write anything they should not, nor
//! does `--force` replace special files, nor a signal leave temporary files.

use std::collections::BTreeMap;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{sha256_hex, stderr, stdout, TestRepo};

/// The store threshold of these tests: `models/m.bin` goes to the store,
/// the other files stay inline.
const INLINE_MAX: &str = "4096";

/// The error for a store artifact that is not here, without a store.
const NOT_HERE: &str = concat!(
    "error: models/m.bin is not in the local artifact store, ",
    "and no artifact store is configured to fetch it from"
);
/// The hint that follows it.
const SET_STORE_HINT: &str =
    "\nhint: set the store the run was pushed to: `git config remote.origin.expArtifacts ";

/// The artifacts of run `r1`, by path.
fn files() -> Vec<(&'static str, Vec<u8>)> {
    let big: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
    vec![
        ("models/m.bin", big),
        ("models/sub/s.txt", b"small\n".to_vec()),
        ("notes.txt", b"hello notes\n".to_vec()),
    ]
}

fn content(path: &str) -> Vec<u8> {
    files().into_iter().find(|(p, _)| *p == path).expect("a test artifact").1
}

/// A repository with run `r1` holding [`files`].
fn repo_with_run() -> TestRepo {
    let repo = TestRepo::new();
    repo.git(&["config", "exp.artifacts.inlineMax", INLINE_MAX]);
    let src = repo.tmp.path().join("src");
    for (path, bytes) in files() {
        let file = src.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, bytes).unwrap();
    }
    let copy = r#"cp -R "$1"/. "$GIT_EXP_DIR/artifacts/""#;
    repo.exp_ok(&["run", "-q", "-n", "r1", "--", "sh", "-c", copy, "sh", src.to_str().unwrap()]);
    std::fs::remove_dir_all(&src).unwrap();
    repo
}

/// The local store object of `models/m.bin`.
fn store_object(repo: &TestRepo) -> PathBuf {
    let sha = sha256_hex(&content("models/m.bin"));
    repo.root.join(".git/exp/objects/sha256").join(&sha[..2]).join(&sha[2..])
}

/// Runs git-exp in `dir`.
fn exp_in(repo: &TestRepo, dir: &Path, args: &[&str]) -> Output {
    repo.cmd_in(dir, args).output().expect("git-exp runs")
}

fn assert_ok(out: &Output) {
    assert!(out.status.success(), "failed ({:?}): {}", out.status.code(), stderr(out));
}

/// Asserts a failure with `code`, one `error:` line and no panic.
fn assert_fails(out: &Output, code: i32) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "stdout: {}\nstderr: {err}", stdout(out));
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.lines().filter(|l| l.starts_with("error: ")).count(), 1, "{err}");
    assert!(err.lines().all(|l| l.starts_with("error: ") || l.starts_with("hint: ")), "{err}");
    err
}

/// Every path under `dir` (not following links) with its kind, size and mode.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (char, u64, u32)> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let kind = if meta.file_type().is_symlink() {
                'l'
            } else if meta.is_dir() {
                todo.push(path.clone());
                'd'
            } else {
                'f'
            };
            out.insert(path, (kind, meta.len(), meta.permissions().mode()));
        }
    }
    out
}

/// The mode a new file gets here (0666 less the umask).
fn normal_mode(dir: &Path) -> u32 {
    let probe = dir.join(".mode-probe");
    std::fs::write(&probe, b"").unwrap();
    let mode = std::fs::metadata(&probe).unwrap().permissions().mode() & 0o777;
    std::fs::remove_file(probe).unwrap();
    mode
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Overwrites a read-only store object.
fn damage(path: &Path, bytes: &[u8]) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// A bare remote `origin` whose artifact store is `bucket/`, with `r1`
/// pushed to both; returns the store's copy of `models/m.bin`.
fn push_to_store(repo: &TestRepo) -> PathBuf {
    let bare = repo.tmp.path().join("remote.git");
    let bucket = repo.tmp.path().join("bucket");
    repo.git(&["init", "-q", "--bare", bare.to_str().unwrap()]);
    repo.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    let url = format!("file://{}", bucket.display());
    repo.git(&["config", "remote.origin.expArtifacts", &url]);
    repo.exp_ok(&["push", "-q"]);
    let sha = sha256_hex(&content("models/m.bin"));
    let copy = bucket.join("sha256").join(&sha[..2]).join(&sha[2..]);
    assert_eq!(std::fs::read(&copy).unwrap(), content("models/m.bin"));
    assert_eq!(repo.git(&["ls-remote", bare.to_str().unwrap(), "refs/experiments/r1"]).len(), 61);
    copy
}

#[test]
fn artifacts_lists_path_size_storage_here_and_hash_in_every_format() {
    let repo = repo_with_run();
    let sha: BTreeMap<&str, String> = files().iter().map(|(p, b)| (*p, sha256_hex(b))).collect();

    let table = repo.exp_ok(&["artifacts", "r1"]);
    let rows: Vec<Vec<&str>> = table.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows[0], ["path", "size", "storage", "here", "sha256", "type"], "{table}");
    assert_eq!(rows.len(), 4, "{table}");
    let m = &sha["models/m.bin"];
    assert_eq!(
        rows[1],
        ["models/m.bin", "19.5", "KiB", "store", "yes", &m[..12], "application/octet-stream"]
    );
    assert_eq!(rows[2][..5], ["models/sub/s.txt", "6", "B", "inline", "yes"]);
    assert_eq!(rows[3][..5], ["notes.txt", "12", "B", "inline", "yes"]);

    let csv = repo.exp_ok(&["artifacts", "r1", "--format", "csv"]);
    let expect = format!(
        "path,size,storage,here,sha256,type\n\
         models/m.bin,20000,store,yes,{},application/octet-stream\n\
         models/sub/s.txt,6,inline,yes,{},text/plain\n\
         notes.txt,12,inline,yes,{},text/plain\n",
        sha["models/m.bin"], sha["models/sub/s.txt"], sha["notes.txt"]
    );
    assert_eq!(csv, expect);

    let json: serde_json::Value =
        serde_json::from_str(&repo.exp_ok(&["artifacts", "r1", "--json"])).unwrap();
    let commit = repo.git(&["rev-parse", "refs/experiments/r1"]);
    assert_eq!(
        json,
        serde_json::json!({
            "run": "r1",
            "commit": commit.trim(),
            "artifacts": [
                {"path": "models/m.bin", "size": 20000, "sha256": sha["models/m.bin"],
                 "media_type": "application/octet-stream", "storage": "store", "local": true},
                {"path": "models/sub/s.txt", "size": 6, "sha256": sha["models/sub/s.txt"],
                 "media_type": "text/plain", "storage": "inline", "local": true},
                {"path": "notes.txt", "size": 12, "sha256": sha["notes.txt"],
                 "media_type": "text/plain", "storage": "inline", "local": true},
            ],
            "skipped": [],
        })
    );

    // Without its store object, the large one is not here; the inline ones are.
    std::fs::remove_file(store_object(&repo)).unwrap();
    let csv = repo.exp_ok(&["artifacts", "r1", "--format", "csv"]);
    let here: Vec<&str> = csv.lines().skip(1).map(|l| l.split(',').nth(3).unwrap()).collect();
    assert_eq!(here, ["no", "yes", "yes"], "{csv}");

    // A run without artifacts: nothing on stdout, a sentence on stderr; `[]` in JSON.
    repo.exp_ok(&["run", "-q", "-n", "none", "--", "true"]);
    let out = repo.exp(&["artifacts", "none"]);
    assert_ok(&out);
    assert_eq!(stdout(&out), "");
    assert_eq!(stderr(&out), "Run none has no artifacts.\n");
    let json: serde_json::Value =
        serde_json::from_str(&repo.exp_ok(&["artifacts", "none", "--json"])).unwrap();
    assert_eq!(json["artifacts"], serde_json::json!([]));
}

#[test]
fn get_restores_inline_and_store_artifacts_byte_for_byte() {
    let repo = repo_with_run();
    let normal = normal_mode(repo.tmp.path());
    let work = repo.root.join("work");
    std::fs::create_dir(&work).unwrap();

    // Default: the file name in the current directory.
    for path in ["models/m.bin", "notes.txt"] {
        let out = exp_in(&repo, &work, &["get", "r1", path]);
        assert_ok(&out);
        let name = path.rsplit('/').next().unwrap();
        let restored = work.join(name);
        assert_eq!(std::fs::read(&restored).unwrap(), content(path), "{path}");
        assert_eq!(mode(&restored), normal, "{path} has mode {:o}", mode(&restored));
        assert!(stderr(&out).starts_with("Restored "), "{}", stderr(&out));
        assert_eq!(stdout(&out), "");
    }
    // -C picks the current directory too; -q says nothing.
    let other = repo.tmp.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let out = exp_in(&repo, repo.tmp.path(), &["-C", "repo", "get", "-q", "r1", "models/m.bin"]);
    assert_ok(&out);
    assert_eq!(stderr(&out), "");
    assert_eq!(std::fs::read(repo.root.join("m.bin")).unwrap(), content("models/m.bin"));

    // -o FILE (relative to the current directory), -o EXISTING_DIR/.
    repo.exp_ok(&["get", "-q", "r1", "models/m.bin", "-o", "renamed.bin"]);
    assert_eq!(std::fs::read(repo.root.join("renamed.bin")).unwrap(), content("models/m.bin"));
    let dir = other.to_str().unwrap().to_owned() + "/";
    repo.exp_ok(&["get", "-q", "r1", "notes.txt", "-o", &dir]);
    repo.exp_ok(&["get", "-q", "r1", "models/m.bin", "-o", other.to_str().unwrap()]);
    assert_eq!(std::fs::read(other.join("notes.txt")).unwrap(), content("notes.txt"));
    assert_eq!(std::fs::read(other.join("m.bin")).unwrap(), content("models/m.bin"));
    assert_eq!(mode(&other.join("m.bin")), normal);

    // -o NEWDIR/ (with the slash) is a directory to create, not a file name.
    repo.exp_ok(&["get", "-q", "r1", "notes.txt", "-o", "new/dir/"]);
    assert_eq!(std::fs::read(repo.root.join("new/dir/notes.txt")).unwrap(), content("notes.txt"));

    // -o - writes the bytes alone to stdout.
    for path in ["models/m.bin", "models/sub/s.txt"] {
        let out = repo.exp(&["get", "r1", path, "-o", "-"]);
        assert_ok(&out);
        assert_eq!(out.stdout, content(path), "{path}");
    }

    // The repository is untouched: the store object is still read-only, git is clean.
    let object = store_object(&repo);
    assert_eq!(mode(&object) & 0o222, 0, "store objects stay read-only");
    repo.fsck();
}

#[test]
fn get_of_a_directory_restores_every_file_under_it() {
    let repo = repo_with_run();
    let normal = normal_mode(repo.tmp.path());
    let out = repo.exp(&["get", "r1", "models"]);
    assert_ok(&out);
    assert!(stderr(&out).ends_with("Restored 2 artifacts (19.5 KiB).\n"), "{}", stderr(&out));
    for (path, rel) in [("models/m.bin", "models/m.bin"), ("models/sub/s.txt", "models/sub/s.txt")]
    {
        assert_eq!(std::fs::read(repo.root.join(rel)).unwrap(), content(path));
        assert_eq!(mode(&repo.root.join(rel)), normal);
    }
    assert!(!repo.root.join("notes.txt").exists());

    // -o names the directory that takes its place; `models/` means the same.
    repo.exp_ok(&["get", "-q", "r1", "models/", "-o", "restored"]);
    assert_eq!(std::fs::read(repo.root.join("restored/m.bin")).unwrap(), content("models/m.bin"));
    assert_eq!(
        std::fs::read(repo.root.join("restored/sub/s.txt")).unwrap(),
        content("models/sub/s.txt")
    );
    repo.exp_ok(&["get", "-q", "r1", "models/sub"]);
    assert_eq!(std::fs::read(repo.root.join("sub/s.txt")).unwrap(), content("models/sub/s.txt"));

    // A directory does not go to stdout.
    let out = repo.exp(&["get", "r1", "models", "-o", "-"]);
    assert_fails(&out, 2);
    assert_eq!(out.stdout, b"");
}

#[test]
fn existing_files_are_kept_unless_force() {
    let repo = repo_with_run();
    repo.write("m.bin", "mine\n");
    let out = repo.exp(&["get", "r1", "models/m.bin"]);
    let err = assert_fails(&out, 1);
    assert!(err.contains("m.bin exists") && err.contains("--force"), "{err}");
    assert_eq!(std::fs::read_to_string(repo.root.join("m.bin")).unwrap(), "mine\n");

    // A directory restore checks every file before writing any.
    repo.write("models/sub/s.txt", "mine too\n");
    let before = snapshot(&repo.root);
    let out = repo.exp(&["get", "r1", "models"]);
    let err = assert_fails(&out, 1);
    assert!(err.contains("s.txt exists"), "{err}");
    assert_eq!(snapshot(&repo.root), before);

    repo.exp_ok(&["get", "-q", "--force", "r1", "models/m.bin"]);
    assert_eq!(std::fs::read(repo.root.join("m.bin")).unwrap(), content("models/m.bin"));
    repo.exp_ok(&["get", "-q", "-f", "r1", "models"]);
    assert_eq!(
        std::fs::read(repo.root.join("models/sub/s.txt")).unwrap(),
        content("models/sub/s.txt")
    );
    assert_eq!(std::fs::read(repo.root.join("models/m.bin")).unwrap(), content("models/m.bin"));

    // A symbolic link in the way is replaced itself, never written through.
    let target = repo.tmp.path().join("target.txt");
    std::fs::write(&target, "not yours\n").unwrap();
    symlink(&target, repo.root.join("notes.txt")).unwrap();
    let out = repo.exp(&["get", "r1", "notes.txt"]);
    assert_fails(&out, 1);
    repo.exp_ok(&["get", "-q", "--force", "r1", "notes.txt"]);
    let meta = std::fs::symlink_metadata(repo.root.join("notes.txt")).unwrap();
    assert!(meta.is_file(), "the link was replaced by the file");
    assert_eq!(std::fs::read(repo.root.join("notes.txt")).unwrap(), content("notes.txt"));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "not yours\n");
}

#[test]
fn a_damaged_local_copy_is_fetched_again_from_the_artifact_store() {
    let repo = repo_with_run();
    push_to_store(&repo);
    let object = store_object(&repo);
    let good = content("models/m.bin");
    let mut same_length = good.clone();
    same_length[100] ^= 0xff;
    for (case, bad) in [("same length", same_length), ("shorter", good[..5000].to_vec())] {
        damage(&object, &bad);
        let out = repo.exp(&["get", "r1", "models/m.bin", "-o", "out.bin", "--force"]);
        assert_ok(&out);
        let err = stderr(&out);
        assert!(
            err.contains("warning: the local copy of models/m.bin is damaged"),
            "{case}: {err}"
        );
        assert_eq!(std::fs::read(repo.root.join("out.bin")).unwrap(), good, "{case}");
        assert_eq!(std::fs::read(&object).unwrap(), good, "{case}: the store is repaired");
        assert_eq!(mode(&object) & 0o222, 0, "{case}: read-only again");
    }
    // Damage is found on the way to stdout too.
    damage(&object, b"garbage");
    let out = repo.exp(&["get", "r1", "models/m.bin", "-o", "-"]);
    assert_ok(&out);
    assert_eq!(out.stdout, good);
    assert!(stderr(&out).contains("damaged"), "{}", stderr(&out));
}

#[test]
fn a_damaged_local_copy_without_a_store_fails_and_writes_nothing() {
    let repo = repo_with_run();
    let object = store_object(&repo);
    let mut bad = content("models/m.bin");
    bad[0] ^= 1;
    for args in [
        &["get", "r1", "models/m.bin"][..],
        &["get", "r1", "models"],
        &["get", "r1", "models/m.bin", "-o", "-"],
    ] {
        if object.exists() {
            damage(&object, &bad);
        } else {
            std::fs::write(&object, &bad).unwrap();
        }
        let before = snapshot(repo.tmp.path());
        let out = repo.exp(args);
        let err = assert_fails(&out, 1);
        assert!(
            err.starts_with(
                "error: the local copy of models/m.bin is damaged (its content hashes to "
            ),
            "{args:?}: {err}"
        );
        assert!(err.contains(SET_STORE_HINT), "{args:?}: says how to set a store: {err}");
        assert_eq!(out.stdout, b"", "{args:?}");
        let after = snapshot(repo.tmp.path());
        let added: Vec<&PathBuf> = after.keys().filter(|p| !before.contains_key(*p)).collect();
        assert!(added.is_empty(), "{args:?} left {added:?}");
        // The damaged object is gone, so nothing takes it for the artifact.
        assert!(!object.exists(), "{args:?}");
    }
    assert!(!repo.root.join("m.bin").exists() && !repo.root.join("models").exists());
    let err = assert_fails(&repo.exp(&["get", "r1", "models/m.bin"]), 1);
    assert!(err.starts_with(NOT_HERE), "{err}");
    let csv = repo.exp_ok(&["artifacts", "r1", "--format", "csv"]);
    assert!(csv.contains("\nmodels/m.bin,20000,store,no,"), "{csv}");
}

#[test]
fn a_damaged_copy_in_the_artifact_store_never_enters_the_local_store() {
    let repo = repo_with_run();
    let remote_copy = push_to_store(&repo);
    let object = store_object(&repo);
    let mut bad = content("models/m.bin");
    bad[19_999] ^= 1;
    std::fs::write(&remote_copy, &bad).unwrap();
    damage(&object, b"also bad");
    let out = repo.exp(&["get", "r1", "models/m.bin"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("the copy in the artifact store is damaged"), "{err}");
    assert!(!repo.root.join("m.bin").exists());
    let dir = object.parent().unwrap();
    let left: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).collect();
    assert!(left.is_empty(), "nothing entered the local store: {left:?}");
    // Once the store's copy is good again, get works and fills the local store.
    std::fs::write(&remote_copy, content("models/m.bin")).unwrap();
    repo.exp_ok(&["get", "-q", "r1", "models/m.bin"]);
    assert_eq!(std::fs::read(&object).unwrap(), content("models/m.bin"));
}

#[test]
fn a_clone_downloads_what_it_lacks_and_then_has_it_here() {
    let repo = repo_with_run();
    push_to_store(&repo);
    let bare = repo.tmp.path().join("remote.git");
    let clone = repo.tmp.path().join("clone");
    repo.git(&["clone", "-q", bare.to_str().unwrap(), clone.to_str().unwrap()]);
    let out = exp_in(&repo, &clone, &["pull", "-q"]);
    assert_ok(&out);
    let here = |repo: &TestRepo| -> Vec<bool> {
        let out = exp_in(repo, &clone, &["artifacts", "r1", "--json"]);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        json["artifacts"].as_array().unwrap().iter().map(|a| a["local"] == true).collect()
    };
    assert_eq!(here(&repo), [false, true, true]);
    let csv = stdout(&exp_in(&repo, &clone, &["artifacts", "r1", "--format", "csv"]));
    assert!(csv.contains("\nmodels/m.bin,20000,store,no,"), "{csv}");

    // The inline ones need no store; the large one needs one.
    let out = exp_in(&repo, &clone, &["get", "-q", "r1", "models/sub"]);
    assert_ok(&out);
    let err = assert_fails(&exp_in(&repo, &clone, &["get", "r1", "models/m.bin"]), 1);
    assert!(err.starts_with(&format!("{NOT_HERE}{SET_STORE_HINT}")), "{err}");

    // The store of another remote (the only one with a store) is found...
    let url = format!("file://{}", repo.tmp.path().join("bucket").display());
    repo.git_in(&clone, &["remote", "add", "team", bare.to_str().unwrap()]);
    repo.git_in(&clone, &["config", "remote.team.expArtifacts", &url]);
    // ...but not when --remote names one without a store.
    let out = exp_in(&repo, &clone, &["get", "r1", "models/m.bin", "--remote", "origin"]);
    let err = assert_fails(&out, 1);
    assert!(err.contains("no artifact store is configured"), "{err}");
    let out = exp_in(&repo, &clone, &["get", "r1", "models/m.bin"]);
    assert_ok(&out);
    assert_eq!(std::fs::read(clone.join("m.bin")).unwrap(), content("models/m.bin"));
    assert_eq!(here(&repo), [true, true, true]);
    let csv = stdout(&exp_in(&repo, &clone, &["artifacts", "r1", "--format", "csv"]));
    assert!(csv.contains("\nmodels/m.bin,20000,store,yes,"), "{csv}");

    // exp.artifacts.url comes first; --remote picks a remote's own store.
    let object = store_object(&repo).strip_prefix(&repo.root).unwrap().to_path_buf();
    std::fs::remove_file(clone.join(&object)).unwrap();
    let empty = format!("file://{}", repo.tmp.path().join("empty-bucket").display());
    repo.git_in(&clone, &["config", "remote.team.expArtifacts", &empty]);
    repo.git_in(&clone, &["config", "exp.artifacts.url", &url]);
    let out = exp_in(&repo, &clone, &["get", "r1", "models/m.bin", "-o", "-", "--remote", "team"]);
    let err = assert_fails(&out, 1);
    assert!(err.contains("empty-bucket: not in the artifact store"), "{err}");
    let out = exp_in(&repo, &clone, &["get", "-q", "r1", "models/m.bin", "-o", "again.bin"]);
    assert_ok(&out);
    assert_eq!(std::fs::read(clone.join("again.bin")).unwrap(), content("models/m.bin"));
    assert_eq!(std::fs::read(clone.join(&object)).unwrap(), content("models/m.bin"));
}

fn entry(path: &str, sha256: &str, size: u64, storage: &str) -> String {
    format!(
        "[[artifact]]\npath = {path:?}\nsize = {size}\nsha256 = {sha256:?}\n\
         media_type = \"text/plain\"\nstorage = {storage:?}\n\n"
    )
}

#[test]
fn untrusted_artifact_entries_are_refused_and_nothing_is_written() {
    let repo = repo_with_run();
    let good = sha256_hex(b"x");
    let inside = repo.tmp.path().to_str().unwrap().trim_start_matches('/').to_owned();
    let climb = format!("{}{inside}/stolen", "../".repeat(30));
    let small = sha256_hex(&content("models/sub/s.txt"));
    let big = sha256_hex(&content("models/m.bin"));
    let bad_after = entry("models/zz/../../../x", &small, 6, "inline");
    let cases: Vec<(&str, String, &str)> = vec![
        // (run, artifacts.toml, what to ask for)
        ("up", entry("models/../../escape.txt", &good, 1, "store"), "models"),
        ("abs", entry("/etc/x", &good, 1, "inline") + &entry("etc/ok", &good, 1, "inline"), "etc"),
        ("dots", entry("a/../../b", &good, 1, "store"), "a"),
        ("gitdir", entry("d/.git/config", &good, 1, "inline"), "d"),
        ("backslash", entry("d/..\\..\\x", &good, 1, "inline"), "d"),
        ("climb", entry("m.bin", &climb, 1, "store"), "m.bin"),
        ("root", entry("m.bin", &format!("ab/{inside}/stolen"), 1, "store"), "m.bin"),
        ("long", entry("m.bin", &format!("{good}0"), 1, "store"), "m.bin"),
        ("short", entry("m.bin", "a", 1, "store"), "m.bin"),
        ("empty", entry("m.bin", "", 1, "store"), "m.bin"),
        ("upper", entry("m.bin", &good.to_uppercase(), 1, "store"), "m.bin"),
        ("wide", entry("m.bin", &format!("é{}", &good[2..]), 1, "store"), "m.bin"),
        ("slashes", entry("d//x", &good, 1, "inline"), "d"),
        // A good inline file first, then a bad one: the good one is not written either.
        ("mixed", entry("models/sub/s.txt", &small, 6, "inline") + &bad_after, "models"),
        // A file that is also the directory of another.
        (
            "twice",
            entry("models/sub", &small, 6, "inline")
                + &entry("models/sub/s.txt", &small, 6, "inline"),
            "models",
        ),
        // An inline entry whose hash is not its blob's.
        ("lying", entry("notes.txt", &good, 12, "inline"), "notes.txt"),
        // A real store object under a wrong size: the run is wrong, not the object,
        // which stays in the store.
        ("size", entry("m.bin", &big, 1, "store"), "m.bin"),
    ];
    for (name, toml, _) in &cases {
        repo.forge_artifacts("r1", name, toml);
    }
    let work = repo.root.join("work");
    std::fs::create_dir(&work).unwrap();
    let before = snapshot(repo.tmp.path());
    for (name, _, path) in &cases {
        for extra in [&[][..], &["--force"], &["-o", "-"]] {
            let mut args = vec!["get", *name, *path];
            args.extend_from_slice(extra);
            let out = exp_in(&repo, &work, &args);
            let err = stderr(&out);
            assert!(!err.contains("panicked"), "{args:?}: {err}");
            assert!(
                matches!(out.status.code(), Some(1 | 2)),
                "{args:?} exit {:?}: {err}",
                out.status.code()
            );
            assert!(err.starts_with("error: "), "{args:?}: {err}");
            assert!(!err.contains("not in a git repository"), "{err}");
            assert_eq!(out.stdout, b"", "{args:?}");
            assert_eq!(snapshot(repo.tmp.path()), before, "{args:?} wrote something");
        }
        // Listing such a run never crashes.
        for format in ["table", "json"] {
            let out = exp_in(&repo, &work, &["artifacts", name, "--format", format]);
            let err = stderr(&out);
            assert!(!err.contains("panicked"), "{name} {format}: {err}");
            assert!(matches!(out.status.code(), Some(0 | 1)), "{name} {format}: {err}");
            if out.status.code() == Some(1) {
                assert_eq!(err.lines().filter(|l| l.starts_with("error: ")).count(), 1);
            }
        }
    }
    assert_eq!(snapshot(repo.tmp.path()), before);
    repo.fsck();
}

#[test]
fn a_symlinked_directory_in_the_destination_is_never_written_through() {
    let repo = repo_with_run();
    let out_dir = repo.root.join("out");
    let elsewhere = repo.root.join("elsewhere");
    std::fs::create_dir_all(&out_dir).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    symlink("../elsewhere", out_dir.join("models")).unwrap();
    symlink("../elsewhere", out_dir.join("sub")).unwrap();
    let before = snapshot(repo.tmp.path());
    // The default destination `models` in the current directory is a link:
    // its name comes from the run's path, not from -o.
    let out = exp_in(&repo, &out_dir, &["get", "r1", "models"]);
    let err = assert_fails(&out, 1);
    assert!(err.contains("symbolic link"), "{err}");
    // -o out: its `sub` is a link; nothing at all is written, m.bin neither.
    let out = repo.exp(&["get", "r1", "models", "-o", out_dir.to_str().unwrap()]);
    let err = assert_fails(&out, 1);
    assert!(err.contains("symbolic link"), "{err}");
    let out = repo.exp(&["get", "--force", "r1", "models", "-o", out_dir.to_str().unwrap()]);
    assert_fails(&out, 1);
    assert_eq!(snapshot(repo.tmp.path()), before);
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

#[test]
fn a_link_named_with_o_is_followed_as_cp_does() {
    // The user made the link (say, to a directory on a larger disk); the run's
    // paths below it are still never followed.
    let repo = repo_with_run();
    let disk = repo.tmp.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    let link = repo.root.join("models");
    symlink(&disk, &link).unwrap();
    let is_link = || std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink();

    // One file, into the link's directory, with -o LINK and -o LINK/.
    repo.exp_ok(&["get", "-q", "r1", "notes.txt", "-o", "models"]);
    assert_eq!(std::fs::read(disk.join("notes.txt")).unwrap(), content("notes.txt"));
    assert!(is_link(), "the link stays");
    repo.exp_ok(&["get", "-q", "r1", "models/m.bin", "-o", "models/"]);
    assert_eq!(std::fs::read(disk.join("m.bin")).unwrap(), content("models/m.bin"));
    // A file there is kept unless --force, which replaces the file, not the link.
    std::fs::write(disk.join("notes.txt"), "mine\n").unwrap();
    for dest in ["models", "models/"] {
        let err = assert_fails(&repo.exp(&["get", "r1", "notes.txt", "-o", dest]), 1);
        assert!(err.contains("models/notes.txt exists"), "{dest}: {err}");
        assert_eq!(std::fs::read_to_string(disk.join("notes.txt")).unwrap(), "mine\n");
    }
    for dest in ["models", "models/"] {
        std::fs::write(disk.join("notes.txt"), "mine\n").unwrap();
        repo.exp_ok(&["get", "-q", "--force", "r1", "notes.txt", "-o", dest]);
        assert_eq!(std::fs::read(disk.join("notes.txt")).unwrap(), content("notes.txt"));
        assert!(is_link(), "{dest}: the link stays");
    }

    // A directory of artifacts: -o LINK is the directory it fills.
    std::fs::remove_file(disk.join("m.bin")).unwrap();
    repo.exp_ok(&["get", "-q", "r1", "models", "-o", "models"]);
    assert_eq!(std::fs::read(disk.join("m.bin")).unwrap(), content("models/m.bin"));
    assert_eq!(std::fs::read(disk.join("sub/s.txt")).unwrap(), content("models/sub/s.txt"));
    repo.exp_ok(&["get", "-q", "--force", "r1", "models", "-o", "models/"]);
    assert!(is_link());

    // Links below it, where the run's own directories go, are still refused.
    let elsewhere = repo.tmp.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::remove_dir_all(disk.join("sub")).unwrap();
    std::fs::remove_file(disk.join("m.bin")).unwrap();
    symlink(&elsewhere, disk.join("sub")).unwrap();
    let before = snapshot(repo.tmp.path());
    for force in [&[][..], &["--force"]] {
        let mut args = vec!["get", "r1", "models", "-o", "models"];
        args.extend_from_slice(force);
        let err = assert_fails(&repo.exp(&args), 1);
        assert!(err.contains("sub is a symbolic link"), "{err}");
    }
    assert_eq!(snapshot(repo.tmp.path()), before);
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);

    // A link to something else than a directory is no directory to write into.
    let file = disk.join("v1.txt");
    std::fs::write(&file, "old\n").unwrap();
    symlink(&file, repo.root.join("latest.txt")).unwrap();
    symlink(repo.tmp.path().join("nowhere"), repo.root.join("dangling")).unwrap();
    for dest in ["latest.txt/", "dangling/"] {
        let err = assert_fails(&repo.exp(&["get", "r1", "notes.txt", "-o", dest]), 1);
        assert!(err.contains("symbolic link"), "{dest}: {err}");
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "old\n");
    // A link to a file is followed too: the file is kept unless --force, which
    // replaces the file, not the link. A dangling link is not written through.
    let err = assert_fails(&repo.exp(&["get", "r1", "notes.txt", "-o", "latest.txt"]), 1);
    assert!(err.contains("v1.txt exists"), "{err}");
    repo.exp_ok(&["get", "-q", "-f", "r1", "notes.txt", "-o", "latest.txt"]);
    assert_eq!(std::fs::read(&file).unwrap(), content("notes.txt"));
    assert_eq!(std::fs::read_link(repo.root.join("latest.txt")).unwrap(), file);
    let err = assert_fails(&repo.exp(&["get", "r1", "notes.txt", "-o", "dangling", "-f"]), 1);
    assert!(err.contains("dangling is a symbolic link to nothing"), "{err}");
    assert!(std::fs::symlink_metadata(repo.root.join("dangling")).unwrap().is_symlink());
    assert!(!repo.tmp.path().join("nowhere").exists());
}

#[test]
fn force_never_replaces_what_is_not_a_regular_file() {
    let repo = repo_with_run();
    let special = repo.tmp.path().join("special");
    std::fs::create_dir(&special).unwrap();
    let fifo = special.join("fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let _socket = std::os::unix::net::UnixListener::bind(special.join("socket")).unwrap();
    symlink(&fifo, special.join("to-fifo")).unwrap();
    symlink("/proc/self/fd/1", special.join("stdout")).unwrap();
    std::fs::create_dir(special.join("m.bin")).unwrap();
    let mut cases = vec![
        ("notes.txt", "fifo", "fifo is a FIFO"),
        ("notes.txt", "socket", "socket is a socket"),
        ("notes.txt", "to-fifo", "to-fifo is a symbolic link to a FIFO"),
        // As `/dev/stdout` is: here a pipe, and the link must survive --force.
        ("notes.txt", "stdout", "stdout is a symbolic link to a FIFO"),
        // A directory restore: its m.bin would replace a directory.
        ("models", "", "m.bin is a directory"),
    ];
    // A device node needs root; `-o /dev/null --force` would replace the real one.
    let root = std::process::Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    if root {
        let null = special.join("null");
        let made = std::process::Command::new("mknod").arg(&null).args(["c", "1", "3"]).status();
        assert!(made.unwrap().success());
        cases.push(("notes.txt", "null", "null is a character device"));
    }
    let before = snapshot(repo.tmp.path());
    for (path, dest, says) in cases {
        for force in [&[][..], &["--force"], &["-f", "-q"]] {
            let dest = special.join(dest);
            let mut args = vec!["get", "r1", path, "-o", dest.to_str().unwrap()];
            args.extend_from_slice(force);
            let out = repo.exp(&args);
            let err = assert_fails(&out, 1);
            let first = err.lines().next().unwrap();
            assert!(first.contains(&format!("{}/{says}", special.display())), "{args:?}: {err}");
            if path != "models" {
                assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
            }
            assert_eq!(snapshot(repo.tmp.path()), before, "{args:?}");
        }
    }
}

/// The hidden temporary files of `get` in `dir`.
fn temp_files(dir: &Path) -> Vec<String> {
    let names = std::fs::read_dir(dir).unwrap().flatten();
    let names = names.map(|e| e.file_name().to_string_lossy().into_owned());
    names.filter(|n| n.starts_with(".git-exp-get")).collect()
}

#[test]
fn a_get_ended_by_a_signal_leaves_no_temporary_file() {
    use std::os::unix::process::ExitStatusExt;
    let repo = TestRepo::new();
    repo.git(&["config", "exp.artifacts.inlineMax", "1000"]);
    let make =
        r#"d="$GIT_EXP_DIR/artifacts"; mkdir -p "$d"; head -c 200000000 /dev/zero > "$d/big.bin""#;
    repo.exp_ok(&["run", "-q", "-n", "big", "--", "sh", "-c", make]);
    let out_dir = repo.tmp.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let dest = format!("{}/", out_dir.display());
    for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        let mut child = repo
            .cmd_in(&repo.root, &["get", "-q", "big", "big.bin", "-o", &dest])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        while temp_files(&out_dir).is_empty() {
            let status = child.try_wait().unwrap();
            assert!(status.is_none(), "signal {signal}: ended before writing: {status:?}");
            assert!(started.elapsed().as_secs() < 120, "signal {signal}: no temporary file");
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        // SAFETY: kill(2) on the child this test spawned and still owns.
        assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
        let status = crate::common::wait_deadline(child, std::time::Duration::from_secs(60)).status;
        assert!(!status.success(), "signal {signal}");
        assert_eq!(status.signal(), Some(signal), "ends as the signal's default would");
        assert_eq!(temp_files(&out_dir), Vec::<String>::new(), "signal {signal}");
        assert!(!out_dir.join("big.bin").exists(), "signal {signal}");
    }
}

#[test]
fn the_next_get_removes_stale_temporary_files_in_its_directory() {
    let repo = repo_with_run();
    let out_dir = repo.tmp.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let two_hours = std::time::Duration::from_secs(2 * 3600);
    let make = |name: &str, old: bool| {
        let file = std::fs::File::create(out_dir.join(name)).unwrap();
        if old {
            file.set_modified(std::time::SystemTime::now() - two_hours).unwrap();
        }
    };
    make(".git-exp-getAb3dE9", true);
    // A write under way (recent), and files of other names, are left alone.
    make(".git-exp-getXy7wQ2", false);
    make(".git-exp-get-notes", true);
    std::fs::create_dir(out_dir.join(".git-exp-getDir123")).unwrap();
    let dest = format!("{}/", out_dir.display());
    repo.exp_ok(&["get", "-q", "r1", "notes.txt", "-o", &dest]);
    let mut left = temp_files(&out_dir);
    left.sort();
    assert_eq!(left, [".git-exp-get-notes", ".git-exp-getDir123", ".git-exp-getXy7wQ2"]);
    assert_eq!(std::fs::read(out_dir.join("notes.txt")).unwrap(), content("notes.txt"));
}

#[test]
fn remote_must_name_a_configured_git_remote() {
    let repo = repo_with_run();
    // Without any remote; then with `origin`, whose store has the object,
    // and exp.artifacts.url set: a mistyped name never falls back to it.
    let err = assert_fails(&repo.exp(&["get", "r1", "notes.txt", "--remote", "orgin"]), 1);
    assert!(err.starts_with("error: 'orgin' is not a configured git remote (remotes: none)\n"));
    push_to_store(&repo);
    let url = format!("file://{}", repo.tmp.path().join("bucket").display());
    repo.git(&["config", "exp.artifacts.url", &url]);
    std::fs::remove_file(store_object(&repo)).unwrap();
    for path in ["models/m.bin", "notes.txt"] {
        let out = repo.exp(&["get", "r1", path, "-o", "-", "--remote", "orgin"]);
        let err = assert_fails(&out, 1);
        assert_eq!(err, "error: 'orgin' is not a configured git remote (remotes: origin)\n");
        assert_eq!(out.stdout, b"");
    }
    assert!(!store_object(&repo).exists(), "nothing was fetched");
    let out = repo.exp(&["get", "r1", "models/m.bin", "-o", "-", "--remote", "origin"]);
    assert_ok(&out);
    assert_eq!(out.stdout, content("models/m.bin"));
}

#[test]
fn names_with_control_characters_are_restored_but_shown_harmlessly() {
    let repo = TestRepo::new();
    let make = r#"d="$GIT_EXP_DIR/artifacts/odd"; mkdir -p "$d"
printf x > "$d/$(printf '\033[31mred\033]0;title\007')"
printf y > "$d/$(printf 'a\nerror: fake')"
printf z > "$d/$(printf 'cr\rhidden')""#;
    repo.exp_ok(&["run", "-q", "-n", "ctl", "--", "sh", "-c", make]);
    let no_controls = |text: &str| {
        text.chars().all(|c| c == '\n' || !c.is_control())
            && !text.contains("\nerror: fake")
            && !text.contains("\nfake")
    };
    for format in ["table", "csv", "markdown"] {
        let out = repo.exp_ok(&["artifacts", "ctl", "--format", format]);
        assert!(no_controls(&out), "{format}: {out:?}");
        assert_eq!(out.lines().count(), if format == "markdown" { 5 } else { 4 }, "{out:?}");
    }
    let out = repo.exp(&["get", "ctl", "odd"]);
    assert_ok(&out);
    assert!(no_controls(&stderr(&out)), "{:?}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 4, "{:?}", stderr(&out));
    // The files themselves keep their names.
    let odd = repo.root.join("odd");
    assert_eq!(std::fs::read(odd.join("\x1b[31mred\x1b]0;title\x07")).unwrap(), b"x");
    assert_eq!(std::fs::read(odd.join("a\nerror: fake")).unwrap(), b"y");
    assert_eq!(std::fs::read(odd.join("cr\rhidden")).unwrap(), b"z");
    let out = repo.exp(&["get", "ctl", "odd"]);
    let err = assert_fails(&out, 1);
    assert!(no_controls(&err), "{err:?}");
}

#[test]
fn unknown_runs_and_paths_and_bad_arguments() {
    let repo = repo_with_run();
    let err = assert_fails(&repo.exp(&["get", "nope", "x"]), 1);
    assert!(err.contains("no run matches 'nope'"), "{err}");
    let err = assert_fails(&repo.exp(&["artifacts", "nope"]), 1);
    assert!(err.contains("no run matches 'nope'"), "{err}");

    let err = assert_fails(&repo.exp(&["get", "r1", "model"]), 1);
    assert!(err.contains("run r1 has no artifact 'model'"), "{err}");
    assert!(
        err.contains(concat!(
            "hint: `git exp artifacts r1` lists them ",
            "(e.g. models/m.bin, models/sub/s.txt, notes.txt)"
        )),
        "{err}"
    );
    repo.exp_ok(&["run", "-q", "-n", "none", "--", "true"]);
    let err = assert_fails(&repo.exp(&["get", "none", "x"]), 1);
    assert!(err.contains("hint: it has no artifacts"), "{err}");

    for bad in ["../x", "/etc/passwd", "a/../../x", ".git/config", ".", ""] {
        let err = assert_fails(&repo.exp(&["get", "r1", bad]), 2);
        assert!(err.contains("bad artifact path"), "{bad:?}: {err}");
    }
    // Missing arguments are clap's usage errors.
    assert_eq!(repo.exp(&["get", "r1"]).status.code(), Some(2));
    let status = repo.git(&["status", "--porcelain"]);
    assert_eq!(status, "", "nothing was written");
}
