//! [`ScanTally`]: what a run accumulates per motif (test count, the p-value sample for
//! q-values, and the hits with their matched bases). The bases of every hit sit in one
//! byte array, `width` bytes per hit, so that a million hits are a few flat arrays
//! rather than a million structs carrying their own copy.

use crate::qvalue::NUM_LAMBDA;

/// A hit before p-values and q-values: where one window on one strand scored at the
/// threshold or above (its matched bases are kept by the [`ScanTally`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawHit {
    /// Record index.
    pub record: u32,
    /// 0-based start in the record.
    pub start: u64,
    /// Reverse strand?
    pub reverse: bool,
    /// Scaled integer score.
    pub scaled: i32,
}

impl RawHit {
    /// The order hits are kept in: record, start, strand (forward first).
    fn position(&self) -> (u32, u64, bool) {
        (self.record, self.start, self.reverse)
    }
}

/// Per-motif accumulators over a whole run.
#[derive(Debug, Clone)]
pub struct ScanTally {
    /// Number of tests: scoreable windows times strands (FIMO's q-value `m`).
    pub tests: u64,
    /// Weighted p-value sample binned by lambda (see [`crate::qvalue::estimate_pi0`]).
    pub bins: [u64; NUM_LAMBDA + 1],
    /// Unweighted sample size.
    pub samples: u64,
    /// Hits at the p-value threshold; a scan appends them by record, start and strand.
    hits: Vec<RawHit>,
    /// `width` bytes per hit, in the order of `hits`: the window's bases as FIMO prints
    /// them (forward: as in the input; reverse: upper-case reverse complement).
    matched: Vec<u8>,
    /// The motif's width.
    width: usize,
}

impl ScanTally {
    /// An empty tally for a motif `width` bases wide.
    pub fn new(width: usize) -> ScanTally {
        ScanTally {
            tests: 0,
            bins: [0; NUM_LAMBDA + 1],
            samples: 0,
            hits: Vec::new(),
            matched: Vec::new(),
            width,
        }
    }

    /// The motif's width (the number of matched bases of each hit).
    pub fn width(&self) -> usize {
        self.width
    }

    /// The hits so far.
    pub fn hits(&self) -> &[RawHit] {
        &self.hits
    }

    /// The matched bases of hit `i`.
    pub fn matched(&self, i: usize) -> &[u8] {
        &self.matched[i * self.width..(i + 1) * self.width]
    }

    /// Appends a hit whose window's bases (as FIMO prints them) are `matched`, which
    /// must yield exactly [`ScanTally::width`] bytes.
    pub fn push(&mut self, hit: RawHit, matched: impl IntoIterator<Item = u8>) {
        let before = self.matched.len();
        self.matched.extend(matched);
        debug_assert_eq!(self.matched.len() - before, self.width);
        self.hits.push(hit);
    }

    /// Adds `other`'s tests, sample and hits (of other records, or other windows) to
    /// this tally.
    pub fn absorb(&mut self, other: ScanTally) {
        debug_assert_eq!(self.width, other.width);
        self.tests += other.tests;
        self.samples += other.samples;
        for (a, b) in self.bins.iter_mut().zip(other.bins) {
            *a += b;
        }
        if self.hits.is_empty() {
            self.hits = other.hits;
            self.matched = other.matched;
        } else {
            self.hits.extend(other.hits);
            self.matched.extend(other.matched);
        }
    }

    /// Puts the hits in record, start and strand order (as one scan appends them;
    /// tallies absorbed from several runs may need it).
    pub fn sort_by_position(&mut self) {
        if self.hits.is_sorted_by_key(RawHit::position) {
            return;
        }
        let mut order: Vec<u32> = (0..self.hits.len() as u32).collect();
        order.sort_unstable_by_key(|&i| self.hits[i as usize].position());
        let w = self.width;
        let matched = order
            .iter()
            .flat_map(|&i| {
                self.matched[i as usize * w..(i as usize + 1) * w]
                    .iter()
                    .copied()
            })
            .collect();
        self.hits = order.iter().map(|&i| self.hits[i as usize]).collect();
        self.matched = matched;
    }

    /// Takes the hits and their matched bases, leaving the counts and the sample.
    pub fn take_hits(&mut self) -> (Vec<RawHit>, Vec<u8>) {
        (
            std::mem::take(&mut self.hits),
            std::mem::take(&mut self.matched),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(record: u32, start: u64, reverse: bool) -> RawHit {
        RawHit {
            record,
            start,
            reverse,
            scaled: start as i32,
        }
    }

    #[test]
    fn absorbed_hits_sort_with_their_bases() {
        let mut a = ScanTally::new(2);
        a.push(hit(1, 5, false), *b"AC");
        a.push(hit(1, 9, true), *b"GT");
        let mut b = ScanTally::new(2);
        b.tests = 7;
        b.push(hit(0, 3, false), *b"TT");
        b.push(hit(1, 5, true), *b"CA");
        a.absorb(b);
        assert_eq!(a.tests, 7);
        a.sort_by_position();
        let got: Vec<(RawHit, &[u8])> = (0..a.hits().len())
            .map(|i| (a.hits()[i], a.matched(i)))
            .collect();
        assert_eq!(
            got,
            vec![
                (hit(0, 3, false), &b"TT"[..]),
                (hit(1, 5, false), &b"AC"[..]),
                (hit(1, 5, true), &b"CA"[..]),
                (hit(1, 9, true), &b"GT"[..]),
            ]
        );
        let (hits, matched) = a.take_hits();
        assert_eq!((hits.len(), matched.len()), (4, 8));
        assert!(a.hits().is_empty());
    }
}
