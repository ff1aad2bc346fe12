//! `glance run`: the main job. Reads each input once and feeds the encoder (region
//! embeddings), the motif scanner (FIMO hits) and the region motif scorer through bounded
//! channels; writes regions.bed, embeddings.npy, motif_scores.npy/.tsv, hits.tsv and
//! manifest.json (last) into `--outdir`. Every option is also a key of the TOML config
//! (`glance config --example`); options given here override the file.

use std::path::PathBuf;

use clap::Args;
use glance::model::Precision;
use glance::workflow::{Config, Shard};

use super::region_args::RegionArgs;
use crate::global::GlobalArgs;

/// Arguments of `glance run`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  glance run test-data/Kp1084_200kb.fa.gz --outdir out
  glance run genome.fa.gz --model my-model --motifs jaspar.meme --bin 500 --outdir out
  glance run --config glance.toml
  glance run genome.fa.gz --shard 2/8 --outdir shard2   # then: glance merge shard*/ --outdir all
  glance run genome.fa.gz --variants calls.vcf.gz --outdir out   # + variant effects
  glance run genome.fa.gz --tracks --track-motifs MA0139.2,MA0079.5 --outdir out   # bigWig
  glance run genome.fa.gz --regions peaks.bed --outdir out   # only those regions

Without --model, GLANCE_MODEL or else the default model compiled into glance is used
(models/default; card: docs/models/default.md).")]
pub struct RunArgs {
    /// Input FASTA/FASTQ files (plain, gzip or BGZF; `-` reads stdin); key `inputs`.
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// TOML configuration file (see `glance config --example`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output directory; key `outdir`.
    #[arg(long, value_name = "DIR")]
    pub outdir: Option<PathBuf>,
    /// Seconds between plain log lines when stderr is not a terminal; key `log_interval`.
    #[arg(long, value_name = "S")]
    pub log_interval: Option<f64>,
    /// Process shard I of N (1-based; piece j of record r goes to shard (r + j) % N + 1);
    /// key `shard`.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
    /// Cut records into pieces of BP bases for sharding (0: whole records; default
    /// 1,000,000); key `shard_span`.
    #[arg(long, value_name = "BP")]
    pub shard_span: Option<u64>,
    /// Model directory; key `model.path` (default: GLANCE_MODEL, else the bundled model).
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Attention override `SPEC` or `LAYER=SPEC` (repeatable); key `model.patterns`.
    #[arg(long, value_name = "SPEC")]
    pub pattern: Vec<String>,
    /// Encoder arithmetic, f32 or bf16 (docs/precision.md); key `model.precision`.
    #[arg(long, value_name = "P")]
    pub precision: Option<Precision>,
    /// Core tokens per parallel job; key `model.chunk_tokens`.
    #[arg(long, value_name = "N")]
    pub chunk_tokens: Option<usize>,
    /// Tokens shared by consecutive windows; key `model.overlap`.
    #[arg(long, value_name = "N")]
    pub overlap: Option<usize>,
    /// Bin length in bp; key `regions.bin`.
    #[arg(long, value_name = "BP")]
    pub bin: Option<u64>,
    /// Distance between bin starts in bp; key `regions.step`.
    #[arg(long, value_name = "BP")]
    pub step: Option<u64>,
    /// Pooling: mean, max, cls or attention; key `regions.pool`.
    #[arg(long, value_name = "HOW")]
    pub pool: Option<String>,
    // --region/--regions: only those regions of each (indexed) input, as records named
    // `chr:start-end` (as `samtools faidx` writes them); keys `regions.region` and
    // `regions.bed`
    #[command(flatten)]
    pub regions: RegionArgs,
    /// Motif file; key `motifs.file` (default: bundled JASPAR 2026 CORE vertebrates).
    #[arg(long, value_name = "FILE")]
    pub motifs: Option<PathBuf>,
    /// Background (--nrdb--, --uniform--, --motif-- or a file); key `motifs.background`.
    #[arg(long, value_name = "B", allow_hyphen_values = true)]
    pub background: Option<String>,
    /// Hit p-value threshold; key `motifs.thresh`.
    #[arg(long, value_name = "P")]
    pub thresh: Option<f64>,
    /// Apply --thresh to q-values; key `motifs.qv_thresh`.
    #[arg(long)]
    pub qv_thresh: bool,
    /// Scan the given strand only; key `motifs.norc`.
    #[arg(long)]
    pub norc: bool,
    /// Motif pseudocount; key `motifs.motif_pseudo`.
    #[arg(long, value_name = "A")]
    pub motif_pseudo: Option<f64>,
    /// Temperature of the region affinity in bits (windows weigh 2^(s/T)); key
    /// `motifs.tau`.
    #[arg(long, value_name = "T")]
    pub tau: Option<f64>,
    /// Chemical potential of the region occupancy in bits; key `motifs.mu`.
    #[arg(
        long,
        value_name = "BITS",
        allow_hyphen_values = true,
        conflicts_with = "mu_pvalue"
    )]
    pub mu: Option<f64>,
    /// Per motif, mu is the score with this p-value (drops `motifs.mu`); key
    /// `motifs.mu_pvalue`.
    #[arg(long, value_name = "P")]
    pub mu_pvalue: Option<f64>,
    /// Core bases per scanner chunk; key `motifs.chunk_size`.
    #[arg(long, value_name = "N")]
    pub chunk_size: Option<usize>,
    /// Produce embeddings.npy; key `outputs.embeddings`.
    #[arg(long, value_name = "BOOL")]
    pub embeddings: Option<bool>,
    /// Produce hits.tsv; key `outputs.hits`.
    #[arg(long, value_name = "BOOL")]
    pub hits: Option<bool>,
    /// Produce motif_scores.npy/.tsv; key `outputs.motif_scores`.
    #[arg(long, value_name = "BOOL")]
    pub motif_scores: Option<bool>,
    /// Score this VCF/BCF's variants against the inputs (variants.vcf.gz,
    /// variants.motifs.tsv, variants.variants.tsv); key `variants.vcf`.
    #[arg(long, value_name = "VCF")]
    pub variants: Option<PathBuf>,
    /// Bases of the window whose embedding is compared; key `variants.window`.
    #[arg(long, value_name = "BP")]
    pub variant_window: Option<u64>,
    /// Write bigWig tracks in OUTDIR/tracks/: region affinity of --track-motifs and the
    /// first 3 principal components of the embeddings; key `outputs.tracks`.
    #[arg(long)]
    pub tracks: bool,
    /// Write the tracks as bedGraph (with or without --tracks); key `outputs.bedgraph`.
    #[arg(long)]
    pub bedgraph: bool,
    /// Motif ids given tracks, comma-separated (default: the 10 with the most hits); key
    /// `outputs.track_motifs`.
    #[arg(long, value_name = "ID,...", value_delimiter = ',')]
    pub track_motifs: Vec<String>,
    /// Write report.html (a self-contained page: settings, stage times, top motifs, hit
    /// density, affinity heatmap, embedding PCA, links); key `outputs.report`.
    #[arg(long, value_name = "BOOL")]
    pub report: Option<bool>,
}

