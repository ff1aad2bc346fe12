//! [`Packed`]: the keys and values one strip of query tiles reaches, in bf16, in the
//! operand layouts of the AMX tiles (see `glance_kernels::amx`). A worker packs them
//! into its own buffers (reused from strip to strip, so they stay in cache and no
//! memory is allocated per call), and every tile of the strip reads them.
//!
//! Keys are numbered by absolute lane coordinate from `base` (a multiple of 32) over
//! `keys` (a multiple of 32); keys outside the lane are zero. `d` is padded with zeros
//! to `dp`, a multiple of 32.
//!
//! - Keys (`B` of `S = Q K^T`): panels of 16 keys, one 64-byte row per pair of `d`
//!   (word `c` of row `q` is `(k[2q], k[2q + 1])` of key `c`), made by converting 16
//!   key rows and transposing the 16 x 16 block of words in registers.
//! - Values (`B` of `O = P V`): panels of 16 columns of `d`, one row per pair of keys
//!   (word `c` of row `t` is `(v[2t][c], v[2t + 1][c])`).

use std::arch::x86_64::*;

use crate::simd::transpose16;
use crate::tiled::Lane;

/// The packed keys and values of a range of one lane's keys.
#[derive(Default)]
pub(crate) struct Packed {
    /// Lane coordinate of the first packed key (a multiple of 32).
    base: usize,
    /// Keys packed (a multiple of 32).
    keys: usize,
    /// `d` rounded up to 32.
    dp: usize,
    /// `keys / 16` key panels of `dp / 2` rows of 16 words.
    kt: Vec<u32>,
    /// `dp / 16` value panels of `keys / 2` rows of 16 words.
    vv: Vec<u32>,
}

/// Where the rows of a lane's head are.
pub(crate) struct LaneRows<'a> {
    /// The lane.
    pub(crate) lane: Lane,
    /// Absolute position of row 0.
    pub(crate) offset: usize,
    /// Head width.
    pub(crate) d: usize,
    /// The head's keys and values, `[n, d]`.
    pub(crate) k: &'a [f32],
    pub(crate) v: &'a [f32],
}

impl LaneRows<'_> {
    /// Row index of lane coordinate `u`, `None` outside the lane.
    #[inline(always)]
    fn row(&self, u: usize) -> Option<usize> {
        (self.lane.u_lo..self.lane.u_hi)
            .contains(&u)
            .then(|| self.lane.row(u, self.offset))
    }
}

impl Packed {
    /// Packs keys `base..base + keys` (multiples of 32) of the lane of `rows`.
    ///
    /// # Safety
    /// The CPU has AVX-512F/BW and AVX512_BF16; `rows.k` and `rows.v` hold every row of
    /// the lane (`rows.lane.row(u, offset) < k.len() / d` for its coordinates).
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    pub(crate) unsafe fn fill(&mut self, rows: &LaneRows, base: usize, keys: usize) {
        let d = rows.d;
        let dp = d.next_multiple_of(32);
        let pairs = dp / 2;
        self.base = base;
        self.keys = keys;
        self.dp = dp;
        self.kt.resize(keys * pairs, 0);
        self.vv.resize(keys * pairs, 0);
        // Keys: 16 at a time, 32 dimensions (16 words) at a time.
        for g in 0..keys / 16 {
            let row_ptrs: [Option<*const f32>; 16] = std::array::from_fn(|c| {
                rows.row(base + 16 * g + c)
                    .map(|i| rows.k[i * d..(i + 1) * d].as_ptr())
            });
            let panel = self.kt[g * 16 * pairs..].as_mut_ptr();
            for q0 in (0..pairs).step_by(16) {
                let dims = d.saturating_sub(2 * q0).min(32);
                let mut words = [_mm512_setzero_ps(); 16];
                for (w, ptr) in words.iter_mut().zip(row_ptrs) {
                    if let (Some(p), true) = (ptr, dims > 0) {
                        *w = _mm512_castsi512_ps(words_of(p.add(2 * q0), dims));
                    }
                }
                for (q, col) in transpose16(words).into_iter().enumerate() {
                    _mm512_storeu_ps(panel.add((q0 + q) * 16).cast(), col);
                }
            }
        }
        // Values: a pair of keys at a time, 16 columns per panel: both rows rounded
        // in one instruction, then their halves interleaved.
        let interleave = _mm512_set_epi16(
            31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21, 5, 20,
            4, 19, 3, 18, 2, 17, 1, 16, 0,
        );
        let panel_len = keys / 2 * 16;
        for t in 0..keys / 2 {
            let (a, b) = (rows.row(base + 2 * t), rows.row(base + 2 * t + 1));
            for p in 0..dp / 16 {
                let cols = d.saturating_sub(16 * p).min(16);
                let mask = ((1u32 << cols) - 1) as __mmask16;
                let mut halves = [_mm512_setzero_ps(); 2];
                for (h, row) in halves.iter_mut().zip([a, b]) {
                    if let (Some(i), true) = (row, cols > 0) {
                        *h = _mm512_maskz_loadu_ps(mask, rows.v[i * d + 16 * p..].as_ptr());
                    }
                }
                let both = std::mem::transmute::<__m512bh, __m512i>(_mm512_cvtne2ps_pbh(
                    halves[1], halves[0],
                ));
                let w = _mm512_permutexvar_epi16(interleave, both);
                _mm512_storeu_si512(self.vv[p * panel_len + t * 16..].as_mut_ptr().cast(), w);
            }
        }
    }

    /// The key panel of the 16 keys from lane coordinate `u` (a multiple of 16 among
    /// the packed keys).
    #[inline(always)]
    pub(crate) fn key_panel(&self, u: usize) -> *const u32 {
        self.kt[(u - self.base) / 16 * 8 * self.dp..].as_ptr()
    }

    /// Value panel `p` (columns `16p..16p + 16`) from key `u` (even, among the packed
    /// keys).
    #[inline(always)]
    pub(crate) fn value_panel(&self, p: usize, u: usize) -> *const u32 {
        self.vv[p * self.keys / 2 * 16 + (u - self.base) / 2 * 16..].as_ptr()
    }
}

/// `n <= 32` floats at `p` as 16 bf16 pair words (zero beyond `n`). Caller:
/// AVX512_BF16, `p` readable for `n` floats.
#[inline(always)]
unsafe fn words_of(p: *const f32, n: usize) -> __m512i {
    let mask = |k: usize| -> __mmask16 { ((1u32 << k.min(16)) - 1) as __mmask16 };
    let lo = _mm512_maskz_loadu_ps(mask(n), p);
    let hi = _mm512_maskz_loadu_ps(mask(n.saturating_sub(16)), p.add(16.min(n)));
    std::mem::transmute::<__m512bh, __m512i>(_mm512_cvtne2ps_pbh(hi, lo))
}
