//! The encoder's element-wise and row-wise f32 loops (LayerNorm, GELU, gated
//! activations, adds), compiled once per instruction set and picked at run time.
//!
//! The crate is built for baseline x86-64, where the compiler vectorises these loops
//! with 4-lane SSE only; the same plain Rust bodies, inlined into functions built with
//! AVX-512 (or AVX2 + FMA) enabled, vectorise 16 (or 8) lanes wide. The bodies are
//! ordinary safe code, so every instruction set computes the same formulas; sums are
//! kept in [`LANES`] partial accumulators so that they vectorise too.

/// Partial sums per reduction (one AVX-512 register of f32).
const LANES: usize = 16;

/// The widest instruction set this CPU offers for the loops below.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Isa {
    Avx512,
    Avx2,
    Baseline,
}

#[cfg(target_arch = "x86_64")]
fn isa() -> Isa {
    if std::arch::is_x86_feature_detected!("avx512f") {
        Isa::Avx512
    } else if std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma")
    {
        Isa::Avx2
    } else {
        Isa::Baseline
    }
}

/// Defines `pub(crate) fn $name(args)` that runs `$body` (an `#[inline(always)]` function
/// taking the same arguments) built for the widest instruction set detected.
macro_rules! per_isa {
    ($(#[$doc:meta])* $name:ident => $body:ident($($arg:ident: $ty:ty),*)) => {
        $(#[$doc])*
        pub(crate) fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                fn avx512($($arg: $ty),*) {
                    $body($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) {
                    $body($($arg),*)
                }
                match isa() {
                    // SAFETY: the CPU supports AVX-512F (detected at run time).
                    Isa::Avx512 => return unsafe { avx512($($arg),*) },
                    // SAFETY: the CPU supports AVX2 and FMA (detected at run time).
                    Isa::Avx2 => return unsafe { avx2($($arg),*) },
                    Isa::Baseline => {}
                }
            }
            $body($($arg),*)
        }
    };
}

per_isa!(
    /// Normalises each `weight.len()`-wide row of `x` in place: `(v - mean) / sqrt(var +
    /// eps) * weight (+ bias)` with the biased variance, as `torch.nn.LayerNorm`.
    layer_norm_rows => layer_norm_rows_body(x: &mut [f32], weight: &[f32], bias: Option<&[f32]>, eps: f32)
);

per_isa!(
    /// Appends the LayerNorm of each `weight.len()`-wide row of `src` to `dst` (the
    /// formula of [`layer_norm_rows`], without a copy or a zeroed buffer first).
    layer_norm_rows_into => layer_norm_rows_into_body(src: &[f32], dst: &mut Vec<f32>, weight: &[f32], bias: Option<&[f32]>, eps: f32)
);

per_isa!(
    /// `v = gelu(v + bias[column])` for every element of the `bias.len()`-wide rows of
    /// `x` (a layer's bias folded into its activation).
    bias_gelu_rows => bias_gelu_rows_body(x: &mut [f32], bias: &[f32])
);

per_isa!(
    /// `v += bias[column]` for every element of the `bias.len()`-wide rows of `x`.
    add_bias_rows => add_bias_rows_body(x: &mut [f32], bias: &[f32])
);

per_isa!(
    /// `v = gelu(v)` (exact, erf-based) for every element.
    gelu_inplace => gelu_inplace_body(x: &mut [f32])
);

per_isa!(
    /// `h = h * gelu(g)` element-wise (the gated GELU of GeGLU / DNABERT-2's FFN).
    mul_gelu => mul_gelu_body(h: &mut [f32], g: &[f32])
);

per_isa!(
    /// Rotary position embedding in the rotate-half layout over the consecutive
    /// `2 * half`-wide rows of `x`: row `t` takes row `t` of `cos` and `sin` (`half`
    /// wide), and each pair `(a, b) = (row[i], row[i + half])` becomes
    /// `(a cos - b sin, b cos + a sin)`.
    rotate_half_rows => rotate_half_rows_body(x: &mut [f32], cos: &[f32], sin: &[f32], half: usize)
);

#[inline(always)]
fn rotate_half_rows_body(x: &mut [f32], cos: &[f32], sin: &[f32], half: usize) {
    if half == 0 {
        return;
    }
    let tables = cos.chunks_exact(half).zip(sin.chunks_exact(half));
    for (row, (cos, sin)) in x.chunks_exact_mut(2 * half).zip(tables) {
        let (lo, hi) = row.split_at_mut(half);
        for i in 0..half {
            let (a, b, c, s) = (lo[i], hi[i], cos[i], sin[i]);
            lo[i] = a * c - b * s;
            hi[i] = b * c + a * s;
        }
    }
}

#[inline(always)]
fn lane_sum(x: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut acc = [0.0f32; LANES];
    let mut chunks = x.chunks_exact(LANES);
    for c in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += f(v);
        }
    }
    let tail: f32 = chunks.remainder().iter().map(|&v| f(v)).sum();
    acc.iter().sum::<f32>() + tail
}

