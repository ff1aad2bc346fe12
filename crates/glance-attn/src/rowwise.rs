//! A simple row-at-a-time f32 kernel: for each query, the local candidate keys and the
//! global keys, with an online softmax. Correct for every pattern; the tiled kernels
//! replace it on the hot path.

use ndarray::{Array3, ArrayView3, Axis};
use rayon::prelude::*;

use crate::options::AttendOptions;
use crate::validate::Dims;
use crate::visibility::Visibility;

/// Runs attention row by row (parallel over heads).
pub(crate) fn attend(
    q: ArrayView3<f32>,
    k: ArrayView3<f32>,
    v: ArrayView3<f32>,
    vis: &Visibility,
    opts: &AttendOptions,
    dims: Dims,
    scale: f32,
) -> Array3<f32> {
    let mut out = Array3::<f32>::zeros((dims.heads, dims.n, dims.d));
    out.axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each(|(h, mut out_h)| {
            let mut acc = vec![0f32; dims.d];
            for i in 0..dims.n {
                let global_row = vis.is_global(i);
                let (qs, ks, vs) = match (&opts.global_qkv, global_row) {
                    (Some(g), true) => (g.q, g.k, g.v),
                    _ => (q, k, v),
                };
                let (lo, hi, step) = if global_row {
                    (0, dims.n, 1)
                } else {
                    vis.local_candidates(h, i)
                };
                let extra = if global_row { &[][..] } else { vis.globals() };
                let keys = (lo..hi)
                    .step_by(step)
                    .chain(extra.iter().copied().filter(|&g| !vis.is_local(h, i, g)));
                let mut max = f32::NEG_INFINITY;
                let mut sum = 0f32;
                acc.fill(0.0);
                for j in keys {
                    if vis.is_padding(j) {
                        continue;
                    }
                    let mut dot = 0f32;
                    for c in 0..dims.d {
                        dot += qs[[h, i, c]] * ks[[h, j, c]];
                    }
                    let bias = opts
                        .bias
                        .as_ref()
                        .map_or(0.0, |b| b.value(h, i as i64 - j as i64));
                    let s = scale * dot + bias;
                    if s > max {
                        let alpha = (max - s).exp();
                        sum *= alpha;
                        acc.iter_mut().for_each(|a| *a *= alpha);
                        max = s;
                    }
                    let p = (s - max).exp();
                    sum += p;
                    for c in 0..dims.d {
                        acc[c] += p * vs[[h, j, c]];
                    }
                }
                if sum > 0.0 {
                    for c in 0..dims.d {
                        out_h[[i, c]] = acc[c] / sum;
                    }
                }
            }
        });
    out
}
