//! The tiled, flash-style driver: splits each head into *lanes* and query tiles, visits
//! only the key tiles a pattern can reach, and merges global keys and global rows
//! through the same online-softmax state.
//!
//! - A lane is the set of rows with one residue `rho` modulo a stride `s` (`s` = the
//!   head's dilation for `dilated`, else 1). In lane coordinates `u = (offset + i) / s`
//!   a dilated pattern is a sliding window, so strided keys are gathered into packed,
//!   contiguous tiles and run at sliding's speed.
//! - Query tiles (`MQ` rows) and key tiles (`NK` keys) are aligned to multiples of
//!   `MQ`/`NK` in absolute lane coordinates, so a row's arithmetic is the same whatever
//!   `offset`, chunking or thread count: results are bit-identical.
//! - Non-global rows then see the global keys outside their neighbourhood (one extra
//!   pass); global rows are recomputed over all keys with the global projections.
//!
//! Memory: per worker thread a few tile buffers (`O(MQ * d + NK * d)`), never an
//! `n x n` or `n x window` score matrix.

use ndarray::{Array3, ArrayView3, CowArray, Ix3};
use rayon::prelude::*;

use crate::error::AttnError;
use crate::kernels::{pv, qk, scale_row, softmax_row};
use crate::options::{AttendOptions, Isa, PositionBias};
use crate::pattern::Local;
use crate::simd::{Portable, Simd};
use crate::validate::Dims;
use crate::visibility::Visibility;

/// Query rows per tile.
const MQ: usize = 64;
/// Keys per tile.
const NK: usize = 64;
/// Rows per register block in the micro-kernels (`MQ` is a multiple of it).
const R: usize = 4;

/// Which keys a lane row `u` sees, in absolute lane coordinates.
#[derive(Debug, Clone, Copy)]
enum Rule {
    Full { causal: bool },
    Sliding { radius: usize, causal: bool },
    Block { size: usize, neighbours: usize },
}

impl Rule {
    /// Allowed keys `[lo, hi)` of row `u` (unclipped; non-decreasing in `u`).
    #[inline]
    fn interval(self, u: usize) -> (usize, usize) {
        match self {
            Rule::Full { causal } => (0, if causal { u + 1 } else { usize::MAX }),
            Rule::Sliding { radius, causal } => (
                u.saturating_sub(radius),
                if causal {
                    u + 1
                } else {
                    u.saturating_add(radius + 1)
                },
            ),
            Rule::Block { size, neighbours } => {
                let block = u / size;
                (
                    block.saturating_sub(neighbours) * size,
                    (block + neighbours + 1).saturating_mul(size),
                )
            }
        }
    }
}

/// The rows of one head with one residue modulo `stride`.
#[derive(Debug, Clone, Copy)]
struct Lane {
    head: usize,
    stride: usize,
    residue: usize,
    /// Lane coordinates of the first row and one past the last.
    u_lo: usize,
    u_hi: usize,
}

impl Lane {
    fn new(head: usize, stride: usize, residue: usize, offset: usize, n: usize) -> Option<Lane> {
        let first = offset + (residue + stride - offset % stride) % stride;
        if first >= offset + n {
            return None;
        }
        let count = (offset + n - 1 - first) / stride + 1;
        let u_lo = first / stride;
        Some(Lane {
            head,
            stride,
            residue,
            u_lo,
            u_hi: u_lo + count,
        })
    }

    /// The row index (`0..n`) of lane coordinate `u`.
    #[inline]
    fn row(&self, u: usize, offset: usize) -> usize {
        u * self.stride + self.residue - offset
    }
}

/// One unit of parallel work.
#[derive(Debug, Clone, Copy)]
enum Item {
    /// Query tile `tile` of a lane: local keys, then global keys.
    Local { lane: usize, tile: usize },
    /// Global rows `globals[first..first + count]` of `head` over all keys.
    Global {
        head: usize,
        first: usize,
        count: usize,
    },
}

/// Contiguous `[heads, n, d]` inputs of one call.
struct Inputs<'a> {
    q: &'a [f32],
    k: &'a [f32],
    v: &'a [f32],
    /// Global projections, or the ordinary ones.
    gq: &'a [f32],
    gk: &'a [f32],
    gv: &'a [f32],
}

