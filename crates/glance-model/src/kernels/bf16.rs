//! A bf16 GEMM with f32 accumulation: `C += A B^T` where `A` is `[m, k]` f32 (rounded to
//! bf16 while it is packed) and `B` is a weight `[n, k]` converted to bf16 and packed
//! once ([`PackedBf16`]).
//!
//! The AVX-512 path runs `vdpbf16ps` (AVX512_BF16): each 32-bit lane of a zmm register
//! holds a *pair* of bf16 values along `k`, and one instruction adds the two products of
//! every lane to an f32 accumulator. `B` is packed in panels of 16 output columns, pair
//! by pair (one 64-byte row per pair of `k`); rows of `A` are packed as bf16 pairs and
//! each pair is broadcast to all lanes. A register block is [`MR`] rows x [`NB`] panels
//! (`MR * NB` = 24 accumulators). Odd `k` and partial panels are zero-padded when packed;
//! the columns beyond `n` are masked when `C` is read and written.
//!
//! [`gemm_reference`] is the scalar definition the SIMD path is tested against: f32 to
//! bf16 by round-to-nearest-even, then per pair `acc += a1 * b1; acc += a0 * b0` in f32
//! (the products of two bf16 values are exact in f32), which is the order `vdpbf16ps`
//! documents. Inputs and outputs that are subnormal may differ (the instruction flushes
//! them to zero).

use half::bf16;

/// Output columns per panel (one zmm register of f32 lanes).
pub const PANEL: usize = 16;
/// Rows of `A` per register block.
pub const MR: usize = 6;
/// Panels per register block.
pub const NB: usize = 4;
/// Rows of `A` packed at a time (a multiple of [`MR`]).
const MC: usize = 96;

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

/// Two bf16 values along `k` in one 32-bit word: `lo` (even `k`) in the low half.
#[inline]
fn pair(lo: f32, hi: f32) -> u32 {
    u32::from(to_bf16(lo)) | (u32::from(to_bf16(hi)) << 16)
}

/// Whether this CPU runs the AVX512_BF16 kernel (checked at run time).
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bf16")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// A weight matrix `[n, k]` (PyTorch's `Linear` layout) in bf16, packed for the kernel:
/// panel `p` (columns `16p..16p + 16`), pair `q` (`k = 2q, 2q + 1`) is the 16 words at
/// `((p * pairs) + q) * 16`, column `c` of the panel in word `c`. Padding is zero.
#[derive(Debug, Clone, PartialEq)]
pub struct PackedBf16 {
    n: usize,
    k: usize,
    pairs: usize,
    data: Vec<u32>,
}

impl PackedBf16 {
    /// Converts and packs `w` (`[n, k]`, row-major: `w[j * k + i]`), rounding to bf16.
    /// Returns `None` when `w.len() != n * k`.
    pub fn pack(w: &[f32], n: usize, k: usize) -> Option<PackedBf16> {
        if w.len() != n.checked_mul(k)? {
            return None;
        }
        let pairs = k.div_ceil(2);
        let panels = n.div_ceil(PANEL);
        let mut data = vec![0u32; panels * pairs * PANEL];
        let at = |j: usize, i: usize| if i < k { w[j * k + i] } else { 0.0 };
        for j in 0..n {
            let (p, c) = (j / PANEL, j % PANEL);
            for q in 0..pairs {
                data[(p * pairs + q) * PANEL + c] = pair(at(j, 2 * q), at(j, 2 * q + 1));
            }
        }
        Some(PackedBf16 { n, k, pairs, data })
    }

    /// Output columns `n`.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Depth `k`.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Weight `(j, i)` as the kernel sees it (rounded to bf16).
    fn weight(&self, j: usize, i: usize) -> f32 {
        let word = self.data[((j / PANEL) * self.pairs + i / 2) * PANEL + j % PANEL];
        from_bf16(if i % 2 == 0 {
            word as u16
        } else {
            (word >> 16) as u16
        })
    }
}

