//! Micro-kernels of the tiled attention, generic over [`Simd`]:
//! - [`qk`]: a score tile `S = Qp * Kt` (`[rows, nk]`) from a packed query tile
//!   (`[rows, dp]`, row-major, already scaled) and a packed transposed key tile
//!   (`[dp, nk]`), `R` rows by `C` vectors of keys held in registers;
//! - [`softmax_row`]: the online-softmax update of one row, turning its scores into
//!   unnormalised probabilities in place;
//! - [`pv`]: `O += P * V` with `P` `[rows, nk]` and a packed value tile `[nk, dp]`.
//!
//! Every output element is computed by the same instruction sequence whatever its
//! position in the tile, so results do not depend on tiling or thread count.
//! All functions are `unsafe`: pointers must cover the stated shapes, and the CPU must
//! support `S`'s instructions.

use crate::simd::Simd;

/// `s[r][c] = sum_dd qp[r][dd] * kt[dd][c]` for `r < rows` (a multiple of `R`) and
/// `c < nk` (a multiple of `C * LANES`).
#[inline(always)]
pub(crate) unsafe fn qk<S: Simd, const R: usize, const C: usize>(
    qp: *const f32,
    kt: *const f32,
    s: *mut f32,
    rows: usize,
    dp: usize,
    nk: usize,
) {
    let step = C * S::LANES;
    for r0 in (0..rows).step_by(R) {
        for c0 in (0..nk).step_by(step) {
            let z = S::zero();
            let mut acc = [[z; C]; R];
            for dd in 0..dp {
                let krow = kt.add(dd * nk + c0);
                let mut kv = [z; C];
                for (c, slot) in kv.iter_mut().enumerate() {
                    *slot = S::load(krow.add(c * S::LANES));
                }
                for (r, acc_r) in acc.iter_mut().enumerate() {
                    let qb = S::splat(*qp.add((r0 + r) * dp + dd));
                    for c in 0..C {
                        acc_r[c] = S::fma(qb, kv[c], acc_r[c]);
                    }
                }
            }
            for (r, acc_r) in acc.iter().enumerate() {
                let out = s.add((r0 + r) * nk + c0);
                for (c, &a) in acc_r.iter().enumerate() {
                    S::store(out.add(c * S::LANES), a);
                }
            }
        }
    }
}

/// One online-softmax step for a row of `nk` scores (masked entries are `-inf`):
/// updates the running max `m` and sum `l`, overwrites the scores with
/// `exp(s - m_new)` and returns the factor by which the row's accumulated output must
/// be rescaled (`1` when the max did not change).
#[inline(always)]
pub(crate) unsafe fn softmax_row<S: Simd>(
    srow: *mut f32,
    nk: usize,
    m: &mut f32,
    l: &mut f32,
) -> f32 {
    let mut mx = S::splat(f32::NEG_INFINITY);
    for c in (0..nk).step_by(S::LANES) {
        mx = S::max(mx, S::load(srow.add(c)));
    }
    let m_new = m.max(S::reduce_max(mx));
    if m_new == f32::NEG_INFINITY {
        // Nothing visible yet: probabilities are zero and the state is unchanged.
        for c in (0..nk).step_by(S::LANES) {
            S::store(srow.add(c), S::zero());
        }
        return 1.0;
    }
    let alpha = if *m == m_new { 1.0 } else { (*m - m_new).exp() };
    let mv = S::splat(m_new);
    let mut sum = S::zero();
    for c in (0..nk).step_by(S::LANES) {
        let p = S::exp(S::sub(S::load(srow.add(c)), mv));
        S::store(srow.add(c), p);
        sum = S::add(sum, p);
    }
    *l = *l * alpha + S::reduce_add(sum);
    *m = m_new;
    alpha
}

/// Multiplies `len` floats (a multiple of `LANES`) at `row` by `alpha`.
#[inline(always)]
pub(crate) unsafe fn scale_row<S: Simd>(row: *mut f32, len: usize, alpha: f32) {
    let a = S::splat(alpha);
    for c in (0..len).step_by(S::LANES) {
        S::store(row.add(c), S::mul(S::load(row.add(c)), a));
    }
}

/// `o[r][..] += sum_j p[r][j] * vt[j][..]` for `r < rows` (a multiple of `R`),
/// `j < nk`, over `dp` output columns (a multiple of `LANES`).
#[inline(always)]
pub(crate) unsafe fn pv<S: Simd, const R: usize, const C: usize>(
    p: *const f32,
    vt: *const f32,
    o: *mut f32,
    rows: usize,
    nk: usize,
    dp: usize,
) {
    for r0 in (0..rows).step_by(R) {
        let mut c0 = 0;
        while c0 + C * S::LANES <= dp {
            pv_block::<S, R, C>(p, vt, o, r0, c0, nk, dp);
            c0 += C * S::LANES;
        }
        while c0 < dp {
            pv_block::<S, R, 1>(p, vt, o, r0, c0, nk, dp);
            c0 += S::LANES;
        }
    }
}

/// `R` rows by `C` vectors of output columns starting at `(r0, c0)`.
#[inline(always)]
unsafe fn pv_block<S: Simd, const R: usize, const C: usize>(
    p: *const f32,
    vt: *const f32,
    o: *mut f32,
    r0: usize,
    c0: usize,
    nk: usize,
    dp: usize,
) {
    let z = S::zero();
    let mut acc = [[z; C]; R];
    for (r, acc_r) in acc.iter_mut().enumerate() {
        let orow = o.add((r0 + r) * dp + c0);
        for (c, a) in acc_r.iter_mut().enumerate() {
            *a = S::load(orow.add(c * S::LANES));
        }
    }
    for j in 0..nk {
        let vrow = vt.add(j * dp + c0);
        let mut vv = [z; C];
        for (c, slot) in vv.iter_mut().enumerate() {
            *slot = S::load(vrow.add(c * S::LANES));
        }
        for (r, acc_r) in acc.iter_mut().enumerate() {
            let pb = S::splat(*p.add((r0 + r) * nk + j));
            for c in 0..C {
                acc_r[c] = S::fma(pb, vv[c], acc_r[c]);
            }
        }
    }
    for (r, acc_r) in acc.iter().enumerate() {
        let orow = o.add((r0 + r) * dp + c0);
        for (c, &a) in acc_r.iter().enumerate() {
            S::store(orow.add(c * S::LANES), a);
        }
    }
}
