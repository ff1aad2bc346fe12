//! The integration tests of glance-cli (the `glance` binary), one module per topic,
//! linked into one test binary (`cargo test -p glance-cli --test cli`). Convention of
//! the workspace: a crate's integration tests live in tests/<crate name without
//! `glance-`>/, one module each, so that `cargo test` compiles and links one test
//! binary per crate.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml). This covers the helper modules too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod adversarial;
mod bad_input;
mod bench;
mod bench_lowrank;
mod bench_plot;
mod common;
mod embed;
mod hts;
mod install;
mod memory_limits;
mod merge;
mod model;
mod model_sweep;
mod report;
mod run;
mod scan;
mod score;
mod tokenize;
mod tracks;
mod variants;
