//! Interrupted runs: SIGINT/SIGTERM to the tracker commit the run as `killed`;
//! a SIGKILLed tracker leaves a live run that the next command commits as `crashed`.

use std::time::{Duration, Instant};

use crate::common::{stderr, wait_deadline, TestRepo};

/// How long a tracker may take to end after it was signalled.
const LIMIT: Duration = Duration::from_secs(60);

/// A child that logs two points, says so on a marker file, then sleeps.
fn slow_child(repo: &TestRepo) -> (String, std::path::PathBuf) {
    let marker = repo.tmp.path().join("started");
    let body = format!(
        r#"printf '{{"loss": 2}}\n{{"loss": 1}}\n' >> "$GIT_EXP_EVENTS"; echo partial-output; echo $$ > {}.pid; touch {}; exec sleep 30"#,
        marker.display(),
        marker.display()
    );
    (body, marker)
}

/// Waits for the child to say it started (it has logged its events by then;
/// the tracker reads them all before it commits, however it ends).
fn wait_for(path: &std::path::Path) {
    crate::common::wait_for("the child to start", Duration::from_secs(20), || path.exists());
}

/// Whether process `pid` has ended (gone, or a zombie no longer holding anything).
fn ended(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit(") ").next().is_some_and(|rest| rest.starts_with('Z')),
        Err(_) => true,
    }
}

fn kill(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill").args([sig, &pid.to_string()]).status().unwrap();
    assert!(ok.success());
}

#[test]
fn sigterm_and_sigint_commit_the_run_as_killed() {
    for (sig, name, code) in [("-TERM", "termed", 143), ("-INT", "inted", 130)] {
        let repo = TestRepo::new();
        let (body, marker) = slow_child(&repo);
        let child = repo
            .cmd_in(&repo.root, &["run", "-n", name, "--", "sh", "-c", &body])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        wait_for(&marker);
        let started = Instant::now();
        kill(child.id(), sig);
        let out = wait_deadline(child, LIMIT);
        assert!(started.elapsed() < Duration::from_secs(10), "the child was not stopped");
        assert_eq!(out.status.code(), Some(code), "{}", stderr(&out));
        let exp: toml::Table = toml::from_str(&repo.show_file(name, "exp.toml")).unwrap();
        assert_eq!(exp["status"].as_str(), Some("killed"));
        let csv = repo.show_file(name, "metrics.csv");
        assert_eq!(csv.lines().count(), 3, "{csv}");
        assert!(repo.show_file(name, "output.log").contains("partial-output"));
        repo.fsck();
    }
}

#[test]
fn a_sigkilled_tracker_is_recovered_as_crashed_by_the_next_command() {
    let repo = TestRepo::new();
    let (body, marker) = slow_child(&repo);
    let child = repo
        .cmd_in(&repo.root, &["run", "-n", "doomed", "--", "sh", "-c", &body])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&marker);
    kill(child.id(), "-KILL");
    wait_deadline(child, LIMIT);
    // The command outlives its tracker and may still log: the run shows as running.
    let runs = repo.list_json();
    assert_eq!(runs[0]["status"], "running");
    assert!(repo.git(&["for-each-ref", "refs/experiments/"]).is_empty());
    let pid = std::fs::read_to_string(format!("{}.pid", marker.display())).unwrap();
    let pid: u32 = pid.trim().parse().unwrap();
    kill(pid, "-KILL");
    crate::common::wait_for("the command to end", LIMIT, || ended(pid));
    // Once it is gone, the next command (any) commits the run as crashed.
    let out = repo.exp(&["list", "--format", "json"]);
    assert!(out.status.success());
    assert!(stderr(&out).contains("recovered run doomed"), "{}", stderr(&out));
    let runs: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["status"], "crashed");
    assert_eq!(runs[0]["summary"]["loss"]["last"], serde_json::json!(1.0));
    assert_eq!(runs[0]["summary"]["loss"]["count"], serde_json::json!(2));
    assert!(repo.show_file("doomed", "output.log").contains("partial-output"));
    // Recovery happens once: a second command finds nothing to do.
    let again = repo.exp(&["list"]);
    assert!(!stderr(&again).contains("recovered"));
    assert_eq!(repo.list_json().len(), 1);
    repo.fsck();
}

