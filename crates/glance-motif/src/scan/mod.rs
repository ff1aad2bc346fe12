//! Multi-motif scanning with FIMO's scores and p-values: a [`Scanner`] compiles every
//! motif once, then scans prepared chunks of sequence for all motifs (rayon over motifs),
//! accumulating per-motif hits, test counts and the p-value sample for q-values in
//! [`ScanTally`]s; [`Scanner::finish`] turns them into [`Hit`]s with q-values.

pub mod driver;
pub mod fimo_pi0;
pub mod kernel;
pub mod lookup;
pub mod matched;
mod order;
pub mod prep;
pub mod tables;
mod tally;

use rayon::prelude::*;
use std::sync::Arc;

use glance_seq::ChunkOptions;

use crate::error::MotifError;
use crate::motif::Motif;
use crate::pssm::{MotifModel, Pssm, DEFAULT_PSEUDOCOUNT};
use crate::qvalue::{self, NUM_LAMBDA};
pub use matched::Matched;
pub use order::OrderedHits;
use prep::Prepared;
use tables::{StrandTables, MAX_K};
pub use tally::{RawHit, ScanTally};

/// Scan settings (FIMO's defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct ScanOptions {
    /// Keep windows with p-value `<= thresh` (FIMO `--thresh`, default 1e-4).
    pub thresh: f64,
    /// Scan the reverse strand too (FIMO's default; `--norc` turns it off).
    pub both_strands: bool,
    /// Motif pseudocount (FIMO `--motif-pseudo`, default 0.1).
    pub pseudocount: f64,
    /// Keep each motif's whole p-value table (needed for p-values of windows below the
    /// threshold, as in region scores); otherwise only the part at the threshold and
    /// above is kept after compiling.
    pub full_pvalue_tables: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            thresh: 1e-4,
            both_strands: true,
            pseudocount: DEFAULT_PSEUDOCOUNT,
            full_pvalue_tables: false,
        }
    }
}

/// One motif compiled for scanning.
#[derive(Debug, Clone)]
pub struct CompiledMotif {
    /// The motif as read.
    pub motif: Motif,
    /// FIMO's PSSMs and p-value tables.
    pub model: MotifModel,
    /// Smallest scaled score with p-value `<= thresh` (`i32::MAX` when unreachable).
    pub threshold: i32,
    /// Tables per strand: forward, then reverse when scanning both strands.
    pub strands: Vec<StrandTables>,
    /// `bucket[s]`: number of lambdas `lambda_i` with p-value(s) `>= lambda_i`, for
    /// the q-value pi0 sample.
    pub bucket: Vec<u8>,
}

impl CompiledMotif {
    /// Motif width.
    pub fn width(&self) -> usize {
        self.model.fwd.width()
    }

    /// The PSSM of strand `s` (0 forward, 1 reverse).
    pub fn pssm(&self, s: usize) -> &Pssm {
        if s == 0 {
            &self.model.fwd
        } else {
            self.model.rev.as_ref().unwrap_or(&self.model.fwd)
        }
    }

    /// Completes a raw hit whose bases are `matched` with FIMO's reported score and
    /// p-value (q-value NaN).
    pub fn to_hit(&self, motif_index: usize, h: RawHit, matched: &[u8]) -> Hit {
        let pssm = self.pssm(usize::from(h.reverse));
        Hit {
            motif: motif_index as u32,
            record: h.record,
            start: h.start + 1,
            stop: h.start + self.width() as u64,
            reverse: h.reverse,
            scaled: h.scaled,
            score: pssm.score(h.scaled),
            pvalue: pssm.pvalue(h.scaled),
            qvalue: f64::NAN,
            matched: Matched::new(matched),
        }
    }
}

/// Compiled motifs plus the options they were compiled for.
#[derive(Debug, Clone)]
pub struct Scanner {
    motifs: Vec<CompiledMotif>,
    options: ScanOptions,
    ks: Vec<bool>,
    max_width: usize,
    sample_base: u64,
}

