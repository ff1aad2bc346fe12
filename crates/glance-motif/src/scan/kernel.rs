//! The per-motif, per-strand scan of one prepared chunk: a SIMD prefilter over
//! quantised dinucleotide deficits (AVX2 `pshufb` lookups, 32 windows per step) when the
//! CPU has it, then the exact k-mer table score with lookahead for the survivors; or the
//! lookahead scorer alone on other CPUs. Both give exactly the plain column-sum hits.

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
        // SAFETY: AVX-512BW / AVX2 presence was checked at run time; `prep.dinuc` is
        // padded by at least PAD (>= 64) + max width bytes past the chunk, which covers
        // every load.
        unsafe {
            if vbmi_available() {
                filter_vbmi(t, &prep.trinuc, start, end, cand)
            } else if avx512_available() {
                filter_avx512(t, &prep.dinuc, start, end, cand)
            } else {
                filter_avx2(t, &prep.dinuc, start, end, cand)
            }
        };
        for &i in cand.iter() {
            if let Some(s) = t.score_at_least(prep, i as usize, threshold) {
                out.push((i, s));
            }
        }
    } else {
        for i in start..end {
            if let Some(s) = t.score_at_least(prep, i, threshold) {
                out.push((i as u32, s));
            }
        }
    }
}

/// Scans both strands of one motif in a single pass when the CPU has AVX-512VBMI and the
/// two strands' trinucleotide groups start at the same offsets (always so for a motif
/// and its reverse complement): each trinucleotide vector is loaded once for both
/// strands and the tables stay in registers. Appends each strand's hits as
/// [`scan_strand`] does and returns true, or returns false (nothing done) when the
/// fused path does not apply.
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
        let same_groups = fwd.trinuc.len() == rev.trinuc.len()
            && fwd.trinuc.iter().zip(&rev.trinuc).all(|(a, b)| a.1 == b.1);
        if !(same_groups && !fwd.trinuc.is_empty() && vbmi_available()) {
            return false;
        }
        let end = span.end.min((prep.len() + 1).saturating_sub(span.width));
        if span.start >= end || fwd.dinuc.is_empty() || rev.dinuc.is_empty() {
            return true;
        }
        cand_f.clear();
        cand_r.clear();
        let (t, s) = (&prep.trinuc, span.start);
        // SAFETY: AVX-512VBMI/BW/F presence was checked at run time; `prep.trinuc` is
        // padded by at least PAD (>= 64) + max width bytes past the chunk, which covers
        // every load (as for `filter_vbmi`).
        let done = unsafe {
            match fwd.trinuc.len() {
                1 => filter_vbmi_pair::<1>(fwd, rev, t, s, end, cand_f, cand_r),
                2 => filter_vbmi_pair::<2>(fwd, rev, t, s, end, cand_f, cand_r),
                3 => filter_vbmi_pair::<3>(fwd, rev, t, s, end, cand_f, cand_r),
                4 => filter_vbmi_pair::<4>(fwd, rev, t, s, end, cand_f, cand_r),
                5 => filter_vbmi_pair::<5>(fwd, rev, t, s, end, cand_f, cand_r),
                6 => filter_vbmi_pair::<6>(fwd, rev, t, s, end, cand_f, cand_r),
                7 => filter_vbmi_pair::<7>(fwd, rev, t, s, end, cand_f, cand_r),
                8 => filter_vbmi_pair::<8>(fwd, rev, t, s, end, cand_f, cand_r),
                9 => filter_vbmi_pair::<9>(fwd, rev, t, s, end, cand_f, cand_r),
                10 => filter_vbmi_pair::<10>(fwd, rev, t, s, end, cand_f, cand_r),
                11 => filter_vbmi_pair::<11>(fwd, rev, t, s, end, cand_f, cand_r),
                12 => filter_vbmi_pair::<12>(fwd, rev, t, s, end, cand_f, cand_r),
                _ => false,
            }
        };
        if !done {
            return false;
        }
        for (t, cand, out) in [(fwd, &*cand_f, out_f), (rev, &*cand_r, out_r)] {
            for &i in cand {
                if let Some(sc) = t.score_at_least(prep, i as usize, span.threshold) {
                    out.push((i, sc));
                }
            }
        }
        true
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (fwd, rev, prep, span, cand_f, cand_r, out_f, out_r);
        false
    }
}

