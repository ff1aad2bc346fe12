//! One module per subcommand; [`run`] dispatches the parsed command line.

pub mod bench;
pub mod bench_error;
pub mod bench_sweep;
pub mod config;
pub mod embed;
pub mod merge;
pub mod model;
pub mod motif_args;
pub mod run;
pub mod scan;
pub mod score;
pub mod tokenize;

use crate::cli::{Cli, Command};

/// Runs the subcommand chosen on the command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Tokenize(args) => tokenize::run(&args, &cli.global),
        Command::Embed(args) => embed::run(&args, &cli.global),
        Command::Model(args) => model::run(&args, &cli.global),
        Command::Scan(args) => scan::run(&args, &cli.global),
        Command::Score(args) => score::run(&args, &cli.global),
        Command::Run(args) => run::run(&args, &cli.global),
        Command::Merge(args) => merge::run(&args, &cli.global),
        Command::Config(args) => config::run(&args, &cli.global),
        Command::Bench(args) => bench::run(&args, &cli.global),
    }
}

/// `PREFIX.ext` for an output prefix, keeping any dots already in the prefix.
pub(crate) fn with_suffix(prefix: &std::path::Path, ext: &str) -> std::path::PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    std::path::PathBuf::from(s)
}
