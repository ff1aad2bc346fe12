//! The integration tests of glance-model, one module per topic, linked into one
//! test binary (`cargo test -p glance-model --test model`). Convention of the workspace:
//! a crate's integration tests live in tests/<crate name without `glance-`>/, one
//! module each, so that `cargo test` compiles and links one test binary per crate.

// Tests may unwrap: a failed unwrap is a failed test (library code may not:
// [workspace.lints] in Cargo.toml). This covers the helper modules too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bf16_kernel;
mod checkpoints;
mod common;
mod default_model;
mod dnabert2;
mod encode_range;
mod errors;
mod gena;
mod mlm_head;
mod modernbert;
mod nucleotide_transformer;
mod parity;
mod pattern_override;
mod precision;
mod streaming;
