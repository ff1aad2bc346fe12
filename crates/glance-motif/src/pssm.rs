//! FIMO's scoring model for one motif and strand: pseudocounts, log2-odds, the integer
//! scaling to `[0, w * 1000]`, and the exact score distribution that gives p-values
//! (MEME suite `apply_pseudocount_to_motif`, `build_motif_pssm`, `scale_score_matrix`,
//! `get_pdf_table`, `get_pv_lookup_pos_dep`), reproduced operation by operation.

use std::sync::Arc;

use crate::motif::Motif;
use crate::numfmt::round_sig;

/// Scaled scores of a width-`w` motif lie in `[0, w * RANGE]` (MEME's `PSSM_RANGE`).
pub const RANGE: i32 = 1000;

/// FIMO's default motif pseudocount (`--motif-pseudo`).
pub const DEFAULT_PSEUDOCOUNT: f64 = 0.1;

/// The site count FIMO assumes when a motif does not give `nsites`.
pub const DEFAULT_SITES: i32 = 20;

/// The MEME suite's rounded 1/ln(2) (`my_log2`); using the exact constant would change
/// scaled scores at rounding boundaries.
#[allow(clippy::approx_constant)]
const MEME_LOG2_E: f64 = 1.44269504;

/// MEME's `my_log2`: `ln(x) * 1.44269504` (its rounded constant), `1e-300` for 0.
fn meme_log2(x: f64) -> f64 {
    if x > 0.0 {
        let lx = x.ln();
        let lx = if lx < -0.5e10 { -1.0e10 } else { lx };
        lx * MEME_LOG2_E
    } else {
        1e-300
    }
}

/// MEME's `nint`: round half away from zero, then truncate to `int`.
fn nint(x: f64) -> i32 {
    if x >= 0.0 {
        (x + 0.5) as i32
    } else {
        (x - 0.5) as i32
    }
}

/// Applies FIMO's motif pseudocount: `p' = (p * N + a * bg) / (N + a)` with `N` the
/// integer part of `nsites` (20 when absent or not positive).
pub fn apply_pseudocount(
    probs: &[[f64; 4]],
    nsites: Option<f64>,
    bg: &[f64; 4],
    a: f64,
) -> Vec<[f64; 4]> {
    if a == 0.0 {
        return probs.to_vec();
    }
    let sites: i32 = match nsites {
        Some(n) if n > 0.0 => n as i32,
        _ => DEFAULT_SITES,
    };
    let total = f64::from(sites) + a;
    probs
        .iter()
        .map(|row| {
            let mut out = [0.0; 4];
            for k in 0..4 {
                let count = (row[k] * f64::from(sites)) + (a * bg[k]);
                out[k] = count / total;
            }
            out
        })
        .collect()
}

/// Reverse complement of a frequency matrix (rows reversed, A<->T, C<->G).
pub fn reverse_complement(probs: &[[f64; 4]]) -> Vec<[f64; 4]> {
    probs
        .iter()
        .rev()
        .map(|r| [r[3], r[2], r[1], r[0]])
        .collect()
}

/// A motif's integer scoring matrix and its score distribution.
#[derive(Debug, Clone)]
pub struct Pssm {
    /// Scaled integer scores, one row per position (A, C, G, T).
    pub matrix: Vec<[i32; 4]>,
    /// Multiplier from log2-odds to scaled units.
    pub scale: f64,
    /// Per-position offset (an integer) subtracted before scaling.
    pub offset: f64,
    /// `pv[s - pv_start]` = P(score >= s) under the background, for s in
    /// `pv_start..=w * RANGE` (not yet rounded; see [`Pssm::pvalue`]). Shared between
    /// strands when they have the same distribution.
    pub pv: Arc<Vec<f64>>,
    /// First scaled score the table covers (0 unless [`Pssm::truncate_table`] was used).
    pub pv_start: usize,
}

