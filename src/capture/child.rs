//! Running the tracked command: spawn it with the run's environment, pass its
//! stdout and stderr through live while capturing them, tail the events file,
//! and forward termination signals.
//!
//! The child stays in git-exp's process group, so a signal sent to the group
//! reaches it directly: each signal is delivered to it exactly once. A SIGINT
//! or SIGQUIT the kernel sent (a terminal's Ctrl-C or Ctrl-\, which go to the
//! whole foreground group) is never forwarded; any other signal is forwarded
//! unless the sentinel of `signals` got it too (it was sent to the group:
//! `timeout`, `kill -INT -PGID`, a scheduler, git relaying one). Without a
//! sentinel, a SIGINT or SIGQUIT from the parent process (git relaying the
//! terminal's) while in the terminal's foreground group, or soon after one
//! from the terminal, is not forwarded; the others are. Any of them marks the
//! run `killed`.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGINT, SIGQUIT};
use signal_hook::iterator::exfiltrator::WithOrigin;
use signal_hook::iterator::SignalsInfo;

use super::events::Ingest;
use super::output::OutputLog;
use super::signals::{Sentinel, FORWARDED};

/// How often the events file is polled while the command runs.
const POLL: Duration = Duration::from_millis(100);
/// Without a sentinel: a SIGINT relayed by a parent (git) this soon after one
/// from the terminal is the same keypress.
const TTY_ECHO: Duration = Duration::from_secs(2);
/// How long to wait for the output pipes to close after the command exits
/// (a background grandchild may keep them open forever).
const PIPE_GRACE: Duration = Duration::from_secs(2);

/// Whether this process belongs to the foreground process group of the
/// terminal on stdin, stdout or stderr (where a Ctrl-C reaches every process).
fn in_terminal_foreground() -> bool {
    // SAFETY: getpgrp and tcgetpgrp have no preconditions; a non-terminal fd gives -1.
    let own = unsafe { libc::getpgrp() };
    (0..3).any(|fd| unsafe { libc::tcgetpgrp(fd) } == own)
}

/// What to run.
pub struct Spec<'a> {
    /// Program and arguments.
    pub argv: &'a [String],
    /// Variables added to the inherited environment.
    pub env: &'a [(String, String)],
    /// The events file to tail.
    pub events: &'a Path,
    /// The directory to run it in.
    pub cwd: &'a Path,
    /// Where to record the child's process id (see [`super::live::record_child`]).
    pub live_dir: &'a Path,
    /// The clock events are stamped with.
    pub clock: &'a crate::util::Clock,
}

/// How the command ended.
#[derive(Debug, Clone, Copy)]
pub struct Exit {
    /// Exit code, if it exited.
    pub code: Option<i32>,
    /// Signal that ended it, if one did.
    pub signal: Option<i32>,
    /// A termination signal the tracker received while the command ran.
    pub received: Option<i32>,
}

impl Exit {
    /// The exit code `git exp run` returns: the child's, or 128 + signal.
    pub fn process_code(&self) -> i32 {
        match (self.code, self.signal) {
            (Some(code), _) => code,
            (None, Some(sig)) => 128 + sig,
            (None, None) => 1,
        }
    }
}