/// The trinucleotide prefilter of [`filter_vbmi`] for both strands at once, `G` groups
/// unrolled (returns true).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
#[allow(clippy::too_many_arguments)]
unsafe fn filter_vbmi_pair<const G: usize>(
    fwd: &StrandTables,
    rev: &StrandTables,
    trinuc: &[u8],
    start: usize,
    end: usize,
    cand_f: &mut Vec<u32>,
    cand_r: &mut Vec<u32>,
) -> bool {
    use std::arch::x86_64::*;
    let lim_f = _mm512_set1_epi8(fwd.dinuc_limit as i8);
    let lim_r = _mm512_set1_epi8(rev.dinuc_limit as i8);
    let mut tf = [_mm512_setzero_si512(); G];
    let mut tr = [_mm512_setzero_si512(); G];
    let mut off = [0usize; G];
    for g in 0..G {
        tf[g] = _mm512_loadu_si512(fwd.trinuc[g].0.as_ptr() as *const __m512i);
        tr[g] = _mm512_loadu_si512(rev.trinuc[g].0.as_ptr() as *const __m512i);
        off[g] = fwd.trinuc[g].1;
    }
    let base = trinuc.as_ptr();
    let mut pos = start;
    while pos < end {
        let mut af = _mm512_setzero_si512();
        let mut ar = _mm512_setzero_si512();
        for g in 0..G {
            let v = _mm512_loadu_si512(base.add(pos + off[g]) as *const __m512i);
            af = _mm512_adds_epu8(af, _mm512_permutexvar_epi8(v, tf[g]));
            ar = _mm512_adds_epu8(ar, _mm512_permutexvar_epi8(v, tr[g]));
        }
        let mf: u64 = _mm512_cmple_epu8_mask(af, lim_f);
        let mr: u64 = _mm512_cmple_epu8_mask(ar, lim_r);
        if mf | mr != 0 {
            push_mask(mf, pos, end, cand_f);
            push_mask(mr, pos, end, cand_r);
        }
        pos += 64;
    }
    true
}

/// Appends `pos + bit` for every set bit of `mask` below `end`.
#[cfg(target_arch = "x86_64")]
#[inline]
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

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
unsafe fn filter_vbmi(
    t: &StrandTables,
    trinuc: &[u8],
    start: usize,
    end: usize,
    cand: &mut Vec<u32>,
) {
    use std::arch::x86_64::*;
    let lim = _mm512_set1_epi8(t.dinuc_limit as i8);
    let tabs: Vec<(__m512i, usize)> = t
        .trinuc
        .iter()
        .map(|(tb, off)| (_mm512_loadu_si512(tb.as_ptr() as *const __m512i), *off))
        .collect();
    let base = trinuc.as_ptr();
    let mut pos = start;
    while pos < end {
        let mut acc = _mm512_setzero_si512();
        for &(tab, off) in &tabs {
            let v = _mm512_loadu_si512(base.add(pos + off) as *const __m512i);
            acc = _mm512_adds_epu8(acc, _mm512_permutexvar_epi8(v, tab));
        }
        let mut mask: u64 = _mm512_cmple_epu8_mask(acc, lim);
        while mask != 0 {
            let i = pos + mask.trailing_zeros() as usize;
            if i < end {
                cand.push(i as u32);
            }
            mask &= mask - 1;
        }
        pos += 64;
    }
}

