//! `glance score` as a library call: region motif scores of whole input files, for
//! fixed bins or listed (BED) regions, written as PREFIX.tsv (long format, the columns of
//! motif_scores.tsv), PREFIX.npy (f32 `[regions, motifs, 2]`: affinity and occupancy,
//! C order) and
//! PREFIX.bed (the regions in the .npy's row order, as `glance embed` writes them); with
//! [`ScoreTracks`], genome-browser tracks of the region affinity of chosen motifs too
//! (`PREFIX.affinity.ID.bw` / `.bedGraph`).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use glance_io::{
    npy, with_suffix, write_bedgraph, write_bigwig, AtomicFile, Finished, Track, TrackInterval,
};
use glance_motif::region::{RegionRef, RegionScore, RegionTables};
use glance_motif::scan::prep::Prepared;
use glance_motif::Scanner;
use glance_seq::{bins, region_name, Record, Region};
use rayon::prelude::*;

use crate::error::WorkflowError;
use crate::input::Input;
use crate::layout::{push_score_line, score_channels, SCORES_HEADER, SCORE_CHANNELS};

/// Regions scored per call of `Scanner::score_regions` (motif by motif): their
/// prepared bases (a few hundred kb for 1 kb bins) stay in the L2 cache.
const BATCH: usize = 256;

/// Regions formatted per parallel task when writing the TSV.
const WRITE_BLOCK: usize = 64;

/// Which regions to score.
#[derive(Debug, Clone)]
pub enum ScoreRegions {
    /// Bins of `size` bp every `step` bp along every record (see `glance_seq::bins`).
    Bins {
        /// Bin size in bp.
        size: u64,
        /// Distance between bin starts in bp.
        step: u64,
    },
    /// Listed regions (e.g. from BED), scored and written in list order; a region on a
    /// sequence absent from the inputs gets `NA` scores.
    List(Vec<Region>),
}

/// One scored region: where it is and its score for every motif of the scanner.
#[derive(Debug, Clone)]
pub struct ScoredRegion {
    /// Sequence name.
    pub chrom: String,
    /// 0-based start.
    pub start: u64,
    /// 0-based end (exclusive).
    pub end: u64,
    /// The BED name column (`chrom:start+1-end`).
    pub name: String,
    /// One score per motif, in the scanner's order.
    pub scores: Vec<RegionScore>,
}

impl ScoredRegion {
    /// The region's values as PREFIX.npy holds them: for each motif, its affinity and
    /// occupancy (f32).
    pub fn values(&self) -> impl Iterator<Item = f32> + '_ {
        self.scores.iter().flat_map(score_channels)
    }

    fn new(chrom: &str, start: u64, end: u64) -> ScoredRegion {
        ScoredRegion {
            chrom: chrom.to_string(),
            start,
            end,
            name: region_name(chrom, start, end),
            scores: Vec::new(),
        }
    }
}

