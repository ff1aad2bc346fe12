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
use super::{ApproxOptions, Inputs};
use crate::error::AttnError;

/// Sequence rows per projection step.
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
/// in columns `h d .. (h + 1) d`). Each segment's rows of all heads are gathered side
/// by side so that one product per segment serves every head (`E` is packed once).
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
    // Shared E: keys and values side by side, [rows, 2 hd], one product.
    let width = if spec.share_kv { 2 * hd } else { hd };
    let partials: Vec<Vec<f32>> = (0..GROUPS)
        .into_par_iter()
        .map(|g| {
            let mut acc = vec![0f32; 2 * kd];
            let (mut be, mut bf) = (Vec::new(), Vec::new());
            let (mut kb, mut vb) = (Vec::new(), Vec::new());
            for s in g * segments / GROUPS..(g + 1) * segments / GROUPS {
                let (lo, hi) = (s * SEGMENT, ((s + 1) * SEGMENT).min(n));
                let rows = hi - lo;
                let e = pe.rows(lo, rows, &mut be);
                kb.clear();
                vb.clear();
                for i in lo..hi {
                    for h in 0..heads {
                        kb.extend_from_slice(x.row(x.k, h, i));
                    }
                    let target = if spec.share_kv { &mut kb } else { &mut vb };
                    for h in 0..heads {
                        target.extend_from_slice(x.row(x.v, h, i));
                    }
                }
                if spec.share_kv {
                    gemm(
                        e.t(),
                        mat(&kb, rows, width),
                        1.0,
                        mat_mut(&mut acc, spec.k, width),
                    );
                } else {
                    let f = pf.rows(lo, rows, &mut bf);
                    let (acc_k, acc_v) = acc.split_at_mut(kd);
                    gemm(e.t(), mat(&kb, rows, hd), 1.0, mat_mut(acc_k, spec.k, hd));
                    gemm(f.t(), mat(&vb, rows, hd), 1.0, mat_mut(acc_v, spec.k, hd));
                }
            }
            acc
        })
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

/// Rows `first..` of head `h` (as many as `out` holds) attend to `kp`, `vp` (`[k, d]`).
fn queries(
    x: &Inputs,
    h: usize,
    first: usize,
    kp: ArrayView2<f32>,
    vp: ArrayView2<f32>,
    out: &mut [f32],
) {
    let (d, k) = (x.dims.d, kp.nrows());
    out.par_chunks_mut(QROWS * d)
        .enumerate()
        .for_each(|(t, out_t)| {
            let rows = out_t.len() / d;
            let lo = first + t * QROWS;
            let mut s = vec![0f32; rows * k];
            gemm(
                x.rows(x.q, h, lo, lo + rows),
                kp.t(),
                0.0,
                mat_mut(&mut s, rows, k),
            );
            for row in s.chunks_mut(k) {
                softmax_scaled(row, x.scale);
            }
            gemm(mat(&s, rows, k), vp, 0.0, mat_mut(out_t, rows, d));
        });
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
