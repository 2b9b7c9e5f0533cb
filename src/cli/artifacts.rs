//! `git exp artifacts RUN`: listing a run's artifacts. The listing is
//! `artifacts::listing`; this file resolves the run and renders it.

use std::io::Write;

use clap::Args;

use super::output::{self, FormatArgs, OutputFormat};
use super::{CliError, Context};
use crate::artifacts::listing;
use crate::store::format::Storage;
use crate::store::repo::Detail;
use crate::util::human_bytes;

/// List a run's artifacts
#[derive(Debug, Args)]
pub struct ArtifactsArgs {
    /// The run: a name, a unique prefix of a name, id or commit, `@`, `@~N`
    #[arg(default_value = "@")]
    pub run: String,
    /// Output format and --json
    #[command(flatten)]
    pub format: FormatArgs,
}

/// Runs `git exp artifacts`.
pub fn cmd_artifacts(
    args: ArtifactsArgs,
    ctx: &Context,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    let store = ctx.open_store(err)?;
    let (run, found) = store.resolve(&args.run, Detail::Listing)?;
    super::note_prefix(err, &args.run, &run.name, found);
    let listing = listing::list(&store, &run.name, run.committed()?)?;
    let format = args.format.resolve();
    if format == OutputFormat::Json {
        output::write_json(out, &listing)?;
        return Ok(());
    }
    let header: Vec<String> =
        ["path", "size", "storage", "here", "sha256", "type"].map(String::from).into();
    let table: Vec<Vec<String>> = listing
        .artifacts
        .iter()
        .map(|r| {
            vec![
                shown(&r.path),
                if format == OutputFormat::Table {
                    human_bytes(r.size)
                } else {
                    r.size.to_string()
                },
                match r.storage {
                    Storage::Inline => "inline".into(),
                    Storage::Store => "store".into(),
                },
                if r.local { "yes".into() } else { "no".into() },
                if format == OutputFormat::Table {
                    r.sha256.get(..12).unwrap_or(&r.sha256).to_owned()
                } else {
                    r.sha256.clone()
                },
                shown(&r.media_type),
            ]
        })
        .collect();
    match format {
        OutputFormat::Csv => output::write_csv(out, &header, &table)?,
        OutputFormat::Markdown => output::write_markdown(out, &header, &table)?,
        _ => {
            if table.is_empty() {
                writeln!(err, "Run {} has no artifacts.", run.name)?;
            } else {
                output::write_table(out, &ctx.ui, &header, &table)?;
            }
            for s in &listing.skipped {
                writeln!(err, "not kept: {}: {}", shown(&s.path), shown(&s.reason))?;
            }
        }
    }
    Ok(())
}

/// A path from a run for a message: on one line, without escape sequences.
fn shown(text: &str) -> String {
    crate::text::line(text).into_owned()
}
