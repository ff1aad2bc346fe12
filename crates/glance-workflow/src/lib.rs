//! The glance batch pipeline: `glance run` and `glance merge` as a library.
//!
//! - [`config`]: the TOML configuration (every key is a `glance run` option).
//! - [`resolve`]: default model and motif resolution.
//! - [`manifest`]: manifest.json (version, resolved config, input and output checksums,
//!   timings) and the resume check.
//! - [`sharding`]: which shard owns which record pieces (`--shard I/N`).
//! - [`atomic`]: outputs written under a temporary name and renamed when complete.
//!
//! Errors are [`WorkflowError`]s naming the file, record or key.

pub mod atomic;
pub mod checksum;
pub mod config;
pub mod cputime;
pub mod error;
pub mod layout;
pub mod manifest;
pub mod merge;
pub mod npy;
pub mod pipeline;
pub mod priority;
pub mod progress;
pub mod resolve;
pub mod sharding;
pub mod stages;
pub mod tee;

pub use config::{Config, Shard, EXAMPLE};
pub use error::WorkflowError;
pub use merge::merge;
pub use pipeline::{run, RunOutcome};
