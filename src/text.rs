//! Text from runs made safe for each place it is shown: terminals, Markdown,
//! HTML, CSV and JSON. A run is untrusted input (anyone can craft one with
//! plain git and have it fetched), so every string that comes from a run goes
//! through one of these functions before it leaves git-exp. This module owns
//! the rules; it knows nothing of runs, terminals or files.
//!
//! The rule for terminals: control characters (Unicode category Cc: C0, DEL,
//! C1) and format characters (Cf: bidirectional overrides, zero-width
//! characters, the BOM, ...) and the line and paragraph separators are shown
//! visibly as `<U+XXXX>`, so `evil\u{202e}gnp.exe` reads `evil<U+202E>gnp.exe`
//! and an escape sequence is shown, never obeyed. Logs are the one exception:
//! their colour and cursor sequences are removed (they are formatting, not
//! content) and a carriage return keeps only what follows it, as a terminal
//! shows a progress bar's last state.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, Write};

/// Unicode format characters (category Cf, Unicode 15.1), plus the line and
/// paragraph separators (Zl, Zp), as inclusive ranges.
const FORMAT_RANGES: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x2028, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
];

/// Whether `c` must never reach a terminal as it is: a control character
/// (Cc), a format character (Cf) or a line or paragraph separator.
pub fn is_unsafe(c: char) -> bool {
    if c.is_control() {
        return true;
    }
    let u = c as u32;
    u >= 0x00AD && FORMAT_RANGES.iter().any(|&(lo, hi)| (lo..=hi).contains(&u))
}

fn push_visible(out: &mut String, c: char) {
    let _ = write!(out, "<U+{:04X}>", c as u32);
}

/// Shows every unsafe character of `text` visibly; with `keep_lines`, line
/// feeds and tabs stay as they are.
fn neutralise(text: &str, keep_lines: bool) -> Cow<'_, str> {
    let kept = |c: char| keep_lines && (c == '\n' || c == '\t');
    if !text.chars().any(|c| is_unsafe(c) && !kept(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_unsafe(c) && !kept(c) {
            push_visible(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A single-line text (a name, a key, a value, a cell) for a terminal: every
/// control and format character, line breaks included, shown as `<U+XXXX>`.
pub fn line(text: &str) -> Cow<'_, str> {
    neutralise(text, false)
}

/// A message of several lines for a terminal (errors, warnings, notes): line
/// feeds and tabs kept, every other control and format character shown.
pub fn lines(text: &str) -> Cow<'_, str> {
    neutralise(text, true)
}

/// A program's log for a terminal: colour, cursor and title sequences removed,
/// a carriage return keeps what follows it, line feeds and tabs kept, every
/// other control and format character shown.
pub fn log(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let visible = line.trim_end_matches('\r').rsplit('\r').next().unwrap_or("");
        let mut chars = visible.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\x1b' if chars.peek() == Some(&'[') => {
                    // CSI: ESC [ parameters final-byte.
                    chars.next();
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                '\x1b' if chars.peek() == Some(&']') => {
                    // OSC (titles, hyperlinks, clipboard): up to BEL or ESC \.
                    while let Some(c) = chars.next() {
                        if c == '\x07' || (c == '\x1b' && chars.next_if_eq(&'\\').is_some()) {
                            break;
                        }
                    }
                }
                '\x1b' if chars.peek().is_some_and(|c| ('@'..='_').contains(c)) => {
                    // Other two-character escapes.
                    chars.next();
                }
                '\t' => out.push(c),
                c if is_unsafe(c) => push_visible(&mut out, c),
                c => out.push(c),
            }
        }
    }
    out
}

