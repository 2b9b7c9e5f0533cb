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
        let mut errors = Vec::new();
        let refs = self.list_refs()?;
        for result in self.read_runs(&refs, detail) {
            match result {
                Ok(run) => runs.push(run),
                Err(e) => errors.push(e),
            }
        }
        sort_newest_first(&mut runs);
        Ok((runs, errors))
    }

    /// Resolves `spec` to one run, read at `detail`.
    pub fn resolve(&self, spec: &str, detail: Detail) -> Result<RunRecord> {
        let unknown = || Error::UnknownRun { spec: spec.to_owned() };
        if let Some(name) = spec.strip_prefix(REF_PREFIX) {
            return self.find_by_name(name, detail)?.ok_or_else(unknown);
        }
        if !spec.starts_with('@') {
            if let Some(run) = self.find_by_name(spec, detail)? {
                return Ok(run);
            }
        }
        let (runs, _) = self.load_runs(Detail::Listing)?;
        let found = pick(&runs, spec)?;
        self.read_run(&found.name, &found.commit, detail)
    }

    /// Reads the run named exactly `name`, if there is one.
    pub fn find_by_name(&self, name: &str, detail: Detail) -> Result<Option<RunRecord>> {
        if super::name::validate(name).is_err() {
            return Ok(None);
        }
        let full = format!("{REF_PREFIX}{name}");
        let Some(mut reference) =
            self.repo.try_find_reference(full.as_str()).map_err(Error::git)?
        else {
            return Ok(None);
        };
        let id = reference.peel_to_id().map_err(Error::git)?.detach().to_string();
        self.read_run(name, &id, detail).map(Some)
    }
}

/// Sorts runs newest first: by start time, then by id (ids are time-ordered).
pub fn sort_newest_first(runs: &mut [RunRecord]) {
    runs.sort_by(|a, b| b.exp.started.cmp(&a.exp.started).then_with(|| b.exp.id.cmp(&a.exp.id)));
}

/// Picks the run `spec` names among `runs` (sorted newest first).
pub fn pick<'a>(runs: &'a [RunRecord], spec: &str) -> Result<&'a RunRecord> {
    let unknown = || Error::UnknownRun { spec: spec.to_owned() };
    if let Some(rest) = spec.strip_prefix('@') {
        let back = if rest.is_empty() {
            0
        } else {
            let n = rest.strip_prefix('~').ok_or_else(unknown)?;
            if n.is_empty() {
                1
            } else {
                n.parse::<usize>().map_err(|_| unknown())?
            }
        };
        return runs.get(back).ok_or_else(unknown);
    }
    if let Some(run) = runs.iter().find(|r| r.name == spec) {
        return Ok(run);
    }
    let lower = spec.to_ascii_lowercase();
    let is_hex = spec.len() >= MIN_HEX_PREFIX && spec.bytes().all(|b| b.is_ascii_hexdigit());
    let matches: Vec<&RunRecord> = runs
        .iter()
        .filter(|r| {
            r.name.starts_with(spec)
                || (is_hex && (r.exp.id.starts_with(&lower) || r.commit.starts_with(&lower)))
        })
        .collect();
    match matches.as_slice() {
        [] => Err(unknown()),
        [one] => Ok(one),
        many => Err(Error::AmbiguousRun {
            spec: spec.to_owned(),
            candidates: many.iter().take(5).map(|r| r.name.clone()).collect(),
        }),
    }
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
