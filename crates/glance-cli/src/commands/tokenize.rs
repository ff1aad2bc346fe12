//! `glance tokenize`: FASTA/FASTQ to k-mer token ids (.npy) plus an index TSV.

use clap::Args;
use std::path::PathBuf;

use crate::cli::GlobalArgs;

/// Arguments of `glance tokenize`.
#[derive(Debug, Args)]
pub struct TokenizeArgs {
    /// Input FASTA/FASTQ files (plain, gzip or BGZF); `-` reads stdin.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// Output .npy of u32 token ids.
    #[arg(short, long, value_name = "OUT.npy")]
    pub output: PathBuf,
}

/// Runs `glance tokenize`.
pub fn run(_args: &TokenizeArgs, _global: &GlobalArgs) -> anyhow::Result<()> {
    anyhow::bail!("not yet implemented")
}
