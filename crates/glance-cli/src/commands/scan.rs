//! `glance scan`: FIMO-identical motif scanning of FASTA/FASTQ inputs (TSV with FIMO's
//! columns and number formats, or GFF3 / BED), q-values over every test of the run; the
//! work is glance-workflow's `scan_inputs`.

use clap::Args;
use std::path::PathBuf;

use glance::motif::scan::driver::DEFAULT_CHUNK;
use glance::workflow::{scan_inputs, HitFormat, Input, ScanSettings};

use super::motif_args::MotifArgs;
use super::region_args::RegionArgs;
use crate::global::GlobalArgs;
use glance::io::AtomicFile;

/// Arguments of `glance scan`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  glance scan genome.fa.gz -o hits.tsv                          # all bundled JASPAR motifs
  glance scan genome.fa --motifs my.meme --thresh 1e-5 --text > hits.txt
  glance scan genome.fa.gz --qv-thresh --thresh 0.05 --bed -o hits.bed
  glance scan genome.fa.gz --region chr2:1,000,001-1,100,000 -o part.tsv
  zcat reads.fa.gz | glance scan - --motifs ctcf.jaspar | head")]
pub struct ScanArgs {
    /// Input FASTA/FASTQ files (plain, gzip or BGZF); `-` reads stdin.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    // --region/--regions: only those regions of each (indexed) input, as records named
    // `chr:start-end` (as `samtools faidx` writes them)
    #[command(flatten)]
    pub regions: RegionArgs,

    #[command(flatten)]
    pub motif: MotifArgs,

    /// p-value threshold (p <= thresh), or the q-value threshold with --qv-thresh.
    #[arg(long, default_value_t = 1e-4, value_name = "P")]
    pub thresh: f64,

    /// Apply --thresh to q-values instead (hits are still those with p <= thresh).
    #[arg(long, conflicts_with = "text")]
    pub qv_thresh: bool,

    /// Stream hits as found, without q-values (FIMO --text).
    #[arg(long)]
    pub text: bool,

    /// Estimate pi0 exactly as a fresh `fimo` process does (replays its unseeded
    /// Mersenne Twister: reservoir sample and bootstraps), so q-values equal FIMO's;
    /// reads the inputs twice (no stdin) and costs about 5 ns per test more.
    #[arg(long, conflicts_with = "text")]
    pub fimo_pi0: bool,

    /// Write BED6+3 (chrom, start, end, motif id, score, strand, alt id, p, q).
    #[arg(long, conflicts_with = "gff3")]
    pub bed: bool,

    /// Write GFF3 as FIMO's fimo.gff.
    #[arg(long)]
    pub gff3: bool,

    /// Core bases per chunk.
    #[arg(long, default_value_t = DEFAULT_CHUNK, value_name = "N", hide = true)]
    pub chunk_size: usize,

    /// Output file (default: stdout).
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,
}

/// Runs `glance scan`.
pub fn run(args: &ScanArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let motifs = args.motif.load(args.thresh, false)?;
    let format = if args.bed {
        HitFormat::Bed
    } else if args.gff3 {
        HitFormat::Gff3
    } else {
        HitFormat::Tsv
    };
    let settings = ScanSettings {
        format,
        text: args.text,
        qv_thresh: args.qv_thresh,
        fimo_pi0: args.fimo_pi0,
        chunk_size: args.chunk_size,
        command_line: std::env::args().collect::<Vec<_>>().join(" "),
    };
    // regions are read by index, a small part of each file: no bar
    let (bar, inputs) = match args.regions.parse()? {
        Some(regions) => (
            indicatif::ProgressBar::hidden(),
            args.inputs
                .iter()
                .map(|p| Input::regions(p, &regions))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => crate::progress::observed_inputs(global.quiet, &args.inputs),
    };
    let summary = match &args.output {
        Some(p) => {
            let mut atomic = AtomicFile::create(p)?;
            let name = p.display().to_string();
            let summary = scan_inputs(&motifs, &inputs, &settings, &mut atomic.writer(), &name)?;
            atomic.commit()?;
            summary
        }
        None => {
            let stdout = std::io::stdout();
            let mut w = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
            scan_inputs(&motifs, &inputs, &settings, &mut w, "stdout")?
        }
    };
    bar.finish_and_clear();
    if !global.quiet {
        let out_name = args
            .output
            .as_ref()
            .map_or_else(|| "stdout".to_string(), |p| p.display().to_string());
        eprintln!(
            "glance scan: {} motifs, {} tests, {} hits to {out_name}",
            motifs.scanner.motifs().len(),
            summary.tests,
            summary
                .hits
                .map_or_else(|| "streamed".to_string(), |n| n.to_string()),
        );
    }
    Ok(())
}
