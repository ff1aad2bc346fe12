//! One module per subcommand (dispatched by `cli::Command::run`).

pub mod bench;
pub mod bench_sweep;
pub mod completions;
pub mod config;
pub mod embed;
pub mod merge;
pub mod model;
pub mod motif_args;
pub mod region_args;
pub mod run;
pub mod scan;
pub mod score;
pub mod tokenize;
pub mod variants;
