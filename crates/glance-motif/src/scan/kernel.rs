//! The per-motif, per-strand scan of one prepared chunk: a SIMD prefilter over
//! quantised deficits when the CPU has it, then the exact k-mer table score with
//! lookahead for the survivors; or the lookahead scorer alone on other CPUs. Both give
//! exactly the plain column-sum hits.
//!
//! The prefilter is written once (`filter`), generic over a small lane trait
//! (`Lanes`) with one implementation per instruction set: AVX2 (dinucleotide tables,
//! `pshufb`, 32 windows per step), AVX-512BW (dinucleotide tables, 64 windows) and
//! AVX-512VBMI (trinucleotide tables, `vpermb`, 64 windows); the `#[target_feature]`
//! entry points only instantiate it. Its two-strand form (`filter_pair`, behind
//! [`scan_pair`]) runs on every one of them.

use super::prep::Prepared;
use super::tables::StrandTables;

/// What to scan: window starts `start..end` of a motif `width` wide, keeping scores
/// `>= threshold`.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    /// First window start.
    pub start: usize,
    /// End (exclusive) of the window starts.
    pub end: usize,
    /// Motif width.
    pub width: usize,
    /// Smallest scaled score kept.
    pub threshold: i32,
}

/// Appends `(window start, scaled score)` for every window of `span` whose score reaches
/// the threshold (windows must fit in the chunk); `cand` is scratch space.
pub fn scan_strand(
    t: &StrandTables,
    prep: &Prepared,
    span: Span,
    cand: &mut Vec<u32>,
    out: &mut Vec<(u32, i32)>,
) {
    let Span {
        start,
        end,
        width,
        threshold,
    } = span;
    let end = end.min((prep.len() + 1).saturating_sub(width));
    if start >= end || t.dinuc.is_empty() {
        return;
    }
    cand.clear();
    if simd_available() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX-512VBMI / AVX-512BW / AVX2 presence was checked at run time;
        // `prep.dinuc` and `prep.trinuc` are padded by at least PAD (>= 64) + max width
        // bytes past the chunk, which covers every load.
        unsafe {
            if vbmi_available() {
                filter_vbmi(t, prep, start, end, cand)
            } else if avx512_available() {
                filter_avx512(t, prep, start, end, cand)
            } else {
                filter_avx2(t, prep, start, end, cand)
            }
        };
        score_candidates(t, prep, cand, threshold, out);
    } else {
        for i in start..end {
            if let Some(s) = t.score_at_least(prep, i, threshold) {
                out.push((i as u32, s));
            }
        }
    }
}

