//! One strip of query tiles of the bf16 kernel ([`STRIP`] rows of a lane): the keys
//! and values the strip reaches are packed once ([`Packed`]), then each tile of
//! [`MQ`] rows runs against the keys it reaches.
//!
//! A tile whose rows can reach at most [`NKB`] keys (by the pattern alone, before the
//! sequence ends clip it: `sliding` up to `r = 240`, small blocks) takes them in one
//! step; others take key chunks of [`NKB`] aligned to multiples of [`NKB`] in absolute
//! lane coordinates, one online-softmax step each. Either way the choice and the
//! chunks of a row do not depend on `offset` or on where the sequence was cut.
//!
//! Per key chunk: `S = Q K^T` on AMX tiles into an f32 buffer (queries pre-scaled by
//! `scale * log2(e)`, so scores are in base 2); each row's keys outside its interval set
//! to `-inf`; the online softmax in f32 (`P = 2^(S - m)` rounded to bf16, the running
//! sum over the rounded values, the accumulator rescaled by `2^(m_old - m_new)`); then
//! `O += P V` on AMX tiles into the f32 accumulator. Rows are normalised when written.

use std::arch::x86_64::*;

use glance_kernels::amx::{block, Tiles};
use glance_kernels::bf16::pack_row;

use super::pack::{LaneRows, Packed};
use crate::simd::{Avx512, Simd, LOG2E};
use crate::tiled::OutPtr;
use crate::tiled::Rule;

/// Query rows per tile (two AMX tiles of rows).
pub(crate) const MQ: usize = 32;
/// Query rows per strip (one work item), a multiple of [`MQ`].
pub(crate) const STRIP: usize = 16 * MQ;
/// Keys per online-softmax step (a multiple of 32).
const NKB: usize = 512;
/// Floats between score rows: [`NKB`] plus one cache line, so that the rows of a tile
/// do not all fall into the same few L1 sets (2 KiB strides would).
const SS: usize = NKB + 16;
/// Words between probability rows, padded likewise.
const PS: usize = NKB / 2 + 16;

/// What every tile reads.
pub(crate) struct TileCtx<'a> {
    /// Queries `[heads, n, d]`.
    pub(crate) q: &'a [f32],
    /// Which keys a lane row sees.
    pub(crate) rule: Rule,
    /// Rows per head.
    pub(crate) n: usize,
    /// Score scale.
    pub(crate) scale: f32,
}

/// Per-worker buffers (`O(MQ * (dp + NKB))`).
pub(crate) struct Scratch {
    /// Queries as bf16 pairs `[MQ][dp / 2]`.
    qb: Vec<u32>,
    /// Scores `[MQ][SS]`.
    s: Vec<f32>,
    /// Probabilities as bf16 pairs `[MQ][PS]`.
    p: Vec<u32>,
    /// Output accumulator `[MQ][dp]`.
    o: Vec<f32>,
    /// Running max (base 2) and sum per row.
    m: [f32; MQ],
    l: [f32; MQ],
    /// The strip's keys and values.
    packed: Packed,
}

impl Scratch {
    /// Buffers for head width `d`.
    pub(crate) fn new(d: usize) -> Scratch {
        let dp = d.next_multiple_of(32);
        Scratch {
            qb: vec![0; MQ * dp / 2],
            s: vec![0.0; MQ * SS],
            p: vec![0; MQ * PS],
            o: vec![0.0; MQ * dp],
            m: [f32::NEG_INFINITY; MQ],
            l: [0.0; MQ],
            packed: Packed::default(),
        }
    }

    /// Whether these buffers were made for head width `d`.
    pub(crate) fn fits(&self, d: usize) -> bool {
        self.o.len() == MQ * d.next_multiple_of(32)
    }
}

/// Computes and writes the rows of strip `strip` (lane coordinates `strip * STRIP..`)
/// of the lane of `rows`.
///
/// # Safety
/// The CPU has AVX-512F/BW, AVX512_BF16 and AMX with the tile state granted; `rows`
/// holds the keys and values of the lane's head, `ctx.q` its queries, `sc` was made
/// for its `d`, and `out` holds `[heads, n, d]` floats whose rows of this strip no
/// other thread writes.
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
pub(crate) unsafe fn run(
    ctx: &TileCtx,
    rows: &LaneRows,
    strip: usize,
    sc: &mut Scratch,
    out: OutPtr,
) {
    let lane = rows.lane;
    let s0 = strip * STRIP;
    let (sa, sb) = (lane.u_lo.max(s0), lane.u_hi.min(s0 + STRIP));
    let klo = ctx.rule.interval(sa).0.max(lane.u_lo);
    let khi = ctx.rule.interval(sb - 1).1.min(lane.u_hi);
    if klo < khi {
        let ka = klo / 32 * 32;
        sc.packed.fill(rows, ka, khi.next_multiple_of(32) - ka);
    }
    let _tiles = Tiles::load();
    for t in sa / MQ..=(sb - 1) / MQ {
        tile(ctx, rows, t, sc, out);
    }
}

