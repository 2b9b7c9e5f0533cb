//! `TestRepo`: a temporary real git repository with a pinned, isolated
//! environment, and helpers to drive the built `git-exp` binary and the real
//! `git` CLI against it; skips reported on the console ([`skip`]) and the
//! local servers tests need ([`s3`]).

#![allow(dead_code)]

pub mod s3;
pub mod skip;

pub use skip::{skip, skip_unless_ci};

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A temporary repository and the environment the binaries run with.
pub struct TestRepo {
    /// Keeps the directory alive.
    pub tmp: tempfile::TempDir,
    /// The repository's working tree.
    pub root: PathBuf,
    /// HOME inside the temp dir.
    pub home: PathBuf,
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
        let repo = TestRepo { tmp, root, home };
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

    /// A `git-exp` command in `dir`, environment set, not yet run.
    pub fn cmd_in(&self, dir: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(git_exp_bin());
        self.env(&mut cmd);
        cmd.args(args).current_dir(dir).stdin(Stdio::null());
        cmd
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

/// stderr of an output as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// stdout of an output as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}
