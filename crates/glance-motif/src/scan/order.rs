//! Turning a finished run's per-motif tallies into FIMO's order: each motif's raw hits
//! sorted by p-value (then record, start, strand) with their q-values, and every motif's
//! list merged by p-value, then motif, into an [`OrderedHits`]. Both sort small keys
//! rather than the hits themselves, and the merge runs in parallel. Hits stay compact
//! (numbers in one array, matched bases in another) until a writer reads them.

use std::ops::Range;

use rayon::prelude::*;

use super::{CompiledMotif, Hit, HitView, RawHit, ScanTally};
use crate::qvalue;

/// One hit of a [`RankedHits`] list, without its motif and matched bases.
#[derive(Debug, Clone, Copy)]
struct Ranked {
    /// 1-based first position.
    start: u64,
    /// Reported score.
    score: f64,
    /// p-value.
    pvalue: f64,
    /// q-value.
    qvalue: f64,
    /// Record index.
    record: u32,
    /// Scaled integer score.
    scaled: i32,
    /// Reverse strand?
    reverse: bool,
}

/// One motif's hits in FIMO's order, with their matched bases (`width` bytes per hit,
/// in the same order).
#[derive(Debug, Clone, Default)]
pub(super) struct RankedHits {
    hits: Vec<Ranked>,
    matched: Vec<u8>,
    width: usize,
}

impl RankedHits {
    /// Number of hits.
    fn len(&self) -> usize {
        self.hits.len()
    }

    /// Hit `i` of motif `motif` (this list's motif).
    fn get(&self, motif: u32, i: usize) -> HitView<'_> {
        let r = &self.hits[i];
        Hit {
            motif,
            record: r.record,
            start: r.start,
            stop: r.start + self.width as u64 - 1,
            reverse: r.reverse,
            scaled: r.scaled,
            score: r.score,
            pvalue: r.pvalue,
            qvalue: r.qvalue,
            matched: &self.matched[i * self.width..(i + 1) * self.width],
        }
    }
}

/// The hits of motif `m` in FIMO's order (p-value, record, start, strand) with
/// q-values from `pi0` and the motif's test count; with `qv_thresh`, only those with
/// q-value `<= thresh`.
pub(super) fn motif_hits(
    m: &CompiledMotif,
    mut tally: ScanTally,
    pi0: f64,
    qv_thresh: Option<f64>,
) -> RankedHits {
    // ties in p-value keep the tally's order: record, start, strand
    tally.sort_by_position();
    let raw = tally.hits();
    // reported score and rounded p-value of each (strand, scaled score) of the hits,
    // computed once: both round to 10 digits, which costs a pow and a log10. The memo
    // spans the hits' scores, within the motif's range 0..=w * RANGE (scores outside
    // it, which no scan makes, share the nearest end's entry)
    let top = m.model.fwd.max_scaled();
    let low = raw
        .iter()
        .map(|h| h.scaled)
        .min()
        .unwrap_or(0)
        .clamp(0, top);
    let high = raw
        .iter()
        .map(|h| h.scaled)
        .max()
        .unwrap_or(0)
        .clamp(low, top);
    let span = (high - low + 1) as usize;
    let mut memo: [Vec<Option<(f64, f64)>>; 2] = [vec![None; span], vec![None; span]];
    let mut values = |h: &RawHit| -> (f64, f64) {
        let strand = usize::from(h.reverse);
        let slot = &mut memo[strand][(h.scaled.clamp(low, high) - low) as usize];
        *slot.get_or_insert_with(|| {
            let pssm = m.pssm(strand);
            (pssm.score(h.scaled), pssm.pvalue(h.scaled))
        })
    };
    let mut keys: Vec<(u64, u32)> = raw
        .iter()
        .enumerate()
        .map(|(i, h)| (p_key(values(h).1), i as u32))
        .collect();
    keys.sort_unstable();
    let mut q: Vec<f64> = keys.iter().map(|k| values(&raw[k.1 as usize]).1).collect();
    qvalue::qvalues_in_place(&mut q, pi0, tally.tests);
    let width = m.width();
    let kept = keys
        .iter()
        .zip(q)
        .filter(|(_, q)| qv_thresh.is_none_or(|t| *q <= t));
    let mut out = RankedHits {
        hits: Vec::with_capacity(keys.len()),
        matched: Vec::with_capacity(keys.len() * width),
        width,
    };
    for (&(_, i), qvalue) in kept {
        let h = &raw[i as usize];
        let (score, pvalue) = values(h);
        out.hits.push(Ranked {
            start: h.start + 1,
            score,
            pvalue,
            qvalue,
            record: h.record,
            scaled: h.scaled,
            reverse: h.reverse,
        });
        out.matched.extend_from_slice(tally.matched(i as usize));
    }
    out
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
    lists: Vec<RankedHits>,
    /// (motif, index in its list) of every hit, in FIMO's order.
    order: Vec<(u32, u32)>,
}

impl OrderedHits {
    /// Merges per-motif lists (list `i` holds motif `i`'s hits, sorted by p-value,
    /// record, start, strand): (p-value, motif, index) keys, laid out list after list,
    /// sorted by p-value with a stable parallel merge sort, which keeps equal p-values
    /// in motif and index order and finds the lists' sorted runs already made (faster
    /// here than sorting the whole keys without regard to order).
    pub(super) fn merge(lists: Vec<RankedHits>) -> OrderedHits {
        // one allocation of the final size, each list's part filled in parallel
        let mut keys = vec![(0u64, 0u32, 0u32); lists.iter().map(RankedHits::len).sum()];
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
                for (k, (i, h)) in part.iter_mut().zip(l.hits.iter().enumerate()) {
                    *k = (p_key(h.pvalue), mi as u32, i as u32);
                }
            });
        keys.par_sort_by_key(|k| k.0);
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
    pub fn range(&self, range: Range<usize>) -> impl Iterator<Item = HitView<'_>> + '_ {
        let end = range.end.min(self.order.len());
        let start = range.start.min(end);
        self.order[start..end]
            .iter()
            .map(|&(mi, i)| self.lists[mi as usize].get(mi, i as usize))
    }

    /// Every hit, in order.
    pub fn iter(&self) -> impl Iterator<Item = HitView<'_>> + '_ {
        self.range(0..self.order.len())
    }

    /// The hits as one list, in order (gathered in parallel).
    pub fn into_vec(self) -> Vec<Hit> {
        let lists = &self.lists;
        self.order
            .par_iter()
            .map(|&(mi, i)| lists[mi as usize].get(mi, i as usize).to_owned_hit())
            .collect()
    }
}