impl Pssm {
    /// Builds the PSSM of a (pseudocounted) frequency matrix against `bg`.
    pub fn build(freqs: &[[f64; 4]], bg: &[f64; 4]) -> Pssm {
        let w = freqs.len();
        let mut raw = vec![[0.0f64; 4]; w];
        // column-major like build_motif_pssm
        for a in 0..4 {
            let bgl = bg[a];
            for (i, row) in freqs.iter().enumerate() {
                raw[i][a] = meme_log2(row[a] / bgl);
            }
        }
        let mut small = f64::INFINITY;
        let mut large = f64::NEG_INFINITY;
        for row in &raw {
            for &x in row {
                small = small.min(x);
                large = large.max(x);
            }
        }
        if large == small {
            small = large - 1.0;
        }
        small = small.floor();
        let offset = small;
        let scale = (f64::from(RANGE) / (large - small)).floor();
        let matrix: Vec<[i32; 4]> = raw
            .iter()
            .map(|row| {
                let mut out = [0i32; 4];
                for k in 0..4 {
                    out[k] = nint((row[k] - offset) * scale);
                }
                out
            })
            .collect();
        let pv = Arc::new(pvalue_table(&matrix, bg));
        Pssm {
            matrix,
            scale,
            offset,
            pv,
            pv_start: 0,
        }
    }

    /// Motif width.
    pub fn width(&self) -> usize {
        self.matrix.len()
    }

    /// The top of the scaled score range, `w * RANGE` (no window scores more).
    pub fn max_scaled(&self) -> i32 {
        self.width() as i32 * RANGE
    }

    /// The reported score of a scaled score: `s / scale + w * offset`, rounded to 10
    /// significant digits as FIMO does.
    pub fn score(&self, scaled: i32) -> f64 {
        round_sig(
            f64::from(scaled) / self.scale + (self.width() as f64) * self.offset,
            10,
        )
    }

    /// The p-value of a scaled score, rounded to 10 significant digits as FIMO does.
    /// NaN for scores below the retained part of a truncated table.
    pub fn pvalue(&self, scaled: i32) -> f64 {
        let top = self.pv_start + self.pv.len() - 1;
        let s = (scaled.max(0) as usize).min(top);
        if s < self.pv_start {
            return f64::NAN;
        }
        round_sig(self.pv[s - self.pv_start], 10)
    }

    /// Keeps only the p-values of scores `>= from` (the rest of a w x 1000 table is
    /// only needed to set thresholds), to bound memory when many motifs are scanned.
    pub fn truncate_table(&mut self, from: usize) {
        let from = from.max(self.pv_start);
        let top = self.pv_start + self.pv.len();
        if from >= top || from == self.pv_start {
            return;
        }
        self.pv = Arc::new(self.pv[from - self.pv_start..].to_vec());
        self.pv_start = from;
    }

