//! Which shard owns which part of the input. A record is cut into pieces of `span`
//! bases (`span` 0: one piece per record); piece `j` of record `r` (0-based over all
//! inputs) belongs to shard `(r + j) % N + 1`. A region (bin) belongs to the piece that
//! holds its first base, and a motif hit to the piece that holds its first base, so
//! every row and hit has exactly one owner. Ownership depends only on the record index
//! and the position, so every shard, and `glance merge`, agree on it without knowing
//! the lengths of other records. Each shard still reads every record it might own a
//! piece of, and computes what it owns with the whole record as context (halos), so
//! its results equal those of an unsharded run.

use std::ops::Range;

use crate::config::Shard;

/// A shard and how records are cut into pieces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sharding {
    /// This run's shard.
    pub shard: Shard,
    /// Bases per piece (0: whole records).
    pub span: u64,
}

impl Sharding {
    /// Index of the piece holding position `pos` of a record.
    fn piece(&self, pos: u64) -> u64 {
        pos.checked_div(self.span).unwrap_or(0)
    }

    /// 0-based shard that owns position `pos` of record `record` (of `count` shards).
    pub fn owner(&self, record: u64, pos: u64) -> usize {
        let n = self.shard.count.max(1) as u64;
        ((record % n + self.piece(pos) % n) % n) as usize
    }

    /// Does this shard own position `pos` of record `record`?
    pub fn owns(&self, record: u64, pos: u64) -> bool {
        self.owner(record, pos) + 1 == self.shard.index
    }

    /// Might this shard own any part of record `record`, whatever its length? Records
    /// for which this is false are not sent to the stages.
    pub fn may_own(&self, record: u64) -> bool {
        self.span > 0 || self.owns(record, 0)
    }

    /// Does this shard own any part of a record of `len` bases?
    pub fn owns_any(&self, record: u64, len: u64) -> bool {
        let pieces = if self.span == 0 {
            1
        } else {
            len.div_ceil(self.span).max(1)
        };
        let n = self.shard.count.max(1) as u64;
        (0..pieces.min(n)).any(|j| self.owns(record, j * self.span))
    }

    /// Appends to `out` the parts of `range` (positions of record `record`) that this
    /// shard owns, in order.
    pub fn owned_parts(&self, record: u64, range: Range<u64>, out: &mut Vec<Range<u64>>) {
        if self.span == 0 {
            if self.owns(record, 0) && !range.is_empty() {
                out.push(range);
            }
            return;
        }
        let mut pos = range.start;
        while pos < range.end {
            let end = ((self.piece(pos) + 1) * self.span).min(range.end);
            if self.owns(record, pos) {
                match out.last_mut() {
                    Some(last) if last.end == pos => last.end = end,
                    _ => out.push(pos..end),
                }
            }
            pos = end;
        }
    }

    /// Does this shard own a position in `[range.start - reach, range.end)` of record
    /// `record`? That is: does `range` hold a base of something this shard owns that
    /// starts at most `reach` bases before it (a bin of `size` bases: `reach = size - 1`)?
    pub fn needs(&self, record: u64, range: Range<u64>, reach: u64) -> bool {
        let lo = range.start.saturating_sub(reach);
        if self.span == 0 {
            return self.owns(record, 0) && !range.is_empty();
        }
        let mut pos = lo;
        while pos < range.end {
            if self.owns(record, pos) {
                return true;
            }
            pos = (self.piece(pos) + 1) * self.span;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sharding(index: usize, count: usize, span: u64) -> Sharding {
        Sharding {
            shard: Shard { index, count },
            span,
        }
    }

    #[test]
    fn every_position_has_exactly_one_owner() {
        for span in [0, 1, 7, 100] {
            for count in 1..5 {
                for record in 0..6 {
                    for pos in 0..300 {
                        let owners = (1..=count)
                            .filter(|&i| sharding(i, count, span).owns(record, pos))
                            .count();
                        assert_eq!(owners, 1, "span {span} count {count} r{record}:{pos}");
                    }
                }
            }
        }
    }

    #[test]
    fn whole_records_without_a_span() {
        let s = sharding(2, 3, 0);
        assert!(s.owns(1, 0) && s.owns(1, 123_456) && !s.owns(0, 5) && s.owns(4, 9));
        assert!(!s.may_own(0) && s.may_own(1));
    }

    #[test]
    fn pieces_rotate_over_shards() {
        let s = sharding(1, 3, 10);
        // Record 0: pieces 0, 3, 6.. ; record 1: pieces 2, 5, ...
        assert!(s.owns(0, 0) && s.owns(0, 9) && !s.owns(0, 10) && s.owns(0, 30));
        assert!(!s.owns(1, 0) && s.owns(1, 20));
        let mut parts = Vec::new();
        s.owned_parts(0, 5..45, &mut parts);
        assert_eq!(parts, vec![5..10, 30..40]);
        assert!(s.owns_any(1, 21) && !s.owns_any(1, 20));
        assert!(s.needs(0, 12..20, 5) && !s.needs(0, 12..20, 2));
        assert!(s.needs(0, 25..31, 0) && !s.needs(0, 25..30, 0));
    }

    #[test]
    fn owned_parts_cover_the_range_once_over_all_shards() {
        for span in [0, 3, 16] {
            let mut all = Vec::new();
            for i in 1..=3 {
                let mut parts = Vec::new();
                sharding(i, 3, span).owned_parts(4, 7..61, &mut parts);
                all.extend(parts.into_iter().flatten());
            }
            all.sort_unstable();
            assert_eq!(all, (7..61).collect::<Vec<_>>(), "span {span}");
        }
    }
}
