//! Reformer's angular LSH: the bucket of a row `x` in round `r` is
//! `argmax([x R_r ; -x R_r])` (the first index on ties, as `torch.argmax`), with `R_r`
//! `[d, nb/2]`.
//!
//! The product `x R_r` is never stored: a register-tiled product (`MR` rows by `NV`
//! vectors of columns, on the [`Simd`] kernels of the exact engine) computes one tile
//! at a time and folds it into a running argmax over the `+` and `-` columns, so memory
//! is the packed rotations (`hashes * d * nb/2` floats per head) and a few KiB per block
//! of rows, whatever `nb`. Work: `n d nb/2` multiply-adds per round, parallel over
//! blocks of [`BLOCK_ROWS`] rows; each panel of columns is reused by every row of a
//! block while it is in L1.
//!
//! Each entry of `x R_r` is summed over `d` in order, one fused multiply-add per term
//! (a plain multiply-add on the portable path). It depends on its row only, so bucket
//! ids are the same for any thread count. Another summation order (the reference's
//! BLAS) can differ in the last bits and so flip a near-tie; the reference fixtures
//! have a smallest relative gap of 1.5e-4 between the two largest entries, far above
//! f32 rounding, so they pin the buckets whatever the order.

use rayon::prelude::*;

use super::tile::{
    pack_rows, panel_width, product, Panels, MR_AVX2, MR_AVX512, MR_PORTABLE, NR_AVX2, NR_AVX512,
    NR_PORTABLE, NV,
};
use crate::options::Isa;
use crate::simd::{Portable, Simd};

/// Rows per parallel task (and per reuse of a packed column panel).
const BLOCK_ROWS: usize = 64;

/// The rotations of one head, packed for the kernel of one instruction set: one
/// [`Panels`] (`[d, half]`) per round.
pub(crate) struct Packed {
    isa: Isa,
    d: usize,
    half: usize,
    rounds: Vec<Panels>,
}

impl Packed {
    /// Packs `rot(round, k, c)` (`round < hashes`, `k < d`, `c < half`) for `isa`,
    /// which must be available on this CPU ([`Isa::is_available`]).
    pub(crate) fn new(
        isa: Isa,
        hashes: usize,
        d: usize,
        half: usize,
        rot: impl Fn(usize, usize, usize) -> f32,
    ) -> Packed {
        let nr = panel_width(isa);
        let rounds = (0..hashes)
            .map(|round| Panels::new(nr, d, half, |k, c| rot(round, k, c)))
            .collect();
        Packed {
            isa,
            d,
            half,
            rounds,
        }
    }

    /// Bucket ids of the rows of `x` (`[n, d]` row-major) into `ids`, `[n, hashes]`
    /// row-major (position first).
    pub(crate) fn hash(&self, x: &[f32], ids: &mut [u32]) {
        let d = self.d;
        x.par_chunks(BLOCK_ROWS * d)
            .zip(ids.par_chunks_mut(BLOCK_ROWS * self.rounds.len()))
            .for_each(|(xb, ib)| self.block(xb, ib));
    }

