//! Output for people and programs: the `--format` flag, whether stdout is a
//! terminal (colour, truncation), and the emitters that turn a list of rows
//! into a table, CSV or Markdown. stdout carries data only; every cell and
//! header passes through [`crate::text`]'s rule for its format.

use std::io::{IsTerminal, Write};

use clap::{Args, ValueEnum};

use crate::text;

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
    table.set_header(header.iter().map(|h| text::line(h)));
    match ui.width {
        Some(width) if ui.is_terminal => {
            table.set_width(width).set_content_arrangement(ContentArrangement::Dynamic);
        }
        _ => {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    for row in rows {
        table.add_row(row.iter().map(|cell| text::line(cell)));
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
    csv.write_record(header.iter().map(|h| text::csv_cell(h).into_owned()))?;
    for row in rows {
        csv.write_record(row.iter().map(|c| text::csv_cell(c).into_owned()))?;
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
    let cell = |s: &str| text::markdown(s);
    writeln!(w, "| {} |", header.iter().map(|h| cell(h)).collect::<Vec<_>>().join(" | "))?;
    writeln!(w, "|{}", header.iter().map(|_| " --- |").collect::<String>())?;
    for row in rows {
        writeln!(w, "| {} |", row.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | "))?;
    }
    Ok(())
}

/// Writes a value as pretty JSON and a newline.
pub fn write_json<T: serde::Serialize>(w: &mut dyn Write, value: &T) -> std::io::Result<()> {
    text::write_json(w, value)?;
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
