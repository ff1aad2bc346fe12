//! `exp(-d / c)` for the integer score differences `d` of one motif strand, as the
//! product of two small tables (`d`'s high bits and its low 8 bits), so that region
//! scores need no `exp` call per window; [`ExpTable::dense_into`] expands the products
//! into one table (one load per window, same values) for loops over many regions.

/// Entries of the low-bits table.
const LO: usize = 256;

/// `exp(-d / c)` for `d` in `0..=max_d`: `hi[d >> 8] * lo[d & 255]`, each factor a
/// correctly rounded `exp`, so an entry is within about 1.5 ulp of `exp(-d / c)` (and
/// 0 where that underflows).
#[derive(Debug, Clone)]
pub struct ExpTable {
    lo: Vec<f64>,
    hi: Vec<f64>,
    max_d: u32,
}

/// A source of the weights `exp(-d / c)` of score differences `d`.
pub trait Weights {
    /// `exp(-d / c)`; `d` must be at most the `max_d` the weights were built for.
    fn weight(&self, d: u32) -> f64;

    /// Every weight, `d = 0..=max_d`, when they are stored as one table (lets
    /// [`sums`] gather them with SIMD).
    fn dense(&self) -> Option<&[f64]> {
        None
    }
}

impl<T: Weights + ?Sized> Weights for &T {
    #[inline]
    fn weight(&self, d: u32) -> f64 {
        (**self).weight(d)
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
}

/// The weights of an [`ExpTable`] expanded by [`ExpTable::dense_into`]: entry `d` is
/// the table's product for `d`, bit for bit.
#[derive(Debug, Clone, Copy)]
pub struct DenseExp<'a>(pub &'a [f64]);

impl Weights for DenseExp<'_> {
    #[inline]
    fn weight(&self, d: u32) -> f64 {
        self.0[d as usize]
    }

    fn dense(&self) -> Option<&[f64]> {
        Some(self.0)
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

    /// Writes every entry `d = 0..=max_d` into `out` (replacing its contents), so
    /// [`DenseExp`] reads with one load what [`ExpTable::get`] computes.
    pub fn dense_into(&self, out: &mut Vec<f64>) {
        out.clear();
        out.extend((0..=self.max_d).map(|d| self.get(d)));
    }

    /// `exp(-d / c)`; `d` must be at most the `max_d` the table was built for.
    #[inline]
    pub fn get(&self, d: u32) -> f64 {
        self.hi[(d >> 8) as usize] * self.lo[(d & 0xff) as usize]
    }
}

/// `(sum_j e_j, sum_j e_j * j)` with `e_j = w(max - scores[j])`; every
/// `max - scores[j]` must lie in the weights' range. Four independent lanes (the
/// additions are latency bound otherwise), always in this order, so the sums do not
/// depend on which [`Weights`] gave the (equal) weights. With a dense table and AVX2
/// the four lanes are one 256-bit vector and the weights one gather per four windows
/// (same operations per lane, no fused multiply-add, so the same bits).
pub fn sums<W: Weights>(w: &W, scores: &[i32], max: i32) -> (f64, f64) {
    #[cfg(target_arch = "x86_64")]
    if let Some(table) = w.dense() {
        if !table.is_empty() && std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 was detected at run time; the gather indices are clamped to
            // the table's last entry.
            return unsafe { sums_avx2(table, scores, max) };
        }
    }
    let (mut s, mut ws) = ([0.0f64; 4], [0.0f64; 4]);
    let mut j = 0.0f64;
    let chunks = scores.chunks_exact(4);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..4 {
            let e = w.weight(max.abs_diff(c[l]));
            s[l] += e;
            ws[l] += e * (j + l as f64);
        }
        j += 4.0;
    }
    for (l, &v) in rest.iter().enumerate() {
        let e = w.weight(max.abs_diff(v));
        s[l] += e;
        ws[l] += e * (j + l as f64);
    }
    (
        (s[0] + s[1]) + (s[2] + s[3]),
        (ws[0] + ws[1]) + (ws[2] + ws[3]),
    )
}

/// [`sums`] over a dense table (not empty) with AVX2: lane `l` of each vector is lane
/// `l` of the portable loop.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn sums_avx2(table: &[f64], scores: &[i32], max: i32) -> (f64, f64) {
    use std::arch::x86_64::*;
    let last = _mm_set1_epi32(i32::try_from(table.len() - 1).unwrap_or(i32::MAX));
    let vmax = _mm_set1_epi32(max);
    let (mut s, mut ws) = (_mm256_setzero_pd(), _mm256_setzero_pd());
    let mut j = _mm256_setr_pd(0.0, 1.0, 2.0, 3.0);
    let four = _mm256_set1_pd(4.0);
    let chunks = scores.chunks_exact(4);
    let rest = chunks.remainder();
    for c in chunks {
        let v = _mm_loadu_si128(c.as_ptr() as *const __m128i);
        // max - score is at most max_d; the clamp only guards the gather
        let d = _mm_min_epu32(_mm_sub_epi32(vmax, v), last);
        let e = _mm256_i32gather_pd::<8>(table.as_ptr(), d);
        s = _mm256_add_pd(s, e);
        ws = _mm256_add_pd(ws, _mm256_mul_pd(e, j));
        j = _mm256_add_pd(j, four);
    }
    let (mut sl, mut wl) = ([0.0f64; 4], [0.0f64; 4]);
    _mm256_storeu_pd(sl.as_mut_ptr(), s);
    _mm256_storeu_pd(wl.as_mut_ptr(), ws);
    let mut jl = [0.0f64; 4];
    _mm256_storeu_pd(jl.as_mut_ptr(), j);
    for (l, &v) in rest.iter().enumerate() {
        let e = table[(max.abs_diff(v) as usize).min(table.len() - 1)];
        sl[l] += e;
        wl[l] += e * jl[l];
    }
    (
        (sl[0] + sl[1]) + (sl[2] + sl[3]),
        (wl[0] + wl[1]) + (wl[2] + wl[3]),
    )
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

    /// The sums equal one `exp` per score, for lengths around the lane count.
    #[test]
    fn sums_match_exp_per_score() {
        let c = 41.5;
        let t = ExpTable::new(c, 5000);
        let scores: Vec<i32> = (0..1027).map(|i| (i * 7919) % 5001).collect();
        for n in [0, 1, 7, 8, 9, 16, 45, 1027] {
            let v = &scores[..n];
            let max = v.iter().copied().max().unwrap_or(0);
            let (s, ws) = sums(&t, v, max);
            let mut dense = Vec::new();
            t.dense_into(&mut dense);
            let (ds, dws) = sums(&DenseExp(&dense), v, max);
            assert_eq!((s.to_bits(), ws.to_bits()), (ds.to_bits(), dws.to_bits()));
            let (mut s0, mut w0) = (0.0, 0.0);
            for (j, &x) in v.iter().enumerate() {
                let e = (-f64::from(max - x) / c).exp();
                s0 += e;
                w0 += e * j as f64;
            }
            assert!(
                (s - s0).abs() <= 1e-14 * s0.max(1e-300),
                "n={n}: {s} vs {s0}"
            );
            assert!(
                (ws - w0).abs() <= 1e-14 * w0.max(1e-300),
                "n={n}: {ws} vs {w0}"
            );
        }
    }
}
