//! `TestRepo`: a temporary real git repository with a pinned, isolated
//! environment (clock and seed included), and helpers to drive the built
//! `git-exp` binary and the real `git` CLI against it; [`CommandOutput`], the
//! filtered whole output tests snapshot; waiting on children with a deadline
//! ([`wait_deadline`], [`wait_for`]); skips reported on the console ([`skip`])
//! and the local servers tests need ([`s3`]).

#![allow(dead_code)]

pub mod s3;
pub mod skip;

pub use skip::{skip, skip_unless_ci};

pub mod output;
pub mod wait;

pub use output::CommandOutput;
pub use wait::{wait_deadline, wait_for};

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The time the first command of a test sees (`GIT_EXP_TEST_NOW`); each
/// command after it sees one second more.
pub const TEST_EPOCH: u64 = 1_767_225_600; // 2026-01-01T00:00:00Z

/// A temporary repository and the environment the binaries run with.
pub struct TestRepo {
    /// Keeps the directory alive.
    pub tmp: tempfile::TempDir,
    /// The repository's working tree.
    pub root: PathBuf,
    /// HOME inside the temp dir.
    pub home: PathBuf,
    /// How many `git-exp` commands have been made: the pinned clock and seed
    /// of the next one follow from it.
    commands: Cell<u64>,
}

/// The built binary.
pub fn git_exp_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_git-exp"))
}

impl TestRepo {
    /// A new repository with one commit (a README).
    pub fn new() -> TestRepo {
        let repo = TestRepo::empty();
        repo.write("README.md", "hello\n");
        repo.git(&["add", "README.md"]);
        repo.git(&["commit", "-q", "-m", "initial"]);
        repo
    }

    /// A new repository with no commits (unborn HEAD).
    pub fn empty() -> TestRepo {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path().join("repo");
        let home = tmp.path().join("home");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&home).unwrap();
        let repo = TestRepo { tmp, root, home, commands: Cell::new(0) };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    /// The environment every command gets: cleared, PATH kept, git isolated.
    pub fn env(&self, cmd: &mut Command) {
        cmd.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
        isolated_git(cmd, &self.home, self.tmp.path());
        cmd.env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
            .env("USER", "tester")
            .env("LANG", "C.UTF-8");
    }