/// A chunk of one record handed to [`Scanner::scan_chunk`].
#[derive(Debug, Clone, Copy)]
pub struct ChunkMeta {
    /// Index of the record (into the caller's list of names).
    pub record: u32,
    /// 0-based position in the record of the chunk's first base.
    pub offset: u64,
    /// Window starts this chunk owns, relative to its first base.
    pub core_start: usize,
    /// End (exclusive) of the owned window starts, relative to the first base.
    pub core_end: usize,
    /// Global window index of the chunk's first base: bases of all earlier records plus
    /// `offset` (drives the deterministic p-value sample).
    pub global: u64,
}

/// A finished hit with its p-value and q-value; `M` holds the matched bases (owned by
/// default; [`HitView`] borrows them).
#[derive(Debug, Clone, PartialEq)]
pub struct Hit<M = Matched> {
    /// Motif index.
    pub motif: u32,
    /// Record index.
    pub record: u32,
    /// 1-based first position.
    pub start: u64,
    /// 1-based last position (inclusive).
    pub stop: u64,
    /// Reverse strand?
    pub reverse: bool,
    /// Scaled integer score.
    pub scaled: i32,
    /// Reported score (FIMO's).
    pub score: f64,
    /// p-value (FIMO's, 10 significant digits).
    pub pvalue: f64,
    /// q-value.
    pub qvalue: f64,
    /// Matched sequence.
    pub matched: M,
}

/// A hit whose matched bases are borrowed (as [`OrderedHits`] hands them out).
pub type HitView<'a> = Hit<&'a [u8]>;

impl<M> Hit<M> {
    /// This hit with `matched` as its matched bases.
    fn with_matched<N>(&self, matched: N) -> Hit<N> {
        Hit {
            motif: self.motif,
            record: self.record,
            start: self.start,
            stop: self.stop,
            reverse: self.reverse,
            scaled: self.scaled,
            score: self.score,
            pvalue: self.pvalue,
            qvalue: self.qvalue,
            matched,
        }
    }
}

impl Hit {
    /// This hit with its matched bases borrowed.
    pub fn view(&self) -> HitView<'_> {
        self.with_matched(&self.matched)
    }
}

impl HitView<'_> {
    /// This hit with its own copy of the matched bases.
    pub fn to_owned_hit(&self) -> Hit {
        self.with_matched(Matched::new(self.matched))
    }
}

impl Scanner {
    /// Compiles motifs for scanning against background `bg` (as resolved by
    /// [`crate::BackgroundSource::resolve`]).
    pub fn new(
        motifs: &[Motif],
        bg: [f64; 4],
        options: ScanOptions,
    ) -> Result<Scanner, MotifError> {
        if motifs.is_empty() {
            return Err(MotifError::Empty);
        }
        if !(options.thresh > 0.0 && options.thresh <= 1.0) {
            return Err(MotifError::Invalid(format!(
                "threshold {} must lie in (0, 1]",
                options.thresh
            )));
        }
        if !(options.pseudocount >= 0.0 && options.pseudocount.is_finite()) {
            return Err(MotifError::Invalid(format!(
                "pseudocount {} must be >= 0",
                options.pseudocount
            )));
        }
        let lam = qvalue::lambdas();
        let compiled: Vec<CompiledMotif> = motifs
            .par_iter()
            .map(|m| {
                let mut model =
                    MotifModel::build(m, &bg, options.pseudocount, options.both_strands);
                let threshold = model
                    .fwd
                    .threshold_score(options.thresh)
                    .unwrap_or(i32::MAX);
                let mut cutoffs = [0i32; NUM_LAMBDA];
                for (c, &l) in cutoffs.iter_mut().zip(&lam) {
                    *c = model.fwd.last_score_with_pvalue_at_least(l);
                }
                let top = model.fwd.max_scaled() as usize;
                let bucket = lambda_buckets(&cutoffs, top);
                if !options.full_pvalue_tables {
                    let from = threshold.min(top as i32).max(0) as usize;
                    let shared = model.strands_share_scores();
                    model.fwd.truncate_table(from);
                    if let Some(rev) = model.rev.as_mut() {
                        if shared {
                            rev.pv = Arc::clone(&model.fwd.pv);
                            rev.pv_start = model.fwd.pv_start;
                        } else {
                            rev.truncate_table(from);
                        }
                    }
                }
                let mut strands = vec![StrandTables::new(&model.fwd.matrix, threshold)];
                if let Some(rev) = &model.rev {
                    strands.push(StrandTables::new(&rev.matrix, threshold));
                }
                CompiledMotif {
                    motif: m.clone(),
                    model,
                    threshold,
                    strands,
                    bucket,
                }
            })
            .collect();
        let max_width = compiled.iter().map(|m| m.width()).max().unwrap_or(1);
        let mut ks = vec![false; MAX_K + 1];
        for m in &compiled {
            for s in &m.strands {
                for b in &s.blocks {
                    ks[b.k] = true;
                }
            }
        }
        let sample_base = qvalue::sample_base(compiled.len());
        Ok(Scanner {
            sample_base,
            motifs: compiled,
            options,
            ks,
            max_width,
        })
    }

