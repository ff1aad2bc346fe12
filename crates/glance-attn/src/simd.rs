//! A minimal SIMD abstraction for the micro-kernels: one trait, [`Simd`], implemented
//! for plain scalars (any CPU), AVX2 + FMA (8 lanes) and AVX-512F (16 lanes).
//!
//! Kernels are written once, generic over `S: Simd`, marked `#[inline(always)]`, and
//! instantiated inside a `#[target_feature]` entry point per instruction set (see
//! `tiled.rs`), so the compiler emits the wide instructions only where the CPU has
//! been checked to support them at run time.
//!
//! [`Simd::exp`] is a vectorised `exp` for arguments `<= 0` (the softmax only ever
//! needs those): Cody-Waite range reduction to `r` in `[-ln2/2, ln2/2]`, a degree-6
//! Taylor polynomial (relative error < 2e-7) and an exponent shift. Arguments below
//! -87.3 (including `-inf` from masked scores) give exactly `0`.

/// Arguments below this give `exp = 0` exactly (keeps 2^n a normal float).
const EXP_MIN: f32 = -87.3;
const LOG2E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split for Cody-Waite reduction (the high part has few mantissa bits).
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
const EXP_POLY: [f32; 7] = [
    1.0 / 720.0,
    1.0 / 120.0,
    1.0 / 24.0,
    1.0 / 6.0,
    0.5,
    1.0,
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
    /// `exp(x)` for `x <= 0`; `0` below -87.3 and for `-inf`.
    unsafe fn exp(x: Self::V) -> Self::V;
}

/// Scalar `exp` with exactly the algorithm of the vector versions.
#[inline(always)]
fn exp_scalar(x: f32) -> f32 {
    // NaN goes to zero, like the vector versions.
    if x.is_nan() || x < EXP_MIN {
        return 0.0;
    }
    let n = (x * LOG2E).round();
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let mut p = EXP_POLY[0];
    for &c in &EXP_POLY[1..] {
        p = p * r + c;
    }
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// Plain Rust, one lane: runs anywhere.
#[derive(Clone, Copy)]
pub(crate) struct Portable;

impl Simd for Portable {
    type V = f32;
    const LANES: usize = 1;

    #[inline(always)]
    unsafe fn zero() -> f32 {
        0.0
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> f32 {
        x
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> f32 {
        *p
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: f32) {
        *p = v;
    }
    #[inline(always)]
    unsafe fn fma(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
    #[inline(always)]
    unsafe fn mul(a: f32, b: f32) -> f32 {
        a * b
    }
    #[inline(always)]
    unsafe fn add(a: f32, b: f32) -> f32 {
        a + b
    }
    #[inline(always)]
    unsafe fn sub(a: f32, b: f32) -> f32 {
        a - b
    }
    #[inline(always)]
    unsafe fn max(a: f32, b: f32) -> f32 {
        a.max(b)
    }
    #[inline(always)]
    unsafe fn exp(x: f32) -> f32 {
        exp_scalar(x)
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use x86::{Avx2, Avx512};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Simd, EXP_MIN, EXP_POLY, LN2_HI, LN2_LO, LOG2E};
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
        unsafe fn exp(x: __m256) -> __m256 {
            let keep = _mm256_cmp_ps(x, _mm256_set1_ps(EXP_MIN), _CMP_GE_OQ);
            let xc = _mm256_max_ps(x, _mm256_set1_ps(EXP_MIN));
            let n = _mm256_round_ps(
                _mm256_mul_ps(xc, _mm256_set1_ps(LOG2E)),
                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC,
            );
            let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_HI), xc);
            let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_LO), r);
            let mut p = _mm256_set1_ps(EXP_POLY[0]);
            for &c in &EXP_POLY[1..] {
                p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c));
            }
            let bits = _mm256_slli_epi32(
                _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)),
                23,
            );
            _mm256_and_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(bits)), keep)
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
        unsafe fn exp(x: __m512) -> __m512 {
            let keep = _mm512_cmp_ps_mask(x, _mm512_set1_ps(EXP_MIN), _CMP_GE_OQ);
            let xc = _mm512_max_ps(x, _mm512_set1_ps(EXP_MIN));
            let n = _mm512_roundscale_ps(
                _mm512_mul_ps(xc, _mm512_set1_ps(LOG2E)),
                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC,
            );
            let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_HI), xc);
            let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_LO), r);
            let mut p = _mm512_set1_ps(EXP_POLY[0]);
            for &c in &EXP_POLY[1..] {
                p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
            }
            let bits = _mm512_slli_epi32(
                _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)),
                23,
            );
            _mm512_maskz_mov_ps(keep, _mm512_mul_ps(p, _mm512_castsi512_ps(bits)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_exp<S: Simd>(lanes: usize) {
        let mut xs: Vec<f32> = (0..4000).map(|i| -(i as f32) * 0.0219).collect();
        xs.extend([f32::NEG_INFINITY, -87.4, -87.2, -1e-30, 0.0]);
        while !xs.len().is_multiple_of(lanes) {
            xs.push(0.0);
        }
        let mut ys = vec![0f32; xs.len()];
        for (x, y) in xs.chunks(lanes).zip(ys.chunks_mut(lanes)) {
            // SAFETY: the caller checked the CPU features; chunks hold `lanes` floats.
            unsafe { S::store(y.as_mut_ptr(), S::exp(S::load(x.as_ptr()))) };
        }
        for (&x, &y) in xs.iter().zip(&ys) {
            let want = f64::from(x).exp();
            if x < EXP_MIN {
                assert_eq!(y, 0.0, "exp({x})");
            } else {
                let rel = (f64::from(y) - want).abs() / want;
                assert!(rel < 3e-7, "exp({x}) = {y}, want {want}, rel {rel:e}");
            }
        }
    }

    #[test]
    fn exp_is_accurate_on_every_isa() {
        check_exp::<Portable>(1);
        #[cfg(target_arch = "x86_64")]
        {
            if crate::Isa::Avx2.is_available() {
                check_exp::<Avx2>(8);
            }
            if crate::Isa::Avx512.is_available() {
                check_exp::<Avx512>(16);
            }
        }
    }
}
