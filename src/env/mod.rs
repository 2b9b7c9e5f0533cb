//! The environment of a run: what the machine, toolchains and result-shaping
//! environment variables looked like when it started ([`manifest`], stored as
//! `env.toml`), and the redaction that keeps secrets out of everything a run
//! stores ([`redact`]).
//!
//! Nothing here reads the process environment itself: the caller passes the
//! variables in. Nothing here prints, and nothing here touches git.

mod machine;
pub mod manifest;
mod probe;
pub mod redact;

pub use manifest::{capture, highlights, Manifest, Options};
pub use redact::{Finding, Redactor, StreamRedactor, REDACTED};
