//! The run's combined stdout and stderr, captured into the live directory as it
//! is produced, with bounded disk use: the first `head` bytes are kept in
//! `output.head`, later bytes go to rotating `output.tail.0`/`output.tail.1`
//! chunks of `tail` bytes, so the last `tail` bytes are always on disk.
//!
//! The output is redacted as it comes ([`StreamRedactor`]), before the cap cuts
//! it: a secret straddling a cut, or a private key whose BEGIN line falls in the
//! dropped middle, is removed whole. The unfinished line the redactor holds back
//! is kept as it is in `output.pending`, so a tracker killed at any moment loses
//! nothing that the recovery could need, except the lines of a private key block
//! whose END had not come yet.

use std::io::Write;
use std::path::{Path, PathBuf};

use fs_err::File;

use crate::env::{Redactor, StreamRedactor};

/// Default total size of `output.log`: half head, half tail.
pub const DEFAULT_LIMIT: u64 = 2 << 20;

const HEAD: &str = "output.head";
const TAILS: [&str; 2] = ["output.tail.0", "output.tail.1"];
const STATE: &str = "output.state";
/// The bytes the redactor holds back, not yet redacted; only a crash leaves them.
const PENDING: &str = "output.pending";
/// The marker between head and tail when output was cut.
const CUT_MARKER: &[u8] = b"\n[git-exp: output cut here; the first and last part are kept]\n";
/// Output written by a process that tracks itself (the Python client outside
/// `git exp run`), as one plain file.
pub const CONSOLE: &str = "console.log";

/// Writer of the capped log in a live directory.
pub struct OutputLog {
    dir: PathBuf,
    head_cap: u64,
    tail_cap: u64,
    head_len: u64,
    head: File,
    /// Index of the tail chunk being written, and its length.
    tail: Option<(usize, File, u64)>,
    total: u64,
    stream: StreamRedactor,
    /// Redacted bytes on their way to the files, kept to reuse the allocation.
    ready: Vec<u8>,
    /// `output.pending`, open, and how many bytes it holds.
    pending: Option<(File, usize)>,
}

impl OutputLog {
    /// Starts an empty log in `dir`, keeping at most `limit` bytes in the end,
    /// redacted with `redactor`'s rules.
    pub fn create(dir: &Path, limit: u64, redactor: Redactor) -> std::io::Result<OutputLog> {
        let half = (limit / 2).max(1);
        let head = File::create(dir.join(HEAD))?;
        Ok(OutputLog {
            dir: dir.to_path_buf(),
            head_cap: half,
            tail_cap: half,
            head_len: 0,
            head,
            tail: None,
            total: 0,
            stream: StreamRedactor::new(redactor),
            ready: Vec::new(),
            pending: None,
        })
    }

