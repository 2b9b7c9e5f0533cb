//! Man pages (`install-man`, read with the real `man` and `git help`), shell
//! completion (the bash script sourced in a real bash, run names from a real
//! repository) and the generated command reference kept up to date.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{git_exp_bin, skip_unless_ci, TestRepo};

/// The directory of the built binary first on PATH, so `git exp` finds it.
fn path_with_binary() -> String {
    let dir = git_exp_bin().parent().expect("binary dir").to_owned();
    format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default())
}

/// `install-man --prefix <tmp>/share`: the man directory it wrote.
fn install_man(repo: &TestRepo) -> PathBuf {
    let prefix = repo.tmp.path().join("share");
    let out = repo.exp(&["install-man", "--prefix", prefix.to_str().expect("utf-8 path")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let man1 = prefix.join("man/man1");
    assert!(stderr.contains(&format!("man pages to {}", man1.display())), "{stderr}");
    assert!(stderr.contains("export MANPATH="), "no MANPATH hint: {stderr}");
    prefix.join("man")
}

/// A command reading man pages from `man_dir`, never a viewer or pager of the
/// machine's own configuration.
fn man_env(repo: &TestRepo, program: &str, man_dir: &Path) -> Command {
    let mut cmd = Command::new(program);
    repo.env(&mut cmd);
    cmd.current_dir(&repo.root)
        .env("PATH", path_with_binary())
        .env("MANPATH", man_dir)
        .env("PAGER", "cat")
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "80")
        .env_remove("GIT_MAN_VIEWER");
    cmd
}

fn has_man(test: &str) -> bool {
    let found = Command::new("man").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        skip_unless_ci(test, "`man` is not installed (apt-get install man-db)");
    }
    found
}

