//! `init`: makes plain `git fetch` (and where git's push default allows,
//! `git push`) of a remote carry runs, by adding [`RUNS_REFSPEC`] to its
//! config, and takes that back with `remove`. Running it twice changes
//! nothing more: values are added only when missing, and `remove` deletes only
//! what `init` added (marked by the `expPushAdded` and `expPruneSet` keys).

use super::{Error, RUNS_REFSPEC};
use crate::artifacts::remote::Settings;
use crate::store::Store;

/// Marks the branch push refspec `init` added, so `init --remove` takes it back.
const PUSH_ADDED_KEY: &str = "expPushAdded";
/// Marks that `init` turned pruning off for the remote.
const PRUNE_SET_KEY: &str = "expPruneSet";

/// What to set up.
#[derive(Debug, Clone, Default)]
pub struct InitOptions<'a> {
    /// The git remote's name (`None`: the current branch's remote, else origin).
    pub remote: Option<String>,
    /// Take back what `init` added.
    pub remove: bool,
    /// The process environment (to tell whether an artifact store is set).
    pub vars: &'a [(String, String)],
}

/// What `init` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Initialized {
    /// Plain fetch and push of `remote` no longer carry runs.
    Removed {
        /// The remote.
        remote: String,
    },
    /// Plain fetch of `remote` carries runs, and push as `push` says.
    Carried {
        /// The remote.
        remote: String,
        /// Fetches pruned before (`remote.<name>.prune` or `fetch.prune`),
        /// which would delete unpushed runs: `remote.<name>.prune` is now false.
        stopped_pruning: bool,
        /// Whether plain push carries runs too.
        push: PushSetup,
        /// An artifact store is configured for the remote.
        artifact_store: bool,
    },
}

/// What `init` did to plain `git push`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushSetup {
    /// It carries runs, and pushes branches as before.
    Carries,
    /// Left as it is: `push.default` (`upstream`, `tracking`) pushes to a
    /// name no refspec can say, and a push refspec would replace it.
    LeftAlone {
        /// The value of `push.default`.
        push_default: String,
    },
}

/// Adds the runs refspec to a remote's fetch and push config, or with
/// `remove` takes back what an earlier `init` added.
pub fn init(store: &Store, options: &InitOptions) -> Result<Initialized, Error> {
    let remote = match &options.remote {
        Some(r) => r.clone(),
        None => store.default_remote(false).ok_or(Error::NoRemote { command: "init" })?,
    };
    if !store.remote_names().contains(&remote) {
        return Err(Error::NotConfigured { remote });
    }
    let fetch_key = format!("remote.{remote}.fetch");
    let push_key = format!("remote.{remote}.push");
    let added_key = format!("remote.{remote}.{PUSH_ADDED_KEY}");
    let prune_key = format!("remote.{remote}.prune");
    let prune_set_key = format!("remote.{remote}.{PRUNE_SET_KEY}");
    if options.remove {
        store.config_unset_value(&fetch_key, RUNS_REFSPEC)?;
        store.config_unset_value(&push_key, RUNS_REFSPEC)?;
        if let Some(added) = store.config_get_all(&added_key)?.into_iter().next() {
            store.config_unset_value(&push_key, &added)?;
            store.config_unset_value(&added_key, &added)?;
        }
        if store.config_get_all(&prune_set_key)?.first().is_some_and(|v| v == "true") {
            store.config_unset_value(&prune_key, "false")?;
            store.config_unset_value(&prune_set_key, "true")?;
        }
        return Ok(Initialized::Removed { remote });
    }
    // Pruning would delete every run not (yet) on the remote: off for this remote.
    // git reads the booleans (every spelling, and a `prune` line with no value),
    // before anything is changed.
    let remote_prune = store.config_get_bool(&prune_key)?;
    let prunes = match remote_prune {
        Some(p) => p,
        None => store.config_get_bool("fetch.prune")?.unwrap_or(false),
    };
    store.config_add_once(&fetch_key, RUNS_REFSPEC)?;
    if prunes {
        if remote_prune.is_some() {
            store.config_unset_all(&prune_key)?;
        }
        store.config_add(&prune_key, "false")?;
        store.config_add(&prune_set_key, "true")?;
    }
    let pushes = store.config_get_all(&push_key)?;
    let mut push = PushSetup::Carries;
    if !pushes.iter().any(|v| v == RUNS_REFSPEC) {
        // Any push refspec replaces git's default push (push.default); add the
        // refspec that does the same, where one exists.
        let mode = store.config_string("push.default").unwrap_or_else(|| "simple".into());
        let branch_spec = match (pushes.is_empty(), mode.as_str()) {
            (false, _) => Some(None),
            (true, "nothing") => Some(None),
            (true, "matching") => Some(Some(":")),
            (true, "simple" | "current") => Some(Some("HEAD")),
            // upstream/tracking push to the upstream's name, which no refspec says.
            _ => None,
        };
        match branch_spec {
            Some(spec) => {
                if let Some(spec) = spec {
                    store.config_add(&push_key, spec)?;
                    store.config_add(&added_key, spec)?;
                }
                store.config_add(&push_key, RUNS_REFSPEC)?;
            }
            None => push = PushSetup::LeftAlone { push_default: mode },
        }
    }
    let artifact_store = Settings::for_remote(store, Some(&remote), options.vars)?.is_some();
    Ok(Initialized::Carried { remote, stopped_pruning: prunes, push, artifact_store })
}