    /// Appends bytes of output.
    pub fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.total += bytes.len() as u64;
        let mut ready = std::mem::take(&mut self.ready);
        self.stream.feed(bytes, &mut ready);
        let stored = self.store(&ready);
        let released = !ready.is_empty();
        ready.clear();
        self.ready = ready;
        stored?;
        self.save_unfinished(released)
    }

    /// Ends the output: what the redactor held back is redacted and stored.
    pub fn close(&mut self) -> std::io::Result<()> {
        let mut ready = std::mem::take(&mut self.ready);
        self.stream.finish(&mut ready);
        self.store(&ready)?;
        self.save_unfinished(true)
    }

    /// Keeps the unfinished line in `output.pending`, or removes the file. When
    /// nothing was `released` since the last call, the line only grew: the new
    /// bytes are appended rather than the file rewritten.
    fn save_unfinished(&mut self, released: bool) -> std::io::Result<()> {
        let path = self.dir.join(PENDING);
        match (self.stream.unfinished(), &mut self.pending) {
            (Some(bytes), Some((file, len))) if !released && *len <= bytes.len() => {
                file.write_all(&bytes[*len..])?;
                *len = bytes.len();
            }
            (Some(bytes), _) if !bytes.is_empty() => {
                let mut file = File::create(&path)?;
                file.write_all(bytes)?;
                self.pending = Some((file, bytes.len()));
            }
            (_, Some(_)) => {
                self.pending = None;
                fs_err::remove_file(&path)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Stores redacted bytes: in the head while it has room, then the tail.
    fn store(&mut self, mut bytes: &[u8]) -> std::io::Result<()> {
        if self.head_len < self.head_cap {
            let n = bytes.len().min((self.head_cap - self.head_len) as usize);
            self.head.write_all(&bytes[..n])?;
            self.head_len += n as u64;
            bytes = &bytes[n..];
        }
        while !bytes.is_empty() {
            let rotate = match &self.tail {
                None => Some(0),
                Some((i, _, len)) if *len >= self.tail_cap => Some(1 - *i),
                Some(_) => None,
            };
            if let Some(i) = rotate {
                let file = File::create(self.dir.join(TAILS[i]))?;
                self.tail = Some((i, file, 0));
                // Record which chunk is current, for recovery.
                fs_err::write(self.dir.join(STATE), i.to_string())?;
            }
            let (_, file, len) = self.tail.as_mut().expect("a tail chunk was just opened");
            let n = bytes.len().min((self.tail_cap - *len) as usize);
            file.write_all(&bytes[..n])?;
            *len += n as u64;
            bytes = &bytes[n..];
        }
        Ok(())
    }

    /// The number of bytes written so far.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Assembles `output.log`; see [`assemble`].
    pub fn assemble(&self, extra: &[u8]) -> std::io::Result<Vec<u8>> {
        assemble(&self.dir, self.tail_cap, extra, &Redactor::default())
    }
}

/// Assembles `output.log` from a live directory: head, a marker of what was cut,
/// the last `tail_cap` bytes, then `extra` (git-exp's own notes).
///
/// The head and tail were redacted as they were written; bytes a crash left
/// unredacted in `output.pending` follow the tail, and the caller redacts the
/// result once more. A console file written by a process that tracks itself is
/// redacted here with `redactor`, as a stream, before it is cut.
pub fn assemble(
    dir: &Path,
    tail_cap: u64,
    extra: &[u8],
    redactor: &Redactor,
) -> std::io::Result<Vec<u8>> {
    let read = |name: &str| -> std::io::Result<Vec<u8>> {
        match fs_err::read(dir.join(name)) {
            Ok(b) => Ok(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    };
    if !dir.join(HEAD).exists() && dir.join(CONSOLE).exists() {
        return assemble_plain(&dir.join(CONSOLE), tail_cap, extra, redactor);
    }
    let mut out = read(HEAD)?;
    let current: usize = read(STATE)?.first().map(|b| usize::from(*b == b'1')).unwrap_or(0);
    let mut tail = read(TAILS[1 - current])?;
    let cur = read(TAILS[current])?;
    let had_previous = !tail.is_empty();
    tail.extend_from_slice(&cur);
    let keep = (tail_cap as usize).min(tail.len());
    let cut_in_tail = tail.len() - keep;
    if had_previous || cut_in_tail > 0 {
        // Bytes were dropped between head and tail; older rotations are unknown,
        // so the marker says that output was cut rather than how much.
        out.extend_from_slice(CUT_MARKER);
    }
    out.extend_from_slice(&tail[cut_in_tail..]);
    out.extend_from_slice(&read(PENDING)?);
    out.extend_from_slice(extra);
    Ok(out)
}

/// `output.log` from one plain file, redacted as a stream: the first and last
/// `cap` bytes of the redacted text. Reads it once, holding at most about
/// three times `cap` bytes.
fn assemble_plain(
    path: &Path,
    cap: u64,
    extra: &[u8],
    redactor: &Redactor,
) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let cap = usize::try_from(cap).unwrap_or(usize::MAX);
    let mut file = File::open(path)?;
    let mut stream = StreamRedactor::new(redactor.clone());
    let (mut head, mut tail, mut cut) = (Vec::new(), Vec::new(), false);
    let mut ready = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    let mut keep = |ready: &mut Vec<u8>| {
        let room = cap.saturating_sub(head.len()).min(ready.len());
        head.extend_from_slice(&ready[..room]);
        tail.extend_from_slice(&ready[room..]);
        if tail.len() > cap.saturating_mul(2).max(1 << 16) {
            cut = true;
            tail.drain(..tail.len() - cap);
        }
        ready.clear();
    };
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        stream.feed(&buf[..n], &mut ready);
        keep(&mut ready);
    }
    stream.finish(&mut ready);
    keep(&mut ready);
    if cut || tail.len() > cap {
        head.extend_from_slice(CUT_MARKER);
        head.extend_from_slice(&tail[tail.len().saturating_sub(cap)..]);
    } else {
        head.extend_from_slice(&tail);
    }
    head.extend_from_slice(extra);
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::REDACTED;

    fn create(dir: &Path, limit: u64) -> OutputLog {
        OutputLog::create(dir, limit, Redactor::default()).unwrap()
    }

    fn assembled(log: &mut OutputLog) -> Vec<u8> {
        log.close().unwrap();
        log.assemble(b"").unwrap()
    }

    #[test]
    fn small_output_is_kept_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = create(dir.path(), 100);
        log.write(b"hello ").unwrap();
        log.write(b"world\n").unwrap();
        assert_eq!(assembled(&mut log), b"hello world\n");
        // Exactly head + one tail chunk: nothing cut.
        let mut log = create(dir.path(), 10);
        log.write(b"0123456789").unwrap();
        assert_eq!(assembled(&mut log), b"0123456789");
    }

    #[test]
    fn large_output_keeps_head_and_tail() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = create(dir.path(), 10);
        let data: Vec<u8> =
            (0..100u8).map(|i| if i % 9 == 8 { b'\n' } else { b'a' + i % 26 }).collect();
        for chunk in data.chunks(7) {
            log.write(chunk).unwrap();
        }
        let out = assembled(&mut log);
        assert!(out.starts_with(&data[..5]));
        assert!(out.ends_with(&data[95..]));
        assert!(out.windows(7).any(|w| w == b"git-exp"));
        assert_eq!(log.total(), 100);
    }

    /// See: issue 11, item 5.
    #[test]
    fn output_is_redacted_before_the_cap_cuts_it() {
        let dir = tempfile::tempdir().unwrap();
        let token = format!("glpat-{}", "Ab1Cd2Ef3G".repeat(3));
        let body = "MIIEowIBAAKCAQEAx9Q2mLp7Rt5Vw8Zc3Nb6Hj4Kd1Fg0Se2Wq9Ty7Ui5Op3As6Df\n".repeat(20);
        let mut log = create(dir.path(), 2000);
        // The token straddles the end of the head (1000 bytes).
        log.write(format!("{} {token}\n", "h".repeat(990)).as_bytes()).unwrap();
        for i in 0..100 {
            log.write(format!("middle {i}\n").as_bytes()).unwrap();
        }
        // The BEGIN line falls in the dropped middle, the body reaches the tail.
        log.write(b"-----BEGIN RSA PRIVATE KEY-----\n").unwrap();
        for line in body.lines() {
            log.write(format!("{line}\n").as_bytes()).unwrap();
        }
        log.write(b"-----END RSA PRIVATE KEY-----\nafter the key\n").unwrap();
        let out = String::from_utf8(assembled(&mut log)).unwrap();
        assert!(
            !out.contains("glpat-") && !out.contains("MIIE") && !out.contains("Ab1Cd2"),
            "{out}"
        );
        assert!(out.contains("output cut") && out.ends_with("after the key\n"), "{out}");
        assert!(out.len() <= 2000 + 100);
    }

    #[test]
    fn a_crash_leaves_the_unfinished_line_but_never_an_open_key() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = create(dir.path(), 1000);
        log.write(b"done\nepoch 3: 4").unwrap();
        log.write(b"5%").unwrap();
        // Killed here: the recovery assembles what is on disk.
        assert_eq!(
            assemble(dir.path(), 500, b"", &Redactor::default()).unwrap(),
            b"done\nepoch 3: 45%"
        );
        log.write(b"\n-----BEGIN PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nMIIEow").unwrap();
        let out = assemble(dir.path(), 500, b"", &Redactor::default()).unwrap();
        assert_eq!(out, b"done\nepoch 3: 45%\n");
        log.close().unwrap();
        let out = assemble(dir.path(), 500, b"", &Redactor::default()).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), format!("done\nepoch 3: 45%\n{REDACTED}"));
    }

    #[test]
    fn a_console_file_is_capped_the_same_way() {
        let dir = tempfile::tempdir().unwrap();
        let r = Redactor::default();
        fs_err::write(dir.path().join(CONSOLE), b"0123456789").unwrap();
        assert_eq!(assemble(dir.path(), 5, b"!", &r).unwrap(), b"0123456789!");
        let data: Vec<u8> = (0..100u8).map(|i| b'a' + i % 26).collect();
        fs_err::write(dir.path().join(CONSOLE), &data).unwrap();
        let out = assemble(dir.path(), 5, b"", &r).unwrap();
        assert!(out.starts_with(&data[..5]) && out.ends_with(&data[95..]));
        assert!(out.windows(7).any(|w| w == b"git-exp"));
        assert!(out.len() < 80);
        // Redacted before it is cut: a token across the head's end goes whole.
        let token = format!("npm_{}", "a1B2c3D4e5F6".repeat(3));
        let text = format!("{}{token}\n{}\n", "x ".repeat(10), "y".repeat(200));
        fs_err::write(dir.path().join(CONSOLE), &text).unwrap();
        let out = String::from_utf8(assemble(dir.path(), 30, b"", &r).unwrap()).unwrap();
        assert!(
            out.starts_with("x x x x x x x x x x [REDACTED]") && !out.contains("npm_"),
            "{out}"
        );
    }
}
