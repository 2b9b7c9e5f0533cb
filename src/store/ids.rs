//! Typed identifiers: a run's commit id and a run name, each checked once when
//! it is made, so code that holds one need not check it again. This module
//! owns the types; the name rules themselves live in [`super::name`].

use std::fmt;
use std::ops::Deref;

use serde::Serialize;

use super::{name, Result};

/// A commit id in lowercase hex: 40 digits (SHA-1) or 64 (SHA-256).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct CommitId(String);

impl CommitId {
    /// The id in `hex`, or `None` when it is not a full lowercase hex id.
    pub fn parse(hex: &str) -> Option<CommitId> {
        let digits = hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        (digits && matches!(hex.len(), 40 | 64)).then(|| CommitId(hex.to_owned()))
    }

    /// The id as hex.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A valid run name (see [`name::validate`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct RunName(String);

impl RunName {
    /// `text` as a run name, or [`Error::InvalidName`] saying which rule it breaks.
    pub fn new(text: &str) -> Result<RunName> {
        name::validate(text)?;
        Ok(RunName(text.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! as_text {
    ($($t:ty),*) => {$(
        impl Deref for $t {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl PartialEq<str> for $t {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
        impl PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
        impl PartialEq<String> for $t {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }
    )*};
}

as_text!(CommitId, RunName);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Error;

    #[test]
    fn commit_ids_are_full_lowercase_hex() {
        let sha1 = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(CommitId::parse(sha1).map(|c| c.to_string()), Some(sha1.to_owned()));
        assert!(CommitId::parse(&"a".repeat(64)).is_some());
        assert!(CommitId::parse(&sha1[..39]).is_none());
        assert!(CommitId::parse(&sha1.to_uppercase()).is_none());
        assert!(CommitId::parse("").is_none());
        assert!(CommitId::parse(&"g".repeat(40)).is_none());
    }

    #[test]
    fn run_names_follow_the_name_rules() {
        assert_eq!(RunName::new("sweep/lr-0.1").unwrap().as_str(), "sweep/lr-0.1");
        assert!(matches!(RunName::new("bad name"), Err(Error::InvalidName { .. })));
        assert!(matches!(RunName::new(""), Err(Error::InvalidName { .. })));
    }
}