/// Scans both strands of one motif in a single pass when the two strands' groups start
/// at the same offsets (always so for a motif and its reverse complement) and the CPU has
/// a SIMD prefilter: trinucleotide groups with AVX-512VBMI, else dinucleotide groups with
/// AVX-512BW or AVX2. Each code vector is loaded once for both strands and the tables
/// stay in registers. Appends each strand's hits as [`scan_strand`] does and returns
/// true, or returns false (nothing done) when the fused path does not apply (more than
/// 12 groups, no SIMD).
#[allow(clippy::too_many_arguments)]
pub fn scan_pair(
    fwd: &StrandTables,
    rev: &StrandTables,
    prep: &Prepared,
    span: Span,
    cand_f: &mut Vec<u32>,
    cand_r: &mut Vec<u32>,
    out_f: &mut Vec<(u32, i32)>,
    out_r: &mut Vec<(u32, i32)>,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        fn same_offsets<T>(a: &[(T, usize)], b: &[(T, usize)]) -> bool {
            !a.is_empty() && a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.1 == y.1)
        }
        let isa = if vbmi_available() {
            same_offsets(&fwd.trinuc, &rev.trinuc).then_some(PairIsa::Vbmi)
        } else if same_offsets(&fwd.dinuc, &rev.dinuc) {
            if avx512_available() {
                Some(PairIsa::Avx512)
            } else if simd_available() {
                Some(PairIsa::Avx2)
            } else {
                None
            }
        } else {
            None
        };
        let Some(isa) = isa else {
            return false;
        };
        let end = span.end.min((prep.len() + 1).saturating_sub(span.width));
        if span.start >= end || fwd.dinuc.is_empty() || rev.dinuc.is_empty() {
            return true;
        }
        cand_f.clear();
        cand_r.clear();
        let (t, s) = (prep, span.start);
        let groups = match isa {
            PairIsa::Vbmi => fwd.trinuc.len(),
            PairIsa::Avx512 | PairIsa::Avx2 => fwd.dinuc.len(),
        };
        // SAFETY: each instruction set was checked at run time; `prep.trinuc` and
        // `prep.dinuc` are padded by PAD (>= UNROLL * 64, asserted) + max width bytes
        // past the chunk, which covers every load of a step.
        let done = unsafe {
            macro_rules! by_groups {
                ($f:ident) => {
                    match groups {
                        1 => $f::<1>(fwd, rev, t, s, end, cand_f, cand_r),
                        2 => $f::<2>(fwd, rev, t, s, end, cand_f, cand_r),
                        3 => $f::<3>(fwd, rev, t, s, end, cand_f, cand_r),
                        4 => $f::<4>(fwd, rev, t, s, end, cand_f, cand_r),
                        5 => $f::<5>(fwd, rev, t, s, end, cand_f, cand_r),
                        6 => $f::<6>(fwd, rev, t, s, end, cand_f, cand_r),
                        7 => $f::<7>(fwd, rev, t, s, end, cand_f, cand_r),
                        8 => $f::<8>(fwd, rev, t, s, end, cand_f, cand_r),
                        9 => $f::<9>(fwd, rev, t, s, end, cand_f, cand_r),
                        10 => $f::<10>(fwd, rev, t, s, end, cand_f, cand_r),
                        11 => $f::<11>(fwd, rev, t, s, end, cand_f, cand_r),
                        12 => $f::<12>(fwd, rev, t, s, end, cand_f, cand_r),
                        _ => false,
                    }
                };
            }
            match isa {
                PairIsa::Vbmi => by_groups!(filter_vbmi_pair),
                PairIsa::Avx512 => by_groups!(filter_avx512_pair),
                PairIsa::Avx2 => by_groups!(filter_avx2_pair),
            }
        };
        if !done {
            return false;
        }
        score_candidates(fwd, prep, cand_f, span.threshold, out_f);
        score_candidates(rev, prep, cand_r, span.threshold, out_r);
        true
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (fwd, rev, prep, span, cand_f, cand_r, out_f, out_r);
        false
    }
}

/// How many candidates ahead [`score_candidates`] prefetches.
const PREFETCH_AHEAD: usize = 8;

/// Appends `(window start, scaled score)` for every candidate window in `cand` whose
/// exact score reaches `threshold`. Candidates lie far apart (about one in a thousand
/// windows passes the prefilter), so each one's k-mer codes would come from memory
/// when its turn comes: they are prefetched a few candidates ahead.
fn score_candidates(
    t: &StrandTables,
    prep: &Prepared,
    cand: &[u32],
    threshold: i32,
    out: &mut Vec<(u32, i32)>,
) {
    for (n, &i) in cand.iter().enumerate() {
        if let Some(&ahead) = cand.get(n + PREFETCH_AHEAD) {
            t.prefetch(prep, ahead as usize);
        }
        if let Some(s) = t.score_at_least(prep, i as usize, threshold) {
            out.push((i, s));
        }
    }
}

/// The instruction set and table kind of the fused two-strand prefilter.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
enum PairIsa {
    /// Trinucleotide tables, `vpermb`.
    Vbmi,
    /// Dinucleotide tables, 64 lanes.
    Avx512,
    /// Dinucleotide tables, 32 lanes.
    Avx2,
}

/// Byte lanes of one instruction set, as the prefilter needs them: a quantised deficit
/// table per group of motif columns (looked up by the group's nucleotide codes), a
/// saturating sum over the groups and a compare against the strand's limit.
#[cfg(target_arch = "x86_64")]
trait Lanes {
    /// A register of byte lanes.
    type V: Copy;
    /// Windows (bytes) per register.
    const WIDTH: usize;

