//! The f64 references of glance's attention, for tests and `glance bench --check`.
//!
//! - [`attend_f64`] is the dense masked reference: every (query, key) pair is checked
//!   against [`Visibility`] and the softmax is taken over the allowed ones in double
//!   precision. Slow (O(n^2) mask checks per head).
//! - [`FullRows`] is exact full attention (or Reformer's full shared-QK attention, what
//!   LSH approximates, see [`Reference`]) on [`SAMPLE_ROWS`] query rows spread evenly
//!   over the sequence (all rows when `n` is smaller), every head, and the relative
//!   Frobenius error `||out[S] - full[S]||_F / ||full[S]||_F` of any output over those
//!   rows `S`: affordable at `n = 65,536`, where the whole of full attention is not.
//!
//! Both take each row's softmax with one function (`softmax_row`). A key that enters a
//! row's softmax `m` times ([`Visibility::multiplicity`], BigBird's block 0) scores
//! `ln m` more: `m e^s = e^(s + ln m)`.

use ndarray::{Array2, Array3, ArrayView3, ArrayViewMut1, Axis};
use rayon::prelude::*;

use crate::error::AttnError;
use crate::options::AttendOptions;
use crate::pattern::Pattern;
use crate::validate;
use crate::visibility::Visibility;

/// Exact attention in f64 with the same inputs and semantics as [`crate::attend`].
/// A row with no visible key is zero.
pub fn attend_f64(
    q: ArrayView3<f32>,
    k: ArrayView3<f32>,
    v: ArrayView3<f32>,
    pattern: &Pattern,
    opts: &AttendOptions,
) -> Result<Array3<f64>, AttnError> {
    let dims = validate::check(&q, &k, &v, opts)?;
    let vis = Visibility::new(pattern, dims.n, dims.heads, opts)?;
    let scale = opts.scale.map_or(1.0 / (dims.d as f64).sqrt(), f64::from);
    let mut out = Array3::<f64>::zeros((dims.heads, dims.n, dims.d));
    out.axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each(|(h, mut out_h)| {
            let mut scores: Vec<(usize, f64)> = Vec::new();
            for i in 0..dims.n {
                let (qs, ks, vs) = match (&opts.global_qkv, vis.is_global(i)) {
                    (Some(g), true) => (g.q, g.k, g.v),
                    _ => (q, k, v),
                };
                scores.clear();
                for j in 0..dims.n {
                    if !vis.allowed(h, i, j) {
                        continue;
                    }
                    let dot: f64 = (0..dims.d)
                        .map(|c| f64::from(qs[[h, i, c]]) * f64::from(ks[[h, j, c]]))
                        .sum();
                    let bias = opts
                        .bias
                        .as_ref()
                        .map_or(0.0, |b| f64::from(b.value(h, i as i64 - j as i64)));
                    let weight = (vis.multiplicity(i, j) as f64).ln();
                    scores.push((j, scale * dot + bias + weight));
                }
                softmax_row(&scores, vs, h, out_h.row_mut(i));
            }
        });
    Ok(out)
}

/// Adds `softmax(scores) v` to `out` (`[d]`, zero on entry): `scores` holds (key,
/// score) pairs of head `h`, `v` is `[heads, n, d]`. Leaves `out` zero when no key is
/// given.
fn softmax_row(scores: &[(usize, f64)], v: ArrayView3<f32>, h: usize, mut out: ArrayViewMut1<f64>) {
    let Some(max) = scores.iter().map(|s| s.1).reduce(f64::max) else {
        return;
    };
    let total: f64 = scores.iter().map(|s| (s.1 - max).exp()).sum();
    for &(j, s) in scores {
        let p = (s - max).exp() / total;
        for (c, o) in out.iter_mut().enumerate() {
            *o += p * f64::from(v[[h, j, c]]);
        }
    }
}

/// Query rows sampled by [`FullRows`].
pub const SAMPLE_ROWS: usize = 256;

/// The score of a query with its own key in Reformer's shared-QK attention.
const SELF_SCORE: f64 = -5e4;

/// What [`FullRows`] computes, the reference an output is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reference {
    /// `softmax(scale q k^T) v` over every key.
    Full,
    /// Reformer's full shared-QK attention (what LSH approximates): keys are the
    /// queries normalised to unit length and a query's own key scores -5e4.
    FullSharedQk,
}

impl Reference {
    /// The name printed in reports: `full` or `full-shared-qk`.
    pub fn name(self) -> &'static str {
        match self {
            Reference::Full => "full",
            Reference::FullSharedQk => "full-shared-qk",
        }
    }
}