    /// The smallest scaled score whose (rounded) p-value is `<= thresh`; `None` when no
    /// score reaches it.
    pub fn threshold_score(&self, thresh: f64) -> Option<i32> {
        let n = self.pv.len();
        // pv is non-increasing and rounding is monotone: binary search.
        let (mut lo, mut hi) = (0usize, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if rounded_at_most(self.pv[mid], thresh) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        (lo < n).then_some(lo as i32)
    }

    /// The largest scaled score whose (rounded) p-value is `>= lambda`, or -1 if none.
    pub fn last_score_with_pvalue_at_least(&self, lambda: f64) -> i32 {
        let n = self.pv.len();
        let (mut lo, mut hi) = (0usize, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if rounded_at_least(self.pv[mid], lambda) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo as i32 - 1
    }

    /// Plain column sum of the scaled scores of a window of base codes (0..=3);
    /// `None` if the window holds any other code. The reference for the fast scanner.
    pub fn plain_score(&self, codes: &[u8]) -> Option<i32> {
        let mut s = 0i32;
        for (row, &c) in self.matrix.iter().zip(codes) {
            if c > 3 {
                return None;
            }
            s += row[c as usize];
        }
        Some(s)
    }
}

/// `get_pdf_table` + `get_pv_lookup_pos_dep`: the exact distribution of the scaled score
/// under an order-0 background, then `pv[x] = P(score >= x)`. Same arithmetic and order
/// of additions as the MEME suite, restricted to the reachable range: each entry of a
/// column's distribution is `((old[x - s0] * b0 + old[x - s1] * b1) + old[x - s2] * b2)
/// + old[x - s3] * b3`, FIMO's per-base passes fused into one (FIMO skips the zero
/// cells that the fused sum reads; adding `0 * b = +0.0` to a non-negative sum leaves it
/// bit-identical, and so does starting from `old[x - s0] * b0` rather than `0 + ...`).
fn pvalue_table(matrix: &[[i32; 4]], bg: &[f64; 4]) -> Vec<f64> {
    // RANGE entries before and after the score range in both arrays, so `x - s` never
    // leaves them
    const PAD: usize = RANGE as usize;
    let size = matrix.len() * RANGE as usize + 1;
    // the density buffers are the thread's, reused from motif to motif as they are
    // (fresh ones cost a page fault per 4 KiB; zeroing them whole, a pass over both)
    PDF_BUFFERS.with_borrow_mut(|(a, b)| {
        for v in [&mut *a, &mut *b] {
            if v.len() < PAD + size + PAD {
                v.resize(PAD + size + PAD, 0.0);
            }
        }
        pdf_table(matrix, bg, a, b)
    })
}

thread_local! {
    /// The per-thread density buffers of [`pvalue_table`].
    static PDF_BUFFERS: std::cell::RefCell<(Vec<f64>, Vec<f64>)> = const {
        std::cell::RefCell::new((Vec::new(), Vec::new()))
    };
}

/// [`pvalue_table`] with density buffers of at least `RANGE + w * RANGE + 1 + RANGE`
/// entries, whatever they hold (score `x` at entry `RANGE + x`).
fn pdf_table<'a>(
    matrix: &[[i32; 4]],
    bg: &[f64; 4],
    mut pdf_new: &'a mut [f64],
    mut pdf_old: &'a mut [f64],
) -> Vec<f64> {
    const PAD: usize = RANGE as usize;
    let size = matrix.len() * RANGE as usize + 1;
    // the density of the columns so far is pdf_new's scores lo..=hi; the entries
    // around them hold whatever earlier columns and motifs left
    pdf_new[PAD] = 1.0;
    let (mut lo, mut hi) = (0usize, 0usize);
    for row in matrix {
        std::mem::swap(&mut pdf_new, &mut pdf_old);
        let cmin = *row.iter().min().unwrap_or(&0) as usize;
        let cmax = *row.iter().max().unwrap_or(&0) as usize;
        let (nlo, nhi) = (lo + cmin, hi + cmax);
        // this column reads scores lo - spread..=hi + spread of the old density (scaled
        // scores lie in 0..=RANGE, so spread <= RANGE): zeros outside lo..=hi
        let spread = cmax - cmin;
        pdf_old[PAD + lo - spread..PAD + lo].fill(0.0);
        pdf_old[PAD + hi + 1..=PAD + hi + spread].fill(0.0);
        let n = nhi + 1 - nlo;
        let src = |j: usize| &pdf_old[PAD + nlo - row[j] as usize..][..n];
        convolve_column(
            &mut pdf_new[PAD + nlo..][..n],
            [src(0), src(1), src(2), src(3)],
            bg,
        );
        lo = nlo;
        hi = nhi;
    }
    // 1 - cdf from the top: pv[i] = min(pdf[i] + pv[i + 1], 1); once a sum exceeds 1,
    // every lower entry is 1 (the pdf is non-negative)
    let mut pv = pdf_new[PAD..PAD + size].to_vec();
    upper_tail_in_place(&mut pv, lo, hi);
    pv
}

/// Turns a density that is zero outside `lo..=hi` (whatever `pdf` holds there) into
/// MEME's upper tail: from the top, `pv[i] = pdf[i] + pv[i + 1]`, and once a sum exceeds
/// 1 it and every lower entry are 1. The sums run over `lo..=hi` only: above `hi` they
/// add zeros to zero, and below `lo` each is the sum at `lo` plus zero.
fn upper_tail_in_place(pv: &mut [f64], lo: usize, hi: usize) {
    let Some(last) = pv.len().checked_sub(1) else {
        return;
    };
    let (lo, hi) = (lo.min(last), hi.min(last));
    pv[hi + 1..].fill(0.0);
    let top = (hi + 1).min(last);
    let mut acc = pv[top];
    let mut i = top;
    while i > lo {
        i -= 1;
        let p = pv[i] + acc;
        if p > 1.0 {
            pv[..=i].fill(1.0);
            return;
        }
        pv[i] = p;
        acc = p;
    }
    pv[..lo].fill(acc);
}

/// One column of [`pdf_table`]: `dst[x] = ((src[0][x] * bg[0] + src[1][x] * bg[1]) +
/// src[2][x] * bg[2]) + src[3][x] * bg[3]` (every slice `dst.len()` long), with AVX's
/// four lanes where the CPU has it. Separate multiplies and adds in this order on every
/// path (Rust never fuses them), so each entry is bit-identical to MEME's.
fn convolve_column(dst: &mut [f64], src: [&[f64]; 4], bg: &[f64; 4]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: AVX presence was just checked.
        return unsafe { convolve_column_avx(dst, src, bg) };
    }
    convolve_column_portable(dst, src, bg);
}

