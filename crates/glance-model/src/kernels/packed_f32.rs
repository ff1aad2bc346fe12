//! An f32 GEMM on a weight packed once: `C = A B^T` or `C += A B^T`, where `A` is
//! `[m, k]` (activations, row-major, read in place) and `B` is a `[n, k]` weight
//! (PyTorch's `Linear` layout) packed into panels of 16 output columns ([`PackedF32`]).
//!
//! Why a kernel of our own beside the `gemm` crate's: a layer's weight never changes, so
//! it can be laid out for the kernel once at load instead of on every call, and the
//! activations can be read where they lie instead of being copied into panels. On AVX2
//! that keeps the products at the rate of the FMA units for any number of rows: on the
//! encoder's shapes, one thread of a Zen 3 ran the `gemm` crate at 89-96 GFLOP/s with
//! 2,048 rows but 79-86 with 16,384, and this kernel at 90-97 with both
//! (docs/benchmarks.md, session 16).
//!
//! The register block is 6 rows x 16 columns (12 ymm accumulators, two panel loads and
//! six broadcasts of `A` per step of `k`), the BLIS layout for AVX2 + FMA. `k` runs in
//! blocks of [`KC`] (a block of a panel, 16 KiB, stays in L1 while [`MC`] rows pass
//! over it); within a block each output is one chain of fused multiply-adds in `k`
//! order, added to `C` when the block ends. A row's result therefore depends only on
//! its own values, never on `m` or on how rows are split ([`gemm_reference`] is that
//! definition in scalar code, and the kernel equals it bit for bit). Each register
//! block prefetches the lines of `C` it writes when it ends, so that their misses
//! overlap its arithmetic (the encoder 8% faster on a Zen 2, where the chunk's arrays
//! exceed the 16 MiB L3: docs/benchmarks.md, session 18).
//!
//! Only x86-64 with AVX2 and FMA runs it ([`available`]). Where the CPU has AVX-512, the
//! `gemm` crate's 16-lane kernel does twice the work per instruction, so layers prefer
//! this kernel only on CPUs without it ([`preferred`]).

use std::mem::MaybeUninit;

pub use super::GemmError;

/// Output columns per panel (two ymm registers of f32 lanes).
pub const PANEL: usize = 16;
/// Rows of `A` per register block.
const MR: usize = 6;
/// Rows of `A` that pass over one block of a panel before the next panel.
const MC: usize = 72;
/// Depth of one block of `k`.
pub const KC: usize = 256;

/// A weight matrix `[n, k]` packed for the kernel: panel `p` (columns `16p..16p + 16`)
/// at depth `i` is the 16 floats at `(p * k + i) * 16`, column `c` of the panel in float
/// `c`. Columns beyond `n` are zero.
#[derive(Debug, Clone, PartialEq)]
pub struct PackedF32 {
    n: usize,
    k: usize,
    data: Vec<f32>,
}

impl PackedF32 {
    /// Packs `w` (`[n, k]`, row-major: `w[j * k + i]`). Returns `None` when
    /// `w.len() != n * k`.
    pub fn pack(w: &[f32], n: usize, k: usize) -> Option<PackedF32> {
        if w.len() != n.checked_mul(k)? {
            return None;
        }
        let mut data = vec![0.0; n.div_ceil(PANEL) * PANEL * k];
        for (j, row) in w.chunks_exact(k.max(1)).take(n).enumerate() {
            let (p, c) = (j / PANEL, j % PANEL);
            for (i, &v) in row.iter().enumerate() {
                data[(p * k + i) * PANEL + c] = v;
            }
        }
        Some(PackedF32 { n, k, data })
    }

    /// The weight back in its row-major `[n, k]` layout.
    pub fn unpack(&self) -> Vec<f32> {
        let mut w = Vec::with_capacity(self.n * self.k);
        for j in 0..self.n {
            w.extend((0..self.k).map(|i| self.weight(j, i)));
        }
        w
    }

    /// Output columns `n`.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Depth `k`.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Weight `(j, i)`.
    fn weight(&self, j: usize, i: usize) -> f32 {
        self.data[((j / PANEL) * self.k + i) * PANEL + j % PANEL]
    }
}

