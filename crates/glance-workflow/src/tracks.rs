//! Genome-browser tracks of a complete output directory (`glance run --tracks` /
//! `--bedgraph`, and `glance merge` of such runs): in `tracks/`, for each chosen motif
//! the region affinity (`affinity.ID.bw`), and the first [`PCS`] principal components
//! of the region embeddings (`embedding.PC1.bw`, ...), as bigWig and/or bedGraph.
//!
//! They are made from the directory's own tables ([`RunTables`]: records.tsv,
//! regions.bed, motif_scores.npy, embeddings.npy, hits.tsv), never from a stage's
//! memory, so a merged directory gets byte for byte the tracks of one unsharded run
//! (shards themselves write none). Each bin's value covers its first `step` bases (the
//! whole bin when bins do not overlap), so intervals never overlap.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use glance_io::{write_bedgraph, write_bigwig, Finished, NpyInfo, Track, TrackInterval};

use crate::config::Config;
use crate::error::WorkflowError;
use crate::layout::{self, read_records, RecordInfo};
use crate::pca::{Pca, PcaAccumulator};

/// The tracks' subdirectory of an output directory.
pub const TRACKS_DIR: &str = "tracks";

/// Principal components of the embeddings written as tracks (and drawn in the report).
pub const PCS: usize = 3;

/// Motifs given tracks when none are chosen: this many with the most hits.
pub const DEFAULT_TRACK_MOTIFS: usize = 10;

/// One row of regions.bed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionRow {
    /// Index of the record in [`RunTables::records`].
    pub record: usize,
    /// 0-based start.
    pub start: u64,
    /// 0-based end (exclusive).
    pub end: u64,
}

/// What the tracks and the report show of a complete output directory.
#[derive(Debug, Clone)]
pub struct RunTables {
    /// Every record of the input.
    pub records: Vec<RecordInfo>,
    /// The regions (rows of the .npy outputs).
    pub regions: Vec<RegionRow>,
    /// Motif ids and alternative names, in the scanner's order.
    pub motifs: Vec<(String, String)>,
    /// Hits per motif (from hits.tsv), if it was written.
    pub hit_counts: Option<Vec<u64>>,
    /// Hits per region (by the region holding the hit's first base), if hits.tsv was
    /// written.
    pub region_hits: Option<Vec<u32>>,
    /// The chosen motifs (indices into [`Self::motifs`]).
    pub chosen: Vec<usize>,
    /// The region affinity of each chosen motif (`[chosen][region]`), if
    /// motif_scores.npy was written.
    pub affinity: Option<Vec<Vec<f32>>>,
    /// The embeddings' principal components and each region's coordinates on them
    /// (`[region][component]`), if embeddings.npy was written.
    pub pca: Option<(Pca, Vec<Vec<f32>>)>,
}

fn merr(path: &Path, m: impl std::fmt::Display) -> WorkflowError {
    WorkflowError::Merge(format!("{}: {m}", path.display()))
}

impl RunTables {
    /// Reads the tables of the complete output directory `outdir` of a run with
    /// `config` whose motifs are `motifs` (id, alternative name) in the scanner's order.
    pub fn load(
        outdir: &Path,
        config: &Config,
        motifs: Vec<(String, String)>,
    ) -> Result<RunTables, WorkflowError> {
        let records = read_records(&outdir.join(layout::RECORDS))?;
        let regions = read_regions(&outdir.join(layout::REGIONS), &records)?;
        let step = config.regions.step();
        let hits_path = outdir.join(layout::HITS);
        let (hit_counts, region_hits) = if hits_path.is_file() {
            let (h, r) = count_hits(&hits_path, &motifs, &records, &regions, step)?;
            (Some(h), Some(r))
        } else {
            (None, None)
        };
        let scores_path = outdir.join(layout::MOTIF_SCORES_NPY);
        let have_scores = scores_path.is_file();
        let chosen = choose_motifs(&config.outputs.track_motifs, &motifs, hit_counts.as_deref())?;
        let affinity = if have_scores {
            Some(read_affinity(
                &scores_path,
                regions.len(),
                motifs.len(),
                &chosen,
            )?)
        } else {
            None
        };
        let emb_path = outdir.join(layout::EMBEDDINGS);
        let pca = if emb_path.is_file() {
            Some(embedding_pca(&emb_path, regions.len())?)
        } else {
            None
        };
        Ok(RunTables {
            records,
            regions,
            motifs,
            hit_counts,
            region_hits,
            chosen,
            affinity,
            pca,
        })
    }

    /// A track of one value per region.
    fn track(&self, step: u64, value: impl Fn(usize) -> f32) -> Track {
        Track {
            chroms: self
                .records
                .iter()
                .map(|r| (r.name.clone(), r.length))
                .collect(),
            intervals: self
                .regions
                .iter()
                .enumerate()
                .map(|(i, r)| TrackInterval {
                    chrom: r.record,
                    start: r.start,
                    end: r.end.min(r.start + step),
                    value: value(i),
                })
                .collect(),
        }
    }

