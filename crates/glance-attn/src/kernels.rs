//! Micro-kernels of the tiled attention, generic over [`Simd`]. A tile holds `mq`
//! queries (the vector dimension, a multiple of `C * LANES`) and `nk` keys; scores are
//! kept transposed, `st[j][x]`, so the online softmax runs across queries without
//! horizontal reductions, and keys and values are read in place through row pointers
//! (no packing, so strided keys of a dilated pattern cost the same as contiguous ones).
//!
//! - [`qk_t`]: `st[j][x] = sum_dd k_j[dd] * qt[dd][x]` (`qt` is the scaled, transposed
//!   query tile), `J` keys by `C` query vectors in registers;
//! - [`softmax_tile`]: the online-softmax update of every query of the tile, turning the
//!   scores into unnormalised probabilities in place;
//! - [`pv_t`]: `ot[dd][x] = ot[dd][x] * alpha[x] + sum_j v_j[dd] * st[j][x]`.
//!
//! Every output element is computed by the same instruction sequence whatever its
//! position in the tile, so results do not depend on tiling or thread count.
//! All functions are `unsafe`: pointers must cover the stated shapes, and the CPU must
//! support `S`'s instructions.

use crate::simd::Simd;

/// Scores of `nk` keys (a multiple of `J`; `krows[j]` points at `d` floats) against
/// the `mq` queries of `qt` (`[d][mq]`), into `st` (`[nk][mq]`).
#[inline(always)]
pub(crate) unsafe fn qk_t<S: Simd, const J: usize, const C: usize>(
    qt: *const f32,
    krows: &[*const f32],
    st: *mut f32,
    d: usize,
    mq: usize,
) {
    let step = C * S::LANES;
    for j0 in (0..krows.len()).step_by(J) {
        let k: [*const f32; J] = std::array::from_fn(|jj| krows[j0 + jj]);
        for c0 in (0..mq).step_by(step) {
            let z = S::zero();
            let mut acc = [[z; C]; J];
            for dd in 0..d {
                let qrow = qt.add(dd * mq + c0);
                let mut qv = [z; C];
                for (c, slot) in qv.iter_mut().enumerate() {
                    *slot = S::load(qrow.add(c * S::LANES));
                }
                for (jj, acc_j) in acc.iter_mut().enumerate() {
                    let kb = S::splat(*k[jj].add(dd));
                    for c in 0..C {
                        acc_j[c] = S::fma(kb, qv[c], acc_j[c]);
                    }
                }
            }
            for (jj, acc_j) in acc.iter().enumerate() {
                let out = st.add((j0 + jj) * mq + c0);
                for (c, &a) in acc_j.iter().enumerate() {
                    S::store(out.add(c * S::LANES), a);
                }
            }
        }
    }
}

/// One online-softmax step for all `mq` queries over a score tile `st` (`[nk][mq]`,
/// masked entries `-inf`): updates the running max `m` and sum `l`, overwrites the
/// scores with `exp(s - m_new)` and stores in `alpha` the factor by which each query's
/// accumulated output must be rescaled. Queries that have seen nothing keep `m = -inf`,
/// `l = 0`, and get zero probabilities.
#[inline(always)]
pub(crate) unsafe fn softmax_tile<S: Simd>(
    st: *mut f32,
    nk: usize,
    mq: usize,
    m: *mut f32,
    l: *mut f32,
    alpha: *mut f32,
) {
    for c in (0..mq).step_by(S::LANES) {
        let m_old = S::load(m.add(c));
        let mut m_new = m_old;
        for j in 0..nk {
            m_new = S::max(m_new, S::load(st.add(j * mq + c)));
        }
        // exp(-inf - -inf) is exp(NaN) = 0 in `Simd::exp`, as wanted for both.
        let a = S::exp(S::sub(m_old, m_new));
        let mut sum = S::zero();
        for j in 0..nk {
            let slot = st.add(j * mq + c);
            let p = S::exp(S::sub(S::load(slot), m_new));
            S::store(slot, p);
            sum = S::add(sum, p);
        }
        S::store(l.add(c), S::fma(S::load(l.add(c)), a, sum));
        S::store(m.add(c), m_new);
        S::store(alpha.add(c), a);
    }
}

/// `ot[dd][x] = ot[dd][x] * alpha[x] + sum_j vrows[j][dd] * pt[j][x]` for `dd < d`,
/// `x < mq` (a multiple of `C * LANES`), `j < vrows.len()`.
#[inline(always)]
pub(crate) unsafe fn pv_t<S: Simd, const DD: usize, const C: usize>(
    pt: *const f32,
    vrows: &[*const f32],
    ot: *mut f32,
    alpha: *const f32,
    d: usize,
    mq: usize,
) {
    let mut d0 = 0;
    while d0 + DD <= d {
        pv_block::<S, DD, C>(pt, vrows, ot, alpha, d0, mq);
        d0 += DD;
    }
    while d0 < d {
        pv_block::<S, 1, C>(pt, vrows, ot, alpha, d0, mq);
        d0 += 1;
    }
}

/// `DD` output dimensions from `d0`, all queries.
#[inline(always)]
unsafe fn pv_block<S: Simd, const DD: usize, const C: usize>(
    pt: *const f32,
    vrows: &[*const f32],
    ot: *mut f32,
    alpha: *const f32,
    d0: usize,
    mq: usize,
) {
    let step = C * S::LANES;
    for c0 in (0..mq).step_by(step) {
        let z = S::zero();
        let mut acc = [[z; C]; DD];
        for (i, acc_i) in acc.iter_mut().enumerate() {
            let orow = ot.add((d0 + i) * mq + c0);
            for (c, a) in acc_i.iter_mut().enumerate() {
                *a = S::mul(
                    S::load(orow.add(c * S::LANES)),
                    S::load(alpha.add(c0 + c * S::LANES)),
                );
            }
        }
        for (j, &vrow) in vrows.iter().enumerate() {
            let prow = pt.add(j * mq + c0);
            let mut pv = [z; C];
            for (c, slot) in pv.iter_mut().enumerate() {
                *slot = S::load(prow.add(c * S::LANES));
            }
            for (i, acc_i) in acc.iter_mut().enumerate() {
                let vb = S::splat(*vrow.add(d0 + i));
                for c in 0..C {
                    acc_i[c] = S::fma(vb, pv[c], acc_i[c]);
                }
            }
        }
        for (i, acc_i) in acc.iter().enumerate() {
            let orow = ot.add((d0 + i) * mq + c0);
            for (c, &a) in acc_i.iter().enumerate() {
                S::store(orow.add(c * S::LANES), a);
            }
        }
    }
}
