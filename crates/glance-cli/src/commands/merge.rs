//! `glance merge`: gathers the output directories of `glance run --shard I/N` into what
//! one unsharded run writes (q-values recomputed over every shard).

use std::path::PathBuf;

use clap::Args;

use crate::global::GlobalArgs;

/// Arguments of `glance merge`.
#[derive(Debug, Args)]
#[command(after_help = "Example:
  for i in 1 2 3 4; do glance run genome.fa.gz --shard $i/4 --outdir shard$i; done
  glance merge shard1 shard2 shard3 shard4 --outdir merged")]
pub struct MergeArgs {
    /// The shard output directories (all N shards of one run, any order).
    #[arg(required = true, value_name = "SHARD_DIR")]
    pub shards: Vec<PathBuf>,
    /// Output directory.
    #[arg(long, value_name = "DIR")]
    pub outdir: PathBuf,
}

/// Runs `glance merge`.
pub fn run(args: &MergeArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    glance::workflow::merge(&args.shards, &args.outdir, global.quiet)?;
    Ok(())
}
