//! What `git exp artifacts` lists: a run's artifacts as its `artifacts.toml`
//! records them, each with whether its content is here, and the files the run
//! could not keep. Reads only; renders nothing.

use serde::Serialize;

use super::{remote, Skipped, Storage};
use crate::store::Store;

/// A run's artifacts (the JSON of `git exp artifacts`).
#[derive(Debug, Serialize)]
pub struct Listing {
    /// The run's name.
    pub run: String,
    /// Its commit.
    pub commit: String,
    /// Its artifacts, in the order of its `artifacts.toml`.
    pub artifacts: Vec<Row>,
    /// Files it asked to keep but could not, and why.
    pub skipped: Vec<Skipped>,
}

/// One artifact of a [`Listing`].
#[derive(Debug, Serialize)]
pub struct Row {
    /// Its path in the run.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// SHA-256 of its content.
    pub sha256: String,
    /// Its media type.
    pub media_type: String,
    /// Where its content is kept.
    pub storage: Storage,
    /// Whether the content is here (inline ones always are).
    pub local: bool,
}

/// The artifacts of run `name` at `commit`.
pub fn list(store: &Store, name: &str, commit: &str) -> Result<Listing, crate::store::Error> {
    let file = store.run_artifacts(name, commit)?;
    let artifacts = file
        .artifacts
        .into_iter()
        .map(|e| Row {
            local: e.storage == Storage::Inline
                || remote::local_path(store.common_dir(), &e.sha256).is_some_and(|p| p.exists()),
            path: e.path,
            size: e.size,
            sha256: e.sha256,
            media_type: e.media_type,
            storage: e.storage,
        })
        .collect();
    Ok(Listing {
        run: name.to_owned(),
        commit: commit.to_owned(),
        artifacts,
        skipped: file.skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::share::testing::{run_with_artifact, Team};

    #[test]
    fn an_artifact_is_here_only_when_its_store_object_is() {
        let team = Team::new();
        let (_root, store) = team.member("here");
        let (kept, kept_sha) = run_with_artifact(&store, 1, "kept", &[7; 4000], true);
        let (gone, _) = run_with_artifact(&store, 2, "gone", &[8; 4000], false);
        let listing = list(&store, "kept", &kept).unwrap();
        assert_eq!((listing.run.as_str(), listing.commit.as_str()), ("kept", kept.as_str()));
        assert_eq!(listing.artifacts.len(), 1);
        let row = &listing.artifacts[0];
        assert_eq!(
            (row.path.as_str(), row.size, row.sha256.as_str()),
            ("model.bin", 4000, kept_sha.as_str())
        );
        assert_eq!(row.storage, Storage::Store);
        assert!(row.local);
        let listing = list(&store, "gone", &gone).unwrap();
        assert!(!listing.artifacts[0].local);
        // Once the object is removed, the kept run's copy is not here either.
        fs_err::remove_file(crate::artifacts::store_path(store.common_dir(), &kept_sha)).unwrap();
        assert!(!list(&store, "kept", &kept).unwrap().artifacts[0].local);
    }
}
