//! Register-tiled f32 products `A B` for the approximate patterns, on the [`Simd`]
//! kernels of the exact engine: `B` (`[kdim, cols]`) is packed once into panels of
//! `NR` columns, the rows of `A` in groups of `MR`, and one `MR x NR` tile is computed
//! at a time, summed over `kdim` in order with one fused multiply-add per term (a plain
//! multiply-add on the portable path). A tile depends on its own rows and columns only,
//! so results do not depend on how rows are split among threads.

use crate::options::Isa;
use crate::simd::Simd;

/// SIMD vectors per tile row (`NV`) of every kernel.
pub(crate) const NV: usize = 2;
/// Tile rows (`MR`) and columns (`NR = NV * LANES`) of the AVX-512 kernel.
pub(crate) const MR_AVX512: usize = 8;
/// See [`MR_AVX512`].
pub(crate) const NR_AVX512: usize = 32;
/// Tile rows and columns of the AVX2 kernel.
pub(crate) const MR_AVX2: usize = 6;
/// See [`MR_AVX2`].
pub(crate) const NR_AVX2: usize = 16;
/// Tile rows and columns of the portable kernel.
pub(crate) const MR_PORTABLE: usize = 4;
/// See [`MR_PORTABLE`].
pub(crate) const NR_PORTABLE: usize = 16;

// A tile row is `NV` whole vectors of its kernel.
const _: () = assert!(NR_PORTABLE == NV * <crate::simd::Portable as Simd>::LANES);
#[cfg(target_arch = "x86_64")]
const _: () = assert!(NR_AVX2 == NV * <crate::simd::Avx2 as Simd>::LANES);
#[cfg(target_arch = "x86_64")]
const _: () = assert!(NR_AVX512 == NV * <crate::simd::Avx512 as Simd>::LANES);

/// Columns per panel (`NR`) of each instruction set's kernel.
pub(crate) fn panel_width(isa: Isa) -> usize {
    match isa {
        Isa::Avx512 => NR_AVX512,
        Isa::Avx2 => NR_AVX2,
        Isa::Portable => NR_PORTABLE,
    }
}

/// Rows per tile (`MR`) of each instruction set's kernel.
pub(crate) fn row_group(isa: Isa) -> usize {
    match isa {
        Isa::Avx512 => MR_AVX512,
        Isa::Avx2 => MR_AVX2,
        Isa::Portable => MR_PORTABLE,
    }
}

/// A `[kdim, cols]` matrix packed in panels of `nr` columns, each `[kdim, nr]`
/// row-major, the last one zero padded.
pub(crate) struct Panels {
    /// Columns per panel.
    pub nr: usize,
    /// Rows (the summed dimension).
    pub kdim: usize,
    /// Columns of the matrix (without padding).
    pub cols: usize,
    /// Number of panels.
    pub panels: usize,
    data: Vec<f32>,
}

impl Panels {
    /// Packs `b(k, c)` for `k < kdim`, `c < cols`.
    pub(crate) fn new(
        nr: usize,
        kdim: usize,
        cols: usize,
        b: impl Fn(usize, usize) -> f32,
    ) -> Panels {
        let panels = cols.div_ceil(nr);
        let mut data = vec![0f32; panels * kdim * nr];
        for (p, panel) in data.chunks_mut(kdim * nr).enumerate() {
            for (k, row) in panel.chunks_mut(nr).enumerate() {
                for (x, v) in row.iter_mut().enumerate() {
                    let c = p * nr + x;
                    if c < cols {
                        *v = b(k, c);
                    }
                }
            }
        }
        Panels {
            nr,
            kdim,
            cols,
            panels,
            data,
        }
    }

    /// A zero `[kdim, cols]` matrix, to be filled by [`Panels::set_row`].
    pub(crate) fn zeroed(nr: usize, kdim: usize, cols: usize) -> Panels {
        let panels = cols.div_ceil(nr);
        Panels {
            nr,
            kdim,
            cols,
            panels,
            data: vec![0f32; panels * kdim * nr],
        }
    }

    /// Writes `vals` into row `k` from column `col` on.
    #[inline]
    pub(crate) fn set_row(&mut self, k: usize, col: usize, vals: &[f32]) {
        let (nr, kdim) = (self.nr, self.kdim);
        let mut c = col;
        let mut rest = vals;
        while !rest.is_empty() {
            let (p, x) = (c / nr, c % nr);
            let len = (nr - x).min(rest.len());
            let at = (p * kdim + k) * nr + x;
            // Whole 16-float pieces as fixed-size copies (no call to `memcpy`).
            let mut dst = self.data[at..at + len].chunks_exact_mut(16);
            let mut src = rest[..len].chunks_exact(16);
            for (o, i) in (&mut dst).zip(&mut src) {
                if let (Ok(o), Ok(i)) = (<&mut [f32; 16]>::try_from(o), <&[f32; 16]>::try_from(i)) {
                    *o = *i;
                }
            }
            let (o, i) = (dst.into_remainder(), src.remainder());
            if !i.is_empty() {
                o.copy_from_slice(i);
            }
            rest = &rest[len..];
            c += len;
        }
    }

    /// Panel `p` (`[kdim, nr]`).
    #[inline]
    pub(crate) fn panel(&self, p: usize) -> &[f32] {
        &self.data[p * self.kdim * self.nr..(p + 1) * self.kdim * self.nr]
    }
}