    /// Writes the tracks `config.outputs` asks for into `outdir/tracks/`, synced and
    /// measured but not renamed into place (commit them in order).
    pub fn write_tracks(
        &self,
        outdir: &Path,
        config: &Config,
    ) -> Result<Vec<Finished>, WorkflowError> {
        let o = &config.outputs;
        let mut files = Vec::new();
        if !(o.tracks || o.bedgraph) {
            return Ok(files);
        }
        let dir = outdir.join(TRACKS_DIR);
        std::fs::create_dir_all(&dir).map_err(|e| WorkflowError::output(&dir, e))?;
        let step = config.regions.step();
        let mut write = |stem: String, track: Track| -> Result<(), WorkflowError> {
            for (on, ext) in [(o.tracks, "bw"), (o.bedgraph, "bedGraph")] {
                if !on {
                    continue;
                }
                let name = format!("{TRACKS_DIR}/{stem}.{ext}");
                let path = outdir.join(&name);
                files.push(if ext == "bw" {
                    write_bigwig(&path, &name, &track)?
                } else {
                    write_bedgraph(&path, &name, &stem, &track)?
                });
            }
            Ok(())
        };
        if let Some(affinity) = &self.affinity {
            for (values, &m) in affinity.iter().zip(&self.chosen) {
                let stem = format!("affinity.{}", file_safe(&self.motifs[m].0));
                write(stem, self.track(step, |i| values[i]))?;
            }
        }
        if let Some((_, coords)) = &self.pca {
            let pcs = coords.first().map_or(0, Vec::len);
            for c in 0..pcs {
                let values: Vec<f32> = coords.iter().map(|row| row[c]).collect();
                write(
                    format!("embedding.PC{}", c + 1),
                    self.track(step, |i| values[i]),
                )?;
            }
        }
        Ok(files)
    }
}

/// The ids and alternative names of `scanner`'s motifs, in its order.
pub(crate) fn motif_ids(scanner: &glance_motif::Scanner) -> Vec<(String, String)> {
    scanner
        .motifs()
        .iter()
        .map(|m| (m.motif.id.clone(), m.motif.alt_id.clone()))
        .collect()
}

/// Checks that every motif id in `wanted` is one of `motifs` (before a run starts).
pub(crate) fn check_motifs(
    wanted: &[String],
    motifs: &[(String, String)],
) -> Result<(), WorkflowError> {
    choose_motifs(wanted, motifs, None).map(drop)
}

/// `id` with every character but ASCII letters, digits, `.`, `-` and `_` replaced by `_`.
pub(crate) fn file_safe(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The motifs named in `wanted` (by id), or the [`DEFAULT_TRACK_MOTIFS`] with the most
/// hits (ties: file order; without hit counts, the first ones of the file). An unknown
/// id is an error naming it.
pub(crate) fn choose_motifs(
    wanted: &[String],
    motifs: &[(String, String)],
    hits: Option<&[u64]>,
) -> Result<Vec<usize>, WorkflowError> {
    if !wanted.is_empty() {
        let index: HashMap<&str, usize> = motifs
            .iter()
            .enumerate()
            .map(|(i, (id, _))| (id.as_str(), i))
            .collect();
        return wanted
            .iter()
            .map(|w| {
                index.get(w.as_str()).copied().ok_or_else(|| {
                    WorkflowError::Config(format!(
                        "outputs.track_motifs: no motif `{w}` in the motif set"
                    ))
                })
            })
            .collect();
    }
    let mut order: Vec<usize> = (0..motifs.len()).collect();
    if let Some(h) = hits {
        order.sort_by(|&a, &b| h[b].cmp(&h[a]).then(a.cmp(&b)));
    }
    order.truncate(DEFAULT_TRACK_MOTIFS);
    Ok(order)
}

/// Reads regions.bed (chrom, start, end, ...), naming records by index.
fn read_regions(path: &Path, records: &[RecordInfo]) -> Result<Vec<RegionRow>, WorkflowError> {
    let index: HashMap<&str, usize> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (r.name.as_str(), i))
        .collect();
    let f = File::open(path).map_err(|e| merr(path, e))?;
    let mut out = Vec::new();
    for (n, line) in BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|e| merr(path, e))?;
        let mut f = line.split('\t');
        let bad = || merr(path, format!("line {}: not chrom, start, end", n + 1));
        let (Some(chrom), Some(start), Some(end)) = (f.next(), f.next(), f.next()) else {
            return Err(bad());
        };
        let record = *index
            .get(chrom)
            .ok_or_else(|| merr(path, format!("line {}: unknown record {chrom}", n + 1)))?;
        out.push(RegionRow {
            record,
            start: start.parse().map_err(|_| bad())?,
            end: end.parse().map_err(|_| bad())?,
        });
    }
    Ok(out)
}

