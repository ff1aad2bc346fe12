//! Dense building blocks of the approximate patterns: a matrix product on
//! `matrixmultiply` (through ndarray), an `exp` over slices that vectorises, and the
//! row softmax. Every function gives the same bits on every thread; the `exp` gives the
//! same bits with and without AVX2 (no fused multiply-adds).

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};

/// `s` as a row-major `[rows, cols]` matrix (`rows` is cut to what `s` holds).
#[inline]
pub(crate) fn mat(s: &[f32], rows: usize, cols: usize) -> ArrayView2<'_, f32> {
    let rows = s.len().checked_div(cols).map_or(0, |fit| rows.min(fit));
    // SAFETY: `rows * cols <= s.len()` elements in standard layout, borrowed from `s`.
    unsafe { ArrayView2::from_shape_ptr((rows, cols), s.as_ptr()) }
}

/// `s` as a mutable row-major `[rows, cols]` matrix (`rows` is cut to what `s` holds).
#[inline]
pub(crate) fn mat_mut(s: &mut [f32], rows: usize, cols: usize) -> ArrayViewMut2<'_, f32> {
    let rows = s.len().checked_div(cols).map_or(0, |fit| rows.min(fit));
    // SAFETY: `rows * cols <= s.len()` elements in standard layout, borrowed mutably.
    unsafe { ArrayViewMut2::from_shape_ptr((rows, cols), s.as_mut_ptr()) }
}

/// `c = a b + beta c`.
#[inline]
pub(crate) fn gemm(a: ArrayView2<f32>, b: ArrayView2<f32>, beta: f32, mut c: ArrayViewMut2<f32>) {
    general_mat_mul(1.0, &a, &b, beta, &mut c);
}

/// `exp(x)` in f32 (Cody-Waite reduction, degree-6 Taylor polynomial; relative error
/// below 3e-7). Arguments below -87.3 give 0, above 88.7 give `+inf`.
#[inline(always)]
fn exp1(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    const MAGIC: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer
    let xc = x.clamp(-87.3, 88.7);
    let t = xc * LOG2E + MAGIC;
    let k = t - MAGIC;
    let ki = (t.to_bits() as i32).wrapping_sub(MAGIC.to_bits() as i32);
    let r = xc - k * LN2_HI - k * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    let scale = f32::from_bits(((ki + 127) as u32) << 23);
    if x < -87.3 {
        0.0
    } else {
        p * scale
    }
}

#[inline(always)]
fn exp_generic(x: &mut [f32]) {
    for v in x.iter_mut() {
        *v = exp1(*v);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn exp_avx2(x: &mut [f32]) {
    exp_generic(x)
}

/// `x = exp(x)` elementwise.
pub(crate) fn exp_inplace(x: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { exp_avx2(x) };
            return;
        }
    }
    exp_generic(x)
}

/// Softmax of one row in place; returns `log(sum(exp(x)))` of the input row.
pub(crate) fn softmax_row(row: &mut [f32]) -> f32 {
    softmax_scaled(row, 1.0)
}

/// Lanes of the blocked reductions (fixed: results do not depend on the CPU).
const LANES: usize = 16;

/// The largest element (blocked over [`LANES`] so that it vectorises).
#[inline(always)]
fn max_of(row: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let mut chunks = row.chunks_exact(LANES);
    for c in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = a.max(v);
        }
    }
    let tail = chunks
        .remainder()
        .iter()
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    acc.iter().copied().fold(tail, f32::max)
}

/// The sum in a fixed blocked order (vectorises; the same bits everywhere).
#[inline(always)]
fn sum_of(row: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let mut chunks = row.chunks_exact(LANES);
    for c in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    let tail: f32 = chunks.remainder().iter().sum();
    acc.iter().sum::<f32>() + tail
}

#[inline(always)]
fn softmax_generic(row: &mut [f32], scale: f32) -> f32 {
    let max = max_of(row);
    if max == f32::NEG_INFINITY {
        row.fill(0.0);
        return f32::NEG_INFINITY;
    }
    row.iter_mut().for_each(|v| *v = (*v - max) * scale);
    exp_generic(row);
    let sum = sum_of(row);
    let inv = 1.0 / sum;
    row.iter_mut().for_each(|v| *v *= inv);
    max * scale + sum.ln()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn softmax_avx2(row: &mut [f32], scale: f32) -> f32 {
    softmax_generic(row, scale)
}

/// Softmax of `scale * row` in place (`scale > 0`, folded into the exponent); returns
/// the log-sum-exp of `scale * row`.
pub(crate) fn softmax_scaled(row: &mut [f32], scale: f32) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe { softmax_avx2(row, scale) };
        }
    }
    softmax_generic(row, scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_accurate_and_saturates() {
        let mut xs: Vec<f32> = (-2000..=800).map(|i| i as f32 * 0.1).collect();
        let inputs = xs.clone();
        exp_inplace(&mut xs);
        for (&x, &g) in inputs.iter().zip(&xs) {
            if x < -87.3 {
                assert_eq!(g, 0.0, "exp({x})");
            } else {
                let w = f64::from(x).exp();
                assert!(
                    ((f64::from(g) - w) / w).abs() < 4e-7,
                    "exp({x}) = {g}, not {w}"
                );
            }
        }
        let mut edge = [f32::NEG_INFINITY, -1e9, 0.0];
        exp_inplace(&mut edge);
        assert_eq!(edge, [0.0, 0.0, 1.0]);
        let mut a: Vec<f32> = (0..37).map(|i| i as f32 * 0.37 - 5.0).collect();
        let mut b = a.clone();
        exp_inplace(&mut a);
        exp_generic(&mut b);
        assert_eq!(a, b, "the AVX2 path gives the same bits");
    }
}