/// Why the command could not start.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// No such program.
    #[error("command not found: {0}")]
    NotFound(String),
    /// The program exists but cannot be executed.
    #[error("command is not executable: {0}")]
    NotExecutable(String),
    /// Anything else.
    #[error("cannot start {program}")]
    Other {
        /// The program.
        program: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Runs the command to completion. Output goes to `log` and then to `out`/`err`;
/// events are fed to `ingest`, which is returned finished.
pub fn run(
    spec: &Spec,
    log: Arc<Mutex<OutputLog>>,
    out: Box<dyn Write + Send>,
    err: Box<dyn Write + Send>,
    mut ingest: Ingest,
) -> Result<(Exit, Ingest), SpawnError> {
    let program = spec.argv.first().cloned().unwrap_or_default();
    // Register handlers before spawning, so no signal slips through the gap.
    let signals = SignalsInfo::<WithOrigin>::new(FORWARDED).ok();
    let sentinel = signals.as_ref().and_then(|_| Sentinel::start());
    let mut child = Command::new(&program)
        .args(&spec.argv[1..])
        .current_dir(spec.cwd)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => SpawnError::NotFound(program.clone()),
            std::io::ErrorKind::PermissionDenied => SpawnError::NotExecutable(program.clone()),
            _ => SpawnError::Other { program: program.clone(), source: e },
        })?;
    let pid = child.id() as i32;
    super::live::record_child(spec.live_dir, child.id());
    let received = Arc::new(AtomicI32::new(0));
    let signal_thread = signals.map(|mut signals| {
        let handle = signals.handle();
        let received = Arc::clone(&received);
        let join = thread::spawn(move || {
            let mut last_from_tty: Option<Instant> = None;
            for origin in signals.forever() {
                let sig = origin.signal;
                let at = Instant::now();
                received.store(sig, Ordering::SeqCst);
                // A command that left our process group (`setsid`, some
                // launchers) gets neither the terminal's nor the group's copy:
                // it is always sent the signal.
                // SAFETY: getpgid(2) and getpgrp(2) only read process state.
                let same_group = unsafe { libc::getpgid(pid) == libc::getpgrp() };
                if !same_group {
                    // SAFETY: kill(2) with a pid we spawned and a valid signal number.
                    unsafe {
                        libc::kill(pid, sig);
                    }
                    continue;
                }
                let interactive = matches!(sig, SIGINT | SIGQUIT);
                if interactive && origin.process.is_none() {
                    last_from_tty = Some(at);
                    continue;
                }
                let group_had_it = match &sentinel {
                    Some(sentinel) => sentinel.also_got(sig, at),
                    None => {
                        // `git exp` runs under git, which relays the Ctrl-C it got from
                        // the terminal; the child got the terminal's own copy already.
                        let from_parent = origin
                            .process
                            .is_some_and(|p| p.pid == std::os::unix::process::parent_id() as i32);
                        interactive
                            && (last_from_tty.is_some_and(|t| t.elapsed() < TTY_ECHO)
                                || (from_parent && in_terminal_foreground()))
                    }
                };
                if group_had_it {
                    continue;
                }
                // SAFETY: kill(2) with a pid we spawned and a valid signal number.
                unsafe {
                    libc::kill(pid, sig);
                }
            }
        });
        (handle, join)
    });

    let (done_tx, done_rx) = mpsc::channel::<()>();
    let stdout = child.stdout.take().expect("stdout was piped");
    let stderr = child.stderr.take().expect("stderr was piped");
    pump(stdout, out, Arc::clone(&log), done_tx.clone());
    pump(stderr, err, Arc::clone(&log), done_tx);

    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let events_path = spec.events.to_path_buf();
    let clock = spec.clock.clone();
    let tailer = thread::spawn(move || {
        let mut file = std::fs::File::open(&events_path).ok();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let stop = !matches!(stop_rx.recv_timeout(POLL), Err(mpsc::RecvTimeoutError::Timeout));
            if file.is_none() {
                file = std::fs::File::open(&events_path).ok();
            }
            if let Some(f) = file.as_mut() {
                while let Ok(n) = f.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    ingest.feed(&buf[..n], clock.now());
                }
            }
            if stop {
                ingest.finish(clock.now());
                return ingest;
            }
        }
    });

    let status = child.wait();
    let _ = stop_tx.send(());
    let ingest = tailer.join().expect("the events tailer does not panic");
    for _ in 0..2 {
        if done_rx.recv_timeout(PIPE_GRACE).is_err() {
            break;
        }
    }
    if let Some((handle, join)) = signal_thread {
        handle.close();
        let _ = join.join();
    }
    use std::os::unix::process::ExitStatusExt;
    let (code, signal) = match status {
        Ok(s) => (s.code(), s.signal()),
        Err(_) => (None, None),
    };
    let received = match received.load(Ordering::SeqCst) {
        0 => None,
        sig => Some(sig),
    };
    Ok((Exit { code, signal, received }, ingest))
}

/// Copies a pipe to the capture log first, then to the terminal; a terminal that
/// went away (EPIPE) does not stop the capture.
fn pump(
    mut from: impl Read + Send + 'static,
    mut to: Box<dyn Write + Send>,
    log: Arc<Mutex<OutputLog>>,
    done: mpsc::Sender<()>,
) {
    thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        let mut terminal_ok = true;
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            if let Ok(mut log) = log.lock() {
                let _ = log.write(&buf[..n]);
            }
            if terminal_ok {
                terminal_ok = to.write_all(&buf[..n]).and_then(|()| to.flush()).is_ok();
            }
        }
        let _ = done.send(());
    });
}