/// Whether this CPU can run the kernel (x86-64 with AVX2 and FMA).
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether f32 layers should pack their weights for this kernel: it can run and the CPU
/// has no AVX-512 (whose 16-lane `gemm` crate kernel is faster).
pub fn preferred() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        available() && !is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The instructions the kernel needs, as [`GemmError::Unavailable`] names them.
const NEEDS: &str = "AVX2 + FMA";

fn check(a: usize, m: usize, b: &PackedF32, c: usize) -> Result<(), GemmError> {
    super::check_shapes(a, c, m, b.k, b.n)?;
    if !available() {
        return Err(GemmError::Unavailable(NEEDS));
    }
    Ok(())
}

/// The scalar definition: for each output, `k` in blocks of [`KC`], each block one chain
/// of fused multiply-adds from zero in `k` order, added to `c[r, j]` when the block ends
/// (the first block replaces `c[r, j]` unless `add`). `a` is `[m, k]`, `c` `[m, n]`,
/// row-major.
pub fn gemm_reference(
    a: &[f32],
    m: usize,
    b: &PackedF32,
    c: &mut [f32],
    add: bool,
) -> Result<(), GemmError> {
    super::check_shapes(a.len(), c.len(), m, b.k, b.n)?;
    let (n, k) = (b.n, b.k);
    for r in 0..m {
        for j in 0..n {
            let out = &mut c[r * n + j];
            if !add {
                *out = 0.0;
            }
            for block in (0..k).step_by(KC) {
                let mut acc = 0.0f32;
                for i in block..(block + KC).min(k) {
                    acc = a[r * k + i].mul_add(b.weight(j, i), acc);
                }
                *out = if block == 0 && !add { acc } else { *out + acc };
            }
        }
    }
    Ok(())
}

