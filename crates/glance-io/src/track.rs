//! Genome-browser tracks (IGV, UCSC): one f32 value per interval along named sequences,
//! written as bigWig (with the bigtools crate: zoom levels, compressed, indexed) or as
//! bedGraph text. Both go through [`AtomicFile`], so a failed write leaves nothing under
//! the final name.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use bigtools::beddata::BedParserStreamingIterator;
use bigtools::{BigWigWrite, Value};

use crate::atomic::{AtomicFile, Finished};
use crate::error::IoError;

/// One interval of a track: `[start, end)` (0-based) on sequence `chrom` (an index into
/// [`Track::chroms`]) with `value`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackInterval {
    /// Index of the sequence in [`Track::chroms`].
    pub chrom: usize,
    /// 0-based start.
    pub start: u64,
    /// 0-based end (exclusive).
    pub end: u64,
    /// The value (NaN intervals are left out: no data there).
    pub value: f32,
}

/// A whole track: the sequences and the intervals along them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Track {
    /// Sequence names and lengths, in input order.
    pub chroms: Vec<(String, u64)>,
    /// Intervals grouped by sequence (in [`Self::chroms`] order), sorted by start and not
    /// overlapping.
    pub intervals: Vec<TrackInterval>,
}

impl Track {
    /// Checks what both formats need: known sequences, intervals inside them, grouped
    /// by sequence in order, sorted and not overlapping, and bigWig's 32-bit positions.
    fn check(&self, path: &Path) -> Result<(), IoError> {
        let bad = |m: String| Err(IoError::format(path, &m));
        for (name, len) in &self.chroms {
            if *len > u64::from(u32::MAX) {
                return bad(format!(
                    "sequence {name} has {len} bases, more than a bigWig can hold"
                ));
            }
        }
        let mut last: Option<(usize, u64)> = None;
        for iv in &self.intervals {
            let Some((name, len)) = self.chroms.get(iv.chrom) else {
                return bad(format!("interval on unknown sequence #{}", iv.chrom));
            };
            if iv.start >= iv.end || iv.end > *len {
                return bad(format!(
                    "interval {name}:{}-{} lies outside the sequence (length {len}) or is empty",
                    iv.start, iv.end
                ));
            }
            if let Some((c, end)) = last {
                if iv.chrom < c || (iv.chrom == c && iv.start < end) {
                    return bad(format!(
                        "interval {name}:{}-{} is out of order or overlaps the previous one",
                        iv.start, iv.end
                    ));
                }
            }
            last = Some((iv.chrom, iv.end));
        }
        Ok(())
    }

    /// The intervals with a value, as bigtools takes them.
    fn values(&self) -> impl Iterator<Item = (String, Value)> + '_ {
        self.intervals
            .iter()
            .filter(|iv| !iv.value.is_nan())
            .map(|iv| {
                (
                    self.chroms[iv.chrom].0.clone(),
                    Value {
                        // checked to fit in `check`
                        start: iv.start as u32,
                        end: iv.end as u32,
                        value: iv.value,
                    },
                )
            })
    }
}

/// Writes `track` as a bigWig file at `path`, synced and measured under `label` but not
/// yet renamed into place (see [`AtomicFile::finish`]).
pub fn write_bigwig(path: &Path, label: &str, track: &Track) -> Result<Finished, IoError> {
    track.check(path)?;
    let mut out = AtomicFile::create(path)?;
    let file = out
        .file()
        .try_clone()
        .map_err(|e| IoError::write(path, e))?;
    let sizes: HashMap<String, u32> = track
        .chroms
        .iter()
        .filter(|(_, len)| *len > 0)
        .map(|(name, len)| (name.clone(), *len as u32))
        .collect();
    let mut writer = BigWigWrite::new(file, sizes);
    // Sections are compressed in memory (no temporary files outside the output
    // directory); a track of 1 kb bins over 3 Gb is a few MB.
    writer.options.inmemory = true;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .map_err(|e| IoError::write(path, e))?;
    let values: Vec<(String, Value)> = track.values().collect();
    let data = BedParserStreamingIterator::wrap_infallible_iter(values.into_iter(), true);
    writer
        .write(data, runtime)
        .map_err(|e| IoError::format(path, &format!("cannot write bigWig: {e}")))?;
    out.finish(label)
}

/// Writes `track` as bedGraph text at `path` (a `track` line naming it `name`, then
/// `chrom start end value` lines; values as the shortest decimal that reads back as the
/// same f32), synced and measured under `label` but not yet renamed into place.
pub fn write_bedgraph(
    path: &Path,
    label: &str,
    name: &str,
    track: &Track,
) -> Result<Finished, IoError> {
    track.check(path)?;
    let mut out = AtomicFile::create(path)?;
    {
        let mut w = out.writer();
        let mut write = || -> std::io::Result<()> {
            writeln!(w, "track type=bedGraph name=\"{name}\"")?;
            for iv in track.intervals.iter().filter(|iv| !iv.value.is_nan()) {
                let chrom = &track.chroms[iv.chrom].0;
                writeln!(w, "{chrom}\t{}\t{}\t{}", iv.start, iv.end, iv.value)?;
            }
            w.flush()
        };
        write().map_err(|e| IoError::write(path, e))?;
    }
    out.finish(label)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track() -> Track {
        Track {
            chroms: vec![("b".into(), 100), ("a".into(), 50)],
            intervals: vec![
                TrackInterval {
                    chrom: 0,
                    start: 0,
                    end: 10,
                    value: 1.5,
                },
                TrackInterval {
                    chrom: 0,
                    start: 10,
                    end: 20,
                    value: f32::NAN,
                },
                TrackInterval {
                    chrom: 1,
                    start: 40,
                    end: 50,
                    value: -0.25,
                },
            ],
        }
    }

    #[test]
    fn bedgraph_lines_leave_out_missing_values() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.bedGraph");
        write_bedgraph(&p, "t", "t", &track())
            .unwrap()
            .commit()
            .unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(
            text,
            "track type=bedGraph name=\"t\"\nb\t0\t10\t1.5\na\t40\t50\t-0.25\n"
        );
    }

    #[test]
    fn bad_tracks_are_refused_and_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.bw");
        let mut t = track();
        t.intervals[2].end = 51;
        let e = write_bigwig(&p, "t", &t).err().unwrap().to_string();
        assert!(e.contains("a:40-51") && e.contains("outside"), "{e}");
        let mut t = track();
        t.intervals.swap(0, 2);
        let e = write_bedgraph(&p, "t", "t", &t).err().unwrap().to_string();
        assert!(e.contains("out of order"), "{e}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
