//! [`Region`]: a stretch of a named sequence, parsed from samtools notation
//! (`chr:start-end`, 1-based inclusive) or read from BED (0-based half-open). Inside
//! glance a region is always 0-based half-open.

use std::fmt;
use std::io::BufRead;
use std::str::FromStr;

use crate::error::SeqError;

/// A stretch of a named sequence: 0-based, half-open `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Region {
    /// The sequence name.
    pub name: String,
    /// 0-based first position.
    pub start: u64,
    /// 0-based position one past the last; `None` runs to the end of the sequence.
    pub end: Option<u64>,
}

impl Region {
    /// A whole sequence.
    pub fn whole(name: impl Into<String>) -> Region {
        Region {
            name: name.into(),
            start: 0,
            end: None,
        }
    }

    /// A 0-based half-open region (as in BED).
    pub fn new(name: impl Into<String>, start: u64, end: u64) -> Region {
        Region {
            name: name.into(),
            start,
            end: Some(end),
        }
    }

    /// Resolves an open end against the sequence length and checks the range: the
    /// region must lie within `0..length`; it may be empty (a BED interval with start ==
    /// end), but a region with an open end must start inside the sequence.
    pub fn resolve(&self, length: u64) -> Result<(u64, u64), SeqError> {
        let end = self.end.unwrap_or(length);
        let empty_open = self.end.is_none() && self.start >= end && length > 0;
        if self.start > end || end > length || empty_open {
            return Err(SeqError::RegionOutOfRange {
                region: self.to_string(),
                name: self.name.clone(),
                length,
            });
        }
        Ok((self.start, end))
    }
}

/// samtools notation: `name`, `name:start`, `name:start-` or `name:start-end`, 1-based
/// inclusive, commas allowed in numbers.
impl FromStr for Region {
    type Err = SeqError;

    fn from_str(text: &str) -> Result<Region, SeqError> {
        let invalid = |reason: &str| SeqError::InvalidRegion {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let text_t = text.trim();
        if text_t.is_empty() {
            return Err(invalid("empty region"));
        }
        let Some((name, range)) = text_t.rsplit_once(':') else {
            return Ok(Region::whole(text_t));
        };
        if name.is_empty() {
            return Err(invalid("no sequence name before ':'"));
        }
        let number = |s: &str, what: &str| -> Result<u64, SeqError> {
            let digits: String = s.chars().filter(|&c| c != ',').collect();
            digits
                .parse::<u64>()
                .map_err(|_| invalid(&format!("{what} '{s}' is not a whole number")))
        };
        let (start_s, end_s) = match range.split_once('-') {
            Some((a, b)) => (a, Some(b)),
            None => (range, None),
        };
        let start = number(start_s, "start")?;
        if start == 0 {
            return Err(invalid("positions are 1-based: start must be at least 1"));
        }
        let end = match end_s {
            None | Some("") => None,
            Some(e) => {
                let e = number(e, "end")?;
                if e < start {
                    return Err(invalid("end is before start"));
                }
                Some(e)
            }
        };
        Ok(Region {
            name: name.to_string(),
            start: start - 1,
            end,
        })
    }
}

/// The name glance gives the region `[start, end)` of sequence `chrom` in its outputs
/// (BED name columns): samtools notation, `chrom:start+1-end`.
pub fn region_name(chrom: &str, start: u64, end: u64) -> String {
    format!("{chrom}:{}-{end}", start + 1)
}

/// The bins `[start, end)` of a sequence of `len` bases: a bin starts every `step`
/// bases from 0 while inside the sequence, each `size` bases long and clipped at the
/// sequence end. The one rule for bins everywhere (embedding pooling, region motif
/// scores, the pipeline's shards); `size` and `step` must be at least 1.
pub fn bins(len: u64, size: u64, step: u64) -> impl Iterator<Item = (u64, u64)> {
    (0..len)
        .step_by(step.max(1) as usize)
        .map(move |s| (s, bin_end(s, size, len)))
}

/// The end of the bin starting at `start`: `size` bases on, clipped at `len`.
pub fn bin_end(start: u64, size: u64, len: u64) -> u64 {
    start.saturating_add(size).min(len)
}

/// Writes samtools notation (1-based inclusive).
impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.end {
            Some(end) => f.write_str(&region_name(&self.name, self.start, end)),
            None if self.start == 0 => write!(f, "{}", self.name),
            None => write!(f, "{}:{}-", self.name, self.start + 1),
        }
    }
}