    /// The compiled motifs.
    pub fn motifs(&self) -> &[CompiledMotif] {
        &self.motifs
    }

    /// The options.
    pub fn options(&self) -> &ScanOptions {
        &self.options
    }

    /// The widest motif: chunks need `max_width - 1` bases after their core.
    pub fn max_width(&self) -> usize {
        self.max_width
    }

    /// How to cut inputs into chunks of `size` bases for this scanner: no left halo and
    /// `max_width - 1` bases after the core, so every window starting in a core is whole.
    pub fn chunk_options(&self, size: usize) -> ChunkOptions {
        ChunkOptions {
            size,
            halo_left: 0,
            halo_right: self.max_width - 1,
        }
    }

    /// Fresh tallies, one per motif.
    pub fn new_tallies(&self) -> Vec<ScanTally> {
        self.motifs
            .iter()
            .map(|m| ScanTally::new(m.width()))
            .collect()
    }

    /// Prepares a chunk's bases (reusing `prep`'s buffers).
    pub fn prepare(&self, bases: &[u8], prep: &mut Prepared) {
        prep.fill(bases, &self.ks, self.max_width);
    }

    /// Scans one prepared chunk for every motif (in parallel) into `tallies`.
    /// `bases` must extend `max_width - 1` bases past `core_end` unless the record ends.
    pub fn scan_chunk(
        &self,
        bases: &[u8],
        prep: &Prepared,
        meta: &ChunkMeta,
        tallies: &mut [ScanTally],
    ) {
        let n = prep.len();
        let core_end = meta.core_end.min(n);
        // Histogram of valid runs (capped at the widest motif) over the core: the
        // number of scoreable windows of width w is the count of runs >= w.
        let cap = self.max_width;
        let mut hist = vec![0u64; cap + 1];
        for &r in &prep.valid_run[meta.core_start.min(n)..core_end] {
            hist[usize::from(r).min(cap)] += 1;
        }
        let mut at_least = vec![0u64; cap + 2];
        for w in (0..=cap).rev() {
            at_least[w] = at_least[w + 1] + hist[w];
        }
        let mut samples = Vec::new();
        qvalue::sampled_windows(
            meta.global + meta.core_start as u64,
            meta.global + core_end as u64,
            self.sample_base,
            &mut samples,
        );
        // Where each sampled window's k-mer codes and valid run are read: the code at
        // offset `o` of window `j` is `kmers[k][starts[j] + o * stride]`, its valid run
        // `valid[starts[j]]`. Dense samples (a copy at least as large as the chunk, e.g.
        // every window of the first chunks with few motifs) are read in place from the
        // chunk's own arrays, which are padded for it; sparse ones are gathered offset by
        // offset into one small buffer, so each block of a motif reads its codes of all
        // samples contiguously.
        let mw = self.max_width;
        let positions = samples.iter().map(|&(g, _)| (g - meta.global) as usize);
        let gathered: Vec<Vec<u16>>;
        let gathered_valid: Vec<u16>;
        let (kmers, valid, starts, stride): (&[Vec<u16>], &[u16], Vec<usize>, usize) =
            if samples.len() * mw >= n {
                (&prep.kmers, &prep.valid_run, positions.collect(), 1)
            } else {
                let pos: Vec<usize> = positions.collect();
                gathered = prep
                    .kmers
                    .iter()
                    .map(|codes| {
                        if codes.is_empty() {
                            return Vec::new();
                        }
                        let mut v = Vec::with_capacity(mw * pos.len());
                        for o in 0..mw {
                            v.extend(pos.iter().map(|&p| codes[p + o]));
                        }
                        v
                    })
                    .collect();
                gathered_valid = pos.iter().map(|&p| prep.valid_run[p]).collect();
                (
                    &gathered,
                    &gathered_valid,
                    (0..pos.len()).collect(),
                    pos.len(),
                )
            };
        let strands = if self.options.both_strands { 2 } else { 1 };
        self.motifs
            .par_iter()
            .zip(tallies.par_iter_mut())
            .for_each_init(
                || (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new()),
                |(cand, found, cand2, found2, sums), (m, tally)| {
                    let w = m.width();
                    tally.tests += at_least[w] * strands as u64;
                    // p-value sample for pi0: each strand's scores block by block over
                    // all samples (independent table reads; the same sums as
                    // `StrandTables::score`), binned into four accumulators (sample
                    // parity x strand) so that consecutive samples, which mostly fall in
                    // the same bin, do not wait on each other's add
                    let mut bins = [[0u64; NUM_LAMBDA + 1]; 4];
                    let mut count = 0u64;
                    for (si, t) in m.strands.iter().enumerate() {
                        sums.clear();
                        sums.resize(samples.len(), 0i32);
                        for blk in &t.blocks {
                            let codes = &kmers[blk.k][blk.offset * stride..];
                            if stride == 1 {
                                for (acc, &start) in sums.iter_mut().zip(&starts) {
                                    *acc += blk.table[usize::from(codes[start])];
                                }
                            } else {
                                // gathered: sample j's code is codes[j]
                                lookup::add_lookups(sums, &blk.table, codes);
                            }
                        }
                        let (even, odd) = bins.split_at_mut(2);
                        let pair = [&mut even[si], &mut odd[si]];
                        count += bin_samples(sums, &samples, &starts, valid, w, &m.bucket, pair);
                    }
                    tally.samples += count;
                    for part in &bins {
                        for (t, &v) in tally.bins.iter_mut().zip(part) {
                            *t += v;
                        }
                    }
                    if m.threshold == i32::MAX {
                        return;
                    }
                    let span = kernel::Span {
                        start: meta.core_start,
                        end: core_end,
                        width: w,
                        threshold: m.threshold,
                    };
                    found.clear();
                    found2.clear();
                    let paired = match m.strands.as_slice() {
                        [f, r] => kernel::scan_pair(f, r, prep, span, cand, cand2, found, found2),
                        _ => false,
                    };
                    if !paired {
                        kernel::scan_strand(&m.strands[0], prep, span, cand, found);
                        if let Some(r) = m.strands.get(1) {
                            kernel::scan_strand(r, prep, span, cand, found2);
                        }
                    }
                    push_hits(tally, bases, meta, found, found2);
                },
            );
    }

