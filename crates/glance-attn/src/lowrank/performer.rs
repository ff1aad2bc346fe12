//! Performer FAVOR+ attention (Choromanski et al. 2021) with positive orthogonal random
//! features, exactly as performer-pytorch's `FastAttention` (`softmax_kernel`,
//! `linear_attention`, `causal_linear_attention_noncuda`):
//!
//! - `phi(x)_j = m^(-1/2) * (exp(c x.w_j - c^2 |x|^2 / 2 - s) + 1e-4)` with
//!   `c = scale^(1/2)` (`d^(-1/4)` by default) and the stabiliser `s` the largest
//!   `c x.w_j` over the features of that query row, or over *all* keys and features of
//!   the head for keys;
//! - non-causal: `out_i = phi(q_i) (sum_j phi(k_j) v_j^T) / phi(q_i).(sum_j phi(k_j))`;
//! - causal: the same with prefix sums over `j <= i`, the denominator's sum plus 1e-6.
//!
//! Features `w` (`[m, d]`) come from the model or from the seed (orthogonal blocks
//! from Gram-Schmidt on Gaussian matrices, rows scaled by the norms of Gaussian
//! vectors: the reference's `gaussian_orthogonal_random_matrix`, `scaling = 0`).
//!
//! Keys are summed per fixed group of rows (each with its own stabiliser, rescaled to
//! the global one when groups are added in order), so one pass over the keys suffices
//! and results do not depend on the thread count.

use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;

use super::math::{exp_inplace, gemm, mat, mat_mut};
use super::rng::{normal, Stream};
use super::spec::PerformerSpec;
use super::Inputs;
use crate::error::AttnError;

/// Rows per feature-map step.
const SUB: usize = 256;
/// Row groups per head (a constant: determinism).
const GROUPS: usize = 64;
/// The reference's kernel epsilon.
const KERNEL_EPS: f32 = 1e-4;
/// The reference's causal denominator epsilon.
const CAUSAL_EPS: f32 = 1e-6;

/// Seeded positive orthogonal random features `[m, d]`.
pub(crate) fn seeded_features(m: usize, d: usize, seed: u64) -> Array2<f32> {
    let mut w = Array2::<f32>::zeros((m, d));
    for b in 0..m.div_ceil(d) {
        // Columns of a Gaussian d x d matrix, orthonormalised (modified Gram-Schmidt);
        // the reference keeps the rows of Q^T, i.e. the columns of Q.
        let g = |i: usize, j: usize| {
            normal(seed, Stream::PerformerBlocks, ((b * d + i) * d + j) as u64)
        };
        let mut cols: Vec<Vec<f64>> = (0..d).map(|j| (0..d).map(|i| g(i, j)).collect()).collect();
        for j in 0..d {
            for p in 0..j {
                let (done, rest) = cols.split_at_mut(j);
                let dot: f64 = done[p].iter().zip(&rest[0]).map(|(a, b)| a * b).sum();
                rest[0]
                    .iter_mut()
                    .zip(&done[p])
                    .for_each(|(x, y)| *x -= dot * y);
            }
            let norm = cols[j]
                .iter()
                .map(|x| x * x)
                .sum::<f64>()
                .sqrt()
                .max(1e-300);
            cols[j].iter_mut().for_each(|x| *x /= norm);
        }
        for (r, col) in cols.iter().enumerate() {
            let row = b * d + r;
            if row >= m {
                break;
            }
            let mult = (0..d)
                .map(|j| normal(seed, Stream::PerformerNorms, (row * d + j) as u64).powi(2))
                .sum::<f64>()
                .sqrt();
            for (c, &x) in col.iter().enumerate() {
                w[[row, c]] = (mult * x) as f32;
            }
        }
    }
    w
}

/// Everything the feature map needs.
struct FeatureMap {
    /// `c * w`, `[m, d]`.
    wd: Array2<f32>,
    /// `c^2 / 2`.
    half_c2: f32,
    /// `m^(-1/2)`.
    ratio: f32,
    m: usize,
    d: usize,
}

