//! The global flags, colour and the pager: on a real pseudo-terminal made by
//! script(1) and on pipes. Every child runs under a deadline and is killed
//! (with its process group) when it passes it.

use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::common::{git_exp_bin, TestRepo};

/// How long one command may take before the test kills it.
const DEADLINE: Duration = Duration::from_secs(60);

/// An ANSI escape sequence start: colour is present.
const ESC: &str = "\x1b[";

/// What a bounded command left: its status, stdout and stderr.
struct Done {
    status: ExitStatus,
    out: String,
    err: String,
}

/// Runs `cmd` in its own process group, output to files, and kills the group
/// when it is not done by [`DEADLINE`].
fn bounded(repo: &TestRepo, mut cmd: Command, what: &str) -> Done {
    let out_path = repo.tmp.path().join("bounded.stdout");
    let err_path = repo.tmp.path().join("bounded.stderr");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .process_group(0)
        .spawn()
        .expect("the command starts");
    let deadline = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = Command::new("kill").args(["-KILL", &format!("-{}", child.id())]).status();
            let _ = child.wait();
            panic!("{what} did not finish in {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |p| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
    Done { status, out: read(&out_path), err: read(&err_path) }
}

/// git-exp with `args` and `env`, stdout and stderr pipes (files).
fn on_pipe(repo: &TestRepo, args: &[&str], env: &[(&str, &str)]) -> Done {
    let mut cmd = repo.cmd_in(&repo.root, args);
    cmd.envs(env.iter().copied());
    let done = bounded(repo, cmd, &format!("git-exp {args:?}"));
    assert!(done.status.success(), "{args:?}: {}{}", done.out, done.err);
    done
}

/// git-exp with `args` on a pseudo-terminal (stdout and stderr both on it,
/// as script(1) gives them back), with `env`.
fn on_terminal(repo: &TestRepo, args: &str, env: &[(&str, &str)]) -> String {
    let inner = format!("{} {args}", git_exp_bin().display());
    let mut cmd = Command::new("script");
    repo.env(&mut cmd);
    cmd.args(["-qec", &inner, "/dev/null"])
        .env("TERM", "xterm")
        .env("COLUMNS", "200")
        .envs(env.iter().copied())
        .current_dir(&repo.root);
    let done = bounded(repo, cmd, &format!("script git-exp {args}"));
    assert!(done.status.success(), "{args}: {}{}", done.out, done.err);
    done.out.replace("\r\n", "\n")
}

/// A repository with one run, `a`.
fn repo_with_a_run() -> TestRepo {
    let repo = TestRepo::new();
    repo.exp_ok(&["run", "-q", "-n", "a", "-p", "lr=0.1", "--", "true"]);
    repo
}

/// A pager that prefixes every line with `paged: ` and writes the
/// environment it got to `pager-env` in the repository.
fn prefixing_pager(repo: &TestRepo) -> String {
    let env_file = repo.tmp.path().join("pager-env");
    let pager = repo.script(
        "pager.sh",
        &format!(
            "echo \"LESS=$LESS LV=$LV GIT_PAGER_IN_USE=$GIT_PAGER_IN_USE\" > '{}'\nsed 's/^/paged: /'\n",
            env_file.display()
        ),
    );
    pager.display().to_string()
}

#[test]
fn color_always_colours_a_pipe_and_auto_does_not() {
    let repo = repo_with_a_run();
    let plain = on_pipe(&repo, &["show", "a"], &[]);
    assert!(!plain.out.contains(ESC), "no colour into a pipe by default:\n{}", plain.out);
    assert!(plain.out.contains("lr"), "{}", plain.out);
    for args in [&["--color=always", "show", "a"][..], &["show", "a", "--color", "always"]] {
        let coloured = on_pipe(&repo, args, &[]);
        assert!(coloured.out.contains(ESC), "{args:?} colours a pipe:\n{}", coloured.out);
        assert!(coloured.out.contains("status:   \x1b[32mfinished\x1b[0m"), "{}", coloured.out);
    }
    let never = on_pipe(&repo, &["show", "a", "--color=never"], &[("CLICOLOR_FORCE", "1")]);
    assert!(!never.out.contains(ESC), "--color=never beats CLICOLOR_FORCE:\n{}", never.out);
}

#[test]
fn environment_and_git_config_decide_colour_in_gits_order() {
    let repo = repo_with_a_run();
    let force = on_pipe(&repo, &["show", "a"], &[("CLICOLOR_FORCE", "1")]);
    assert!(force.out.contains(ESC), "CLICOLOR_FORCE colours a pipe:\n{}", force.out);
    let both = on_pipe(&repo, &["show", "a"], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]);
    assert!(!both.out.contains(ESC), "NO_COLOR beats CLICOLOR_FORCE:\n{}", both.out);
    repo.git(&["config", "color.ui", "always"]);
    let ui = on_pipe(&repo, &["show", "a"], &[]);
    assert!(ui.out.contains(ESC), "color.ui=always colours a pipe:\n{}", ui.out);
    repo.git(&["config", "color.exp", "never"]);
    let exp = on_pipe(&repo, &["show", "a"], &[]);
    assert!(!exp.out.contains(ESC), "color.exp beats color.ui:\n{}", exp.out);
    let flag = on_pipe(&repo, &["show", "a", "--color=always"], &[]);
    assert!(flag.out.contains(ESC), "--color beats git config:\n{}", flag.out);
}

