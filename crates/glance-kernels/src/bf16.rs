//! bf16 numbers and the instruction sets that compute with them.
//!
//! - [`to_bf16`] rounds an f32 to the nearest bf16 (ties to even), [`from_bf16`] widens
//!   it back exactly, [`pair`] packs two values along a dot-product axis into one
//!   32-bit word (the operand layout of `vdpbf16ps` and `tdpbf16ps`: the even element in
//!   the low half).
//! - [`Kernel`] names the bf16 instruction sets a kernel may be built on, detected at
//!   run time ([`Kernel::detect`]); [`available`] says whether any is present.
//! - [`pack_rows`] converts rows of f32 to bf16 pairs with AVX512_BF16.

use half::bf16;

/// Round-to-nearest-even f32 to bf16 bits (NaN stays NaN).
#[inline]
pub fn to_bf16(x: f32) -> u16 {
    bf16::from_f32(x).to_bits()
}

/// The f32 value of bf16 bits.
#[inline]
pub fn from_bf16(b: u16) -> f32 {
    f32::from_bits(u32::from(b) << 16)
}

/// Two bf16 values along a dot-product axis in one 32-bit word: `lo` (the even
/// element) in the low half.
#[inline]
pub fn pair(lo: f32, hi: f32) -> u32 {
    u32::from(to_bf16(lo)) | (u32::from(to_bf16(hi)) << 16)
}

/// A bf16 instruction set a kernel can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// AVX-512 `vdpbf16ps` register blocks (AVX512_BF16).
    Avx512,
    /// AMX `tdpbf16ps` tiles (AMX-TILE + AMX-BF16, with AVX512_BF16 for packing; Linux,
    /// which must grant the process the tile state, see [`crate::amx::enabled`]).
    Amx,
}

impl Kernel {
    /// The fastest kernel this CPU runs, `None` without AVX512_BF16.
    pub fn detect() -> Option<Kernel> {
        [Kernel::Amx, Kernel::Avx512]
            .into_iter()
            .find(|k| k.is_available())
    }

    /// Whether this CPU (and OS) runs `self` (checked at run time, once per process).
    pub fn is_available(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            let avx = std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512bw")
                && std::arch::is_x86_feature_detected!("avx512bf16");
            match self {
                Kernel::Avx512 => avx,
                Kernel::Amx => avx && crate::amx::enabled(),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// A short lower-case name (`avx512bf16`, `amx`).
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Avx512 => "avx512bf16",
            Kernel::Amx => "amx",
        }
    }
}

/// Whether this CPU runs a bf16 kernel (AVX512_BF16, checked at run time).
pub fn available() -> bool {
    Kernel::detect().is_some()
}

/// Packs rows `r0..r0 + rows` of `a` (`[_, k]`, row-major) into `out` as bf16 pairs,
/// rounded to nearest even: row `r` fills `out[r * pairs..]` with `k.div_ceil(2)`
/// words, an odd tail padded with zero; words `k.div_ceil(2)..pairs` of a row are left
/// as they are.
///
/// # Safety
/// The CPU has AVX-512F/BW and AVX512_BF16 ([`Kernel::Avx512`] is available), `a` holds
/// rows `r0..r0 + rows` of `k` elements, `pairs >= k.div_ceil(2)`, and `out` holds
/// `rows * pairs` words.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
pub unsafe fn pack_rows(
    a: &[f32],
    k: usize,
    r0: usize,
    rows: usize,
    pairs: usize,
    out: &mut [u32],
) {
    for r in 0..rows {
        pack_row(
            a[(r0 + r) * k..].as_ptr(),
            k,
            1.0,
            out[r * pairs..].as_mut_ptr(),
        );
    }
}

/// Converts `k` floats at `src`, each multiplied by `scale`, to `k.div_ceil(2)` bf16
/// pair words at `dst` (an odd tail padded with zero).
///
/// # Safety
/// The CPU has AVX-512F/BW and AVX512_BF16; `src` is readable for `k` floats and `dst`
/// writable for `k.div_ceil(2)` words.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
#[inline]
pub unsafe fn pack_row(src: *const f32, k: usize, scale: f32, dst: *mut u32) {
    use std::arch::x86_64::*;
    let s = _mm512_set1_ps(scale);
    let mut i = 0;
    while i + 32 <= k {
        let lo = _mm512_mul_ps(_mm512_loadu_ps(src.add(i)), s);
        let hi = _mm512_mul_ps(_mm512_loadu_ps(src.add(i + 16)), s);
        let v = std::mem::transmute::<__m512bh, __m512i>(_mm512_cvtne2ps_pbh(hi, lo));
        _mm512_storeu_si512(dst.add(i / 2).cast(), v);
        i += 32;
    }
    if i < k {
        let t = k - i;
        let m_lo: __mmask16 = if t >= 16 { 0xffff } else { (1u16 << t) - 1 };
        let m_hi: __mmask16 = if t <= 16 {
            0
        } else if t >= 32 {
            0xffff
        } else {
            (1u16 << (t - 16)) - 1
        };
        let lo = _mm512_mul_ps(_mm512_maskz_loadu_ps(m_lo, src.add(i)), s);
        let hi = _mm512_mul_ps(_mm512_maskz_loadu_ps(m_hi, src.add(i + 16)), s);
        let v = std::mem::transmute::<__m512bh, __m512i>(_mm512_cvtne2ps_pbh(hi, lo));
        let words = t.div_ceil(2);
        let m_out: __mmask16 = if words >= 16 {
            0xffff
        } else {
            (1u16 << words) - 1
        };
        _mm512_mask_storeu_epi32(dst.add(i / 2).cast(), m_out, v);
    }
}