impl FeatureMap {
    /// `dd = c x w^T` for the rows of `x` into `buf` (`[rows, m]`).
    fn project(&self, x: ArrayView2<f32>, buf: &mut Vec<f32>) {
        buf.resize(x.nrows() * self.m, 0.0);
        gemm(x, self.wd.t(), 0.0, mat_mut(buf, x.nrows(), self.m));
    }

    /// Turns `dd` (rows of `x`) into `exp(dd - c^2|x|^2/2 - shift)` (`shift` per row
    /// when `None`: the query stabiliser), then `ratio * (. + eps)` when `finish`.
    fn features(&self, x: ArrayView2<f32>, dd: &mut [f32], shift: Option<f32>, finish: bool) {
        for (row, xr) in dd.chunks_mut(self.m).zip(x.rows()) {
            let diag = self.half_c2 * xr.iter().map(|v| v * v).sum::<f32>();
            let s = shift.unwrap_or_else(|| row.iter().copied().fold(f32::NEG_INFINITY, f32::max));
            row.iter_mut().for_each(|v| *v = *v - diag - s);
            exp_inplace(row);
            if finish {
                row.iter_mut()
                    .for_each(|v| *v = self.ratio * (*v + KERNEL_EPS));
            }
        }
    }
}

/// `[rows, d + 1]`: the rows of `v` with a column of ones (sums the denominator too).
fn with_ones(v: ArrayView2<f32>, buf: &mut Vec<f32>) {
    buf.clear();
    for row in v.rows() {
        buf.extend(row.iter());
        buf.push(1.0);
    }
}

/// Performer attention of `x` into `out` (`[heads, n, d]`).
pub(crate) fn attend(
    x: &Inputs,
    spec: &PerformerSpec,
    seed: u64,
    features: Option<ArrayView2<f32>>,
    out: &mut [f32],
) -> Result<(), AttnError> {
    let (m, d) = (spec.features, x.dims.d);
    let w = match features {
        Some(w) if w.dim() != (m, d) => {
            return Err(AttnError::Shape(format!(
                "performer features are {:?}, need [{m}, {d}]",
                w.shape()
            )))
        }
        Some(w) => w.to_owned(),
        None => seeded_features(m, d, seed),
    };
    let c = x.scale.sqrt();
    let fm = FeatureMap {
        wd: w.mapv(|v| v * c),
        half_c2: 0.5 * c * c,
        ratio: 1.0 / (m as f32).sqrt(),
        m,
        d,
    };
    if spec.causal {
        causal(x, &fm, out);
    } else {
        non_causal(x, &fm, out);
    }
    Ok(())
}

/// The row range `[lo, hi)` of group `g` of a head of `n` rows (whole `SUB` steps).
fn group_rows(g: usize, n: usize) -> (usize, usize) {
    let subs = n.div_ceil(SUB);
    (
        (g * subs / GROUPS * SUB).min(n),
        ((g + 1) * subs / GROUPS * SUB).min(n),
    )
}

/// A group's key sums: `exp(dd - diag - max)^T [V, 1]` and the max it is relative to.
struct KeySums {
    max: f32,
    ctx: Vec<f32>,
    vsum: Vec<f32>,
}

