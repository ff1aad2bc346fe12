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
//! Where the CPU has AMX (Sapphire Rapids and later), [`Kernel::Amx`] runs the same
//! packed `B` through `tdpbf16ps` tiles (2 x 2 tiles of 16 x 16 outputs, `k` in steps of
//! 32), which on those CPUs has many times the throughput of `vdpbf16ps` (that one runs
//! at half the f32 FMA rate there). It orders each 32-wide step of `k` its own way, so it
//! equals the definition within f32 rounding, not bit for bit.
//!
//! [`gemm_reference`] is the scalar definition the SIMD path is tested against: f32 to
//! bf16 by round-to-nearest-even, then per pair `acc += a1 * b1; acc += a0 * b0` in f32
//! (the products of two bf16 values are exact in f32), which is the order `vdpbf16ps`
//! documents. Inputs and outputs that are subnormal may differ (the instruction flushes
//! them to zero).
//!
//! The rounding, the run-time detection ([`Kernel`]), the row packing and the AMX tile
//! setup and register block belong to glance-kernels (shared with glance-attn's bf16
//! attention); this module owns the GEMM.

use glance_kernels::bf16::pair;

pub use super::GemmError;
pub use glance_kernels::bf16::{available, from_bf16, to_bf16, Kernel};

/// Output columns per panel (one zmm register of f32 lanes).
pub const PANEL: usize = 16;
/// Rows of `A` per register block.
pub const MR: usize = 6;
/// Panels per register block.
pub const NB: usize = 4;
/// Rows of `A` packed at a time (a multiple of [`MR`]).
const MC: usize = 96;

/// A weight matrix `[n, k]` (PyTorch's `Linear` layout) in bf16, packed for the kernel:
/// panel `p` (columns `16p..16p + 16`), pair `q` (`k = 2q, 2q + 1`) is the 16 words at
/// `((p * stride) + q) * 16`, column `c` of the panel in word `c`, where `stride` is the
/// number of pairs rounded up to 16 (an AMX tile of `k`). There is an even number of
/// panels. Padding is zero.
#[derive(Debug, Clone, PartialEq)]
pub struct PackedBf16 {
    n: usize,
    k: usize,
    pairs: usize,
    /// Words between panels / 16: `pairs` rounded up to a multiple of 16.
    stride: usize,
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
        let stride = pairs.next_multiple_of(PANEL);
        let panels = n.div_ceil(PANEL).next_multiple_of(2);
        let mut data = vec![0u32; panels * stride * PANEL];
        let at = |j: usize, i: usize| if i < k { w[j * k + i] } else { 0.0 };
        for j in 0..n {
            let (p, c) = (j / PANEL, j % PANEL);
            for q in 0..pairs {
                data[(p * stride + q) * PANEL + c] = pair(at(j, 2 * q), at(j, 2 * q + 1));
            }
        }
        Some(PackedBf16 {
            n,
            k,
            pairs,
            stride,
            data,
        })
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
        let word = self.data[((j / PANEL) * self.stride + i / 2) * PANEL + j % PANEL];
        from_bf16(if i.is_multiple_of(2) {
            word as u16
        } else {
            (word >> 16) as u16
        })
    }
}

