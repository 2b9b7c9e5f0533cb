//! End-to-end tests of `git exp get` commands (filled in with the commands).
