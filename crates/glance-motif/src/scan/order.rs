//! Turning a finished run's per-motif tallies into FIMO's order: each motif's raw hits
//! sorted by p-value (then record, start, strand) with their q-values, and every motif's
//! list merged by p-value, then motif, into an [`OrderedHits`]. Both sort small keys
//! rather than the hits themselves, and the merge runs in parallel.

use std::ops::Range;

use rayon::prelude::*;

use super::{CompiledMotif, Hit, RawHit, ScanTally};
use crate::qvalue;

/// The hits of motif `mi` in FIMO's order (p-value, record, start, strand) with
/// q-values from `pi0` and the motif's test count; with `qv_thresh`, only those with
/// q-value `<= thresh`.
pub(super) fn motif_hits(
    mi: usize,
    m: &CompiledMotif,
    tally: ScanTally,
    pi0: f64,
    qv_thresh: Option<f64>,
) -> Vec<Hit> {
    let raw = tally.hits;
    // reported score and rounded p-value of each (strand, scaled score), computed once:
    // both round to 10 digits, which costs a pow and a log10
    let from = m.threshold.clamp(0, i32::MAX - 1);
    let top = m.width() as i32 * crate::pssm::RANGE;
    let low = raw.iter().map(|h| h.scaled).min().unwrap_or(from).min(from);
    let span = (top.max(low) - low + 1) as usize;
    let mut memo: [Vec<Option<(f64, f64)>>; 2] = [vec![None; span], vec![None; span]];
    let mut values = |h: &RawHit| -> (f64, f64) {
        let strand = usize::from(h.reverse);
        let slot = &mut memo[strand][(h.scaled.clamp(low, top) - low) as usize];
        *slot.get_or_insert_with(|| {
            let pssm = m.pssm(strand);
            (pssm.score(h.scaled), pssm.pvalue(h.scaled))
        })
    };
    // (record, start, strand) is unique within a motif: the order is total
    let mut keys: Vec<(u64, u32, u64, bool, u32)> = raw
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let p = values(h).1;
            (p_key(p), h.record, h.start, h.reverse, i as u32)
        })
        .collect();
    keys.sort_unstable();
    let width = m.width() as u64;
    let mut hits: Vec<Hit> = keys
        .iter()
        .map(|k| {
            let h = &raw[k.4 as usize];
            let (score, pvalue) = values(h);
            Hit {
                motif: mi as u32,
                record: h.record,
                start: h.start + 1,
                stop: h.start + width,
                reverse: h.reverse,
                scaled: h.scaled,
                score,
                pvalue,
                qvalue: f64::NAN,
                matched: h.matched.clone(),
            }
        })
        .collect();
    let mut q: Vec<f64> = hits.iter().map(|h| h.pvalue).collect();
    qvalue::qvalues_in_place(&mut q, pi0, tally.tests);
    for (h, q) in hits.iter_mut().zip(q) {
        h.qvalue = q;
    }
    if let Some(t) = qv_thresh {
        hits.retain(|h| h.qvalue <= t);
    }
    hits
}

impl Drop for OrderedHits {
    /// Frees the per-motif lists in parallel (a million hits take a while to free).
    fn drop(&mut self) {
        std::mem::take(&mut self.lists)
            .into_par_iter()
            .for_each(drop);
    }
}

/// A key that orders p-values as `f64::total_cmp` does (sign-magnitude to unsigned).
fn p_key(p: f64) -> u64 {
    let b = p.to_bits();
    if b >> 63 == 1 {
        !b
    } else {
        b | (1 << 63)
    }
}

/// Hits of a finished run in FIMO's order (p-value, motif, record, start, strand),
/// kept as per-motif lists plus the merged order as indices, so that writers can read
/// them in order without moving every hit into one list.
#[derive(Debug, Clone, Default)]
pub struct OrderedHits {
    /// List `i`: motif `i`'s hits, sorted by p-value, record, start, strand.
    lists: Vec<Vec<Hit>>,
    /// (motif, index in its list) of every hit, in FIMO's order.
    order: Vec<(u32, u32)>,
}

impl OrderedHits {
    /// Merges per-motif lists (list `i` holds motif `i`'s hits, sorted by p-value,
    /// record, start, strand): sorts (p-value, motif, index) keys in parallel.
    pub fn merge(lists: Vec<Vec<Hit>>) -> OrderedHits {
        // one allocation of the final size, each list's part filled in parallel
        let mut keys = vec![(0u64, 0u32, 0u32); lists.iter().map(Vec::len).sum()];
        let mut parts = Vec::with_capacity(lists.len());
        let mut rest = keys.as_mut_slice();
        for l in &lists {
            let (part, tail) = rest.split_at_mut(l.len());
            parts.push(part);
            rest = tail;
        }
        parts
            .into_par_iter()
            .zip(lists.par_iter())
            .enumerate()
            .for_each(|(mi, (part, l))| {
                for (k, (i, h)) in part.iter_mut().zip(l.iter().enumerate()) {
                    *k = (p_key(h.pvalue), mi as u32, i as u32);
                }
            });
        keys.par_sort_unstable();
        let order = keys.into_par_iter().map(|(_, mi, i)| (mi, i)).collect();
        OrderedHits { lists, order }
    }

    /// Number of hits.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// True when there are no hits.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The hits at positions `range` of the order (clamped to the hits there are).
    pub fn range(&self, range: Range<usize>) -> impl Iterator<Item = &Hit> + '_ {
        let end = range.end.min(self.order.len());
        let start = range.start.min(end);
        self.order[start..end]
            .iter()
            .map(|&(mi, i)| &self.lists[mi as usize][i as usize])
    }

    /// Every hit, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Hit> + '_ {
        self.range(0..self.order.len())
    }

    /// The hits as one list, in order (gathered in parallel).
    pub fn into_vec(self) -> Vec<Hit> {
        let lists = &self.lists;
        self.order
            .par_iter()
            .map(|&(mi, i)| lists[mi as usize][i as usize].clone())
            .collect()
    }
}
