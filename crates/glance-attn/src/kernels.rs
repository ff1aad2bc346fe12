//! Micro-kernels of the tiled attention, generic over [`Simd`]. They work on one
//! *query vector* (`S::LANES` queries of a tile, the vector dimension), or on `V = 2`
//! adjacent vectors at once, so each vector only visits the keys some of its queries
//! (or its pair's) can see. Scores are kept transposed, `st[j][x]`, so the online
//! softmax runs across queries without horizontal reductions. Keys and values come as
//! *panels*: `nk` rows of `d` floats, `ks` floats apart (rows of the input itself,
//! strided for a dilated lane, or a packed copy), so one pointer with loop-invariant
//! offsets addresses a whole register block.
//!
//! - [`qk`]: `st[j][x] = sum_dd k_j[dd] * qt[dd][x]` (`qt` is the scaled, transposed
//!   query tile), `J` keys x `V` query vectors in registers, each key element
//!   broadcast once for the `V` vectors (two vectors halve the loads per FMA);
//! - [`softmax`]: the online-softmax update of one vector's queries, turning scores
//!   into unnormalised probabilities in place;
//! - [`pv`]: `ot[dd][x] = ot[dd][x] * alpha[x] + sum_j v_j[dd] * st[j][x]`, `DD`
//!   output dimensions x `V` query vectors in registers.
//!
//! Every output element is computed by the same instruction sequence whatever its
//! position in the tile, whatever `J`/`DD` block it falls in and whether its vector is
//! paired, so results do not depend on tiling or thread count (a key outside a row's
//! reach that its pair makes it visit scores `-inf`: a probability of exactly zero).
//! All functions are `unsafe`: pointers must cover the stated shapes, and the CPU must
//! support `S`'s instructions.

use crate::simd::Simd;

/// Scores of `V` adjacent query vectors against `nk` keys: `qt` points at the first
/// vector's lanes of a `[d][qs]` query tile (vector `v` at `qt + v * LANES`), `kp` at
/// `nk` rows of `d` floats `ks` apart, and `st` at `nk` score rows `ss` floats apart,
/// vector `v`'s scores at `v * LANES` in each row.
#[inline(always)]
#[allow(clippy::too_many_arguments)] // raw pointers and shapes of one inlined kernel
pub(crate) unsafe fn qk<S: Simd, const V: usize, const J: usize>(
    (qt, qs): (*const f32, usize),
    (kp, ks): (*const f32, usize),
    (st, ss): (*mut f32, usize),
    d: usize,
    nk: usize,
) {
    let mut j = 0;
    while j + J <= nk {
        qk_block::<S, V, J>((qt, qs), (kp, ks), (st, ss), d, j);
        j += J;
    }
    if J > 8 && j + 8 <= nk {
        qk_block::<S, V, 8>((qt, qs), (kp, ks), (st, ss), d, j);
        j += 8;
    }
    if J > 4 && j + 4 <= nk {
        qk_block::<S, V, 4>((qt, qs), (kp, ks), (st, ss), d, j);
        j += 4;
    }
    while j < nk {
        qk_block::<S, V, 1>((qt, qs), (kp, ks), (st, ss), d, j);
        j += 1;
    }
}

/// Keys `j0..j0 + J` of [`qk`]: `J x V` accumulators, each key element broadcast once
/// for the `V` vectors.
#[inline(always)]
unsafe fn qk_block<S: Simd, const V: usize, const J: usize>(
    (qt, qs): (*const f32, usize),
    (kp, ks): (*const f32, usize),
    (st, ss): (*mut f32, usize),
    d: usize,
    j0: usize,
) {
    let k0 = kp.add(j0 * ks);
    let mut acc = [[S::zero(); V]; J];
    for dd in 0..d {
        let q: [S::V; V] = std::array::from_fn(|v| S::load(qt.add(dd * qs + v * S::LANES)));
        for (jj, a) in acc.iter_mut().enumerate() {
            let k = S::splat(*k0.add(jj * ks + dd));
            for (av, &qv) in a.iter_mut().zip(&q) {
                *av = S::fma(k, qv, *av);
            }
        }
    }
    for (jj, a) in acc.iter().enumerate() {
        for (v, &av) in a.iter().enumerate() {
            S::store(st.add((j0 + jj) * ss + v * S::LANES), av);
        }
    }
}

