//! Run specs: how a run is named on the command line. A spec is a name, an
//! unambiguous prefix of a name, run id or commit id, `@` (the latest run),
//! `@~N` (the N-th before it), a full ref `refs/experiments/<name>`, or a full
//! commit id.

use super::repo::{Detail, RunRecord, Store};
use super::{Error, Result, REF_PREFIX};

/// The shortest hex prefix accepted for run or commit ids.
const MIN_HEX_PREFIX: usize = 4;

impl Store {
    /// Reads every run (at `detail`), newest first (by start time, then id). Runs
    /// that cannot be read are returned as errors beside the good ones, so one
    /// broken run never hides the others.
    pub fn load_runs(&self, detail: Detail) -> Result<(Vec<RunRecord>, Vec<Error>)> {
        let mut runs = Vec::new();
        let (refs, mut errors) = self.list_refs_reporting()?;
        for result in self.read_runs(&refs, detail) {
            match result {
                Ok(run) => runs.push(run),
                Err(e) => errors.push(e),
            }
        }
        sort_newest_first(&mut runs);
        Ok((runs, errors))
    }

    /// Resolves `spec` to one run, read at `detail`, and says whether it was
    /// found by a prefix (callers tell the user which run that was).
    pub fn resolve(&self, spec: &str, detail: Detail) -> Result<(RunRecord, Found)> {
        let unknown = || Error::UnknownRun { spec: spec.to_owned() };
        if let Some(name) = spec.strip_prefix(REF_PREFIX) {
            // A full ref reaches any run ref, even one whose name git-exp
            // would not give (`@x`, fetched by plain git).
            let run = self.find_by_ref_name(name, detail)?.ok_or_else(unknown)?;
            return Ok((run, Found::Exactly));
        }
        // A name that looks like an id could shadow another run's id: such
        // specs are checked against every run.
        if !spec.starts_with('@') && !looks_like_id(spec) {
            if let Some(run) = self.find_by_name(spec, detail)? {
                return Ok((run, Found::Exactly));
            }
        }
        let (runs, _) = self.load_runs(Detail::Listing)?;
        let (found, how) = pick(&runs, spec, &|name| self.made_here(name))?;
        Ok((self.read_run(&found.name, found.committed()?, detail)?, how))
    }

    /// Whether run `name` was made (or renamed) in this repository: git-exp
    /// writes a reflog for the refs it creates, while `git fetch` writes none
    /// under `refs/experiments/`.
    pub fn made_here(&self, name: &str) -> bool {
        self.common_dir().join("logs").join(REF_PREFIX).join(name).is_file()
    }

    /// Reads the run named exactly `name`, if there is one.
    pub fn find_by_name(&self, name: &str, detail: Detail) -> Result<Option<RunRecord>> {
        if super::name::validate(name).is_err() {
            return Ok(None);
        }
        self.find_by_ref_name(name, detail)
    }

    /// Reads the run of `refs/experiments/<name>`, whatever the name, if that
    /// ref exists.
    fn find_by_ref_name(&self, name: &str, detail: Detail) -> Result<Option<RunRecord>> {
        let full = format!("{REF_PREFIX}{name}");
        let bad = |e: &dyn std::fmt::Display| Error::BadRef {
            name: name.to_owned(),
            why: super::format::one_line(&e.to_string()),
        };
        let Some(mut reference) =
            self.repo.try_find_reference(full.as_str()).map_err(|e| bad(&e))?
        else {
            return Ok(None);
        };
        let id = reference.peel_to_id().map_err(|e| bad(&e))?.detach().to_string();
        self.read_run(name, &id, detail).map(Some)
    }
}

/// Sorts runs newest first: by start time, then by id (ids are time-ordered).
pub fn sort_newest_first(runs: &mut [RunRecord]) {
    runs.sort_by(|a, b| b.exp.started.cmp(&a.exp.started).then_with(|| b.exp.id.cmp(&a.exp.id)));
}

/// How a spec found its run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// `@`, `@~N`, a full ref, the exact name, a full run id or commit id.
    Exactly,
    /// A prefix of the run's name, id or commit id.
    ByPrefix,
}

/// Whether `spec` could be (a prefix of) a run id or commit id.
fn looks_like_id(spec: &str) -> bool {
    spec.len() >= MIN_HEX_PREFIX && spec.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `@` or `@~N`: the index into the runs (newest first), or `None` when `spec`
/// is not of that form.
fn back_index(spec: &str) -> Option<Result<usize>> {
    let rest = spec.strip_prefix('@')?;
    let unknown = || Error::UnknownRun { spec: spec.to_owned() };
    Some(if rest.is_empty() {
        Ok(0)
    } else {
        match rest.strip_prefix('~') {
            Some("") => Ok(1),
            Some(n) => n.parse::<usize>().map_err(|_| unknown()),
            None => Err(unknown()),
        }
    })
}

/// The `back`-th newest run (`@~back`) among the runs made in this repository
/// when there are any, else among all. A run's start time is written by
/// whoever made it, so a fetched run could claim any time and be `@`; whether
/// a run was made (or renamed) here is known only here (see
/// [`Store::made_here`]).
fn latest<'a>(
    runs: &'a [RunRecord],
    back: usize,
    made_here: &dyn Fn(&str) -> bool,
) -> Option<&'a RunRecord> {
    let mut here = runs.iter().filter(|r| made_here(&r.name)).peekable();
    if here.peek().is_some() {
        here.nth(back)
    } else {
        runs.get(back)
    }
}