/// Everything the workers share.
struct Ctx<'a, 'v> {
    x: Inputs<'a>,
    vis: &'a Visibility<'v>,
    bias: Option<&'a PositionBias>,
    rule: Rule,
    lanes: Vec<Lane>,
    dims: Dims,
    scale: f32,
    /// Whether non-global rows need the extra pass over global keys.
    global_keys_pass: bool,
}

impl Ctx<'_, '_> {
    #[inline]
    fn row<'s>(&self, a: &'s [f32], h: usize, i: usize) -> &'s [f32] {
        let d = self.dims.d;
        let start = (h * self.dims.n + i) * d;
        &a[start..start + d]
    }
}

/// The output buffer, written by disjoint rows from several threads.
#[derive(Clone, Copy)]
struct OutPtr(*mut f32);
// SAFETY: each output row is written by exactly one work item (global rows only by
// their `Item::Global`, every other row only by the `Item::Local` of its query tile).
unsafe impl Send for OutPtr {}
unsafe impl Sync for OutPtr {}

/// A float buffer whose start is 64-byte aligned.
struct Aligned {
    data: Vec<f32>,
    start: usize,
}

impl Aligned {
    fn new(len: usize) -> Aligned {
        let data = vec![0f32; len + 16];
        let start = data.as_ptr().align_offset(64).min(16);
        Aligned { data, start }
    }
    fn ptr(&mut self) -> *mut f32 {
        self.data[self.start..].as_mut_ptr()
    }
    fn slice(&mut self) -> &mut [f32] {
        &mut self.data[self.start..]
    }
}

/// Per-worker tile buffers.
struct Scratch {
    qp: Aligned,
    kt: Aligned,
    vt: Aligned,
    s: Aligned,
    o: Aligned,
    m: Vec<f32>,
    l: Vec<f32>,
    /// Per key column of the current tile: padding or outside the lane.
    dead: Vec<bool>,
}

impl Scratch {
    fn new(dp: usize) -> Scratch {
        Scratch {
            qp: Aligned::new(MQ * dp),
            kt: Aligned::new(dp * NK),
            vt: Aligned::new(NK * dp),
            s: Aligned::new(MQ * NK),
            o: Aligned::new(MQ * dp),
            m: vec![0.0; MQ],
            l: vec![0.0; MQ],
            dead: vec![false; NK],
        }
    }
}

/// Runs the tiled kernel with the instruction set of `opts` (already checked
/// available) or the best detected one.
pub(crate) fn attend(
    q: ArrayView3<f32>,
    k: ArrayView3<f32>,
    v: ArrayView3<f32>,
    vis: &Visibility,
    opts: &AttendOptions,
    dims: Dims,
) -> Result<Array3<f32>, AttnError> {
    let scale = opts.scale.unwrap_or(1.0 / (dims.d as f32).sqrt());
    let isa = opts.isa.unwrap_or_else(Isa::detect);
    let (q, k, v) = (
        q.as_standard_layout(),
        k.as_standard_layout(),
        v.as_standard_layout(),
    );
    let global = opts.global_qkv.as_ref().map(|g| {
        [
            g.q.as_standard_layout(),
            g.k.as_standard_layout(),
            g.v.as_standard_layout(),
        ]
    });
    let (q, k, v) = (contiguous(&q)?, contiguous(&k)?, contiguous(&v)?);
    let (gq, gk, gv) = match &global {
        Some([gq, gk, gv]) => (contiguous(gq)?, contiguous(gk)?, contiguous(gv)?),
        None => (q, k, v),
    };
    let x = Inputs {
        q,
        k,
        v,
        gq,
        gk,
        gv,
    };

    let (rule, dilated) = match vis.local_pattern() {
        Local::Full { causal } => (Rule::Full { causal }, false),
        Local::Sliding { radius, causal } => (Rule::Sliding { radius, causal }, false),
        Local::Dilated { radius, causal, .. } => (Rule::Sliding { radius, causal }, true),
        Local::Block { size, neighbours } => (Rule::Block { size, neighbours }, false),
    };
    let (heads, n, d) = (dims.heads, dims.n, dims.d);
    let mut lanes = Vec::new();
    let mut items = Vec::new();
    for h in 0..heads {
        let stride = if dilated { vis.dilation(h) } else { 1 };
        for residue in 0..stride {
            if let Some(lane) = Lane::new(h, stride, residue, vis.offset(), n) {
                for tile in lane.u_lo / MQ..=(lane.u_hi - 1) / MQ {
                    items.push(Item::Local {
                        lane: lanes.len(),
                        tile,
                    });
                }
                lanes.push(lane);
            }
        }
        let globals = vis.globals();
        for first in (0..globals.len()).step_by(MQ) {
            items.push(Item::Global {
                head: h,
                first,
                count: MQ.min(globals.len() - first),
            });
        }
    }
    let ctx = Ctx {
        x,
        vis,
        bias: opts.bias.as_ref(),
        rule,
        lanes,
        dims,
        scale,
        global_keys_pass: !vis.globals().is_empty()
            && !matches!(vis.local_pattern(), Local::Full { causal: false }),
    };

    let lanes_of = |isa: Isa| match isa {
        Isa::Portable => Portable::LANES,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => crate::simd::Avx2::LANES,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => crate::simd::Avx512::LANES,
        #[cfg(not(target_arch = "x86_64"))]
        _ => Portable::LANES,
    };
    let dp = d.div_ceil(lanes_of(isa)) * lanes_of(isa);
    let mut out = vec![0f32; heads * n * d];
    let out_ptr = OutPtr(out.as_mut_ptr());
    items.par_iter().for_each_init(
        || Scratch::new(dp),
        |scratch, item| run_item(isa, &ctx, *item, scratch, dp, out_ptr),
    );
    Array3::from_shape_vec((heads, n, d), out).map_err(|e| AttnError::Shape(e.to_string()))
}