    /// One block of at most [`BLOCK_ROWS`] rows.
    fn block(&self, x: &[f32], ids: &mut [u32]) {
        match self.isa {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Packed::new` is only given ISAs available on this CPU.
            Isa::Avx512 => unsafe { block_avx512(self, x, ids) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            Isa::Avx2 => unsafe { block_avx2(self, x, ids) },
            // SAFETY: the portable kernel needs no CPU feature.
            _ => unsafe { block_generic::<Portable, MR_PORTABLE, NV, NR_PORTABLE>(self, x, ids) },
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn block_avx512(p: &Packed, x: &[f32], ids: &mut [u32]) {
    block_generic::<crate::simd::Avx512, MR_AVX512, NV, NR_AVX512>(p, x, ids)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn block_avx2(p: &Packed, x: &[f32], ids: &mut [u32]) {
    block_generic::<crate::simd::Avx2, MR_AVX2, NV, NR_AVX2>(p, x, ids)
}

/// Running argmax of `+` and `-` columns of one row, per lane of a panel: lane `c`
/// holds the best value among columns `c, c + NR, c + 2 NR, ...` seen so far and the
/// panel where it was first seen.
#[derive(Clone, Copy)]
struct Best<const NR: usize> {
    max: [f32; NR],
    max_at: [u32; NR],
    min: [f32; NR],
    min_at: [u32; NR],
}

impl<const NR: usize> Best<NR> {
    const START: Best<NR> = Best {
        max: [f32::NEG_INFINITY; NR],
        max_at: [0; NR],
        min: [f32::INFINITY; NR],
        min_at: [0; NR],
    };

    /// Folds in panel `p`'s values (NaN lanes never win).
    #[inline(always)]
    fn update(&mut self, vals: &[f32; NR], p: u32) {
        for (c, &v) in vals.iter().enumerate() {
            let up = v > self.max[c];
            self.max[c] = if up { v } else { self.max[c] };
            self.max_at[c] = if up { p } else { self.max_at[c] };
            let down = v < self.min[c];
            self.min[c] = if down { v } else { self.min[c] };
            self.min_at[c] = if down { p } else { self.min_at[c] };
        }
    }

    /// The index into `[x R ; -x R]` (`half` columns each) of the first largest entry.
    fn bucket(&self, half: usize) -> u32 {
        let column = |at: u32, c: usize| at as usize * NR + c;
        let (mut max, mut max_col) = (f32::NEG_INFINITY, usize::MAX);
        let (mut min, mut min_col) = (f32::INFINITY, usize::MAX);
        for c in 0..NR {
            let (v, col) = (self.max[c], column(self.max_at[c], c));
            if v > max || (v == max && col < max_col) {
                (max, max_col) = (v, col);
            }
            let (v, col) = (self.min[c], column(self.min_at[c], c));
            if v < min || (v == min && col < min_col) {
                (min, min_col) = (v, col);
            }
        }
        // Ties between `max` and `-min` go to the `+` half, which comes first.
        let id = if max >= -min { max_col } else { half + min_col };
        id.min(2 * half - 1) as u32
    }
}

/// Hashes one block of rows (`x`: at most [`BLOCK_ROWS`] rows of `d`) for every round.
/// Register tile: `MR` rows by `NV` vectors (`NR = NV * LANES` columns, one panel).
#[inline(always)]
unsafe fn block_generic<S: Simd, const MR: usize, const NV: usize, const NR: usize>(
    p: &Packed,
    x: &[f32],
    ids: &mut [u32],
) {
    debug_assert_eq!(NR, NV * S::LANES);
    let (d, hashes) = (p.d, p.rounds.len());
    let rows = x.len() / d;
    let mut xs = Vec::new();
    pack_rows(rows, d, MR, &mut xs, |r, k| x[r * d + k]);
    let mut best = vec![Best::<NR>::START; xs.len() / d];
    let mut tile = [[0f32; NR]; MR];
    for (round, rot) in p.rounds.iter().enumerate() {
        debug_assert_eq!(NR, rot.nr);
        best.fill(Best::START);
        let valid_last = p.half - (rot.panels - 1) * NR;
        for pi in 0..rot.panels {
            let panel = rot.panel(pi);
            for (g, xg) in xs.chunks_exact(MR * d).enumerate() {
                product::<S, MR, NV, NR>((xg.as_ptr(), 1, MR), d, panel.as_ptr(), &mut tile);
                if pi + 1 == rot.panels {
                    // Padding columns of the last panel never win.
                    for t in tile.iter_mut() {
                        t[valid_last..].fill(f32::NAN);
                    }
                }
                for (b, t) in best[g * MR..(g + 1) * MR].iter_mut().zip(&tile) {
                    b.update(t, pi as u32);
                }
            }
        }
        for (i, b) in best[..rows].iter().enumerate() {
            ids[i * hashes + round] = b.bucket(p.half);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `argmax([x R ; -x R])`, first index on ties, in f64.
    fn reference(x: &[f32], rot: &[f32], d: usize, half: usize) -> Vec<u32> {
        x.chunks(d)
            .map(|row| {
                let xr: Vec<f64> = (0..half)
                    .map(|c| {
                        (0..d)
                            .map(|k| f64::from(row[k]) * f64::from(rot[k * half + c]))
                            .sum()
                    })
                    .collect();
                let all: Vec<f64> = xr.iter().copied().chain(xr.iter().map(|v| -v)).collect();
                let mut best = 0;
                for (i, &v) in all.iter().enumerate() {
                    if v > all[best] {
                        best = i;
                    }
                }
                best as u32
            })
            .collect()
    }

    #[test]
    fn buckets_match_the_argmax_on_every_isa() {
        let mut s = 7u64;
        let mut rnd = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        };
        // Small integers keep every product and sum exact, so ties are real ties
        // (frequent here), and the first index must win.
        for (n, d, half) in [
            (70, 5, 3),
            (130, 16, 37),
            (64, 64, 32),
            (9, 3, 1),
            (200, 8, 70),
        ] {
            let mut x: Vec<f32> = (0..n * d).map(|_| (rnd() * 8.0).round()).collect();
            x[..d].fill(0.0); // a row of zeros: every entry ties, bucket 0
            let rots: Vec<Vec<f32>> = (0..3)
                .map(|_| (0..d * half).map(|_| (rnd() * 6.0).round()).collect())
                .collect();
            for isa in Isa::available() {
                let p = Packed::new(isa, 3, d, half, |round, k, c| rots[round][k * half + c]);
                let mut ids = vec![u32::MAX; n * 3];
                p.hash(&x, &mut ids);
                for (round, rot) in rots.iter().enumerate() {
                    let want = reference(&x, rot, d, half);
                    let got: Vec<u32> = ids.iter().skip(round).step_by(3).copied().collect();
                    assert_eq!(got, want, "{isa:?} n {n} d {d} half {half} round {round}");
                }
                assert_eq!(ids[..3], [0, 0, 0]);
            }
        }
    }
}