/// One online-softmax step for one query vector over `nk` scores (`st`, rows `stride`
/// apart, base-2 units, masked entries `-inf`): updates the running max `m` and sum
/// `l`, overwrites the scores with `2^(s - m_new)` and stores in `alpha` the factor by
/// which the vector's accumulated output must be rescaled. Queries that have seen
/// nothing keep `m = -inf`, `l = 0`, and get zero probabilities.
#[inline(always)]
pub(crate) unsafe fn softmax<S: Simd>(
    st: *mut f32,
    nk: usize,
    stride: usize,
    m: *mut f32,
    l: *mut f32,
    alpha: *mut f32,
) {
    let m_old = S::load(m);
    let mut m_new = m_old;
    for j in 0..nk {
        m_new = S::max(m_new, S::load(st.add(j * stride)));
    }
    // 2^(-inf - -inf) is 2^NaN = 0 in `Simd::exp2`, as wanted for both.
    let a = S::exp2(S::sub(m_old, m_new));
    let mut sum = S::zero();
    for j in 0..nk {
        let slot = st.add(j * stride);
        let p = S::exp2(S::sub(S::load(slot), m_new));
        S::store(slot, p);
        sum = S::add(sum, p);
    }
    S::store(l, S::fma(S::load(l), a, sum));
    S::store(m, m_new);
    S::store(alpha, a);
}

/// `ot[dd] = ot[dd] * alpha + sum_j vp[j][dd] * pt[j]` for `V` adjacent query vectors:
/// `pt` points at `nk` probability rows `ps` floats apart (vector `v`'s at `v * LANES`),
/// `vp` at `nk` rows of `d` floats `vs` apart, `ot` at the first vector's lanes of a
/// `[d][os]` accumulator and `alpha` at its rescaling factors (vector `v`'s at
/// `v * LANES` in both).
#[inline(always)]
pub(crate) unsafe fn pv<S: Simd, const V: usize, const DD: usize>(
    (pt, ps): (*const f32, usize),
    (vp, vs): (*const f32, usize),
    (ot, os): (*mut f32, usize),
    alpha: *const f32,
    d: usize,
    nk: usize,
) {
    let a: [S::V; V] = std::array::from_fn(|v| S::load(alpha.add(v * S::LANES)));
    let mut d0 = 0;
    while d0 + DD <= d {
        pv_block::<S, V, DD>((pt, ps), (vp, vs), (ot, os), a, d0, nk);
        d0 += DD;
    }
    if DD > 8 && d0 + 8 <= d {
        pv_block::<S, V, 8>((pt, ps), (vp, vs), (ot, os), a, d0, nk);
        d0 += 8;
    }
    if DD > 4 && d0 + 4 <= d {
        pv_block::<S, V, 4>((pt, ps), (vp, vs), (ot, os), a, d0, nk);
        d0 += 4;
    }
    while d0 < d {
        pv_block::<S, V, 1>((pt, ps), (vp, vs), (ot, os), a, d0, nk);
        d0 += 1;
    }
}

/// Output dimensions `d0..d0 + DD` of [`pv`]: `DD x V` accumulators, each value element
/// broadcast once for the `V` vectors.
#[inline(always)]
unsafe fn pv_block<S: Simd, const V: usize, const DD: usize>(
    (pt, ps): (*const f32, usize),
    (vp, vs): (*const f32, usize),
    (ot, os): (*mut f32, usize),
    alpha: [S::V; V],
    d0: usize,
    nk: usize,
) {
    let mut acc = [[S::zero(); V]; DD];
    for (i, a) in acc.iter_mut().enumerate() {
        for (v, av) in a.iter_mut().enumerate() {
            *av = S::mul(S::load(ot.add((d0 + i) * os + v * S::LANES)), alpha[v]);
        }
    }
    for j in 0..nk {
        let p: [S::V; V] = std::array::from_fn(|v| S::load(pt.add(j * ps + v * S::LANES)));
        let vrow = vp.add(j * vs + d0);
        for (i, a) in acc.iter_mut().enumerate() {
            let x = S::splat(*vrow.add(i));
            for (av, &pv) in a.iter_mut().zip(&p) {
                *av = S::fma(x, pv, *av);
            }
        }
    }
    for (i, a) in acc.iter().enumerate() {
        for (v, &av) in a.iter().enumerate() {
            S::store(ot.add((d0 + i) * os + v * S::LANES), av);
        }
    }
}
