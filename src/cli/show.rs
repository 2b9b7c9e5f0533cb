//! `git exp show RUN`: one run for people, or everything as JSON.

use std::io::Write;

use clap::Args;

use super::output::{self, FormatArgs, OutputFormat};
use super::ui::{paint, BOLD, DIM};
use super::{CliError, Context};
use crate::env::manifest;
use crate::report::model::{flatten, format_value, RunDetail};
use crate::store::format::Storage;
use crate::store::Store;
use crate::text;
use crate::util::human_bytes;

/// Show one run
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The run: a name, a unique prefix of a name, id or commit, `@`, `@~N`, a ref or a commit id
    #[arg(default_value = "@")]
    pub run: String,
    /// Output format and --json
    #[command(flatten)]
    pub format: FormatArgs,
    /// Lines of the log to show
    #[arg(long, default_value_t = 20)]
    pub log_lines: usize,
}

/// Runs `git exp show`.
pub fn cmd_show(
    args: ShowArgs,
    ctx: &Context,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    let store = ctx.open_store(err)?;
    let (run, found) =
        crate::capture::recover::resolve_or_running(&store, &args.run, &ctx.vars, &ctx.clock)?;
    if let Some(found) = found {
        super::note_prefix(err, &args.run, &run.name, found);
    }
    let format = args.format.resolve();
    let detail =
        RunDetail::new(&run, if format == OutputFormat::Json { 200 } else { args.log_lines });
    match format {
        OutputFormat::Json => output::write_json(out, &detail)?,
        OutputFormat::Table => write_text(out, ctx, &detail, run.env.as_ref())?,
        OutputFormat::Csv | OutputFormat::Markdown => {
            let header: Vec<String> = ["section", "key", "value"].map(String::from).into();
            let rows = detail.key_values();
            if format == OutputFormat::Csv {
                output::write_csv(out, &header, &rows)?
            } else {
                output::write_markdown(out, &header, &rows)?
            }
        }
    }
    Ok(())
}