    /// The strand's lookup tables in registers, with the column offset of each group.
    unsafe fn tables(t: &StrandTables) -> Vec<(Self::V, usize)>;
    /// The prepared codes the tables are indexed by.
    fn codes(prep: &Prepared) -> &[u8];
    /// Every lane `x`.
    unsafe fn splat(x: u8) -> Self::V;
    /// All lanes 0.
    unsafe fn zero() -> Self::V;
    /// `WIDTH` bytes from `p` (unaligned).
    unsafe fn load(p: *const u8) -> Self::V;
    /// Lane `i`: `acc[i] + table[idx[i]]`, saturating at 255.
    unsafe fn add_lookup(acc: Self::V, table: Self::V, idx: Self::V) -> Self::V;
    /// Bit `i` set when lane `i` of `a` is `<= b`'s.
    unsafe fn le_mask(a: Self::V, b: Self::V) -> u64;
}

/// Prefilter over windows `start..end` (at most `end + WIDTH - 1 + width` bytes of the
/// codes are read): appends every window whose summed deficit is within the strand's
/// limit, in order.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn filter<L: Lanes>(
    t: &StrandTables,
    prep: &Prepared,
    start: usize,
    end: usize,
    cand: &mut Vec<u32>,
) {
    let lim = L::splat(t.dinuc_limit);
    let tabs = L::tables(t);
    let base = L::codes(prep).as_ptr();
    let mut pos = start;
    while pos < end {
        let mut acc = L::zero();
        for &(tab, off) in &tabs {
            acc = L::add_lookup(acc, tab, L::load(base.add(pos + off)));
        }
        push_mask(L::le_mask(acc, lim), pos, end, cand);
        pos += L::WIDTH;
    }
}

/// Registers of windows [`filter_pair`] scores per step: four independent sums per
/// strand keep the shuffle units busy where one step's chain of dependent adds would
/// leave them waiting (1.15-1.25x the one-register loop on Zen 3), and each table
/// register serves four lookups.
#[cfg(target_arch = "x86_64")]
const UNROLL: usize = 4;

// every load of a step stays within the padding of the prepared codes (64 lanes at most)
#[cfg(target_arch = "x86_64")]
const _: () = assert!(super::prep::PAD >= UNROLL * 64);

/// [`filter`] for both strands at once, `G` groups unrolled, [`UNROLL`] registers of
/// windows per step (at most `end + UNROLL * WIDTH - 1 + width` bytes of the codes are
/// read): each code vector is loaded once for both strands (whose groups must start at
/// the same offsets).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn filter_pair<L: Lanes, const G: usize>(
    fwd: &StrandTables,
    rev: &StrandTables,
    prep: &Prepared,
    start: usize,
    end: usize,
    cand_f: &mut Vec<u32>,
    cand_r: &mut Vec<u32>,
) {
    let (lim_f, lim_r) = (L::splat(fwd.dinuc_limit), L::splat(rev.dinuc_limit));
    let (tabs_f, tabs_r) = (L::tables(fwd), L::tables(rev));
    let mut tf = [L::zero(); G];
    let mut tr = [L::zero(); G];
    let mut off = [0usize; G];
    for g in 0..G {
        (tf[g], off[g]) = tabs_f[g];
        tr[g] = tabs_r[g].0;
    }
    let base = L::codes(prep).as_ptr();
    let mut pos = start;
    while pos < end {
        let mut af = [L::zero(); UNROLL];
        let mut ar = [L::zero(); UNROLL];
        for g in 0..G {
            for u in 0..UNROLL {
                let v = L::load(base.add(pos + u * L::WIDTH + off[g]));
                af[u] = L::add_lookup(af[u], tf[g], v);
                ar[u] = L::add_lookup(ar[u], tr[g], v);
            }
        }
        let mut any = 0;
        let mut mf = [0u64; UNROLL];
        let mut mr = [0u64; UNROLL];
        for u in 0..UNROLL {
            mf[u] = L::le_mask(af[u], lim_f);
            mr[u] = L::le_mask(ar[u], lim_r);
            any |= mf[u] | mr[u];
        }
        if any != 0 {
            for (u, &m) in mf.iter().enumerate() {
                push_mask(m, pos + u * L::WIDTH, end, cand_f);
            }
            for (u, &m) in mr.iter().enumerate() {
                push_mask(m, pos + u * L::WIDTH, end, cand_r);
            }
        }
        pos += UNROLL * L::WIDTH;
    }
}