/// Reads the regions of a BED file (first three columns; 0-based half-open). Empty
/// lines and `#`, `track` and `browser` lines are skipped.
pub fn read_bed<R: BufRead>(reader: R) -> Result<Vec<Region>, SeqError> {
    let mut regions = Vec::new();
    for (i, line) in crate::lines::limited_lines(reader).enumerate() {
        let line_no = i as u64 + 1;
        let line = line.map_err(|e| SeqError::io(line_no, false, e))?;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty()
            || line.starts_with('#')
            || line.starts_with("track")
            || line.starts_with("browser")
        {
            continue;
        }
        let bad = |reason: String| SeqError::Bed {
            line: line_no,
            reason,
        };
        let mut fields = line.split('\t');
        let (Some(name), Some(start), Some(end)) = (fields.next(), fields.next(), fields.next())
        else {
            return Err(bad("expected at least 3 tab-separated columns".into()));
        };
        let start: u64 = start
            .trim()
            .parse()
            .map_err(|_| bad(format!("start '{start}' is not a whole number")))?;
        let end: u64 = end
            .trim()
            .parse()
            .map_err(|_| bad(format!("end '{end}' is not a whole number")))?;
        // start == end is legal BED: an empty region (an insertion point)
        if end < start {
            return Err(bad(format!("end {end} is before start {start}")));
        }
        regions.push(Region::new(name, start, end));
    }
    Ok(regions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_start_every_step_and_clip_at_the_end() {
        assert_eq!(
            bins(2500, 1000, 1000).collect::<Vec<_>>(),
            [(0, 1000), (1000, 2000), (2000, 2500)]
        );
        assert_eq!(bins(1000, 1000, 1000).collect::<Vec<_>>(), [(0, 1000)]);
        assert_eq!(bins(0, 1000, 1000).count(), 0);
        assert_eq!(
            bins(1200, 1000, 500).collect::<Vec<_>>(),
            [(0, 1000), (500, 1200), (1000, 1200)]
        );
    }

    #[test]
    fn region_names_are_samtools_notation() {
        assert_eq!(region_name("chr1", 0, 1000), "chr1:1-1000");
        let r: Region = "kp:11-20".parse().unwrap();
        assert_eq!(r.to_string(), region_name("kp", 10, 20));
    }

    #[test]
    fn samtools_notation() {
        let r: Region = "chr1:1,001-2,000".parse().unwrap();
        assert_eq!(r, Region::new("chr1", 1000, 2000));
        assert_eq!(r.to_string(), "chr1:1001-2000");
        assert_eq!("chr2".parse::<Region>().unwrap(), Region::whole("chr2"));
        let open: Region = "chr2:5".parse().unwrap();
        assert_eq!((open.start, open.end), (4, None));
        assert_eq!("HLA:A:3-4".parse::<Region>().unwrap().name, "HLA:A");
        assert!("chr1:0-5".parse::<Region>().is_err());
        assert!("chr1:9-5".parse::<Region>().is_err());
        assert!("chr1:x-5".parse::<Region>().is_err());
    }

    #[test]
    fn resolve_checks_range() {
        assert_eq!(Region::new("a", 2, 5).resolve(5).unwrap(), (2, 5));
        assert_eq!(Region::whole("a").resolve(7).unwrap(), (0, 7));
        // an empty BED interval is a valid empty region, even at the sequence's end
        assert_eq!(Region::new("a", 3, 3).resolve(5).unwrap(), (3, 3));
        assert_eq!(Region::new("a", 5, 5).resolve(5).unwrap(), (5, 5));
        assert!(Region::new("a", 6, 6).resolve(5).is_err());
        let mut open = Region::whole("a");
        open.start = 5;
        assert!(open.resolve(5).is_err(), "an open region must start inside");
        let err = Region::new("a", 2, 6).resolve(5).unwrap_err();
        assert_eq!(
            err.to_string(),
            "region a:3-6 is out of range: sequence 'a' has 5 bases"
        );
    }

    #[test]
    fn zero_length_bed_intervals_are_empty_regions() {
        let regions = read_bed("chr1\t5\t5\nchr1\t0\t3\n".as_bytes()).unwrap();
        assert_eq!(regions[0], Region::new("chr1", 5, 5));
        assert!(read_bed("chr1\t5\t4\n".as_bytes()).is_err());
    }

    #[test]
    fn bed_lines() {
        let text = "#c\ntrack x\nchr1\t0\t10\tname\n\nchr2\t5\t6\n";
        let r = read_bed(text.as_bytes()).unwrap();
        assert_eq!(
            r,
            vec![Region::new("chr1", 0, 10), Region::new("chr2", 5, 6)]
        );
        let err = read_bed("chr1\t5\t4\n".as_bytes()).unwrap_err();
        assert!(
            err.to_string().starts_with("line 1: invalid BED record"),
            "{err}"
        );
        assert!(read_bed("chr1 5\n".as_bytes()).is_err());
    }
}