    /// Runs git in `dir` and returns stdout; panics with stderr on failure.
    pub fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let mut cmd = Command::new("git");
        self.env(&mut cmd);
        let out = cmd.args(args).current_dir(dir).output().expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }

    /// Runs git in the repository with `input` on its stdin and returns stdout;
    /// panics with stderr on failure.
    pub fn git_input(&self, args: &[&str], input: &str) -> String {
        let mut cmd = Command::new("git");
        self.env(&mut cmd);
        let mut child = cmd
            .args(args)
            .current_dir(&self.root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("git runs");
        use std::io::Write;
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf-8")
    }

    /// Runs git in the repository.
    pub fn git(&self, args: &[&str]) -> String {
        self.git_in(&self.root, args)
    }

    /// A `git-exp` command in `dir`, environment set, not yet run. Each one
    /// gets its own pinned time and seed, one second and one further on than
    /// the one before, so runs sort in the order they were made.
    pub fn cmd_in(&self, dir: &Path, args: &[&str]) -> Command {
        let n = self.commands.get() + 1;
        self.commands.set(n);
        let mut cmd = Command::new(git_exp_bin());
        self.env(&mut cmd);
        cmd.env("GIT_EXP_TEST_NOW", rfc3339_seconds(TEST_EPOCH + n))
            .env("GIT_EXP_TEST_SEED", n.to_string());
        cmd.args(args).current_dir(dir).stdin(Stdio::null());
        cmd
    }

    /// Runs git-exp in the repository and returns its whole output, filtered
    /// for snapshots.
    #[must_use]
    pub fn run(&self, args: &[&str]) -> CommandOutput {
        CommandOutput::new(self, &self.exp(args))
    }

    /// Runs git-exp in the repository.
    #[must_use]
    pub fn exp(&self, args: &[&str]) -> Output {
        self.cmd_in(&self.root, args).output().expect("git-exp runs")
    }

    /// Runs git-exp and asserts it succeeded; returns stdout.
    pub fn exp_ok(&self, args: &[&str]) -> String {
        let out = self.exp(args);
        assert!(
            out.status.success(),
            "git-exp {args:?} failed ({:?}):\nstdout: {}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }

    /// `list --format json`, parsed.
    pub fn list_json(&self) -> Vec<serde_json::Value> {
        let text = self.exp_ok(&["list", "--format", "json"]);
        serde_json::from_str(&text).expect("list json parses")
    }

    /// Writes a file relative to the working tree root.
    pub fn write(&self, rel: &str, content: &str) {
        let path = self.root.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, content).unwrap();
    }

    /// Writes an executable shell script and returns its path.
    pub fn script(&self, rel: &str, body: &str) -> PathBuf {
        let path = self.tmp.path().join(rel);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// `git show REV:PATH`.
    pub fn show_file(&self, name: &str, file: &str) -> String {
        self.git(&["show", &format!("refs/experiments/{name}:{file}")])
    }

    /// Writes run `name` by hand with git plumbing, as anyone could and have it
    /// fetched: the tree of run `from` with each `(path, content)` of `files`
    /// written (`None` removes the path), committed on the current HEAD.
    /// Returns the commit id.
    pub fn forge_run(&self, from: &str, name: &str, files: &[(&str, Option<&[u8]>)]) -> String {
        let index = self.tmp.path().join(format!("forge-{}.index", name.replace('/', "_")));
        let git = |args: &[&str], input: Option<&[u8]>| -> String {
            let mut cmd = Command::new("git");
            self.env(&mut cmd);
            cmd.env("GIT_INDEX_FILE", &index).args(args).current_dir(&self.root);
            cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
            let mut child = cmd.spawn().expect("git runs");
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(input.unwrap_or_default()).unwrap();
            drop(stdin);
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap().trim().to_owned()
        };
        git(&["read-tree", &format!("refs/experiments/{from}^{{tree}}")], None);
        for (path, content) in files {
            match content {
                Some(bytes) => {
                    let blob = git(&["hash-object", "-w", "--stdin"], Some(bytes));
                    let info = format!("100644,{blob},{path}");
                    git(&["update-index", "--add", "--cacheinfo", &info], None);
                }
                None => {
                    git(&["update-index", "--force-remove", path], None);
                }
            }
        }
        let tree = git(&["write-tree"], None);
        let commit =
            git(&["commit-tree", &tree, "-p", "HEAD", "-m", &format!("exp: {name}")], None);
        let _ = std::fs::remove_file(&index);
        self.git(&["update-ref", &format!("refs/experiments/{name}"), &commit]);
        commit
    }

    /// Like [`TestRepo::forge_run`] with only `artifacts.toml` written:
    /// run `from` with another list of artifacts, named `name` in its
    /// `exp.toml` too. Returns the commit id.
    pub fn forge_artifacts(&self, from: &str, name: &str, artifacts_toml: &str) -> String {
        let exp = self.show_file(from, "exp.toml");
        let exp = exp.replace(&format!("name = \"{from}\""), &format!("name = \"{name}\""));
        self.forge_run(
            from,
            name,
            &[
                ("artifacts.toml", Some(artifacts_toml.as_bytes())),
                ("exp.toml", Some(exp.as_bytes())),
            ],
        )
    }

    /// The local artifact store (`.git/exp/objects`).
    pub fn store_dir(&self) -> PathBuf {
        self.root.join(".git/exp/objects")
    }

    /// Where the local store keeps the content whose SHA-256 is `sha`.
    pub fn object_path(&self, sha: &str) -> PathBuf {
        self.store_dir().join("sha256").join(&sha[..2]).join(&sha[2..])
    }

    /// The objects of the local store, sorted (files being stored are elsewhere).
    pub fn store_objects(&self) -> Vec<PathBuf> {
        walk_files(&self.store_dir().join("sha256"))
    }

    /// Breaks the local store: a file where its temporary directory should be,
    /// so storing any artifact fails. Files over 1000 bytes go to the store.
    pub fn break_store(&self) {
        self.git(&["config", "exp.artifacts.inlineMax", "1000"]);
        std::fs::create_dir_all(self.store_dir()).unwrap();
        std::fs::write(self.store_dir().join("tmp"), b"").unwrap();
    }

    /// Asserts `git fsck --strict` is clean.
    pub fn fsck(&self) {
        let mut cmd = Command::new("git");
        self.env(&mut cmd);
        let out = cmd
            .args(["fsck", "--strict", "--no-dangling"])
            .current_dir(&self.root)
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "git fsck --strict: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// git with no user or system config, a fixed identity, and HOME and TMPDIR in
/// the test's own directory.
pub fn isolated_git(cmd: &mut Command, home: &Path, tmp: &Path) {
    cmd.env("HOME", home)
        .env("TMPDIR", tmp)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env("GIT_COMMITTER_NAME", "Test Author")
        .env("GIT_COMMITTER_EMAIL", "author@example.com");
}

/// SHA-256 of `bytes` in hex by the real `sha256sum`, so a test does not
/// check git-exp's hashing with itself.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum runs");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_owned()
}

/// The files under `dir` (none if it does not exist), at any depth, sorted.
pub fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// SHA-256 of the file at `path` by the real `sha256sum`.
pub fn sha256_file(path: &Path) -> String {
    sha256_hex(&std::fs::read(path).expect("the file reads"))
}

/// stderr of an output as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// stdout of an output as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Unix seconds as RFC 3339 UTC, `2026-01-01T00:00:01Z`.
pub fn rfc3339_seconds(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Every `tests/cli/*.rs` file is a module of the test binary: a file left out
/// of `main.rs` would compile and never run.
#[test]
fn every_test_file_is_a_module_of_main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli");
    let main = std::fs::read_to_string(dir.join("main.rs")).expect("main.rs reads");
    let declared: Vec<&str> =
        main.lines().filter_map(|l| l.trim().strip_prefix("mod ")?.strip_suffix(';')).collect();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("tests/cli lists") {
        let path = entry.expect("an entry").path();
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
        let is_module =
            path.extension().is_some_and(|e| e == "rs") || path.join("mod.rs").is_file();
        if is_module && stem != "main" && !declared.contains(&stem.as_str()) {
            missing.push(stem);
        }
    }
    assert!(missing.is_empty(), "not declared with `mod NAME;` in tests/cli/main.rs: {missing:?}");
    assert!(declared.contains(&"common") && declared.len() > 10, "main.rs parsed: {declared:?}");
}
