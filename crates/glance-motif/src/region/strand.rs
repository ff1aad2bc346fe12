//! The per-strand part of a region score: scaled scores of a run of scoreable windows
//! from trinucleotide group tables (64 u16 entries per 3 motif columns, small enough to
//! stay in L1 whatever the loop order; AVX-512BW looks up 32 windows per `vpermi2w`
//! and takes the maximum and the hit count in the same pass), then the exp-weighted
//! sums relative to the running maximum, read from [`Weights`] instead of calling `exp`.

use super::exp::{sums, ExpTable, OccTable, Weights};
use crate::scan::prep::Prepared;

/// Windows the SIMD scorer computes per step; score buffers need this much slack.
pub const LANES: usize = 32;

/// Scaled scores of one strand by groups of three columns.
#[derive(Debug, Clone)]
pub struct GroupTables {
    /// `(table, first column)`: `table[t]` is the summed score of trinucleotide code
    /// `t` over the group's columns not counted by an earlier group.
    groups: Vec<([u16; 64], usize)>,
    /// Every window's score fits in u16 (motifs up to 65 columns).
    fits_u16: bool,
}

impl GroupTables {
    /// Groups of an integer matrix (entries in `0..=1000`): columns `0..3`, `3..6`, ...;
    /// a last partial group reuses the final three columns (the first ones when the
    /// motif is narrower) and counts only the columns not yet counted.
    pub fn new(matrix: &[[i32; 4]]) -> GroupTables {
        let w = matrix.len();
        let mut groups = Vec::with_capacity(w.div_ceil(3));
        let mut col = 0;
        while col < w {
            let start = if col + 3 <= w {
                col
            } else {
                w.saturating_sub(3)
            };
            let mut t = [0u16; 64];
            for (code, slot) in t.iter_mut().enumerate() {
                let mut s = 0i32;
                for j in 0..3 {
                    let c = start + j;
                    if c >= col && c < w {
                        s += matrix[c][(code >> (2 * (2 - j))) & 3];
                    }
                }
                *slot = u16::try_from(s.max(0)).unwrap_or(u16::MAX);
            }
            groups.push((t, start));
            col += 3;
        }
        let best: i64 = matrix
            .iter()
            .map(|r| i64::from(r.iter().copied().max().unwrap_or(0).max(0)))
            .sum();
        GroupTables {
            groups,
            fits_u16: best <= i64::from(u16::MAX),
        }
    }

    /// Writes the scores of windows `a..a + n` of `prep` into `buf[..n]` (all windows
    /// scoreable) and returns their maximum (`i32::MIN` if `n` is 0) and how many are
    /// `>= threshold`; `buf` must hold `n` rounded up to [`LANES`].
    fn score(
        &self,
        prep: &Prepared,
        a: usize,
        n: usize,
        threshold: i32,
        buf: &mut [i32],
    ) -> (i32, u32) {
        #[cfg(target_arch = "x86_64")]
        if self.fits_u16 && avx512bw_available() {
            // SAFETY: AVX-512BW was detected at run time; `prep.trinuc` is padded by
            // PAD (128) plus the widest motif past the chunk, so the 32-byte loads at
            // `a + offset + j` for `j < n + 31` (with `a + n + offset <= len`) stay in
            // bounds, and `buf` holds `n` rounded up to 32 (asserted by the slice).
            return unsafe {
                self.score_avx512(
                    &prep.trinuc,
                    a,
                    n,
                    threshold,
                    &mut buf[..n.div_ceil(LANES) * LANES],
                )
            };
        }
        let buf = &mut buf[..n];
        buf.fill(0);
        for (t, off) in &self.groups {
            let codes = &prep.trinuc[a + off..a + off + n];
            for (s, &c) in buf.iter_mut().zip(codes) {
                *s += i32::from(t[usize::from(c & 63)]);
            }
        }
        let max = buf.iter().copied().max().unwrap_or(i32::MIN);
        let hits = buf.iter().map(|&s| u32::from(s >= threshold)).sum();
        (max, hits)
    }

