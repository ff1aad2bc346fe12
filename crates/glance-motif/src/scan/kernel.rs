//! The per-motif, per-strand scan of one prepared chunk: a SIMD prefilter over
//! quantised dinucleotide deficits (AVX2 `pshufb` lookups, 32 windows per step) when the
//! CPU has it, then the exact k-mer table score with lookahead for the survivors; or the
//! lookahead scorer alone on other CPUs. Both give exactly the plain column-sum hits.

use super::prep::Prepared;
use super::tables::StrandTables;

/// Appends `(window start, scaled score)` for every window starting in `start..end` whose
/// score reaches `threshold`. Windows must fit in the chunk (`i + width <= prep.len()`).
pub fn scan_strand(
    t: &StrandTables,
    prep: &Prepared,
    start: usize,
    end: usize,
    width: usize,
    threshold: i32,
    cand: &mut Vec<u32>,
    out: &mut Vec<(u32, i32)>,
) {
    let end = end.min((prep.len() + 1).saturating_sub(width));
    if start >= end || t.dinuc.is_empty() {
        return;
    }
    cand.clear();
    if simd_available() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX2 presence was checked at run time; `prep.dinuc` is padded by at
        // least PAD + max width bytes past the chunk, which covers every load.
        unsafe {
            filter_avx2(t, &prep.dinuc, start, end, cand)
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