    /// Takes the hits collected so far (without q-values, FIMO `--text`), ordered by
    /// motif, record, start and strand, leaving test counts and samples in place.
    pub fn take_hits(&self, tallies: &mut [ScanTally]) -> Vec<Hit> {
        let mut out = Vec::new();
        for (mi, (tally, m)) in tallies.iter_mut().zip(&self.motifs).enumerate() {
            tally.sort_by_position();
            let (hits, matched) = tally.take_hits();
            let w = m.width();
            out.extend(
                hits.into_iter()
                    .zip(matched.chunks_exact(w))
                    .map(|(h, bases)| m.to_hit(mi, h, bases)),
            );
        }
        out
    }

    /// Turns the tallies of a finished run into hits with q-values, sorted as FIMO
    /// prints them: by p-value, then motif, record, start and strand (FIMO leaves ties in
    /// heap order; glance makes them deterministic). With `qv_thresh`, only hits with
    /// q-value `<= options.thresh` are kept.
    pub fn finish(&self, tallies: Vec<ScanTally>, qv_thresh: bool) -> Vec<Hit> {
        self.finish_with_pi0(tallies, qv_thresh, None)
    }

    /// As [`Scanner::finish`], with each motif's pi0 given (e.g. FIMO's own, from
    /// [`fimo_pi0::FimoPi0`]) instead of glance's estimate.
    pub fn finish_with_pi0(
        &self,
        tallies: Vec<ScanTally>,
        qv_thresh: bool,
        pi0: Option<&[f64]>,
    ) -> Vec<Hit> {
        self.finish_ordered(tallies, qv_thresh, pi0).into_vec()
    }

