//! `glance scan`: FIMO-identical motif scanning of FASTA/FASTQ inputs (TSV with FIMO's
//! columns and number formats, or GFF3 / BED), q-values over every test of the run.

use anyhow::Context;
use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};

use glance::motif::output::{tsv_blocks, write_bed_row, write_gff_row, write_tsv_row, TSV_HEADER};
use glance::motif::scan::driver::{ScanRun, DEFAULT_CHUNK};
use glance::motif::scan::fimo_pi0::FimoPi0;
use glance::motif::{Hit, Scanner};
use glance::seq::SeqReader;

use super::motif_args::MotifArgs;
use crate::cli::GlobalArgs;
use glance::workflow::atomic::AtomicFile;

/// Arguments of `glance scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Input FASTA/FASTQ files (plain, gzip or BGZF); `-` reads stdin.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fmt {
    Tsv,
    Bed,
    Gff,
}

/// Opens one input (path or `-`).
pub(crate) fn open_input(path: &Path) -> anyhow::Result<SeqReader> {
    if path.as_os_str() == "-" {
        SeqReader::from_reader(std::io::stdin()).context("stdin")
    } else {
        SeqReader::open(path).with_context(|| path.display().to_string())
    }
}

fn write_hits(
    out: &mut dyn Write,
    fmt: Fmt,
    hits: &[Hit],
    scanner: &Scanner,
    names: &[String],
    qvalue: bool,
    gff_index: &mut std::collections::HashMap<(u32, u32), usize>,
) -> std::io::Result<()> {
    for h in hits {
        let m = &scanner.motifs()[h.motif as usize];
        let name = &names[h.record as usize];
        match fmt {
            Fmt::Tsv => write_tsv_row(out, h, m, name, qvalue)?,
            Fmt::Bed => write_bed_row(out, h, m, name, qvalue)?,
            Fmt::Gff => {
                let i = gff_index.entry((h.motif, h.record)).or_insert(0);
                *i += 1;
                write_gff_row(out, h, m, name, *i, qvalue)?
            }
        }
    }
    Ok(())
}

/// Runs `glance scan`.
pub fn run(args: &ScanArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    if args.fimo_pi0 && args.inputs.iter().any(|p| p.as_os_str() == "-") {
        anyhow::bail!("-: --fimo-pi0 reads the inputs twice and cannot read stdin");
    }
    let (scanner, source_name) = args.motif.scanner(args.thresh, false)?;
    let fmt = if args.bed {
        Fmt::Bed
    } else if args.gff3 {
        Fmt::Gff
    } else {
        Fmt::Tsv
    };
    let out_name = args
        .output
        .as_ref()
        .map_or_else(|| "stdout".to_string(), |p| p.display().to_string());
    let summary = match &args.output {
        Some(p) => {
            let mut atomic = AtomicFile::create(p)?;
            let summary = {
                let mut w = atomic.writer();
                emit(args, &scanner, fmt, &source_name, &out_name, &mut w)?
            };
            atomic.commit()?;
            summary
        }
        None => {
            let stdout = std::io::stdout();
            let mut w = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
            emit(args, &scanner, fmt, &source_name, &out_name, &mut w)?
        }
    };
    if !global.quiet {
        let (tests, hits) = summary;
        eprintln!(
            "glance scan: {} motifs, {tests} tests, {} hits to {out_name}",
            scanner.motifs().len(),
            hits.map_or_else(|| "streamed".to_string(), |n: usize| n.to_string()),
        );
    }
    Ok(())
}

/// Scans every input and writes the hits; returns the number of tests and of hits
/// (`None` when streamed with --text).
fn emit(
    args: &ScanArgs,
    scanner: &Scanner,
    fmt: Fmt,
    source_name: &str,
    out_name: &str,
    out: &mut dyn Write,
) -> anyhow::Result<(u64, Option<usize>)> {
    let io_err = |e: std::io::Error| anyhow::anyhow!("{out_name}: cannot write: {e}");
    match fmt {
        Fmt::Tsv => writeln!(out, "{TSV_HEADER}").map_err(io_err)?,
        Fmt::Gff => writeln!(out, "##gff-version 3").map_err(io_err)?,
        Fmt::Bed => {}
    }
    let mut run = ScanRun::new(scanner, args.chunk_size);
    let mut gff_index = std::collections::HashMap::new();
    for input in &args.inputs {
        let reader = open_input(input)?;
        let label = input.display().to_string();
        if args.text {
            run.scan_source_with(scanner, reader, |names, tallies| {
                let hits = scanner.take_hits(tallies);
                write_hits(&mut *out, fmt, &hits, scanner, names, false, &mut gff_index)
                    .map_err(glance::motif::MotifError::Io)
            })
            .with_context(|| label.clone())?;
        } else {
            run.scan_source(scanner, reader)
                .with_context(|| label.clone())?;
        }
    }
    let tests: u64 = run.tallies.iter().map(|t| t.tests).sum();
    let mut n_hits = None;
    if !args.text {
        let names = std::mem::take(&mut run.names);
        let pi0 = if args.fimo_pi0 {
            let mut plan = FimoPi0::plan(scanner, &run.tallies);
            if plan.needs_samples() {
                for input in &args.inputs {
                    let label = input.display().to_string();
                    plan.collect(scanner, open_input(input)?, args.chunk_size)
                        .with_context(|| label.clone())?;
                }
            }
            Some(plan.pi0s()?)
        } else {
            None
        };
        let mut hits = scanner.finish_with_pi0(
            std::mem::take(&mut run.tallies),
            args.qv_thresh,
            pi0.as_deref(),
        );
        n_hits = Some(hits.len());
        if fmt == Fmt::Gff {
            hits.sort_by_key(|h| (h.motif, h.record, h.start, h.reverse));
        }
        if fmt == Fmt::Tsv {
            // format in parallel, a bounded batch at a time
            for batch in hits.chunks(1 << 18) {
                for block in tsv_blocks(batch, scanner.motifs(), &names, true) {
                    out.write_all(&block).map_err(io_err)?;
                }
            }
        } else {
            write_hits(out, fmt, &hits, scanner, &names, true, &mut gff_index).map_err(io_err)?;
        }
    }
    if fmt == Fmt::Tsv {
        let cmd: Vec<String> = std::env::args().collect();
        writeln!(
            out,
            "\n# glance {} scan (FIMO-compatible TSV; motifs: {source_name})\n# {}",
            env!("CARGO_PKG_VERSION"),
            cmd.join(" ")
        )
        .map_err(io_err)?;
    }
    out.flush().map_err(io_err)?;
    Ok((tests, n_hits))
}