/// Why a product was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GemmError {
    /// The slices do not hold the stated shapes.
    #[error("bf16 GEMM shapes: a has {a} elements for [{m}, {k}], c has {c} for [{m}, {n}]")]
    Shape {
        /// Rows of `A` and `C`.
        m: usize,
        /// Depth.
        k: usize,
        /// Columns of `C`.
        n: usize,
        /// Elements of `a`.
        a: usize,
        /// Elements of `c`.
        c: usize,
    },
    /// The CPU lacks AVX512_BF16.
    #[error("this CPU has no AVX512_BF16")]
    Unavailable,
}

fn check(a: &[f32], m: usize, b: &PackedBf16, c: &[f32]) -> Result<(), GemmError> {
    if Some(a.len()) != m.checked_mul(b.k) || Some(c.len()) != m.checked_mul(b.n) {
        return Err(GemmError::Shape {
            m,
            k: b.k,
            n: b.n,
            a: a.len(),
            c: c.len(),
        });
    }
    Ok(())
}

/// The scalar definition: `c[r, j] += sum_i bf16(a[r, i]) * b[j, i]`, accumulated in f32
/// pair by pair in `vdpbf16ps` order. `a` is `[m, k]`, `c` `[m, n]`, both row-major.
pub fn gemm_reference(a: &[f32], m: usize, b: &PackedBf16, c: &mut [f32]) -> Result<(), GemmError> {
    check(a, m, b, c)?;
    let (n, k) = (b.n, b.k);
    let at = |r: usize, i: usize| {
        if i < k {
            from_bf16(to_bf16(a[r * k + i]))
        } else {
            0.0
        }
    };
    for r in 0..m {
        for j in 0..n {
            let mut acc = c[r * n + j];
            for q in 0..b.pairs {
                let (i0, i1) = (2 * q, 2 * q + 1);
                acc += at(r, i1) * b.weight(j, i1);
                acc += at(r, i0) * b.weight(j, i0);
            }
            c[r * n + j] = acc;
        }
    }
    Ok(())
}