/// Query tile `t` (lane coordinates `t * MQ..`) of a strip whose keys are packed.
/// Caller: as [`run`], tiles loaded.
#[inline(always)]
unsafe fn tile(ctx: &TileCtx, rows: &LaneRows, t: usize, sc: &mut Scratch, out: OutPtr) {
    let (lane, d, offset) = (rows.lane, rows.d, rows.offset);
    let dp = d.next_multiple_of(32);
    let pairs = dp / 2;
    let u0 = t * MQ;
    let (ua, ub) = (lane.u_lo.max(u0), lane.u_hi.min(u0 + MQ));
    let head = lane.head * ctx.n;
    // Rows outside the lane keep stale queries: their probabilities are zero and
    // their outputs never written. Words past `d` stay zero from `Scratch::new`.
    for u in ua..ub {
        let i = lane.row(u, offset);
        let src = ctx.q[(head + i) * d..(head + i + 1) * d].as_ptr();
        pack_row(
            src,
            d,
            ctx.scale * LOG2E,
            sc.qb[(u - u0) * pairs..].as_mut_ptr(),
        );
    }
    // The accumulator is overwritten by the first chunk (and not read without one).
    sc.m.fill(f32::NEG_INFINITY);
    sc.l.fill(0.0);
    let klo = ctx.rule.interval(ua).0.max(lane.u_lo);
    let khi = ctx.rule.interval(ub - 1).1.min(lane.u_hi);
    if klo < khi {
        let (ka, kb) = (klo / 32 * 32, khi.next_multiple_of(32));
        // The reach of the whole tile by the pattern alone, unclipped.
        let reach = ctx.rule.interval(u0 + MQ - 1).1.saturating_add(31) / 32 * 32
            - ctx.rule.interval(u0).0 / 32 * 32;
        if reach <= NKB {
            chunk_step(ctx, rows, (u0, ua, ub), (ka, kb), true, sc);
        } else {
            for chunk in ka / NKB..=(kb - 1) / NKB {
                let (a, b) = (ka.max(chunk * NKB), kb.min((chunk + 1) * NKB));
                chunk_step(ctx, rows, (u0, ua, ub), (a, b), chunk == ka / NKB, sc);
            }
        }
    }
    for u in ua..ub {
        let x = u - u0;
        let i = lane.row(u, offset);
        let dst = std::slice::from_raw_parts_mut(out.0.add((head + i) * d), d);
        let l = sc.l[x];
        if l > 0.0 {
            let inv = 1.0 / l;
            for (o, &acc) in dst.iter_mut().zip(&sc.o[x * dp..x * dp + d]) {
                *o = acc * inv;
            }
        } else {
            dst.fill(0.0);
        }
    }
}

/// One online-softmax step of the tile (rows `u0..u0 + MQ`, live `ua..ub`) over the
/// keys `a..b` (multiples of 32, among the packed keys); the `first` step of a tile
/// overwrites the accumulator (`+0 + P V`, as adding to zeros would give). Caller: as [`run`], tiles
/// loaded.
#[inline(always)]
unsafe fn chunk_step(
    ctx: &TileCtx,
    rows: &LaneRows,
    (u0, ua, ub): (usize, usize, usize),
    (a, b): (usize, usize),
    first: bool,
    sc: &mut Scratch,
) {
    let (lane, dp) = (rows.lane, rows.d.next_multiple_of(32));
    let pl = &sc.packed;
    let (pairs, nk) = (dp / 2, b - a);
    let s = sc.s.as_mut_ptr();
    for j0 in (a..b).step_by(32) {
        block(
            (sc.qb.as_ptr(), pairs),
            (pl.key_panel(j0), pl.key_panel(j0 + 16)),
            pairs,
            (s.add(j0 - a), SS),
            false,
        );
    }
    for x in 0..MQ {
        let u = u0 + x;
        let prow = &mut sc.p[x * PS..x * PS + nk / 2];
        if u < ua || u >= ub {
            prow.fill(0);
            continue;
        }
        let (lo, hi) = ctx.rule.interval(u);
        let (lo, hi) = (lo.max(lane.u_lo).max(a), hi.min(lane.u_hi).min(b));
        if lo >= hi {
            // Every key of the chunk masked: the state is unchanged.
            prow.fill(0);
            continue;
        }
        let srow = &mut sc.s[x * SS..x * SS + nk];
        srow[..lo - a].fill(f32::NEG_INFINITY);
        srow[hi - a..].fill(f32::NEG_INFINITY);
        // A row that has seen nothing yet has a zero accumulator: no rescaling.
        let fresh = sc.l[x] == 0.0;
        let alpha = softmax_row(srow, &mut sc.m[x], &mut sc.l[x], prow);
        if alpha != 1.0 && !fresh {
            sc.o[x * dp..(x + 1) * dp]
                .iter_mut()
                .for_each(|o| *o *= alpha);
        }
    }
    for dd in (0..dp).step_by(32) {
        block(
            (sc.p.as_ptr(), PS),
            (pl.value_panel(dd / 16, a), pl.value_panel(dd / 16 + 1, a)),
            nk / 2,
            (sc.o.as_mut_ptr().add(dd), dp),
            !first,
        );
    }
}

