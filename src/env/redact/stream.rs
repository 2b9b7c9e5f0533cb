//! Redaction of a stream (a run's output) before anything cuts it.
//!
//! A capped log keeps only its head and tail; redacting after the cut would let
//! a token straddling it keep its first characters, and a private key whose
//! BEGIN line fell in the dropped middle keep its body. So the stream is
//! redacted as it comes, a line at a time (`\n` or `\r` ends one), with the
//! rules of the parent module; only what could still turn out to be part of a
//! secret is held back: the unfinished line, and the lines of a private key
//! block whose END has not come yet. Memory stays bounded: a line longer than
//! [`MAX_LINE`] is redacted in pieces cut at a blank, and a key block is held
//! for at most [`MAX_BLOCK`] bytes.

use std::borrow::Cow;

use super::{base64_lines_len, find, Redactor};

/// An unfinished line is held back up to this many bytes.
pub const MAX_LINE: usize = 64 << 10;
/// A private key block is held back up to this many bytes (as in the text rule).
pub const MAX_BLOCK: usize = 64 << 10;
/// What a long line keeps back when it is given out in pieces: longer than
/// any token the rules know and the look-ahead after a key word.
const TAIL: usize = 8 << 10;
/// How far before a secret a piece must end, so the key word that makes it
/// one (`password: `, `Authorization: Bearer `) goes with it.
const CONTEXT: usize = 128;

/// Redacts a byte stream chunk by chunk; see the module documentation.
#[derive(Debug, Clone, Default)]
pub struct StreamRedactor {
    redactor: Redactor,
    /// Bytes not yet given out: an open key block's complete lines (the first
    /// `held` bytes), then an unfinished line.
    pending: Vec<u8>,
    held: usize,
}

impl StreamRedactor {
    /// Starts a stream redacted with `redactor`'s rules.
    pub fn new(redactor: Redactor) -> Self {
        StreamRedactor { redactor, pending: Vec::new(), held: 0 }
    }

    /// Takes the next bytes of the stream and appends to `out` the redacted
    /// bytes that are ready.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        let old = self.pending.len();
        self.pending.extend_from_slice(bytes);
        let line_end = self.pending[old..]
            .iter()
            .rposition(|&c| c == b'\n' || c == b'\r')
            .map(|k| old + k + 1);
        let Some(cut) = line_end else {
            if self.pending.len() > MAX_LINE + self.held {
                self.release_long_line(out);
            }
            return;
        };
        // Everything up to `cut` is complete lines; hold back an open key block.
        let release = match open_block(&self.pending[..cut]) {
            Some(start) if cut - start <= MAX_BLOCK => start,
            _ => cut,
        };
        self.emit(release, out);
        self.held = cut - release;
        if self.pending.len() - self.held > MAX_LINE {
            self.release_long_line(out);
        }
    }

    /// Ends the stream: appends the rest, redacted, to `out`.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        self.emit(self.pending.len(), out);
        self.held = 0;
    }

    /// The bytes held back when they may be kept on disk as they are, so that a
    /// tracker killed now loses nothing; `None` while they may hold a private key.
    pub fn unfinished(&self) -> Option<&[u8]> {
        (self.held == 0).then_some(&self.pending[..])
    }

    /// An unfinished line grew past [`MAX_LINE`]: give out all of it but its
    /// last [`TAIL`] bytes, which may hold the start of a token or a `name:`
    /// whose value is still to come, cut after a blank where there is one and
    /// never inside, or just after the key word of, a secret found so far
    /// (each piece is redacted alone, so a split secret would be recognised in
    /// neither).
    fn release_long_line(&mut self, out: &mut Vec<u8>) {
        let len = self.pending.len();
        let start = self.held;
        let mut cut = len.saturating_sub(TAIL).max(start);
        if let Ok(text) = std::str::from_utf8(&self.pending[start..]) {
            for (s, e, _) in self.redactor.find_all(text) {
                let (s, e) = (start + s, start + e);
                if s.saturating_sub(CONTEXT) < cut && cut < e.saturating_add(1) {
                    cut = s.saturating_sub(CONTEXT).max(start);
                }
            }
        }
        let floor = start + (cut - start) / 2;
        if let Some(k) = self.pending[floor..cut].iter().rposition(|&c| c == b' ' || c == b'\t') {
            cut = floor + k + 1;
        }
        if cut <= start + TAIL {
            // No safe place: memory stays bounded all the same.
            cut = len.saturating_sub(TAIL);
        }
        self.emit(cut, out);
        self.held = 0;
    }

    /// Redacts the first `n` pending bytes into `out` and drops them.
    fn emit(&mut self, n: usize, out: &mut Vec<u8>) {
        if n == 0 {
            return;
        }
        let bytes = &self.pending[..n];
        match std::str::from_utf8(bytes) {
            Ok(text) => out.extend_from_slice(self.redactor.redact_text(text).as_bytes()),
            Err(_) => {
                let text = String::from_utf8_lossy(bytes);
                match self.redactor.redact_text(&text) {
                    Cow::Borrowed(_) => out.extend_from_slice(bytes),
                    Cow::Owned(redacted) => out.extend_from_slice(redacted.as_bytes()),
                }
            }
        }
        self.pending.drain(..n);
    }
}