    /// As [`Scanner::finish_with_pi0`], keeping the hits per motif with their merged
    /// order (for writers that read them in order once).
    pub fn finish_ordered(
        &self,
        tallies: Vec<ScanTally>,
        qv_thresh: bool,
        pi0: Option<&[f64]>,
    ) -> OrderedHits {
        let qv = qv_thresh.then_some(self.options.thresh);
        let per_motif: Vec<order::RankedHits> = tallies
            .into_par_iter()
            .zip(self.motifs.par_iter())
            .enumerate()
            .map(|(mi, (tally, m))| {
                let pi0 = pi0
                    .and_then(|p| p.get(mi).copied())
                    .unwrap_or_else(|| qvalue::estimate_pi0(&tally.bins, tally.samples));
                order::motif_hits(m, tally, pi0, qv)
            })
            .collect();
        OrderedHits::merge(per_motif)
    }
}

/// `bucket[s] = #{i : cutoffs[i] >= s}` for every score `s` in `0..=top`, from the
/// lambdas' score cutoffs (non-increasing, -1 where no score qualifies): runs of equal
/// counts, each filled at once.
fn lambda_buckets(cutoffs: &[i32; NUM_LAMBDA], top: usize) -> Vec<u8> {
    let mut bucket = vec![0u8; top + 1];
    // scores up to cutoffs[b - 1] (those not already filled) have count b
    let mut from = 0usize;
    for b in (1..=NUM_LAMBDA).rev() {
        let Ok(upto) = usize::try_from(i64::from(cutoffs[b - 1]) + 1) else {
            continue;
        };
        let upto = upto.min(top + 1);
        if upto > from {
            bucket[from..upto].fill(b as u8);
            from = upto;
        }
    }
    bucket
}

/// Bins one strand's sampled scores for the pi0 estimate: sample `k` (score `sums[k]`,
/// weight `samples[k].1`, valid run `valid[starts[k]]`) adds its weight to bin
/// `bucket[score]` of `bins[k % 2]` when its window is whole (run `>= width`) and
/// scoreable; returns how many were binned. Kept out of line so that its loop owns the
/// registers (inlined into the per-motif closure, the count lived on the stack and
/// every sample waited on the previous one's increment).
#[inline(never)]
fn bin_samples(
    sums: &[i32],
    samples: &[(u64, u64)],
    starts: &[usize],
    valid: &[u16],
    width: usize,
    bucket: &[u8],
    bins: [&mut [u64; NUM_LAMBDA + 1]; 2],
) -> u64 {
    let [even, odd] = bins;
    let mut count = 0u64;
    let mut windows = sums.iter().zip(samples).zip(starts);
    loop {
        // two samples per step, one per bin array: consecutive samples mostly fall in
        // the same bin and would otherwise wait on each other's add
        for bins in [&mut *even, &mut *odd] {
            let Some(((&s, &(_, weight)), &start)) = windows.next() else {
                return count;
            };
            if usize::from(valid[start]) >= width && s >= 0 {
                bins[usize::from(bucket[s as usize])] += weight;
                count += 1;
            }
        }
    }
}

