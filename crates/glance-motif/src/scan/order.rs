//! Turning a finished run's per-motif tallies into FIMO's order: each motif's raw hits
//! sorted by p-value (then record, start, strand) with their q-values, and every motif's
//! list merged by p-value, then motif, into an [`OrderedHits`]. Neither sorts the hits:
//! a motif's hits take few distinct p-values, so they are ranked by counting, and the
//! merge sorts the runs of equal p-values rather than the hits. Hits stay compact
//! (numbers in one array, matched bases in another) until a writer reads them: a
//! motif's tally is reordered in place, never copied.

use std::ops::Range;

use rayon::prelude::*;

use super::{CompiledMotif, Hit, HitView, RawHit, ScanTally};
use crate::qvalue;

/// Reported score and p-value of each scaled score `low..=high` of a motif's hits, per
/// strand: both are functions of the strand and the scaled score, so hits share them.
/// Strands whose functions are the same (a complement-symmetric background) share one
/// table.
#[derive(Debug, Clone)]
struct ScoreMemo {
    /// Per strand (only the first when `shared`): NaN where no hit has the score.
    values: [Vec<(f64, f64)>; 2],
    low: i32,
    high: i32,
    /// Both strands use `values[0]`.
    shared: bool,
}

impl ScoreMemo {
    /// The memo of `m`'s hits `raw`: scores in the motif's range 0..=w * RANGE (scores
    /// outside it, which no scan makes, share the nearest end's entry).
    fn of(m: &CompiledMotif, raw: &[RawHit]) -> ScoreMemo {
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
        // both values round to 10 digits, which costs a pow and a log10: computed once
        // per (strand, score) that a hit has, NaN elsewhere
        let span = (high - low + 1) as usize;
        let shared = m.model.strands_share_scores();
        let mut memo = ScoreMemo {
            values: [
                vec![(f64::NAN, f64::NAN); span],
                if shared {
                    Vec::new()
                } else {
                    vec![(f64::NAN, f64::NAN); span]
                },
            ],
            low,
            high,
            shared,
        };
        for h in raw {
            let (strand, at) = (memo.table(h.reverse), memo.slot(h.scaled));
            let slot = &mut memo.values[strand][at];
            if slot.1.is_nan() {
                let pssm = m.pssm(strand);
                *slot = (pssm.score(h.scaled), pssm.pvalue(h.scaled));
            }
        }
        memo
    }

    /// Index of scaled score `scaled` in either strand's values.
    fn slot(&self, scaled: i32) -> usize {
        (scaled.clamp(self.low, self.high) - self.low) as usize
    }

    /// Which of `values` holds strand `reverse`'s entries.
    fn table(&self, reverse: bool) -> usize {
        usize::from(reverse && !self.shared)
    }

    /// Reported score and p-value of a hit on strand `reverse` with score `scaled`.
    fn get(&self, reverse: bool, scaled: i32) -> (f64, f64) {
        self.values[self.table(reverse)][self.slot(scaled)]
    }

    /// The distinct p-values of the memo's hits in increasing order, and the rank of
    /// each (strand, slot) a hit has among them (strands whose p-values are equal share
    /// a rank).
    fn ranks(&self) -> PRanks {
        let mut used: Vec<(u64, usize, usize)> = Vec::new();
        for (strand, values) in self.values.iter().enumerate() {
            for (slot, &(_, p)) in values.iter().enumerate() {
                if !p.is_nan() {
                    used.push((p_key(p), strand, slot));
                }
            }
        }
        used.sort_unstable();
        let mut ranks = PRanks {
            keys: Vec::new(),
            of_slot: self.values.each_ref().map(|v| vec![0; v.len()]),
        };
        for (key, strand, slot) in used {
            if ranks.keys.last() != Some(&key) {
                ranks.keys.push(key);
            }
            ranks.of_slot[strand][slot] = (ranks.keys.len() - 1) as u32;
        }
        ranks
    }
}

/// A motif's distinct hit p-values, ranked (see [`ScoreMemo::ranks`]).
struct PRanks {
    /// Rank `r`'s p-value as a [`p_key`], increasing.
    keys: Vec<u64>,
    /// The rank of each [`ScoreMemo`] slot, per table of `values` (0 where no hit has
    /// it).
    of_slot: [Vec<u32>; 2],
}

/// One motif's hits in FIMO's order: its tally, reordered in place (hits and matched
/// bases), with each hit's q-value, the memo of their scores and p-values, and the runs
/// of equal p-values the order consists of.
#[derive(Debug, Clone)]
pub(super) struct RankedHits {
    tally: ScanTally,
    qvalues: Vec<f64>,
    memo: ScoreMemo,
    /// (p-value key, number of hits) of each run of equal p-values, in order.
    runs: Vec<(u64, u32)>,
}

impl RankedHits {
    /// Number of hits.
    fn len(&self) -> usize {
        self.qvalues.len()
    }

    /// Asks the CPU to start loading what [`RankedHits::get`] reads of hit `i` (its
    /// numbers, q-value and matched bases): the merged order visits every motif's list
    /// in turn, too many streams for the hardware prefetcher to follow.
    fn prefetch(&self, i: usize) {
        if let (Some(h), Some(q)) = (self.tally.hits().get(i), self.qvalues.get(i)) {
            super::prefetch(h);
            super::prefetch(q);
            if let Some(b) = self.tally.matched(i).first() {
                super::prefetch(b);
            }
        }
    }

