//! Writing git config through the user's `git config`, for the multi-valued
//! keys git-exp manages (`remote.<name>.fetch`, `.push`, `.prune`): git knows
//! where each value lives (local, include files, worktree config) and how it
//! spells booleans, so it does the reads that decide a write, and the writes.
//!
//! Adding a value that is there already and removing one that is not are
//! no-ops, so whatever calls these can be run twice with the same result.
//! Nothing here prints. The [`Store`]'s own config snapshot (`config_string`)
//! does not see these writes: it was read when the store was opened.

use std::process::Command;

use super::Store;

/// `git config` exits with 1 for `--get` of a key that is not set.
const EXIT_UNSET: i32 = 1;
/// `git config` exits with 5 for `--unset` of a key or value that is not there.
const EXIT_NOTHING_TO_UNSET: i32 = 5;

/// Errors of `git config`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// git could not be started.
    #[error("cannot run git config")]
    Spawn(#[source] std::io::Error),
    /// A value git cannot read as a boolean.
    #[error("git config cannot read {key} as a boolean (exit {code})")]
    NotABoolean {
        /// The key.
        key: String,
        /// git's exit status.
        code: i32,
    },
    /// A write git refused.
    #[error("git config {action} {key} failed (exit {code})")]
    Write {
        /// The option given to git: `--add` or `--unset-all`.
        action: &'static str,
        /// The key.
        key: String,
        /// git's exit status.
        code: i32,
    },
}

impl Store {
    /// Runs `git config ARGS` in the working tree; its exit status and stdout.
    fn git_config(&self, args: &[&str]) -> Result<(i32, String), Error> {
        let out = Command::new("git")
            .arg("-C")
            .arg(self.workdir())
            .arg("config")
            .args(args)
            .output()
            .map_err(Error::Spawn)?;
        Ok((out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned()))
    }

    /// Every value of `key` as git reads it now, in git's order; empty when unset.
    pub fn config_get_all(&self, key: &str) -> Result<Vec<String>, Error> {
        let (_, text) = self.git_config(&["--get-all", key])?;
        Ok(text.lines().map(str::to_owned).collect())
    }

    /// A boolean as git reads it (`git config --type=bool`: every spelling, and
    /// a key with no value), `None` when unset.
    pub fn config_get_bool(&self, key: &str) -> Result<Option<bool>, Error> {
        match self.git_config(&["--type=bool", "--get", key])? {
            (0, text) => Ok(Some(text.trim_end() == "true")),
            (EXIT_UNSET, _) => Ok(None),
            (code, _) => Err(Error::NotABoolean { key: key.to_owned(), code }),
        }
    }

    /// Adds `value` to the multi-valued `key`, even when it is there already
    /// (see [`Store::config_add_once`]).
    pub fn config_add(&self, key: &str, value: &str) -> Result<(), Error> {
        match self.git_config(&["--add", key, value])? {
            (0, _) => Ok(()),
            (code, _) => Err(Error::Write { action: "--add", key: key.to_owned(), code }),
        }
    }

    /// Adds `value` to `key` unless git has it there already; whether it added it.
    pub fn config_add_once(&self, key: &str, value: &str) -> Result<bool, Error> {
        if self.config_get_all(key)?.iter().any(|v| v == value) {
            return Ok(false);
        }
        self.config_add(key, value).map(|()| true)
    }

    /// Removes every line of `key` whose value is exactly `value`; nothing when
    /// there is none.
    pub fn config_unset_value(&self, key: &str, value: &str) -> Result<(), Error> {
        self.unset(&["--fixed-value", "--unset-all", key, value], key)
    }

    /// Removes every value of `key`; nothing when it is not set.
    pub fn config_unset_all(&self, key: &str) -> Result<(), Error> {
        self.unset(&["--unset-all", key], key)
    }

    fn unset(&self, args: &[&str], key: &str) -> Result<(), Error> {
        match self.git_config(args)? {
            (0 | EXIT_NOTHING_TO_UNSET, _) => Ok(()),
            (code, _) => Err(Error::Write { action: "--unset-all", key: key.to_owned(), code }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_once_and_removes_only_the_value_asked_for() {
        let (_dir, store) = crate::store::format::sample_store();
        let key = "remote.origin.fetch";
        assert!(store.config_get_all(key).unwrap().is_empty());
        assert!(store.config_add_once(key, "+refs/heads/*:refs/remotes/origin/*").unwrap());
        assert!(store.config_add_once(key, "refs/x/*:refs/x/*").unwrap());
        assert!(!store.config_add_once(key, "refs/x/*:refs/x/*").unwrap());
        // `*` and `+` are values here, not patterns.
        store.config_unset_value(key, "refs/x/*:refs/x/*").unwrap();
        store.config_unset_value(key, "refs/x/*:refs/x/*").unwrap();
        assert_eq!(store.config_get_all(key).unwrap(), ["+refs/heads/*:refs/remotes/origin/*"]);
        store.config_unset_all(key).unwrap();
        store.config_unset_all(key).unwrap();
        assert!(store.config_get_all(key).unwrap().is_empty());
    }

    #[test]
    fn booleans_are_read_as_git_reads_them() {
        let (_dir, store) = crate::store::format::sample_store();
        assert_eq!(store.config_get_bool("fetch.prune").unwrap(), None);
        for (spelling, value) in [("yes", true), ("on", true), ("1", true), ("off", false)] {
            store.config_unset_all("fetch.prune").unwrap();
            store.config_add("fetch.prune", spelling).unwrap();
            assert_eq!(store.config_get_bool("fetch.prune").unwrap(), Some(value), "{spelling}");
        }
        store.config_unset_all("fetch.prune").unwrap();
        store.config_add("fetch.prune", "maybe").unwrap();
        let err = store.config_get_bool("fetch.prune").unwrap_err();
        assert!(matches!(err, Error::NotABoolean { .. }), "{err}");
    }
}
