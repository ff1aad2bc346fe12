//! The files of an output directory and the small tables that let `glance merge`
//! reassemble shards: records.tsv (every record of the input, owned or not, with its
//! length and global base offset), scan_tallies.tsv (per-motif test counts and p-value
//! samples) and scan_hits.tsv (hits before q-values). Regions are bins, so each
//! record's rows follow from its length alone ([`bins`]).

use std::io::{BufRead, Write};
use std::path::Path;

use glance_io::{clean_partials, write_measured, FileEntry};
use glance_motif::numfmt::write_g;
use glance_motif::qvalue::NUM_LAMBDA;
use glance_motif::region::RegionScore;
use glance_motif::scan::RawHit;
use glance_motif::{ScanTally, Scanner};
use glance_seq::{bins, region_name};

use crate::error::WorkflowError;
use crate::manifest::MANIFEST;
use crate::sharding::Sharding;

/// regions.bed: chrom, start, end, name (`chrom:start1-end`, `;partial` when clipped), row.
pub const REGIONS: &str = "regions.bed";
/// embeddings.npy: f32 `[regions, d_model]`.
pub const EMBEDDINGS: &str = "embeddings.npy";
/// motif_scores.npy: f32 `[regions, motifs]` attention-pooled affinities.
pub const MOTIF_SCORES_NPY: &str = "motif_scores.npy";
/// motif_scores.tsv: one line per region and motif (region-major, regions in
/// regions.bed order), columns [`SCORES_HEADER`] as `glance score` writes them.
pub const MOTIF_SCORES_TSV: &str = "motif_scores.tsv";
/// hits.tsv: FIMO's TSV columns, q-values over every test of the run.
pub const HITS: &str = "hits.tsv";
/// records.tsv: every input record (see the module docs).
pub const RECORDS: &str = "records.tsv";
/// scan_tallies.tsv: per-motif tests and p-value sample (for merge).
pub const TALLIES: &str = "scan_tallies.tsv";
/// scan_hits.tsv: hits before q-values (for merge).
pub const RAW_HITS: &str = "scan_hits.tsv";

/// The prefix of the variants stage's outputs (`glance variants -o PREFIX`).
pub const VARIANTS_PREFIX: &str = "variants";
/// variants.vcf.gz: the input VCF's records with GLANCE_* INFO fields.
pub const VARIANTS_VCF: &str = "variants.vcf.gz";
/// Its tabix index (sorted input).
pub const VARIANTS_TBI: &str = "variants.vcf.gz.tbi";
/// Its CSI index (sorted input, contigs too long for tabix).
pub const VARIANTS_CSI: &str = "variants.vcf.gz.csi";
/// variants.motifs.tsv: one row per allele and motif with an effect.
pub const VARIANTS_MOTIFS: &str = "variants.motifs.tsv";
/// variants.variants.tsv: one row per ALT allele.
pub const VARIANTS_TSV: &str = "variants.variants.tsv";
/// variants.rows.tsv: each written record's place in the input and its rows (for merge).
pub const VARIANTS_ROWS: &str = "variants.rows.tsv";

/// Every output a run may write (removed before a fresh run starts).
pub const ALL_OUTPUTS: [&str; 15] = [
    crate::report::REPORT,
    REGIONS,
    EMBEDDINGS,
    MOTIF_SCORES_NPY,
    MOTIF_SCORES_TSV,
    HITS,
    RECORDS,
    TALLIES,
    RAW_HITS,
    VARIANTS_VCF,
    VARIANTS_TBI,
    VARIANTS_CSI,
    VARIANTS_MOTIFS,
    VARIANTS_TSV,
    VARIANTS_ROWS,
];

/// motif_scores.tsv's header (the columns of `glance score`).
pub const SCORES_HEADER: &str =
    "chrom\tstart\tend\tmotif_id\tmotif_alt_id\tbest_score\tbest_p-value\thits\taffinity\tposition\toccupancy";

/// The channels of motif_scores.npy and `glance score`'s PREFIX.npy, the innermost
/// axis of `[regions, motifs, channels]` (f32).
pub const SCORE_CHANNELS: [&str; 2] = ["affinity", "occupancy"];

/// A region score's values in the .npy, in [`SCORE_CHANNELS`] order.
pub fn score_channels(s: &RegionScore) -> [f32; 2] {
    [s.affinity as f32, s.occupancy as f32]
}