/// Defines a `#[target_feature]` entry point of the fused two-strand prefilter
/// ([`filter_pair`] on one [`Lanes`] type, `G` groups); it always returns true.
macro_rules! pair_entry {
    ($(#[$doc:meta])* $name:ident, $features:literal, $lanes:ty) => {
        $(#[$doc])*
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $features)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn $name<const G: usize>(
            fwd: &StrandTables,
            rev: &StrandTables,
            prep: &Prepared,
            start: usize,
            end: usize,
            cand_f: &mut Vec<u32>,
            cand_r: &mut Vec<u32>,
        ) -> bool {
            filter_pair::<$lanes, G>(fwd, rev, prep, start, end, cand_f, cand_r);
            true
        }
    };
}

pair_entry!(
    /// The fused two-strand prefilter with AVX-512VBMI, `G` trinucleotide groups.
    filter_vbmi_pair,
    "avx512f,avx512bw,avx512vbmi",
    x86::Vbmi
);
pair_entry!(
    /// The fused two-strand prefilter with AVX-512BW, `G` dinucleotide groups.
    filter_avx512_pair,
    "avx512f,avx512bw",
    x86::Avx512
);
pair_entry!(
    /// The fused two-strand prefilter with AVX2, `G` dinucleotide groups.
    filter_avx2_pair,
    "avx2",
    x86::Avx2
);

/// Appends `pos + bit` for every set bit of `mask` below `end`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn push_mask(mut mask: u64, pos: usize, end: usize, cand: &mut Vec<u32>) {
    while mask != 0 {
        let i = pos + mask.trailing_zeros() as usize;
        if i < end {
            cand.push(i as u32);
        }
        mask &= mask - 1;
    }
}

/// True when the SIMD prefilter can run on this CPU.
#[inline]
pub fn simd_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// True when the trinucleotide AVX-512VBMI prefilter (`vpermb`, 64-entry tables) can run.
#[cfg(target_arch = "x86_64")]
#[inline]
fn vbmi_available() -> bool {
    std::arch::is_x86_feature_detected!("avx512vbmi") && avx512_available()
}

/// True when the 64-lane AVX-512BW prefilter can run.
#[cfg(target_arch = "x86_64")]
#[inline]
fn avx512_available() -> bool {
    std::arch::is_x86_feature_detected!("avx512bw")
}

/// [`filter`] with AVX-512VBMI (trinucleotide tables).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
unsafe fn filter_vbmi(
    t: &StrandTables,
    prep: &Prepared,
    start: usize,
    end: usize,
    cand: &mut Vec<u32>,
) {
    filter::<x86::Vbmi>(t, prep, start, end, cand)
}

/// [`filter`] with AVX-512BW (dinucleotide tables).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn filter_avx512(
    t: &StrandTables,
    prep: &Prepared,
    start: usize,
    end: usize,
    cand: &mut Vec<u32>,
) {
    filter::<x86::Avx512>(t, prep, start, end, cand)
}

/// [`filter`] with AVX2 (dinucleotide tables).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn filter_avx2(
    t: &StrandTables,
    prep: &Prepared,
    start: usize,
    end: usize,
    cand: &mut Vec<u32>,
) {
    filter::<x86::Avx2>(t, prep, start, end, cand)
}