/// [`convolve_column`] compiled for AVX (the same loop, four lanes per instruction).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn convolve_column_avx(dst: &mut [f64], src: [&[f64]; 4], bg: &[f64; 4]) {
    convolve_column_portable(dst, src, bg);
}

/// The loop of [`convolve_column`], for whatever instruction set it is compiled with.
#[inline(always)]
fn convolve_column_portable(dst: &mut [f64], src: [&[f64]; 4], bg: &[f64; 4]) {
    let n = dst.len();
    let [o0, o1, o2, o3] = src.map(|s| &s[..n]);
    let [b0, b1, b2, b3] = *bg;
    for (x, d) in dst.iter_mut().enumerate() {
        *d = ((o0[x] * b0 + o1[x] * b1) + o2[x] * b2) + o3[x] * b3;
    }
}

/// `round_sig(x, 10) >= y` for a probability `x`, computing the rounding only near `y`
/// (rounding to 10 significant digits moves a value by at most 5e-10 of itself).
fn rounded_at_least(x: f64, y: f64) -> bool {
    if x >= y * (1.0 + 1e-9) {
        true
    } else if x <= y * (1.0 - 1e-9) {
        false
    } else {
        round_sig(x, 10) >= y
    }
}

/// `round_sig(x, 10) <= y` for a probability `x` (as [`rounded_at_least`]).
fn rounded_at_most(x: f64, y: f64) -> bool {
    if x <= y * (1.0 - 1e-9) {
        true
    } else if x >= y * (1.0 + 1e-9) {
        false
    } else {
        round_sig(x, 10) <= y
    }
}

/// Both strands' PSSMs of a motif as FIMO builds them.
#[derive(Debug, Clone)]
pub struct MotifModel {
    /// Forward strand.
    pub fwd: Pssm,
    /// Reverse strand (the reverse-complemented motif), when scanning both strands.
    pub rev: Option<Pssm>,
}

impl MotifModel {
    /// Builds the forward (and reverse) PSSMs of `motif` with background `bg` and motif
    /// pseudocount `pseudocount`. When the background is complement-symmetric the reverse
    /// PSSM equals the reversed forward one, and its p-value table is shared.
    pub fn build(motif: &Motif, bg: &[f64; 4], pseudocount: f64, both_strands: bool) -> MotifModel {
        let freqs = apply_pseudocount(&motif.probs, motif.nsites, bg, pseudocount);
        let fwd = Pssm::build(&freqs, bg);
        let rev = both_strands.then(|| {
            let rc = reverse_complement(&freqs);
            let symmetric = bg[0] == bg[3] && bg[1] == bg[2];
            if symmetric {
                // Same log-odds values permuted: same scale, offset and (up to summation
                // order) the same distribution; reuse the forward table.
                let matrix: Vec<[i32; 4]> = fwd
                    .matrix
                    .iter()
                    .rev()
                    .map(|r| [r[3], r[2], r[1], r[0]])
                    .collect();
                Pssm {
                    matrix,
                    scale: fwd.scale,
                    offset: fwd.offset,
                    pv: Arc::clone(&fwd.pv),
                    pv_start: fwd.pv_start,
                }
            } else {
                Pssm::build(&rc, bg)
            }
        });
        MotifModel { fwd, rev }
    }

