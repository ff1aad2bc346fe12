//! The variants stage of `glance run` and its merge. The run's VCF (`[variants] vcf`)
//! is scored against the run's inputs (the reference, each file searched in order for
//! a contig) with the run's motifs and model, as `glance variants` scores it
//! ([`score_variants`]). A shard scores the records whose position lies on a piece of
//! the genome it owns ([`Sharding`]; records on contigs absent from the inputs belong
//! to the first shard) and writes a rows table, from which `glance merge` puts every
//! shard's rows back in the input's order.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Lines, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use glance_io::{AtomicFile, FileEntry};
use glance_model::{Encoder, StreamOptions};
use glance_variant::noodles_vcf::variant::RecordBuf;
use glance_variant::{VariantError, VcfReader, VcfWriter};

use crate::config::Config;
use crate::cputime::CpuClock;
use crate::error::WorkflowError;
use crate::layout::{self, RecordInfo};
use crate::manifest::StageTiming;
use crate::resolve::MotifSet;
use crate::sharding::Sharding;
use crate::stages;
use crate::variants::{score_variants, VariantJob, VariantSummary, INFO_FIELDS};

/// The variants files present in `outdir`, in manifest order, with their entries.
fn entries(outdir: &Path) -> Result<Vec<FileEntry>, WorkflowError> {
    let mut out = Vec::new();
    for name in [
        layout::VARIANTS_VCF,
        layout::VARIANTS_TBI,
        layout::VARIANTS_CSI,
        layout::VARIANTS_MOTIFS,
        layout::VARIANTS_TSV,
        layout::VARIANTS_ROWS,
    ] {
        let p = outdir.join(name);
        if p.is_file() {
            out.push(FileEntry::of(&p, name.to_string())?);
        }
    }
    Ok(out)
}

/// What the run's variants stage needs from its plan.
pub struct VariantStage<'a> {
    /// The run's configuration (inputs, `[variants]`, model streaming options).
    pub config: &'a Config,
    /// Where the outputs go.
    pub outdir: &'a Path,
    /// This run's shard.
    pub sharding: Sharding,
    /// Every record of the inputs (owned or not), from the read stage.
    pub records: &'a [RecordInfo],
    /// The run's encoder (embedding and likelihood effects), if any.
    pub encoder: Option<&'a Encoder>,
    /// The run's motifs (motif effects), if any.
    pub motifs: Option<&'a MotifSet>,
}

impl VariantStage<'_> {
    /// Scores `vcf` and commits the outputs; returns their manifest entries, the
    /// stage's timing and what it did.
    pub fn run(
        &self,
        vcf: &Path,
    ) -> Result<(Vec<FileEntry>, StageTiming, VariantSummary), WorkflowError> {
        let (t0, cpu) = (Instant::now(), CpuClock::pool());
        let index: HashMap<&str, u64> = self
            .records
            .iter()
            .rev()
            .map(|r| (r.name.as_str(), r.index))
            .collect();
        let sharding = self.sharding;
        let owns = move |chrom: &str, pos: u64| match index.get(chrom) {
            Some(&record) => sharding.owns(record, pos),
            None => sharding.shard.index == 1,
        };
        let c = self.config;
        let stream = match self.encoder {
            Some(e) => StreamOptions {
                chunk_tokens: c.model.chunk_tokens,
                overlap: c.model.overlap,
                ..StreamOptions::for_encoder(e)
            },
            None => StreamOptions::default(),
        };
        let job = VariantJob {
            references: c.inputs.clone(),
            vcf: vcf.to_path_buf(),
            regions: c.regions.restrict()?,
            prefix: self.outdir.join(layout::VARIANTS_PREFIX),
            motifs: self.motifs,
            thresh: c.variants.thresh,
            encoder: self.encoder,
            window: c.variants.window,
            stream,
            skip_ref_mismatch: c.variants.skip_ref_mismatch,
            owns: Some(&owns),
            rows: Some(self.outdir.join(layout::VARIANTS_ROWS)),
        };
        let summary = score_variants(&job, &mut |_| {})?;
        let timing = stages::timing("variants", t0, Duration::ZERO, 0, cpu.elapsed());
        Ok((entries(self.outdir)?, timing, summary))
    }
}

