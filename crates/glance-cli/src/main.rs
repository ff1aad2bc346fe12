//! The `glance` binary: parses the command line, sets up the thread pool, dispatches to
//! one subcommand and turns any error into one line on stderr with exit status 1 (clap
//! exits with 2 on usage errors).

mod cli;
mod commands;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    if let Err(err) = cli.global.init_threads() {
        eprintln!("error: {err:#}");
        return ExitCode::from(1);
    }
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // `{:#}` joins the context chain with ": ", giving one line such as
            // `error: genome.fa: line 3: FASTA record has no '>' header`.
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}