    /// True when the reverse strand's reported score and p-value are the forward
    /// strand's functions of the scaled score (a complement-symmetric background: same
    /// scale and offset, one shared p-value table), or there is no reverse strand.
    pub fn strands_share_scores(&self) -> bool {
        self.rev.as_ref().is_none_or(|r| {
            Arc::ptr_eq(&r.pv, &self.fwd.pv)
                && r.pv_start == self.fwd.pv_start
                && r.scale == self.fwd.scale
                && r.offset == self.fwd.offset
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute_pv(m: &[[i32; 4]], bg: &[f64; 4]) -> Vec<f64> {
        let w = m.len();
        let size = w * RANGE as usize + 1;
        let mut pdf = vec![0.0; size];
        let n = 4usize.pow(w as u32);
        for word in 0..n {
            let (mut s, mut p, mut x) = (0usize, 1.0, word);
            for row in m {
                let c = x % 4;
                x /= 4;
                s += row[c] as usize;
                p *= bg[c];
            }
            pdf[s] += p;
        }
        let mut pv = vec![0.0; size];
        let mut acc = 0.0;
        for s in (0..size).rev() {
            acc += pdf[s];
            pv[s] = acc;
        }
        pv
    }

    #[test]
    fn pvalue_table_equals_enumeration() {
        let probs = vec![
            [0.7, 0.1, 0.1, 0.1],
            [0.1, 0.1, 0.7, 0.1],
            [0.25, 0.25, 0.25, 0.25],
            [0.0, 0.0, 0.0, 1.0],
            [0.4, 0.4, 0.1, 0.1],
        ];
        let bg = [0.3, 0.2, 0.2, 0.3];
        let f = apply_pseudocount(&probs, None, &bg, 0.1);
        let p = Pssm::build(&f, &bg);
        let want = brute_pv(&p.matrix, &bg);
        for (s, (a, b)) in p.pv.iter().zip(&want).enumerate() {
            assert!(
                (a - b).abs() <= 1e-12 * b.max(1e-300) + 1e-15,
                "s={s}: {a} vs {b}"
            );
        }
        assert!((p.pv[0] - 1.0).abs() < 1e-12);
    }

    /// The thread's density buffers keep what earlier motifs left in them; tables built
    /// after others (wider, narrower, other backgrounds) equal those of a fresh thread
    /// bit for bit.
    #[test]
    fn reused_buffers_give_the_tables_of_fresh_ones() {
        let mut seed = 5u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as f64 / (1u64 << 31) as f64
        };
        let bgs = [[0.25; 4], [0.3, 0.2, 0.2, 0.3], [0.1, 0.4, 0.3, 0.2]];
        let jobs: Vec<(Vec<[f64; 4]>, [f64; 4])> = [12usize, 3, 20, 1, 7, 15, 2]
            .iter()
            .enumerate()
            .map(|(i, &w)| {
                let probs: Vec<[f64; 4]> = (0..w)
                    .map(|_| {
                        let r = [next() + 0.01, next() + 0.01, next() * 3.0, next() + 0.01];
                        let t: f64 = r.iter().sum();
                        r.map(|v| v / t)
                    })
                    .collect();
                (probs, bgs[i % bgs.len()])
            })
            .collect();
        let in_sequence: Vec<Vec<f64>> = jobs
            .iter()
            .map(|(p, bg)| Pssm::build(p, bg).pv.to_vec())
            .collect();
        for ((p, bg), got) in jobs.iter().zip(&in_sequence) {
            let (p, bg) = (p.clone(), *bg);
            let fresh = std::thread::spawn(move || Pssm::build(&p, &bg).pv.to_vec())
                .join()
                .unwrap();
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(got), bits(&fresh));
        }
    }

    /// The tail summed over the density's range only equals MEME's sum over every
    /// entry, bit for bit, including where a sum passes 1.
    #[test]
    fn upper_tail_over_the_range_equals_the_whole_sum() {
        // MEME's loop over the whole table, zeros outside lo..=hi
        fn whole(pdf: &[f64], lo: usize, hi: usize) -> Vec<f64> {
            let mut pv: Vec<f64> = (0..pdf.len())
                .map(|i| if (lo..=hi).contains(&i) { pdf[i] } else { 0.0 })
                .collect();
            let mut acc = pv[pv.len() - 1];
            let mut i = pv.len() - 1;
            while i > 0 {
                i -= 1;
                let p = pv[i] + acc;
                if p > 1.0 {
                    pv[..=i].fill(1.0);
                    break;
                }
                pv[i] = p;
                acc = p;
            }
            pv
        }
        let mut seed = 9u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        for (n, lo, hi, mass) in [
            (1usize, 0usize, 0usize, 1.0f64),
            (10, 0, 9, 1.0),
            (10, 3, 9, 1.0),
            (10, 0, 5, 1.0),
            (50, 7, 31, 1.0),
            (50, 7, 31, 1.3),
            (50, 0, 49, 1.00000001),
            (50, 20, 20, 0.5),
        ] {
            let mut pdf: Vec<f64> = (0..n).map(|_| next() + 0.01).collect();
            let total: f64 = pdf[lo..=hi].iter().sum();
            for v in &mut pdf[lo..=hi] {
                *v *= mass / total;
            }
            let want = whole(&pdf, lo, hi);
            // garbage outside lo..=hi must not matter
            let mut got: Vec<f64> = pdf.iter().map(|&v| v + 7.0).collect();
            got[lo..=hi].copy_from_slice(&pdf[lo..=hi]);
            upper_tail_in_place(&mut got, lo, hi);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&want), "n {n} lo {lo} hi {hi} mass {mass}");
        }
    }

    /// Complement-symmetric backgrounds give both strands one score and p-value
    /// function; others two; one strand is trivially shared.
    #[test]
    fn strands_share_scores_with_symmetric_backgrounds() {
        let m = Motif {
            id: "M".into(),
            alt_id: String::new(),
            probs: vec![
                [0.7, 0.1, 0.1, 0.1],
                [0.1, 0.2, 0.6, 0.1],
                [0.3, 0.3, 0.2, 0.2],
            ],
            nsites: None,
            url: None,
        };
        let build = |bg: [f64; 4], both| MotifModel::build(&m, &bg, 0.1, both);
        assert!(build([0.25; 4], true).strands_share_scores());
        assert!(build([0.3, 0.2, 0.2, 0.3], true).strands_share_scores());
        assert!(!build([0.35, 0.15, 0.3, 0.2], true).strands_share_scores());
        assert!(build([0.35, 0.15, 0.3, 0.2], false).strands_share_scores());
    }

    #[test]
    fn scaled_scores_span_zero_to_range() {
        let probs = vec![[0.97, 0.01, 0.01, 0.01], [0.01, 0.01, 0.01, 0.97]];
        let bg = [0.25; 4];
        let p = Pssm::build(&apply_pseudocount(&probs, Some(100.0), &bg, 0.1), &bg);
        let all: Vec<i32> = p.matrix.iter().flatten().copied().collect();
        assert!(all.iter().all(|&v| (0..=RANGE).contains(&v)));
        // the reported score inverts the scaling up to rounding
        let best = p.plain_score(&[0, 3]).unwrap();
        let raw = 2.0 * (((0.97 * 100.0 + 0.025) / 100.1) / 0.25f64).log2();
        assert!(
            (p.score(best) - raw).abs() < 2.0 / p.scale,
            "{} {raw}",
            p.score(best)
        );
    }

    #[test]
    fn threshold_search_is_consistent_with_lookup() {
        let probs = vec![[0.9, 0.05, 0.03, 0.02]; 8];
        let bg = [0.25; 4];
        let p = Pssm::build(&apply_pseudocount(&probs, Some(50.0), &bg, 0.1), &bg);
        let t = p.threshold_score(1e-4).unwrap();
        assert!(p.pvalue(t) <= 1e-4);
        assert!(p.pvalue(t - 1) > 1e-4);
        let c = p.last_score_with_pvalue_at_least(0.3);
        assert!(p.pvalue(c) >= 0.3 && p.pvalue(c + 1) < 0.3);
    }
}