/// Text for a Markdown inline context (a table cell, a list item, after a
/// heading's first word): the characters that start emphasis, code, links,
/// images, tables and strikethrough are backslash-escaped, `<`, `>` and `&`
/// become entities (no raw HTML, no comment), line breaks become spaces, GFM's
/// autolinks are broken (a word joiner after `:`, `www.` made `www\.`), `@`,
/// `#` and `:` get a word joiner after them so run text never mentions anyone,
/// references an issue or becomes an emoji, and control and format
/// characters are shown as `<U+XXXX>` (itself escaped). Also safe at the start of a
/// line: a leading `-` or `+` and the `.` or `)` after leading digits are
/// escaped when a space or the end follows, so no list begins (`#` already
/// cannot begin a heading).
///
/// This and [`markdown_code`] are the two Markdown forms of run text; both
/// show every text the same (pinned by a test that renders them).
pub fn markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let ends_marker = chars.peek().is_none_or(|n| matches!(n, ' ' | '\t' | '\n' | '\r'));
        match c {
            '-' | '+' if out.is_empty() && ends_marker => {
                out.push('\\');
                out.push(c);
            }
            '.' | ')'
                if ends_marker && !out.is_empty() && out.bytes().all(|b| b.is_ascii_digit()) =>
            {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            // A word joiner after these keeps GitHub from turning run text
            // into mentions (`@x`), issue references (`#12`, `o/r#12`), emoji
            // (`:tada:`) and autolinks (`https://`), which it does after
            // Markdown, on the text itself.
            '@' | '#' | ':' => {
                out.push(c);
                out.push('\u{2060}');
            }
            '\n' | '\r' | '\t' => out.push(' '),
            '.' if out.len() >= 3
                && out.as_bytes()[out.len() - 3..].eq_ignore_ascii_case(b"www") =>
            {
                out.push_str("\\.")
            }
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c if is_unsafe(c) => {
                let _ = write!(out, "&lt;U+{:04X}&gt;", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Text as a Markdown code span, for names and paths: a backtick fence longer
/// than any run of backticks inside, line breaks as spaces, control and
/// format characters shown as `<U+XXXX>`; with `in_table`, `|` is escaped as
/// GFM requires inside a table cell. Code spans show `<`, `&` and `*` as they
/// are, so nothing in them is markup.
pub fn markdown_code(text: &str, in_table: bool) -> String {
    let body: String = line(&text.replace(['\n', '\r', '\t'], " ")).into_owned();
    let body = if in_table { body.replace('|', "\\|") } else { body };
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    if body.starts_with('`') || body.ends_with('`') || body.is_empty() {
        format!("{fence} {body} {fence}")
    } else {
        format!("{fence}{body}{fence}")
    }
}

/// Text for HTML element content or a quoted attribute value: `& < > " '`
/// escaped, control and format characters shown as `<U+XXXX>` (escaped).
pub fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            c if is_unsafe(c) => {
                let _ = write!(out, "&lt;U+{:04X}&gt;", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// A CSV cell for spreadsheets and programs: no raw control characters (shown
/// as `<U+XXXX>`), and a cell that a spreadsheet would read as a formula
/// (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) is prefixed
/// with `'`, as OWASP recommends. Numbers (`-0.5`, `+1e3`) are not formulas
/// and stay as they are, so programs still read them as numbers.
pub fn csv_cell(text: &str) -> Cow<'_, str> {
    let formula = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if formula && text.parse::<f64>().is_err() {
        return Cow::Owned(format!("'{}", line(text)));
    }
    line(text)
}

/// A JSON formatter that escapes, besides what JSON requires, DEL, the C1
/// controls and the format characters as `\uXXXX`, so that no raw control
/// byte reaches a terminal that shows the JSON. The escapes are lossless.
struct SafeJson<'a>(serde_json::ser::PrettyFormatter<'a>);

impl serde_json::ser::Formatter for SafeJson<'_> {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if is_unsafe(c) {
                writer.write_all(&fragment.as_bytes()[start..i])?;
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
                start = i + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// Writes `value` as pretty JSON with [`SafeJson`]'s escapes.
pub fn write_json<T: serde::Serialize + ?Sized>(w: &mut dyn Write, value: &T) -> io::Result<()> {
    let formatter = SafeJson(serde_json::ser::PrettyFormatter::new());
    let mut ser = serde_json::Serializer::with_formatter(&mut *w, formatter);
    value.serialize(&mut ser).map_err(io::Error::other)
}

/// A writer for a terminal's stderr that passes every message through
/// [`lines`], whatever it quotes, so no message can carry an escape sequence
/// or a bidirectional override. UTF-8 split across writes is reassembled.
pub struct SafeWriter<W: Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> SafeWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> SafeWriter<W> {
        SafeWriter { inner, pending: Vec::new() }
    }
}

impl<W: Write> Write for SafeWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        // Keep an incomplete UTF-8 sequence at the end for the next write.
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(_) => self.pending.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => self.pending.len(),
        };
        let text = String::from_utf8_lossy(&self.pending[..valid]).into_owned();
        self.pending.drain(..valid);
        self.inner.write_all(lines(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            let text = String::from_utf8_lossy(&self.pending).into_owned();
            self.pending.clear();
            self.inner.write_all(lines(&text).as_bytes())?;
        }
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_format_characters_are_shown_not_obeyed() {
        assert_eq!(line("plain"), "plain");
        assert_eq!(line("evil\u{202e}gnp.exe"), "evil<U+202E>gnp.exe");
        assert_eq!(
            line("a\u{200b}b\u{200f}c\u{2066}d\u{2069}"),
            "a<U+200B>b<U+200F>c<U+2066>d<U+2069>"
        );
        assert_eq!(line("\x1b]52;c;aGk=\x07x"), "<U+001B>]52;c;aGk=<U+0007>x");
        assert_eq!(line("a\nb\tc"), "a<U+000A>b<U+0009>c");
        assert_eq!(line("del\u{7f} c1\u{9b}"), "del<U+007F> c1<U+009B>");
        assert_eq!(lines("a\nb\tc\u{1b}[2J"), "a\nb\tc<U+001B>[2J");
        assert_eq!(line("é 中文 😀"), "é 中文 😀");
    }

    #[test]
    fn logs_lose_their_formatting_but_show_the_rest() {
        assert_eq!(log("\x1b[31mred\x1b[0m"), "red");
        assert_eq!(log("10%\r50%\r100%"), "100%");
        assert_eq!(log("a\nb\r\n"), "a\nb\n");
        assert_eq!(log("bell\x07"), "bell<U+0007>");
        assert_eq!(log("\x1b]0;title\x07x"), "x");
        assert_eq!(log("\x1b]8;;http://a\x1b\\link"), "link");
        assert_eq!(log("x\u{202e}y"), "x<U+202E>y");
    }

    #[test]
    fn markdown_escapes_every_active_character() {
        assert_eq!(markdown("a|b"), "a\\|b");
        assert_eq!(markdown("<img src=x>"), "&lt;img src=x&gt;");
        assert_eq!(markdown("see https://x and www.y.z"), "see https:\u{2060}//x and www\\.y.z");
        assert_eq!(markdown("fixes #12 :tada:"), "fixes #\u{2060}12 :\u{2060}tada:\u{2060}");
        assert_eq!(markdown("@alice"), "@\u{2060}alice");
        assert_eq!(markdown("`x`"), "\\`x\\`");
        assert_eq!(markdown("a\u{202e}b"), "a&lt;U+202E&gt;b");
        assert_eq!(markdown("lr-0.01"), "lr-0.01");
    }

    #[test]
    fn code_spans_cannot_be_closed_from_inside() {
        assert_eq!(markdown_code("plain", false), "`plain`");
        assert_eq!(markdown_code("a`b", false), "``a`b``");
        assert_eq!(markdown_code("`x``", false), "``` `x`` ```");
        assert_eq!(markdown_code("a|b", true), "`a\\|b`");
        assert_eq!(markdown_code("a\nb", false), "`a b`");
    }

    #[test]
    fn csv_cells_cannot_be_formulas() {
        assert_eq!(csv_cell("=1+2"), "'=1+2");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("-cmd|' /C calc'!A0"), "'-cmd|' /C calc'!A0");
        assert_eq!(csv_cell("-0.5"), "-0.5");
        assert_eq!(csv_cell("+1e3"), "+1e3");
        assert_eq!(csv_cell("\tx"), "'<U+0009>x");
        assert_eq!(csv_cell("plain"), "plain");
    }

    #[test]
    fn json_escapes_del_c1_and_format_characters() {
        let mut out = Vec::new();
        write_json(&mut out, &serde_json::json!({"k\u{9b}": "a\u{7f}b\u{202e}c\u{1b}"})).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.is_ascii() && !text.bytes().any(|b| b < 0x20 && b != b'\n' || b == 0x7f));
        assert!(text.contains(r#""k\u009b": "a\u007fb\u202ec\u001b""#), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["k\u{9b}"], "a\u{7f}b\u{202e}c\u{1b}");
    }

    #[test]
    fn safe_writer_reassembles_split_utf8() {
        let mut w = SafeWriter::new(Vec::new());
        let bytes = "é\u{202e}\x1b".as_bytes();
        w.write_all(&bytes[..1]).unwrap();
        w.write_all(&bytes[1..4]).unwrap();
        w.write_all(&bytes[4..]).unwrap();
        w.flush().unwrap();
        assert_eq!(String::from_utf8(w.inner).unwrap(), "é<U+202E><U+001B>");
    }

    /// Renders `doc` as GFM and returns the visible text of its first table cell
    /// or list item, tags and the word joiners left out, entities decoded.
    fn rendered(doc: &str, table: bool) -> String {
        use pulldown_cmark::{html, Options, Parser};
        let mut out = String::new();
        let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
        html::push_html(&mut out, Parser::new_ext(doc, options));
        let (open, close) = if table { ("<td>", "</td>") } else { ("<li>", "</li>") };
        let inner = out.split(open).nth(1).unwrap_or("").split(close).next().unwrap_or("");
        inner
            .replace("<code>", "")
            .replace("</code>", "")
            .replace('\u{2060}', "")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
            .trim()
            .to_owned()
    }

    // `list --format markdown` writes run text with `markdown`, `compare
    // --format markdown` writes run names with `markdown_code`: the same name
    // shows the same in both. A leading `-` or `1.` used to begin a list
    // through `markdown` while the code span showed it as it is.
    #[test]
    fn markdown_and_code_spans_show_the_same_text() {
        let hostile = [
            "a|b",
            "a\\|b",
            "a\\",
            "\\",
            "\\|",
            "a\\\\|b",
            "`a`",
            "`",
            "``",
            "a``b|",
            "x\\`y",
            "\\`",
            "|`",
            "`|",
            "a\\`|",
            "a_b*c*",
            "***",
            "~~s~~",
            "[x](y)",
            "![i](u)",
            "a<b>&",
            "<!-- x",
            "&amp;",
            "&#124;",
            "a\nb",
            "a\t|b",
            "a\u{202e}b",
            "@me #1",
            "# h",
            "-",
            "- x",
            "+",
            "1. x",
            "12) y",
            "1.",
            "-0.5",
            "1.5",
            "a  b",
        ];
        for name in hostile {
            let want = line(&name.replace(['\n', '\r', '\t'], " ")).trim().to_owned();
            for table in [true, false] {
                for cell in [markdown(name), markdown_code(name, table)] {
                    let doc = if table {
                        format!("| h |\n|---|\n| {cell} |\n")
                    } else {
                        format!("- {cell}\n")
                    };
                    assert_eq!(
                        rendered(&doc, table),
                        want,
                        "{name:?} as {cell:?} (table: {table})"
                    );
                }
            }
        }
        assert_eq!(markdown("-0.5"), "-0.5", "numbers stay as they are");
        assert_eq!(markdown("1. x"), "1\\. x");
        assert_eq!(markdown("- x"), "\\- x");
    }
}