/// `c = a b^T`, writing every element of `c` (which need not be initialised): `a` is
/// `[m, k]`, `c` `[m, n]`, row-major. Single-threaded.
pub fn gemm_into(
    a: &[f32],
    m: usize,
    b: &PackedF32,
    c: &mut [MaybeUninit<f32>],
) -> Result<(), GemmError> {
    check(a.len(), m, b, c.len())?;
    if b.k == 0 {
        c.fill(MaybeUninit::new(0.0));
        return Ok(());
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the CPU has AVX2 and FMA and the slices hold the shapes (`check`); with
    // `add` false the kernel writes every element of `c` before it reads any.
    unsafe {
        avx2::gemm(a, m, b, c.as_mut_ptr().cast(), false);
    }
    Ok(())
}

/// `c += a b^T`: `a` is `[m, k]`, `c` `[m, n]`, row-major. Single-threaded.
pub fn gemm_add(a: &[f32], m: usize, b: &PackedF32, c: &mut [f32]) -> Result<(), GemmError> {
    check(a.len(), m, b, c.len())?;
    if b.k == 0 {
        return Ok(());
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the CPU has AVX2 and FMA and the slices hold the shapes (`check`).
    unsafe {
        avx2::gemm(a, m, b, c.as_mut_ptr(), true);
    }
    Ok(())
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! The 6 x 16 register block and the loops over it.

    use std::arch::x86_64::*;

    use super::{PackedF32, KC, MC, MR, PANEL};

    /// The live lanes of the two halves of a panel with `cols` live columns.
    #[inline(always)]
    unsafe fn masks(cols: usize) -> [__m256i; 2] {
        let lane = |l: i32| if (l as usize) < cols { -1 } else { 0 };
        [
            _mm256_setr_epi32(
                lane(0),
                lane(1),
                lane(2),
                lane(3),
                lane(4),
                lane(5),
                lane(6),
                lane(7),
            ),
            _mm256_setr_epi32(
                lane(8),
                lane(9),
                lane(10),
                lane(11),
                lane(12),
                lane(13),
                lane(14),
                lane(15),
            ),
        ]
    }

    /// `R` rows of `A` from `a` (rows `lda` floats apart) times one block of a panel
    /// (`kc` steps of 16 floats from `b`) into `c` (rows `ldc` floats apart): added to
    /// `c` when `add`, else written. `mask` selects the live columns when the panel has
    /// fewer than 16.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn block<const R: usize>(
        a: *const f32,
        lda: usize,
        b: *const f32,
        kc: usize,
        c: *mut f32,
        ldc: usize,
        add: bool,
        mask: Option<[__m256i; 2]>,
    ) {
        // The block's output lines are fetched now, while its `kc` steps run, instead of
        // missing at its end: a fresh output array, or the rows of a residual stream
        // larger than the caches, is in memory, not in cache. A row's 16 floats may
        // straddle two lines.
        for r in 0..R {
            let row = c.add(r * ldc);
            _mm_prefetch::<_MM_HINT_T0>(row.cast());
            _mm_prefetch::<_MM_HINT_T0>(row.wrapping_add(PANEL - 1).cast());
        }
        let mut acc = [[_mm256_setzero_ps(); 2]; R];
        for i in 0..kc {
            let b0 = _mm256_loadu_ps(b.add(i * PANEL));
            let b1 = _mm256_loadu_ps(b.add(i * PANEL + 8));
            for (r, acc) in acc.iter_mut().enumerate() {
                let x = _mm256_broadcast_ss(&*a.add(r * lda + i));
                acc[0] = _mm256_fmadd_ps(x, b0, acc[0]);
                acc[1] = _mm256_fmadd_ps(x, b1, acc[1]);
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            let row = c.add(r * ldc);
            let halves = [row, row.add(8)];
            for (h, &out) in halves.iter().enumerate() {
                match mask {
                    None => {
                        let v = if add {
                            _mm256_add_ps(_mm256_loadu_ps(out), acc[h])
                        } else {
                            acc[h]
                        };
                        _mm256_storeu_ps(out, v);
                    }
                    Some(m) => {
                        let v = if add {
                            _mm256_add_ps(_mm256_maskload_ps(out, m[h]), acc[h])
                        } else {
                            acc[h]
                        };
                        _mm256_maskstore_ps(out, m[h], v);
                    }
                }
            }
        }
    }

    /// See [`super::gemm_add`] (`add`) and [`super::gemm_into`]. Caller: AVX2 and FMA
    /// present, `a` holds `m * k` floats and `c` points to `m * n` writable floats
    /// (initialised when `add`), `k > 0`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn gemm(a: &[f32], m: usize, b: &PackedF32, c: *mut f32, add: bool) {
        let (n, k) = (b.n, b.k);
        let panels = n.div_ceil(PANEL);
        for m0 in (0..m).step_by(MC) {
            let mc = MC.min(m - m0);
            for k0 in (0..k).step_by(KC) {
                let kc = KC.min(k - k0);
                let add = add || k0 > 0;
                for p in 0..panels {
                    let cols = PANEL.min(n - p * PANEL);
                    let mask = (cols < PANEL).then(|| masks(cols));
                    let bp = b.data.as_ptr().add((p * k + k0) * PANEL);
                    for r0 in (0..mc).step_by(MR) {
                        let ap = a.as_ptr().add((m0 + r0) * k + k0);
                        let cp = c.add((m0 + r0) * n + p * PANEL);
                        match MR.min(mc - r0) {
                            6 => block::<6>(ap, k, bp, kc, cp, n, add, mask),
                            5 => block::<5>(ap, k, bp, kc, cp, n, add, mask),
                            4 => block::<4>(ap, k, bp, kc, cp, n, add, mask),
                            3 => block::<3>(ap, k, bp, kc, cp, n, add, mask),
                            2 => block::<2>(ap, k, bp, kc, cp, n, add, mask),
                            _ => block::<1>(ap, k, bp, kc, cp, n, add, mask),
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(rows: usize, cols: usize, seed: u32) -> Vec<f32> {
        (0..rows * cols)
            .map(|i| {
                ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 8) as f32
                    / (1 << 24) as f32
                    - 0.5
            })
            .collect()
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn packing_round_trips_and_refuses_wrong_lengths() {
        let w = matrix(21, 5, 1);
        let p = PackedF32::pack(&w, 21, 5).unwrap();
        assert_eq!((p.n(), p.k()), (21, 5));
        assert_eq!(p.unpack(), w);
        assert!(PackedF32::pack(&w, 20, 5).is_none());
        assert!(PackedF32::pack(&w, usize::MAX, 2).is_none());
    }

    #[test]
    fn reference_is_the_product() {
        let (m, n, k) = (7, 19, 2 * KC + 3);
        let (a, w) = (matrix(m, k, 2), matrix(n, k, 3));
        let b = PackedF32::pack(&w, n, k).unwrap();
        let mut c = vec![0.5f32; m * n];
        gemm_reference(&a, m, &b, &mut c, true).unwrap();
        for r in 0..m {
            for j in 0..n {
                let exact: f64 = (0..k)
                    .map(|i| a[r * k + i] as f64 * w[j * k + i] as f64)
                    .sum();
                assert!((c[r * n + j] as f64 - 0.5 - exact).abs() < 1e-4);
            }
        }
    }

    /// Every edge: rows not a multiple of the register block or of `MC`, columns not a
    /// multiple of the panel, `k` across blocks, a single row and column.
    #[test]
    fn kernel_equals_the_reference_bit_for_bit() {
        if !available() {
            let b = PackedF32::pack(&[1.0], 1, 1).unwrap();
            assert_eq!(
                gemm_add(&[1.0], 1, &b, &mut [0.0]),
                Err(GemmError::Unavailable(NEEDS))
            );
            return;
        }
        for (m, n, k) in [
            (1, 1, 1),
            (5, 16, 7),
            (6, 17, 64),
            (MC + 7, 40, KC + 9),
            (13, 3, 2 * KC),
            (150, 33, 300),
        ] {
            let (a, w) = (matrix(m, k, 4), matrix(n, k, 5));
            let b = PackedF32::pack(&w, n, k).unwrap();
            let start = matrix(m, n, 6);
            let mut want = start.clone();
            gemm_reference(&a, m, &b, &mut want, true).unwrap();
            let mut got = start.clone();
            gemm_add(&a, m, &b, &mut got).unwrap();
            assert_eq!(bits(&got), bits(&want), "add, {m} x {n} x {k}");

            gemm_reference(&a, m, &b, &mut want, false).unwrap();
            let mut fresh = vec![MaybeUninit::new(f32::NAN); m * n];
            gemm_into(&a, m, &b, &mut fresh).unwrap();
            // SAFETY: initialised above (and overwritten by the kernel).
            let got: Vec<f32> = fresh.iter().map(|v| unsafe { v.assume_init() }).collect();
            assert_eq!(bits(&got), bits(&want), "into, {m} x {n} x {k}");
        }
    }

    #[test]
    fn a_row_does_not_depend_on_its_neighbours() {
        if !available() {
            return;
        }
        let (m, n, k) = (MC + 11, 24, 100);
        let (a, w) = (matrix(m, k, 7), matrix(n, k, 8));
        let b = PackedF32::pack(&w, n, k).unwrap();
        let mut all = vec![0.0; m * n];
        gemm_add(&a, m, &b, &mut all).unwrap();
        for r in [0, 5, 6, MC, m - 1] {
            let mut one = vec![0.0; n];
            gemm_add(&a[r * k..(r + 1) * k], 1, &b, &mut one).unwrap();
            assert_eq!(bits(&one), bits(&all[r * n..(r + 1) * n]), "row {r}");
        }
    }

    #[test]
    fn wrong_shapes_are_refused() {
        let b = PackedF32::pack(&matrix(4, 3, 9), 4, 3).unwrap();
        let err = gemm_add(&[0.0; 5], 2, &b, &mut [0.0; 8]).unwrap_err();
        assert!(matches!(
            err,
            GemmError::Shape {
                m: 2,
                k: 3,
                n: 4,
                a: 5,
                c: 8
            }
        ));
        let mut c = vec![MaybeUninit::new(0.0); 7];
        assert!(gemm_into(&[0.0; 6], 2, &b, &mut c).is_err());
        assert!(gemm_reference(&[0.0; 6], 2, &b, &mut [0.0; 7], true).is_err());
    }
}
