//! A minimal SIMD abstraction for the micro-kernels: one trait, [`Simd`], implemented
//! for plain scalars (any CPU), AVX2 + FMA (8 lanes) and AVX-512F (16 lanes).
//!
//! Kernels are written once, generic over `S: Simd`, marked `#[inline(always)]`, and
//! instantiated inside a `#[target_feature]` entry point per instruction set (see
//! `tiled.rs`), so the compiler emits the wide instructions only where the CPU has
//! been checked to support them at run time.
//!
//! [`Simd::exp2`] is a vectorised `2^x` for arguments `<= 0` (the softmax works in
//! base 2: scores are pre-multiplied by `log2(e)`, so it only ever needs those): split
//! `x = n + r` with `n = round(x)`, `r` in `[-1/2, 1/2]`, a degree-5 polynomial fitted to
//! `2^r` (relative error < 2e-7, exactly 1 at 0) and a scaling by `2^n`. Arguments below
//! -126 (including `-inf` from masked scores, and NaN) give exactly `0`.

/// Arguments below this give `exp2 = 0` exactly (keeps `2^n` a normal float).
pub(crate) const EXP2_MIN: f32 = -126.0;
/// `log2(e)`: scores and biases are multiplied by it so the softmax can use `exp2`.
pub(crate) const LOG2E: f32 = std::f32::consts::LOG2_E;
/// `2^r ~ ((((c0 r + c1) r + c2) r + c3) r + c4) r + 1` on `[-1/2, 1/2]` (a weighted
/// least-squares fit of the relative error; max relative error 1.9e-7 in f32).
#[allow(clippy::approx_constant)] // 0.693147 is fitted, deliberately not ln 2
const EXP2_POLY: [f32; 6] = [
    0.001_326_821_5,
    0.009_671_511,
    0.055_507_217,
    0.240_222_42,
    0.693_147,
    1.0,
];

/// Vector operations on `LANES` f32 lanes. All methods are `unsafe` because the
/// wide implementations need their CPU features to have been detected, and loads and
/// stores take raw pointers to `LANES` readable (writable) floats.
pub(crate) trait Simd: Copy {
    /// The vector register type.
    type V: Copy;
    /// Floats per vector.
    const LANES: usize;