#[cfg(test)]
mod tests {
    use super::super::testing::{git, Team};
    use super::*;

    /// The repository's own config of remote origin and pruning, as git lists it.
    fn config(root: &std::path::Path) -> String {
        git(root, &["config", "--local", "--get-regexp", r"^(remote\.origin\.|fetch\.)"])
    }

    #[test]
    fn init_twice_is_init_once_and_remove_takes_back_only_what_it_added() {
        let team = Team::new();
        let (root, store) = team.member("here");
        git(&root, &["config", "fetch.prune", "true"]);
        let before = config(&root);
        let options = InitOptions::default();
        let first = init(&store, &options).unwrap();
        assert_eq!(
            first,
            Initialized::Carried {
                remote: "origin".into(),
                stopped_pruning: true,
                push: PushSetup::Carries,
                artifact_store: true,
            }
        );
        let after = config(&root);
        assert_eq!(
            git(&root, &["config", "--get-all", "remote.origin.fetch"]),
            format!("+refs/heads/*:refs/remotes/origin/*\n{RUNS_REFSPEC}")
        );
        assert_eq!(
            git(&root, &["config", "--get-all", "remote.origin.push"]),
            format!("HEAD\n{RUNS_REFSPEC}")
        );
        assert_eq!(git(&root, &["config", "--type=bool", "remote.origin.prune"]), "false");

        // A second time: the config is as after the first, and pruning is off already.
        let second = init(&Store::discover(&root, &[]).unwrap(), &options).unwrap();
        assert!(
            matches!(second, Initialized::Carried { stopped_pruning: false, .. }),
            "{second:?}"
        );
        assert_eq!(config(&root), after);

        let remove = InitOptions { remove: true, ..InitOptions::default() };
        assert_eq!(
            init(&store, &remove).unwrap(),
            Initialized::Removed { remote: "origin".into() }
        );
        assert_eq!(config(&root), before);
        // Removing again changes nothing.
        init(&store, &remove).unwrap();
        assert_eq!(config(&root), before);
    }

    #[test]
    fn an_upstream_push_default_is_left_alone_and_a_remote_must_exist() {
        let team = Team::new();
        let (root, _) = team.member("here");
        git(&root, &["config", "push.default", "upstream"]);
        let store = Store::discover(&root, &[]).unwrap();
        let done = init(&store, &InitOptions::default()).unwrap();
        assert!(
            matches!(&done, Initialized::Carried { push: PushSetup::LeftAlone { push_default }, .. } if push_default == "upstream"),
            "{done:?}"
        );
        assert!(!config(&root).contains("remote.origin.push"), "{}", config(&root));
        let options = InitOptions { remote: Some("nope".into()), ..InitOptions::default() };
        let err = init(&store, &options).unwrap_err();
        assert!(matches!(&err, Error::NotConfigured { remote } if remote == "nope"), "{err}");
    }
}
