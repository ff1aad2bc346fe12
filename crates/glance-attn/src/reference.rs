//! The dense masked reference in f64: every (query, key) pair is checked against
//! [`Visibility`] and the softmax is taken over the allowed ones in double precision.
//! Slow (O(n^2) mask checks per head) and meant for tests and `glance bench --check`.

use ndarray::{Array3, ArrayView3, Axis};
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
                    scores.push((j, scale * dot + bias));
                }
                let Some(max) = scores.iter().map(|s| s.1).reduce(f64::max) else {
                    continue;
                };
                let total: f64 = scores.iter().map(|s| (s.1 - max).exp()).sum();
                for &(j, s) in &scores {
                    let p = (s - max).exp() / total;
                    for c in 0..dims.d {
                        out_h[[i, c]] += p * f64::from(vs[[h, j, c]]);
                    }
                }
            }
        });
    Ok(out)
}