#[test]
fn a_live_run_is_listed_as_running_with_what_it_logged_so_far() {
    let repo = TestRepo::new();
    let (body, marker) = slow_child(&repo);
    let child = repo
        .cmd_in(&repo.root, &["run", "-n", "live-one", "-p", "lr=0.5", "--", "sh", "-c", &body])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&marker);
    let runs = repo.list_json();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["status"], "running");
    assert_eq!(runs[0]["commit"], serde_json::Value::Null);
    assert_eq!(runs[0]["config"]["lr"], serde_json::json!(0.5));
    assert_eq!(runs[0]["summary"]["loss"]["count"], serde_json::json!(2));
    // Listing a live run must not recover it: it is alive.
    assert!(repo.git(&["for-each-ref", "refs/experiments/"]).is_empty());
    let hidden = repo.exp_ok(&["list", "--json", "--no-running"]);
    assert_eq!(serde_json::from_str::<Vec<serde_json::Value>>(&hidden).unwrap().len(), 0);
    kill(child.id(), "-TERM");
    let out = wait_deadline(child, LIMIT);
    assert_eq!(out.status.code(), Some(143));
    let runs = repo.list_json();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["status"], "killed");
    assert!(runs[0]["commit"].is_string());
}

/// How SIGINT reaches a run in [`sigints_the_child_got`].
#[derive(Debug, Clone, Copy, PartialEq)]
enum Interrupt {
    /// Ctrl-C typed in a terminal (script(1)): the kernel signals the foreground group.
    Terminal,
    /// The same, with `git exp` run through git, which relays the signal too.
    TerminalThroughGit,
    /// `timeout -s INT`: signals git-exp, then its whole process group.
    Timeout,
    /// `timeout -s INT git exp run`: the group holds git, git-exp and the command.
    TimeoutThroughGit,
    /// `kill -INT -PGID`, as schedulers do.
    GroupKill,
    /// `kill -INT` of git alone, which relays it to git-exp.
    KillGit,
    /// `timeout --foreground -s INT` in a terminal: git-exp alone gets it, from its parent.
    TimeoutInTerminal,
}

