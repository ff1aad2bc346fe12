//! `glance score`: region motif scores. For every region (fixed bins or BED regions) and
//! motif: best FIMO score and p-value, windows at the threshold, the attention-pooled
//! affinity `tau * log2(sum 2^(s / tau))` with its weighted mean position, and the
//! occupancy `sum 1 / (1 + 2^(mu - s))` (expected bound sites). The work and
//! the outputs (PREFIX.tsv, PREFIX.npy, PREFIX.bed; bigWig/bedGraph tracks with
//! --bigwig/--bedgraph) are glance-workflow's `score_inputs` and `write_score_outputs`.

use clap::Args;
use std::path::PathBuf;

use glance::motif::region::{
    Potential, RegionSettings, RegionTables, DEFAULT_MU_PVALUE, DEFAULT_TAU,
};
use glance::workflow::{score_inputs, write_score_outputs, ScoreRegions, ScoreTracks};

use super::motif_args::MotifArgs;
use super::region_args::RegionArgs;
use crate::global::GlobalArgs;

/// Arguments of `glance score`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  glance score genome.fa.gz --bin 1000 --step 500 -o scores     # scores.tsv, .npy, .bed
  glance score genome.fa --regions peaks.bed --motifs my.meme -o peaks
  glance score genome.fa.gz --tau 2 --mu-pvalue 1e-4 --uniform -o scores")]
pub struct ScoreArgs {
    /// Input FASTA/FASTQ files (plain, gzip or BGZF); `-` reads stdin.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    #[command(flatten)]
    pub motif: MotifArgs,

    /// p-value threshold for the hit counts.
    #[arg(long, default_value_t = 1e-4, value_name = "P")]
    pub thresh: f64,

    /// Bin size in bp (default 1000 when no --region/--regions is given).
    #[arg(long, value_name = "BP", conflicts_with_all = ["regions", "region"])]
    pub bin: Option<u64>,

    /// Distance between bin starts in bp (default: the bin size).
    #[arg(long, value_name = "BP", conflicts_with_all = ["regions", "region"])]
    pub step: Option<u64>,

    // --region/--regions: score these regions instead of bins, one row each, in the
    // order given
    #[command(flatten)]
    pub regions: RegionArgs,

    /// Softmax temperature of the affinity in bits (> 0): windows weigh 2^(s/T). It was
    /// in natural units before: an old --tau t is t*0.6931471805599453 (t*ln 2) now.
    #[arg(long, default_value_t = DEFAULT_TAU, value_name = "T")]
    pub tau: f64,

    /// Chemical potential of the occupancy in bits, the same for every motif (default:
    /// per motif, from --mu-pvalue).
    #[arg(
        long,
        value_name = "BITS",
        allow_hyphen_values = true,
        conflicts_with = "mu_pvalue"
    )]
    pub mu: Option<f64>,

    /// Per motif, mu is the lowest score with p-value <= P (one window, one strand).
    #[arg(long, default_value_t = DEFAULT_MU_PVALUE, value_name = "P")]
    pub mu_pvalue: f64,

    /// Output prefix: PREFIX.tsv, PREFIX.npy, PREFIX.bed.
    #[arg(short, long, value_name = "PREFIX")]
    pub output: PathBuf,

    /// Also write bigWig tracks of the region affinity: PREFIX.affinity.ID.bw.
    #[arg(long)]
    pub bigwig: bool,

    /// Also write the tracks as bedGraph: PREFIX.affinity.ID.bedGraph.
    #[arg(long)]
    pub bedgraph: bool,

    /// Motif ids given tracks, comma-separated (default: the 10 with the most windows at
    /// --thresh).
    #[arg(long, value_name = "ID,...", value_delimiter = ',')]
    pub track_motifs: Vec<String>,
}

/// Runs `glance score`.
pub fn run(args: &ScoreArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let settings = RegionSettings {
        tau: args.tau,
        mu: match args.mu {
            Some(bits) => Potential::Bits(bits),
            None => Potential::PValue(args.mu_pvalue),
        },
    };
    settings.validate()?;
    let scanner = args.motif.load(args.thresh, true)?.scanner;
    let tables = RegionTables::new(&scanner, &settings)?;
    let regions = match args.regions.parse()? {
        Some(list) => ScoreRegions::List(list),
        None => {
            let size = args.bin.unwrap_or(1000);
            ScoreRegions::Bins {
                size,
                step: args.step.unwrap_or(size),
            }
        }
    };
    let tracks = ScoreTracks {
        bigwig: args.bigwig,
        bedgraph: args.bedgraph,
        motifs: args.track_motifs.clone(),
        step: match regions {
            ScoreRegions::Bins { step, .. } => Some(step),
            ScoreRegions::List(_) => None,
        },
    };
    let (bar, inputs) = crate::progress::observed_inputs(global.quiet, &args.inputs);
    let rows = score_inputs(&scanner, &tables, &inputs, &regions)?;
    bar.finish_and_clear();
    let written = write_score_outputs(&args.output, &scanner, &rows, &tracks)?;
    if !global.quiet {
        eprintln!(
            "glance score: {} regions x {} motifs to {}.{{tsv,npy,bed}}{}",
            rows.len(),
            scanner.motifs().len(),
            args.output.display(),
            match written.len() {
                0 => String::new(),
                n => format!(" and {n} tracks"),
            }
        );
    }
    Ok(())
}