#[test]
fn git_pager_in_use_keeps_colour_through_a_pipe() {
    let repo = repo_with_a_run();
    let paged = on_pipe(&repo, &["show", "a"], &[("GIT_PAGER_IN_USE", "true")]);
    assert!(paged.out.contains(ESC), "git pages git-exp: colour stays:\n{}", paged.out);
    let no = on_pipe(&repo, &["show", "a"], &[("GIT_PAGER_IN_USE", "true"), ("NO_COLOR", "1")]);
    assert!(!no.out.contains(ESC), "{}", no.out);
}

#[test]
fn a_terminal_gets_colour_unless_no_color() {
    let repo = repo_with_a_run();
    let auto = on_terminal(&repo, "show a", &[("GIT_PAGER", "cat")]);
    assert!(auto.contains(ESC), "a terminal gets colour:\n{auto}");
    let no = on_terminal(&repo, "show a", &[("GIT_PAGER", "cat"), ("NO_COLOR", "1")]);
    assert!(!no.contains(ESC), "NO_COLOR wins over auto:\n{no}");
    assert!(no.contains("lr"), "{no}");
}

#[test]
fn a_terminal_pages_show_compare_and_list_through_git_pager() {
    let repo = repo_with_a_run();
    repo.exp_ok(&["run", "-q", "-n", "b", "-p", "lr=0.2", "--", "true"]);
    let pager = prefixing_pager(&repo);
    for args in ["show a", "list", "compare a b"] {
        let text = on_terminal(&repo, args, &[("GIT_PAGER", &pager)]);
        let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
        assert!(
            !lines.is_empty() && lines.iter().all(|l| l.starts_with("paged: ")),
            "{args}: every line through the pager:\n{text}"
        );
    }
    let env = std::fs::read_to_string(repo.tmp.path().join("pager-env")).unwrap();
    assert_eq!(env.trim(), "LESS=FRX LV=-c GIT_PAGER_IN_USE=true");
    // The user's LESS is theirs.
    on_terminal(&repo, "list", &[("GIT_PAGER", &pager), ("LESS", "S")]);
    let env = std::fs::read_to_string(repo.tmp.path().join("pager-env")).unwrap();
    assert_eq!(env.trim(), "LESS=S LV=-c GIT_PAGER_IN_USE=true");
}

#[test]
fn the_pager_comes_from_git_config_and_pager_exp_false_turns_it_off() {
    let repo = repo_with_a_run();
    let pager = prefixing_pager(&repo);
    repo.git(&["config", "core.pager", &pager]);
    let text = on_terminal(&repo, "list", &[]);
    assert!(text.lines().all(|l| l.is_empty() || l.starts_with("paged: ")), "core.pager:\n{text}");
    repo.git(&["config", "pager.exp.list", "false"]);
    let text = on_terminal(&repo, "list", &[]);
    assert!(text.contains('a') && !text.contains("paged: "), "pager.exp.list=false:\n{text}");
    let text = on_terminal(&repo, "show a", &[]);
    assert!(text.contains("paged: "), "show still pages:\n{text}");
}

#[test]
fn no_pager_git_pager_cat_and_pipes_bypass_the_pager() {
    let repo = repo_with_a_run();
    let pager = prefixing_pager(&repo);
    for (args, env) in [
        ("--no-pager list", vec![("GIT_PAGER", pager.as_str())]),
        ("list --no-pager", vec![("GIT_PAGER", pager.as_str())]),
        ("list", vec![("GIT_PAGER", "cat"), ("PAGER", pager.as_str())]),
        ("list", vec![("GIT_PAGER", pager.as_str()), ("GIT_PAGER_IN_USE", "true")]),
    ] {
        let text = on_terminal(&repo, args, &env);
        assert!(text.contains('a') && !text.contains("paged: "), "{args} {env:?}:\n{text}");
    }
    let piped = on_pipe(&repo, &["list"], &[("GIT_PAGER", &pager)]);
    assert!(piped.out.contains('a') && !piped.out.contains("paged: "), "{}", piped.out);
    assert!(!repo.tmp.path().join("pager-env").exists(), "the pager never started");
}