/// One run or an ambiguity error naming the candidates.
fn one<'a>(spec: &str, mut matches: Vec<&'a RunRecord>) -> Result<Option<&'a RunRecord>> {
    // Two names of one commit are one run; runs without a commit never are.
    matches.dedup_by(|a, b| a.commit.is_some() && a.commit == b.commit);
    match matches.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        many => Err(Error::AmbiguousRun {
            spec: spec.to_owned(),
            candidates: many.iter().take(5).map(|r| r.name.clone()).collect(),
        }),
    }
}

/// Picks the run `spec` names among `runs` (sorted newest first), in the
/// documented order: `@`/`@~N`; then, for a spec of hex digits, the runs whose
/// id or commit id starts with it together with a run of exactly that name
/// (more than one is ambiguous, so a fetched run named like another run's id
/// can never shadow it); then the exact name; then a unique name prefix.
pub fn pick<'a>(
    runs: &'a [RunRecord],
    spec: &str,
    made_here: &dyn Fn(&str) -> bool,
) -> Result<(&'a RunRecord, Found)> {
    let unknown = || Error::UnknownRun { spec: spec.to_owned() };
    if spec.is_empty() {
        return Err(unknown());
    }
    if let Some(back) = back_index(spec) {
        return Ok((latest(runs, back?, made_here).ok_or_else(unknown)?, Found::Exactly));
    }
    if let Some(name) = spec.strip_prefix(REF_PREFIX) {
        return Ok((runs.iter().find(|r| r.name == name).ok_or_else(unknown)?, Found::Exactly));
    }
    let lower = spec.to_ascii_lowercase();
    if looks_like_id(spec) {
        let matches = runs
            .iter()
            .filter(|r| {
                r.name == spec
                    || r.exp.id.starts_with(&lower)
                    || r.commit.as_deref().is_some_and(|c| c.starts_with(&lower))
            })
            .collect();
        if let Some(run) = one(spec, matches)? {
            let full = run.name == spec
                || run.exp.id == lower
                || run.commit.as_deref() == Some(lower.as_str());
            return Ok((run, if full { Found::Exactly } else { Found::ByPrefix }));
        }
    } else if let Some(run) = runs.iter().find(|r| r.name == spec) {
        return Ok((run, Found::Exactly));
    }
    let matches = runs.iter().filter(|r| r.name.starts_with(spec)).collect();
    Ok((one(spec, matches)?.ok_or_else(unknown)?, Found::ByPrefix))
}

/// Picks the run `spec` names exactly, for commands that delete or rename:
/// `@`/`@~N`, the exact name, or a full run id or commit id; never a prefix.
/// A name equal to another run's full id is ambiguous.
pub fn pick_exact<'a>(
    runs: &'a [RunRecord],
    spec: &str,
    made_here: &dyn Fn(&str) -> bool,
) -> Result<&'a RunRecord> {
    if let Some(back) = back_index(spec) {
        let found = latest(runs, back?, made_here);
        return found.ok_or_else(|| Error::UnknownRun { spec: spec.to_owned() });
    }
    if let Some(name) = spec.strip_prefix(REF_PREFIX) {
        let found = runs.iter().find(|r| r.name == name);
        return found.ok_or_else(|| Error::UnknownRun { spec: spec.to_owned() });
    }
    let lower = spec.to_ascii_lowercase();
    let matches = runs
        .iter()
        .filter(|r| {
            r.name == spec || r.exp.id == lower || r.commit.as_deref() == Some(lower.as_str())
        })
        .collect();
    one(spec, matches)?.ok_or_else(|| Error::NotExact { spec: spec.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::format::ExpFile;
    use crate::store::RunFiles;

    fn exp(i: usize) -> ExpFile {
        crate::store::format::sample_exp(i, &format!("run-{i}"))
    }

    /// Many runs load newest first with the right content.
    #[test]
    fn many_runs_load_in_order() {
        let (_dir, store) = crate::store::format::sample_store();
        let n = 1200;
        for i in 0..n {
            let files = RunFiles {
                exp: exp(i),
                config: format!("i = {i}\n"),
                metrics: b"step,name,value,time\n".to_vec(),
                summary: String::new(),
                env: String::new(),
                output: Vec::new(),
                code_tree: None,
                artifacts: None,
                artifact_blobs: Vec::new(),
                message: format!("exp: run-{i}"),
                time: 1_700_000_000,
            };
            store.write_run(&files).unwrap();
        }
        let (runs, errors) = store.load_runs(Detail::Listing).unwrap();
        assert!(errors.is_empty());
        assert_eq!(runs.len(), n);
        for (k, run) in runs.iter().enumerate() {
            let i = n - 1 - k;
            assert_eq!(run.name, format!("run-{i}"));
            assert_eq!(run.config["i"].as_integer(), Some(i as i64));
        }
    }
}
