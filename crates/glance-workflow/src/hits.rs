//! `glance scan` as a library call: FIMO-identical motif sites of whole input files,
//! written as FIMO's TSV (with q-values over every test of the run, or streamed without
//! them), BED6+3 or GFF3.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use glance_motif::output::{tsv_blocks, write_bed_row, write_gff_row, write_tsv_row, TSV_HEADER};
use glance_motif::scan::driver::ScanRun;
use glance_motif::scan::fimo_pi0::FimoPi0;
use glance_motif::{Hit, MotifError};
use glance_seq::SeqReader;

use crate::error::WorkflowError;
use crate::resolve::MotifSet;

/// How hits are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HitFormat {
    /// FIMO's TSV columns and number formats.
    Tsv,
    /// BED6+3: chrom, start, end, motif id, score, strand, alt id, p, q.
    Bed,
    /// GFF3 as FIMO's fimo.gff.
    Gff3,
}

/// What to scan for and how to write it.
#[derive(Debug, Clone)]
pub struct ScanSettings {
    /// Output format.
    pub format: HitFormat,
    /// Stream hits as found, without q-values (FIMO --text).
    pub text: bool,
    /// Apply the threshold to q-values.
    pub qv_thresh: bool,
    /// Estimate pi0 as a fresh `fimo` process does (reads the inputs twice).
    pub fimo_pi0: bool,
    /// Core bases per scanner chunk.
    pub chunk_size: usize,
    /// The command line recorded in the TSV's trailer.
    pub command_line: String,
}

/// What a scan did.
#[derive(Debug, Clone, Copy)]
pub struct ScanSummary {
    /// Windows scored (motifs x positions x strands).
    pub tests: u64,
    /// Hits written (`None` when streamed with `text`).
    pub hits: Option<usize>,
}

/// Scans every input (paths, `-` for stdin) with `motifs` and writes the hits to `out`
/// (named `out_name` in errors).
pub fn scan_inputs(
    motifs: &MotifSet,
    inputs: &[PathBuf],
    settings: &ScanSettings,
    out: &mut dyn Write,
    out_name: &str,
) -> Result<ScanSummary, WorkflowError> {
    if settings.fimo_pi0 && inputs.iter().any(|p| p.as_os_str() == "-") {
        return Err(WorkflowError::Config(
            "-: --fimo-pi0 reads the inputs twice and cannot read stdin".into(),
        ));
    }
    let scanner = &motifs.scanner;
    let fmt = settings.format;
    let io_err = |e: std::io::Error| WorkflowError::output(std::path::Path::new(out_name), e);
    let input_err = |input: &PathBuf, e: MotifError| WorkflowError::Input {
        path: input.display().to_string(),
        error: Box::new(e),
    };
    match fmt {
        HitFormat::Tsv => writeln!(out, "{TSV_HEADER}").map_err(io_err)?,
        HitFormat::Gff3 => writeln!(out, "##gff-version 3").map_err(io_err)?,
        HitFormat::Bed => {}
    }
    let mut run = ScanRun::new(scanner, settings.chunk_size);
    let mut rows = RowWriter::new(motifs, fmt);
    for input in inputs {
        let reader = open(input)?;
        if settings.text {
            run.scan_source_with(scanner, reader, |names, tallies| {
                let hits = scanner.take_hits(tallies);
                rows.write(&mut *out, &hits, names, false)
                    .map_err(MotifError::Io)
            })
            .map_err(|e| input_err(input, e))?;
        } else {
            run.scan_source(scanner, reader)
                .map_err(|e| input_err(input, e))?;
        }
    }
    let tests: u64 = run.tallies.iter().map(|t| t.tests).sum();
    let mut n_hits = None;
    if !settings.text {
        let names = std::mem::take(&mut run.names);
        let pi0 = if settings.fimo_pi0 {
            let mut plan = FimoPi0::plan(scanner, &run.tallies);
            if plan.needs_samples() {
                for input in inputs {
                    plan.collect(scanner, open(input)?, settings.chunk_size)
                        .map_err(|e| input_err(input, e))?;
                }
            }
            Some(
                plan.pi0s()
                    .map_err(|e| WorkflowError::Motif(e.to_string()))?,
            )
        } else {
            None
        };
        let mut hits = scanner.finish_with_pi0(
            std::mem::take(&mut run.tallies),
            settings.qv_thresh,
            pi0.as_deref(),
        );
        n_hits = Some(hits.len());
        if fmt == HitFormat::Gff3 {
            hits.sort_by_key(|h| (h.motif, h.record, h.start, h.reverse));
        }
        if fmt == HitFormat::Tsv {
            // format in parallel, a bounded batch at a time
            for batch in hits.chunks(1 << 18) {
                for block in tsv_blocks(batch, scanner.motifs(), &names, true) {
                    out.write_all(&block).map_err(io_err)?;
                }
            }
        } else {
            rows.write(out, &hits, &names, true).map_err(io_err)?;
        }
    }
    if fmt == HitFormat::Tsv {
        writeln!(
            out,
            "\n# glance {} scan (FIMO-compatible TSV; motifs: {})\n# {}",
            env!("CARGO_PKG_VERSION"),
            motifs.label,
            settings.command_line
        )
        .map_err(io_err)?;
    }
    out.flush().map_err(io_err)?;
    Ok(ScanSummary {
        tests,
        hits: n_hits,
    })
}

/// Opens one input (path or `-` for stdin), naming it in errors.
fn open(input: &PathBuf) -> Result<SeqReader, WorkflowError> {
    SeqReader::open(input).map_err(|e| WorkflowError::Input {
        path: input.display().to_string(),
        error: Box::new(e),
    })
}

/// Writes hits one row at a time in the chosen format (GFF3 numbers each motif's sites
/// per record).
struct RowWriter<'a> {
    motifs: &'a MotifSet,
    format: HitFormat,
    gff_index: HashMap<(u32, u32), usize>,
}

impl<'a> RowWriter<'a> {
    fn new(motifs: &'a MotifSet, format: HitFormat) -> Self {
        RowWriter {
            motifs,
            format,
            gff_index: HashMap::new(),
        }
    }

    fn write(
        &mut self,
        out: &mut dyn Write,
        hits: &[Hit],
        names: &[String],
        qvalue: bool,
    ) -> std::io::Result<()> {
        for h in hits {
            let m = &self.motifs.scanner.motifs()[h.motif as usize];
            let name = &names[h.record as usize];
            match self.format {
                HitFormat::Tsv => write_tsv_row(out, h, m, name, qvalue)?,
                HitFormat::Bed => write_bed_row(out, h, m, name, qvalue)?,
                HitFormat::Gff3 => {
                    let i = self.gff_index.entry((h.motif, h.record)).or_insert(0);
                    *i += 1;
                    write_gff_row(out, h, m, name, *i, qvalue)?
                }
            }
        }
        Ok(())
    }
}