#[test]
fn a_pager_that_quits_early_ends_the_command_quietly() {
    let repo = TestRepo::new();
    // A long `show`: far more than a pipe holds, so writes fail once the
    // pager is gone.
    let params: Vec<String> = (0..4000).map(|i| format!("param_{i:05}=value-{i}")).collect();
    let mut args = vec!["run", "-q", "-n", "long"];
    for p in &params {
        args.extend(["-p", p.as_str()]);
    }
    args.extend(["--", "true"]);
    repo.exp_ok(&args);
    let text = on_terminal(&repo, "show long", &[("GIT_PAGER", "true")]);
    assert!(!text.contains("error") && !text.contains("param_00000"), "{text}");
}

#[test]
fn quiet_silences_status_lines_in_either_position() {
    let repo = TestRepo::new();
    for name in ["a", "b", "c"] {
        repo.exp_ok(&["run", "-q", "-n", name, "--", "true"]);
    }
    let loud = on_pipe(&repo, &["rename", "a", "a2"], &[]);
    assert!(loud.err.contains("Renamed run a to a2"), "{}", loud.err);
    for args in [&["-q", "rename", "b", "b2"][..], &["rename", "c", "c2", "--quiet"]] {
        let quiet = on_pipe(&repo, args, &[]);
        assert_eq!(quiet.err, "", "{args:?}");
    }
    let names: Vec<String> =
        repo.list_json().iter().map(|r| r["name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names.len(), 3);
    for name in ["a2", "b2", "c2"] {
        assert!(names.iter().any(|n| n == name), "{names:?}");
    }
    let run = on_pipe(&repo, &["--quiet", "run", "-n", "d", "--", "true"], &[]);
    assert_eq!(run.err, "", "run --quiet before the command");
    let run = on_pipe(&repo, &["run", "-n", "e", "--", "true"], &[]);
    assert!(!run.err.is_empty(), "run says how it ended without --quiet");
}

#[test]
fn ctrl_c_while_paging_is_the_pagers_and_git_exp_waits_for_it() {
    let repo = TestRepo::new();
    // More than a pipe holds: git-exp is still writing when the signal comes.
    let params: Vec<String> = (0..4000).map(|i| format!("param_{i:05}=value-{i}")).collect();
    let mut args = vec!["run", "-q", "-n", "long"];
    for p in &params {
        args.extend(["-p", p.as_str()]);
    }
    args.extend(["--", "true"]);
    repo.exp_ok(&args);
    // The pager sends SIGINT to git-exp (its parent, or the parent of the
    // `sh -c` that started it), as Ctrl-C in a terminal does, then reads
    // everything and says what it got.
    let got = repo.tmp.path().join("pager-got");
    let pager = repo.script(
        "interrupting-pager.sh",
        &format!(
            "trap '' INT\np=$PPID\n[ \"$(cat /proc/$p/comm)\" = git-exp ] || p=$(cut -d' ' -f4 /proc/$p/stat)\n\
             [ \"$(cat /proc/$p/comm)\" = git-exp ] || exit 3\nkill -INT $p\ngrep -c param_ > '{}'\n",
            got.display()
        ),
    );
    let text = on_terminal(&repo, "show long", &[("GIT_PAGER", &pager.display().to_string())]);
    let seen = std::fs::read_to_string(&got).unwrap();
    assert_eq!(seen.trim(), "4000", "the pager got all of it:\n{text}");
    assert!(!text.contains("error"), "{text}");
}

#[test]
fn a_pager_with_shell_syntax_runs_through_sh_and_a_missing_one_falls_back_to_stdout() {
    let repo = repo_with_a_run();
    let text = on_terminal(&repo, "list", &[("GIT_PAGER", "sed 's/^/sh: /' | cat")]);
    let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    assert!(!lines.is_empty() && lines.iter().all(|l| l.starts_with("sh: ")), "{text}");
    let missing = repo.tmp.path().join("no-such-pager");
    let text = on_terminal(&repo, "list", &[("GIT_PAGER", &missing.display().to_string())]);
    assert!(text.contains("warning: cannot run the pager"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("a ")), "the list on stdout instead:\n{text}");
}