/// The config file (or defaults) with the command line applied on top.
pub fn resolve_config(args: &RunArgs, global: &GlobalArgs) -> anyhow::Result<Config> {
    let mut c = match &args.config {
        Some(p) => Config::read(p)?,
        None => Config::default(),
    };
    if !args.inputs.is_empty() {
        c.inputs = args.inputs.clone();
    }
    macro_rules! set {
        ($field:expr, $value:expr) => {
            if let Some(v) = $value.clone() {
                $field = v;
            }
        };
    }
    if args.outdir.is_some() {
        c.outdir = args.outdir.clone();
    }
    if global.threads.is_some() {
        c.threads = global.threads;
    }
    c.quiet |= global.quiet;
    set!(c.log_interval, args.log_interval);
    if args.shard.is_some() {
        c.shard = args.shard;
    }
    set!(c.shard_span, args.shard_span);
    if args.model.is_some() {
        c.model.path = args.model.clone();
    }
    if !args.pattern.is_empty() {
        c.model.patterns = args.pattern.clone();
    }
    set!(
        c.model.precision,
        args.precision.map(|p| p.name().to_string())
    );
    set!(c.model.chunk_tokens, args.chunk_tokens);
    set!(c.model.overlap, args.overlap);
    set!(c.regions.bin, args.bin);
    if args.step.is_some() {
        c.regions.step = args.step;
    }
    set!(c.regions.pool, args.pool);
    if !args.regions.region.is_empty() {
        c.regions.region = args.regions.region.clone();
        c.regions.bed = None;
    }
    if args.regions.regions.is_some() {
        c.regions.bed = args.regions.regions.clone();
        c.regions.region.clear();
    }
    if args.motifs.is_some() {
        c.motifs.file = args.motifs.clone();
    }
    set!(c.motifs.background, args.background);
    set!(c.motifs.thresh, args.thresh);
    c.motifs.qv_thresh |= args.qv_thresh;
    c.motifs.norc |= args.norc;
    set!(c.motifs.motif_pseudo, args.motif_pseudo);
    set!(c.motifs.tau, args.tau);
    if args.mu.is_some() {
        c.motifs.mu = args.mu;
    }
    if let Some(p) = args.mu_pvalue {
        c.motifs.mu = None;
        c.motifs.mu_pvalue = p;
    }
    set!(c.motifs.chunk_size, args.chunk_size);
    set!(c.outputs.embeddings, args.embeddings);
    set!(c.outputs.hits, args.hits);
    set!(c.outputs.motif_scores, args.motif_scores);
    if args.variants.is_some() {
        c.variants.vcf = args.variants.clone();
    }
    set!(c.variants.window, args.variant_window);
    set!(c.outputs.report, args.report);
    c.outputs.tracks |= args.tracks;
    c.outputs.bedgraph |= args.bedgraph;
    if !args.track_motifs.is_empty() {
        c.outputs.track_motifs = args.track_motifs.clone();
    }
    Ok(c)
}

/// Runs `glance run`.
pub fn run(args: &RunArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    // The library runs on `config.threads` workers (from --threads or the config file).
    glance::workflow::run(&resolve_config(args, global)?)?;
    Ok(())
}
