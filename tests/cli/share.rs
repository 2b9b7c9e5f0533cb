//! End-to-end tests of `git exp share` commands (filled in with the commands).
