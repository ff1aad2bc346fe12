//! One module per subcommand (dispatched by `cli::Command::run`), and [`load_model`],
//! shared by the subcommands that take `--model` and `--precision`.

use std::path::Path;

use anyhow::Context;
use glance::model::{DefaultModel, Encoder, Precision};

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
/// compiled into the binary), set to run in `precision` ([`use_precision`]).
pub fn load_model(dir: Option<&Path>, precision: Precision) -> anyhow::Result<Encoder> {
    let mut encoder = match dir {
        Some(dir) => glance::model::load(dir)
            .with_context(|| format!("{}: cannot load model", dir.display())),
        None => {
            let model = DefaultModel::resolve();
            model
                .load()
                .with_context(|| format!("{model}: cannot load the default model"))
        }
    }?;
    use_precision(&mut encoder, precision);
    Ok(encoder)
}

/// Sets `--precision` on a loaded encoder; bf16 on a CPU without AVX512_BF16 runs f32
/// with one warning (glance-model logs it).
pub fn use_precision(encoder: &mut Encoder, precision: Precision) {
    let effective = encoder.set_precision(precision);
    if effective == Precision::Bf16 {
        log::info!("encoder precision bf16 (bf16 GEMM inputs, f32 accumulation)");
    }
}
