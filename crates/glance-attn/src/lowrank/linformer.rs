//! Linformer attention (Wang et al. 2020), as lucidrains' `LinformerSelfAttention`:
//! keys and values are projected along the sequence, `K' = E^T K`, `V' = F^T V`
//! (`E`, `F`: `[n, k]`, the same for every head), and every query attends to the `k`
//! projected keys: `out_i = softmax(scale * q_i K'^T) V'`.
//!
//! Block form (`b = B`): the sequence is cut into blocks of `B` absolute positions and
//! each block is projected on its own with the first rows of `E`, `F` (`E[p mod B]`
//! for absolute position `p`); a query mixes exactly the tokens of its own block. So a
//! chunk of a stream with a halo of `B - 1` rows gives the rows of the whole sequence.
//!
//! Work: the projection sums over the sequence in fixed segments grouped into a fixed
//! number of partial sums added in order; queries run in tiles of rows. Both splits
//! depend on `n` only, so results do not depend on the thread count.

use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;

use super::math::{gemm, mat, mat_mut, softmax_scaled};
use super::rng::{uniform, Stream};
use super::spec::LinformerSpec;
use super::tile::{
    accumulate_at_b, pack_columns, panel_width, product, row_group, Panels, KC, MR_AVX2, MR_AVX512,
    MR_PORTABLE, NR_AVX2, NR_AVX512, NR_PORTABLE, NV,
};
use super::{ApproxOptions, Inputs};
use crate::error::AttnError;
use crate::options::Isa;
use crate::simd::{Portable, Simd};

/// Sequence rows per projection step (a multiple of [`KC`]).
const SEGMENT: usize = 2048;
/// Partial sums of the whole-sequence projection (a constant: determinism).
const GROUPS: usize = 16;
/// Query rows per tile.
const QROWS: usize = 256;

/// Rows of `E` or `F`: given by the model, or drawn like the reference's `init_`
/// (uniform on `[-1/sqrt(k), 1/sqrt(k))`) from the seed, one number per element.
#[derive(Clone, Copy)]
struct Projection<'a> {
    given: Option<ArrayView2<'a, f32>>,
    seed: u64,
    stream: Stream,
    k: usize,
}

impl Projection<'_> {
    /// Rows `[first, first + count)` as a `[count, k]` matrix (drawn into `buf`).
    fn rows<'b>(
        &'b self,
        first: usize,
        count: usize,
        buf: &'b mut Vec<f32>,
    ) -> ArrayView2<'b, f32> {
        match &self.given {
            Some(e) => e.slice(ndarray::s![first..first + count, ..]),
            None => {
                let bound = 1.0 / (self.k as f64).sqrt();
                buf.clear();
                buf.extend((first * self.k..(first + count) * self.k).map(|idx| {
                    ((2.0 * uniform(self.seed, self.stream, idx as u64) - 1.0) * bound) as f32
                }));
                mat(buf, count, self.k)
            }
        }
    }
}

/// The seeded `E` and (without `share_kv`) `F`, `[rows, k]`.
pub(crate) fn seeded(
    spec: &LinformerSpec,
    rows: usize,
    seed: u64,
) -> (Array2<f32>, Option<Array2<f32>>) {
    let draw = |stream| {
        let p = Projection {
            given: None,
            seed,
            stream,
            k: spec.k,
        };
        let mut buf = Vec::new();
        p.rows(0, rows, &mut buf).to_owned()
    };
    let e = draw(Stream::LinformerE);
    let f = (!spec.share_kv).then(|| draw(Stream::LinformerF));
    (e, f)
}

/// Checks the given projections against the spec and the rows needed.
fn projections<'a>(
    spec: &LinformerSpec,
    seed: u64,
    weights: Option<(ArrayView2<'a, f32>, Option<ArrayView2<'a, f32>>)>,
    rows_needed: usize,
) -> Result<(Projection<'a>, Projection<'a>), AttnError> {
    let seeded = |stream| Projection {
        given: None,
        seed,
        stream,
        k: spec.k,
    };
    let Some((e, f)) = weights else {
        let e = seeded(Stream::LinformerE);
        let f = if spec.share_kv {
            e
        } else {
            seeded(Stream::LinformerF)
        };
        return Ok((e, f));
    };
    let check = |name: &str, m: ArrayView2<'a, f32>| -> Result<Projection<'a>, AttnError> {
        if m.ncols() != spec.k || m.nrows() < rows_needed {
            return Err(AttnError::Shape(format!(
                "linformer {name} is {:?}, needs [>= {rows_needed}, {}]",
                m.shape(),
                spec.k
            )));
        }
        Ok(Projection {
            given: Some(m),
            seed,
            stream: Stream::LinformerE,
            k: spec.k,
        })
    };
    let pe = check("E", e)?;
    let pf = match (f, spec.share_kv) {
        (None, true) => pe,
        (Some(f), false) => check("F", f)?,
        (Some(_), true) => {
            return Err(AttnError::Option(
                "linformer with share_kv takes no F projection".into(),
            ))
        }
        (None, false) => {
            return Err(AttnError::Option(
                "linformer without share_kv needs an F projection".into(),
            ))
        }
    };
    Ok((pe, pf))
}