/// True when the 64-lane AVX-512BW prefilter can run.
#[cfg(target_arch = "x86_64")]
#[inline]
fn avx512_available() -> bool {
    std::arch::is_x86_feature_detected!("avx512bw")
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn filter_avx512(
    t: &StrandTables,
    dinuc: &[u8],
    start: usize,
    end: usize,
    cand: &mut Vec<u32>,
) {
    use std::arch::x86_64::*;
    let lim = _mm512_set1_epi8(t.dinuc_limit as i8);
    let tabs: Vec<(__m512i, usize)> = t
        .dinuc
        .iter()
        .map(|(tb, off)| {
            (
                _mm512_broadcast_i32x4(_mm_loadu_si128(tb.as_ptr() as *const __m128i)),
                *off,
            )
        })
        .collect();
    let base = dinuc.as_ptr();
    let mut pos = start;
    while pos < end {
        let mut acc = _mm512_setzero_si512();
        for &(tab, off) in &tabs {
            let v = _mm512_loadu_si512(base.add(pos + off) as *const __m512i);
            acc = _mm512_adds_epu8(acc, _mm512_shuffle_epi8(tab, v));
        }
        let mut mask: u64 = _mm512_cmple_epu8_mask(acc, lim);
        while mask != 0 {
            let i = pos + mask.trailing_zeros() as usize;
            if i < end {
                cand.push(i as u32);
            }
            mask &= mask - 1;
        }
        pos += 64;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn filter_avx2(
    t: &StrandTables,
    dinuc: &[u8],
    start: usize,
    end: usize,
    cand: &mut Vec<u32>,
) {
    use std::arch::x86_64::*;
    let lim = _mm256_set1_epi8(t.dinuc_limit as i8);
    let tabs: Vec<(__m256i, usize)> = t
        .dinuc
        .iter()
        .map(|(tb, off)| {
            (
                _mm256_broadcastsi128_si256(_mm_loadu_si128(tb.as_ptr() as *const __m128i)),
                *off,
            )
        })
        .collect();
    let base = dinuc.as_ptr();
    let mut pos = start;
    while pos < end {
        let mut acc = _mm256_setzero_si256();
        for &(tab, off) in &tabs {
            let v = _mm256_loadu_si256(base.add(pos + off) as *const __m256i);
            acc = _mm256_adds_epu8(acc, _mm256_shuffle_epi8(tab, v));
        }
        let le = _mm256_cmpeq_epi8(_mm256_max_epu8(acc, lim), lim);
        let mut mask = _mm256_movemask_epi8(le) as u32;
        while mask != 0 {
            let i = pos + mask.trailing_zeros() as usize;
            if i < end {
                cand.push(i as u32);
            }
            mask &= mask - 1;
        }
        pos += 32;
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
            let mut kinds = Vec::new();
            if std::arch::is_x86_feature_detected!("avx2") {
                let mut c = Vec::new();
                // SAFETY: AVX2 was detected just above; `prep` pads its tables past
                // `end` + width as the kernels' loads need.
                unsafe { filter_avx2(&t, &prep.dinuc, 0, end, &mut c) };
                kinds.push(c);
            }
            if avx512_available() {
                let mut c = Vec::new();
                // SAFETY: avx512_available() checked the features just above; `prep` pads its tables past
                // `end` + width as the kernels' loads need.
                unsafe { filter_avx512(&t, &prep.dinuc, 0, end, &mut c) };
                kinds.push(c);
            }
            if vbmi_available() {
                let mut c = Vec::new();
                // SAFETY: vbmi_available() checked the features just above; `prep` pads its tables past
                // `end` + width as the kernels' loads need.
                unsafe { filter_vbmi(&t, &prep.trinuc, 0, end, &mut c) };
                kinds.push(c);
            }
            // the fused two-strand scan equals two single-strand scans
            let rc: Vec<[i32; 4]> = matrix
                .iter()
                .rev()
                .map(|r| [r[3], r[2], r[1], r[0]])
                .collect();
            let tr = StrandTables::new(&rc, threshold);
            let span = Span {
                start: 0,
                end,
                width: w,
                threshold,
            };
            let (mut c1, mut c2, mut f1, mut f2) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            if scan_pair(&t, &tr, &prep, span, &mut c1, &mut c2, &mut f1, &mut f2) {
                let (mut g1, mut g2) = (Vec::new(), Vec::new());
                scan_strand(&t, &prep, span, &mut c1, &mut g1);
                scan_strand(&tr, &prep, span, &mut c1, &mut g2);
                assert_eq!((f1, f2), (g1, g2), "w={w}");
            } else {
                assert!(!vbmi_available() || t.trinuc.len() > 12, "w={w}");
            }
            assert!(!kinds.is_empty() || !simd_available());
            for c in kinds {
                assert!(want.iter().all(|i| c.contains(i)), "w={w}");
                assert!(c.windows(2).all(|p| p[0] < p[1]));
            }
        }
    }
}