fn check(a: &[f32], m: usize, b: &PackedBf16, c: &[f32]) -> Result<(), GemmError> {
    super::check_shapes(a.len(), c.len(), m, b.k, b.n)
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

/// `c += a b^T` on the fastest kernel ([`Kernel::detect`]): `a` is `[m, k]`, `c`
/// `[m, n]`, row-major. Single-threaded; a row's result does not depend on `m` or on how
/// rows are blocked.
pub fn gemm(a: &[f32], m: usize, b: &PackedBf16, c: &mut [f32]) -> Result<(), GemmError> {
    let kernel = Kernel::detect().ok_or(GemmError::Unavailable(Kernel::Avx512.name()))?;
    gemm_with(kernel, a, m, b, c)
}

/// [`gemm()`] on a given kernel (an error when this CPU cannot run it).
pub fn gemm_with(
    kernel: Kernel,
    a: &[f32],
    m: usize,
    b: &PackedBf16,
    c: &mut [f32],
) -> Result<(), GemmError> {
    check(a, m, b, c)?;
    if !kernel.is_available() {
        return Err(GemmError::Unavailable(kernel.name()));
    }
    #[cfg(target_arch = "x86_64")]
    match kernel {
        // SAFETY: the CPU has AVX-512F/BW and AVX512_BF16 (checked above), and `check`
        // confirmed that `a` holds `m * k` and `c` holds `m * n` elements.
        Kernel::Avx512 => unsafe { avx512::gemm(a, m, b, c) },
        // SAFETY: as above, and the OS granted this process the AMX tile state.
        Kernel::Amx => unsafe { amx::gemm(a, m, b, c) },
    }
    Ok(())
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    //! The `vdpbf16ps` kernel and the packing of `A`.

    use std::arch::x86_64::*;

    use glance_kernels::bf16::pack_rows;

    use super::{PackedBf16, MC, MR, NB, PANEL};

    /// One register block: rows `ap` (`R` rows of `pairs` words), panels `bp` (`P`
    /// panels `stride * 16` words apart, `pairs` used), into `c` (rows `ldc` floats apart; `mask` the
    /// live columns of the last panel).
    #[inline(always)]
    unsafe fn block<const R: usize, const P: usize>(
        ap: *const u32,
        (bp, stride): (*const u32, usize),
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
        let zero = std::mem::transmute::<__m512i, __m512bh>(_mm512_setzero_si512());
        let mut b = [zero; P];
        for q in 0..pairs {
            for (p, v) in b.iter_mut().enumerate() {
                *v = std::mem::transmute::<__m512i, __m512bh>(_mm512_loadu_si512(
                    bp.add((p * stride + q) * PANEL).cast(),
                ));
            }
            for (r, row) in acc.iter_mut().enumerate() {
                let a = std::mem::transmute::<__m512i, __m512bh>(_mm512_set1_epi32(
                    *ap.add(r * pairs + q) as i32,
                ));
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
        (rows, panels): (usize, usize),
        ap: *const u32,
        bp: (*const u32, usize),
        pairs: usize,
        (c, ldc, mask): (*mut f32, usize, __mmask16),
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
                let bp = (b.data[p0 * b.stride * PANEL..].as_ptr(), b.stride);
                for r0 in (0..mc).step_by(MR) {
                    let rows = MR.min(mc - r0);
                    let cp = c[(m0 + r0) * n + p0 * PANEL..].as_mut_ptr();
                    dispatch(
                        (rows, nb),
                        ap[r0 * pairs..].as_ptr(),
                        bp,
                        pairs,
                        (cp, n, mask),
                    );
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod amx {
    //! The AMX kernel: `tdpbf16ps` on 2 x 2 tiles of 16 x 16 f32 outputs (tiles 4-7),
    //! two tiles of `A` rows (0, 1) and two of `B` panels (2, 3), `k` 32 at a time.

    use glance_kernels::amx::{block, Tiles};
    use glance_kernels::bf16::pack_rows;

    use super::{PackedBf16, PANEL};

    /// Rows of `A` packed at a time (a multiple of 32).
    const MC: usize = 128;

    /// See [`super::gemm`]. Caller: AVX-512F/BW + AVX512_BF16 present and AMX enabled
    /// ([`glance_kernels::amx::enabled`]), `a` is `[m, k]` and `c` is `[m, n]`.
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    pub(super) unsafe fn gemm(a: &[f32], m: usize, b: &PackedBf16, c: &mut [f32]) {
        let (n, k, stride) = (b.n, b.k, b.stride);
        if m == 0 || n == 0 {
            return;
        }
        let blocks = n.div_ceil(2 * PANEL);
        // Rows rounded up to whole tiles; rows beyond `m` hold stale or zero data whose
        // outputs are never written back (rows are independent).
        let mut ap = vec![0u32; MC.min(m).next_multiple_of(32) * stride];
        let mut tile = [0f32; 32 * 32];
        let _tiles = Tiles::load();
        for m0 in (0..m).step_by(MC) {
            let mc = MC.min(m - m0);
            pack_rows(a, k, m0, mc, stride, &mut ap);
            for r0 in (0..mc).step_by(32) {
                let a0 = ap[r0 * stride..].as_ptr();
                let rows = 32.min(mc - r0);
                for nb in 0..blocks {
                    let b0 = b.data[2 * nb * stride * PANEL..].as_ptr();
                    let b1 = b0.add(stride * PANEL);
                    let cols = (n - nb * 2 * PANEL).min(2 * PANEL);
                    let b = (b0, b1);
                    let first = (m0 + r0) * n + nb * 2 * PANEL;
                    // A whole 32 x 32 block of `c` is accumulated in place; an edge
                    // block goes through `tile` (zero beyond `c`). Either way every
                    // element starts from its value in `c`, so a row's result does not
                    // depend on the block it falls in.
                    let (dst, ld) = if rows == 32 && cols == 2 * PANEL {
                        (c[first..].as_mut_ptr(), n)
                    } else {
                        tile.fill(0.0);
                        for r in 0..rows {
                            let row = first + r * n;
                            tile[r * 32..r * 32 + cols].copy_from_slice(&c[row..row + cols]);
                        }
                        (tile.as_mut_ptr(), 32)
                    };
                    block((a0, stride), b, stride, (dst, ld), true);
                    if dst == tile.as_mut_ptr() {
                        for r in 0..rows {
                            let row = first + r * n;
                            c[row..row + cols].copy_from_slice(&tile[r * 32..r * 32 + cols]);
                        }
                    }
                }
            }
        }
    }
}
