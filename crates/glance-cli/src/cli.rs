//! Command-line grammar (clap derive): the list of subcommands and the dispatch to
//! them. Global flags live in `global`, each subcommand's own arguments beside its code
//! in `commands/`.

use clap::{Parser, Subcommand};

use crate::commands;
use crate::global::GlobalArgs;

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
    /// Score motifs per region (bins or BED): best site, hits, attention-pooled affinity, occupancy.
    Score(commands::score::ScoreArgs),
    /// The main job: embeddings, motif hits and region motif scores in one pass (sharded, resumable).
    Run(Box<commands::run::RunArgs>),
    /// Score VCF/BCF variants: motif gain/loss, embedding shift, masked-LM likelihood ratio.
    Variants(commands::variants::VariantsArgs),
    /// Gather `glance run --shard I/N` outputs into what one run gives.
    Merge(commands::merge::MergeArgs),
    /// Print the example `glance run` configuration (`--example`) or check one.
    Config(commands::config::ConfigArgs),
    /// Micro-benchmarks of glance's kernels (`glance bench attention ...`).
    Bench(commands::bench::BenchArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(commands::completions::CompletionsArgs),
    /// Print the man page (roff) of glance or of one subcommand.
    Man(commands::completions::ManArgs),
}

impl Command {
    /// Runs the chosen subcommand.
    pub fn run(self, global: &GlobalArgs) -> anyhow::Result<()> {
        match self {
            Command::Tokenize(args) => commands::tokenize::run(&args, global),
            Command::Embed(args) => commands::embed::run(&args, global),
            Command::Model(args) => commands::model::run(&args, global),
            Command::Scan(args) => commands::scan::run(&args, global),
            Command::Score(args) => commands::score::run(&args, global),
            Command::Run(args) => commands::run::run(&args, global),
            Command::Merge(args) => commands::merge::run(&args, global),
            Command::Variants(args) => commands::variants::run(&args, global),
            Command::Config(args) => commands::config::run(&args, global),
            Command::Bench(args) => commands::bench::run(&args, global),
            Command::Completions(args) => commands::completions::completions(&args),
            Command::Man(args) => commands::completions::man(&args),
        }
    }
}
