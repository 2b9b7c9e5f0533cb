//! Output for people and programs: the `--format` flag, whether stdout is a
//! terminal (colour, truncation), and the emitters that turn a list of rows
//! into a table, CSV or Markdown. stdout carries data only.

use std::io::{IsTerminal, Write};

use clap::{Args, ValueEnum};

/// Output formats of listing commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    /// Aligned columns for people
    #[default]
    Table,
    /// Stable JSON for programs (see docs/json.md)
    Json,
    /// Comma-separated values with a header row
    Csv,
    /// A GitHub-flavoured Markdown table
    Markdown,
}

/// The shared `--format`/`--json` flags.
#[derive(Debug, Clone, Args)]
pub struct FormatArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Same as --format json
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
}

impl FormatArgs {
    /// The chosen format.
    pub fn resolve(&self) -> OutputFormat {
        if self.json {
            OutputFormat::Json
        } else {
            self.format
        }
    }
}

/// Where output goes and how it may look.
pub struct Ui {
    /// stdout is a terminal.
    pub is_terminal: bool,
    /// Colour is allowed (terminal and NO_COLOR unset).
    pub color: bool,
    /// Terminal width, when known.
    pub width: Option<u16>,
}

impl Ui {
    /// Reads the terminal state once.
    pub fn detect(vars: &[(String, String)]) -> Ui {
        let is_terminal = std::io::stdout().is_terminal();
        let no_color = vars.iter().any(|(k, v)| k == "NO_COLOR" && !v.is_empty());
        let width = vars
            .iter()
            .find(|(k, _)| k == "COLUMNS")
            .and_then(|(_, v)| v.parse().ok())
            .or_else(|| if is_terminal { terminal_width() } else { None });
        Ui { is_terminal, color: is_terminal && !no_color, width }
    }
}

fn terminal_width() -> Option<u16> {
    // SAFETY: TIOCGWINSZ fills a winsize struct we own.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        if libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) == 0 && ws.ws_col > 0 {
            Some(ws.ws_col)
        } else {
            None
        }
    }
}

/// Writes `rows` under `header` as a table for people.
pub fn write_table(
    w: &mut dyn Write,
    ui: &Ui,
    header: &[String],
    rows: &[Vec<String>],
) -> std::io::Result<()> {
    use comfy_table::{presets, ContentArrangement, Table};
    let mut table = Table::new();
    table.load_preset(presets::NOTHING);
    table.set_header(header);
    match ui.width {
        Some(width) if ui.is_terminal => {
            table.set_width(width).set_content_arrangement(ContentArrangement::Dynamic);
        }
        _ => {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    for row in rows {
        table.add_row(row.iter().map(|cell| sanitize(cell)));
    }
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
    }
    for line in table.lines() {
        writeln!(w, "{}", line.trim_end())?;
    }
    Ok(())
}

/// Writes `rows` as CSV.
pub fn write_csv(
    w: &mut dyn Write,
    header: &[String],
    rows: &[Vec<String>],
) -> std::io::Result<()> {
    let mut csv = csv::Writer::from_writer(w);
    csv.write_record(header)?;
    for row in rows {
        csv.write_record(row)?;
    }
    csv.flush()?;
    Ok(())
}

/// Writes `rows` as a GitHub-flavoured Markdown table.
pub fn write_markdown(
    w: &mut dyn Write,
    header: &[String],
    rows: &[Vec<String>],
) -> std::io::Result<()> {
    let cell = |s: &str| s.replace('\\', "\\\\").replace('|', "\\|").replace('\n', " ");
    writeln!(w, "| {} |", header.iter().map(|h| cell(h)).collect::<Vec<_>>().join(" | "))?;
    writeln!(w, "|{}", header.iter().map(|_| " --- |").collect::<String>())?;
    for row in rows {
        writeln!(w, "| {} |", row.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | "))?;
    }
    Ok(())
}

/// Writes a value as pretty JSON and a newline.
pub fn write_json<T: serde::Serialize>(w: &mut dyn Write, value: &T) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, value)?;
    writeln!(w)
}

/// Wraps `text` in an ANSI colour when `on`.
pub fn paint(on: bool, code: &str, text: &str) -> String {
    if on {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

/// Makes text from a run safe to print on a terminal: runs come from other
/// people's pushes, so ANSI escape sequences and other control characters are
/// removed (escapes) or shown as `�` (the rest); a carriage return keeps only
/// what follows it, as a terminal would show a progress bar's last state.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split('\n') {
        if !out.is_empty() || text.starts_with('\n') {
            out.push('\n');
        }
        let visible = line.trim_end_matches('\r').rsplit('\r').next().unwrap_or("");
        let mut chars = visible.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\x1b' => {
                    // CSI: ESC [ params final-byte; other escapes: ESC + one char.
                    if chars.peek() == Some(&'[') {
                        chars.next();
                        for c in chars.by_ref() {
                            if ('@'..='~').contains(&c) {
                                break;
                            }
                        }
                    } else if chars.peek() == Some(&']') {
                        // OSC (window titles, hyperlinks): up to BEL or ESC \.
                        while let Some(c) = chars.next() {
                            if c == '\x07' || (c == '\x1b' && chars.next_if_eq(&'\\').is_some()) {
                                break;
                            }
                        }
                    } else {
                        chars.next();
                    }
                }
                '\t' => out.push(c),
                c if c.is_control() => out.push('\u{fffd}'),
                c => out.push(c),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_strips_escapes_and_keeps_the_last_progress_state() {
        assert_eq!(sanitize("plain"), "plain");
        assert_eq!(sanitize("\x1b[31mred\x1b[0m"), "red");
        assert_eq!(sanitize("10%\r50%\r100%"), "100%");
        assert_eq!(sanitize("a\nb\r\n"), "a\nb\n");
        assert_eq!(sanitize("bell\x07"), "bell\u{fffd}");
        assert_eq!(sanitize("\x1b]0;title\x07x"), "x");
        assert_eq!(sanitize("\x1b]8;;http://a\x1b\\link"), "link");
    }
}
