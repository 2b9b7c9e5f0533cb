//! Small pieces shared by capture and the command layer: the clock, run ids,
//! randomness, time formatting, and flattening nested tables to dotted keys. The clock and randomness are read here, at
//! the edge, so callers pass them in rather than reading them deep inside.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Pins the clock, for tests only: an RFC 3339 time every reading of the
/// clock returns instead of the system time.
pub const TEST_NOW_VAR: &str = "GIT_EXP_TEST_NOW";
/// Seeds the randomness, for tests only: a u64 (decimal) from which generated
/// run names and the random part of run ids follow deterministically.
pub const TEST_SEED_VAR: &str = "GIT_EXP_TEST_SEED";

/// The clock and the source of randomness of one process, read once at the
/// edge ([`Clock::from_vars`]) and passed to whatever needs the time, a run id
/// or a random name. Clones share one random sequence.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// The pinned time in unix seconds, else the system time.
    pinned: Option<f64>,
    /// The state of the seeded generator, else the operating system's randomness.
    seeded: Option<Arc<AtomicU64>>,
}

impl Clock {
    /// The system clock and the operating system's randomness.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// The clock the environment asks for: `GIT_EXP_TEST_NOW` pins the time,
    /// `GIT_EXP_TEST_SEED` seeds the randomness. An unreadable value is an error
    /// naming the variable.
    pub fn from_vars(vars: &[(String, String)]) -> Result<Clock, String> {
        let var = |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let pinned = match var(TEST_NOW_VAR) {
            Some(text) => Some(parse_rfc3339(text).ok_or_else(|| {
                format!(
                    "{TEST_NOW_VAR}={text:?} is not an RFC 3339 time such as 2026-01-01T00:00:00Z"
                )
            })?),
            None => None,
        };
        let seeded = match var(TEST_SEED_VAR) {
            Some(text) => {
                Some(Arc::new(AtomicU64::new(text.trim().parse().map_err(|_| {
                    format!("{TEST_SEED_VAR}={text:?} is not an unsigned integer")
                })?)))
            }
            None => None,
        };
        Ok(Clock { pinned, seeded })
    }

    /// The time as unix seconds (millisecond precision): the pinned time, or now.
    pub fn now(&self) -> f64 {
        self.pinned.unwrap_or_else(now_unix)
    }