/// Where the line holding a private key block that is still open at the end
/// of `text` (complete lines) starts: its BEGIN line came, no END yet, and every
/// line since could be part of its body.
fn open_block(text: &[u8]) -> Option<usize> {
    const BEGIN: &[u8] = b"-----BEGIN ";
    let at = text.windows(BEGIN.len()).rposition(|w| w == BEGIN)?;
    let line_len = text[at..].iter().position(|&c| c == b'\n' || c == b'\r')?;
    let line = &text[at..at + line_len];
    if find(line, b"PRIVATE KEY-----").is_none() || find(&text[at..], b"-----END ").is_some() {
        return None;
    }
    let body = at + line_len;
    (body + base64_lines_len(&text[body..]) == text.len())
        .then(|| text[..at].iter().rposition(|&c| c == b'\n' || c == b'\r').map_or(0, |k| k + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::REDACTED;

    #[test]
    fn a_long_line_is_never_cut_inside_a_secret() {
        let token = format!("ghp_{}", "a1B2c3".repeat(6));
        // No blank at all: the cut could fall anywhere.
        for pad in [MAX_LINE - 12, MAX_LINE - 40, MAX_LINE + 3, MAX_LINE - TAIL - 5] {
            let text = format!("{}{token}\n", ",".repeat(pad));
            for size in [7, 4096, 65_536, 1 << 20] {
                let out = stream(&text, size);
                assert!(!out.contains(&token[..16]), "pad {pad} size {size}");
                assert!(out.contains(REDACTED));
            }
        }
        // Blanks, and a key word just before the cut.
        let text = format!("{}password: hunter2secretvalue\n", "y ".repeat(MAX_LINE / 2 + 10));
        for size in [5, 4096, 65_536] {
            let out = stream(&text, size);
            assert!(!out.contains("hunter2secret"), "size {size}");
        }
    }

    fn key() -> String {
        let body = "MIIEowIBAAKCAQEA1b2c3d4e5f6g7h8i9j0kLmNoPqRsTuVwXyZ+/";
        format!("-----BEGIN RSA PRIVATE KEY-----\n{body}\n{body}\n-----END RSA PRIVATE KEY-----\n")
    }

    /// Streams `text` in pieces of `size` bytes.
    fn stream(text: &str, size: usize) -> String {
        let mut s = StreamRedactor::new(Redactor::default());
        let mut out = Vec::new();
        for piece in text.as_bytes().chunks(size) {
            s.feed(piece, &mut out);
        }
        s.finish(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_stream_redacts_like_the_whole_text_however_it_is_cut() {
        let token = format!("ghp_{}", "a1B2c3".repeat(6));
        let text = format!(
            "step 1\rprogress 50%\rdone\nkey:\n{}after\nuse {token} now\nlast line without end {token}",
            key()
        );
        let whole = Redactor::default().redact_text(&text).into_owned();
        assert!(!whole.contains("MIIE") && !whole.contains(&token), "{whole}");
        for size in [1, 2, 3, 7, 16, 64, 1000] {
            assert_eq!(stream(&text, size), whole, "pieces of {size}");
        }
    }

    #[test]
    fn an_open_key_block_is_held_and_never_unfinished() {
        let mut s = StreamRedactor::new(Redactor::default());
        let mut out = Vec::new();
        s.feed(b"before\n-----BEGIN PRIVATE KEY-----\nMIIEow==\n", &mut out);
        assert_eq!(out, b"before\n");
        assert_eq!(s.unfinished(), None);
        s.feed(b"-----END PRIVATE KEY-----\nnext", &mut out);
        assert_eq!(String::from_utf8_lossy(&out), format!("before\n{REDACTED}\n"));
        assert_eq!(s.unfinished(), Some(&b"next"[..]));
        // A block broken by ordinary output is given out, redacted as far as it went.
        let mut s = StreamRedactor::new(Redactor::default());
        let mut out = Vec::new();
        s.feed(
            b"-----BEGIN PRIVATE KEY-----\nMIIEow==\nTraceback (most recent call last)\n",
            &mut out,
        );
        assert_eq!(
            String::from_utf8_lossy(&out),
            format!("{REDACTED}Traceback (most recent call last)\n")
        );
    }

    #[test]
    fn memory_stays_bounded_on_endless_lines_and_blocks() {
        let mut s = StreamRedactor::new(Redactor::default());
        let mut out = Vec::new();
        for _ in 0..1000 {
            s.feed(&[b'x'; 1000], &mut out);
            assert!(s.pending.len() <= MAX_LINE + 1000);
        }
        let mut s = StreamRedactor::new(Redactor::default());
        s.feed(b"-----BEGIN PRIVATE KEY-----\n", &mut out);
        for _ in 0..5000 {
            s.feed(b"MIIEowIBAAKCAQEA1b2c3d4e5f6g7h8i9j0kLmNoPqRsTuVw\n", &mut out);
            assert!(s.pending.len() <= MAX_BLOCK + 100);
        }
        let start = std::time::Instant::now();
        let mut s = StreamRedactor::new(Redactor::default());
        let line = "a token ghp_ and sk- and -----BEGIN and a long line ".repeat(20) + "\n";
        for _ in 0..2000 {
            s.feed(line.as_bytes(), &mut out);
        }
        assert!(start.elapsed().as_secs() < 5);
    }
}