/// Appends one motif_scores.tsv line (`NA` where no window was scoreable).
pub fn push_score_line(
    out: &mut String,
    chrom: &str,
    start: u64,
    end: u64,
    id: &str,
    alt: &str,
    s: &RegionScore,
) {
    use std::fmt::Write as _;
    // written piece by piece into `out` (no String per field: this runs per region
    // and motif, 5.5 M lines for a bacterial genome and JASPAR)
    let g = |out: &mut String, x: f64, digits| {
        if x.is_nan() {
            out.push_str("NA");
        } else {
            write_g(out, x, digits);
        }
    };
    let _ = write!(out, "{chrom}\t{start}\t{end}\t{id}\t{alt}\t");
    g(out, s.best_score, 6);
    out.push('\t');
    g(out, s.best_pvalue, 3);
    let _ = write!(out, "\t{}\t", s.hits);
    g(out, s.affinity, 6);
    out.push('\t');
    if s.position.is_nan() {
        out.push_str("NA");
    } else {
        let _ = write!(out, "{:.1}", s.position);
    }
    out.push('\t');
    g(out, s.occupancy, 6);
    out.push('\n');
}

/// One record of the input (over all input files, in order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordInfo {
    /// 0-based index over all inputs.
    pub index: u64,
    /// Which input file (0-based).
    pub input: usize,
    /// Record name.
    pub name: String,
    /// Length in bases.
    pub length: u64,
    /// Bases of all earlier records.
    pub global_base: u64,
    /// Processed by this shard?
    pub owned: bool,
}

/// The bins of record `r` whose first base `sharding` owns, in order.
pub fn owned_bins(
    sharding: Sharding,
    r: &RecordInfo,
    size: u64,
    step: u64,
) -> impl Iterator<Item = (u64, u64)> {
    let index = r.index;
    bins(r.length, size, step).filter(move |&(a, _)| sharding.owns(index, a))
}

/// Writes one regions.bed line.
pub fn write_region(
    w: &mut dyn Write,
    chrom: &str,
    start: u64,
    end: u64,
    size: u64,
    row: u64,
) -> std::io::Result<()> {
    let partial = if end - start < size { ";partial" } else { "" };
    let name = region_name(chrom, start, end);
    writeln!(w, "{chrom}\t{start}\t{end}\t{name}{partial}\t{row}")
}

/// Removes manifest.json, every output a run may write (tracks: the .bw and .bedGraph
/// files of `tracks/`) and the partial files of a killed run from `outdir`: nothing may look complete while a run or merge is under way.
pub fn clear_outputs(outdir: &Path) -> Result<(), WorkflowError> {
    for name in std::iter::once(MANIFEST).chain(ALL_OUTPUTS) {
        let p = outdir.join(name);
        if p.exists() {
            std::fs::remove_file(&p).map_err(|e| WorkflowError::output(&p, e))?;
        }
    }
    clean_partials(outdir)?;
    let tracks = outdir.join(crate::tracks::TRACKS_DIR);
    if tracks.is_dir() {
        let entries = std::fs::read_dir(&tracks).map_err(|e| WorkflowError::output(&tracks, e))?;
        for e in entries.flatten() {
            let p = e.path();
            if matches!(
                p.extension().and_then(|x| x.to_str()),
                Some("bw" | "bedGraph")
            ) {
                std::fs::remove_file(&p).map_err(|e| WorkflowError::output(&p, e))?;
            }
        }
        clean_partials(&tracks)?;
    }
    Ok(())
}

/// Writes records.tsv (every record) and regions.bed (the bins of the owned records
/// that `sharding` owns) into `outdir`, measured; returns their manifest entries.
pub fn write_record_tables(
    outdir: &Path,
    records: &[RecordInfo],
    sharding: Sharding,
    (size, step): (u64, u64),
) -> Result<[FileEntry; 2], WorkflowError> {
    let records_tsv = write_measured(&outdir.join(RECORDS), RECORDS, |w| {
        write_records(w, records)
    })?;
    let regions_bed = write_measured(&outdir.join(REGIONS), REGIONS, |w| {
        let mut row = 0u64;
        for r in records.iter().filter(|r| r.owned) {
            for (a, b) in owned_bins(sharding, r, size, step) {
                write_region(w, &r.name, a, b, size, row)?;
                row += 1;
            }
        }
        Ok(())
    })?;
    Ok([records_tsv, regions_bed])
}