fn non_causal(x: &Inputs, fm: &FeatureMap, out: &mut [f32]) {
    let (heads, n, d, m) = (x.dims.heads, x.dims.n, fm.d, fm.m);
    let e = d + 1;
    let sums: Vec<KeySums> = (0..heads * GROUPS)
        .into_par_iter()
        .map(|t| {
            let (h, g) = (t / GROUPS, t % GROUPS);
            let (lo, hi) = group_rows(g, n);
            let mut acc = KeySums {
                max: f32::NEG_INFINITY,
                ctx: vec![0f32; m * e],
                vsum: vec![0f32; e],
            };
            let (mut dd, mut vb) = (Vec::new(), Vec::new());
            for s in (lo..hi).step_by(SUB) {
                let kx = x.rows(x.k, h, s, (s + SUB).min(hi));
                fm.project(kx, &mut dd);
                let bmax = dd.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                if bmax > acc.max {
                    if acc.max > f32::NEG_INFINITY {
                        let r = (acc.max - bmax).exp();
                        acc.ctx.iter_mut().for_each(|v| *v *= r);
                    }
                    acc.max = bmax;
                }
                fm.features(kx, &mut dd, Some(acc.max), false);
                with_ones(x.rows(x.v, h, s, (s + SUB).min(hi)), &mut vb);
                let rows = kx.nrows();
                gemm(
                    mat(&dd, rows, m).t(),
                    mat(&vb, rows, e),
                    1.0,
                    mat_mut(&mut acc.ctx, m, e),
                );
                for row in vb.chunks(e) {
                    acc.vsum.iter_mut().zip(row).for_each(|(a, &v)| *a += v);
                }
            }
            acc
        })
        .collect();
    out.par_chunks_mut(n * d)
        .enumerate()
        .for_each(|(h, out_h)| {
            let groups = &sums[h * GROUPS..(h + 1) * GROUPS];
            let gmax = groups
                .iter()
                .map(|s| s.max)
                .fold(f32::NEG_INFINITY, f32::max);
            let mut ctx = vec![0f32; m * e];
            let mut vsum = vec![0f32; e];
            for s in groups.iter().filter(|s| s.max > f32::NEG_INFINITY) {
                let r = (s.max - gmax).exp();
                ctx.iter_mut().zip(&s.ctx).for_each(|(c, &v)| *c += r * v);
                vsum.iter_mut().zip(&s.vsum).for_each(|(c, &v)| *c += v);
            }
            for row in ctx.chunks_mut(e) {
                row.iter_mut()
                    .zip(&vsum)
                    .for_each(|(c, &v)| *c = fm.ratio * (*c + KERNEL_EPS * v));
            }
            out_h
                .par_chunks_mut(SUB * d)
                .enumerate()
                .for_each(|(t, out_t)| {
                    let rows = out_t.len() / d;
                    let qx = x.rows(x.q, h, t * SUB, t * SUB + rows);
                    let mut dd = Vec::new();
                    fm.project(qx, &mut dd);
                    fm.features(qx, &mut dd, None, true);
                    let mut res = vec![0f32; rows * e];
                    gemm(
                        mat(&dd, rows, m),
                        mat(&ctx, m, e),
                        0.0,
                        mat_mut(&mut res, rows, e),
                    );
                    for (o, r) in out_t.chunks_mut(d).zip(res.chunks(e)) {
                        let inv = 1.0 / r[d];
                        o.iter_mut().zip(r).for_each(|(o, &v)| *o = v * inv);
                    }
                });
        });
}

