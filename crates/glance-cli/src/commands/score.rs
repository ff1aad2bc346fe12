//! `glance score`: region motif scores. For every region (fixed bins or BED regions) and
//! motif: best FIMO score and p-value, windows at the threshold, and the attention-pooled
//! affinity `tau * ln(sum exp(s / tau))` with its weighted mean position. Writes
//! PREFIX.tsv (long format), PREFIX.npy (f32 `[regions, motifs]` affinities, C order) and
//! PREFIX.bed (regions in the .npy's row order, as `glance embed` writes them).

use anyhow::{bail, Context};
use clap::Args;
use rayon::prelude::*;
use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::path::PathBuf;

use glance::motif::region::{RegionRef, RegionScore, RegionTables};
use glance::motif::scan::prep::Prepared;
use glance::motif::Scanner;
use glance::seq::{read_bed, Record};

use super::motif_args::MotifArgs;
use super::scan::open_input;
use super::with_suffix;
use crate::global::GlobalArgs;
use glance::workflow::atomic::AtomicFile;
use glance::workflow::layout::{push_score_line, SCORES_HEADER};
use glance::workflow::npy;

/// Regions scored per call of `Scanner::score_regions` (motif by motif): their
/// prepared bases (a few hundred kb for 1 kb bins) stay in the L2 cache.
const BATCH: usize = 256;

/// Regions formatted per parallel task when writing the TSV.
const WRITE_BLOCK: usize = 64;

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

/// One region to score.
#[derive(Debug, Clone)]
struct Region {
    chrom: String,
    start: u64,
    end: u64,
    name: String,
}