/// Copies `rows` rows of `a(r, k)` (`k < kdim`) into `buf` in groups of `mr` rows,
/// each group transposed to `[kdim, mr]`, zero padded to a whole group.
pub(crate) fn pack_rows(
    rows: usize,
    kdim: usize,
    mr: usize,
    buf: &mut Vec<f32>,
    a: impl Fn(usize, usize) -> f32,
) {
    buf.clear();
    buf.resize(rows.div_ceil(mr) * mr * kdim, 0.0);
    for r in 0..rows {
        let group = &mut buf[(r / mr) * mr * kdim..(r / mr + 1) * mr * kdim];
        for k in 0..kdim {
            group[k * mr + r % mr] = a(r, k);
        }
    }
}

/// `tile[r][c] = sum_k x[r rs + k ks] * panel[k NR + c]` for `MR` rows of `x` (row
/// stride `rs`, element stride `ks`: `(1, MR)` for a group packed by [`pack_rows`],
/// `(row length, 1)` for row-major rows) and one panel, summed in order of `k`.
///
/// # Safety
/// `x` holds every element addressed, `panel` `kdim * NR` floats, `NR == NV *
/// S::LANES`, and the CPU supports `S`.
#[inline(always)]
pub(crate) unsafe fn product<S: Simd, const MR: usize, const NV: usize, const NR: usize>(
    (x, rs, ks): (*const f32, usize, usize),
    kdim: usize,
    panel: *const f32,
    tile: &mut [[f32; NR]; MR],
) {
    let l = S::LANES;
    let rows: [*const f32; MR] = std::array::from_fn(|r| x.add(r * rs));
    let mut acc = [[S::zero(); NV]; MR];
    for k in 0..kdim {
        let b: [S::V; NV] = std::array::from_fn(|v| S::load(panel.add(k * NR + v * l)));
        for (acc_r, row) in acc.iter_mut().zip(&rows) {
            let a = S::splat(*row.add(k * ks));
            for (acc_rv, &bv) in acc_r.iter_mut().zip(&b) {
                *acc_rv = S::fma(a, bv, *acc_rv);
            }
        }
    }
    for (t, acc_r) in tile.iter_mut().zip(&acc) {
        for (v, &a) in acc_r.iter().enumerate() {
            S::store(t.as_mut_ptr().add(v * l), a);
        }
    }
}

/// Sequence rows per block of [`accumulate_at_b`]: a block of a panel (`KC * NR`
/// floats) stays in the first-level cache while every row group uses it.
pub(crate) const KC: usize = 128;

/// Packs `a` (`[kdim, m]`) column-transposed in groups of `MR` columns into `buf`:
/// group `g` is `[kdim, MR]` row-major (columns `g MR ..`), at `g * kdim * MR`, the
/// last one zero padded. Reading a group then walks contiguous memory. A `buf` of the
/// right length is reused as it is: every element but the padding is overwritten.
pub(crate) fn pack_columns<const MR: usize>(a: ndarray::ArrayView2<f32>, buf: &mut Vec<f32>) {
    let (kdim, m) = a.dim();
    let need = m.div_ceil(MR) * kdim * MR;
    if buf.len() != need {
        buf.clear();
        buf.resize(need, 0.0);
    }
    for (t, row) in a.rows().into_iter().enumerate() {
        match row.to_slice() {
            Some(row) => {
                let mut chunks = row.chunks_exact(MR);
                for (g, cols) in (&mut chunks).enumerate() {
                    let at = (g * kdim + t) * MR;
                    let dst = <&mut [f32; MR]>::try_from(&mut buf[at..at + MR]);
                    if let (Ok(dst), Ok(cols)) = (dst, <&[f32; MR]>::try_from(cols)) {
                        *dst = *cols;
                    }
                }
                let rest = chunks.remainder();
                if !rest.is_empty() {
                    let at = ((m / MR) * kdim + t) * MR;
                    buf[at..at + rest.len()].copy_from_slice(rest);
                }
            }
            None => {
                for (j, &v) in row.iter().enumerate() {
                    buf[((j / MR) * kdim + t) * MR + j % MR] = v;
                }
            }
        }
    }
}

/// `c[i][col] += sum_t a[t][i] b[t][col]` for `i < rows`, `col < b.cols`: `C += A^T
/// B` with `A` (`[b.kdim, >= rows]`) packed by [`pack_columns`] in groups of `MR` into
/// `a`, and `c` (`[rows, b.cols]` row-major). The sum over `t` runs in blocks of [`KC`]
/// terms, each summed in order by [`product`] and added to `c` in order of the blocks,
/// so every element depends on its own row and column only.
///
/// # Safety
/// `a` holds `rows.div_ceil(MR) * b.kdim * MR` floats, `NR == NV * S::LANES == b.nr`,
/// and the CPU supports `S`.
#[inline(always)]
pub(crate) unsafe fn accumulate_at_b<S: Simd, const MR: usize, const NV: usize, const NR: usize>(
    a: &[f32],
    rows: usize,
    b: &Panels,
    c: &mut [f32],
) {
    debug_assert!(NR == b.nr && a.len() >= rows.div_ceil(MR) * b.kdim * MR);
    debug_assert!(c.len() >= rows * b.cols);
    let cols = b.cols;
    let mut tile = [[0f32; NR]; MR];
    for t0 in (0..b.kdim).step_by(KC) {
        let kc = KC.min(b.kdim - t0);
        for p in 0..b.panels {
            let panel = b.panel(p).as_ptr().add(t0 * NR);
            let width = NR.min(cols - p * NR);
            for g in 0..rows.div_ceil(MR) {
                let (i0, x) = (g * MR, a.as_ptr().add((g * b.kdim + t0) * MR));
                product::<S, MR, NV, NR>((x, 1, MR), kc, panel, &mut tile);
                for (r, t) in tile.iter().enumerate().take(rows - i0) {
                    let at = (i0 + r) * cols + p * NR;
                    c[at..at + width]
                        .iter_mut()
                        .zip(&t[..width])
                        .for_each(|(o, &v)| *o += v);
                }
            }
        }
    }
}