/// Writes records.tsv.
pub fn write_records(w: &mut dyn Write, records: &[RecordInfo]) -> std::io::Result<()> {
    writeln!(w, "#index\tinput\tname\tlength\tglobal_base\towned")?;
    for r in records {
        writeln!(
            w,
            "{}\t{}\t{}\t{}\t{}\t{}",
            r.index,
            r.input,
            r.name,
            r.length,
            r.global_base,
            u8::from(r.owned)
        )?;
    }
    Ok(())
}

fn bad(path: &Path, line: usize, what: &str) -> WorkflowError {
    WorkflowError::Merge(format!("{}:{line}: {what}", path.display()))
}

fn lines(path: &Path) -> Result<Vec<String>, WorkflowError> {
    let f = std::fs::File::open(path)
        .map_err(|e| WorkflowError::Merge(format!("{}: {e}", path.display())))?;
    std::io::BufReader::new(f)
        .lines()
        .collect::<Result<_, _>>()
        .map_err(|e| WorkflowError::Merge(format!("{}: {e}", path.display())))
}

/// Reads records.tsv.
pub fn read_records(path: &Path) -> Result<Vec<RecordInfo>, WorkflowError> {
    let mut out = Vec::new();
    for (i, line) in lines(path)?.iter().enumerate() {
        if line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        let num = |s: &str| s.parse::<u64>().map_err(|_| bad(path, i + 1, "bad number"));
        if f.len() != 6 {
            return Err(bad(path, i + 1, "expected 6 columns"));
        }
        out.push(RecordInfo {
            index: num(f[0])?,
            input: num(f[1])? as usize,
            name: f[2].to_string(),
            length: num(f[3])?,
            global_base: num(f[4])?,
            owned: f[5] == "1",
        });
    }
    Ok(out)
}

/// Writes scan_tallies.tsv and scan_hits.tsv contents.
pub fn write_tallies(
    tallies: &[ScanTally],
    ids: &[&str],
    t: &mut dyn Write,
    h: &mut dyn Write,
) -> std::io::Result<()> {
    writeln!(t, "#motif\tid\ttests\tsamples\tbins")?;
    writeln!(h, "#motif\trecord\tstart0\treverse\tscaled\tmatched")?;
    for (m, tally) in tallies.iter().enumerate() {
        let bins: Vec<String> = tally.bins.iter().map(u64::to_string).collect();
        writeln!(
            t,
            "{m}\t{}\t{}\t{}\t{}",
            ids[m],
            tally.tests,
            tally.samples,
            bins.join(",")
        )?;
        for (i, r) in tally.hits().iter().enumerate() {
            write!(
                h,
                "{m}\t{}\t{}\t{}\t{}\t",
                r.record,
                r.start,
                u8::from(r.reverse),
                r.scaled
            )?;
            h.write_all(tally.matched(i))?;
            h.write_all(b"\n")?;
        }
    }
    Ok(())
}

/// Reads scan_tallies.tsv and scan_hits.tsv of `dir` into per-motif tallies of
/// `scanner`'s motifs.
pub fn read_tallies(dir: &Path, scanner: &Scanner) -> Result<Vec<ScanTally>, WorkflowError> {
    let mut tallies = scanner.new_tallies();
    let tp = dir.join(TALLIES);
    for (i, line) in lines(&tp)?.iter().enumerate() {
        if line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        let num = |s: &str| s.parse::<u64>().map_err(|_| bad(&tp, i + 1, "bad number"));
        if f.len() != 5 {
            return Err(bad(&tp, i + 1, "expected 5 columns"));
        }
        let m = num(f[0])? as usize;
        let t = tallies
            .get_mut(m)
            .ok_or_else(|| bad(&tp, i + 1, "motif index out of range"))?;
        t.tests = num(f[2])?;
        t.samples = num(f[3])?;
        let b: Vec<u64> = f[4].split(',').map(num).collect::<Result<_, _>>()?;
        if b.len() != NUM_LAMBDA + 1 {
            return Err(bad(&tp, i + 1, "wrong number of bins"));
        }
        t.bins.copy_from_slice(&b);
    }
    let hp = dir.join(RAW_HITS);
    for (i, line) in lines(&hp)?.iter().enumerate() {
        if line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        let num = |s: &str| s.parse::<u64>().map_err(|_| bad(&hp, i + 1, "bad number"));
        if f.len() != 6 {
            return Err(bad(&hp, i + 1, "expected 6 columns"));
        }
        let m = num(f[0])? as usize;
        let scaled: i32 = f[4].parse().map_err(|_| bad(&hp, i + 1, "bad score"))?;
        let t = tallies
            .get_mut(m)
            .ok_or_else(|| bad(&hp, i + 1, "motif index out of range"))?;
        if f[5].len() != t.width() {
            return Err(bad(
                &hp,
                i + 1,
                "matched sequence is not as wide as its motif",
            ));
        }
        // a hit's score reaches its motif's threshold and no more than the best score
        let motif = &scanner.motifs()[m];
        if !(motif.threshold..=motif.model.fwd.max_scaled()).contains(&scaled) {
            return Err(bad(&hp, i + 1, "score out of range for its motif"));
        }
        let hit = RawHit {
            record: num(f[1])? as u32,
            start: num(f[2])?,
            reverse: f[3] == "1",
            scaled,
        };
        t.push(hit, f[5].bytes());
    }
    Ok(tallies)
}

