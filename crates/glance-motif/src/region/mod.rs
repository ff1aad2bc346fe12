//! Region motif scores: for one region and motif, the best window (FIMO score and
//! p-value), the number of windows at the p-value threshold, and the attention-pooled
//! affinity `tau * ln(sum_i exp(s_i / tau))` over every scoreable window of both
//! strands (a softmax attention whose query is the PWM: `s_i` is the log2-odds score of
//! window i), with the attention-weighted mean window centre.

//!
//! Scores are integers `s` with log-odds `s / scale + w * offset`, so every ratio of two
//! windows' weights, `exp((s_a - s_b) / (scale * tau))`, is read from a per-strand
//! [`ExpTable`] of the integer difference ([`RegionTables`], built once per `tau`); the
//! running maximum stays an integer and `exp` is called only to join the two strands.
//!
//! [`Scanner::score_regions`] scores many regions for every motif, motif by motif (in
//! parallel over motifs), so that a motif's score, exp and p-value tables stay in cache
//! across regions; its results equal [`Scanner::score_region`]'s bit for bit.

mod exp;
mod strand;

use rayon::prelude::*;

use crate::scan::prep::Prepared;
use crate::scan::{CompiledMotif, Scanner};
pub use exp::{DenseExp, ExpTable, Weights};
use strand::{GroupTables, StrandKernel, StrandSums, LANES};

/// Windows scored per buffer fill (a region longer than this is done in pieces).
const SEGMENT: usize = 1024;

/// Scores of one region for one motif.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegionScore {
    /// Best FIMO score of a window in the region (NaN if none is scoreable).
    pub best_score: f64,
    /// p-value of the best window (NaN if none).
    pub best_pvalue: f64,
    /// Windows (per strand) with p-value `<= thresh`.
    pub hits: u32,
    /// `tau * ln(sum_i exp(s_i / tau))` over all scoreable windows and strands (NaN if
    /// none); tends to the best score as tau -> 0 and to the best score plus
    /// `tau * ln(count)` for a flat profile.
    pub affinity: f64,
    /// Attention-weighted mean of the windows' centres, 1-based (NaN if none).
    pub position: f64,
}

impl RegionScore {
    /// The score of a region without any scoreable window.
    pub const EMPTY: RegionScore = RegionScore {
        best_score: f64::NAN,
        best_pvalue: f64::NAN,
        hits: 0,
        affinity: f64::NAN,
        position: f64::NAN,
    };
}

/// A region of prepared bases, for [`Scanner::score_regions`].
#[derive(Debug, Clone, Copy)]
pub struct RegionRef<'a> {
    /// The record's prepared bases from position `prep_offset` on.
    pub prep: &'a Prepared,
    /// Record position of `prep`'s first base.
    pub prep_offset: u64,
    /// Region start (0-based, in the record).
    pub start: u64,
    /// Region end (exclusive).
    pub end: u64,
}

/// Per-thread scratch of [`Scanner::score_regions`].
#[derive(Debug, Default)]
struct Scratch {
    dense: [Vec<f64>; 2],
    buf: Vec<i32>,
}

/// The [`ExpTable`]s of every motif and strand of a [`Scanner`] for one `tau`.
#[derive(Debug, Clone)]
pub struct RegionTables {
    tau: f64,
    motifs: Vec<Vec<StrandKernel>>,
}

impl RegionTables {
    /// Tables for every motif of `scanner` at temperature `tau` (> 0), built in parallel.
    pub fn new(scanner: &Scanner, tau: f64) -> RegionTables {
        RegionTables {
            tau,
            motifs: scanner
                .motifs()
                .par_iter()
                .map(|cm| motif_tables(cm, tau))
                .collect(),
        }
    }

    /// The temperature the tables are for.
    pub fn tau(&self) -> f64 {
        self.tau
    }
}

