//! `glance scan` as a library call: FIMO-identical motif sites of whole input files,
//! kept in memory with q-values over every test of the run ([`collect_hits`]) or
//! written as FIMO's TSV (or streamed without q-values), BED6+3 or GFF3
//! ([`scan_inputs`]).

use std::collections::HashMap;
use std::io::Write;

use glance_motif::output::{
    tsv_blocks_ordered, write_bed_row, write_gff_row, write_tsv_row, TSV_HEADER,
};
use glance_motif::scan::driver::ScanRun;
use glance_motif::scan::fimo_pi0::FimoPi0;
use glance_motif::scan::{CompiledMotif, OrderedHits};
use glance_motif::{Hit, MotifError};

use crate::error::WorkflowError;
use crate::input::Input;
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

/// The hits of a whole scan, with q-values over every test, in FIMO's order.
#[derive(Debug, Clone)]
pub struct ScanHits {
    /// The hits; `Hit::record` indexes `names`, `Hit::motif` the scanner's motifs.
    pub hits: Vec<Hit>,
    /// The names of the records scanned, in input order.
    pub names: Vec<String>,
    /// Windows scored (motifs x positions x strands).
    pub tests: u64,
}

/// Scans every input with `motifs` and returns the hits with their q-values (the
/// settings' `qv_thresh`, `fimo_pi0` and `chunk_size` apply; the format does not).
pub fn collect_hits(
    motifs: &MotifSet,
    inputs: &[Input],
    settings: &ScanSettings,
) -> Result<ScanHits, WorkflowError> {
    let (hits, names, tests) = ordered_hits(motifs, inputs, settings)?;
    Ok(ScanHits {
        hits: hits.into_vec(),
        names,
        tests,
    })
}

/// [`collect_hits`]' work: the hits in FIMO's order (per motif, with their merged
/// order), the record names and the number of tests.
fn ordered_hits(
    motifs: &MotifSet,
    inputs: &[Input],
    settings: &ScanSettings,
) -> Result<(OrderedHits, Vec<String>, u64), WorkflowError> {
    check_stdin(inputs, settings)?;
    let scanner = &motifs.scanner;
    let mut run = ScanRun::new(scanner, settings.chunk_size);
    for input in inputs {
        run.scan_source(scanner, input.open()?)
            .map_err(|e| input_err(input, e))?;
    }
    let tests: u64 = run.tallies.iter().map(|t| t.tests).sum();
    let pi0 = if settings.fimo_pi0 {
        let mut plan = FimoPi0::plan(scanner, &run.tallies);
        if plan.needs_samples() {
            for input in inputs {
                plan.collect(scanner, input.open()?, settings.chunk_size)
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
    let hits = scanner.finish_ordered(
        std::mem::take(&mut run.tallies),
        settings.qv_thresh,
        pi0.as_deref(),
    );
    Ok((hits, std::mem::take(&mut run.names), tests))
}

/// Scans every input with `motifs` and writes the hits to `out` (named `out_name` in
/// errors) in the settings' format; with `text`, rows are streamed as found, without
/// q-values.
pub fn scan_inputs(
    motifs: &MotifSet,
    inputs: &[Input],
    settings: &ScanSettings,
    out: &mut dyn Write,
    out_name: &str,
) -> Result<ScanSummary, WorkflowError> {
    check_stdin(inputs, settings)?;
    let scanner = &motifs.scanner;
    let fmt = settings.format;
    let io_err = |e: std::io::Error| WorkflowError::output(std::path::Path::new(out_name), e);
    match fmt {
        HitFormat::Tsv => writeln!(out, "{TSV_HEADER}").map_err(io_err)?,
        HitFormat::Gff3 => writeln!(out, "##gff-version 3").map_err(io_err)?,
        HitFormat::Bed => {}
    }
    let mut rows = RowWriter::new(motifs, fmt);
    let summary = if settings.text {
        let mut run = ScanRun::new(scanner, settings.chunk_size);
        for input in inputs {
            run.scan_source_with(scanner, input.open()?, |names, tallies| {
                let hits = scanner.take_hits(tallies);
                rows.write(&mut *out, &hits, names, false)
                    .map_err(MotifError::Io)
            })
            .map_err(|e| input_err(input, e))?;
        }
        ScanSummary {
            tests: run.tallies.iter().map(|t| t.tests).sum(),
            hits: None,
        }
    } else {
        let (hits, names, tests) = ordered_hits(motifs, inputs, settings)?;
        let count = hits.len();
        if fmt == HitFormat::Tsv {
            write_tsv(out, &hits, scanner.motifs(), &names).map_err(io_err)?;
        } else {
            let mut hits = hits.into_vec();
            if fmt == HitFormat::Gff3 {
                hits.sort_by_key(|h| (h.motif, h.record, h.start, h.reverse));
            }
            rows.write(out, &hits, &names, true).map_err(io_err)?;
        }
        ScanSummary {
            tests,
            hits: Some(count),
        }
    };
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
    Ok(summary)
}

/// Writes TSV rows for `hits`, formatted in parallel a bounded batch at a time; each
/// batch is formatted (on the thread pool) while the one before it is written.
fn write_tsv(
    out: &mut dyn Write,
    hits: &OrderedHits,
    motifs: &[CompiledMotif],
    names: &[String],
) -> std::io::Result<()> {
    const BATCH: usize = 1 << 16;
    let mut pending: Vec<Vec<u8>> = Vec::new();
    for from in (0..hits.len()).step_by(BATCH) {
        pending = std::thread::scope(|s| {
            let next = s.spawn(|| tsv_blocks_ordered(hits, from..from + BATCH, motifs, names));
            let written = pending.iter().try_for_each(|b| out.write_all(b));
            let next = next
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            written.map(|()| next)
        })?;
    }
    pending.iter().try_for_each(|b| out.write_all(b))
}

/// Refuses `fimo_pi0` on stdin: it reads the inputs twice.
fn check_stdin(inputs: &[Input], settings: &ScanSettings) -> Result<(), WorkflowError> {
    if settings.fimo_pi0 && inputs.iter().any(Input::is_stdin) {
        return Err(WorkflowError::Config(
            "-: --fimo-pi0 reads the inputs twice and cannot read stdin".into(),
        ));
    }
    Ok(())
}

/// A scanner error of `input`, naming it.
fn input_err(input: &Input, e: MotifError) -> WorkflowError {
    WorkflowError::Input {
        path: input.to_string(),
        error: Box::new(e),
    }
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