/// The elements of a standard-layout array as one slice.
fn contiguous<'a>(a: &'a CowArray<'_, f32, Ix3>) -> Result<&'a [f32], AttnError> {
    a.as_slice()
        .ok_or_else(|| AttnError::Shape("input is not contiguous".into()))
}

/// Dispatches one item to the kernel of `isa`.
fn run_item(isa: Isa, ctx: &Ctx, item: Item, sc: &mut Scratch, dp: usize, out: OutPtr) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `attend` only selects an ISA that `Isa::is_available` confirmed.
        Isa::Avx512 => unsafe { item_avx512(ctx, item, sc, dp, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Isa::Avx2 => unsafe { item_avx2(ctx, item, sc, dp, out) },
        // SAFETY: the portable kernel needs no CPU feature; buffers are sized for `dp`.
        _ => unsafe { process::<Portable, 4, 4>(ctx, item, sc, dp, out) },
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn item_avx512(ctx: &Ctx, item: Item, sc: &mut Scratch, dp: usize, out: OutPtr) {
    process::<crate::simd::Avx512, 4, 4>(ctx, item, sc, dp, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn item_avx2(ctx: &Ctx, item: Item, sc: &mut Scratch, dp: usize, out: OutPtr) {
    process::<crate::simd::Avx2, 2, 2>(ctx, item, sc, dp, out)
}

/// Copies `src` scaled by `scale` into `dst` and zero-fills the rest of `dst`.
#[inline(always)]
fn copy_padded(dst: &mut [f32], src: &[f32], scale: f32) {
    let (head, tail) = dst.split_at_mut(src.len());
    for (o, &x) in head.iter_mut().zip(src) {
        *o = x * scale;
    }
    tail.fill(0.0);
}

/// Runs one work item: `CQ`/`CV` are the key/column vectors per register block of the
/// score and value kernels.
#[inline(always)]
unsafe fn process<S: Simd, const CQ: usize, const CV: usize>(
    ctx: &Ctx,
    item: Item,
    sc: &mut Scratch,
    dp: usize,
    out: OutPtr,
) {
    match item {
        Item::Local { lane, tile } => {
            local_tile::<S, CQ, CV>(ctx, ctx.lanes[lane], tile, sc, dp, out)
        }
        Item::Global { head, first, count } => {
            global_rows::<S, CQ, CV>(ctx, head, first, count, sc, dp, out)
        }
    }
}

/// Packs key/value rows `rows[c]` (or a dead column for `None`) into the transposed
/// key tile and the value tile, marking padding and absent columns dead.
#[inline(always)]
fn pack_keys(
    ctx: &Ctx,
    k: &[f32],
    v: &[f32],
    h: usize,
    rows: impl Iterator<Item = Option<usize>>,
    sc: &mut Scratch,
    dp: usize,
) -> bool {
    let d = ctx.dims.d;
    let kt = sc.kt.slice();
    let vt = sc.vt.slice();
    let mut any_dead = false;
    for (c, row) in rows.enumerate() {
        let vrow = &mut vt[c * dp..(c + 1) * dp];
        match row {
            Some(j) => {
                for (dd, &x) in ctx.row(k, h, j).iter().enumerate() {
                    kt[dd * NK + c] = x;
                }
                for dd in d..dp {
                    kt[dd * NK + c] = 0.0;
                }
                copy_padded(vrow, ctx.row(v, h, j), 1.0);
                let dead = ctx.vis.is_padding(j);
                sc.dead[c] = dead;
                any_dead |= dead;
            }
            None => {
                for dd in 0..dp {
                    kt[dd * NK + c] = 0.0;
                }
                vrow.fill(0.0);
                sc.dead[c] = true;
                any_dead = true;
            }
        }
    }
    any_dead
}

/// Scores, softmax update and `O += P V` for one packed key tile; `mask(x, c)` is
/// called for the rows `x < mq` only when `masked` and returns whether column `c` is
/// visible (before the `dead` columns, which are always hidden); `delta(x, c)` is the
/// signed distance `i - j` for the bias.
#[inline(always)]
#[allow(clippy::too_many_arguments)] // one inlined step of the tile loop
unsafe fn tile_step<S: Simd, const CQ: usize, const CV: usize>(
    ctx: &Ctx,
    h: usize,
    mq: usize,
    sc: &mut Scratch,
    dp: usize,
    any_dead: bool,
    mut row_cols: impl FnMut(usize) -> (usize, usize),
    mut extra_mask: Option<&mut dyn FnMut(usize, usize) -> bool>,
    delta: impl Fn(usize, usize) -> i64,
) {
    let rows = mq.div_ceil(R) * R;
    qk::<S, R, CQ>(sc.qp.ptr(), sc.kt.ptr(), sc.s.ptr(), rows, dp, NK);
    let s = sc.s.ptr();
    let o = sc.o.ptr();
    for x in 0..mq {
        let srow = std::slice::from_raw_parts_mut(s.add(x * NK), NK);
        let (lo, hi) = row_cols(x);
        let (lo, hi) = (lo.min(NK), hi.min(NK).max(lo.min(NK)));
        srow[..lo].fill(f32::NEG_INFINITY);
        srow[hi..].fill(f32::NEG_INFINITY);
        if any_dead {
            for (sv, &dead) in srow[lo..hi].iter_mut().zip(&sc.dead[lo..hi]) {
                if dead {
                    *sv = f32::NEG_INFINITY;
                }
            }
        }
        if let Some(mask) = extra_mask.as_mut() {
            for (c, sv) in srow.iter_mut().enumerate().take(hi).skip(lo) {
                if !mask(x, c) {
                    *sv = f32::NEG_INFINITY;
                }
            }
        }
        if let Some(bias) = ctx.bias {
            for (c, sv) in srow.iter_mut().enumerate().take(hi).skip(lo) {
                *sv += bias.value(h, delta(x, c));
            }
        }
        let alpha = softmax_row::<S>(srow.as_mut_ptr(), NK, &mut sc.m[x], &mut sc.l[x]);
        if alpha != 1.0 {
            scale_row::<S>(o.add(x * dp), dp, alpha);
        }
    }
    // Padding rows of the tile (x >= mq) hold finite scores of zero queries; their
    // output rows are never read.
    pv::<S, R, CV>(sc.s.ptr(), sc.vt.ptr(), o, rows, NK, dp);
}

/// Resets the softmax state and output accumulator of `mq` rows (rounded up to `R`).
fn reset_state(sc: &mut Scratch, mq: usize, dp: usize) {
    let rows = mq.div_ceil(R) * R;
    sc.m[..rows].fill(f32::NEG_INFINITY);
    sc.l[..rows].fill(0.0);
    sc.o.slice()[..rows * dp].fill(0.0);
}

/// Writes row `x` of the accumulator, normalised, to output row `i` of head `h`.
unsafe fn write_row(
    ctx: &Ctx,
    sc: &mut Scratch,
    x: usize,
    h: usize,
    i: usize,
    dp: usize,
    out: OutPtr,
) {
    let d = ctx.dims.d;
    let dst = std::slice::from_raw_parts_mut(out.0.add((h * ctx.dims.n + i) * d), d);
    let l = sc.l[x];
    if l > 0.0 {
        let inv = 1.0 / l;
        for (o, &a) in dst.iter_mut().zip(&sc.o.slice()[x * dp..x * dp + d]) {
            *o = a * inv;
        }
    } else {
        dst.fill(0.0);
    }
}

/// A query tile of a lane: local key tiles, then (when the pattern has global tokens)
/// the global keys outside each row's neighbourhood.
#[inline(always)]
unsafe fn local_tile<S: Simd, const CQ: usize, const CV: usize>(
    ctx: &Ctx,
    lane: Lane,
    tile: usize,
    sc: &mut Scratch,
    dp: usize,
    out: OutPtr,
) {
    let h = lane.head;
    let offset = ctx.vis.offset();
    let ua = lane.u_lo.max(tile * MQ);
    let ub = lane.u_hi.min((tile + 1) * MQ);
    let mq = ub - ua;
    let rows = mq.div_ceil(R) * R;
    {
        let qp = sc.qp.slice();
        for x in 0..mq {
            let src = ctx.row(ctx.x.q, h, lane.row(ua + x, offset));
            copy_padded(&mut qp[x * dp..(x + 1) * dp], src, ctx.scale);
        }
        qp[mq * dp..rows * dp].fill(0.0);
    }
    reset_state(sc, mq, dp);

    let stride = lane.stride as i64;
    let klo = ctx.rule.interval(ua).0.max(lane.u_lo);
    let khi = ctx.rule.interval(ub - 1).1.min(lane.u_hi);
    if klo < khi {
        for kt in klo / NK..=(khi - 1) / NK {
            let base = kt * NK;
            let cols = (0..NK).map(|c| {
                let u = base + c;
                (u >= lane.u_lo && u < lane.u_hi).then(|| lane.row(u, offset))
            });
            let any_dead = pack_keys(ctx, ctx.x.k, ctx.x.v, h, cols, sc, dp);
            tile_step::<S, CQ, CV>(
                ctx,
                h,
                mq,
                sc,
                dp,
                any_dead,
                |x| {
                    let (lo, hi) = ctx.rule.interval(ua + x);
                    (lo.saturating_sub(base), hi.saturating_sub(base))
                },
                None,
                |x, c| (ua + x) as i64 * stride - (base + c) as i64 * stride,
            );
        }
    }

    if ctx.global_keys_pass {
        let globals = ctx.vis.globals();
        for chunk in globals.chunks(NK) {
            let cols = (0..NK).map(|c| chunk.get(c).copied());
            let any_dead = pack_keys(ctx, ctx.x.k, ctx.x.v, h, cols, sc, dp);
            let mut outside =
                |x: usize, c: usize| !ctx.vis.is_local(h, lane.row(ua + x, offset), chunk[c]);
            tile_step::<S, CQ, CV>(
                ctx,
                h,
                mq,
                sc,
                dp,
                any_dead,
                |_| (0, chunk.len()),
                Some(&mut outside),
                |x, c| lane.row(ua + x, offset) as i64 - chunk[c] as i64,
            );
        }
    }

    for x in 0..mq {
        let i = lane.row(ua + x, offset);
        if !ctx.vis.is_global(i) {
            write_row(ctx, sc, x, h, i, dp, out);
        }
    }
}

/// Global rows `globals[first..first + count]` of head `h` over every key, with the
/// global projections when given.
#[inline(always)]
unsafe fn global_rows<S: Simd, const CQ: usize, const CV: usize>(
    ctx: &Ctx,
    h: usize,
    first: usize,
    count: usize,
    sc: &mut Scratch,
    dp: usize,
    out: OutPtr,
) {
    let rows_idx = &ctx.vis.globals()[first..first + count];
    let rows = count.div_ceil(R) * R;
    {
        let qp = sc.qp.slice();
        for (x, &i) in rows_idx.iter().enumerate() {
            copy_padded(
                &mut qp[x * dp..(x + 1) * dp],
                ctx.row(ctx.x.gq, h, i),
                ctx.scale,
            );
        }
        qp[count * dp..rows * dp].fill(0.0);
    }
    reset_state(sc, count, dp);
    let n = ctx.dims.n;
    for base in (0..n).step_by(NK) {
        let cols = (0..NK).map(|c| (base + c < n).then_some(base + c));
        let any_dead = pack_keys(ctx, ctx.x.gk, ctx.x.gv, h, cols, sc, dp);
        tile_step::<S, CQ, CV>(
            ctx,
            h,
            count,
            sc,
            dp,
            any_dead,
            |_| (0, NK),
            None,
            |x, c| rows_idx[x] as i64 - (base + c) as i64,
        );
    }
    for (x, &i) in rows_idx.iter().enumerate() {
        write_row(ctx, sc, x, h, i, dp, out);
    }
}