/// Per strand: the score tables and `exp(-d / (scale * tau))` for `d` up to the
/// strand's score range.
fn motif_tables(cm: &CompiledMotif, tau: f64) -> Vec<StrandKernel> {
    (0..cm.strands.len())
        .map(|s| {
            let p = cm.pssm(s);
            let range: i64 = p
                .matrix
                .iter()
                .map(|r| {
                    let hi = r.iter().max().copied().unwrap_or(0);
                    let lo = r.iter().min().copied().unwrap_or(0);
                    i64::from(hi) - i64::from(lo)
                })
                .sum();
            StrandKernel {
                groups: GroupTables::new(&p.matrix),
                exp: ExpTable::new(p.scale * tau, u32::try_from(range).unwrap_or(u32::MAX)),
            }
        })
        .collect()
}

impl Scanner {
    /// Scores region `[start, end)` (positions in the record) for motif `m` with
    /// `tables` (built for this scanner by [`RegionTables::new`]); `prep` holds the
    /// record's bases from position `prep_offset`. An `m` the tables do not cover gives
    /// [`RegionScore::EMPTY`].
    pub fn score_region(
        &self,
        tables: &RegionTables,
        m: usize,
        prep: &Prepared,
        prep_offset: u64,
        start: u64,
        end: u64,
    ) -> RegionScore {
        let Some(kernels) = tables.motifs.get(m) else {
            return RegionScore::EMPTY;
        };
        let region = RegionRef {
            prep,
            prep_offset,
            start,
            end,
        };
        let w: Vec<&ExpTable> = kernels.iter().map(|k| &k.exp).collect();
        let mut buf = [0i32; SEGMENT + LANES];
        self.score_motif_region(m, kernels, &w, tables.tau, region, &mut buf)
    }

    /// Scores every region for every motif with `tables` (their `tau`): the result is
    /// row-major, `[regions.len()][motifs]`, each entry equal to
    /// [`Scanner::score_region`]'s. Works motif by motif, in parallel over motifs,
    /// expanding each strand's [`ExpTable`] into a [`DenseExp`] once per call, so pass
    /// regions by the hundred (their prepared bases should fit in the L2 cache, e.g.
    /// a few hundred kb).
    pub fn score_regions(&self, tables: &RegionTables, regions: &[RegionRef]) -> Vec<RegionScore> {
        let nm = self.motifs().len();
        if regions.is_empty() || nm == 0 {
            return Vec::new();
        }
        let columns: Vec<Vec<RegionScore>> = (0..nm)
            .into_par_iter()
            .map_init(Scratch::default, |scratch, m| {
                let Some(kernels) = tables.motifs.get(m) else {
                    return vec![RegionScore::EMPTY; regions.len()];
                };
                let Scratch { dense, buf } = scratch;
                buf.resize(SEGMENT + LANES, 0);
                for (k, d) in kernels.iter().zip(dense.iter_mut()) {
                    k.exp.dense_into(d);
                }
                let w: Vec<DenseExp> = dense
                    .iter()
                    .take(kernels.len())
                    .map(|d| DenseExp(d))
                    .collect();
                regions
                    .iter()
                    .map(|&r| self.score_motif_region(m, kernels, &w, tables.tau, r, buf))
                    .collect()
            })
            .collect();
        let mut out = vec![RegionScore::EMPTY; regions.len() * nm];
        for (m, col) in columns.iter().enumerate() {
            for (r, s) in col.iter().enumerate() {
                out[r * nm + m] = *s;
            }
        }
        out
    }