/// Hits per motif and per region from hits.tsv (FIMO columns: motif_id first, then
/// motif_alt_id, sequence_name, start (1-based)).
fn count_hits(
    path: &Path,
    motifs: &[(String, String)],
    records: &[RecordInfo],
    regions: &[RegionRow],
    step: u64,
) -> Result<(Vec<u64>, Vec<u32>), WorkflowError> {
    let motif_index: HashMap<&str, usize> = motifs
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (id.as_str(), i))
        .collect();
    // the first region of each record (regions come in record order)
    let mut first_region: HashMap<&str, (usize, usize)> = HashMap::new();
    for (i, r) in regions.iter().enumerate() {
        let e = first_region
            .entry(records[r.record].name.as_str())
            .or_insert((i, 0));
        e.1 += 1;
    }
    let mut per_motif = vec![0u64; motifs.len()];
    let mut per_region = vec![0u32; regions.len()];
    let f = File::open(path).map_err(|e| merr(path, e))?;
    for (n, line) in BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|e| merr(path, e))?;
        if n == 0 || line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut f = line.split('\t');
        let (Some(id), _, Some(seq), Some(start)) = (f.next(), f.next(), f.next(), f.next()) else {
            return Err(merr(path, format!("line {}: too few columns", n + 1)));
        };
        let m = *motif_index
            .get(id)
            .ok_or_else(|| merr(path, format!("line {}: unknown motif {id}", n + 1)))?;
        per_motif[m] += 1;
        let start: u64 = start
            .parse()
            .map_err(|_| merr(path, format!("line {}: bad start", n + 1)))?;
        if let Some(&(first, count)) = first_region.get(seq) {
            let k = (start.saturating_sub(1) / step.max(1)) as usize;
            if k < count {
                per_region[first + k] += 1;
            }
        }
    }
    Ok((per_motif, per_region))
}

/// Opens an f32 .npy of `rows` rows of `width` values; returns a reader at its data.
fn open_npy(path: &Path, rows: usize, width: usize) -> Result<BufReader<File>, WorkflowError> {
    let info = NpyInfo::read(path)?;
    let got: usize = info.inner.iter().product();
    if info.rows != rows as u64 || got != width {
        return Err(merr(
            path,
            format!(
                "{} rows of {got} values, expected {rows} of {width}",
                info.rows
            ),
        ));
    }
    let mut f = File::open(path).map_err(|e| merr(path, e))?;
    f.seek(SeekFrom::Start(info.data_offset))
        .map_err(|e| merr(path, e))?;
    Ok(BufReader::with_capacity(1 << 20, f))
}

/// Reads the next row of `out.len()` f32 values.
fn read_row(r: &mut impl Read, buf: &mut Vec<u8>, out: &mut [f32]) -> std::io::Result<()> {
    buf.resize(out.len() * 4, 0);
    r.read_exact(buf)?;
    for (v, b) in out.iter_mut().zip(buf.chunks_exact(4)) {
        *v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
    Ok(())
}

/// The affinity channel of the `chosen` motifs, `[chosen][region]`.
fn read_affinity(
    path: &Path,
    regions: usize,
    motifs: usize,
    chosen: &[usize],
) -> Result<Vec<Vec<f32>>, WorkflowError> {
    let channels = layout::SCORE_CHANNELS.len();
    let mut r = open_npy(path, regions, motifs * channels)?;
    let mut out = vec![Vec::with_capacity(regions); chosen.len()];
    let (mut buf, mut row) = (Vec::new(), vec![0f32; motifs * channels]);
    for _ in 0..regions {
        read_row(&mut r, &mut buf, &mut row).map_err(|e| merr(path, e))?;
        for (o, &m) in out.iter_mut().zip(chosen) {
            o.push(row[m * channels]);
        }
    }
    Ok(out)
}

/// The first [`PCS`] principal components of embeddings.npy and every region's
/// coordinates on them (two passes over the file).
fn embedding_pca(path: &Path, regions: usize) -> Result<(Pca, Vec<Vec<f32>>), WorkflowError> {
    let d = NpyInfo::read(path)?.inner.iter().product();
    let (mut buf, mut row) = (Vec::new(), vec![0f32; d]);
    let mut acc = PcaAccumulator::new(d);
    let mut r = open_npy(path, regions, d)?;
    for _ in 0..regions {
        read_row(&mut r, &mut buf, &mut row).map_err(|e| merr(path, e))?;
        acc.add(&row);
    }
    let pca = acc.finish(PCS);
    let mut r = open_npy(path, regions, d)?;
    let mut coords = Vec::with_capacity(regions);
    for _ in 0..regions {
        read_row(&mut r, &mut buf, &mut row).map_err(|e| merr(path, e))?;
        coords.push(pca.project(&row).into_iter().map(|v| v as f32).collect());
    }
    Ok((pca, coords))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn motifs_are_chosen_by_id_or_by_hits() {
        let motifs: Vec<(String, String)> = ["A", "B", "C"]
            .iter()
            .map(|s| (s.to_string(), String::new()))
            .collect();
        assert_eq!(
            choose_motifs(&["C".into(), "A".into()], &motifs, None).unwrap(),
            [2, 0]
        );
        let e = choose_motifs(&["Z".into()], &motifs, None).unwrap_err();
        assert!(e.to_string().contains("`Z`"), "{e}");
        assert_eq!(
            choose_motifs(&[], &motifs, Some(&[1, 5, 5])).unwrap(),
            [1, 2, 0]
        );
        assert_eq!(file_safe("MA0139.2/x y"), "MA0139.2_x_y");
    }
}
