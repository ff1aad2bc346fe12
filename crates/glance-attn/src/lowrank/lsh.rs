//! Reformer LSH attention (Kitaev et al. 2020), exactly as reformer-pytorch's
//! `LSHAttention` (shared-QK, `allow_duplicate_attention`, `attend_across_buckets`,
//! non-causal, no dropout):
//!
//! 1. Hash: for each round `r`, `bucket = argmax([x R_r ; -x R_r])` (first index on
//!    ties) with `R_r` `[d, nb/2]`; `nb = n / bucket` unless given (`hash.rs`: a tiled
//!    product fused with the argmax, `x R_r` never stored).
//! 2. Sort each round's positions by `(bucket, position)` and lay the rounds end to
//!    end; cut that sequence of `hashes * n` entries into chunks of `bucket` entries.
//! 3. Each chunk's queries attend to the keys of their chunk and of the chunk before
//!    (cyclically: the first chunk looks at the last), with keys normalised to unit
//!    length, scores `scale * q.k`, and a query's own position scored -5e4 (so it is
//!    seen only when nothing else is).
//! 4. A position's outputs of the rounds are combined with weights
//!    `softmax_r(logsumexp of its scores in round r)`.
//!
//! Memory: `O(n * (d + hashes))` per head (bucket ids, sort orders, one round of
//! chunk outputs and the running combination) plus the rotations, never a score
//! matrix larger than one chunk (`bucket x 2 bucket`) per thread. Heads run one after the other, each in
//! parallel over row blocks and chunks; the rounds are merged in order, so results do
//! not depend on the thread count.

use ndarray::{Array4, ArrayView4};
use rayon::prelude::*;

use super::hash::Packed;
use super::math::{gemm, mat, mat_mut, softmax_row};
use super::rng::{normal, Stream};
use super::spec::LshSpec;
use super::Inputs;
use crate::error::AttnError;
use crate::options::Isa;

/// The reference's score for a query's own position (`TOKEN_SELF_ATTN_VALUE`).
const SELF_SCORE: f32 = -5e4;
/// Positions per merge step.
const MERGE_ROWS: usize = 1024;

/// Seeded rotations `[1, hashes, d, nb / 2]` (shared by all heads, as the reference's
/// default `random_rotations_per_head = False`).
pub(crate) fn seeded_rotations(hashes: usize, d: usize, half: usize, seed: u64) -> Array4<f32> {
    let mut idx = 0u64;
    Array4::from_shape_simple_fn((1, hashes, d, half), || {
        idx += 1;
        normal(seed, Stream::LshRotations, idx - 1) as f32
    })
}

/// The number of hash buckets for `n` rows (checked: `n` a multiple of the chunk
/// length, an even count >= 2).
pub(crate) fn n_buckets(spec: &LshSpec, n: usize) -> Result<usize, AttnError> {
    let len = spec.bucket;
    if !n.is_multiple_of(len) {
        return Err(AttnError::Option(format!(
            "lsh needs n ({n}) to be a multiple of bucket ({len})"
        )));
    }
    let nb = spec.n_buckets.unwrap_or(n / len);
    if nb < 2 || !nb.is_multiple_of(2) {
        return Err(AttnError::Option(format!(
            "lsh needs an even number of buckets >= 2, got {nb} (n / bucket; the \
             reference needs n to be a multiple of 2 * bucket)"
        )));
    }
    Ok(nb)
}

/// LSH attention of `x` (q as queries and keys, v) into `out` (`[heads, n, d]`).
/// Hashing uses the best instruction set of this CPU ([`Isa::detect`]).
pub(crate) fn attend(
    x: &Inputs,
    spec: &LshSpec,
    seed: u64,
    rotations: Option<ArrayView4<f32>>,
    out: &mut [f32],
) -> Result<(), AttnError> {
    let (heads, n, d) = (x.dims.heads, x.dims.n, x.dims.d);
    let hashes = spec.hashes;
    let nb = n_buckets(spec, n)?;
    let half = nb / 2;
    let seeded;
    let rot = match rotations {
        Some(r) => {
            let (r0, r1, r2, r3) = r.dim();
            let ok = (r0 == 1 || r0 == heads) && r1 == hashes && r2 == d && r3 == half;
            if !ok {
                return Err(AttnError::Shape(format!(
                    "lsh rotations are {:?}, need [1 or {heads}, {hashes}, {d}, {half}]",
                    r.shape()
                )));
            }
            r
        }
        None => {
            seeded = seeded_rotations(hashes, d, half, seed);
            seeded.view()
        }
    };
    let isa = Isa::detect();
    for (h, out_h) in out.chunks_mut(n * d).enumerate() {
        let r = rot.index_axis(ndarray::Axis(0), if rot.dim().0 == 1 { 0 } else { h });
        let packed = Packed::new(isa, hashes, d, half, |round, k, c| r[[round, k, c]]);
        head(x, h, spec, nb, &packed, out_h);
    }
    Ok(())
}

