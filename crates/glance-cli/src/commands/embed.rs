//! `glance embed`: run an encoder over FASTA/FASTQ and write per-region (or per-token)
//! embeddings as PREFIX.npy (f32, `[rows, d_model]`, C order) plus PREFIX.bed (chrom,
//! start, end, name, row); the work is glance-workflow's `embed_inputs`.

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use glance::io::with_suffix;
use glance::model::{Pooling, Precision, RegionSpec, Regions, RunMode, StreamOptions};
use glance::seq::read_fai;
use glance::workflow::{embed_inputs, EmbedRows, Input};

use super::region_args::RegionArgs;
use crate::global::GlobalArgs;

/// Arguments of `glance embed`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  glance embed genome.fa.gz --model my-model --bin 1000 -o genome_1kb
  glance embed genome.fa --model dnabert6 --regions peaks.bed --pool max -o peaks
  glance embed reads.fa --model my-model --per-token -o reads_tokens")]
pub struct EmbedArgs {
    /// Input FASTA/FASTQ files (plain, gzip or BGZF); `-` reads stdin.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// Model directory: a native glance model or, as downloaded, a Hugging Face
    /// BERT/DNABERT, Longformer, ModernBERT or Nucleotide Transformer checkpoint
    /// (docs/models.md). Default: `$GLANCE_MODEL`, else the default model compiled into
    /// glance (models/default).
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,

    /// Override attention patterns: `SPEC` for every layer or `LAYER=SPEC` (0-based)
    /// for one, e.g. `sliding:r=64` or `2=block:b=512,n=1`. Repeatable.
    #[arg(long, value_name = "SPEC")]
    pub pattern: Vec<String>,

    /// Encoder arithmetic: f32, or bf16 (bf16 GEMM inputs with f32 accumulation, on
    /// CPUs with AVX512_BF16; others run f32 with a warning). docs/precision.md.
    #[arg(long, value_name = "P", default_value = "f32")]
    pub precision: Precision,

    /// Bin size in bp (default 1000 unless --region/--regions or --per-token).
    #[arg(long, value_name = "BP", conflicts_with_all = ["regions", "region", "per_token"])]
    pub bin: Option<u64>,

    /// Distance between bin starts in bp (default: the bin size).
    #[arg(long, value_name = "BP", requires = "bin")]
    pub step: Option<u64>,

    // --region/--regions: pool over these regions instead of bins, one row each, in
    // the order given
    #[command(flatten)]
    pub regions: RegionArgs,

    /// Pooling: mean, max, cls (first token of the region) or attention (the model's
    /// learned query).
    #[arg(long, value_name = "HOW", default_value = "mean")]
    pub pool: Pooling,

    /// Write one row per token instead of pooling (for short inputs).
    #[arg(long)]
    pub per_token: bool,

    /// Refuse --per-token output of more tokens than this.
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub max_tokens: u64,

    /// Core tokens per parallel chunk (models with relative or no positions); default
    /// 32 times the receptive radius, within 2048..=16384.
    #[arg(long, value_name = "N")]
    pub chunk_tokens: Option<usize>,

    /// Tokens shared by consecutive windows of learned-position models (BERT/DNABERT,
    /// Longformer); shared tokens get the mean of both windows.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub overlap: usize,

    /// Output prefix: writes PREFIX.npy and PREFIX.bed.
    #[arg(short, long, value_name = "PREFIX")]
    pub output: PathBuf,
}

/// Runs `glance embed`.
pub fn run(args: &EmbedArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let mut encoder = super::load_model(args.model.as_deref(), args.precision)?;
    encoder
        .override_patterns(&args.pattern)
        .context("--pattern")?;
    let rows = if let Some(list) = args.regions.parse()? {
        anyhow::ensure!(
            !args.per_token,
            "--per-token writes every token: it takes no --region/--regions"
        );
        EmbedRows::Pooled {
            regions: Regions::List(region_specs(list)?),
            pooling: args.pool,
        }
    } else if args.per_token {
        EmbedRows::PerToken {
            max_tokens: args.max_tokens,
        }
    } else {
        let size = args.bin.unwrap_or(1000);
        EmbedRows::Pooled {
            regions: Regions::Bins {
                size,
                step: args.step.unwrap_or(size),
            },
            pooling: args.pool,
        }
    };
    let defaults = StreamOptions::for_encoder(&encoder);
    let opts = StreamOptions {
        chunk_tokens: args.chunk_tokens.unwrap_or(defaults.chunk_tokens),
        overlap: args.overlap,
        ..defaults
    };
    if let RunMode::Windows { tokens, .. } = encoder.run_mode()? {
        if args.overlap >= tokens {
            bail!(
                "--overlap {} must be below the model's window of {tokens} tokens",
                args.overlap
            );
        }
    }
    let progress = crate::progress::bar(global.quiet, "bases", || total_bases(&args.inputs));
    let written = embed_inputs(
        &encoder,
        &Input::paths(&args.inputs),
        &opts,
        &rows,
        &args.output,
        &mut |bases| progress.inc(bases),
    )?;
    progress.finish_and_clear();
    if !global.quiet {
        eprintln!(
            "glance embed: {written} rows x {} to {} and {}",
            encoder.d_model(),
            with_suffix(&args.output, "npy").display(),
            with_suffix(&args.output, "bed").display()
        );
    }
    Ok(())
}

/// The regions as the pooler takes them (each needs an end).
fn region_specs(regions: Vec<glance::seq::Region>) -> anyhow::Result<Vec<RegionSpec>> {
    regions
        .into_iter()
        .map(|r| {
            let end = r
                .end
                .with_context(|| format!("--region {r}: give an end (chr:start-end)"))?;
            Ok(RegionSpec {
                chrom: r.name,
                start: r.start,
                end,
            })
        })
        .collect()
}

/// The total number of bases when every input has a `.fai` index beside it.
fn total_bases(inputs: &[PathBuf]) -> Option<u64> {
    inputs.iter().try_fold(0u64, |sum, input| {
        let mut fai = input.as_os_str().to_owned();
        fai.push(".fai");
        let file = File::open(PathBuf::from(fai)).ok()?;
        let entries = read_fai(BufReader::new(file)).ok()?;
        Some(sum + entries.iter().map(|e| e.length).sum::<u64>())
    })
}
