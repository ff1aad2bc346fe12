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

use ndarray::{ArrayView3, CowArray, Ix3};
use rayon::prelude::*;

use crate::error::AttnError;
use crate::kernels::{pv_t, qk_t, softmax_tile};
use crate::options::{AttendOptions, Isa, PositionBias};
use crate::pattern::Local;
use crate::simd::{Portable, Simd};
use crate::validate::Dims;
use crate::visibility::Visibility;

/// Query rows per tile.
const MQ: usize = 32;
/// Keys per tile.
const NK: usize = 64;

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
                    u.saturating_add(radius).saturating_add(1)
                },
            ),
            Rule::Block { size, neighbours } => {
                let block = u / size;
                (
                    block.saturating_sub(neighbours) * size,
                    block
                        .saturating_add(neighbours)
                        .saturating_add(1)
                        .saturating_mul(size),
                )
            }
        }
    }

    /// The rows `[lo, hi)` that see key `u` (the transpose of [`Rule::interval`]).
    #[inline]
    fn queries_of_key(self, u: usize) -> (usize, usize) {
        match self {
            Rule::Full { causal: true } => (u, usize::MAX),
            Rule::Sliding {
                radius,
                causal: true,
            } => (u, u.saturating_add(radius).saturating_add(1)),
            symmetric => symmetric.interval(u),
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
// SAFETY: as for `Send`: rows written through a shared `OutPtr` never overlap.
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

/// Per-worker tile buffers (all `O(MQ * d + NK * MQ)`).
struct Scratch {
    /// Scaled, transposed query tile `[d][MQ]`.
    qt: Aligned,
    /// Scores, then probabilities, `[NK][MQ]`.
    st: Aligned,
    /// Transposed output accumulator `[d][MQ]`.
    ot: Aligned,
    m: Aligned,
    l: Aligned,
    alpha: Aligned,
    /// Key and value row of each column of the current key tile.
    krows: Vec<*const f32>,
    vrows: Vec<*const f32>,
    /// Per key column: padding or absent (then its rows point at `zeros`).
    dead: Vec<bool>,
    zeros: Vec<f32>,
}

impl Scratch {
    fn new(d: usize) -> Scratch {
        Scratch {
            qt: Aligned::new(d * MQ),
            st: Aligned::new(NK * MQ),
            ot: Aligned::new(d * MQ),
            m: Aligned::new(MQ),
            l: Aligned::new(MQ),
            alpha: Aligned::new(MQ),
            krows: vec![std::ptr::null(); NK],
            vrows: vec![std::ptr::null(); NK],
            dead: vec![false; NK],
            zeros: vec![0.0; d],
        }
    }
}

/// Runs the tiled kernel into `out` (`[heads, n, d]`, every element written) with the instruction set of `opts` (already checked
/// available) or the best detected one.
pub(crate) fn attend(
    q: ArrayView3<f32>,
    k: ArrayView3<f32>,
    v: ArrayView3<f32>,
    vis: &Visibility,
    opts: &AttendOptions,
    dims: Dims,
    out: &mut [f32],
) -> Result<(), AttnError> {
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
        // Tiles of all residues of one region go together, so the strided rows of a
        // dilated pattern are read close in time (cache- and prefetch-friendly).
        let first_lane = lanes.len();
        lanes.extend((0..stride).filter_map(|rho| Lane::new(h, stride, rho, vis.offset(), n)));
        let head_lanes = first_lane..lanes.len();
        let tiles = |l: &Lane| l.u_lo / MQ..=(l.u_hi - 1) / MQ;
        let lo = lanes[head_lanes.clone()]
            .iter()
            .map(|l| *tiles(l).start())
            .min();
        let hi = lanes[head_lanes.clone()]
            .iter()
            .map(|l| *tiles(l).end())
            .max();
        if let (Some(lo), Some(hi)) = (lo, hi) {
            for tile in lo..=hi {
                for lane in head_lanes.clone() {
                    if tiles(&lanes[lane]).contains(&tile) {
                        items.push(Item::Local { lane, tile });
                    }
                }
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

    if out.len() != heads * n * d {
        return Err(AttnError::Shape(format!(
            "output has {} elements, expected {heads} x {n} x {d}",
            out.len()
        )));
    }
    let out_ptr = OutPtr(out.as_mut_ptr());
    items.par_iter().for_each_init(
        || Scratch::new(d),
        |scratch, item| run_item(isa, &ctx, *item, scratch, out_ptr),
    );
    Ok(())
}

/// The elements of a standard-layout array as one slice.
fn contiguous<'a>(a: &'a CowArray<'_, f32, Ix3>) -> Result<&'a [f32], AttnError> {
    a.as_slice()
        .ok_or_else(|| AttnError::Shape("input is not contiguous".into()))
}

/// Dispatches one item to the kernel of `isa`.
fn run_item(isa: Isa, ctx: &Ctx, item: Item, sc: &mut Scratch, out: OutPtr) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `attend` only selects an ISA that `Isa::is_available` confirmed.
        Isa::Avx512 => unsafe { item_avx512(ctx, item, sc, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Isa::Avx2 => unsafe { item_avx2(ctx, item, sc, out) },
        // SAFETY: the portable kernel needs no CPU feature; buffers fit `Scratch::new(d)`.
        _ => unsafe { process::<Portable, 4, 4, 4, 4>(ctx, item, sc, out) },
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn item_avx512(ctx: &Ctx, item: Item, sc: &mut Scratch, out: OutPtr) {
    process::<crate::simd::Avx512, 8, 2, 8, 2>(ctx, item, sc, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn item_avx2(ctx: &Ctx, item: Item, sc: &mut Scratch, out: OutPtr) {
    process::<crate::simd::Avx2, 4, 2, 4, 2>(ctx, item, sc, out)
}

/// Runs one work item. Register blocks: `J` keys by `CQ` query vectors for the scores,
/// `DD` output dimensions by `CV` query vectors for `P V`.
#[inline(always)]
unsafe fn process<S: Simd, const J: usize, const CQ: usize, const DD: usize, const CV: usize>(
    ctx: &Ctx,
    item: Item,
    sc: &mut Scratch,
    out: OutPtr,
) {
    match item {
        Item::Local { lane, tile } => {
            local_tile::<S, J, CQ, DD, CV>(ctx, ctx.lanes[lane], tile, sc, out)
        }
        Item::Global { head, first, count } => {
            global_rows::<S, J, CQ, DD, CV>(ctx, head, first, count, sc, out)
        }
    }
}

/// Points the key tile's columns at key/value rows `rows[c]` (or at zeros for `None`),
/// marking padding and absent columns dead; returns whether any column is dead.
#[inline(always)]
fn gather_keys(
    ctx: &Ctx,
    k: &[f32],
    v: &[f32],
    h: usize,
    rows: impl Iterator<Item = Option<usize>>,
    sc: &mut Scratch,
) -> bool {
    let mut any_dead = false;
    for (c, row) in rows.enumerate() {
        let dead = match row {
            Some(j) => {
                sc.krows[c] = ctx.row(k, h, j).as_ptr();
                sc.vrows[c] = ctx.row(v, h, j).as_ptr();
                ctx.vis.is_padding(j)
            }
            None => {
                sc.krows[c] = sc.zeros.as_ptr();
                sc.vrows[c] = sc.zeros.as_ptr();
                true
            }
        };
        sc.dead[c] = dead;
        any_dead |= dead;
    }
    any_dead
}

/// Fills the query tile from rows `rows` (scaled, transposed, zero beyond them) and
/// resets the softmax state and output accumulator.
#[inline(always)]
fn load_queries(
    ctx: &Ctx,
    q: &[f32],
    h: usize,
    rows: impl Iterator<Item = usize>,
    sc: &mut Scratch,
) {
    let d = ctx.dims.d;
    let qt = sc.qt.slice();
    qt[..d * MQ].fill(0.0);
    for (x, i) in rows.enumerate() {
        for (dd, &val) in ctx.row(q, h, i).iter().enumerate() {
            qt[dd * MQ + x] = val * ctx.scale;
        }
    }
    sc.m.slice()[..MQ].fill(f32::NEG_INFINITY);
    sc.l.slice()[..MQ].fill(0.0);
    sc.ot.slice()[..d * MQ].fill(0.0);
}

/// Scores, masking, softmax update and `O += P V` for the gathered key tile.
/// `key_queries(c)` gives the tile queries `[lo, hi)` that may see key column `c`;
/// `extra_mask(x, c)`, when given, must also accept the pair; `delta(x, c)` is the
/// signed distance `i - j` for the bias. Dead columns are hidden from every query.
#[inline(always)]
#[allow(clippy::too_many_arguments)] // one inlined step of the tile loop
unsafe fn tile_step<S: Simd, const J: usize, const CQ: usize, const DD: usize, const CV: usize>(
    ctx: &Ctx,
    h: usize,
    mq: usize,
    cols: (usize, usize),
    sc: &mut Scratch,
    any_dead: bool,
    mut key_queries: impl FnMut(usize) -> (usize, usize),
    mut extra_mask: Option<&mut dyn FnMut(usize, usize) -> bool>,
    delta: impl Fn(usize, usize) -> i64,
) {
    let d = ctx.dims.d;
    // Only the J-groups of columns that hold live keys are computed; skipped columns
    // would contribute exact zeros, so skipping them does not change any result.
    let (j0, j1) = ((cols.0 / J) * J, cols.1.min(NK).div_ceil(J) * J);
    if j0 >= j1 {
        return;
    }
    let st = sc.st.ptr();
    qk_t::<S, J, CQ>(sc.qt.ptr(), &sc.krows[j0..j1], st.add(j0 * MQ), d, MQ);
    for c in j0..j1 {
        let row = std::slice::from_raw_parts_mut(st.add(c * MQ), MQ);
        if any_dead && sc.dead[c] {
            row.fill(f32::NEG_INFINITY);
            continue;
        }
        let (lo, hi) = key_queries(c);
        let hi = hi.min(mq);
        let lo = lo.min(hi);
        row[..lo].fill(f32::NEG_INFINITY);
        row[hi..].fill(f32::NEG_INFINITY);
        if let Some(mask) = extra_mask.as_mut() {
            for (x, sv) in row.iter_mut().enumerate().take(hi).skip(lo) {
                if !mask(x, c) {
                    *sv = f32::NEG_INFINITY;
                }
            }
        }
        if let Some(bias) = ctx.bias {
            for (x, sv) in row.iter_mut().enumerate().take(hi).skip(lo) {
                *sv += bias.value(h, delta(x, c));
            }
        }
    }
    let pt = st.add(j0 * MQ);
    softmax_tile::<S>(pt, j1 - j0, MQ, sc.m.ptr(), sc.l.ptr(), sc.alpha.ptr());
    pv_t::<S, DD, CV>(pt, &sc.vrows[j0..j1], sc.ot.ptr(), sc.alpha.ptr(), d, MQ);
}

/// Writes query `x` of the tile, normalised, to output row `i` of head `h`.
#[inline(always)]
unsafe fn write_row(ctx: &Ctx, sc: &mut Scratch, x: usize, h: usize, i: usize, out: OutPtr) {
    let d = ctx.dims.d;
    let dst = std::slice::from_raw_parts_mut(out.0.add((h * ctx.dims.n + i) * d), d);
    let l = sc.l.slice()[x];
    if l > 0.0 {
        let inv = 1.0 / l;
        let ot = sc.ot.slice();
        for (dd, o) in dst.iter_mut().enumerate() {
            *o = ot[dd * MQ + x] * inv;
        }
    } else {
        dst.fill(0.0);
    }
}

/// A query tile of a lane: local key tiles, then (when the pattern has global tokens)
/// the global keys outside each row's neighbourhood.
#[inline(always)]
unsafe fn local_tile<S: Simd, const J: usize, const CQ: usize, const DD: usize, const CV: usize>(
    ctx: &Ctx,
    lane: Lane,
    tile: usize,
    sc: &mut Scratch,
    out: OutPtr,
) {
    let h = lane.head;
    let offset = ctx.vis.offset();
    let ua = lane.u_lo.max(tile * MQ);
    let ub = lane.u_hi.min((tile + 1) * MQ);
    let mq = ub - ua;
    load_queries(ctx, ctx.x.q, h, (ua..ub).map(|u| lane.row(u, offset)), sc);

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
            let any_dead = gather_keys(ctx, ctx.x.k, ctx.x.v, h, cols, sc);
            tile_step::<S, J, CQ, DD, CV>(
                ctx,
                h,
                mq,
                (klo.max(base) - base, khi.min(base + NK) - base),
                sc,
                any_dead,
                |c| {
                    let (lo, hi) = ctx.rule.queries_of_key(base + c);
                    (lo.saturating_sub(ua), hi.saturating_sub(ua))
                },
                None,
                |x, c| ((ua + x) as i64 - (base + c) as i64) * stride,
            );
        }
    }

    if ctx.global_keys_pass {
        let globals = ctx.vis.globals();
        for chunk in globals.chunks(NK) {
            let cols = (0..NK).map(|c| chunk.get(c).copied());
            let any_dead = gather_keys(ctx, ctx.x.k, ctx.x.v, h, cols, sc);
            let mut outside =
                |x: usize, c: usize| !ctx.vis.is_local(h, lane.row(ua + x, offset), chunk[c]);
            tile_step::<S, J, CQ, DD, CV>(
                ctx,
                h,
                mq,
                (0, chunk.len()),
                sc,
                any_dead,
                |_| (0, mq),
                Some(&mut outside),
                |x, c| lane.row(ua + x, offset) as i64 - chunk[c] as i64,
            );
        }
    }

    for x in 0..mq {
        let i = lane.row(ua + x, offset);
        if !ctx.vis.is_global(i) {
            write_row(ctx, sc, x, h, i, out);
        }
    }
}

/// Global rows `globals[first..first + count]` of head `h` over every key, with the
/// global projections when given.
#[inline(always)]
unsafe fn global_rows<
    S: Simd,
    const J: usize,
    const CQ: usize,
    const DD: usize,
    const CV: usize,
>(
    ctx: &Ctx,
    h: usize,
    first: usize,
    count: usize,
    sc: &mut Scratch,
    out: OutPtr,
) {
    let rows_idx = &ctx.vis.globals()[first..first + count];
    load_queries(ctx, ctx.x.gq, h, rows_idx.iter().copied(), sc);
    let n = ctx.dims.n;
    for base in (0..n).step_by(NK) {
        let cols = (0..NK).map(|c| (base + c < n).then_some(base + c));
        let any_dead = gather_keys(ctx, ctx.x.gk, ctx.x.gv, h, cols, sc);
        tile_step::<S, J, CQ, DD, CV>(
            ctx,
            h,
            count,
            (0, NK.min(n - base)),
            sc,
            any_dead,
            |_| (0, count),
            None,
            |x, c| rows_idx[x] as i64 - (base + c) as i64,
        );
    }
    for (x, &i) in rows_idx.iter().enumerate() {
        write_row(ctx, sc, x, h, i, out);
    }
}
