//! [`PackedLane`]: one lane's keys and values in bf16, in the operand layouts of the
//! AMX tiles (see `glance_kernels::amx`), converted once per call.
//!
//! Keys are numbered by absolute lane coordinate from `base` (the lane's first
//! coordinate rounded down to 32) to a multiple of 32; keys outside the lane are zero.
//! `d` is padded with zeros to `dp`, a multiple of 32.
//!
//! - Keys (`B` of `S = Q K^T`): panels of 16 keys, one 64-byte row per pair of `d`
//!   (word `c` of row `q` is `(k[2q], k[2q + 1])` of key `c`).
//! - Values (`B` of `O = P V`): panels of 16 columns of `d`, one row per pair of keys
//!   (word `c` of row `t` is `(v[2t][c], v[2t + 1][c])`).

use rayon::prelude::*;

use glance_kernels::bf16::pack_row;

use crate::tiled::Lane;

/// Keys per packing task (a multiple of 32).
const TASK_KEYS: usize = 512;

/// One lane's keys and values in AMX operand layout.
pub(crate) struct PackedLane {
    /// The lane.
    pub(crate) lane: Lane,
    /// Lane coordinate of the first packed key (`lane.u_lo` rounded down to 32).
    base: usize,
    /// Keys packed (a multiple of 32).
    keys: usize,
    /// `d` rounded up to 32.
    pub(crate) dp: usize,
    /// `keys / 16` key panels of `dp / 2` rows of 16 words.
    kt: Vec<u32>,
    /// `dp / 16` value panels of `keys / 2` rows of 16 words.
    vv: Vec<u32>,
}

impl PackedLane {
    /// Packs the keys and values of `lane` from one head's rows (`k`, `v`: `[n, d]`).
    ///
    /// # Safety
    /// The CPU has AVX-512F/BW and AVX512_BF16; `k` and `v` hold the rows of the head
    /// the lane belongs to (`lane.row(u, offset) < k.len() / d` for every coordinate of
    /// the lane).
    pub(crate) unsafe fn new(lane: Lane, offset: usize, d: usize, k: &[f32], v: &[f32]) -> Self {
        let base = lane.u_lo / 32 * 32;
        let keys = lane.u_hi.next_multiple_of(32) - base;
        let dp = d.next_multiple_of(32);
        let pairs = dp / 2;
        let row = |u: usize| {
            (lane.u_lo..lane.u_hi)
                .contains(&u)
                .then(|| lane.row(u, offset))
        };
        let mut kt = vec![0u32; keys * pairs];
        kt.par_chunks_mut(TASK_KEYS * pairs)
            .enumerate()
            .for_each(|(task, out)| {
                let first = base + task * TASK_KEYS;
                for (c, u) in (first..first + out.len() / pairs).enumerate() {
                    if let Some(i) = row(u) {
                        let panel = &mut out[(c / 16) * 16 * pairs..];
                        // SAFETY: the caller guarantees AVX512_BF16 and that row `i`
                        // of `k` exists; the panel holds `pairs * 16` words.
                        unsafe { key_column(&k[i * d..(i + 1) * d], c % 16, panel) };
                    }
                }
            });
        let panel_len = keys / 2 * 16;
        let mut vv = vec![0u32; dp / 16 * panel_len];
        vv.par_chunks_mut(panel_len)
            .enumerate()
            .for_each(|(p, panel)| {
                if 16 * p >= d {
                    return;
                }
                let cols = (d - 16 * p).min(16);
                panel
                    .par_chunks_mut(TASK_KEYS / 2 * 16)
                    .enumerate()
                    .for_each(|(task, out)| {
                        let first = base + task * TASK_KEYS;
                        for (t, words) in out.chunks_exact_mut(16).enumerate() {
                            let (u0, u1) = (first + 2 * t, first + 2 * t + 1);
                            let a = row(u0).map(|i| &v[i * d + 16 * p..i * d + 16 * p + cols]);
                            let b = row(u1).map(|i| &v[i * d + 16 * p..i * d + 16 * p + cols]);
                            // SAFETY: the caller guarantees AVX512_BF16; `a` and `b`
                            // hold `cols <= 16` floats and `words` 16 words.
                            unsafe { value_pair(a, b, words) };
                        }
                    });
            });
        PackedLane {
            lane,
            base,
            keys,
            dp,
            kt,
            vv,
        }
    }

    /// The key panel of the 16 keys from lane coordinate `u` (a multiple of 16 in
    /// `base..base + keys`).
    pub(crate) fn key_panel(&self, u: usize) -> *const u32 {
        let pairs = self.dp / 2;
        self.kt[(u - self.base) / 16 * 16 * pairs..].as_ptr()
    }

    /// Value panel `p` (columns `16p..16p + 16`) from key `u` (even, in
    /// `base..base + keys`).
    pub(crate) fn value_panel(&self, p: usize, u: usize) -> *const u32 {
        self.vv[p * self.keys / 2 * 16 + (u - self.base) / 2 * 16..].as_ptr()
    }
}

/// Writes key `row` (`d` floats) as column `c` of a key panel (`dp / 2` rows of 16
/// words; rows beyond `d.div_ceil(2)` are left zero).
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
unsafe fn key_column(row: &[f32], c: usize, panel: &mut [u32]) {
    let d = row.len();
    let mut words = [0u32; 16];
    for i in (0..d).step_by(32) {
        let len = (d - i).min(32);
        pack_row(row[i..].as_ptr(), len, 1.0, words.as_mut_ptr());
        for (w, &word) in words.iter().enumerate().take(len.div_ceil(2)) {
            panel[(i / 2 + w) * 16 + c] = word;
        }
    }
}

/// One row of a value panel: word `c` = `(a[c], b[c])` in bf16, zero beyond the
/// slices and for a missing key.
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
unsafe fn value_pair(a: Option<&[f32]>, b: Option<&[f32]>, words: &mut [u32]) {
    use std::arch::x86_64::*;
    let w = _mm512_or_si512(widen(a), _mm512_slli_epi32::<16>(widen(b)));
    _mm512_storeu_si512(words.as_mut_ptr().cast(), w);
}

/// Up to 16 floats rounded to bf16, each in the low half of a 32-bit lane (zero for a
/// missing key and beyond the slice). Caller: AVX512_BF16, `x.len() <= 16`.
#[inline(always)]
unsafe fn widen(x: Option<&[f32]>) -> std::arch::x86_64::__m512i {
    use std::arch::x86_64::*;
    match x {
        Some(x) => {
            let mask = ((1u32 << x.len()) - 1) as __mmask16;
            let f = _mm512_maskz_loadu_ps(mask, x.as_ptr());
            _mm512_cvtepu16_epi32(std::mem::transmute::<__m256bh, __m256i>(
                _mm512_cvtneps_pbh(f),
            ))
        }
        None => _mm512_setzero_si512(),
    }
}