/// The mean of `row` and `1 / sqrt(biased variance + eps)`.
#[inline(always)]
fn row_moments(row: &[f32], eps: f32) -> (f32, f32) {
    let inv_d = 1.0 / row.len() as f32;
    let mean = lane_sum(row, |v| v) * inv_d;
    let var = lane_sum(row, |v| (v - mean) * (v - mean)) * inv_d;
    (mean, 1.0 / (var + eps).sqrt())
}

#[inline(always)]
fn layer_norm_rows_body(x: &mut [f32], weight: &[f32], bias: Option<&[f32]>, eps: f32) {
    let d = weight.len();
    if d == 0 {
        return;
    }
    for row in x.chunks_exact_mut(d) {
        let (mean, inv) = row_moments(row, eps);
        match bias {
            Some(bias) => {
                for ((v, &g), &b) in row.iter_mut().zip(weight).zip(bias) {
                    *v = (*v - mean) * inv * g + b;
                }
            }
            None => {
                for (v, &g) in row.iter_mut().zip(weight) {
                    *v = (*v - mean) * inv * g;
                }
            }
        }
    }
}

#[inline(always)]
fn layer_norm_rows_into_body(
    src: &[f32],
    dst: &mut Vec<f32>,
    weight: &[f32],
    bias: Option<&[f32]>,
    eps: f32,
) {
    let d = weight.len();
    if d == 0 {
        return;
    }
    dst.reserve(src.len());
    for row in src.chunks_exact(d) {
        let (mean, inv) = row_moments(row, eps);
        match bias {
            Some(bias) => dst.extend(
                row.iter()
                    .zip(weight)
                    .zip(bias)
                    .map(|((&v, &g), &b)| (v - mean) * inv * g + b),
            ),
            None => dst.extend(row.iter().zip(weight).map(|(&v, &g)| (v - mean) * inv * g)),
        }
    }
}

#[inline(always)]
fn bias_gelu_rows_body(x: &mut [f32], bias: &[f32]) {
    if bias.is_empty() {
        return;
    }
    for row in x.chunks_exact_mut(bias.len()) {
        for (v, &b) in row.iter_mut().zip(bias) {
            *v = gelu(*v + b);
        }
    }
}

#[inline(always)]
fn add_bias_rows_body(x: &mut [f32], bias: &[f32]) {
    if bias.is_empty() {
        return;
    }
    for row in x.chunks_exact_mut(bias.len()) {
        for (v, &b) in row.iter_mut().zip(bias) {
            *v += b;
        }
    }
}

#[inline(always)]
fn gelu_inplace_body(x: &mut [f32]) {
    for v in x {
        *v = gelu(*v);
    }
}

#[inline(always)]
fn mul_gelu_body(h: &mut [f32], g: &[f32]) {
    for (h, &g) in h.iter_mut().zip(g) {
        *h *= gelu(g);
    }
}

