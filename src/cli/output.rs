//! Output for people and programs: the `--format` flag and the emitters
//! that turn a list of rows into a table, CSV or Markdown (the terminal
//! state they fit is [`super::ui::Ui`]). stdout carries data only; every cell and
//! header passes through [`crate::text`]'s rule for its format.

use std::io::Write;

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

pub use super::ui::Ui;

/// Most characters a cell keeps on a terminal when the table does not fit;
/// longer values end in `…`.
const MAX_CELL: usize = 32;

/// Spaces between two columns.
const GAP: usize = 2;

/// Writes `rows` under `header` as a table for people and returns how many
/// columns were left out. On a terminal of known width the table fits it:
/// when it is too wide, cells are cut to [`MAX_CELL`] characters (with `…`,
/// never wrapped), then the rightmost columns that still do not fit are left
/// out (the first column always stays). Elsewhere every cell is whole. The
/// cost is linear in the size of the cells.
pub fn write_table(
    w: &mut dyn Write,
    ui: &Ui,
    header: &[String],
    rows: &[Vec<String>],
) -> std::io::Result<usize> {
    let order: Vec<usize> = (0..header.len()).collect();
    write_table_ranked(w, ui, header, rows, &order)
}

/// [`write_table`], with the columns that must fit first named by `order`
/// (indexes, most wanted first; the first one always stays): columns are
/// kept in that order while they fit, and shown in their own order.
pub fn write_table_ranked(
    w: &mut dyn Write,
    ui: &Ui,
    header: &[String],
    rows: &[Vec<String>],
    order: &[usize],
) -> std::io::Result<usize> {
    let mut header: Vec<String> = header.iter().map(|h| text::line(h).into_owned()).collect();
    let mut rows: Vec<Vec<String>> =
        rows.iter().map(|r| r.iter().map(|c| text::line(c).into_owned()).collect()).collect();
    let widths = |header: &[String], rows: &[Vec<String>]| -> Vec<usize> {
        (0..header.len())
            .map(|i| {
                let cells = rows.iter().filter_map(|r| r.get(i)).map(|c| display_width(c));
                cells.chain([display_width(&header[i])]).max().unwrap_or(0)
            })
            .collect()
    };
    let mut width = widths(&header, &rows);
    let mut kept = vec![true; header.len()];
    if let Some(total) = ui.width.filter(|_| ui.is_terminal).map(usize::from) {
        let needed =
            |width: &[usize]| width.iter().sum::<usize>() + GAP * width.len().saturating_sub(1);
        if needed(&width) > total {
            for cell in header.iter_mut().chain(rows.iter_mut().flatten()) {
                elide(cell, MAX_CELL);
            }
            width = widths(&header, &rows);
        }
        kept = vec![false; header.len()];
        let mut used = 0;
        let mut full = false;
        for (n, &i) in order.iter().filter(|&&i| i < width.len()).enumerate() {
            let need = width[i] + if n > 0 { GAP } else { 0 };
            if n > 0 && (full || used + need > total) {
                // Once one does not fit, the rest are left out too, so the
                // table does not skip a column for a narrower one after it.
                full = true;
                continue;
            }
            used += need;
            kept[i] = true;
        }
    }
    let mut line = String::new();
    for cells in std::iter::once(&header).chain(rows.iter()) {
        line.clear();
        for (n, (i, cell)) in cells.iter().enumerate().filter(|(i, _)| kept[*i]).enumerate() {
            if n > 0 {
                line.push_str(&" ".repeat(GAP));
            }
            line.push_str(cell);
            line.push_str(&" ".repeat(width[i].saturating_sub(display_width(cell))));
        }
        writeln!(w, "{}", line.trim_end())?;
    }
    Ok(kept.iter().filter(|k| !**k).count())
}

/// How many terminal columns `text` takes (wide characters take two).
fn display_width(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
}

/// Cuts `cell` to at most `max` columns, ending in `…` when it was longer.
fn elide(cell: &mut String, max: usize) {
    if display_width(cell) <= max {
        return;
    }
    let mut used = 0;
    let mut end = 0;
    for (i, c) in cell.char_indices() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > max - 1 {
            break;
        }
        used += w;
        end = i + c.len_utf8();
    }
    cell.truncate(end);
    cell.push('…');
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
