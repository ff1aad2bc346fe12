//! One module per subcommand (dispatched by `cli::Command::run`), and [`load_model`],
//! shared by the subcommands that take `--model`.

use std::path::Path;

use anyhow::Context;
use glance::model::{DefaultModel, Encoder};

pub mod bench;
pub mod bench_sweep;
pub mod completions;
pub mod config;
pub mod embed;
pub mod merge;
pub mod model;
pub mod model_sweep;
pub mod motif_args;
pub mod region_args;
pub mod run;
pub mod scan;
pub mod score;
pub mod tokenize;
pub mod variants;

/// A usage error found after parsing (an argument that does not fit the model or the
/// input): `main` prints it as one line, like any error, and exits with status 2 as clap
/// does for its own usage errors.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// The model in `dir`, or without one the default model (`$GLANCE_MODEL`, else the one
/// compiled into the binary).
pub fn load_model(dir: Option<&Path>) -> anyhow::Result<Encoder> {
    match dir {
        Some(dir) => glance::model::load(dir)
            .with_context(|| format!("{}: cannot load model", dir.display())),
        None => {
            let model = DefaultModel::resolve();
            model
                .load()
                .with_context(|| format!("{model}: cannot load the default model"))
        }
    }
}