/// Runs a command that counts the SIGINTs it gets under `git exp run`, interrupts
/// it as `how` says, and returns the count and the run's exp.toml.
fn sigints_the_child_got(how: Interrupt) -> (usize, toml::Table) {
    use std::io::Write;
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    let repo = TestRepo::new();
    let marker = repo.tmp.path().join("ready");
    let count = repo.tmp.path().join("ints");
    // Counts every SIGINT, and ends (exit 7) 1.5 s after the first one.
    let child = repo.tmp.path().join("count_sigint.py");
    std::fs::write(
        &child,
        format!(
            r#"import os, signal, sys, time
got = []
def on_int(sig, frame):
    got.append(time.monotonic())
    with open({count:?}, "a") as f:
        f.write("int\n")
signal.signal(signal.SIGINT, on_int)
with open(os.environ["GIT_EXP_EVENTS"], "a") as f:
    f.write('{{"loss": 1}}\n')
open({marker:?}, "w").close()
end = time.monotonic() + 60
while time.monotonic() < end and not (got and time.monotonic() - got[0] > 1.5):
    time.sleep(0.01)
sys.exit(7 if got else 3)
"#,
            count = count.display().to_string(),
            marker = marker.display().to_string()
        ),
    )
    .unwrap();
    let bin = crate::common::git_exp_bin();
    let bin_dir = bin.parent().unwrap().display().to_string();
    let child = child.display().to_string();
    let direct = [bin.to_str().unwrap(), "run", "-q", "-n", "ints", "--", "python3", &child];
    let through_git = ["git", "exp", "run", "-q", "-n", "ints", "--", "python3", &child];
    let via_git = matches!(
        how,
        Interrupt::TerminalThroughGit | Interrupt::TimeoutThroughGit | Interrupt::KillGit
    );
    let argv: &[&str] = if via_git { &through_git } else { &direct };
    let mut cmd = match how {
        Interrupt::Terminal | Interrupt::TerminalThroughGit | Interrupt::TimeoutInTerminal => {
            let mut cmd = Command::new("script");
            let timeout = if how == Interrupt::TimeoutInTerminal {
                "timeout --foreground -s INT 6 "
            } else {
                ""
            };
            let inner = format!("cd {} && exec {timeout}{}", repo.root.display(), argv.join(" "));
            cmd.args(["-qfec", &inner, "/dev/null"]);
            cmd
        }
        Interrupt::Timeout | Interrupt::TimeoutThroughGit => {
            let mut cmd = Command::new("timeout");
            cmd.args(["-s", "INT", "6"]).args(argv);
            cmd
        }
        Interrupt::GroupKill | Interrupt::KillGit => {
            let mut cmd = Command::new(argv[0]);
            cmd.args(&argv[1..]).process_group(0);
            cmd
        }
    };
    repo.env(&mut cmd);
    let path = format!("{bin_dir}:{}", std::env::var("PATH").unwrap_or_default());
    let mut running = cmd
        .env("PATH", path)
        .current_dir(&repo.root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    match how {
        Interrupt::Terminal | Interrupt::TerminalThroughGit => {
            wait_for(&marker);
            running.stdin.as_mut().unwrap().write_all(b"\x03").unwrap();
        }
        Interrupt::Timeout | Interrupt::TimeoutThroughGit | Interrupt::TimeoutInTerminal => {}
        Interrupt::GroupKill => {
            wait_for(&marker);
            let group = format!("-{}", running.id());
            let ok = Command::new("kill").args(["-INT", "--", &group]).status().unwrap();
            assert!(ok.success());
        }
        Interrupt::KillGit => {
            wait_for(&marker);
            kill(running.id(), "-INT");
        }
    }
    let out = wait_deadline(running, LIMIT);
    assert!(marker.exists(), "{how:?}: the command never started: {}", stderr(&out));
    let exp: toml::Table = toml::from_str(&repo.show_file("ints", "exp.toml")).unwrap();
    let ints = std::fs::read_to_string(&count).unwrap_or_default();
    (ints.lines().count(), exp)
}

/// SIGINT reaches the command exactly once, however it was sent: a terminal's
/// Ctrl-C (directly and through git), `timeout -s INT` (directly and through
/// git, also `--foreground` in a terminal), a kill of the process group, and a
/// kill of git alone.
/// See: issue 11, item 11.
#[test]
fn sigint_reaches_the_command_exactly_once_however_it_is_sent() {
    for how in [
        Interrupt::Terminal,
        Interrupt::TerminalThroughGit,
        Interrupt::Timeout,
        Interrupt::TimeoutThroughGit,
        Interrupt::GroupKill,
        Interrupt::KillGit,
        Interrupt::TimeoutInTerminal,
    ] {
        let (ints, exp) = sigints_the_child_got(how);
        assert_eq!(ints, 1, "{how:?}: the command got SIGINT {ints} times");
        assert_eq!(exp["status"].as_str(), Some("killed"), "{how:?}");
        assert_eq!(exp["exit_code"].as_integer(), Some(7), "{how:?}");
    }
}

/// A command that leaves git-exp's process group (`setsid`) gets no copy of a
/// signal sent to the group, so git-exp sends it on. See: issue 11.
#[test]
fn a_command_in_its_own_session_still_gets_a_group_signal() {
    let repo = TestRepo::new();
    let marker = repo.tmp.path().join("got-term");
    let script = repo.script(
        "own-session.sh",
        &format!("trap 'echo got > {}; exit 3' TERM\nsleep 20 &\nwait", marker.display()),
    );
    let started = std::time::Instant::now();
    let mut cmd = std::process::Command::new("timeout");
    repo.env(&mut cmd);
    let out = cmd
        .args(["-s", "TERM", "2"])
        .arg(crate::common::git_exp_bin())
        .args(["run", "-q", "-n", "s", "--", "setsid"])
        .arg(&script)
        .current_dir(&repo.root)
        .output()
        .unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(15), "the command ran to its end");
    assert!(marker.is_file(), "the command got SIGTERM: {}", String::from_utf8_lossy(&out.stderr));
}