    /// Hit `i` of motif `motif` (this list's motif).
    fn get(&self, motif: u32, i: usize) -> HitView<'_> {
        let h = &self.tally.hits()[i];
        let (score, pvalue) = self.memo.get(h.reverse, h.scaled);
        Hit {
            motif,
            record: h.record,
            start: h.start + 1,
            stop: h.start + self.tally.width() as u64,
            reverse: h.reverse,
            scaled: h.scaled,
            score,
            pvalue,
            qvalue: self.qvalues[i],
            matched: self.tally.matched(i),
        }
    }
}

/// The hits of motif `m` in FIMO's order (p-value, record, start, strand) with
/// q-values from `pi0` and the motif's test count; with `qv_thresh`, only those with
/// q-value `<= thresh`. A counting sort: the hits take few distinct p-values (one per
/// strand and score), so each hit's rank among those is counted and the hits placed
/// rank by rank in position order, which is the order of a sort by (p-value, position).
pub(super) fn motif_hits(
    m: &CompiledMotif,
    mut tally: ScanTally,
    pi0: f64,
    qv_thresh: Option<f64>,
) -> RankedHits {
    // ties in p-value keep the tally's order: record, start, strand
    tally.sort_by_position();
    let raw = tally.hits();
    let memo = ScoreMemo::of(m, raw);
    let ranks = memo.ranks();
    let rank_of = |h: &RawHit| ranks.of_slot[memo.table(h.reverse)][memo.slot(h.scaled)];
    // every rank is some hit's (the memo holds only the hits' scores): no count is 0
    let mut counts = vec![0u32; ranks.keys.len()];
    for h in raw {
        counts[rank_of(h) as usize] += 1;
    }
    // where each rank's next hit goes, then the hits placed in position order
    let mut next = Vec::with_capacity(counts.len());
    let mut at = 0u32;
    for &c in &counts {
        next.push(at);
        at += c;
    }
    let mut order = vec![0u32; raw.len()];
    for (i, h) in raw.iter().enumerate() {
        let slot = &mut next[rank_of(h) as usize];
        order[*slot as usize] = i as u32;
        *slot += 1;
    }
    let mut runs: Vec<(u64, u32)> = ranks.keys.into_iter().zip(counts).collect();
    let mut qvalues: Vec<f64> = Vec::with_capacity(raw.len());
    for &(key, c) in &runs {
        qvalues.extend(std::iter::repeat_n(p_of_key(key), c as usize));
    }
    qvalue::qvalues_in_place(&mut qvalues, pi0, tally.tests);
    // the tally takes FIMO's order (a counting sort's placement is a permutation of its
    // hits, so this cannot fail)
    let moved = tally.permute(order);
    debug_assert!(moved);
    // q-values never decrease down the order: those within the threshold lead
    if let Some(t) = qv_thresh {
        let kept = qvalues.partition_point(|&q| q <= t);
        qvalues.truncate(kept);
        tally.truncate(kept);
        truncate_runs(&mut runs, kept);
    }
    RankedHits {
        tally,
        qvalues,
        memo,
        runs,
    }
}

/// Shortens `runs` (lengths in their second field) to cover the first `len` hits.
fn truncate_runs(runs: &mut Vec<(u64, u32)>, len: usize) {
    let mut left = len;
    let mut keep = 0;
    for run in runs.iter_mut() {
        if left == 0 {
            break;
        }
        run.1 = run.1.min(left as u32);
        left -= run.1 as usize;
        keep += 1;
    }
    runs.truncate(keep);
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

/// The p-value of a [`p_key`].
fn p_of_key(key: u64) -> f64 {
    f64::from_bits(if key >> 63 == 1 {
        key & !(1 << 63)
    } else {
        !key
    })
}

/// How many hits ahead in the merged order [`OrderedHits::range`] prefetches.
const PREFETCH_AHEAD: usize = 16;

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
    /// record, start, strand). Each list is a sequence of runs of equal p-values, so
    /// the merge sorts the runs, (p-value, motif) keys that are unique, and lays each
    /// run's hits out in list order: the order of sorting every hit by (p-value, motif,
    /// index), from a sort of far fewer keys.
    pub(super) fn merge(lists: Vec<RankedHits>) -> OrderedHits {
        let mut runs: Vec<(u64, u32, u32, u32)> =
            Vec::with_capacity(lists.iter().map(|l| l.runs.len()).sum());
        for (mi, l) in lists.iter().enumerate() {
            let mut first = 0u32;
            for &(key, len) in &l.runs {
                runs.push((key, mi as u32, first, len));
                first += len;
            }
        }
        runs.par_sort_unstable();
        let mut order = Vec::with_capacity(lists.iter().map(RankedHits::len).sum());
        for &(_, mi, first, len) in &runs {
            order.extend((first..first + len).map(|i| (mi, i)));
        }
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
        (start..end).map(move |at| {
            if let Some(&(mi, i)) = self.order.get(at + PREFETCH_AHEAD) {
                self.lists[mi as usize].prefetch(i as usize);
            }
            let (mi, i) = self.order[at];
            self.lists[mi as usize].get(mi, i as usize)
        })
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