/// Linformer attention of `x` into `out` (`[heads, n, d]`).
pub(crate) fn attend(
    x: &Inputs,
    spec: &LinformerSpec,
    opts: &ApproxOptions,
    weights: Option<(ArrayView2<f32>, Option<ArrayView2<f32>>)>,
    out: &mut [f32],
) -> Result<(), AttnError> {
    let n = x.dims.n;
    match spec.block {
        None => {
            let (pe, pf) = projections(spec, opts.seed, weights, n)?;
            let (kp, vp) = project_whole(x, spec, &pe, &pf);
            let (hd, d) = (x.dims.heads * x.dims.d, x.dims.d);
            let (kp, vp) = (mat(&kp, spec.k, hd), mat(&vp, spec.k, hd));
            out.par_chunks_mut(n * d)
                .enumerate()
                .for_each(|(h, out_h)| {
                    let cols = ndarray::s![.., h * d..(h + 1) * d];
                    queries(x, h, 0, kp.slice(cols), vp.slice(cols), out_h);
                });
        }
        Some(b) => {
            let (mut pe, mut pf) = projections(spec, opts.seed, weights, b)?;
            // Seeded block projections are drawn once ([b, k] each), not per block.
            let (mut be, mut bf) = (Vec::new(), Vec::new());
            if pe.given.is_none() {
                pe.rows(0, b, &mut be); // fills `be` with the [b, k] rows
                pe.given = Some(mat(&be, b, spec.k));
            }
            if pf.given.is_none() {
                pf.rows(0, b, &mut bf);
                pf.given = Some(mat(&bf, b, spec.k));
            }
            attend_blocks(x, spec, b, opts.offset, &pe, &pf, out);
        }
    }
    Ok(())
}

/// `K' = E^T K` and `V' = F^T V` of every head, as `[k, heads * d]` matrices (head `h`
/// in columns `h d .. (h + 1) d`). Each segment's rows of all heads are packed side by
/// side into the panels of [`tile`](super::tile), so that one product per segment
/// serves every head, and summed on its register-tiled kernel.
fn project_whole(
    x: &Inputs,
    spec: &LinformerSpec,
    pe: &Projection,
    pf: &Projection,
) -> (Vec<f32>, Vec<f32>) {
    let (heads, n, d) = (x.dims.heads, x.dims.n, x.dims.d);
    let hd = heads * d;
    let kd = spec.k * hd;
    let segments = n.div_ceil(SEGMENT);
    let isa = Isa::detect();
    let nr = panel_width(isa);
    // Shared E: keys and values side by side, [rows, 2 hd], one product.
    let width = if spec.share_kv { 2 * hd } else { hd };
    let partials: Vec<Vec<f32>> = (0..GROUPS)
        .into_par_iter()
        .map_init(
            // Buffers of a thread's groups: drawn and packed E, F; packed K, V.
            || {
                let panels = |cols| Panels::zeroed(nr, 0, cols);
                (
                    Vec::new(),
                    Vec::new(),
                    Vec::new(),
                    Vec::new(),
                    panels(width),
                    panels(hd),
                )
            },
            |(be, bf, ea, fa, kb, vb), g| {
                let mut acc = vec![0f32; 2 * kd];
                let (first, last) = (g * segments / GROUPS, (g + 1) * segments / GROUPS);
                // Blocks of KC rows: packed K, V, E, F stay in the second-level cache.
                for lo in (first * SEGMENT..(last * SEGMENT).min(n)).step_by(KC) {
                    let hi = (lo + KC).min(n);
                    let rows = hi - lo;
                    if kb.kdim != rows {
                        *kb = Panels::zeroed(nr, rows, width);
                        if !spec.share_kv {
                            *vb = Panels::zeroed(nr, rows, hd);
                        }
                    }
                    for i in lo..hi {
                        for h in 0..heads {
                            kb.set_row(i - lo, h * d, x.row(x.k, h, i));
                            if spec.share_kv {
                                kb.set_row(i - lo, hd + h * d, x.row(x.v, h, i));
                            } else {
                                vb.set_row(i - lo, h * d, x.row(x.v, h, i));
                            }
                        }
                    }
                    pack(isa, pe.rows(lo, rows, be), ea);
                    let (acc_k, acc_v) = acc.split_at_mut(kd);
                    if spec.share_kv {
                        project(isa, ea, spec.k, kb, &mut acc);
                    } else {
                        project(isa, ea, spec.k, kb, acc_k);
                        pack(isa, pf.rows(lo, rows, bf), fa);
                        project(isa, fa, spec.k, vb, acc_v);
                    }
                }
                acc
            },
        )
        .collect();
    let mut total = vec![0f32; 2 * kd];
    for p in &partials {
        total.iter_mut().zip(p).for_each(|(t, &v)| *t += v);
    }
    if spec.share_kv {
        // [k, 2 hd] -> [k, hd] keys and [k, hd] values.
        let (mut kp, mut vp) = (Vec::with_capacity(kd), Vec::with_capacity(kd));
        for row in total.chunks(2 * hd) {
            kp.extend_from_slice(&row[..hd]);
            vp.extend_from_slice(&row[hd..]);
        }
        (kp, vp)
    } else {
        let vp = total.split_off(kd);
        (total, vp)
    }
}