/// The online-softmax update of one row over the scores `s` (a multiple of 32, masked
/// keys `-inf`, at least one finite): updates the running max `m` and sum `l`, writes
/// `2^(s - m_new)` rounded to bf16 into `p` (pairs) and returns the factor by which the
/// row's accumulator must be rescaled. The sum is over the rounded probabilities, the
/// weights `P V` uses. Caller: AVX-512F/BW and AVX512_BF16.
#[inline(always)]
unsafe fn softmax_row(s: &[f32], m: &mut f32, l: &mut f32, p: &mut [u32]) -> f32 {
    // Two independent chains (the length is a multiple of 32): the max is exact in any
    // order, and this one is fixed.
    let mut mx = [_mm512_set1_ps(f32::NEG_INFINITY); 2];
    for j in (0..s.len()).step_by(32) {
        mx[0] = _mm512_max_ps(mx[0], _mm512_loadu_ps(s[j..].as_ptr()));
        mx[1] = _mm512_max_ps(mx[1], _mm512_loadu_ps(s[j + 16..].as_ptr()));
    }
    let m_new = m.max(_mm512_reduce_max_ps(_mm512_max_ps(mx[0], mx[1])));
    let alpha = _mm512_cvtss_f32(Avx512::exp2(_mm512_set1_ps(*m - m_new)));
    let mv = _mm512_set1_ps(m_new);
    let high = _mm512_set1_epi32(0xffff_0000u32 as i32);
    let mut sum = _mm512_setzero_ps();
    for j in (0..s.len()).step_by(32) {
        let lo = exp2_prob(_mm512_sub_ps(_mm512_loadu_ps(s[j..].as_ptr()), mv));
        let hi = exp2_prob(_mm512_sub_ps(_mm512_loadu_ps(s[j + 16..].as_ptr()), mv));
        let v = std::mem::transmute::<__m512bh, __m512i>(_mm512_cvtne2ps_pbh(hi, lo));
        _mm512_storeu_si512(p[j / 2..].as_mut_ptr().cast(), v);
        let even = _mm512_castsi512_ps(_mm512_slli_epi32::<16>(v));
        let odd = _mm512_castsi512_ps(_mm512_and_si512(v, high));
        sum = _mm512_add_ps(sum, _mm512_add_ps(even, odd));
    }
    *l = *l * alpha + _mm512_reduce_add_ps(sum);
    *m = m_new;
    alpha
}

/// `2^r ~ ((c0 r + c1) r + c2) r + c3` on `[-1/2, 1/2]`: a fit of the relative error
/// (max 7.6e-5), far below the bf16 rounding (2^-9) the probabilities get next.
const EXP2_PROB: [f32; 4] = [0.055_169_16, 0.242_605_2, 0.693_260_85, 0.999_928_5];

/// `2^x` for probabilities (`x <= 0`), as `Simd::exp2` but with a degree-3 polynomial;
/// `0` below -126 and for `-inf` and NaN. Caller: AVX-512F.
#[inline(always)]
unsafe fn exp2_prob(x: __m512) -> __m512 {
    let keep = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-126.0), _CMP_GE_OQ);
    let n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    let r = _mm512_sub_ps(x, n);
    let mut p = _mm512_set1_ps(EXP2_PROB[0]);
    for &c in &EXP2_PROB[1..] {
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
    }
    _mm512_maskz_scalef_ps(keep, p, n)
}