fn write_text(
    out: &mut dyn Write,
    ctx: &Context,
    d: &RunDetail,
    env: Option<&toml::Table>,
) -> std::io::Result<()> {
    let bold = |s: &str| paint(ctx.ui.color, BOLD, s);
    let dim = |s: &str| paint(ctx.ui.color, DIM, s);
    let r = &d.run;
    let exit = match (d.exit_code, d.signal) {
        (Some(c), _) => format!("exit {c}"),
        (None, Some(s)) => format!("signal {s}"),
        _ => "no exit status".into(),
    };
    writeln!(out, "{} {}", bold("run"), bold(&text::line(&r.name)))?;
    let status = paint(ctx.ui.color, super::ui::status_style(r.status), &r.status.to_string());
    writeln!(out, "status:   {status} ({exit})")?;
    // Every field below comes from the run's own files, which anyone can write.
    writeln!(out, "id:       {}", text::line(&r.id))?;
    writeln!(out, "commit:   {}", r.commit.as_deref().unwrap_or("(running)"))?;
    let code = match &r.code_commit {
        Some(c) => format!("{}{}", c, if r.code_dirty { " + uncommitted changes" } else { "" }),
        None => "(unborn branch)".into(),
    };
    writeln!(out, "code:     {}", text::line(&code))?;
    let started = text::line(&r.started);
    writeln!(out, "started:  {started} ({})", crate::util::human_duration(r.duration_s))?;
    writeln!(out, "command:  {}", text::line(&d.command.join(" ")))?;
    writeln!(
        out,
        "where:    {}",
        text::line(&format!("{}@{}:{}", d.run.user, d.run.host, d.workdir))
    )?;
    if !r.tags.is_empty() {
        writeln!(out, "tags:     {}", text::line(&r.tags.join(", ")))?;
    }
    if !d.run.note.is_empty() {
        writeln!(out, "note:     {}", text::lines(&d.run.note))?;
    }
    if let Some(group) = &r.group {
        writeln!(out, "group:    {}", text::line(group))?;
    }
    if let Some(job) = &r.job_type {
        writeln!(out, "job type: {}", text::line(job))?;
    }
    let w = &d.wandb;
    if !w.is_empty() {
        let path: Vec<&str> =
            [&w.entity, &w.project].into_iter().flatten().map(|s| s.as_str()).collect();
        let mut shown = path.join("/");
        if let Some(name) = &w.name {
            shown = if shown.is_empty() {
                format!("\"{name}\"")
            } else {
                format!("{shown} \"{name}\"")
            };
        }
        writeln!(out, "wandb:    {}", text::line(&shown))?;
    }
    let config = flatten(&r.config);
    if !config.is_empty() {
        writeln!(out, "\n{}", bold("config"))?;
        for (k, v) in config {
            let value = shorten(format_value(v));
            writeln!(out, "  {}", text::line(&format!("{k} = {value}")))?;
        }
    }
    if !r.summary.is_empty() {
        writeln!(out, "\n{}", bold("summary"))?;
        let width = column_width(r.summary.keys().map(|k| k.as_str()));
        for (k, m) in &r.summary {
            let stats = match (m.min, m.max) {
                (Some(min), Some(max)) if m.count > 0 => dim(&format!(
                    "  (min {}, max {}, {}, last step {})",
                    crate::report::model::format_number(min),
                    crate::report::model::format_number(max),
                    crate::util::count(m.count as usize, "point", "points"),
                    m.last_step.unwrap_or(0)
                )),
                _ => String::new(),
            };
            let shown = text::line(&m.shown().unwrap_or_default()).into_owned();
            writeln!(out, "  {}  {shown}{stats}", pad(&text::line(k), width))?;
        }
    }
    if let Some(env) = env {
        let m: manifest::Manifest = env.clone().try_into().unwrap_or_default();
        let lines = manifest::highlights(&m);
        if !lines.is_empty() {
            writeln!(out, "\n{}", bold("environment"))?;
            for (k, v) in lines {
                writeln!(out, "  {k}: {}", text::line(&v))?;
            }
        }
    }
    if !d.code_skipped.is_empty() {
        writeln!(out, "\n{}", bold("left out of the code tree"))?;
        for s in &d.code_skipped {
            writeln!(
                out,
                "  {}",
                text::line(&format!("{} ({}): {}", s.path, human_bytes(s.size), s.reason))
            )?;
        }
    }
    if !d.artifacts.is_empty() || !d.artifacts_skipped.is_empty() {
        writeln!(out, "\n{}", bold("artifacts"))?;
        let width = column_width(d.artifacts.iter().map(|a| a.path.as_str()));
        for a in &d.artifacts {
            let storage = match a.storage {
                Storage::Inline => "inline",
                Storage::Store => "store",
            };
            let path = pad(&text::line(&a.path), width);
            writeln!(out, "  {path}  {:>9}  {storage}", human_bytes(a.size))?;
        }
        for s in &d.artifacts_skipped {
            writeln!(out, "  {}", text::line(&format!("{}: not kept: {}", s.path, s.reason)))?;
        }
    }
    if d.malformed_events.count > 0 {
        writeln!(out, "\nmalformed event lines: {}", d.malformed_events.count)?;
    }
    if !d.log_tail.is_empty() {
        writeln!(out, "\n{}", bold("log (last lines)"))?;
        for line in text::log(&d.log_tail).lines() {
            writeln!(out, "  {line}")?;
        }
    }
    if let Some(commit) = &r.commit {
        let hint = format!("git show {}:metrics.csv  # every point", Store::short(commit));
        writeln!(out, "\n{}", dim(&hint))?;
    }
    Ok(())
}

/// The width of a column of names: the longest, but at most [`MAX_COLUMN`], so
/// one long name neither pushes the other column off the screen nor exceeds
/// what a format width can hold.
fn column_width<'a>(names: impl Iterator<Item = &'a str>) -> usize {
    names.map(|n| text::line(n).chars().count()).max().unwrap_or(0).min(MAX_COLUMN)
}

/// Most characters a name column is padded to.
const MAX_COLUMN: usize = 40;

/// `text` padded with spaces to `width` characters (longer text is kept whole).
fn pad(text: &str, width: usize) -> String {
    let n = text.chars().count();
    format!("{text}{}", " ".repeat(width.saturating_sub(n)))
}

/// Most characters of a config value `show` prints; the whole value is in
/// `--format json` and in the run's config.toml.
const MAX_VALUE: usize = 200;

/// `value`, cut to [`MAX_VALUE`] characters with a note of how much is left out.
fn shorten(value: String) -> String {
    let n = value.chars().count();
    if n <= MAX_VALUE {
        return value;
    }
    let head: String = value.chars().take(MAX_VALUE).collect();
    format!("{head}… ({} more characters; all of it in --format json)", n - MAX_VALUE)
}