/// Runs `glance score`.
pub fn run(args: &ScoreArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    if !(args.tau > 0.0 && args.tau.is_finite()) {
        bail!("--tau must be a positive number, got {}", args.tau);
    }
    let (scanner, _) = args.motif.scanner(args.thresh, true)?;
    let tables = RegionTables::new(&scanner, args.tau);
    let bed_regions: Option<Vec<Region>> = match &args.regions {
        Some(p) => {
            let f =
                std::fs::File::open(p).with_context(|| format!("{}: cannot open", p.display()))?;
            let regions = read_bed(BufReader::new(f)).with_context(|| p.display().to_string())?;
            Some(
                regions
                    .into_iter()
                    .map(|r| {
                        let end = r.end.unwrap_or(r.start);
                        Region {
                            name: format!("{}:{}-{}", r.name, r.start + 1, end),
                            chrom: r.name,
                            start: r.start,
                            end,
                        }
                    })
                    .collect(),
            )
        }
        None => None,
    };
    let bin = args.bin.unwrap_or(1000);
    let step = args.step.unwrap_or(bin);
    if bin == 0 || step == 0 {
        bail!("--bin and --step must be at least 1");
    }
    // results[region] = scores per motif, with the region
    let mut done: Vec<Option<(Region, Vec<RegionScore>)>> = match &bed_regions {
        Some(r) => vec![None; r.len()],
        None => Vec::new(),
    };
    let mut by_chrom: HashMap<&str, Vec<usize>> = HashMap::new();
    if let Some(rs) = &bed_regions {
        for (i, r) in rs.iter().enumerate() {
            by_chrom.entry(r.chrom.as_str()).or_default().push(i);
        }
    }
    let mut record = Record::default();
    let mut prep = Prepared::default();
    for input in &args.inputs {
        let mut reader = open_input(input)?;
        while reader
            .read_record(&mut record)
            .with_context(|| input.display().to_string())?
        {
            let len = record.sequence.len() as u64;
            let regions: Vec<(Option<usize>, Region)> = match &bed_regions {
                Some(rs) => by_chrom
                    .get(record.name.as_str())
                    .map(|idx| idx.iter().map(|&i| (Some(i), rs[i].clone())).collect())
                    .unwrap_or_default(),
                None => (0..)
                    .map(|k| k * step)
                    .take_while(|&s| s < len)
                    .map(|s| {
                        let e = s.saturating_add(bin).min(len);
                        (
                            None,
                            Region {
                                chrom: record.name.clone(),
                                start: s,
                                end: e,
                                name: format!("{}:{}-{}", record.name, s + 1, e),
                            },
                        )
                    })
                    .collect(),
            };
            if regions.is_empty() {
                continue;
            }
            scanner.prepare(&record.sequence, &mut prep);
            let m = scanner.motifs().len();
            let mut scored: Vec<Vec<RegionScore>> = Vec::with_capacity(regions.len());
            for batch in regions.chunks(BATCH) {
                if m == 0 {
                    scored.extend(batch.iter().map(|_| Vec::new()));
                    continue;
                }
                let refs: Vec<RegionRef> = batch
                    .iter()
                    .map(|(_, r)| RegionRef {
                        prep: &prep,
                        prep_offset: record.offset,
                        start: r.start,
                        end: r.end,
                    })
                    .collect();
                let scores = scanner.score_regions(&tables, &refs);
                scored.extend(scores.chunks(m).map(<[RegionScore]>::to_vec));
            }
            for ((slot, r), s) in regions.into_iter().zip(scored) {
                match slot {
                    Some(i) => done[i] = Some((r, s)),
                    None => done.push(Some((r, s))),
                }
            }
        }
    }
    let rows: Vec<(Region, Vec<RegionScore>)> = match &bed_regions {
        Some(rs) => done
            .into_iter()
            .zip(rs)
            .map(|(d, r)| {
                d.unwrap_or_else(|| {
                    // region on a sequence absent from the input: nothing scoreable
                    let empty = RegionScore {
                        best_score: f64::NAN,
                        best_pvalue: f64::NAN,
                        hits: 0,
                        affinity: f64::NAN,
                        position: f64::NAN,
                    };
                    (r.clone(), vec![empty; scanner.motifs().len()])
                })
            })
            .collect(),
        None => done.into_iter().flatten().collect(),
    };
    write_outputs(args, &scanner, &rows)?;
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

fn write_outputs(
    args: &ScoreArgs,
    scanner: &Scanner,
    rows: &[(Region, Vec<RegionScore>)],
) -> anyhow::Result<()> {
    let tsv_path = with_suffix(&args.output, "tsv");
    let npy_path = with_suffix(&args.output, "npy");
    let bed_path = with_suffix(&args.output, "bed");
    let mut tsv = AtomicFile::create(&tsv_path)?;
    let mut npy = AtomicFile::create(&npy_path)?;
    let mut bed = AtomicFile::create(&bed_path)?;
    {
        let mut w = tsv.writer();
        let err = |e: std::io::Error| anyhow::anyhow!("{}: cannot write: {e}", tsv_path.display());
        writeln!(w, "{SCORES_HEADER}").map_err(err)?;
        // Blocks of regions formatted in parallel, written in order.
        for block in rows.chunks(WRITE_BLOCK * rayon::current_num_threads().max(1)) {
            let texts: Vec<String> = block
                .par_chunks(WRITE_BLOCK)
                .map(|part| {
                    let mut text = String::with_capacity(part.len() * scanner.motifs().len() * 96);
                    for (r, scores) in part {
                        for (m, s) in scanner.motifs().iter().zip(scores) {
                            push_score_line(
                                &mut text,
                                &r.chrom,
                                r.start,
                                r.end,
                                &m.motif.id,
                                &m.motif.alt_id,
                                s,
                            );
                        }
                    }
                    text
                })
                .collect();
            for t in &texts {
                w.write_all(t.as_bytes()).map_err(err)?;
            }
        }
        w.flush().map_err(err)?;
    }
    {
        let mut w = npy.writer();
        let err = |e: std::io::Error| anyhow::anyhow!("{}: cannot write: {e}", npy_path.display());
        w.write_all(&npy::header(
            "<f4",
            rows.len() as u64,
            &[scanner.motifs().len()],
        ))
        .map_err(err)?;
        for (_, scores) in rows {
            for s in scores {
                w.write_all(&(s.affinity as f32).to_le_bytes())
                    .map_err(err)?;
            }
        }
        w.flush().map_err(err)?;
    }
    {
        let mut w = bed.writer();
        let err = |e: std::io::Error| anyhow::anyhow!("{}: cannot write: {e}", bed_path.display());
        for (i, (r, _)) in rows.iter().enumerate() {
            writeln!(w, "{}\t{}\t{}\t{}\t{i}", r.chrom, r.start, r.end, r.name).map_err(err)?;
        }
        w.flush().map_err(err)?;
    }
    tsv.commit()?;
    npy.commit()?;
    bed.commit()?;
    Ok(())
}
