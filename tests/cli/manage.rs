//! End-to-end tests of `git exp manage` commands (filled in with the commands).
