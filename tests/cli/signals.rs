//! Interrupted runs: SIGINT/SIGTERM to the tracker commit the run as `killed`;
//! a SIGKILLed tracker leaves a live run that the next command commits as `crashed`.

use std::time::{Duration, Instant};

use crate::common::{stderr, TestRepo};

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

fn wait_for(path: &std::path::Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(start.elapsed() < Duration::from_secs(20), "child never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Give the tracker a moment to tail the events.
    std::thread::sleep(Duration::from_millis(300));
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
        let out = child.wait_with_output().unwrap();
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
    let mut child = repo
        .cmd_in(&repo.root, &["run", "-n", "doomed", "--", "sh", "-c", &body])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&marker);
    kill(child.id(), "-KILL");
    let _ = child.wait();
    // The command outlives its tracker and may still log: the run shows as running.
    let runs = repo.list_json();
    assert_eq!(runs[0]["status"], "running");
    assert!(repo.git(&["for-each-ref", "refs/experiments/"]).is_empty());
    let pid = std::fs::read_to_string(format!("{}.pid", marker.display())).unwrap();
    kill(pid.trim().parse().unwrap(), "-KILL");
    std::thread::sleep(Duration::from_millis(200));
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
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143));
    let runs = repo.list_json();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["status"], "killed");
    assert!(runs[0]["commit"].is_string());
}

/// Ctrl-C typed in a real terminal: the kernel sends SIGINT to the whole
/// foreground process group, so the tracker must not send it again.
#[test]
fn ctrl_c_in_a_terminal_reaches_the_child_once_and_the_run_is_killed() {
    ctrl_c_in_a_terminal(false);
}

/// The same through `git exp`: git relays the terminal's SIGINT to its child.
#[test]
fn ctrl_c_through_git_reaches_the_child_once() {
    ctrl_c_in_a_terminal(true);
}

fn ctrl_c_in_a_terminal(via_git: bool) {
    use std::io::Write;
    let repo = TestRepo::new();
    let marker = repo.tmp.path().join("ready");
    let count = repo.tmp.path().join("ints");
    let child_script = repo.script(
        "trap.sh",
        &format!(
            "trap 'echo int >> {count}; sleep 0.5; exit 7' INT\nprintf '{{\"loss\": 1}}\\n' >> \"$GIT_EXP_EVENTS\"\ntouch {marker}\nwhile :; do sleep 0.05; done",
            count = count.display(),
            marker = marker.display()
        ),
    );
    let bin = crate::common::git_exp_bin();
    let inner = if via_git {
        format!(
            "cd {} && PATH={}:$PATH exec git exp run -n typed -- {}",
            repo.root.display(),
            bin.parent().unwrap().display(),
            child_script.display()
        )
    } else {
        format!(
            "cd {} && exec {} run -n typed -- {}",
            repo.root.display(),
            bin.display(),
            child_script.display()
        )
    };
    let mut cmd = std::process::Command::new("script");
    repo.env(&mut cmd);
    let mut term = cmd
        .args(["-qfec", &inner, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("script(1) from util-linux runs");
    wait_for(&marker);
    term.stdin.as_mut().unwrap().write_all(b"\x03").unwrap();
    let out = term.wait_with_output().unwrap();
    let exp: toml::Table = toml::from_str(&repo.show_file("typed", "exp.toml")).unwrap();
    assert_eq!(exp["status"].as_str(), Some("killed"), "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(exp["exit_code"].as_integer(), Some(7));
    let ints = std::fs::read_to_string(&count).unwrap();
    assert_eq!(ints.lines().count(), 1, "the child got SIGINT {} times", ints.lines().count());
    if !via_git {
        // git itself ends by the signal (130) as it always does on Ctrl-C.
        assert_eq!(out.status.code(), Some(7));
    }
}
