//! `exp(-d / c)` for the integer score differences `d` of one motif strand, as the
//! product of two small tables (`d`'s high bits and its low 8 bits), so that region
//! scores need no `exp` call per window; the occupancy of a site of each integer score
//! ([`OccTable`]) from the same product; [`Weights::dense_into`] expands either into one
//! table (one load per window, same values) for loops over many regions.

/// Entries of the low-bits table.
const LO: usize = 256;

/// `exp(-d / c)` for `d` in `0..=max_d`: `hi[d >> 8] * lo[d & 255]`, each factor a
/// correctly rounded `exp`, so an entry is within about 1.5 ulp of `exp(-d / c)` (and
/// 0 where that underflows).
#[derive(Debug, Clone, PartialEq)]
pub struct ExpTable {
    lo: Vec<f64>,
    hi: Vec<f64>,
    max_d: u32,
}

/// A table of weights by integer index `0..=last()`: `exp(-d / c)` of score
/// differences `d` ([`ExpTable`]), the occupancy of scaled scores ([`OccTable`]), or
/// either expanded into one slice ([`Dense`]).
pub trait Weights {
    /// The weight of index `d`; `d` must be at most [`Weights::last`].
    fn weight(&self, d: u32) -> f64;

    /// The largest index.
    fn last(&self) -> u32;

    /// Every weight, `d = 0..=last()`, when they are stored as one table (lets
    /// `sums` gather them with SIMD).
    fn dense(&self) -> Option<&[f64]> {
        None
    }

    /// Writes every weight `d = 0..=last()` into `out` (replacing its contents), so
    /// [`Dense`] reads with one load what [`Weights::weight`] computes.
    fn dense_into(&self, out: &mut Vec<f64>) {
        out.clear();
        out.extend((0..=self.last()).map(|d| self.weight(d)));
    }
}

impl<T: Weights + ?Sized> Weights for &T {
    #[inline]
    fn weight(&self, d: u32) -> f64 {
        (**self).weight(d)
    }

    fn last(&self) -> u32 {
        (**self).last()
    }

    fn dense(&self) -> Option<&[f64]> {
        (**self).dense()
    }
}

impl Weights for ExpTable {
    #[inline]
    fn weight(&self, d: u32) -> f64 {
        self.get(d)
    }

    fn last(&self) -> u32 {
        self.max_d
    }
}

/// Weights expanded by [`Weights::dense_into`]: entry `d` is the source's weight of
/// `d`, bit for bit (must not be empty).
#[derive(Debug, Clone, Copy)]
pub struct Dense<'a>(pub &'a [f64]);

impl Weights for Dense<'_> {
    #[inline]
    fn weight(&self, d: u32) -> f64 {
        self.0[d as usize]
    }

    fn last(&self) -> u32 {
        u32::try_from(self.0.len().saturating_sub(1)).unwrap_or(u32::MAX)
    }

    fn dense(&self) -> Option<&[f64]> {
        Some(self.0)
    }
}

/// The expected occupancy of a site of each scaled score `s` of one motif strand,
/// `1 / (1 + 2^((mu - s) / scale))` with `mu` the chemical potential in the same
/// scaled units (real, not necessarily an integer), for `s` in `0..=top`: with
/// `e = 2^((s - mu) / scale) = k * exp(-(top - s) ln 2 / scale)`, `k = 2^((top - mu) /
/// scale)`, the exponential read from an [`ExpTable`], each entry is `e / (1 + e)`
/// within a few ulp. Two tables are equal when their entries are (same scale, range
/// and potential), as for a motif's two strands.
#[derive(Debug, Clone, PartialEq)]
pub struct OccTable {
    exp: ExpTable,
    top: u32,
    k: f64,
}

