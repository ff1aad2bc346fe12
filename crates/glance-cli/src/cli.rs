//! Command-line grammar (clap derive): global flags shared by every subcommand and the
//! list of subcommands. Each subcommand's own arguments live beside its code in
//! `commands/`.

use clap::{Args, Parser, Subcommand};

use crate::commands;

/// glance: local-attention genome encoders and motif scoring on every CPU core.
#[derive(Debug, Parser)]
#[command(name = "glance", version, about, long_about = None)]
#[command(after_help = "Examples:
  glance tokenize genome.fa.gz -k 6 -o tokens.npy
  glance tokenize genome.fa --region 'chr1:1001-2000' -k 3 --stride 3 -o region.npy
  cat reads.fastq | glance tokenize - -k 6 -o reads.npy")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags accepted by every subcommand.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Worker threads (default: all cores).
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,

    /// Print nothing but errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

impl GlobalArgs {
    /// Configures rayon's global pool with `--threads` (all cores when absent).
    pub fn init_threads(&self) -> anyhow::Result<()> {
        if let Some(n) = self.threads {
            anyhow::ensure!(n >= 1, "--threads must be at least 1");
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build_global()?;
        }
        Ok(())
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read FASTA/FASTQ (plain, gzip, BGZF or stdin) and write k-mer token ids as .npy.
    Tokenize(commands::tokenize::TokenizeArgs),
    /// Run an encoder over FASTA/FASTQ and write per-region embeddings (.npy + .bed).
    Embed(commands::embed::EmbedArgs),
    /// Inspect model directories.
    Model(commands::model::ModelArgs),
    /// Scan FASTA/FASTQ for motif sites with FIMO's scores, p-values and q-values.
    Scan(commands::scan::ScanArgs),
    /// Score motifs per region (bins or BED): best site, hits and attention-pooled affinity.
    Score(commands::score::ScoreArgs),
    /// The main job: embeddings, motif hits and region motif scores in one pass (sharded, resumable).
    Run(commands::run::RunArgs),
    /// Gather `glance run --shard I/N` outputs into what one run gives.
    Merge(commands::merge::MergeArgs),
    /// Print the example `glance run` configuration (`--example`) or check one.
    Config(commands::config::ConfigArgs),
    /// Micro-benchmarks of glance's kernels (`glance bench attention ...`).
    Bench(commands::bench::BenchArgs),
}
