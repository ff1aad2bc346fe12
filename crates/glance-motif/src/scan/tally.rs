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
        // in place: an argsort is always a permutation
        let moved = self.permute(order);
        debug_assert!(moved);
    }

    /// Reorders the hits and their matched bases in place so that hit `i` becomes the
    /// hit that was at `order[i]`; `order` must be a permutation of `0..hits` (else
    /// nothing moves and false is returned). In place, cycle by cycle, so that ranking
    /// a large tally does not hold a second copy of it.
    pub(crate) fn permute(&mut self, mut order: Vec<u32>) -> bool {
        let n = self.hits.len();
        let mut seen = vec![false; n];
        if order.len() != n
            || !order
                .iter()
                .all(|&j| (j as usize) < n && !std::mem::replace(&mut seen[j as usize], true))
        {
            return false;
        }
        let w = self.width;
        let mut held = vec![0u8; w];
        for start in 0..n {
            if order[start] as usize == start {
                continue;
            }
            // follow the cycle through start: each slot takes the hit it names, the last
            // one the hit held from start; visited slots are marked as fixed points
            let first = self.hits[start];
            held.copy_from_slice(&self.matched[start * w..(start + 1) * w]);
            let mut i = start;
            loop {
                let j = order[i] as usize;
                order[i] = i as u32;
                if j == start {
                    self.hits[i] = first;
                    self.matched[i * w..(i + 1) * w].copy_from_slice(&held);
                    break;
                }
                self.hits[i] = self.hits[j];
                self.matched.copy_within(j * w..(j + 1) * w, i * w);
                i = j;
            }
        }
        true
    }

    /// Keeps the first `len` hits (and their bases).
    pub(crate) fn truncate(&mut self, len: usize) {
        self.hits.truncate(len);
        self.matched.truncate(len * self.width);
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

    /// A permutation moves each hit with its bases; anything else moves nothing.
    #[test]
    fn permuting_moves_hits_with_their_bases() {
        let mut t = ScanTally::new(2);
        for (i, bases) in [*b"AA", *b"CC", *b"GG", *b"TT", *b"AC"]
            .into_iter()
            .enumerate()
        {
            t.push(hit(0, i as u64, false), bases);
        }
        let before = t.clone();
        assert!(!t.permute(vec![0, 1, 2, 3]));
        assert!(!t.permute(vec![0, 1, 1, 3, 4]));
        assert!(!t.permute(vec![0, 1, 2, 3, 5]));
        assert_eq!((t.hits(), &t.matched), (before.hits(), &before.matched));
        let order = vec![3, 0, 4, 1, 2];
        assert!(t.permute(order.clone()));
        for (i, &j) in order.iter().enumerate() {
            assert_eq!(t.hits()[i], before.hits()[j as usize]);
            assert_eq!(t.matched(i), before.matched(j as usize));
        }
        t.truncate(2);
        assert_eq!(t.hits().len(), 2);
        assert_eq!(t.matched(1), b"AA");
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