impl OccTable {
    /// The table for scaled scores `0..=top`, `scale` scaled units per bit (> 0) and
    /// chemical potential `mu` in scaled units (finite, within about 1000 bits of
    /// `0..=top` so that `k` is a normal number).
    pub fn new(scale: f64, top: u32, mu: f64) -> OccTable {
        OccTable {
            exp: ExpTable::new(scale / std::f64::consts::LN_2, top),
            top,
            k: ((f64::from(top) - mu) / scale).exp2(),
        }
    }
}

impl Weights for OccTable {
    /// The occupancy of scaled score `s` (scores above `top` count as `top`).
    #[inline]
    fn weight(&self, s: u32) -> f64 {
        let e = self.k * self.exp.get(self.top.saturating_sub(s));
        e / (1.0 + e)
    }

    fn last(&self) -> u32 {
        self.top
    }

    /// As the provided method, a block of 256 scores at a time (one factor of the
    /// exponential per block) so that the compiler vectorises the division.
    fn dense_into(&self, out: &mut Vec<f64>) {
        out.clear();
        out.resize(self.top as usize + 1, 0.0);
        // entry s is d = top - s: the last 256 entries are d = 0..256, reversed
        for (block, &hi) in out.rchunks_mut(LO).zip(&self.exp.hi) {
            for (slot, &lo) in block.iter_mut().rev().zip(&self.exp.lo) {
                let e = self.k * (hi * lo);
                *slot = e / (1.0 + e);
            }
        }
    }
}

impl ExpTable {
    /// The table for divisor `c` (> 0) and differences up to `max_d`.
    pub fn new(c: f64, max_d: u32) -> ExpTable {
        let lo = (0..LO).map(|j| (-(j as f64) / c).exp()).collect();
        let hi = (0..=(max_d as usize >> 8))
            .map(|k| (-((k * LO) as f64) / c).exp())
            .collect();
        ExpTable { lo, hi, max_d }
    }

    /// `exp(-d / c)`; `d` must be at most the `max_d` the table was built for.
    #[inline]
    pub fn get(&self, d: u32) -> f64 {
        self.hi[(d >> 8) as usize] * self.lo[(d & 0xff) as usize]
    }
}

/// The sums of a run of windows of one strand (see `sums`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sums {
    /// `sum_j e_j`, `e_j = w(max - s_j)`.
    pub sum: f64,
    /// `sum_j e_j * j`.
    pub wsum: f64,
    /// `sum_j o(s_j)`.
    pub occ: f64,
}

/// The sums of the windows' `scores` (all `>= 0`): with `e_j = w(max - scores[j])`
/// (every `max - scores[j]` must lie in `w`'s range), `sum_j e_j`, `sum_j e_j * j` and
/// `sum_j o(scores[j])` (scores past `o`'s last index count as its last). Four
/// independent lanes (the additions are latency bound otherwise), always in this order,
/// so the sums do not depend on which [`Weights`] gave the (equal) weights. With dense
/// tables and AVX2 the four lanes are one 256-bit vector and each table one gather per
/// four windows (same operations per lane, no fused multiply-add, so the same bits).
pub fn sums<W: Weights, O: Weights>(w: &W, o: &O, scores: &[i32], max: i32) -> Sums {
    #[cfg(target_arch = "x86_64")]
    if let (Some(table), Some(occ)) = (w.dense(), o.dense()) {
        if !table.is_empty() && !occ.is_empty() && std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 was detected at run time; the gather indices are clamped to
            // the tables' last entries.
            return unsafe { sums_avx2(table, occ, scores, max) };
        }
    }
    let last = o.last();
    // a negative score (none occurs), read as unsigned, counts as the last index too
    let occ_of = |v: i32| o.weight((v as u32).min(last));
    let (mut s, mut ws, mut os) = ([0.0f64; 4], [0.0f64; 4], [0.0f64; 4]);
    let mut j = 0.0f64;
    let chunks = scores.chunks_exact(4);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..4 {
            let e = w.weight(max.abs_diff(c[l]));
            s[l] += e;
            ws[l] += e * (j + l as f64);
            os[l] += occ_of(c[l]);
        }
        j += 4.0;
    }
    for (l, &v) in rest.iter().enumerate() {
        let e = w.weight(max.abs_diff(v));
        s[l] += e;
        ws[l] += e * (j + l as f64);
        os[l] += occ_of(v);
    }
    Sums {
        sum: (s[0] + s[1]) + (s[2] + s[3]),
        wsum: (ws[0] + ws[1]) + (ws[2] + ws[3]),
        occ: (os[0] + os[1]) + (os[2] + os[3]),
    }
}