/// One head.
fn head(x: &Inputs, h: usize, spec: &LshSpec, nb: usize, rot: &Packed, out: &mut [f32]) {
    let (n, d) = (x.dims.n, x.dims.d);
    let (len, hashes) = (spec.bucket, spec.hashes);
    // 1. Buckets, [round][position].
    let mut buckets = vec![0u32; hashes * n];
    {
        let mut by_row = vec![0u32; n * hashes];
        rot.hash(&x.q[h * n * d..(h + 1) * n * d], &mut by_row);
        for (i, ids) in by_row.chunks_exact(hashes).enumerate() {
            for (round, &id) in ids.iter().enumerate() {
                buckets[round * n + i] = id;
            }
        }
    }
    // 2. Stable counting sort of each round by bucket: order[round][t] = position.
    let order: Vec<u32> = (0..hashes)
        .into_par_iter()
        .flat_map_iter(|round| {
            let ids = &buckets[round * n..(round + 1) * n];
            let mut start = vec![0usize; nb + 1];
            ids.iter().for_each(|&b| start[b as usize + 1] += 1);
            for b in 0..nb {
                start[b + 1] += start[b];
            }
            let mut sorted = vec![0u32; n];
            for (pos, &b) in ids.iter().enumerate() {
                sorted[start[b as usize]] = pos as u32;
                start[b as usize] += 1;
            }
            sorted
        })
        .collect();
    drop(buckets);
    let inv_norm: Vec<f32> = (0..n)
        .into_par_iter()
        .map(|i| {
            let row = x.rows(x.q, h, i, i + 1);
            1.0 / row.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12)
        })
        .collect();
    // 3-4. Chunks of each round, merged into the running (max, sum, acc) per position.
    let chunks = hashes * n / len;
    let mut o_sorted = vec![0f32; n * d];
    let mut lse = vec![0f32; n];
    let mut inv = vec![0u32; n];
    let mut run_max = vec![f32::NEG_INFINITY; n];
    let mut run_sum = vec![0f32; n];
    out.fill(0.0);
    for round in 0..hashes {
        let per_round = n / len;
        o_sorted
            .par_chunks_mut(len * d)
            .zip(lse.par_chunks_mut(len))
            .enumerate()
            .for_each(|(t, (o, l))| {
                let c = round * per_round + t;
                let prev = (c + chunks - 1) % chunks;
                chunk(
                    x,
                    h,
                    &order[c * len..(c + 1) * len],
                    &order[prev * len..(prev + 1) * len],
                    &inv_norm,
                    o,
                    l,
                );
            });
        let ord = &order[round * n..(round + 1) * n];
        for (t, &pos) in ord.iter().enumerate() {
            inv[pos as usize] = t as u32;
        }
        out.par_chunks_mut(MERGE_ROWS * d)
            .zip(run_max.par_chunks_mut(MERGE_ROWS))
            .zip(run_sum.par_chunks_mut(MERGE_ROWS))
            .zip(inv.par_chunks(MERGE_ROWS))
            .for_each(|(((acc, m), s), inv)| {
                for (i, &t) in inv.iter().enumerate() {
                    let (t, l) = (t as usize, lse[t as usize]);
                    let o = &o_sorted[t * d..(t + 1) * d];
                    let a = &mut acc[i * d..(i + 1) * d];
                    if l > m[i] {
                        let r = (m[i] - l).exp();
                        a.iter_mut().zip(o).for_each(|(a, &o)| *a = *a * r + o);
                        s[i] = s[i] * r + 1.0;
                        m[i] = l;
                    } else {
                        let r = (l - m[i]).exp();
                        a.iter_mut().zip(o).for_each(|(a, &o)| *a += o * r);
                        s[i] += r;
                    }
                }
            });
    }
    out.par_chunks_mut(MERGE_ROWS * d)
        .zip(run_sum.par_chunks(MERGE_ROWS))
        .for_each(|(acc, s)| {
            for (a, &s) in acc.chunks_mut(d).zip(s) {
                let inv = 1.0 / s;
                a.iter_mut().for_each(|v| *v *= inv);
            }
        });
}

/// One chunk: queries at positions `qpos`, keys at `qpos` then `prev` (the chunk
/// before); writes each query's output and the log-sum-exp of its scores.
fn chunk<'a>(
    x: &Inputs<'a>,
    h: usize,
    qpos: &[u32],
    prev: &[u32],
    inv_norm: &[f32],
    o: &mut [f32],
    lse: &mut [f32],
) {
    let (d, len) = (x.dims.d, qpos.len());
    let base = h * x.dims.n;
    let row = |a: &'a [f32], p: u32| -> &'a [f32] {
        let start = (base + p as usize) * d;
        &a[start..start + d]
    };
    let mut qs = Vec::with_capacity(len * d);
    let mut ks = Vec::with_capacity(2 * len * d);
    let mut vs = Vec::with_capacity(2 * len * d);
    for &p in qpos {
        qs.extend_from_slice(row(x.q, p));
    }
    for &p in qpos.iter().chain(prev) {
        let w = inv_norm[p as usize];
        ks.extend(row(x.q, p).iter().map(|v| v * w));
        vs.extend_from_slice(row(x.v, p));
    }
    let mut s = vec![0f32; len * 2 * len];
    gemm(
        mat(&qs, len, d),
        mat(&ks, 2 * len, d).t(),
        0.0,
        mat_mut(&mut s, len, 2 * len),
    );
    for ((srow, &pq), l) in s.chunks_mut(2 * len).zip(qpos).zip(lse.iter_mut()) {
        for (v, &pk) in srow.iter_mut().zip(qpos.iter().chain(prev)) {
            *v = if pk == pq { SELF_SCORE } else { *v * x.scale };
        }
        *l = softmax_row(srow);
    }
    gemm(
        mat(&s, len, 2 * len),
        mat(&vs, 2 * len, d),
        0.0,
        mat_mut(o, len, d),
    );
}