/// `c += a b^T` on the AVX512_BF16 kernel: `a` is `[m, k]`, `c` `[m, n]`, row-major.
/// Single-threaded; the result does not depend on `m` or on how rows are blocked.
pub fn gemm(a: &[f32], m: usize, b: &PackedBf16, c: &mut [f32]) -> Result<(), GemmError> {
    check(a, m, b, c)?;
    if !available() {
        return Err(GemmError::Unavailable);
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the CPU has AVX-512F and AVX512_BF16 (checked above), and `check` confirmed
    // that `a` holds `m * k` and `c` holds `m * n` elements.
    unsafe {
        avx512::gemm(a, m, b, c)
    };
    Ok(())
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    //! The `vdpbf16ps` kernel and the packing of `A`.

    use std::arch::x86_64::*;

    use super::{PackedBf16, MC, MR, NB, PANEL};

    /// Packs rows `r0..r0 + rows` of `a` (`[_, k]`) into `out` as bf16 pairs (`pairs`
    /// words per row, the odd tail padded with zero).
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    unsafe fn pack_rows(
        a: &[f32],
        k: usize,
        r0: usize,
        rows: usize,
        pairs: usize,
        out: &mut [u32],
    ) {
        for r in 0..rows {
            let src = a[(r0 + r) * k..].as_ptr();
            let dst = out[r * pairs..].as_mut_ptr();
            let mut i = 0;
            while i + 32 <= k {
                let lo = _mm512_loadu_ps(src.add(i));
                let hi = _mm512_loadu_ps(src.add(i + 16));
                let v: __m512i = std::mem::transmute(_mm512_cvtne2ps_pbh(hi, lo));
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
                let lo = _mm512_maskz_loadu_ps(m_lo, src.add(i));
                let hi = _mm512_maskz_loadu_ps(m_hi, src.add(i + 16));
                let v: __m512i = std::mem::transmute(_mm512_cvtne2ps_pbh(hi, lo));
                let words = t.div_ceil(2);
                let m_out: __mmask16 = if words >= 16 {
                    0xffff
                } else {
                    (1u16 << words) - 1
                };
                _mm512_mask_storeu_epi32(dst.add(i / 2).cast(), m_out, v);
            }
        }
    }

    /// One register block: rows `ap` (`R` rows of `pairs` words), panels `bp` (`P`
    /// panels `pairs * 16` words apart), into `c` (rows `ldc` floats apart; `mask` the
    /// live columns of the last panel).
    #[inline(always)]
    unsafe fn block<const R: usize, const P: usize>(
        ap: *const u32,
        bp: *const u32,
        pairs: usize,
        c: *mut f32,
        ldc: usize,
        mask: __mmask16,
    ) {
        let mut masks = [0xffff as __mmask16; P];
        masks[P - 1] = mask;
        let mut acc = [[_mm512_setzero_ps(); P]; R];
        for (r, row) in acc.iter_mut().enumerate() {
            for (p, v) in row.iter_mut().enumerate() {
                *v = _mm512_maskz_loadu_ps(masks[p], c.add(r * ldc + p * PANEL));
            }
        }
        let zero: __m512bh = std::mem::transmute(_mm512_setzero_si512());
        let mut b = [zero; P];
        for q in 0..pairs {
            for (p, v) in b.iter_mut().enumerate() {
                *v =
                    std::mem::transmute(_mm512_loadu_si512(bp.add((p * pairs + q) * PANEL).cast()));
            }
            for (r, row) in acc.iter_mut().enumerate() {
                let a: __m512bh =
                    std::mem::transmute(_mm512_set1_epi32(*ap.add(r * pairs + q) as i32));
                for (p, v) in row.iter_mut().enumerate() {
                    *v = _mm512_dpbf16_ps(*v, a, b[p]);
                }
            }
        }
        for (r, row) in acc.iter().enumerate() {
            for (p, v) in row.iter().enumerate() {
                _mm512_mask_storeu_ps(c.add(r * ldc + p * PANEL), masks[p], *v);
            }
        }
    }

    /// Picks the block instance for `rows <= MR` rows and `panels <= NB` panels.
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    unsafe fn dispatch(
        rows: usize,
        panels: usize,
        ap: *const u32,
        bp: *const u32,
        pairs: usize,
        c: *mut f32,
        ldc: usize,
        mask: __mmask16,
    ) {
        macro_rules! go {
            ($($r:literal),*; $p:literal) => {
                match rows {
                    $($r => block::<$r, $p>(ap, bp, pairs, c, ldc, mask),)*
                    _ => {}
                }
            };
        }
        match panels {
            4 => go!(1, 2, 3, 4, 5, 6; 4),
            3 => go!(1, 2, 3, 4, 5, 6; 3),
            2 => go!(1, 2, 3, 4, 5, 6; 2),
            1 => go!(1, 2, 3, 4, 5, 6; 1),
            _ => {}
        }
    }

    /// See [`super::gemm`]. Caller: AVX-512F + AVX512_BF16 present, `a` is `[m, k]` and
    /// `c` is `[m, n]`.
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    pub(super) unsafe fn gemm(a: &[f32], m: usize, b: &PackedBf16, c: &mut [f32]) {
        let (n, k, pairs) = (b.n, b.k, b.pairs);
        if m == 0 || n == 0 {
            return;
        }
        let panels = n.div_ceil(PANEL);
        let tail = n - (panels - 1) * PANEL;
        let last_mask: __mmask16 = if tail == PANEL {
            0xffff
        } else {
            (1u16 << tail) - 1
        };
        let mut ap = vec![0u32; MC.min(m) * pairs];
        for m0 in (0..m).step_by(MC) {
            let mc = MC.min(m - m0);
            pack_rows(a, k, m0, mc, pairs, &mut ap);
            for p0 in (0..panels).step_by(NB) {
                let nb = NB.min(panels - p0);
                let mask = if p0 + nb == panels { last_mask } else { 0xffff };
                let bp = b.data[p0 * pairs * PANEL..].as_ptr();
                for r0 in (0..mc).step_by(MR) {
                    let rows = MR.min(mc - r0);
                    let cp = c[(m0 + r0) * n + p0 * PANEL..].as_mut_ptr();
                    dispatch(rows, nb, ap[r0 * pairs..].as_ptr(), bp, pairs, cp, n, mask);
                }
            }
        }
    }
}