fn stdout_of(mut cmd: Command) -> String {
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn install_man_writes_a_page_for_every_command() {
    let repo = TestRepo::new();
    let man_dir = install_man(&repo);
    let mut pages: Vec<String> = std::fs::read_dir(man_dir.join("man1"))
        .expect("man1")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    for page in ["git-exp.1", "git-exp-run.1", "git-exp-list.1", "git-exp-completions.1"] {
        assert!(pages.iter().any(|p| p == page), "{page} missing from {pages:?}");
    }
    assert!(!pages.iter().any(|p| p.contains("help") || p.contains("__")), "{pages:?}");
    let run = std::fs::read_to_string(man_dir.join("man1/git-exp-run.1")).expect("page");
    assert!(run.starts_with(".ie"), "not roff: {run:.40}");
    assert!(run.contains("git\\-exp\\-run"), "{run}");
}

#[test]
fn man_shows_the_installed_run_page() {
    if !has_man("man::man_shows_the_installed_run_page") {
        return;
    }
    let repo = TestRepo::new();
    let man_dir = install_man(&repo);
    let mut man = man_env(&repo, "man", &man_dir);
    man.args(["-P", "cat", "git-exp-run"]);
    let page = stdout_of(man);
    assert!(page.contains("git-exp-run - Run a command as a tracked run"), "{page}");
    assert!(page.contains("--name"), "{page}");
}

#[test]
fn git_help_exp_and_git_exp_help_open_the_man_page() {
    if !has_man("man::git_help_exp_and_git_exp_help_open_the_man_page") {
        return;
    }
    let repo = TestRepo::new();
    let man_dir = install_man(&repo);
    // No man.viewer: global and system git config are off in TestRepo.
    assert_eq!(repo.git(&["config", "list", "--show-origin"]).matches("man.viewer").count(), 0);
    for args in [&["help", "exp"][..], &["exp", "--help"]] {
        let mut git = man_env(&repo, "git", &man_dir);
        git.args(args);
        let page = stdout_of(git);
        assert!(
            page.contains("git-exp - Machine-learning experiment tracking that lives inside git"),
            "git {args:?}: {page}"
        );
        assert!(page.contains("install-man"), "git {args:?}: {page}");
    }
}

#[test]
fn clap_help_still_works_without_git() {
    let repo = TestRepo::new();
    let help = repo.exp_ok(&["--help"]);
    assert!(help.contains("Usage: git exp [OPTIONS] <COMMAND>"), "{help}");
    assert!(help.contains("completions"), "{help}");
}

/// Runs `script` in `bash --norc` in the repository, the completion script
/// sourced first; returns stdout.
fn bash_with_completion(repo: &TestRepo, script: &str) -> String {
    let completion = repo.tmp.path().join("git-exp.bash");
    std::fs::write(&completion, repo.exp_ok(&["completions", "bash"])).expect("write script");
    let mut bash = Command::new("bash");
    repo.env(&mut bash);
    bash.current_dir(&repo.root).env("PATH", path_with_binary()).args([
        "--norc",
        "-c",
        &format!("source '{}'\n{script}", completion.display()),
    ]);
    stdout_of(bash)
}

/// COMPREPLY of the bash completion for the words (the last one the word
/// being completed), one a line.
fn complete_line(words: &[&str], function: &str) -> String {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    format!(
        "COMP_WORDS=({}); COMP_CWORD={}; COMPREPLY=(); {function} \"${{COMP_WORDS[0]}}\" \
         \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; \
         printf '%s\\n' \"${{COMPREPLY[@]}}\"; echo ---",
        quoted.join(" "),
        words.len() - 1
    )
}

fn replies(output: &str) -> Vec<Vec<String>> {
    output
        .split("---\n")
        .map(|block| block.lines().filter(|l| !l.is_empty()).map(str::to_owned).collect())
        .collect()
}

#[test]
fn bash_completes_commands_options_and_run_names() {
    let repo = TestRepo::new();
    repo.exp_ok(&["run", "-q", "-n", "alpha-1", "--", "true"]);
    repo.exp_ok(&["run", "-q", "-n", "alpha-2", "--", "true"]);
    repo.exp_ok(&["run", "-q", "-n", "beta", "--", "true"]);
    let script = [
        "complete -p git-exp; echo ---".to_owned(),
        complete_line(&["git-exp", "li"], "_git_exp_runs"),
        complete_line(&["git-exp", "show", "al"], "_git_exp_runs"),
        complete_line(&["git-exp", "compare", "alpha-1", ""], "_git_exp_runs"),
        complete_line(&["git-exp", "rm", "--dr"], "_git_exp_runs"),
        complete_line(&["git-exp", "list", "--format", "c"], "_git_exp_runs"),
        complete_line(&["git-exp", "__"], "_git_exp_runs"),
        // git's own completion calls _git_exp with git's words.
        complete_line(&["git", "-C", ".", "exp", "rename", "b"], "_git_exp"),
        complete_line(&["git", "exp", "comp"], "_git_exp"),
    ]
    .join("\n");
    let out = bash_with_completion(&repo, &script);
    let r = replies(&out);
    assert!(r[0][0].contains("-F _git_exp_runs") && r[0][0].ends_with(" git-exp"), "{out}");
    assert_eq!(r[1], ["list"], "{out}");
    assert_eq!(r[2], ["alpha-1", "alpha-2"], "{out}");
    assert_eq!(r[3], ["alpha-1", "alpha-2", "beta"], "{out}");
    assert_eq!(r[4], ["--dry-run"], "{out}");
    assert_eq!(r[5], ["csv"], "{out}");
    assert_eq!(r[6], Vec::<String>::new(), "hidden commands offered: {out}");
    assert_eq!(r[7], ["beta"], "{out}");
    assert_eq!(r[8], ["compare", "completions"], "{out}");
}

#[test]
fn complete_runs_is_quiet_outside_a_repository() {
    let repo = TestRepo::new();
    let outside = repo.tmp.path().join("home");
    let out = repo.cmd_in(&outside, &["__complete-runs"]).output().expect("runs");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn zsh_and_fish_scripts_name_the_program() {
    let repo = TestRepo::new();
    let zsh = repo.exp_ok(&["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef git-exp"), "{zsh:.200}");
    let fish = repo.exp_ok(&["completions", "fish"]);
    assert!(fish.contains("complete -c git-exp"), "{fish:.200}");
    assert!(fish.contains("(git-exp __complete-runs 2>/dev/null)"), "no run names: {fish}");
}

#[test]
fn cli_reference_is_up_to_date() {
    let repo = TestRepo::new();
    let generated = repo.exp_ok(&["__reference"]);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/cli-reference.md");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        generated == committed,
        "docs/cli-reference.md is out of date; regenerate it with:\n    \
         cargo run -q -- __reference > docs/cli-reference.md"
    );
    assert!(generated.contains("\n## git exp run\n"), "{generated:.300}");
}

/// Where Debian's git package puts git's bash completion.
const GIT_BASH_COMPLETION: &str = "/usr/share/bash-completion/completions/git";

#[test]
fn git_own_bash_completion_delegates_git_exp() {
    if !Path::new(GIT_BASH_COMPLETION).exists() {
        crate::common::skip(
            "man::git_own_bash_completion_delegates_git_exp",
            &format!("git's bash completion is not at {GIT_BASH_COMPLETION}"),
        );
        return;
    }
    let repo = TestRepo::new();
    repo.exp_ok(&["run", "-q", "-n", "alpha-1", "--", "true"]);
    repo.exp_ok(&["run", "-q", "-n", "beta", "--", "true"]);
    let git_main = |words: &[&str]| {
        let line = words.join(" ");
        format!(
            "COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE='{line}'; COMP_POINT={}; COMPREPLY=(); \
             __git_wrap__git_main git '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"; echo ---",
            words.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>().join(" "),
            words.len() - 1,
            line.len(),
            words[words.len() - 1],
            words[words.len() - 2],
        )
    };
    // git's completion calls `_git_exp` of ours for the words after `exp`.
    let script = format!(
        "source {GIT_BASH_COMPLETION}\n{}\n{}",
        git_main(&["git", "exp", "sh"]),
        git_main(&["git", "exp", "show", "al"]),
    );
    let out = bash_with_completion(&repo, &script);
    let r: Vec<Vec<String>> = replies(&out)
        .into_iter()
        .map(|words| words.into_iter().map(|w| w.trim_end().to_owned()).collect())
        .collect();
    assert_eq!(r[0], ["show"], "{out}");
    assert_eq!(r[1], ["alpha-1"], "{out}");
}
