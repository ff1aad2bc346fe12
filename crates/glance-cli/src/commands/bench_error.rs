//! The accuracy half of `glance bench attention --check` and `--sweep`: exact full
//! attention on a sample of query rows (computed in f64), and the relative Frobenius
//! error of any output against it.
//!
//! Full attention costs `n^2` per head, too much at `n = 65,536` for a benchmark, so
//! the reference is computed for [`SAMPLE_ROWS`] query rows spread evenly over the
//! sequence (all rows when `n` is smaller), every head; the error is
//! `||out[S] - full[S]||_F / ||full[S]||_F` over those rows `S`.

use glance::attn::ndarray::{Array3, ArrayView3};
use rayon::prelude::*;

/// Query rows sampled for the error.
pub const SAMPLE_ROWS: usize = 256;

/// What an output is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reference {
    /// `softmax(scale q k^T) v` over every key.
    Full,
    /// Reformer's full shared-QK attention (what LSH approximates): keys are the
    /// queries normalised to unit length and a query's own key scores -5e4.
    FullSharedQk,
}

impl Reference {
    /// The name printed in reports.
    pub fn name(self) -> &'static str {
        match self {
            Reference::Full => "full",
            Reference::FullSharedQk => "full-shared-qk",
        }
    }
}

/// Exact full-attention rows `rows` of every head, `[heads][rows][d]` in f64.
pub struct FullRows {
    rows: Vec<usize>,
    heads: usize,
    d: usize,
    out: Vec<f64>,
}

/// The sampled rows of a sequence of `n`: all, or [`SAMPLE_ROWS`] evenly spread.
pub fn sample_rows(n: usize) -> Vec<usize> {
    if n <= SAMPLE_ROWS {
        (0..n).collect()
    } else {
        (0..SAMPLE_ROWS)
            .map(|t| (2 * t + 1) * n / (2 * SAMPLE_ROWS))
            .collect()
    }
}

impl FullRows {
    /// Computes the reference rows for `q`, `k`, `v` (`[heads, n, d]`).
    pub fn compute(
        q: ArrayView3<f32>,
        k: ArrayView3<f32>,
        v: ArrayView3<f32>,
        reference: Reference,
    ) -> FullRows {
        let (heads, n, d) = q.dim();
        let rows = sample_rows(n);
        let scale = 1.0 / (d as f64).sqrt();
        let keys = match reference {
            Reference::Full => k,
            Reference::FullSharedQk => q,
        };
        let inv_norm: Vec<f64> = match reference {
            Reference::Full => vec![1.0; heads * n],
            Reference::FullSharedQk => (0..heads * n)
                .map(|t| {
                    let (h, j) = (t / n, t % n);
                    let norm = (0..d)
                        .map(|c| f64::from(q[[h, j, c]]).powi(2))
                        .sum::<f64>()
                        .sqrt();
                    1.0 / norm.max(1e-12)
                })
                .collect(),
        };
        let out: Vec<f64> = (0..heads * rows.len())
            .into_par_iter()
            .flat_map_iter(|t| {
                let (h, i) = (t / rows.len(), rows[t % rows.len()]);
                let qi: Vec<f64> = (0..d).map(|c| f64::from(q[[h, i, c]])).collect();
                let scores: Vec<f64> = (0..n)
                    .map(|j| {
                        if reference == Reference::FullSharedQk && i == j {
                            return -5e4;
                        }
                        let dot: f64 = (0..d).map(|c| qi[c] * f64::from(keys[[h, j, c]])).sum();
                        scale * dot * inv_norm[h * n + j]
                    })
                    .collect();
                let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let mut acc = vec![0f64; d];
                let mut total = 0.0;
                for (j, s) in scores.iter().enumerate() {
                    let p = (s - max).exp();
                    total += p;
                    for (c, a) in acc.iter_mut().enumerate() {
                        *a += p * f64::from(v[[h, j, c]]);
                    }
                }
                acc.into_iter().map(move |a| a / total)
            })
            .collect();
        FullRows {
            rows,
            heads,
            d,
            out,
        }
    }

    /// Number of sampled query rows.
    pub fn sampled(&self) -> usize {
        self.rows.len()
    }

    /// `||got[S] - full[S]||_F / ||full[S]||_F` over the sampled rows of every head.
    pub fn relative_error(&self, got: &Array3<f32>) -> f64 {
        let (mut num, mut den) = (0.0, 0.0);
        for h in 0..self.heads {
            for (r, &i) in self.rows.iter().enumerate() {
                let base = (h * self.rows.len() + r) * self.d;
                for c in 0..self.d {
                    let want = self.out[base + c];
                    num += (f64::from(got[[h, i, c]]) - want).powi(2);
                    den += want * want;
                }
            }
        }
        if den > 0.0 {
            (num / den).sqrt()
        } else {
            num.sqrt()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampled_rows_are_spread_and_distinct() {
        assert_eq!(sample_rows(5), vec![0, 1, 2, 3, 4]);
        let rows = sample_rows(65_536);
        assert_eq!(rows.len(), SAMPLE_ROWS);
        assert_eq!(rows[0], 128);
        assert!(rows.windows(2).all(|w| w[1] - w[0] == 256));
    }

    #[test]
    fn exact_output_has_no_error_and_zero_has_full_error() {
        let q = Array3::from_shape_fn((2, 40, 4), |(h, i, c)| {
            ((h + 3 * i + 7 * c) % 11) as f32 / 11.0 - 0.5
        });
        let k = q.mapv(|x| -x * 0.7 + 0.1);
        let v = q.mapv(|x| x * 2.0);
        let full = glance::attn::attend(
            q.view(),
            k.view(),
            v.view(),
            &"full".parse().unwrap(),
            &Default::default(),
        )
        .unwrap();
        let rows = FullRows::compute(q.view(), k.view(), v.view(), Reference::Full);
        assert!(rows.relative_error(&full) < 1e-6);
        assert!((rows.relative_error(&Array3::zeros(q.dim())) - 1.0).abs() < 1e-12);
    }
}
