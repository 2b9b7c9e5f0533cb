//! The run's combined stdout and stderr, captured into the live directory as it
//! is produced, with bounded disk use: the first `head` bytes are kept in
//! `output.head`, later bytes go to rotating `output.tail.0`/`output.tail.1`
//! chunks of `tail` bytes, so the last `tail` bytes are always on disk. Because
//! every byte is written before it is forwarded, a tracker killed at any moment
//! loses nothing that the recovery could need.

use std::io::Write;
use std::path::{Path, PathBuf};

use fs_err::File;

/// Default total size of `output.log`: half head, half tail.
pub const DEFAULT_LIMIT: u64 = 2 << 20;

const HEAD: &str = "output.head";
const TAILS: [&str; 2] = ["output.tail.0", "output.tail.1"];
const STATE: &str = "output.state";
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
}

impl OutputLog {
    /// Starts an empty log in `dir`, keeping at most `limit` bytes in the end.
    pub fn create(dir: &Path, limit: u64) -> std::io::Result<OutputLog> {
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
        })
    }

    /// Appends bytes of output.
    pub fn write(&mut self, mut bytes: &[u8]) -> std::io::Result<()> {
        self.total += bytes.len() as u64;
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
        assemble(&self.dir, self.tail_cap, extra)
    }
}

/// Assembles `output.log` from a live directory: head, a marker of what was cut,
/// the last `tail_cap` bytes, then `extra` (git-exp's own notes).
pub fn assemble(dir: &Path, tail_cap: u64, extra: &[u8]) -> std::io::Result<Vec<u8>> {
    let read = |name: &str| -> std::io::Result<Vec<u8>> {
        match fs_err::read(dir.join(name)) {
            Ok(b) => Ok(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    };
    if !dir.join(HEAD).exists() && dir.join(CONSOLE).exists() {
        return assemble_plain(&dir.join(CONSOLE), tail_cap, extra);
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
        out.extend_from_slice(b"\n[git-exp: output cut here; the first and last part are kept]\n");
    }
    out.extend_from_slice(&tail[cut_in_tail..]);
    out.extend_from_slice(extra);
    Ok(out)
}

/// `output.log` from one plain file: its first and last `cap` bytes.
fn assemble_plain(path: &Path, cap: u64, extra: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut out = Vec::new();
    if len <= cap.saturating_mul(2) {
        file.read_to_end(&mut out)?;
    } else {
        (&mut file).take(cap).read_to_end(&mut out)?;
        out.extend_from_slice(b"\n[git-exp: output cut here; the first and last part are kept]\n");
        file.seek(SeekFrom::Start(len - cap))?;
        file.take(cap).read_to_end(&mut out)?;
    }
    out.extend_from_slice(extra);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_output_is_kept_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = OutputLog::create(dir.path(), 100).unwrap();
        log.write(b"hello ").unwrap();
        log.write(b"world\n").unwrap();
        assert_eq!(log.assemble(b"").unwrap(), b"hello world\n");
        // Exactly head + one tail chunk: nothing cut.
        let mut log = OutputLog::create(dir.path(), 10).unwrap();
        log.write(b"0123456789").unwrap();
        assert_eq!(log.assemble(b"").unwrap(), b"0123456789");
    }

    #[test]
    fn large_output_keeps_head_and_tail() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = OutputLog::create(dir.path(), 10).unwrap();
        let data: Vec<u8> = (0..100u8).map(|i| b'a' + i % 26).collect();
        for chunk in data.chunks(7) {
            log.write(chunk).unwrap();
        }
        let out = log.assemble(b"").unwrap();
        assert!(out.starts_with(&data[..5]));
        assert!(out.ends_with(&data[95..]));
        assert!(out.windows(7).any(|w| w == b"git-exp"));
        assert_eq!(log.total(), 100);
    }

    #[test]
    fn a_console_file_is_capped_the_same_way() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(dir.path().join(CONSOLE), b"0123456789").unwrap();
        assert_eq!(assemble(dir.path(), 5, b"!").unwrap(), b"0123456789!");
        let data: Vec<u8> = (0..100u8).map(|i| b'a' + i % 26).collect();
        fs_err::write(dir.path().join(CONSOLE), &data).unwrap();
        let out = assemble(dir.path(), 5, b"").unwrap();
        assert!(out.starts_with(&data[..5]) && out.ends_with(&data[95..]));
        assert!(out.windows(7).any(|w| w == b"git-exp"));
        assert!(out.len() < 80);
    }
}
