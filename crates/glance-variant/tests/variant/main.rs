//! The integration tests of glance-variant, one module per topic, linked into one
//! test binary (`cargo test -p glance-variant --test variant`). Convention of the workspace:
//! a crate's integration tests live in tests/<crate name without `glance-`>/, one
//! module each, so that `cargo test` compiles and links one test binary per crate.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml). This covers the helper modules too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod encoding;
