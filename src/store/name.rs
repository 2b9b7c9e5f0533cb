//! Run names: validation against git's ref rules (stricter, so names are safe
//! in paths, URLs and shells) and generation of short, memorable default names.

use super::{Error, Result};

/// Longest accepted name, in bytes.
pub const MAX_LEN: usize = 200;

/// Checks that `name` can be a run name: `[A-Za-z0-9._-]` segments joined by `/`.
pub fn validate(name: &str) -> Result<()> {
    let bad = |reason: &str| Err(Error::InvalidName { name: name.into(), reason: reason.into() });
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > MAX_LEN {
        return bad("it is longer than 200 characters");
    }
    if name.starts_with('-') {
        return bad("it starts with '-'");
    }
    if name == "@" || name.starts_with("@~") || name.starts_with("refs/") {
        return bad("it would be read as a run spec ('@', '@~N', 'refs/...')");
    }
    if let Some(c) =
        name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/')))
    {
        return bad(&format!(
            "'{}' is not allowed; use ASCII letters, digits, '.', '_', '-' and '/' between groups",
            crate::text::line(&c.to_string())
        ));
    }
    for segment in name.split('/') {
        if segment.is_empty() {
            return bad("it has an empty group (leading, trailing or double '/')");
        }
        if segment.starts_with('.') {
            return bad("a group starts with '.'");
        }
        if segment.ends_with(".lock") {
            return bad("a group ends with '.lock'");
        }
    }
    if name.contains("..") {
        return bad("it contains '..'");
    }
    if name.ends_with('.') {
        return bad("it ends with '.'");
    }
    Ok(())
}

const ADJECTIVES: &[&str] = &[
    "amber", "bold", "brave", "brisk", "calm", "clever", "cosmic", "crisp", "dapper", "eager",
    "early", "fancy", "fierce", "fluffy", "gentle", "giddy", "golden", "grand", "happy", "hardy",
    "honest", "jolly", "keen", "kind", "lively", "lucky", "lunar", "mellow", "merry", "mighty",
    "misty", "noble", "olive", "plucky", "polar", "proud", "quick", "quiet", "rapid", "rosy",
    "royal", "rustic", "sandy", "shiny", "silent", "silver", "sleek", "snowy", "solar", "spry",
    "steady", "stellar", "sunny", "swift", "tidy", "trusty", "vivid", "warm", "wild", "wise",
    "witty", "young", "zesty", "zippy",
];

const NOUNS: &[&str] = &[
    "badger", "bison", "canyon", "cedar", "comet", "condor", "coral", "crane", "delta", "dingo",
    "dune", "eagle", "ember", "falcon", "fern", "fjord", "gecko", "glacier", "heron", "ibis",
    "island", "jaguar", "koala", "lagoon", "lemur", "lynx", "maple", "meadow", "meteor", "moose",
    "nebula", "newt", "ocelot", "orca", "otter", "panda", "pebble", "pine", "plover", "prairie",
    "puffin", "quasar", "raven", "reef", "river", "robin", "salmon", "sequoia", "sparrow",
    "spruce", "summit", "tapir", "thrush", "tiger", "tundra", "valley", "walrus", "willow",
    "wombat", "yak", "zebra", "aurora", "breeze", "cliff",
];

/// Whether one name is a group of the other (`a` and `a/b`): git cannot hold
/// both refs, so two such runs cannot exist side by side. Equal names do not
/// clash this way (that is a taken name), nor do `a` and `ab/c`.
///
/// The one rule behind every such check: the store's writes and renames,
/// a run's reservation of a live name, and push and pull against another side.
pub fn groups_clash(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() < b.len() { (a, b) } else { (b, a) };
    long.len() > short.len() && long.starts_with(short) && long.as_bytes()[short.len()] == b'/'
}

/// The groups `name` is in, outermost first: `a` and `a/b` for `a/b/c`. A run
/// with one of these names clashes with `name` ([`groups_clash`]).
pub fn groups_of(name: &str) -> impl Iterator<Item = &str> {
    name.match_indices('/').map(move |(i, _)| &name[..i])
}

/// Generates an `adjective-noun` name (with `-2`, `-3`, ... when needed) for which
/// `taken` returns false. `seed` picks the words; pass fresh randomness each time.
pub fn generate(seed: u64, taken: impl Fn(&str) -> bool) -> String {
    let adjective = ADJECTIVES[(seed % ADJECTIVES.len() as u64) as usize];
    let noun = NOUNS[((seed >> 16) % NOUNS.len() as u64) as usize];
    let base = format!("{adjective}-{noun}");
    if !taken(&base) {
        return base;
    }
    (2u64..)
        .map(|n| format!("{base}-{n}"))
        .find(|candidate| !taken(candidate))
        .expect("an unbounded counter finds a free name")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_clash_only_on_whole_segments() {
        assert!(groups_clash("a", "a/b"));
        assert!(groups_clash("a/b/c", "a"));
        assert!(groups_clash("a/b", "a/b/c"));
        assert!(!groups_clash("a", "ab/c"));
        assert!(!groups_clash("a", "a"));
        assert!(!groups_clash("a/b", "a/c"));
        assert!(!groups_clash("a.b", "a"));
    }

    #[test]
    fn groups_of_lists_each_prefix_that_clashes() {
        assert_eq!(groups_of("a/b/c").collect::<Vec<_>>(), ["a", "a/b"]);
        assert_eq!(groups_of("plain").count(), 0);
        for name in ["a/b/c", "x/y", "solo"] {
            for group in groups_of(name) {
                assert!(groups_clash(group, name), "{group} vs {name}");
            }
        }
    }

    #[test]
    fn accepts_grouped_names() {
        for ok in ["a", "lr-0.01", "sweep/lr_0.1/run-3", "A.B", "x1"] {
            validate(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
    }

    #[test]
    fn rejects_what_git_or_shells_would_trip_on() {
        for bad in [
            "",
            "-x",
            "@",
            "@~1",
            "refs/x",
            "a b",
            "a..b",
            "a/",
            "/a",
            "a//b",
            ".hidden",
            "a/.b",
            "x.lock",
            "a/b.lock/c",
            "tab\t",
            "star*",
            "colon:",
            "q?",
            "brack[",
            "back\\slash",
            "caret^",
            "tilde~",
            "dot.",
            "ünï",
        ] {
            assert!(validate(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(validate(&"a".repeat(201)).is_err());
    }

    #[test]
    fn generated_names_are_valid_and_avoid_taken_ones() {
        let first = generate(7, |_| false);
        validate(&first).unwrap();
        let second = generate(7, |n| n == first);
        assert_eq!(second, format!("{first}-2"));
        let third = generate(7, |n| n == first || n == second);
        assert_eq!(third, format!("{first}-3"));
    }
}