/// One line of a rows table: a record's place in the input and its rows.
struct RowsEntry {
    ordinal: u64,
    variants: u64,
    motifs: u64,
}

/// One shard's variants outputs, read in step.
struct ShardRows {
    dir: PathBuf,
    table: Lines<BufReader<File>>,
    variants: Lines<BufReader<File>>,
    motifs: Lines<BufReader<File>>,
    vcf: VcfReader,
    next: Option<RowsEntry>,
}

fn merr(m: String) -> WorkflowError {
    WorkflowError::Merge(m)
}

/// Opens `dir/name` as lines.
fn lines(dir: &Path, name: &str) -> Result<Lines<BufReader<File>>, WorkflowError> {
    let p = dir.join(name);
    let f = File::open(&p).map_err(|e| merr(format!("{}: cannot open: {e}", p.display())))?;
    Ok(BufReader::new(f).lines())
}

/// The next line of `dir/name` (an error at the end: the shard's files disagree).
fn next_line(
    it: &mut Lines<BufReader<File>>,
    dir: &Path,
    name: &str,
) -> Result<String, WorkflowError> {
    match it.next() {
        Some(Ok(l)) => Ok(l),
        Some(Err(e)) => Err(merr(format!("{}: {e}", dir.join(name).display()))),
        None => Err(merr(format!(
            "{}: fewer rows than {} lists",
            dir.join(name).display(),
            layout::VARIANTS_ROWS
        ))),
    }
}

impl ShardRows {
    fn open(dir: &Path) -> Result<ShardRows, WorkflowError> {
        let vcf_path = dir.join(layout::VARIANTS_VCF);
        let vcf =
            VcfReader::open(&vcf_path).map_err(|e| merr(format!("{}: {e}", vcf_path.display())))?;
        let mut s = ShardRows {
            dir: dir.to_path_buf(),
            table: lines(dir, layout::VARIANTS_ROWS)?,
            variants: lines(dir, layout::VARIANTS_TSV)?,
            motifs: lines(dir, layout::VARIANTS_MOTIFS)?,
            vcf,
            next: None,
        };
        s.advance()?;
        Ok(s)
    }

    /// Reads the next line of the rows table.
    fn advance(&mut self) -> Result<(), WorkflowError> {
        let path = self.dir.join(layout::VARIANTS_ROWS);
        self.next = match self.table.next() {
            None => None,
            Some(line) => {
                let line = line.map_err(|e| merr(format!("{}: {e}", path.display())))?;
                let f: Vec<Option<u64>> = line.split('\t').map(|v| v.parse().ok()).collect();
                match f[..] {
                    [Some(ordinal), Some(variants), Some(motifs)] => Some(RowsEntry {
                        ordinal,
                        variants,
                        motifs,
                    }),
                    _ => return Err(merr(format!("{}: bad line `{line}`", path.display()))),
                }
            }
        };
        Ok(())
    }
}

