//! `glance variants`: scores the ALT alleles of a VCF/BCF for motif gain and loss,
//! embedding shift and masked-LM likelihood; the work is glance-workflow's
//! `score_variants` (outputs PREFIX.vcf.gz + .tbi, PREFIX.motifs.tsv,
//! PREFIX.variants.tsv; docs/variants.md).

use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::Args;
use glance::model::{Precision, StreamOptions};
use glance::seq::Region;
use glance::variant::noodles_vcf::variant::RecordBuf;
use glance::variant::VcfReader;
use glance::workflow::{score_variants, VariantJob};

use super::motif_args::MotifArgs;
use super::region_args::RegionArgs;
use crate::global::GlobalArgs;

/// Arguments of `glance variants`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  glance variants --ref genome.fa.gz --vcf calls.vcf.gz -o calls
  glance variants --ref genome.fa --vcf calls.bcf --motifs my.meme --no-model -o motifs_only
  glance variants --ref genome.fa --vcf calls.vcf --model my-model --window 2000 -o calls
  glance variants --ref genome.fa --vcf calls.vcf.gz --region chr2:1,000,001-2,000,000 -o part")]
pub struct VariantsArgs {
    /// Reference FASTA (plain or BGZF, .fai/.gzi used when present; gzip is read whole).
    #[arg(long = "ref", value_name = "FASTA")]
    pub reference: PathBuf,

    /// Variants: VCF (plain, gzip or BGZF) or BCF; `-` reads stdin.
    #[arg(long, value_name = "VCF")]
    pub vcf: PathBuf,

    // --region/--regions: only the records overlapping them, read through the
    // VCF's .tbi/.csi when it has one
    #[command(flatten)]
    pub regions: RegionArgs,

    #[command(flatten)]
    pub motif: MotifArgs,

    /// p-value threshold of a motif site.
    #[arg(long, default_value_t = 1e-4, value_name = "P")]
    pub thresh: f64,

    /// No motif effects.
    #[arg(long, conflicts_with = "motifs")]
    pub no_motifs: bool,

    /// Model directory for embedding and likelihood effects (default: `$GLANCE_MODEL`,
    /// else the bundled default model).
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,

    /// Encoder arithmetic: f32, or bf16 (bf16 GEMM inputs with f32 accumulation, on
    /// CPUs with AVX512_BF16; others run f32 with a warning). docs/precision.md.
    #[arg(long, value_name = "P", default_value = "f32")]
    pub precision: Precision,

    /// No embedding or likelihood effects.
    #[arg(long, conflicts_with = "model")]
    pub no_model: bool,

    /// Bases of the window whose embedding is compared (starting half of it before
    /// the variant).
    #[arg(long, default_value_t = 1000, value_name = "BP")]
    pub window: u64,

    /// Count and skip alleles whose REF does not match the reference (default: fail).
    #[arg(long)]
    pub skip_ref_mismatch: bool,

    /// Output prefix: PREFIX.vcf.gz (+ .tbi), PREFIX.motifs.tsv, PREFIX.variants.tsv.
    #[arg(short, long, value_name = "PREFIX")]
    pub output: PathBuf,
}

/// Runs `glance variants`.
pub fn run(args: &VariantsArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    if args.window == 0 {
        bail!("--window must be at least 1 bp");
    }
    let regions = args.regions.parse()?;
    let motifs = if args.no_motifs {
        None
    } else {
        Some(args.motif.load(args.thresh, true)?)
    };
    let encoder = if args.no_model {
        None
    } else {
        Some(super::load_model(args.model.as_deref(), args.precision)?)
    };
    let job = VariantJob {
        references: vec![args.reference.clone()],
        vcf: args.vcf.clone(),
        regions: regions.clone(),
        prefix: args.output.clone(),
        motifs: motifs.as_ref(),
        thresh: args.thresh,
        encoder: encoder.as_ref(),
        window: args.window,
        stream: encoder
            .as_ref()
            .map(StreamOptions::for_encoder)
            .unwrap_or_default(),
        skip_ref_mismatch: args.skip_ref_mismatch,
        owns: None,
        rows: None,
    };
    // a bar with ETA for a file (its records counted first), a spinner for stdin
    let bar = crate::progress::bar(global.quiet, "records", || {
        (args.vcf.as_os_str() != "-")
            .then(|| count_records(&args.vcf, regions.as_deref()))
            .flatten()
    });
    let summary = score_variants(&job, &mut |n| bar.inc(n))?;
    bar.finish_and_clear();
    if !global.quiet {
        let skipped: Vec<String> = summary
            .skipped
            .iter()
            .map(|(why, n)| format!("{n} {why}"))
            .collect();
        eprintln!(
            "glance variants: {} records, {} alleles scored, {} skipped{}; {} motif losses, {} gains{} -> {}.{{vcf.gz,motifs.tsv,variants.tsv}}{}",
            summary.records,
            summary.scored,
            summary.skipped_total(),
            if skipped.is_empty() {
                String::new()
            } else {
                format!(" ({})", skipped.join(", "))
            },
            summary.losses,
            summary.gains,
            if encoder.is_some() {
                format!("; encoder work {} token-layers", summary.token_layers)
            } else {
                String::new()
            },
            args.output.display(),
            if summary.indexed {
                ""
            } else {
                "; input not sorted: no tabix index (sort it with bcftools sort)"
            }
        );
    }
    Ok(())
}

/// The number of records of a VCF/BCF file (`None` if it cannot be read: the run
/// itself reports why).
fn count_records(vcf: &Path, regions: Option<&[Region]>) -> Option<u64> {
    let mut reader = match regions {
        Some(r) => VcfReader::query(vcf, r),
        None => VcfReader::open(vcf),
    }
    .ok()?;
    let mut record = RecordBuf::default();
    let mut n = 0;
    while reader.read(&mut record).ok()?.is_some() {
        n += 1;
    }
    Some(n)
}
