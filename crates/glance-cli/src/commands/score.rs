//! `glance score`: region motif scores. For every region (fixed bins or BED regions) and
//! motif: best FIMO score and p-value, windows at the threshold, and the attention-pooled
//! affinity `tau * ln(sum exp(s / tau))` with its weighted mean position. The work and
//! the outputs (PREFIX.tsv, PREFIX.npy, PREFIX.bed) are glance-workflow's
//! `score_inputs` and `write_score_outputs`.

use anyhow::{bail, Context};
use clap::Args;
use std::io::BufReader;
use std::path::PathBuf;

use glance::motif::region::RegionTables;
use glance::seq::read_bed;
use glance::workflow::{score_inputs, write_score_outputs, ScoreRegions};

use super::motif_args::MotifArgs;
use crate::global::GlobalArgs;

/// Arguments of `glance score`.
#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// Input FASTA/FASTQ files (plain, gzip or BGZF); `-` reads stdin.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    #[command(flatten)]
    pub motif: MotifArgs,

    /// p-value threshold for the hit counts.
    #[arg(long, default_value_t = 1e-4, value_name = "P")]
    pub thresh: f64,

    /// Bin size in bp (default 1000 when --regions is not given).
    #[arg(long, value_name = "BP", conflicts_with = "regions")]
    pub bin: Option<u64>,

    /// Distance between bin starts in bp (default: the bin size).
    #[arg(long, value_name = "BP", conflicts_with = "regions")]
    pub step: Option<u64>,

    /// BED file of regions, scored and written in file order.
    #[arg(long, value_name = "BED")]
    pub regions: Option<PathBuf>,

    /// Softmax temperature of the affinity, in log2-odds units (> 0).
    #[arg(long, default_value_t = 1.0, value_name = "T")]
    pub tau: f64,

    /// Output prefix: PREFIX.tsv, PREFIX.npy, PREFIX.bed.
    #[arg(short, long, value_name = "PREFIX")]
    pub output: PathBuf,
}

/// Runs `glance score`.
pub fn run(args: &ScoreArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    if !(args.tau > 0.0 && args.tau.is_finite()) {
        bail!("--tau must be a positive number, got {}", args.tau);
    }
    let scanner = args.motif.load(args.thresh, true)?.scanner;
    let tables = RegionTables::new(&scanner, args.tau);
    let regions = match &args.regions {
        Some(p) => {
            let f =
                std::fs::File::open(p).with_context(|| format!("{}: cannot open", p.display()))?;
            ScoreRegions::List(
                read_bed(BufReader::new(f)).with_context(|| p.display().to_string())?,
            )
        }
        None => {
            let size = args.bin.unwrap_or(1000);
            ScoreRegions::Bins {
                size,
                step: args.step.unwrap_or(size),
            }
        }
    };
    let rows = score_inputs(&scanner, &tables, &args.inputs, &regions)?;
    write_score_outputs(&args.output, &scanner, &rows)?;
    if !global.quiet {
        eprintln!(
            "glance score: {} regions x {} motifs to {}.{{tsv,npy,bed}}",
            rows.len(),
            scanner.motifs().len(),
            args.output.display()
        );
    }
    Ok(())
}
