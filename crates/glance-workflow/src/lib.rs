//! The glance batch pipeline: `glance run` and `glance merge` as a library.
//!
//! - [`config`]: the TOML configuration (every key is a `glance run` option).
//! - [`resolve`]: default model and motif resolution.
//! - [`manifest`]: manifest.json (version, resolved config, input and output checksums,
//!   timings) and the resume check.
//! - [`atomic`]: outputs written under a temporary name and renamed when complete.
//!
//! Errors are [`WorkflowError`]s naming the file, record or key.

pub mod atomic;
pub mod checksum;
pub mod config;
pub mod error;
pub mod manifest;
pub mod resolve;

pub use config::{Config, Shard, EXAMPLE};
pub use error::WorkflowError;