    unsafe fn zero() -> Self::V;
    unsafe fn splat(x: f32) -> Self::V;
    unsafe fn load(p: *const f32) -> Self::V;
    unsafe fn store(p: *mut f32, v: Self::V);
    /// `a * b + c` (fused where the CPU has FMA).
    unsafe fn fma(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V;
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V;
    unsafe fn sub(a: Self::V, b: Self::V) -> Self::V;
    unsafe fn max(a: Self::V, b: Self::V) -> Self::V;
    /// `2^x` for `x <= 0`; `0` below -126 and for `-inf` and NaN.
    unsafe fn exp2(x: Self::V) -> Self::V;

    /// `dst[c * ds + r] = src[r * ss + c] * scale` for `r, c < LANES`: a scaled
    /// transpose of a `LANES x LANES` block (rows `ss` and `ds` floats apart).
    #[inline(always)]
    unsafe fn transpose(src: *const f32, ss: usize, dst: *mut f32, ds: usize, scale: f32) {
        for r in 0..Self::LANES {
            for c in 0..Self::LANES {
                *dst.add(c * ds + r) = *src.add(r * ss + c) * scale;
            }
        }
    }

    /// Sets the lanes of `p[..LANES]` outside `[lo, hi)` to `-inf` (`lo <= hi <= LANES`).
    #[inline(always)]
    unsafe fn keep_lanes(p: *mut f32, lo: usize, hi: usize) {
        for x in (0..lo).chain(hi..Self::LANES) {
            *p.add(x) = f32::NEG_INFINITY;
        }
    }
}

/// Scalar `exp2` with exactly the algorithm of the vector versions.
#[inline(always)]
fn exp2_scalar(x: f32) -> f32 {
    // NaN goes to zero, like the vector versions.
    if x.is_nan() || x < EXP2_MIN {
        return 0.0;
    }
    let n = x.round_ties_even();
    let r = x - n;
    let mut p = EXP2_POLY[0];
    for &c in &EXP2_POLY[1..] {
        p = p * r + c;
    }
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// Plain Rust on 8-float arrays: runs anywhere, and element-wise loops the compiler
/// can map onto whatever vector unit the target has.
#[derive(Clone, Copy)]
pub(crate) struct Portable;

/// Lanes of [`Portable`].
const PL: usize = 8;

/// `f(a[x], b[x])` for every lane.
#[inline(always)]
fn zip_map(a: [f32; PL], b: [f32; PL], f: impl Fn(f32, f32) -> f32) -> [f32; PL] {
    std::array::from_fn(|x| f(a[x], b[x]))
}

impl Simd for Portable {
    type V = [f32; PL];
    const LANES: usize = PL;

    #[inline(always)]
    unsafe fn zero() -> [f32; PL] {
        [0.0; PL]
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> [f32; PL] {
        [x; PL]
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> [f32; PL] {
        std::ptr::read_unaligned(p.cast())
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: [f32; PL]) {
        std::ptr::write_unaligned(p.cast(), v)
    }
    #[inline(always)]
    unsafe fn fma(a: [f32; PL], b: [f32; PL], c: [f32; PL]) -> [f32; PL] {
        std::array::from_fn(|x| a[x] * b[x] + c[x])
    }
    #[inline(always)]
    unsafe fn mul(a: [f32; PL], b: [f32; PL]) -> [f32; PL] {
        zip_map(a, b, |a, b| a * b)
    }
    #[inline(always)]
    unsafe fn add(a: [f32; PL], b: [f32; PL]) -> [f32; PL] {
        zip_map(a, b, |a, b| a + b)
    }
    #[inline(always)]
    unsafe fn sub(a: [f32; PL], b: [f32; PL]) -> [f32; PL] {
        zip_map(a, b, |a, b| a - b)
    }
    #[inline(always)]
    unsafe fn max(a: [f32; PL], b: [f32; PL]) -> [f32; PL] {
        zip_map(a, b, f32::max)
    }
    #[inline(always)]
    unsafe fn exp2(x: [f32; PL]) -> [f32; PL] {
        x.map(exp2_scalar)
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use x86::{transpose16, Avx2, Avx512};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Simd, EXP2_MIN, EXP2_POLY};
    use std::arch::x86_64::*;

    /// AVX2 + FMA, 8 lanes.
    #[derive(Clone, Copy)]
    pub(crate) struct Avx2;

    impl Simd for Avx2 {
        type V = __m256;
        const LANES: usize = 8;

        #[inline(always)]
        unsafe fn zero() -> __m256 {
            _mm256_setzero_ps()
        }
        #[inline(always)]
        unsafe fn splat(x: f32) -> __m256 {
            _mm256_set1_ps(x)
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> __m256 {
            _mm256_loadu_ps(p)
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: __m256) {
            _mm256_storeu_ps(p, v)
        }
        #[inline(always)]
        unsafe fn fma(a: __m256, b: __m256, c: __m256) -> __m256 {
            _mm256_fmadd_ps(a, b, c)
        }
        #[inline(always)]
        unsafe fn mul(a: __m256, b: __m256) -> __m256 {
            _mm256_mul_ps(a, b)
        }
        #[inline(always)]
        unsafe fn add(a: __m256, b: __m256) -> __m256 {
            _mm256_add_ps(a, b)
        }
        #[inline(always)]
        unsafe fn sub(a: __m256, b: __m256) -> __m256 {
            _mm256_sub_ps(a, b)
        }
        #[inline(always)]
        unsafe fn max(a: __m256, b: __m256) -> __m256 {
            _mm256_max_ps(a, b)
        }
        #[inline(always)]
        unsafe fn exp2(x: __m256) -> __m256 {
            // Ordered compare: false for NaN and below the range.
            let keep = _mm256_cmp_ps(x, _mm256_set1_ps(EXP2_MIN), _CMP_GE_OQ);
            let xc = _mm256_max_ps(x, _mm256_set1_ps(EXP2_MIN));
            let n = _mm256_round_ps(xc, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            let r = _mm256_sub_ps(xc, n);
            let mut p = _mm256_set1_ps(EXP2_POLY[0]);
            for &c in &EXP2_POLY[1..] {
                p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c));
            }
            let bits = _mm256_slli_epi32(
                _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)),
                23,
            );
            _mm256_and_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(bits)), keep)
        }
        /// Eight rows scaled, then transposed with 24 in-register shuffles (the scalar
        /// default made the query tile's fill a fifth of the f32 kernel's time on Zen 3).
        #[inline(always)]
        unsafe fn transpose(src: *const f32, ss: usize, dst: *mut f32, ds: usize, scale: f32) {
            let s = _mm256_set1_ps(scale);
            let r: [__m256; 8] =
                std::array::from_fn(|i| _mm256_mul_ps(_mm256_loadu_ps(src.add(i * ss)), s));
            // rows a..h; pairs interleaved in each 128-bit half: (a0 b0 a1 b1 | a4 b4 a5 b5)
            let lo = |x: usize| _mm256_unpacklo_ps(r[x], r[x + 1]);
            let hi = |x: usize| _mm256_unpackhi_ps(r[x], r[x + 1]);
            let (t0, t1, t2, t3) = (lo(0), hi(0), lo(2), hi(2));
            let (t4, t5, t6, t7) = (lo(4), hi(4), lo(6), hi(6));
            // four rows per half: (a0 b0 c0 d0 | a4 b4 c4 d4), (a1 b1 c1 d1 | a5 ...), ...
            let u = [
                _mm256_shuffle_ps::<0x44>(t0, t2),
                _mm256_shuffle_ps::<0xEE>(t0, t2),
                _mm256_shuffle_ps::<0x44>(t1, t3),
                _mm256_shuffle_ps::<0xEE>(t1, t3),
                _mm256_shuffle_ps::<0x44>(t4, t6),
                _mm256_shuffle_ps::<0xEE>(t4, t6),
                _mm256_shuffle_ps::<0x44>(t5, t7),
                _mm256_shuffle_ps::<0xEE>(t5, t7),
            ];
            // column c < 4: the low halves of u[c] and u[c + 4]; column c + 4: the high ones
            for c in 0..4 {
                let (top, bottom) = (u[c], u[c + 4]);
                _mm256_storeu_ps(dst.add(c * ds), _mm256_permute2f128_ps::<0x20>(top, bottom));
                _mm256_storeu_ps(
                    dst.add((c + 4) * ds),
                    _mm256_permute2f128_ps::<0x31>(top, bottom),
                );
            }
        }
    }