/// The sampled rows of a sequence of `n`: all, or [`SAMPLE_ROWS`] evenly spread.
fn sample_rows(n: usize) -> Vec<usize> {
    if n <= SAMPLE_ROWS {
        (0..n).collect()
    } else {
        (0..SAMPLE_ROWS)
            .map(|t| (2 * t + 1) * n / (2 * SAMPLE_ROWS))
            .collect()
    }
}

/// Exact full attention (a [`Reference`]) in f64 on the sampled query rows of every
/// head, and the error of outputs against it.
#[derive(Debug, Clone)]
pub struct FullRows {
    /// The sampled query rows, ascending.
    rows: Vec<usize>,
    /// The shape `[heads, n, d]` of the inputs.
    dims: (usize, usize, usize),
    /// `[heads * rows, d]`: row `h * rows.len() + r` is sampled row `r` of head `h`.
    out: Array2<f64>,
}

impl FullRows {
    /// Computes the reference rows for `q`, `k`, `v` (`[heads, n, d]`); with
    /// [`Reference::FullSharedQk`] the keys are `q`'s rows normalised (`k` is not
    /// read). Errors when the shapes disagree.
    pub fn compute(
        q: ArrayView3<f32>,
        k: ArrayView3<f32>,
        v: ArrayView3<f32>,
        reference: Reference,
    ) -> Result<FullRows, AttnError> {
        let dims = validate::check(&q, &k, &v, &AttendOptions::default())?;
        let (heads, n, d) = (dims.heads, dims.n, dims.d);
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
        let mut out = Array2::<f64>::zeros((heads * rows.len(), d));
        out.axis_iter_mut(Axis(0))
            .into_par_iter()
            .enumerate()
            .for_each(|(t, out_row)| {
                let (h, i) = (t / rows.len(), rows[t % rows.len()]);
                let qi: Vec<f64> = (0..d).map(|c| f64::from(q[[h, i, c]])).collect();
                let scores: Vec<(usize, f64)> = (0..n)
                    .map(|j| {
                        if reference == Reference::FullSharedQk && i == j {
                            return (j, SELF_SCORE);
                        }
                        let dot: f64 = (0..d).map(|c| qi[c] * f64::from(keys[[h, j, c]])).sum();
                        (j, scale * dot * inv_norm[h * n + j])
                    })
                    .collect();
                softmax_row(&scores, v, h, out_row);
            });
        Ok(FullRows {
            rows,
            dims: (heads, n, d),
            out,
        })
    }

    /// Number of sampled query rows.
    pub fn sampled(&self) -> usize {
        self.rows.len()
    }

    /// `||got[S] - full[S]||_F / ||full[S]||_F` over the sampled rows of every head
    /// (`||got[S] - full[S]||_F` when the reference is zero). Errors when `got` is not
    /// `[heads, n, d]` of the inputs.
    pub fn relative_error(&self, got: ArrayView3<f32>) -> Result<f64, AttnError> {
        if got.dim() != self.dims {
            return Err(AttnError::Shape(format!(
                "output is {:?}, the reference's inputs {:?}",
                got.shape(),
                self.dims
            )));
        }
        let (mut num, mut den) = (0.0, 0.0);
        for (t, want) in self.out.outer_iter().enumerate() {
            let (h, i) = (t / self.rows.len(), self.rows[t % self.rows.len()]);
            for (c, &w) in want.iter().enumerate() {
                num += (f64::from(got[[h, i, c]]) - w).powi(2);
                den += w * w;
            }
        }
        Ok(if den > 0.0 {
            (num / den).sqrt()
        } else {
            num.sqrt()
        })
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
        let full = crate::attend(
            q.view(),
            k.view(),
            v.view(),
            &"full".parse().unwrap(),
            &Default::default(),
        )
        .unwrap();
        let rows = FullRows::compute(q.view(), k.view(), v.view(), Reference::Full).unwrap();
        assert!(rows.relative_error(full.view()).unwrap() < 1e-6);
        assert!((rows.relative_error(Array3::zeros(q.dim()).view()).unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn shapes_that_disagree_are_errors() {
        let q = Array3::<f32>::ones((1, 8, 4));
        let short = Array3::<f32>::ones((1, 7, 4));
        assert!(matches!(
            FullRows::compute(q.view(), short.view(), q.view(), Reference::Full),
            Err(AttnError::Shape(_))
        ));
        let rows =
            FullRows::compute(q.view(), q.view(), q.view(), Reference::FullSharedQk).unwrap();
        assert_eq!(rows.sampled(), 8);
        assert!(matches!(
            rows.relative_error(short.view()),
            Err(AttnError::Shape(_))
        ));
    }
}
