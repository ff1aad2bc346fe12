//! Register-tiled f32 products `A B` for the approximate patterns, on the [`Simd`]
//! kernels of the exact engine: `B` (`[kdim, cols]`) is packed once into panels of
//! `NR` columns, the rows of `A` in groups of `MR`, and one `MR x NR` tile is computed
//! at a time, summed over `kdim` in order with one fused multiply-add per term (a plain
//! multiply-add on the portable path). A tile depends on its own rows and columns only,
//! so results do not depend on how rows are split among threads.

use crate::options::Isa;
use crate::simd::Simd;

/// Columns per panel (`NV * LANES`) of each instruction set's kernel.
pub(crate) fn panel_width(isa: Isa) -> usize {
    match isa {
        Isa::Avx512 => 32,
        Isa::Avx2 | Isa::Portable => 16,
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