    /// AVX-512F, 16 lanes.
    #[derive(Clone, Copy)]
    pub(crate) struct Avx512;

    impl Simd for Avx512 {
        type V = __m512;
        const LANES: usize = 16;

        #[inline(always)]
        unsafe fn zero() -> __m512 {
            _mm512_setzero_ps()
        }
        #[inline(always)]
        unsafe fn splat(x: f32) -> __m512 {
            _mm512_set1_ps(x)
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> __m512 {
            _mm512_loadu_ps(p)
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: __m512) {
            _mm512_storeu_ps(p, v)
        }
        #[inline(always)]
        unsafe fn fma(a: __m512, b: __m512, c: __m512) -> __m512 {
            _mm512_fmadd_ps(a, b, c)
        }
        #[inline(always)]
        unsafe fn mul(a: __m512, b: __m512) -> __m512 {
            _mm512_mul_ps(a, b)
        }
        #[inline(always)]
        unsafe fn add(a: __m512, b: __m512) -> __m512 {
            _mm512_add_ps(a, b)
        }
        #[inline(always)]
        unsafe fn sub(a: __m512, b: __m512) -> __m512 {
            _mm512_sub_ps(a, b)
        }
        #[inline(always)]
        unsafe fn max(a: __m512, b: __m512) -> __m512 {
            _mm512_max_ps(a, b)
        }
        #[inline(always)]
        unsafe fn exp2(x: __m512) -> __m512 {
            // Ordered compare: false for NaN, -inf and below the range; those lanes
            // are zeroed by the final masked scaling (their NaN work is discarded).
            let keep = _mm512_cmp_ps_mask(x, _mm512_set1_ps(EXP2_MIN), _CMP_GE_OQ);
            let n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            let r = _mm512_sub_ps(x, n);
            let mut p = _mm512_set1_ps(EXP2_POLY[0]);
            for &c in &EXP2_POLY[1..] {
                p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
            }
            // p * 2^n in one instruction; n >= -126 in every kept lane.
            _mm512_maskz_scalef_ps(keep, p, n)
        }
        #[inline(always)]
        unsafe fn keep_lanes(p: *mut f32, lo: usize, hi: usize) {
            // Bits lo..hi set; the shifts stay below 32 as hi <= 16.
            let keep = ((1u32 << hi) - (1u32 << lo)) as __mmask16;
            let v = _mm512_mask_mov_ps(_mm512_set1_ps(f32::NEG_INFINITY), keep, _mm512_loadu_ps(p));
            _mm512_storeu_ps(p, v);
        }
        #[inline(always)]
        unsafe fn transpose(src: *const f32, ss: usize, dst: *mut f32, ds: usize, scale: f32) {
            let r: [__m512; 16] = std::array::from_fn(|i| _mm512_loadu_ps(src.add(i * ss)));
            let s = _mm512_set1_ps(scale);
            for (c, col) in transpose16(r).into_iter().enumerate() {
                _mm512_storeu_ps(dst.add(c * ds), _mm512_mul_ps(col, s));
            }
        }
    }