    /// [`GroupTables::score`] with AVX-512BW: 32 windows per step as u16 lanes; the
    /// maximum and the hit count are taken from the registers (lanes past `n` masked).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw")]
    unsafe fn score_avx512(
        &self,
        trinuc: &[u8],
        a: usize,
        n: usize,
        threshold: i32,
        buf: &mut [i32],
    ) -> (i32, u32) {
        use std::arch::x86_64::*;
        let base = trinuc.as_ptr().add(a);
        let out = buf.as_mut_ptr();
        // scores are u16; a threshold at or below 0 counts every window, one above
        // u16::MAX none (the compare mask is then cleared)
        let (thr, cmp_mask) = match u16::try_from(threshold) {
            Ok(t) => (t, u32::MAX),
            Err(_) if threshold < 0 => (0, u32::MAX),
            Err(_) => (u16::MAX, 0),
        };
        let vthr = _mm512_set1_epi16(thr as i16);
        let mut vmax = _mm512_setzero_si512();
        let mut hits = 0u32;
        let mut j = 0;
        while j < n {
            let mut acc = _mm512_setzero_si512();
            for (t, off) in &self.groups {
                let p = t.as_ptr() as *const __m512i;
                let (lo, hi) = (_mm512_loadu_si512(p), _mm512_loadu_si512(p.add(1)));
                let codes = _mm256_loadu_si256(base.add(off + j) as *const __m256i);
                let idx = _mm512_cvtepu8_epi16(codes);
                acc = _mm512_add_epi16(acc, _mm512_permutex2var_epi16(lo, idx, hi));
            }
            let left = n - j;
            let valid = if left >= LANES {
                u32::MAX
            } else {
                (1u32 << left) - 1
            };
            vmax = _mm512_mask_max_epu16(vmax, valid, vmax, acc);
            hits += _mm512_mask_cmpge_epu16_mask(valid & cmp_mask, acc, vthr).count_ones();
            let first = _mm512_cvtepu16_epi32(_mm512_castsi512_si256(acc));
            let second = _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64::<1>(acc));
            _mm512_storeu_si512(out.add(j) as *mut __m512i, first);
            _mm512_storeu_si512(out.add(j + 16) as *mut __m512i, second);
            j += LANES;
        }
        if n == 0 {
            return (i32::MIN, 0);
        }
        let lo = _mm512_cvtepu16_epi32(_mm512_castsi512_si256(vmax));
        let hi = _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64::<1>(vmax));
        (_mm512_reduce_max_epi32(_mm512_max_epi32(lo, hi)), hits)
    }
}

/// True when the 32-lane AVX-512BW scorer can run.
#[cfg(target_arch = "x86_64")]
#[inline]
fn avx512bw_available() -> bool {
    std::arch::is_x86_feature_detected!("avx512bw")
}

/// Running sums of one strand over the windows of a region seen so far.
#[derive(Debug, Clone, Copy)]
pub struct StrandSums {
    /// Largest scaled score (`i32::MIN` before the first window).
    pub max: i32,
    /// Index (from the region's first window) of the first window with score `max`.
    pub first_max: usize,
    /// `sum_i exp((s_i - max) / (scale * tau))`.
    pub sum: f64,
    /// `sum_i exp((s_i - max) / (scale * tau)) * j_i`, with `j_i` the window's index
    /// from the region's first window.
    pub wsum: f64,
    /// Windows with score `>= threshold`.
    pub hits: u32,
    /// `sum_i o(s_i)`: the expected number of bound sites.
    pub occ: f64,
}

impl Default for StrandSums {
    fn default() -> Self {
        StrandSums {
            max: i32::MIN,
            first_max: 0,
            sum: 0.0,
            wsum: 0.0,
            hits: 0,
            occ: 0.0,
        }
    }
}

/// One strand of one motif at one `tau` and `mu`, ready to score windows.
#[derive(Debug, Clone)]
pub struct StrandKernel {
    /// Score tables.
    pub groups: GroupTables,
    /// `exp(-d / (scale * tau))` for every reachable score difference (`tau` in
    /// natural units).
    pub exp: ExpTable,
    /// The occupancy of every reachable scaled score.
    pub occ: OccTable,
}