    /// Fills `buf` with random bytes: the seeded sequence (splitmix64), or the
    /// operating system's.
    pub fn random_bytes(&self, buf: &mut [u8]) {
        let Some(state) = &self.seeded else { return random_bytes(buf) };
        for chunk in buf.chunks_mut(8) {
            let mut z = state
                .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
                .wrapping_add(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
    }

    /// A random u64.
    pub fn random_u64(&self) -> u64 {
        let mut b = [0u8; 8];
        self.random_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    /// A new run id started at `unix`: 48 bits of milliseconds since the epoch then 80 random bits,
    /// as 32 lowercase hex digits, so ids sort by creation time.
    pub fn new_run_id(&self, unix: f64) -> String {
        let millis = (unix * 1000.0) as u64 & 0xFFFF_FFFF_FFFF;
        let mut rand = [0u8; 10];
        self.random_bytes(&mut rand);
        format!("{millis:012x}{}", hex(&rand))
    }
}

/// The current time as unix seconds (millisecond precision).
fn now_unix() -> f64 {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    (d.as_millis() as f64) / 1000.0
}

/// Formats unix seconds as RFC 3339 UTC with milliseconds, `2026-11-26T19:30:00.123Z`.
pub fn rfc3339(unix: f64) -> String {
    let millis = (unix * 1000.0).round().max(0.0) as u64;
    let t = UNIX_EPOCH + Duration::from_millis(millis);
    humantime::format_rfc3339_millis(t).to_string()
}

/// Parses an RFC 3339 time back to unix seconds.
pub fn parse_rfc3339(text: &str) -> Option<f64> {
    let t = humantime::parse_rfc3339_weak(text.trim_end_matches('Z')).ok()?;
    Some(t.duration_since(UNIX_EPOCH).ok()?.as_secs_f64())
}

/// Fills `buf` with random bytes from the operating system, falling back to a
/// hash of the clock and process id if `/dev/urandom` cannot be read.
fn random_bytes(buf: &mut [u8]) {
    use std::io::Read;
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        if f.read_exact(buf).is_ok() {
            return;
        }
    }
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_nanos();
    let mut x = (nanos as u64) ^ (u64::from(std::process::id()) << 32) ^ 0x9E37_79B9_7F4A_7C15;
    for b in buf.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
}

/// Bytes as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Formats a duration in seconds for people: `850ms`, `12.3s`, `4m05s`, `2h13m`, `3d04h`.
pub fn human_duration(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "-".into();
    }
    if secs < 1.0 {
        return format!("{}ms", (secs * 1000.0).round() as u64);
    }
    if secs < 60.0 {
        return format!("{secs:.1}s");
    }
    let s = secs.round() as u64;
    match s {
        0..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// `n` and the noun in the right number: `1 point`, `2 points`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Formats a size in bytes for people: `512 B`, `3.0 KiB`, `1.5 MiB`, `2.0 GiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Formats how long ago `then` was, relative to `now`: `just now`, `5m ago`, `3h ago`, `2d ago`.
pub fn human_age(then: f64, now: f64) -> String {
    let d = (now - then).max(0.0) as u64;
    match d {
        0..=59 => "just now".into(),
        60..=3599 => format!("{}m ago", d / 60),
        3600..=86_399 => format!("{}h ago", d / 3600),
        _ => format!("{}d ago", d / 86_400),
    }
}

/// A URL or remote as it may be shown: without user information
/// (`https://user:token@host/x` -> `https://host/x`) or query
/// (`?sig=...`), as git shows remote URLs. Other text is returned unchanged.
pub fn anonymize_url(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else { return text.to_owned() };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    format!("{scheme}://{authority}{path}")
}

/// Calls `leaf` with the dotted key (`a.b.c`) and the value of every leaf of a
/// nested table, in the table's order; `table` returns a value's entries when it
/// is itself a table. An empty nested table has no leaves and adds nothing.
///
/// The one flattener of config, params and summaries (JSON and TOML alike).
pub fn flatten_keys<'a, V, I, T, L>(entries: I, table: &T, leaf: &mut L)
where
    V: 'a,
    I: IntoIterator<Item = (&'a String, &'a V)>,
    T: Fn(&'a V) -> Option<I>,
    L: FnMut(String, &'a V),
{
    fn walk<'a, V, I, T, L>(prefix: &str, entries: I, table: &T, leaf: &mut L)
    where
        V: 'a,
        I: IntoIterator<Item = (&'a String, &'a V)>,
        T: Fn(&'a V) -> Option<I>,
        L: FnMut(String, &'a V),
    {
        for (k, v) in entries {
            let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
            match table(v) {
                Some(children) => walk(&key, children, table, leaf),
                None => leaf(key, v),
            }
        }
    }
    walk("", entries, table, leaf);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flatten_keys_joins_nested_keys_with_dots_in_table_order() {
        let json: serde_json::Value = serde_json::json!({
            "lr": 0.1, "model": {"depth": 4, "act": {"name": "relu"}, "empty": {}},
            "n": null, "list": [1, {"a": 2}]
        });
        let mut got = Vec::new();
        let map = json.as_object().unwrap();
        flatten_keys(map, &serde_json::Value::as_object, &mut |k, v| got.push((k, v.clone())));
        let keys: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["list", "lr", "model.act.name", "model.depth", "n"]);
        assert_eq!(got[0].1, serde_json::json!([1, {"a": 2}]), "arrays are leaves");
        assert!(got[4].1.is_null(), "nulls are leaves");
        let toml: toml::Table = "a = 1\n[b]\nc = 'x'\n[b.d]\n".parse().unwrap();
        let mut got = Vec::new();
        flatten_keys(&toml, &toml::Value::as_table, &mut |k, v| got.push((k, v.to_string())));
        assert_eq!(got, [("a".to_owned(), "1".to_owned()), ("b.c".into(), "\"x\"".into())]);
    }

    #[test]
    fn urls_are_shown_without_credentials() {
        assert_eq!(
            anonymize_url("https://me:tok@git.example.com/a/b.git"),
            "https://git.example.com/a/b.git"
        );
        assert_eq!(anonymize_url("az://c/p?sig=SECRET&x=1"), "az://c/p");
        assert_eq!(anonymize_url("s3://KEY:SECRET@bucket"), "s3://bucket");
        assert_eq!(anonymize_url("origin"), "origin");
        assert_eq!(anonymize_url("git@github.com:o/r.git"), "git@github.com:o/r.git");
    }

    #[test]
    fn rfc3339_round_trips() {
        let t = 1_764_185_400.123;
        let s = rfc3339(t);
        assert_eq!(s, "2025-11-26T19:30:00.123Z");
        assert!((parse_rfc3339(&s).unwrap() - t).abs() < 1e-6);
    }

    #[test]
    fn run_ids_are_time_ordered_and_unique() {
        let clock = Clock::system();
        let a = clock.new_run_id(1000.0);
        let b = clock.new_run_id(2000.0);
        assert_eq!(a.len(), 32);
        assert!(a < b);
        assert_ne!(clock.new_run_id(1000.0), clock.new_run_id(1000.0));
    }

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_pinned_clock_and_seed_repeat_across_processes() {
        let env = vars(&[(TEST_NOW_VAR, "2026-01-01T00:00:00Z"), (TEST_SEED_VAR, "7")]);
        let one = Clock::from_vars(&env).unwrap();
        let two = Clock::from_vars(&env).unwrap();
        assert_eq!(one.now(), 1_767_225_600.0);
        assert_eq!(rfc3339(one.now()), "2026-01-01T00:00:00.000Z");
        let ids = |c: &Clock| (c.new_run_id(c.now()), c.new_run_id(c.now()), c.random_u64());
        let (a, b, n) = ids(&one);
        assert_eq!((a.clone(), b.clone(), n), ids(&two));
        assert_ne!(a, b, "one sequence: the second id differs from the first");
        assert!(a.starts_with("019b76daa800"), "{a}");
        let other = Clock::from_vars(&vars(&[(TEST_SEED_VAR, "8")])).unwrap();
        assert_ne!(other.new_run_id(0.0)[12..], one.clone().new_run_id(0.0)[12..]);
    }

    #[test]
    fn unreadable_test_variables_are_errors_naming_them() {
        let e = Clock::from_vars(&vars(&[(TEST_NOW_VAR, "yesterday")])).unwrap_err();
        assert!(e.starts_with("GIT_EXP_TEST_NOW=\"yesterday\""), "{e}");
        let e = Clock::from_vars(&vars(&[(TEST_SEED_VAR, "-1")])).unwrap_err();
        assert!(e.starts_with("GIT_EXP_TEST_SEED=\"-1\""), "{e}");
        assert!(Clock::from_vars(&[]).unwrap().now() > 1_767_225_600.0);
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human_duration(0.25), "250ms");
        assert_eq!(human_duration(12.34), "12.3s");
        assert_eq!(human_duration(245.0), "4m05s");
        assert_eq!(human_duration(7980.0), "2h13m");
    }
}