/// Adds `b` into `a` (tests, samples and hits of disjoint record sets).
pub fn add_tallies(a: &mut [ScanTally], b: Vec<ScanTally>) {
    for (x, y) in a.iter_mut().zip(b) {
        x.absorb(y);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glance_motif::{BackgroundSource, Motif, ScanOptions};

    fn scanner() -> Scanner {
        let m = Motif {
            id: "MA1".into(),
            alt_id: "tf".into(),
            probs: vec![[0.7, 0.1, 0.1, 0.1], [0.1, 0.1, 0.1, 0.7]],
            nsites: Some(20.0),
            url: None,
        };
        let bg = BackgroundSource::Uniform.resolve(true).unwrap();
        // every score is a hit at p <= 1: the motif's threshold is 0
        let options = ScanOptions {
            thresh: 1.0,
            ..ScanOptions::default()
        };
        Scanner::new(&[m], bg, options).unwrap()
    }

    /// Tallies come back from scan_tallies.tsv and scan_hits.tsv as written, hits with
    /// their matched bases; a hit whose matched sequence is not as wide as its motif, or
    /// whose score lies outside the motif's threshold..=best, is refused, naming the file
    /// and line.
    #[test]
    fn tallies_round_trip_and_refuse_wrong_widths() {
        let sc = scanner();
        let mut tallies = sc.new_tallies();
        let t = &mut tallies[0];
        (t.tests, t.samples, t.bins[1]) = (10, 3, 2);
        let hit = |record, start, reverse, scaled| RawHit {
            record,
            start,
            reverse,
            scaled,
        };
        t.push(hit(0, 4, false, 700), *b"aT");
        t.push(hit(1, 0, true, 900), *b"GN");
        let dir = tempfile::tempdir().unwrap();
        let (mut tf, mut hf) = (Vec::new(), Vec::new());
        write_tallies(&tallies, &["MA1"], &mut tf, &mut hf).unwrap();
        std::fs::write(dir.path().join(TALLIES), &tf).unwrap();
        std::fs::write(dir.path().join(RAW_HITS), &hf).unwrap();
        let back = read_tallies(dir.path(), &sc).unwrap();
        let (a, b) = (&tallies[0], &back[0]);
        assert_eq!((a.tests, a.samples, a.bins), (b.tests, b.samples, b.bins));
        assert_eq!(a.hits(), b.hits());
        assert_eq!((b.matched(0), b.matched(1)), (&b"aT"[..], &b"GN"[..]));
        let hits = String::from_utf8(hf).unwrap();
        let damaged = |from: &str, to: &str| {
            std::fs::write(dir.path().join(RAW_HITS), hits.replace(from, to)).unwrap();
            read_tallies(dir.path(), &sc).unwrap_err().to_string()
        };
        let err = damaged("\taT\n", "\ta\n");
        assert!(
            err.contains("scan_hits.tsv:2: matched sequence is not as wide"),
            "{err}"
        );
        // scores below the motif's threshold or above its best cannot come from a scan
        for score in ["-2147483648", "-1", "2001", "2147483647"] {
            let err = damaged("\t700\t", &format!("\t{score}\t"));
            assert!(
                err.contains("scan_hits.tsv:2: score out of range"),
                "{score}: {err}"
            );
        }
    }
}