/// `e` packed by [`pack_columns`] in groups of [`row_group`] of `isa`.
fn pack(isa: Isa, e: ArrayView2<f32>, buf: &mut Vec<f32>) {
    match isa {
        Isa::Avx512 => pack_columns::<MR_AVX512>(e, buf),
        Isa::Avx2 => pack_columns::<MR_AVX2>(e, buf),
        Isa::Portable => pack_columns::<MR_PORTABLE>(e, buf),
    }
}

/// `c += a^T b` for `a` (`[b.kdim, k]`) packed by [`pack_columns`] in groups of
/// [`row_group`] into `a`, `c` `[k, b.cols]`, on the kernel of `isa` (available on
/// this CPU).
fn project(isa: Isa, a: &[f32], k: usize, b: &Panels, c: &mut [f32]) {
    let mr = row_group(isa);
    assert!(a.len() >= k.div_ceil(mr) * b.kdim * mr);
    assert!(c.len() >= k * b.cols && b.nr == panel_width(isa));
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `isa` is available (from `Isa::detect`); shapes checked above.
        Isa::Avx512 => unsafe { project_avx512(a, k, b, c) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Isa::Avx2 => unsafe { project_avx2(a, k, b, c) },
        // SAFETY: the portable kernel needs no CPU feature; shapes checked above.
        _ => unsafe { accumulate_at_b::<Portable, MR_PORTABLE, NV, NR_PORTABLE>(a, k, b, c) },
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn project_avx512(a: &[f32], k: usize, b: &Panels, c: &mut [f32]) {
    accumulate_at_b::<crate::simd::Avx512, MR_AVX512, NV, NR_AVX512>(a, k, b, c)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn project_avx2(a: &[f32], k: usize, b: &Panels, c: &mut [f32]) {
    accumulate_at_b::<crate::simd::Avx2, MR_AVX2, NV, NR_AVX2>(a, k, b, c)
}

/// Rows `first..` of head `h` (as many as `out` holds) attend to `kp`, `vp` (`[k, d]`):
/// scores `q K'^T` and `P V'` on the register-tiled kernels of [`tile`](super::tile),
/// `K'^T` and `V'` packed once.
fn queries(
    x: &Inputs,
    h: usize,
    first: usize,
    kp: ArrayView2<f32>,
    vp: ArrayView2<f32>,
    out: &mut [f32],
) {
    let d = x.dims.d;
    let q = Queries::new(Isa::detect(), kp, vp, x.scale);
    out.par_chunks_mut(QROWS * d)
        .enumerate()
        .for_each_init(Vec::new, |scores, (t, out_t)| {
            let (lo, rows) = (h * x.dims.n + first + t * QROWS, out_t.len() / d);
            q.run(&x.q[lo * d..(lo + rows) * d], out_t, scores);
        });
}

/// The packed keys and values of one head's queries, for one instruction set.
struct Queries {
    isa: Isa,
    /// `K'^T`, `[d, k]`.
    kt: Panels,
    /// `V'`, `[k, d]`.
    v: Panels,
    scale: f32,
}

impl Queries {
    /// Packs `kp`, `vp` (`[k, d]`) for the kernel of `isa` (available on this CPU).
    fn new(isa: Isa, kp: ArrayView2<f32>, vp: ArrayView2<f32>, scale: f32) -> Queries {
        let (k, d) = kp.dim();
        let nr = panel_width(isa);
        Queries {
            isa,
            kt: Panels::new(nr, d, k, |dd, j| kp[[j, dd]]),
            v: Panels::new(nr, k, d, |j, dd| vp[[j, dd]]),
            scale,
        }
    }

    /// `out = softmax(scale * qs K'^T) V'` for query rows `qs` (`[rows, d]`), the
    /// scores in `scores` (grown as needed and kept, so that a thread's tiles reuse it).
    fn run(&self, qs: &[f32], out: &mut [f32], scores: &mut Vec<f32>) {
        match self.isa {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Queries::new` is only given ISAs available on this CPU.
            Isa::Avx512 => unsafe { query_tile_avx512(self, qs, out, scores) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            Isa::Avx2 => unsafe { query_tile_avx2(self, qs, out, scores) },
            // SAFETY: the portable kernel needs no CPU feature.
            _ => unsafe {
                query_tile::<Portable, MR_PORTABLE, NV, NR_PORTABLE>(self, qs, out, scores)
            },
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn query_tile_avx512(q: &Queries, qs: &[f32], out: &mut [f32], s: &mut Vec<f32>) {
    query_tile::<crate::simd::Avx512, MR_AVX512, NV, NR_AVX512>(q, qs, out, s)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn query_tile_avx2(q: &Queries, qs: &[f32], out: &mut [f32], s: &mut Vec<f32>) {
    query_tile::<crate::simd::Avx2, MR_AVX2, NV, NR_AVX2>(q, qs, out, s)
}

/// `out = softmax(scale * qs K'^T) V'` for one tile of query rows `qs` (`[rows, d]`).
/// Full groups of `MR` rows are read in place; a last partial group is copied into a
/// zero-padded buffer.
#[inline(always)]
unsafe fn query_tile<S: Simd, const MR: usize, const NV: usize, const NR: usize>(
    q: &Queries,
    qs: &[f32],
    out: &mut [f32],
    scores: &mut Vec<f32>,
) {
    debug_assert!(NR == NV * S::LANES && NR == q.kt.nr && NR == q.v.nr);
    let (d, k) = (q.kt.kdim, q.kt.cols);
    let rows = qs.len() / d;
    let groups = rows.div_ceil(MR);
    // Scores, [groups * MR, panels * NR], every element written below (so a reused
    // buffer needs no clearing).
    let width = q.kt.panels * NR;
    if scores.len() < groups * MR * width {
        scores.resize(groups * MR * width, 0.0);
    }
    let s = &mut scores[..groups * MR * width];
    let mut pad = vec![0f32; MR * d];
    let mut tile = [[0f32; NR]; MR];
    for g in 0..groups {
        let x = group(qs, d, g, MR, &mut pad);
        for p in 0..q.kt.panels {
            product::<S, MR, NV, NR>((x, d, 1), d, q.kt.panel(p).as_ptr(), &mut tile);
            for (r, t) in tile.iter().enumerate() {
                let at = (g * MR + r) * width + p * NR;
                s[at..at + NR].copy_from_slice(t);
            }
        }
    }
    for row in s.chunks_mut(width).take(rows) {
        softmax_scaled(&mut row[..k], q.scale);
    }
    for (g, sg) in s.chunks_exact(MR * width).enumerate() {
        for p in 0..q.v.panels {
            product::<S, MR, NV, NR>((sg.as_ptr(), width, 1), k, q.v.panel(p).as_ptr(), &mut tile);
            let cols = NR.min(d - p * NR);
            for (r, t) in tile.iter().enumerate().take(rows.saturating_sub(g * MR)) {
                let at = (g * MR + r) * d + p * NR;
                out[at..at + cols].copy_from_slice(&t[..cols]);
            }
        }
    }
}

/// Group `g` of `mr` rows of `x` (rows of `len`): in place when whole, else copied
/// into `pad` (zero beyond the rows).
#[inline(always)]
fn group(x: &[f32], len: usize, g: usize, mr: usize, pad: &mut [f32]) -> *const f32 {
    let (lo, hi) = (g * mr * len, ((g + 1) * mr * len).min(x.len()));
    if hi - lo == mr * len {
        return x[lo..hi].as_ptr();
    }
    pad.fill(0.0);
    pad[..hi - lo].copy_from_slice(&x[lo..hi]);
    pad.as_ptr()
}

/// Block form: every block of `b` absolute positions projected and attended on its own.
fn attend_blocks(
    x: &Inputs,
    spec: &LinformerSpec,
    b: usize,
    offset: usize,
    pe: &Projection,
    pf: &Projection,
    out: &mut [f32],
) {
    let (n, d) = (x.dims.n, x.dims.d);
    out.par_chunks_mut(n * d)
        .enumerate()
        .for_each(|(h, out_h)| {
            // (first row, first row of E, rows, output rows) of each block.
            let mut blocks = Vec::new();
            let mut rest = out_h;
            let mut lo = 0;
            while lo < n {
                let abs = offset + lo;
                let e0 = abs % b;
                let len = (b - e0).min(n - lo);
                let (this, tail) = rest.split_at_mut(len * d);
                blocks.push((lo, e0, len, this));
                rest = tail;
                lo += len;
            }
            blocks.into_par_iter().for_each(|(lo, e0, len, out_b)| {
                let (mut be, mut bf) = (Vec::new(), Vec::new());
                let e = pe.rows(e0, len, &mut be);
                let f = if spec.share_kv {
                    e
                } else {
                    pf.rows(e0, len, &mut bf)
                };
                let mut kp = vec![0f32; spec.k * d];
                let mut vp = vec![0f32; spec.k * d];
                gemm(
                    e.t(),
                    x.rows(x.k, h, lo, lo + len),
                    0.0,
                    mat_mut(&mut kp, spec.k, d),
                );
                gemm(
                    f.t(),
                    x.rows(x.v, h, lo, lo + len),
                    0.0,
                    mat_mut(&mut vp, spec.k, d),
                );
                queries(x, h, lo, mat(&kp, spec.k, d), mat(&vp, spec.k, d), out_b);
            });
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projections_match_f64_on_every_isa() {
        // More rows than one block (300 > KC), partial row groups (k = 27) and a
        // partial panel (40 columns); `c` starts non-zero (the product is added).
        let (rows, k, cols) = (300, 27, 40);
        let val = |i: usize| ((i * 7919 % 1009) as f32 / 1009.0 - 0.5) * 2.0;
        let e = Array2::from_shape_fn((rows, k), |(t, j)| val(t * k + j));
        let b = Array2::from_shape_fn((rows, cols), |(t, c)| val(40_000 + t * cols + c));
        for isa in Isa::available() {
            let mut panels = Panels::zeroed(panel_width(isa), rows, cols);
            for t in 0..rows {
                let row: Vec<f32> = b.row(t).to_vec();
                panels.set_row(t, 0, &row[..13]);
                panels.set_row(t, 13, &row[13..]);
            }
            let mut packed = Vec::new();
            pack(isa, e.view(), &mut packed);
            let mut c = vec![1f32; k * cols];
            project(isa, &packed, k, &panels, &mut c);
            for j in 0..k {
                for col in 0..cols {
                    let want = 1.0
                        + (0..rows)
                            .map(|t| f64::from(e[[t, j]]) * f64::from(b[[t, col]]))
                            .sum::<f64>();
                    let got = f64::from(c[j * cols + col]);
                    assert!(
                        (got - want).abs() < 1e-4,
                        "{isa:?} [{j}, {col}]: {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn query_tiles_match_f64_on_every_isa() {
        // Partial row groups (37 rows) and partial panels (d = 20, k = 27).
        let (rows, d, k, scale) = (37, 20, 27, 0.3f32);
        let val = |i: usize| ((i * 7919 % 1009) as f32 / 1009.0 - 0.5) * 2.0;
        let qs: Vec<f32> = (0..rows * d).map(val).collect();
        let kp = Array2::from_shape_fn((k, d), |(j, dd)| val(5000 + j * d + dd));
        let vp = Array2::from_shape_fn((k, d), |(j, dd)| val(9000 + j * d + dd));
        let mut want = vec![0f64; rows * d];
        for r in 0..rows {
            let sc: Vec<f64> = (0..k)
                .map(|j| {
                    (0..d)
                        .map(|dd| f64::from(qs[r * d + dd]) * f64::from(kp[[j, dd]]))
                        .sum::<f64>()
                        * f64::from(scale)
                })
                .collect();
            let m = sc.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = sc.iter().map(|v| (v - m).exp()).collect();
            let z: f64 = e.iter().sum();
            for dd in 0..d {
                want[r * d + dd] = (0..k).map(|j| e[j] / z * f64::from(vp[[j, dd]])).sum();
            }
        }
        for isa in Isa::available() {
            let q = Queries::new(isa, kp.view(), vp.view(), scale);
            let mut out = vec![f32::NAN; rows * d];
            q.run(&qs, &mut out, &mut Vec::new());
            for (i, (&g, &w)) in out.iter().zip(&want).enumerate() {
                assert!((f64::from(g) - w).abs() < 1e-5, "{isa:?} [{i}]: {g} vs {w}");
            }
        }
    }
}