impl StrandKernel {
    /// Adds windows `a..a + n` of `prep` (all scoreable, `n >= 1`), the first being
    /// window `rel` of the region, weighting them with `w` (this kernel's [`ExpTable`]
    /// or its dense expansion: equal values) and `o` (its [`OccTable`] or the dense
    /// expansion); `buf` is scratch space of at least `n` rounded up to [`LANES`].
    #[allow(clippy::too_many_arguments)]
    pub fn add<W: Weights, O: Weights>(
        &self,
        w: &W,
        o: &O,
        prep: &Prepared,
        a: usize,
        n: usize,
        rel: usize,
        threshold: i32,
        buf: &mut [i32],
        acc: &mut StrandSums,
    ) {
        let (seg_max, hits) = self.groups.score(prep, a, n, threshold, buf);
        let buf = &buf[..n];
        acc.hits += hits;
        if seg_max > acc.max {
            if acc.max != i32::MIN {
                let r = w.weight(seg_max.abs_diff(acc.max));
                acc.sum *= r;
                acc.wsum *= r;
            }
            acc.max = seg_max;
            acc.first_max = rel + first_index_of(buf, seg_max);
        }
        let s = sums(w, o, buf, acc.max);
        acc.sum += s.sum;
        acc.wsum += s.wsum + s.sum * rel as f64;
        acc.occ += s.occ;
    }
}

/// Index of the first `v` in `buf` (0 if none): 16 scores per step with a
/// branch-free test the compiler vectorises, then the exact index in that step.
fn first_index_of(buf: &[i32], v: i32) -> usize {
    const STEP: usize = 16;
    for (k, c) in buf.chunks(STEP).enumerate() {
        if c.iter().fold(false, |any, &s| any | (s == v)) {
            return k * STEP + c.iter().position(|&s| s == v).unwrap_or(0);
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_index_of_finds_the_first_match() {
        let buf: Vec<i32> = (0..100).map(|i| i % 37).collect();
        for v in 0..37 {
            assert_eq!(first_index_of(&buf, v), v as usize);
        }
        assert_eq!(first_index_of(&buf[40..], 5), 2);
        assert_eq!(first_index_of(&buf[40..], 2), 36);
        assert_eq!(first_index_of(&buf, 99), 0);
        assert_eq!(first_index_of(&[], 1), 0);
    }

    /// Group tables (scalar and SIMD) give the plain column sum for widths 1 to 31.
    #[test]
    fn group_scores_equal_column_sums() {
        let mut seed: u64 = 5;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize
        };
        let seq: Vec<u8> = (0..700).map(|_| b"ACGT"[next() % 4]).collect();
        let prep = Prepared::new(&seq, &[false; 6], 40);
        for w in 1..32 {
            let matrix: Vec<[i32; 4]> = (0..w)
                .map(|_| {
                    [next() % 1001, next() % 1001, next() % 1001, next() % 1001].map(|v| v as i32)
                })
                .collect();
            let g = GroupTables::new(&matrix);
            let n = seq.len() + 1 - w - 5;
            let mut buf = vec![0i32; n.div_ceil(LANES) * LANES];
            for thr in [(next() % (300 * w)) as i32 - 100, -5, 70_000] {
                let got = g.score(&prep, 5, n, thr, &mut buf);
                let mut scalar = g.clone();
                scalar.fits_u16 = false; // forces the portable loop
                let mut buf2 = buf.clone();
                let got2 = scalar.score(&prep, 5, n, thr, &mut buf2);
                let max = buf[..n].iter().copied().max().unwrap_or(i32::MIN);
                let hits = buf[..n].iter().filter(|&&s| s >= thr).count() as u32;
                assert_eq!(got, (max, hits), "w={w} thr={thr}");
                assert_eq!(got2, (max, hits), "w={w} thr={thr}");
                // a count that ends inside a 32-lane step
                let m = n - 13;
                let mut buf3 = vec![0i32; m.div_ceil(LANES) * LANES];
                let part = g.score(&prep, 5, m, thr, &mut buf3);
                let max = buf[..m].iter().copied().max().unwrap_or(i32::MIN);
                let hits = buf[..m].iter().filter(|&&s| s >= thr).count() as u32;
                assert_eq!(part, (max, hits), "w={w} thr={thr} n={m}");
                for i in 0..n {
                    let want: i32 = (0..w)
                        .map(|c| matrix[c][usize::from(prep.codes[5 + i + c])])
                        .sum();
                    assert_eq!(buf[i], want, "w={w} i={i}");
                    assert_eq!(buf2[i], want, "w={w} i={i}");
                }
            }
        }
    }
}