/// [`sums`] over dense tables (not empty) with AVX2: lane `l` of each vector is lane
/// `l` of the portable loop.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn sums_avx2(table: &[f64], occ: &[f64], scores: &[i32], max: i32) -> Sums {
    use std::arch::x86_64::*;
    let last = _mm_set1_epi32(i32::try_from(table.len() - 1).unwrap_or(i32::MAX));
    let last_o = _mm_set1_epi32(i32::try_from(occ.len() - 1).unwrap_or(i32::MAX));
    let vmax = _mm_set1_epi32(max);
    let (mut s, mut ws, mut os) = (
        _mm256_setzero_pd(),
        _mm256_setzero_pd(),
        _mm256_setzero_pd(),
    );
    let mut j = _mm256_setr_pd(0.0, 1.0, 2.0, 3.0);
    let four = _mm256_set1_pd(4.0);
    let chunks = scores.chunks_exact(4);
    let rest = chunks.remainder();
    for c in chunks {
        let v = _mm_loadu_si128(c.as_ptr() as *const __m128i);
        // max - score is at most max_d; the clamps only guard the gathers (a negative
        // score, read as unsigned, goes to the last entry)
        let d = _mm_min_epu32(_mm_sub_epi32(vmax, v), last);
        let e = _mm256_i32gather_pd::<8>(table.as_ptr(), d);
        let o = _mm256_i32gather_pd::<8>(occ.as_ptr(), _mm_min_epu32(v, last_o));
        s = _mm256_add_pd(s, e);
        ws = _mm256_add_pd(ws, _mm256_mul_pd(e, j));
        os = _mm256_add_pd(os, o);
        j = _mm256_add_pd(j, four);
    }
    let (mut sl, mut wl, mut ol) = ([0.0f64; 4], [0.0f64; 4], [0.0f64; 4]);
    _mm256_storeu_pd(sl.as_mut_ptr(), s);
    _mm256_storeu_pd(wl.as_mut_ptr(), ws);
    _mm256_storeu_pd(ol.as_mut_ptr(), os);
    let mut jl = [0.0f64; 4];
    _mm256_storeu_pd(jl.as_mut_ptr(), j);
    for (l, &v) in rest.iter().enumerate() {
        let e = table[(max.abs_diff(v) as usize).min(table.len() - 1)];
        sl[l] += e;
        wl[l] += e * jl[l];
        ol[l] += occ[(v as u32 as usize).min(occ.len() - 1)];
    }
    Sums {
        sum: (sl[0] + sl[1]) + (sl[2] + sl[3]),
        wsum: (wl[0] + wl[1]) + (wl[2] + wl[3]),
        occ: (ol[0] + ol[1]) + (ol[2] + ol[3]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_match_exp_and_underflow_to_zero() {
        for c in [0.37, 1.0, 57.0, 1234.5] {
            let t = ExpTable::new(c, 30_000);
            for d in (0..=30_000u32).step_by(7) {
                let want = (-f64::from(d) / c).exp();
                let got = t.get(d);
                // rounding of the product and of each factor, plus that of the exponent
                // (relative 1.1e-16 of |d / c|, in both the table and the reference)
                let tol = (4e-16 + 2.5e-16 * f64::from(d) / c) * want;
                assert!(
                    (got - want).abs() <= tol || (want < 1e-300 && got < 1e-300),
                    "c={c} d={d}: {got} vs {want}"
                );
            }
        }
        let t = ExpTable::new(57.0, 30_000);
        let mut dense = Vec::new();
        t.dense_into(&mut dense);
        assert_eq!(dense.len(), 30_001);
        for (d, &v) in dense.iter().enumerate() {
            assert_eq!(v.to_bits(), t.get(d as u32).to_bits(), "d={d}");
        }
        assert_eq!(ExpTable::new(0.5, 2000).get(1999), 0.0);
        assert_eq!(ExpTable::new(3.0, 10).get(0), 1.0);
    }

    /// The occupancy table equals `1 / (1 + 2^((mu - s) / scale))` per score, for
    /// potentials below, inside and above the score range.
    #[test]
    fn occupancy_entries_match_the_logistic() {
        for (scale, top) in [(57.0, 12_000u32), (900.0, 1_000), (3.5, 40)] {
            let bits = f64::from(top) / scale;
            for mu_bits in [-20.0, 0.0, 0.3 * bits, bits, bits + 15.0] {
                let mu = mu_bits * scale;
                let t = OccTable::new(scale, top, mu);
                assert_eq!(t.last(), top);
                for sc in (0..=top).step_by(3).chain([top]) {
                    let want = 1.0 / (1.0 + ((mu - f64::from(sc)) / scale).exp2());
                    let got = t.weight(sc);
                    assert!(
                        (got - want).abs() <= 1e-13 * want,
                        "scale={scale} mu={mu_bits} s={sc}: {got} vs {want}"
                    );
                }
                // a site at the potential is bound half the time
                if mu >= 0.0 && mu <= f64::from(top) && mu.fract() == 0.0 {
                    assert!((t.weight(mu as u32) - 0.5).abs() < 1e-13);
                }
                assert_eq!(t.weight(top + 7).to_bits(), t.weight(top).to_bits());
            }
        }
    }

    /// The sums equal one `exp` and one logistic per score, from the factored and the
    /// dense tables alike (bit for bit), for lengths around the lane count.
    #[test]
    fn sums_match_exp_per_score() {
        let c = 41.5;
        let t = ExpTable::new(c, 5000);
        let o = OccTable::new(30.0, 5000, 4000.5);
        let (mut dense, mut dense_o) = (Vec::new(), Vec::new());
        t.dense_into(&mut dense);
        o.dense_into(&mut dense_o);
        assert_eq!(dense.len(), 5001);
        assert_eq!(dense_o.len(), 5001);
        let scores: Vec<i32> = (0..1027).map(|i| (i * 7919) % 5001).collect();
        for n in [0, 1, 7, 8, 9, 16, 45, 1027] {
            let v = &scores[..n];
            let max = v.iter().copied().max().unwrap_or(0);
            let got = sums(&t, &o, v, max);
            let d = sums(&Dense(&dense), &Dense(&dense_o), v, max);
            let bits = |x: Sums| [x.sum, x.wsum, x.occ].map(f64::to_bits);
            assert_eq!(bits(got), bits(d), "n={n}");
            // mixed: one dense, one factored (the portable loop)
            assert_eq!(bits(got), bits(sums(&Dense(&dense), &o, v, max)), "n={n}");
            let (mut s0, mut w0, mut o0) = (0.0, 0.0, 0.0);
            for (j, &x) in v.iter().enumerate() {
                let e = (-f64::from(max - x) / c).exp();
                s0 += e;
                w0 += e * j as f64;
                o0 += 1.0 / (1.0 + ((4000.5 - f64::from(x)) / 30.0).exp2());
            }
            for (g, r) in [(got.sum, s0), (got.wsum, w0), (got.occ, o0)] {
                assert!((g - r).abs() <= 1e-13 * r.max(1e-300), "n={n}: {g} vs {r}");
            }
        }
    }
}