/// Scores `regions` of every record of `inputs` with `scanner`
/// and `tables`; rows come in record order for bins, in list order for a list.
pub fn score_inputs(
    scanner: &Scanner,
    tables: &RegionTables,
    inputs: &[Input],
    regions: &ScoreRegions,
) -> Result<Vec<ScoredRegion>, WorkflowError> {
    if let ScoreRegions::Bins { size, step } = regions {
        if *size == 0 || *step == 0 {
            return Err(WorkflowError::Config(
                "--bin and --step must be at least 1".into(),
            ));
        }
    }
    let list: &[Region] = match regions {
        ScoreRegions::List(list) => list,
        ScoreRegions::Bins { .. } => &[],
    };
    let mut by_chrom: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, r) in list.iter().enumerate() {
        by_chrom.entry(r.name.as_str()).or_default().push(i);
    }
    let mut listed: Vec<Option<ScoredRegion>> = vec![None; list.len()];
    let mut binned = Vec::new();
    let mut record = Record::default();
    let mut prep = Prepared::default();
    for input in inputs {
        let label = |e: glance_seq::SeqError| WorkflowError::Input {
            path: input.to_string(),
            error: Box::new(e),
        };
        let mut reader = input.open()?;
        while reader.read_record(&mut record).map_err(label)? {
            let len = record.sequence.len() as u64;
            let (slots, mut rows): (Vec<Option<usize>>, Vec<ScoredRegion>) = match regions {
                ScoreRegions::List(list) => by_chrom
                    .get(record.name.as_str())
                    .map(|idx| {
                        idx.iter()
                            .map(|&i| {
                                let r = &list[i];
                                let end = r.end.unwrap_or(r.start);
                                (Some(i), ScoredRegion::new(&r.name, r.start, end))
                            })
                            .unzip()
                    })
                    .unwrap_or_default(),
                ScoreRegions::Bins { size, step } => bins(len, *size, *step)
                    .map(|(s, e)| (None, ScoredRegion::new(&record.name, s, e)))
                    .unzip(),
            };
            if rows.is_empty() {
                continue;
            }
            scanner.prepare(&record.sequence, &mut prep);
            score_record(scanner, tables, &prep, record.offset, &mut rows);
            for (slot, row) in slots.into_iter().zip(rows) {
                match slot {
                    Some(i) => listed[i] = Some(row),
                    None => binned.push(row),
                }
            }
        }
    }
    if list.is_empty() {
        return Ok(binned);
    }
    Ok(listed
        .into_iter()
        .zip(list)
        .map(|(done, r)| {
            done.unwrap_or_else(|| {
                // a region on a sequence absent from the input: nothing scoreable
                let mut row = ScoredRegion::new(&r.name, r.start, r.end.unwrap_or(r.start));
                row.scores = vec![RegionScore::EMPTY; scanner.motifs().len()];
                row
            })
        })
        .collect())
}

/// Fills the scores of `rows`, regions of one record prepared in `prep` (whose first
/// base is at `prep_offset`), a batch of regions at a time.
fn score_record(
    scanner: &Scanner,
    tables: &RegionTables,
    prep: &Prepared,
    prep_offset: u64,
    rows: &mut [ScoredRegion],
) {
    let m = scanner.motifs().len();
    if m == 0 {
        return;
    }
    for batch in rows.chunks_mut(BATCH) {
        let refs: Vec<RegionRef> = batch
            .iter()
            .map(|r| RegionRef {
                prep,
                prep_offset,
                start: r.start,
                end: r.end,
            })
            .collect();
        let scores = scanner.score_regions(tables, &refs);
        for (row, s) in batch.iter_mut().zip(scores.chunks(m)) {
            row.scores = s.to_vec();
        }
    }
}

/// Which tracks `glance score` writes besides its tables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScoreTracks {
    /// bigWig files (`PREFIX.affinity.ID.bw`).
    pub bigwig: bool,
    /// bedGraph files (`PREFIX.affinity.ID.bedGraph`).
    pub bedgraph: bool,
    /// Motif ids given a track (empty: the 10 with the most windows at the threshold,
    /// summed over the regions).
    pub motifs: Vec<String>,
    /// Each region's value covers its first `step` bases (bins that overlap); `None`
    /// for listed regions, which must not overlap.
    pub step: Option<u64>,
}