/// Appends one chunk's hits of a motif to its tally in position order (forward before
/// reverse at the same start), with their matched bases: `forward` and `reverse` hold
/// `(window start in the chunk, scaled score)` of each strand, each in position order.
fn push_hits(
    tally: &mut ScanTally,
    bases: &[u8],
    meta: &ChunkMeta,
    forward: &[(u32, i32)],
    reverse: &[(u32, i32)],
) {
    let w = tally.width();
    let (mut f, mut r) = (forward.iter().peekable(), reverse.iter().peekable());
    loop {
        let next = match (f.peek(), r.peek()) {
            (Some(a), Some(b)) if b.0 < a.0 => r.next().map(|h| (h, true)),
            (Some(_), _) => f.next().map(|h| (h, false)),
            (None, _) => r.next().map(|h| (h, true)),
        };
        let Some((&(i, scaled), strand)) = next else {
            return;
        };
        let i = i as usize;
        let window = &bases[i..i + w];
        let hit = RawHit {
            record: meta.record,
            start: meta.offset + i as u64,
            reverse: strand,
            scaled,
        };
        if strand {
            tally.push(hit, window.iter().rev().map(|&b| complement(b)));
        } else {
            tally.push(hit, window.iter().copied());
        }
    }
}

/// Asks the CPU to start loading the cache line holding `value` (a hint only: nothing
/// happens on CPUs without a prefetch instruction here). For the scan's reads that lie
/// far apart, where the hardware prefetcher cannot guess the next address.
#[inline(always)]
fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing the program sees and never faults; the pointer
    // comes from a reference, so it is valid anyway.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch(std::ptr::from_ref(value).cast::<i8>(), _MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// Complement of a base as FIMO prints reverse-strand matches (upper case).
fn complement(b: u8) -> u8 {
    COMPLEMENT[usize::from(b)]
}

/// [`complement`] of every byte: ACGT (either case) to the upper-case complement,
/// anything else upper-cased.
const COMPLEMENT: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = match b {
            b'A' | b'a' => b'T',
            b'C' | b'c' => b'G',
            b'G' | b'g' => b'C',
            b'T' | b't' => b'A',
            other => other.to_ascii_uppercase(),
        };
        i += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;

    /// The runs filled at once equal the definition, score by score.
    #[test]
    fn lambda_buckets_count_the_cutoffs_at_or_above_each_score() {
        let mut seed = 7u64;
        let mut next = |m: i32| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) % m as u64) as i32
        };
        for top in [0usize, 1, 5, 40, 3000] {
            for _ in 0..20 {
                // non-increasing cutoffs in -1..=top + 2 (past the top, or none reachable)
                let mut cutoffs = [0i32; NUM_LAMBDA];
                let mut c = top as i32 + 2;
                for slot in &mut cutoffs {
                    c -= next(3 + top as i32 / 50);
                    *slot = c.max(-1);
                }
                let got = lambda_buckets(&cutoffs, top);
                assert_eq!(got.len(), top + 1);
                for (s, &b) in got.iter().enumerate() {
                    let want = cutoffs
                        .iter()
                        .filter(|&&c| i64::from(c) >= s as i64)
                        .count();
                    assert_eq!(usize::from(b), want, "top {top} s {s}");
                }
            }
        }
    }
}