/// Gathers the shards' variants outputs into `outdir` in the input's order (the order
/// one run writes); returns their manifest entries.
pub fn merge_variants(dirs: &[&Path], outdir: &Path) -> Result<Vec<FileEntry>, WorkflowError> {
    let mut shards = dirs
        .iter()
        .map(|d| ShardRows::open(d))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(first) = shards.first_mut() else {
        return Ok(Vec::new());
    };
    let vcf_err = |e: VariantError| merr(format!("{}: {e}", outdir.display()));
    let header = first.vcf.header().clone();
    let variants_header = next_line(&mut first.variants, &first.dir, layout::VARIANTS_TSV)?;
    let motifs_header = next_line(&mut first.motifs, &first.dir, layout::VARIANTS_MOTIFS)?;
    for s in shards.iter_mut().skip(1) {
        next_line(&mut s.variants, &s.dir, layout::VARIANTS_TSV)?;
        next_line(&mut s.motifs, &s.dir, layout::VARIANTS_MOTIFS)?;
    }
    let mut vcf = VcfWriter::create(&outdir.join(layout::VARIANTS_VCF), &header, &INFO_FIELDS)
        .map_err(vcf_err)?;
    let mut files: Vec<(AtomicFile, &str)> = Vec::new();
    for name in [
        layout::VARIANTS_MOTIFS,
        layout::VARIANTS_TSV,
        layout::VARIANTS_ROWS,
    ] {
        files.push((AtomicFile::create(&outdir.join(name))?, name));
    }
    {
        let [motifs_f, variants_f, rows_f] = &mut files[..] else {
            return Err(merr("three files expected".into()));
        };
        let (mut motifs_w, mut variants_w, mut rows_w) = (
            motifs_f.0.writer(),
            variants_f.0.writer(),
            rows_f.0.writer(),
        );
        let w_err = |name: &str, e| WorkflowError::output(&outdir.join(name), e);
        writeln!(motifs_w, "{motifs_header}").map_err(|e| w_err(layout::VARIANTS_MOTIFS, e))?;
        writeln!(variants_w, "{variants_header}").map_err(|e| w_err(layout::VARIANTS_TSV, e))?;
        let mut record = RecordBuf::default();
        let mut last: Option<u64> = None;
        while let Some(s) = shards
            .iter_mut()
            .filter(|s| s.next.is_some())
            .min_by_key(|s| s.next.as_ref().map(|e| e.ordinal))
        {
            let Some(entry) = s.next.take() else { break };
            if last.is_some_and(|l| l >= entry.ordinal) {
                return Err(merr(format!(
                    "{}: record {} is listed twice or out of order",
                    s.dir.join(layout::VARIANTS_ROWS).display(),
                    entry.ordinal
                )));
            }
            last = Some(entry.ordinal);
            for _ in 0..entry.variants {
                let l = next_line(&mut s.variants, &s.dir, layout::VARIANTS_TSV)?;
                writeln!(variants_w, "{l}").map_err(|e| w_err(layout::VARIANTS_TSV, e))?;
            }
            for _ in 0..entry.motifs {
                let l = next_line(&mut s.motifs, &s.dir, layout::VARIANTS_MOTIFS)?;
                writeln!(motifs_w, "{l}").map_err(|e| w_err(layout::VARIANTS_MOTIFS, e))?;
            }
            let vcf_path = s.dir.join(layout::VARIANTS_VCF);
            s.vcf
                .read(&mut record)
                .map_err(|e| merr(format!("{}: {e}", vcf_path.display())))?
                .ok_or_else(|| {
                    merr(format!(
                        "{}: fewer records than {} lists",
                        vcf_path.display(),
                        layout::VARIANTS_ROWS
                    ))
                })?;
            vcf.write(&record).map_err(vcf_err)?;
            writeln!(
                rows_w,
                "{}\t{}\t{}",
                entry.ordinal, entry.variants, entry.motifs
            )
            .map_err(|e| w_err(layout::VARIANTS_ROWS, e))?;
            s.advance()?;
        }
        for (w, name) in [
            (&mut motifs_w, layout::VARIANTS_MOTIFS),
            (&mut variants_w, layout::VARIANTS_TSV),
            (&mut rows_w, layout::VARIANTS_ROWS),
        ] {
            w.flush().map_err(|e| w_err(name, e))?;
        }
    }
    for s in &mut shards {
        let extra = s.variants.next().is_some() || s.motifs.next().is_some();
        let extra_record = s
            .vcf
            .read(&mut RecordBuf::default())
            .map_err(|e| merr(format!("{}: {e}", s.dir.display())))?
            .is_some();
        if extra || extra_record {
            return Err(merr(format!(
                "{}: more variant rows than {} lists",
                s.dir.display(),
                layout::VARIANTS_ROWS
            )));
        }
    }
    vcf.finish().map_err(vcf_err)?;
    for (f, _) in files {
        f.commit()?;
    }
    entries(outdir)
}