/// The [`Lanes`] of each instruction set.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Lanes, Prepared, StrandTables};
    use std::arch::x86_64::*;

    /// AVX2: 32 lanes, 16-entry dinucleotide tables (`pshufb` within each 128-bit half).
    pub(super) struct Avx2;

    impl Lanes for Avx2 {
        type V = __m256i;
        const WIDTH: usize = 32;

        #[inline(always)]
        unsafe fn tables(t: &StrandTables) -> Vec<(__m256i, usize)> {
            t.dinuc
                .iter()
                .map(|(tb, off)| {
                    let row = _mm_loadu_si128(tb.as_ptr() as *const __m128i);
                    (_mm256_broadcastsi128_si256(row), *off)
                })
                .collect()
        }
        #[inline(always)]
        fn codes(prep: &Prepared) -> &[u8] {
            &prep.dinuc
        }
        #[inline(always)]
        unsafe fn splat(x: u8) -> __m256i {
            _mm256_set1_epi8(x as i8)
        }
        #[inline(always)]
        unsafe fn zero() -> __m256i {
            _mm256_setzero_si256()
        }
        #[inline(always)]
        unsafe fn load(p: *const u8) -> __m256i {
            _mm256_loadu_si256(p as *const __m256i)
        }
        #[inline(always)]
        unsafe fn add_lookup(acc: __m256i, table: __m256i, idx: __m256i) -> __m256i {
            _mm256_adds_epu8(acc, _mm256_shuffle_epi8(table, idx))
        }
        #[inline(always)]
        unsafe fn le_mask(a: __m256i, b: __m256i) -> u64 {
            let le = _mm256_cmpeq_epi8(_mm256_max_epu8(a, b), b);
            u64::from(_mm256_movemask_epi8(le) as u32)
        }
    }

    /// AVX-512BW: 64 lanes, 16-entry dinucleotide tables (`pshufb` per 128-bit lane).
    pub(super) struct Avx512;

    impl Lanes for Avx512 {
        type V = __m512i;
        const WIDTH: usize = 64;

        #[inline(always)]
        unsafe fn tables(t: &StrandTables) -> Vec<(__m512i, usize)> {
            t.dinuc
                .iter()
                .map(|(tb, off)| {
                    let row = _mm_loadu_si128(tb.as_ptr() as *const __m128i);
                    (_mm512_broadcast_i32x4(row), *off)
                })
                .collect()
        }
        #[inline(always)]
        fn codes(prep: &Prepared) -> &[u8] {
            &prep.dinuc
        }
        #[inline(always)]
        unsafe fn splat(x: u8) -> __m512i {
            _mm512_set1_epi8(x as i8)
        }
        #[inline(always)]
        unsafe fn zero() -> __m512i {
            _mm512_setzero_si512()
        }
        #[inline(always)]
        unsafe fn load(p: *const u8) -> __m512i {
            _mm512_loadu_si512(p as *const __m512i)
        }
        #[inline(always)]
        unsafe fn add_lookup(acc: __m512i, table: __m512i, idx: __m512i) -> __m512i {
            _mm512_adds_epu8(acc, _mm512_shuffle_epi8(table, idx))
        }
        #[inline(always)]
        unsafe fn le_mask(a: __m512i, b: __m512i) -> u64 {
            _mm512_cmple_epu8_mask(a, b)
        }
    }

    /// AVX-512VBMI: 64 lanes, 64-entry trinucleotide tables (`vpermb`); otherwise as
    /// [`Avx512`].
    pub(super) struct Vbmi;

    impl Lanes for Vbmi {
        type V = __m512i;
        const WIDTH: usize = 64;

        #[inline(always)]
        unsafe fn tables(t: &StrandTables) -> Vec<(__m512i, usize)> {
            t.trinuc
                .iter()
                .map(|(tb, off)| (_mm512_loadu_si512(tb.as_ptr() as *const __m512i), *off))
                .collect()
        }
        #[inline(always)]
        fn codes(prep: &Prepared) -> &[u8] {
            &prep.trinuc
        }
        #[inline(always)]
        unsafe fn splat(x: u8) -> __m512i {
            Avx512::splat(x)
        }
        #[inline(always)]
        unsafe fn zero() -> __m512i {
            Avx512::zero()
        }
        #[inline(always)]
        unsafe fn load(p: *const u8) -> __m512i {
            Avx512::load(p)
        }
        #[inline(always)]
        unsafe fn add_lookup(acc: __m512i, table: __m512i, idx: __m512i) -> __m512i {
            _mm512_adds_epu8(acc, _mm512_permutexvar_epi8(idx, table))
        }
        #[inline(always)]
        unsafe fn le_mask(a: __m512i, b: __m512i) -> u64 {
            Avx512::le_mask(a, b)
        }
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use crate::scan::prep::Prepared;

    /// Every prefilter keeps every window that reaches the threshold (it may keep more).
    #[test]
    fn simd_prefilters_keep_every_hit() {
        let mut seed: u64 = 3;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize
        };
        for w in [1usize, 2, 3, 8, 13, 30] {
            let matrix: Vec<[i32; 4]> = (0..w)
                .map(|_| {
                    [next() % 1000, next() % 1000, next() % 1000, next() % 1000].map(|v| v as i32)
                })
                .collect();
            let best: i32 = matrix.iter().map(|r| *r.iter().max().unwrap()).sum();
            let threshold = best * 3 / 4;
            let t = StrandTables::new(&matrix, threshold);
            let seq: Vec<u8> = (0..5000).map(|_| b"ACGTN"[next() % 5]).collect();
            let mut ks = vec![false; 6];
            for b in &t.blocks {
                ks[b.k] = true;
            }
            let prep = Prepared::new(&seq, &ks, w);
            let end = seq.len() + 1 - w;
            let want: Vec<u32> = (0..end)
                .filter(|&i| t.score(&prep, i).is_some_and(|s| s >= threshold))
                .map(|i| i as u32)
                .collect();
            // every prefilter this CPU has, by name
            let mut kinds: Vec<(&str, Vec<u32>)> = Vec::new();
            type Entry = unsafe fn(&StrandTables, &Prepared, usize, usize, &mut Vec<u32>);
            let paths: [(&str, bool, Entry); 3] = [
                ("avx2", simd_available(), filter_avx2),
                ("avx512", avx512_available(), filter_avx512),
                ("vbmi", vbmi_available(), filter_vbmi),
            ];
            for (name, ok, f) in paths {
                if ok {
                    let mut c = Vec::new();
                    // SAFETY: the path's features were detected just above; `prep` pads
                    // its tables past `end` + width as the kernels' loads need.
                    unsafe { f(&t, &prep, 0, end, &mut c) };
                    kinds.push((name, c));
                }
            }
            // the two dinucleotide paths read the same tables: the same candidates
            if let [(_, a), (_, b), ..] = kinds.as_slice() {
                assert_eq!(a, b, "w={w}");
            }
            // the whole strand scan (prefilter + exact score) equals the scalar scan
            let span = Span {
                start: 0,
                end,
                width: w,
                threshold,
            };
            let (mut cand, mut got) = (Vec::new(), Vec::new());
            scan_strand(&t, &prep, span, &mut cand, &mut got);
            let scalar: Vec<(u32, i32)> = (0..end)
                .filter_map(|i| t.score_at_least(&prep, i, threshold).map(|s| (i as u32, s)))
                .collect();
            assert_eq!(got, scalar, "w={w}");
            assert_eq!(got.iter().map(|h| h.0).collect::<Vec<_>>(), want, "w={w}");
            // the fused two-strand scan equals two single-strand scans
            let rc: Vec<[i32; 4]> = matrix
                .iter()
                .rev()
                .map(|r| [r[3], r[2], r[1], r[0]])
                .collect();
            let tr = StrandTables::new(&rc, threshold);
            let (mut c1, mut c2, mut f1, mut f2) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            if scan_pair(&t, &tr, &prep, span, &mut c1, &mut c2, &mut f1, &mut f2) {
                let (mut g1, mut g2) = (Vec::new(), Vec::new());
                scan_strand(&t, &prep, span, &mut c1, &mut g1);
                scan_strand(&tr, &prep, span, &mut c1, &mut g2);
                assert_eq!((f1, f2), (g1, g2), "w={w}");
            } else {
                // only unsupported: no SIMD, or more groups than the fused path unrolls
                let groups = if vbmi_available() {
                    t.trinuc.len()
                } else {
                    t.dinuc.len()
                };
                assert!(!simd_available() || groups > 12, "w={w}");
            }
            assert!(!kinds.is_empty() || !simd_available());
            for (name, c) in kinds {
                assert!(want.iter().all(|i| c.contains(i)), "{name} w={w}");
                assert!(c.windows(2).all(|p| p[0] < p[1]), "{name} w={w}");
                // the exact score of the candidates keeps exactly the hits
                let kept: Vec<u32> = c
                    .iter()
                    .copied()
                    .filter(|&i| t.score_at_least(&prep, i as usize, threshold).is_some())
                    .collect();
                assert_eq!(kept, want, "{name} w={w}");
            }
        }
    }
}