/// The tracks of `tracks` over scored `rows`, each in a temporary file (see
/// [`ScoreTracks`]). Sequence lengths in the bigWig header are the furthest region end
/// on each sequence.
fn score_tracks(
    prefix: &Path,
    scanner: &Scanner,
    rows: &[ScoredRegion],
    tracks: &ScoreTracks,
) -> Result<Vec<Finished>, WorkflowError> {
    if !(tracks.bigwig || tracks.bedgraph) {
        return Ok(Vec::new());
    }
    let motifs = crate::tracks::motif_ids(scanner);
    let mut hits = vec![0u64; motifs.len()];
    for r in rows {
        for (h, s) in hits.iter_mut().zip(&r.scores) {
            *h += u64::from(s.hits);
        }
    }
    let chosen = crate::tracks::choose_motifs(&tracks.motifs, &motifs, Some(&hits))?;
    // sequences in order of first appearance; regions sorted along them
    let mut chroms: Vec<(String, u64)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for r in rows {
        let i = *index.entry(r.chrom.as_str()).or_insert_with(|| {
            chroms.push((r.chrom.clone(), 0));
            chroms.len() - 1
        });
        chroms[i].1 = chroms[i].1.max(r.end);
    }
    let mut order: Vec<usize> = (0..rows.len())
        .filter(|&i| rows[i].end > rows[i].start)
        .collect();
    order.sort_by_key(|&i| (index[rows[i].chrom.as_str()], rows[i].start));
    let mut files = Vec::new();
    for m in chosen {
        let intervals = order
            .iter()
            .map(|&i| {
                let r = &rows[i];
                TrackInterval {
                    chrom: index[r.chrom.as_str()],
                    start: r.start,
                    end: tracks.step.map_or(r.end, |s| r.end.min(r.start + s)),
                    value: r.scores.get(m).map_or(f32::NAN, |s| s.affinity as f32),
                }
            })
            .collect();
        let track = Track {
            chroms: chroms.clone(),
            intervals,
        };
        let stem = format!("affinity.{}", crate::tracks::file_safe(&motifs[m].0));
        for (on, ext) in [(tracks.bigwig, "bw"), (tracks.bedgraph, "bedGraph")] {
            if !on {
                continue;
            }
            let path = with_suffix(prefix, &format!("{stem}.{ext}"));
            let label = path.display().to_string();
            files.push(if ext == "bw" {
                write_bigwig(&path, &label, &track)?
            } else {
                write_bedgraph(&path, &label, &stem, &track)?
            });
        }
    }
    Ok(files)
}

/// Writes PREFIX.tsv, PREFIX.npy and PREFIX.bed (see the module docs), and the tracks
/// of `tracks`, atomically: they appear only once all are complete. Returns the paths
/// of the tracks.
pub fn write_score_outputs(
    prefix: &Path,
    scanner: &Scanner,
    rows: &[ScoredRegion],
    tracks: &ScoreTracks,
) -> Result<Vec<PathBuf>, WorkflowError> {
    let [tsv_path, npy_path, bed_path] = ["tsv", "npy", "bed"].map(|ext| with_suffix(prefix, ext));
    let mut tsv = AtomicFile::create(&tsv_path)?;
    let mut npy = AtomicFile::create(&npy_path)?;
    let mut bed = AtomicFile::create(&bed_path)?;
    {
        let mut w = tsv.writer();
        let err = |e| WorkflowError::output(&tsv_path, e);
        writeln!(w, "{SCORES_HEADER}").map_err(err)?;
        // Blocks of regions formatted in parallel, written in order.
        for block in rows.chunks(WRITE_BLOCK * rayon::current_num_threads().max(1)) {
            let texts: Vec<String> = block
                .par_chunks(WRITE_BLOCK)
                .map(|part| {
                    let mut text = String::with_capacity(part.len() * scanner.motifs().len() * 96);
                    for r in part {
                        for (m, s) in scanner.motifs().iter().zip(&r.scores) {
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
        let err = |e| WorkflowError::output(&npy_path, e);
        let shape = [scanner.motifs().len(), SCORE_CHANNELS.len()];
        w.write_all(&npy::header("<f4", rows.len() as u64, &shape))
            .map_err(err)?;
        for r in rows {
            for v in r.values() {
                w.write_all(&v.to_le_bytes()).map_err(err)?;
            }
        }
        w.flush().map_err(err)?;
    }
    {
        let mut w = bed.writer();
        let err = |e| WorkflowError::output(&bed_path, e);
        for (i, r) in rows.iter().enumerate() {
            writeln!(w, "{}\t{}\t{}\t{}\t{i}", r.chrom, r.start, r.end, r.name).map_err(err)?;
        }
        w.flush().map_err(err)?;
    }
    let tracks = score_tracks(prefix, scanner, rows, tracks)?;
    tsv.commit()?;
    npy.commit()?;
    bed.commit()?;
    tracks
        .into_iter()
        .map(|f| {
            let path = f.path().to_path_buf();
            f.commit()?;
            Ok(path)
        })
        .collect()
}
