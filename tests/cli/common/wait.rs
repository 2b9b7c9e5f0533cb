//! Waiting with a deadline: on a child process ([`wait_deadline`]), which is
//! killed and its output shown when it runs past it, and on a condition
//! ([`wait_for`]), instead of sleeping and hoping. A hung `git-exp` then fails
//! its test in seconds instead of holding CI for its whole time limit.

use std::io::Read;
use std::process::{Child, ExitStatus, Output};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(10);

/// How long, after the child exits, its pipes may stay open (held by a
/// process it started) before the wait returns what it has.
const PIPE_GRACE: Duration = Duration::from_secs(5);

/// Waits for `child` to exit, reading its piped stdout and stderr meanwhile
/// (its stdin closed first, as `wait_with_output` does), and returns its output. Past `limit` it kills the child and panics with
/// what it printed.
#[track_caller]
pub fn wait_deadline(mut child: Child, limit: Duration) -> Output {
    drop(child.stdin.take());
    // Readers send what they read, so a grandchild that keeps a pipe open
    // cannot hold the wait past its deadline either.
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            let _ = tx.send(bytes);
        });
        rx
    };
    let stdout = read(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = read(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("the child can be waited on") {
            break Ok(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            break Err(child.wait().expect("the killed child can be waited on"));
        }
        thread::sleep(POLL);
    };
    let collect = |status: ExitStatus| Output {
        status,
        stdout: stdout.recv_timeout(PIPE_GRACE).unwrap_or_default(),
        stderr: stderr.recv_timeout(PIPE_GRACE).unwrap_or_default(),
    };
    match status {
        Ok(status) => collect(status),
        Err(status) => {
            let out = collect(status);
            panic!(
                "the child ran past its {limit:?} deadline and was killed\nstdout: {}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// Waits until `ready()` holds, looking every few milliseconds; panics naming
/// `what` when it still does not hold after `limit`.
#[track_caller]
pub fn wait_for(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ready() {
        assert!(Instant::now() < deadline, "timed out after {limit:?} waiting for {what}");
        thread::sleep(POLL);
    }
}

#[test]
fn a_child_past_its_deadline_is_killed_and_reported() {
    let child = std::process::Command::new("sh")
        .args(["-c", "echo started; exec sleep 30"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("sh runs");
    let started = Instant::now();
    let panic = std::panic::catch_unwind(|| wait_deadline(child, Duration::from_millis(300)))
        .expect_err("it runs past the deadline");
    assert!(started.elapsed() < Duration::from_secs(10));
    let message = panic.downcast_ref::<String>().expect("a formatted message");
    assert!(message.contains("deadline") && message.contains("stdout: started"), "{message}");
}
