//! What push, pull and init say: status lines and problems on stderr, the
//! JSON report on stdout (`--format json`, docs/json.md). Nothing here
//! decides what is sent; it only shows [`share::Report`] and
//! [`share::Initialized`].

use std::io::Write;

use super::PlumbingFormat;
use crate::cli::CliError;
use crate::share::{self, plural, Initialized, PushSetup, Report, Warning, RUNS_REFSPEC};
use crate::store::transport::Outcome;
use crate::store::Store;
use crate::util::human_bytes;

/// Prints a warning as it happens (its text may quote other people's runs).
pub(super) fn warning(err: &mut dyn Write, warning: &Warning) {
    let _ = writeln!(err, "warning: {}", crate::text::line(&warning.to_string()));
}

/// Prints the outcome; an error when anything was left undone.
pub(super) fn report(
    report: &Report,
    push: bool,
    format: PlumbingFormat,
    quiet: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    if format == PlumbingFormat::Json {
        crate::cli::output::write_json(out, report)?;
    }
    if !quiet && format == PlumbingFormat::Text {
        status(report, push, err)?;
    }
    let mut problems = 0;
    for f in &report.artifacts.failed {
        let short = f.sha256.get(..12).unwrap_or(&f.sha256);
        writeln!(err, "error: artifact {short}: {}", f.message)?;
        problems += 1;
    }
    for run in &report.runs {
        if run_problem(report, run, push, err)? {
            problems += 1;
        }
    }
    if problems > 0 {
        return Err(CliError::user(format!(
            "{problems} problem{} (listed above); nothing else was left undone",
            plural(problems)
        )));
    }
    Ok(())
}

/// The status lines: each run sent or skipped, then the totals.
fn status(report: &Report, push: bool, err: &mut dyn Write) -> std::io::Result<()> {
    let (new, same) = (report.count(Outcome::New), report.count(Outcome::UpToDate));
    let removed_here = report.count(Outcome::RemovedHere);
    let verb = match (push, report.dry_run) {
        (true, false) => "Pushed",
        (true, true) => "Would push",
        (false, false) => "Fetched",
        (false, true) => "Would fetch",
    };
    for run in report.runs.iter().filter(|r| r.outcome == Outcome::New) {
        writeln!(err, " * {} {}", Store::short(&run.commit), run.name)?;
    }
    for run in report.runs.iter().filter(|r| r.outcome == Outcome::RemovedHere) {
        writeln!(
            err,
            "Skipped run {} ({}): removed here; `git exp pull {} {}` fetches it again.",
            run.name,
            Store::short(&run.commit),
            report.remote,
            run.name
        )?;
    }
    let skipped =
        if removed_here > 0 { format!(", {removed_here} removed here") } else { String::new() };
    writeln!(
        err,
        "{verb} {new} run{} {} {} ({same} up to date{skipped}).",
        plural(new),
        if push { "to" } else { "from" },
        report.remote
    )?;
    let a = &report.artifacts;
    if !a.transferred.is_empty() || !a.present.is_empty() {
        let verb = match (push, report.dry_run) {
            (true, false) => "Uploaded",
            (true, true) => "Would upload at most",
            (false, false) => "Downloaded",
            (false, true) => "Would download",
        };
        writeln!(
            err,
            "{verb} {} artifact{} ({}) {} {}; {} already there.",
            a.transferred.len(),
            plural(a.transferred.len()),
            human_bytes(a.bytes()),
            if push { "to" } else { "from" },
            report.artifact_store.as_deref().unwrap_or("?"),
            a.present.len()
        )?;
    }
    Ok(())
}

/// Prints what went wrong with one run; whether anything did.
fn run_problem(
    report: &Report,
    run: &share::RunReport,
    push: bool,
    err: &mut dyn Write,
) -> std::io::Result<bool> {
    let theirs = run.theirs.as_deref().map(Store::short).unwrap_or("?");
    match run.outcome {
        Outcome::Conflict if push => writeln!(
            err,
            "error: run {}: {} has a different run of this name ({theirs}); rename yours with `git exp rename {} NEW-NAME` and push again",
            run.name, report.remote, run.name
        )?,
        Outcome::Conflict => writeln!(
            err,
            "error: run {}: you have a different run of this name ({theirs}); rename yours with `git exp rename {} NEW-NAME` and pull again",
            run.name, run.name
        )?,
        Outcome::NameClash => writeln!(
            err,
            "error: run {}: {} {} run {}, and a name cannot be both a run and a group of runs; rename yours with `git exp rename {} NEW-NAME`",
            run.name,
            if push { report.remote.as_str() } else { "you" },
            if push { "has" } else { "have" },
            run.clashes_with.as_deref().unwrap_or("?"),
            run.name
        )?,
        Outcome::HeldBack => writeln!(
            err,
            "error: run {} was not {}: {}",
            run.name,
            if push { "pushed" } else { "fetched" },
            match (&run.reason, push) {
                (Some(why), true) => {
                    format!("{why}; repair it, or delete it with `git exp rm {}`", run.name)
                }
                (Some(why), false) => format!("{why}; ask its author to repair it"),
                (None, _) => "it could not be sent".to_owned(),
            }
        )?,
        Outcome::Rejected => writeln!(
            err,
            "error: run {}: git refused the update ({} changed meanwhile?); run the command again",
            run.name, report.remote
        )?,
        Outcome::New | Outcome::UpToDate | Outcome::RemovedHere => return Ok(false),
    }
    Ok(true)
}

/// Says what `init` changed.
pub(super) fn initialized(done: &Initialized, err: &mut dyn Write) -> Result<(), CliError> {
    let (remote, stopped_pruning, push, artifact_store) = match done {
        Initialized::Removed { remote } => {
            writeln!(err, "Plain git push and git fetch of {remote} no longer carry runs.")?;
            return Ok(());
        }
        Initialized::Carried { remote, stopped_pruning, push, artifact_store } => {
            (remote, *stopped_pruning, push, *artifact_store)
        }
    };
    if stopped_pruning {
        writeln!(
            err,
            "warning: fetches of {remote} no longer prune (remote.{remote}.prune = false): pruning would delete the runs you have not pushed; `git fetch --prune` still would"
        )?;
    }
    if let PushSetup::LeftAlone { push_default } = push {
        writeln!(
            err,
            "note: push.default = {push_default} cannot be kept with a push refspec, so plain git push is left as it is; push runs with `git exp push`"
        )?;
    }
    let carries_push = *push == PushSetup::Carries;
    writeln!(
        err,
        "Plain git fetch{} of {remote} now carr{} runs ({RUNS_REFSPEC}); undo with `git exp init --remove {remote}`.",
        if carries_push { " and git push" } else { "" },
        if carries_push { "y" } else { "ies" }
    )?;
    if !artifact_store {
        let _ = writeln!(
            err,
            "hint: large artifacts travel with `git exp push`; set their store with `git config remote.{remote}.expArtifacts s3://BUCKET/PREFIX`"
        );
    }
    Ok(())
}
