//! Whether a termination signal the tracker got must be forwarded to the
//! command: only when the command did not get it too.
//!
//! The command runs in the tracker's process group (so a terminal's Ctrl-C,
//! Ctrl-Z and job control work as for any program). A signal sent to that group
//! (`kill -INT -PGID`, `timeout`, which signals its child and then its group,
//! a scheduler, the terminal, git relaying a group's signal to git-exp) has
//! reached the command already; one sent to the tracker alone (`kill PID`,
//! `timeout --foreground`, git relaying a signal that only git got) has not.
//! The tracker cannot tell the two apart from the signal itself: same number,
//! same sender. So it asks a *sentinel*: a second git-exp process
//! (`git-exp signal-sentinel`, hidden) in the same process group that does
//! nothing but report the signals it gets. A signal the sentinel got at about
//! the same time went to the whole group (or to every process, as a cgroup
//! kill does), and the command has it. See: issue 11, item 11.
//!
//! This module spawns and reads the sentinel, and is the sentinel's own loop;
//! it never signals the command itself (`child` does).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use signal_hook::iterator::Signals;

/// The signals the tracker forwards, and the sentinel reports.
pub const FORWARDED: [i32; 4] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT];
/// The hidden subcommand that runs [`sentinel_loop`].
pub const SENTINEL_COMMAND: &str = "signal-sentinel";
/// Copies of one group-wide signal reach the tracker and the sentinel this close
/// together (allowing for a loaded machine); so a signal the tracker got is
/// forwarded this long after it arrived, when the sentinel did not report it.
const WINDOW: Duration = Duration::from_millis(400);
/// How long the sentinel may take to start.
const START: Duration = Duration::from_secs(5);
/// Reports older than this are forgotten.
const KEEP: Duration = Duration::from_secs(10);

/// Signals the sentinel reported, with when they were read.
#[derive(Default)]
struct Seen {
    reports: Mutex<(bool, Vec<(i32, Instant)>)>,
    changed: Condvar,
}

/// A running sentinel; killed when dropped.
pub struct Sentinel {
    child: Child,
    seen: Arc<Seen>,
}

impl Sentinel {
    /// Starts a sentinel (this executable, [`SENTINEL_COMMAND`]) in this process's
    /// group and waits until it listens. `None` when it cannot start: the caller
    /// then decides without it.
    pub fn start() -> Option<Sentinel> {
        let exe = std::env::current_exe().ok()?;
        let mut child = Command::new(exe)
            .arg(SENTINEL_COMMAND)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let stdout = child.stdout.take().expect("stdout was piped");
        let seen = Arc::new(Seen::default());
        let reader = Arc::clone(&seen);
        thread::spawn(move || read_reports(stdout, &reader));
        let guard = seen.reports.lock().ok()?;
        let (guard, _) = seen.changed.wait_timeout_while(guard, START, |r| !r.0).ok()?;
        let ready = guard.0;
        drop(guard);
        let sentinel = Sentinel { child, seen };
        ready.then_some(sentinel)
    }

    /// Whether the sentinel got `sig` within [`WINDOW`] of `at` (when the tracker
    /// got it): then it was sent to the whole group. Waits until `at + WINDOW` at most.
    pub fn also_got(&self, sig: i32, at: Instant) -> bool {
        self.seen.got(sig, at, WINDOW)
    }
}

impl Seen {
    /// Whether `sig` was reported within `window` of `at`, waiting until
    /// `at + window` at most for the report.
    fn got(&self, sig: i32, at: Instant, window: Duration) -> bool {
        let deadline = at + window;
        let Ok(mut guard) = self.reports.lock() else {
            return false;
        };
        loop {
            let near = |&(s, t): &(i32, Instant)| s == sig && t + window >= at && t <= deadline;
            if guard.1.iter().any(near) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            guard = match self.changed.wait_timeout(guard, deadline - now) {
                Ok((g, _)) => g,
                Err(_) => return false,
            };
        }
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads the sentinel's lines (`ready`, then one signal number a line).
fn read_reports(stdout: impl Read, seen: &Seen) {
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        let Ok(mut reports) = seen.reports.lock() else { break };
        let now = Instant::now();
        if line == "ready" {
            reports.0 = true;
        } else if let Ok(sig) = line.parse::<i32>() {
            reports.1.retain(|&(_, t)| now.duration_since(t) < KEEP);
            reports.1.push((sig, now));
        }
        drop(reports);
        seen.changed.notify_all();
    }
}

/// The sentinel itself: reports each of [`FORWARDED`] it gets on `out`, one
/// number a line after a first `ready` line, until `input` (the tracker's end of
/// a pipe) closes or `out` cannot be written.
pub fn sentinel_loop(
    input: impl Read + Send + 'static,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let mut signals = Signals::new(FORWARDED)?;
    let handle = signals.handle();
    thread::spawn(move || {
        let mut input = input;
        let _ = std::io::copy(&mut input, &mut std::io::sink());
        handle.close();
    });
    writeln!(out, "ready")?;
    out.flush()?;
    for sig in signals.forever() {
        writeln!(out, "{sig}")?;
        out.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_near_in_time_of_the_same_signal_matches() {
        let seen = Seen::default();
        let window = Duration::from_millis(200);
        let t0 = Instant::now();
        seen.reports.lock().unwrap().1.push((SIGINT, t0));
        assert!(seen.got(SIGINT, t0 + Duration::from_millis(100), window));
        assert!(!seen.got(SIGTERM, t0, window), "another signal");
        assert!(!seen.got(SIGINT, t0 + Duration::from_millis(300), window), "too late");
    }

    #[test]
    fn a_report_that_arrives_while_waiting_matches() {
        let seen = Arc::new(Seen::default());
        let at = Instant::now();
        let late = Arc::clone(&seen);
        let reporter = thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            late.reports.lock().unwrap().1.push((SIGQUIT, Instant::now()));
            late.changed.notify_all();
        });
        assert!(seen.got(SIGQUIT, at, Duration::from_secs(5)));
        reporter.join().unwrap();
        assert!(at.elapsed() < Duration::from_secs(5), "woken by the report");
    }

    #[test]
    fn reports_are_read_from_the_sentinels_lines() {
        let seen = Seen::default();
        read_reports(&b"ready\n2\nnoise\n15\n"[..], &seen);
        let reports = seen.reports.lock().unwrap();
        assert!(reports.0);
        let sigs: Vec<i32> = reports.1.iter().map(|r| r.0).collect();
        assert_eq!(sigs, [SIGINT, SIGTERM]);
    }
}