    /// The columns of a 16 x 16 block of 32-bit lanes given as rows (`out[c]` lane `r`
    /// = `rows[r]` lane `c`). Only shuffles: bit patterns pass unchanged, so it also
    /// transposes words that are not floats (bf16 pairs). Caller: AVX-512F.
    #[inline(always)]
    pub(crate) unsafe fn transpose16(r: [__m512; 16]) -> [__m512; 16] {
        // Pairs of rows interleaved within each 128-bit lane: (a0 b0 a1 b1), (a2 b2 a3 b3).
        let t: [__m512; 16] = std::array::from_fn(|i| {
            let (a, b) = (r[i & !1], r[i | 1]);
            if i % 2 == 0 {
                _mm512_unpacklo_ps(a, b)
            } else {
                _mm512_unpackhi_ps(a, b)
            }
        });
        // u[4g + k]: column 4L + k of rows 4g..4g + 4 in 128-bit lane L.
        let u: [__m512; 16] = std::array::from_fn(|i| {
            let (g, k) = (i / 4, i % 4);
            let (a, b) = (
                _mm512_castps_pd(t[4 * g + k / 2]),
                _mm512_castps_pd(t[4 * g + k / 2 + 2]),
            );
            _mm512_castpd_ps(if k % 2 == 0 {
                _mm512_unpacklo_pd(a, b)
            } else {
                _mm512_unpackhi_pd(a, b)
            })
        });
        let mut out = [_mm512_setzero_ps(); 16];
        for k in 0..4 {
            let v1 = _mm512_shuffle_f32x4::<0x88>(u[k], u[4 + k]);
            let v2 = _mm512_shuffle_f32x4::<0xDD>(u[k], u[4 + k]);
            let v3 = _mm512_shuffle_f32x4::<0x88>(u[8 + k], u[12 + k]);
            let v4 = _mm512_shuffle_f32x4::<0xDD>(u[8 + k], u[12 + k]);
            out[k] = _mm512_shuffle_f32x4::<0x88>(v1, v3);
            out[4 + k] = _mm512_shuffle_f32x4::<0x88>(v2, v4);
            out[8 + k] = _mm512_shuffle_f32x4::<0xDD>(v1, v3);
            out[12 + k] = _mm512_shuffle_f32x4::<0xDD>(v2, v4);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_exp2<S: Simd>() {
        let lanes = S::LANES;
        let mut xs: Vec<f32> = (0..4000).map(|i| -(i as f32) * 0.0319).collect();
        xs.extend([
            f32::NEG_INFINITY,
            f32::NAN,
            -126.5,
            -126.0,
            -125.9,
            -1e-30,
            0.0,
        ]);
        while !xs.len().is_multiple_of(lanes) {
            xs.push(0.0);
        }
        let mut ys = vec![0f32; xs.len()];
        for (x, y) in xs.chunks(lanes).zip(ys.chunks_mut(lanes)) {
            // SAFETY: the caller checked the CPU features; chunks hold `lanes` floats.
            unsafe { S::store(y.as_mut_ptr(), S::exp2(S::load(x.as_ptr()))) };
        }
        for (&x, &y) in xs.iter().zip(&ys) {
            if x.is_nan() || x < EXP2_MIN {
                assert_eq!(y, 0.0, "exp2({x})");
            } else {
                let want = f64::from(x).exp2();
                let rel = (f64::from(y) - want).abs() / want;
                assert!(rel < 2.5e-7, "exp2({x}) = {y}, want {want}, rel {rel:e}");
            }
        }
        // Exactly 1 at 0, so an unchanged running max rescales by exactly 1.
        let zero = [0f32; 16];
        let mut one = [0f32; 16];
        // SAFETY: as above; both arrays hold at least `lanes` (<= 16) floats.
        unsafe { S::store(one.as_mut_ptr(), S::exp2(S::load(zero.as_ptr()))) };
        assert_eq!(one[0], 1.0);
    }

    fn check_transpose<S: Simd>() {
        let l = S::LANES;
        let (ss, ds) = (l + 3, l + 5);
        let src: Vec<f32> = (0..l * ss).map(|i| i as f32).collect();
        let mut dst = vec![-1f32; l * ds];
        // SAFETY: the caller checked the CPU features; both buffers hold `l` rows.
        unsafe { S::transpose(src.as_ptr(), ss, dst.as_mut_ptr(), ds, 0.5) };
        for r in 0..l {
            for c in 0..l {
                assert_eq!(dst[c * ds + r], src[r * ss + c] * 0.5, "({r}, {c})");
            }
            assert!(dst[r * ds + l..(r + 1) * ds].iter().all(|&x| x == -1.0));
        }
    }

    fn check_keep_lanes<S: Simd>() {
        let l = S::LANES;
        for lo in 0..=l {
            for hi in lo..=l {
                let mut row: Vec<f32> = (0..l).map(|x| x as f32).collect();
                // SAFETY: the caller checked the CPU features; `row` holds `l` floats.
                unsafe { S::keep_lanes(row.as_mut_ptr(), lo, hi) };
                for (x, &v) in row.iter().enumerate() {
                    let want = if (lo..hi).contains(&x) {
                        x as f32
                    } else {
                        f32::NEG_INFINITY
                    };
                    assert_eq!(v, want, "lanes {lo}..{hi}, lane {x}");
                }
            }
        }
    }

    #[test]
    fn keep_lanes_is_exact_on_every_isa() {
        check_keep_lanes::<Portable>();
        #[cfg(target_arch = "x86_64")]
        {
            if crate::Isa::Avx2.is_available() {
                check_keep_lanes::<Avx2>();
            }
            if crate::Isa::Avx512.is_available() {
                check_keep_lanes::<Avx512>();
            }
        }
    }

    #[test]
    fn transpose_is_exact_on_every_isa() {
        check_transpose::<Portable>();
        #[cfg(target_arch = "x86_64")]
        {
            if crate::Isa::Avx2.is_available() {
                check_transpose::<Avx2>();
            }
            if crate::Isa::Avx512.is_available() {
                check_transpose::<Avx512>();
            }
        }
    }

    #[test]
    fn exp2_is_accurate_on_every_isa() {
        check_exp2::<Portable>();
        #[cfg(target_arch = "x86_64")]
        {
            if crate::Isa::Avx2.is_available() {
                check_exp2::<Avx2>();
            }
            if crate::Isa::Avx512.is_available() {
                check_exp2::<Avx512>();
            }
        }
    }
}