/// Exact (erf-based) GELU, `0.5 x (1 + erf(x / sqrt 2))`, with erf from Abramowitz &
/// Stegun 7.1.28 (absolute error below 3e-7), branch-free so that it vectorises.
#[inline(always)]
pub(crate) fn gelu(x: f32) -> f32 {
    const A: [f32; 6] = [
        0.070_523_08,
        0.042_282_01,
        0.009_270_527,
        0.000_152_014_3,
        0.000_276_567_2,
        0.000_043_063_8,
    ];
    let z = (x * std::f32::consts::FRAC_1_SQRT_2).abs();
    let p = 1.0 + z * (A[0] + z * (A[1] + z * (A[2] + z * (A[3] + z * (A[4] + z * A[5])))));
    let p2 = p * p;
    let p4 = p2 * p2;
    let p8 = p4 * p4;
    let erf = 1.0 - 1.0 / (p8 * p8);
    0.5 * x * (1.0 + erf.copysign(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_layer_norm(row: &[f32], weight: &[f32], bias: Option<&[f32]>, eps: f32) -> Vec<f64> {
        let d = row.len() as f64;
        let mean = row.iter().map(|&v| v as f64).sum::<f64>() / d;
        let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / d;
        row.iter()
            .enumerate()
            .map(|(i, &v)| {
                (v as f64 - mean) / (var + eps as f64).sqrt() * weight[i] as f64
                    + bias.map_or(0.0, |b| b[i] as f64)
            })
            .collect()
    }

    /// Every instruction set this CPU has gives the f64 LayerNorm within f32 rounding,
    /// for widths that are and are not multiples of the lane count.
    #[test]
    fn layer_norm_matches_f64_on_every_isa() {
        for d in [1usize, 7, 16, 33, 256] {
            let rows = 3;
            let x: Vec<f32> = (0..rows * d)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.37 + 1000.0)
                .collect();
            let w: Vec<f32> = (0..d).map(|i| 0.5 + i as f32 * 0.01).collect();
            let b: Vec<f32> = (0..d).map(|i| i as f32 * -0.02).collect();
            for bias in [Some(&b[..]), None] {
                let mut got = x.clone();
                layer_norm_rows(&mut got, &w, bias, 1e-5);
                let mut plain = x.clone();
                layer_norm_rows_body(&mut plain, &w, bias, 1e-5);
                for r in 0..rows {
                    let want = naive_layer_norm(&x[r * d..(r + 1) * d], &w, bias, 1e-5);
                    for (i, &e) in want.iter().enumerate() {
                        let (g, p) = (got[r * d + i], plain[r * d + i]);
                        assert!(
                            (g as f64 - e).abs() < 2e-4,
                            "d {d} row {r} col {i}: {g} vs {e}"
                        );
                        assert!((g - p).abs() < 1e-5, "dispatched {g} vs baseline {p}");
                    }
                }
            }
        }
    }

    /// GELU against erf from libm, and the gated and add loops against plain arithmetic,
    /// on lengths with a remainder after the vector lanes.
    #[test]
    fn elementwise_loops_match_scalar_formulas() {
        let x: Vec<f32> = (-800..=800).map(|i| i as f32 / 100.0).collect();
        let mut g = x.clone();
        gelu_inplace(&mut g);
        for (&v, &y) in x.iter().zip(&g) {
            let exact = 0.5 * v as f64 * (1.0 + libm::erf(v as f64 / std::f64::consts::SQRT_2));
            assert!(
                (y as f64 - exact).abs() < 1e-6,
                "gelu({v}) = {y}, want {exact}"
            );
        }
        let mut h: Vec<f32> = x.iter().map(|v| v * 0.5 + 1.0).collect();
        let want: Vec<f32> = h.iter().zip(&x).map(|(h, &v)| h * gelu(v)).collect();
        mul_gelu(&mut h, &x);
        assert_eq!(h, want);
        // rows of 7 (not a lane multiple): the bias repeats per row
        let x = &x[..1596];
        let bias: Vec<f32> = (0..7).map(|i| i as f32 * 0.25 - 0.75).collect();
        let biased: Vec<f32> = x.iter().enumerate().map(|(i, v)| v + bias[i % 7]).collect();
        let mut a = x.to_vec();
        add_bias_rows(&mut a, &bias);
        assert_eq!(a, biased);
        let mut a = x.to_vec();
        bias_gelu_rows(&mut a, &bias);
        let want: Vec<f32> = biased.iter().map(|&v| gelu(v)).collect();
        assert_eq!(a, want);
    }

    /// The out-of-place LayerNorm writes exactly what the in-place one computes.
    #[test]
    fn layer_norm_into_equals_in_place() {
        let (rows, d) = (5, 33);
        let x: Vec<f32> = (0..rows * d)
            .map(|i| ((i * 13 % 29) as f32).sin() * 3.0)
            .collect();
        let w: Vec<f32> = (0..d).map(|i| 1.0 + i as f32 * 0.03).collect();
        let b: Vec<f32> = (0..d).map(|i| i as f32 * 0.01).collect();
        for bias in [Some(&b[..]), None] {
            let mut in_place = x.clone();
            layer_norm_rows(&mut in_place, &w, bias, 1e-12);
            let mut out = Vec::new();
            layer_norm_rows_into(&x, &mut out, &w, bias, 1e-12);
            assert_eq!(out, in_place);
        }
    }
}