fn causal(x: &Inputs, fm: &FeatureMap, out: &mut [f32]) {
    let (heads, n, d, m) = (x.dims.heads, x.dims.n, fm.d, fm.m);
    let e = d + 1;
    // The key stabiliser: the largest c k.w over the whole head, as the reference.
    let gmax: Vec<f32> = (0..heads)
        .map(|h| {
            (0..n.div_ceil(SUB))
                .into_par_iter()
                .map(|t| {
                    let mut dd = Vec::new();
                    fm.project(x.rows(x.k, h, t * SUB, ((t + 1) * SUB).min(n)), &mut dd);
                    dd.iter().copied().fold(f32::NEG_INFINITY, f32::max)
                })
                .reduce(|| f32::NEG_INFINITY, f32::max)
        })
        .collect();
    // Exact key features of rows [lo, hi) of head h, and [V, 1].
    let keys = |h: usize, lo: usize, hi: usize, dd: &mut Vec<f32>, vb: &mut Vec<f32>| {
        let kx = x.rows(x.k, h, lo, hi);
        fm.project(kx, dd);
        fm.features(kx, dd, Some(gmax[h]), true);
        with_ones(x.rows(x.v, h, lo, hi), vb);
    };
    let totals: Vec<Vec<f32>> = (0..heads * GROUPS)
        .into_par_iter()
        .map(|t| {
            let (h, g) = (t / GROUPS, t % GROUPS);
            let (lo, hi) = group_rows(g, n);
            let mut acc = vec![0f32; m * e];
            let (mut dd, mut vb) = (Vec::new(), Vec::new());
            for s in (lo..hi).step_by(SUB) {
                let s1 = (s + SUB).min(hi);
                keys(h, s, s1, &mut dd, &mut vb);
                gemm(
                    mat(&dd, s1 - s, m).t(),
                    mat(&vb, s1 - s, e),
                    1.0,
                    mat_mut(&mut acc, m, e),
                );
            }
            acc
        })
        .collect();
    out.par_chunks_mut(n * d)
        .enumerate()
        .for_each(|(h, out_h)| {
            let mut parts = Vec::with_capacity(GROUPS);
            let mut state = vec![0f32; m * e];
            let mut rest = out_h;
            for g in 0..GROUPS {
                let (lo, hi) = group_rows(g, n);
                let (this, tail) = rest.split_at_mut((hi - lo) * d);
                rest = tail;
                parts.push((lo, hi, state.clone(), this));
                state
                    .iter_mut()
                    .zip(&totals[h * GROUPS + g])
                    .for_each(|(s, &v)| *s += v);
            }
            parts
                .into_par_iter()
                .for_each(|(lo, hi, mut state, out_g)| {
                    let (mut dk, mut vb, mut dq) = (Vec::new(), Vec::new(), Vec::new());
                    for s in (lo..hi).step_by(SUB) {
                        let s1 = (s + SUB).min(hi);
                        let rows = s1 - s;
                        keys(h, s, s1, &mut dk, &mut vb);
                        let qx = x.rows(x.q, h, s, s1);
                        fm.project(qx, &mut dq);
                        fm.features(qx, &mut dq, None, true);
                        let mut res = vec![0f32; rows * e];
                        gemm(
                            mat(&dq, rows, m),
                            mat(&state, m, e),
                            0.0,
                            mat_mut(&mut res, rows, e),
                        );
                        let mut a = vec![0f32; rows * rows];
                        gemm(
                            mat(&dq, rows, m),
                            mat(&dk, rows, m).t(),
                            0.0,
                            mat_mut(&mut a, rows, rows),
                        );
                        for (i, row) in a.chunks_mut(rows).enumerate() {
                            row[i + 1..].fill(0.0);
                        }
                        gemm(
                            mat(&a, rows, rows),
                            mat(&vb, rows, e),
                            1.0,
                            mat_mut(&mut res, rows, e),
                        );
                        gemm(
                            mat(&dk, rows, m).t(),
                            mat(&vb, rows, e),
                            1.0,
                            mat_mut(&mut state, m, e),
                        );
                        let out_s = &mut out_g[(s - lo) * d..(s1 - lo) * d];
                        for ((o, r), qf) in out_s.chunks_mut(d).zip(res.chunks(e)).zip(dq.chunks(m))
                        {
                            let den = r[d] + CAUSAL_EPS * qf.iter().sum::<f32>();
                            let inv = 1.0 / den;
                            o.iter_mut().zip(r).for_each(|(o, &v)| *o = v * inv);
                        }
                    }
                });
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_features_are_orthogonal_within_a_block() {
        let (m, d) = (40, 16);
        let w = seeded_features(m, d, 3);
        assert_eq!(w.dim(), (m, d));
        for b in 0..m.div_ceil(d) {
            let rows: Vec<usize> = (b * d..((b + 1) * d).min(m)).collect();
            for &i in &rows {
                for &j in &rows {
                    let dot: f32 = w.row(i).dot(&w.row(j));
                    if i != j {
                        let scale = w.row(i).dot(&w.row(i)).sqrt() * w.row(j).dot(&w.row(j)).sqrt();
                        assert!(dot.abs() < 1e-4 * scale, "rows {i}, {j}: {dot}");
                    }
                }
            }
        }
        // Row norms are chi(d)-distributed: about sqrt(d) on average.
        let mean = w.rows().into_iter().map(|r| r.dot(&r).sqrt()).sum::<f32>() / m as f32;
        assert!((mean - (d as f32).sqrt()).abs() < 1.0, "mean norm {mean}");
        assert_eq!(w, seeded_features(m, d, 3));
        assert_ne!(w, seeded_features(m, d, 4));
    }
}