    /// One motif and region; `w[s]` are strand `s`'s weights (its [`ExpTable`] or the
    /// dense expansion), `buf` scratch of `SEGMENT + LANES` scores.
    fn score_motif_region<W: Weights>(
        &self,
        m: usize,
        kernels: &[StrandKernel],
        w: &[W],
        tau: f64,
        region: RegionRef,
        buf: &mut [i32],
    ) -> RegionScore {
        let RegionRef {
            prep,
            prep_offset,
            start,
            end,
        } = region;
        let cm = &self.motifs()[m];
        let width = cm.width();
        let first = start.max(prep_offset);
        let last_end = end.min(prep_offset + prep.len() as u64);
        if last_end < first + width as u64 {
            return RegionScore::EMPTY;
        }
        // window starts lo..=hi, as indices into prep
        let lo = (first - prep_offset) as usize;
        let hi = (last_end - prep_offset) as usize - width;
        let mut sums = [StrandSums::default(); 2];
        let mut i = lo;
        while i <= hi {
            let run = usize::from(prep.valid_run[i]);
            if run < width {
                // the base at i + run is not ACGT (unless the run length was capped)
                i += if run < usize::from(u16::MAX) {
                    run + 1
                } else {
                    1
                };
                continue;
            }
            let run_end = hi.min(i + run - width) + 1;
            while i < run_end {
                let n = (run_end - i).min(SEGMENT);
                for ((k, wk), acc) in kernels.iter().zip(w).zip(sums.iter_mut()) {
                    k.add(wk, prep, i, n, i - lo, cm.threshold, buf, acc);
                }
                i += n;
            }
        }
        if sums[0].max == i32::MIN {
            return RegionScore::EMPTY;
        }
        // Join the strands: log-odds of each strand's best, then the weights relative
        // to the better one.
        let wf = width as f64;
        let strands = kernels.len().min(2);
        let mut raws = [0.0f64; 2];
        for (s, (raw, acc)) in raws.iter_mut().zip(&sums).take(strands).enumerate() {
            let p = cm.pssm(s);
            *raw = f64::from(acc.max) / p.scale + wf * p.offset;
        }
        let raws = &raws[..strands];
        // best: the first window in (position, strand) order with the largest log-odds
        let mut best = 0;
        for s in 1..raws.len() {
            if raws[s] > raws[best]
                || (raws[s] == raws[best] && sums[s].first_max < sums[best].first_max)
            {
                best = s;
            }
        }
        let top = raws[best] / tau;
        let (mut total, mut wtotal, mut hits) = (0.0f64, 0.0f64, 0u32);
        for (acc, raw) in sums.iter().zip(raws) {
            let r = (raw / tau - top).exp();
            total += acc.sum * r;
            wtotal += acc.wsum * r;
            hits += acc.hits;
        }
        let sc = sums[best].max;
        let centre0 = first as f64 + (wf - 1.0) / 2.0 + 1.0;
        RegionScore {
            best_score: cm.pssm(best).score(sc),
            best_pvalue: cm.pssm(best).pvalue(sc),
            hits,
            affinity: tau * (top + total.ln()),
            position: centre0 + wtotal / total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{RegionRef, RegionScore, RegionTables};
    use crate::{BackgroundSource, Motif, ScanOptions, Scanner};

    fn scanner() -> Scanner {
        let m = Motif {
            id: "M".into(),
            alt_id: "m".into(),
            probs: vec![
                [0.97, 0.01, 0.01, 0.01],
                [0.97, 0.01, 0.01, 0.01],
                [0.97, 0.01, 0.01, 0.01],
                [0.01, 0.97, 0.01, 0.01],
                [0.01, 0.97, 0.01, 0.01],
            ],
            nsites: Some(100.0),
            url: None,
        };
        let bg = BackgroundSource::Uniform.resolve(true).unwrap();
        let opts = ScanOptions {
            thresh: 1e-2,
            ..ScanOptions::default()
        };
        Scanner::new(&[m], bg, opts).unwrap()
    }

    /// Plain f64 reference: column sums, `exp` per window, in (position, strand) order.
    fn reference(
        sc: &Scanner,
        m: usize,
        seq: &[u8],
        start: usize,
        end: usize,
        tau: f64,
    ) -> RegionScore {
        let codes: Vec<u8> = seq
            .iter()
            .map(|&b| crate::scan::prep::base_code(b))
            .collect();
        let cm = &sc.motifs()[m];
        let w = cm.width();
        let mut wins = Vec::new(); // (raw, strand, scaled, centre)
        let mut hits = 0;
        for pos in start..(end + 1).saturating_sub(w).max(start) {
            for s in 0..cm.strands.len() {
                let p = cm.pssm(s);
                if let Some(v) = p.plain_score(&codes[pos..pos + w]) {
                    let raw = f64::from(v) / p.scale + w as f64 * p.offset;
                    wins.push((raw, s, v, pos as f64 + (w as f64 - 1.0) / 2.0 + 1.0));
                    hits += u32::from(v >= cm.threshold);
                }
            }
        }
        let Some(mut best) = wins.first().copied() else {
            return RegionScore::EMPTY;
        };
        for &x in &wins {
            if x.0 > best.0 {
                best = x;
            }
        }
        let top = best.0 / tau;
        let (mut sum, mut wpos) = (0.0, 0.0);
        for &(raw, _, _, c) in &wins {
            let e = (raw / tau - top).exp();
            sum += e;
            wpos += e * c;
        }
        RegionScore {
            best_score: cm.pssm(best.1).score(best.2),
            best_pvalue: cm.pssm(best.1).pvalue(best.2),
            hits,
            affinity: tau * (top + f64::ln(sum)),
            position: wpos / sum,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
    }

    /// Random motifs (widths 1 to 24, sharp and flat columns), sequences with N runs,
    /// IUPAC letters and soft-masking, both strands and one, symmetric and skewed
    /// backgrounds, tau from 0.01 (most weights underflow) to 4, regions shorter than a
    /// motif, spanning N runs, longer than one scoring segment, and cut by the
    /// prepared range.
    #[test]
    fn region_scores_equal_plain_f64_reference() {
        let mut seed: u64 = 11;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as f64 / f64::from(1u32 << 31)
        };
        let motifs: Vec<Motif> = [1usize, 2, 5, 6, 11, 17, 24]
            .iter()
            .enumerate()
            .map(|(k, &w)| Motif {
                id: format!("R{k}"),
                alt_id: String::new(),
                probs: (0..w)
                    .map(|_| {
                        let sharp = next() < 0.5;
                        let mut r = [0.0; 4];
                        for v in &mut r {
                            *v = if sharp { next().powi(4) } else { next() } + 1e-3;
                        }
                        let t: f64 = r.iter().sum();
                        r.map(|v| v / t)
                    })
                    .collect(),
                nsites: Some(40.0),
                url: None,
            })
            .collect();
        let n = 6000;
        let mut seq: Vec<u8> = (0..n)
            .map(|_| b"ACGTacgt"[(next() * 8.0) as usize])
            .collect();
        for (a, len) in [(100, 7), (1500, 300), (2990, 1), (4000, 25)] {
            seq[a..a + len].fill(b'N');
        }
        seq[777] = b'R';
        seq[3333] = b'-';
        let regions = [
            (0, 6000),
            (0, 3),
            (90, 130),
            (1400, 1900),
            (1000, 4500),
            (2980, 3010),
            (5990, 6000),
            (4010, 4020),
        ];
        for (bg, both) in [
            ([0.25; 4], true),
            ([0.3, 0.2, 0.2, 0.3], true),
            ([0.4, 0.1, 0.2, 0.3], false),
        ] {
            let opts = ScanOptions {
                thresh: 1e-3,
                both_strands: both,
                full_pvalue_tables: true,
                ..ScanOptions::default()
            };
            let sc = Scanner::new(&motifs, bg, opts).unwrap();
            let mut prep = crate::scan::prep::Prepared::default();
            let off = 700;
            sc.prepare(&seq[off..], &mut prep);
            let mut whole = crate::scan::prep::Prepared::default();
            sc.prepare(&seq, &mut whole);
            for tau in [1.0, 0.01, 0.3, 4.0] {
                let tables = RegionTables::new(&sc, tau);
                // every region at once, motif by motif, from both preparations
                let refs: Vec<RegionRef> = regions
                    .iter()
                    .flat_map(|&(a, b)| {
                        [(&whole, 0u64), (&prep, off as u64)].map(|(p, o)| RegionRef {
                            prep: p,
                            prep_offset: o,
                            start: a as u64,
                            end: b as u64,
                        })
                    })
                    .collect();
                let batch = sc.score_regions(&tables, &refs);
                assert_eq!(batch.len(), refs.len() * motifs.len());
                for (r, x) in refs.iter().enumerate() {
                    for m in 0..motifs.len() {
                        let one =
                            sc.score_region(&tables, m, x.prep, x.prep_offset, x.start, x.end);
                        assert_eq!(
                            format!("{one:?}"),
                            format!("{:?}", batch[r * motifs.len() + m]),
                            "batch m={m} {x:?} tau={tau}"
                        );
                    }
                }
                for m in 0..motifs.len() {
                    for &(a, b) in &regions {
                        let want = reference(&sc, m, &seq, a, b, tau);
                        let got = sc.score_region(&tables, m, &whole, 0, a as u64, b as u64);
                        let ctx =
                            format!("m={m} {a}..{b} tau={tau} both={both}: {got:?} vs {want:?}");
                        assert!(close(got.affinity, want.affinity), "{ctx}");
                        assert!(close(got.position, want.position), "{ctx}");
                        assert_eq!(got.hits, want.hits, "{ctx}");
                        assert_eq!(got.best_score.to_bits(), want.best_score.to_bits(), "{ctx}");
                        assert_eq!(
                            got.best_pvalue.to_bits(),
                            want.best_pvalue.to_bits(),
                            "{ctx}"
                        );
                        // the same region from bases prepared from position `off` on
                        let a2 = a.max(off);
                        let cut =
                            sc.score_region(&tables, m, &prep, off as u64, a as u64, b as u64);
                        let want2 = reference(&sc, m, &seq, a2, b.max(a2), tau);
                        assert!(close(cut.affinity, want2.affinity), "cut {ctx}");
                        assert!(close(cut.position, want2.position), "cut {ctx}");
                        assert_eq!(cut.hits, want2.hits, "cut {ctx}");
                    }
                }
            }
        }
    }

    #[test]
    fn affinity_is_a_soft_maximum_and_points_at_the_site() {
        let sc = scanner();
        let seq = b"TTTTTTTTTTTTTTTTTTTTAAACCTTTTTTTTTTTTTTTTTTTTT";
        let mut prep = crate::scan::prep::Prepared::default();
        sc.prepare(seq, &mut prep);
        let t1 = RegionTables::new(&sc, 1.0);
        let r = sc.score_region(&t1, 0, &prep, 0, 0, seq.len() as u64);
        assert!(r.affinity >= r.best_score - 1e-6);
        let small = sc.score_region(
            &RegionTables::new(&sc, 0.01),
            0,
            &prep,
            0,
            0,
            seq.len() as u64,
        );
        assert!(
            (small.affinity - small.best_score).abs() < 1e-3,
            "{small:?}"
        );
        // AAACC at 0-based 20..25: centre 23 (1-based)
        assert!((small.position - 23.0).abs() < 1e-6, "{small:?}");
        assert_eq!(r.hits, 1);
        // a region without the site
        let none = sc.score_region(&t1, 0, &prep, 0, 0, 18);
        assert_eq!(none.hits, 0);
        assert!(none.best_score < r.best_score);
        // all N: nothing scoreable
        let n = b"NNNNNNNNNN";
        sc.prepare(n, &mut prep);
        let e = sc.score_region(&t1, 0, &prep, 0, 0, 10);
        assert!(e.affinity.is_nan() && e.best_score.is_nan() && e.hits == 0);
    }
}
