//! `exp(-d / c)` for the integer score differences `d` of one motif strand, as the
//! product of two small tables (`d`'s high bits and its low 8 bits), so that region
//! scores need no `exp` call per window.

/// Entries of the low-bits table.
const LO: usize = 256;

/// `exp(-d / c)` for `d` in `0..=max_d`: `hi[d >> 8] * lo[d & 255]`, each factor a
/// correctly rounded `exp`, so an entry is within about 1.5 ulp of `exp(-d / c)` (and
/// 0 where that underflows).
#[derive(Debug, Clone)]
pub struct ExpTable {
    lo: Vec<f64>,
    hi: Vec<f64>,
}

impl ExpTable {
    /// The table for divisor `c` (> 0) and differences up to `max_d`.
    pub fn new(c: f64, max_d: u32) -> ExpTable {
        let lo = (0..LO).map(|j| (-(j as f64) / c).exp()).collect();
        let hi = (0..=(max_d as usize >> 8))
            .map(|k| (-((k * LO) as f64) / c).exp())
            .collect();
        ExpTable { lo, hi }
    }

    /// `(sum_j e_j, sum_j e_j * j)` with `e_j = exp(-(max - scores[j]) / c)`; every
    /// `max - scores[j]` must lie in `0..=max_d`. Four independent lanes (the additions
    /// are latency bound otherwise); AVX-512 gathers measured slower than this on the
    /// development CPU (AMD EPYC).
    pub fn sums(&self, scores: &[i32], max: i32) -> (f64, f64) {
        let (mut s, mut ws) = ([0.0f64; 4], [0.0f64; 4]);
        let mut j = 0.0f64;
        let chunks = scores.chunks_exact(4);
        let rest = chunks.remainder();
        for c in chunks {
            for l in 0..4 {
                let e = self.get(max.abs_diff(c[l]));
                s[l] += e;
                ws[l] += e * (j + l as f64);
            }
            j += 4.0;
        }
        for (l, &v) in rest.iter().enumerate() {
            let e = self.get(max.abs_diff(v));
            s[l] += e;
            ws[l] += e * (j + l as f64);
        }
        (
            (s[0] + s[1]) + (s[2] + s[3]),
            (ws[0] + ws[1]) + (ws[2] + ws[3]),
        )
    }

    /// `exp(-d / c)`; `d` must be at most the `max_d` the table was built for.
    #[inline]
    pub fn get(&self, d: u32) -> f64 {
        self.hi[(d >> 8) as usize] * self.lo[(d & 0xff) as usize]
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
        assert_eq!(ExpTable::new(0.5, 2000).get(1999), 0.0);
        assert_eq!(ExpTable::new(3.0, 10).get(0), 1.0);
    }

    /// The sums equal one `exp` per score, for lengths around the lane count.
    #[test]
    fn sums_match_exp_per_score() {
        let c = 41.5;
        let t = ExpTable::new(c, 5000);
        let scores: Vec<i32> = (0..45).map(|i| (i * 7919) % 5001).collect();
        for n in [0, 1, 7, 8, 9, 16, 45] {
            let v = &scores[..n];
            let max = v.iter().copied().max().unwrap_or(0);
            let (s, ws) = t.sums(v, max);
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
