//! Region motif scores: for one region and motif, the best window (FIMO score and
//! p-value), the number of windows at the p-value threshold, the attention-pooled
//! affinity `tau * log2(sum_i 2^(s_i / tau))` over every scoreable window of both
//! strands (a softmax attention whose query is the PWM: `s_i` is the log2-odds score of
//! window i, `tau` in bits) with the attention-weighted mean window centre, and the
//! occupancy `sum_i 1 / (1 + 2^(mu - s_i))`, the expected number of bound sites when a
//! window's log-odds is its binding free energy in bits (`s_i ln 2` in units of kT) and
//! `mu` the chemical potential in bits.
//!
//! Scores are integers `s` with log-odds `s / scale + w * offset`, so every ratio of two
//! windows' weights, `2^((s_a - s_b) / (scale * tau))`, is read from a per-strand
//! [`ExpTable`] of the integer difference, and every window's occupancy from a
//! per-strand [`OccTable`] of its score ([`RegionTables`], built once per setting); the
//! running maximum stays an integer and `exp` is called only to join the two strands.
//!
//! [`Scanner::score_regions`] scores many regions for every motif, motif by motif (in
//! parallel over motifs), so that a motif's score, exp and p-value tables stay in cache
//! across regions; its results equal [`Scanner::score_region`]'s bit for bit.

mod exp;
mod strand;

use rayon::prelude::*;
use std::f64::consts::LN_2;

use crate::error::MotifError;
use crate::scan::prep::Prepared;
use crate::scan::{CompiledMotif, Scanner};
pub use exp::{Dense, ExpTable, OccTable, Sums, Weights};
use strand::{GroupTables, StrandKernel, StrandSums, LANES};

/// Windows scored per buffer fill (a region longer than this is done in pieces).
const SEGMENT: usize = 1024;

/// Default temperature of the affinity, in bits (chosen by `scripts/bench_region_scores.py`;
/// see docs/motifs.md).
pub const DEFAULT_TAU: f64 = 4.0;

/// Default p-value that sets each motif's chemical potential (chosen by
/// `scripts/bench_region_scores.py`; see docs/motifs.md).
pub const DEFAULT_MU_PVALUE: f64 = 5e-4;

/// Largest `|mu|` accepted, in bits (keeps the occupancy tables' factors normal
/// numbers).
pub const MAX_ABS_MU: f64 = 300.0;

/// How the chemical potential `mu` of the occupancy is set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Potential {
    /// `mu` in bits (log2-odds), the same for every motif.
    Bits(f64),
    /// Per motif: the log-odds (bits, not rounded) of the lowest score a window can
    /// have with p-value (one window, one strand) `<= p`, so that the weakest window
    /// that passes a p-value threshold `p` is bound half the time; the best score when
    /// no window reaches `p`.
    PValue(f64),
}

/// Settings of the region scores that are not scan settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegionSettings {
    /// Temperature of the affinity in bits (> 0): windows weigh `2^(s_i / tau)`. A
    /// temperature `t` of glance 0.1 (natural units, `e^(s_i / t)`) is `t * ln 2` here
    /// (`std::f64::consts::LN_2` for `t = 1` gives the same bits).
    pub tau: f64,
    /// The occupancy's chemical potential.
    pub mu: Potential,
}

impl Default for RegionSettings {
    fn default() -> Self {
        RegionSettings {
            tau: DEFAULT_TAU,
            mu: Potential::PValue(DEFAULT_MU_PVALUE),
        }
    }
}

impl RegionSettings {
    /// Checks the values: `tau` positive and finite, `mu` within [`MAX_ABS_MU`] bits,
    /// a p-value in `(0, 1]`.
    pub fn validate(&self) -> Result<(), MotifError> {
        let tau_nat = self.tau / LN_2;
        if !(self.tau > 0.0 && self.tau.is_finite() && tau_nat > 0.0 && tau_nat.is_finite()) {
            return Err(MotifError::Invalid(format!(
                "tau {} must be a positive number",
                self.tau
            )));
        }
        match self.mu {
            Potential::Bits(mu) if mu.is_nan() || mu.abs() > MAX_ABS_MU => {
                Err(MotifError::Invalid(format!(
                    "mu {mu} must be a number of bits within +-{MAX_ABS_MU}"
                )))
            }
            Potential::PValue(p) if !(p > 0.0 && p <= 1.0) => Err(MotifError::Invalid(format!(
                "the p-value {p} that sets mu must lie in (0, 1]"
            ))),
            _ => Ok(()),
        }
    }
}

/// Scores of one region for one motif.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegionScore {
    /// Best FIMO score of a window in the region (NaN if none is scoreable).
    pub best_score: f64,
    /// p-value of the best window (NaN if none).
    pub best_pvalue: f64,
    /// Windows (per strand) with p-value `<= thresh`.
    pub hits: u32,
    /// `tau * log2(sum_i 2^(s_i / tau))` over all scoreable windows and strands (NaN if
    /// none); tends to the best score as tau -> 0 and to the best score plus
    /// `tau * log2(count)` for a flat profile.
    pub affinity: f64,
    /// Attention-weighted mean of the windows' centres, 1-based (NaN if none).
    pub position: f64,
    /// `sum_i 1 / (1 + 2^(mu - s_i))` over all scoreable windows and strands: the
    /// expected number of bound sites (NaN if no window is scoreable).
    pub occupancy: f64,
}

impl RegionScore {
    /// The score of a region without any scoreable window.
    pub const EMPTY: RegionScore = RegionScore {
        best_score: f64::NAN,
        best_pvalue: f64::NAN,
        hits: 0,
        affinity: f64::NAN,
        position: f64::NAN,
        occupancy: f64::NAN,
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
    dense_occ: [Vec<f64>; 2],
    buf: Vec<i32>,
}

/// The [`ExpTable`]s and [`OccTable`]s of every motif and strand of a [`Scanner`] for
/// one [`RegionSettings`].
#[derive(Debug, Clone)]
pub struct RegionTables {
    settings: RegionSettings,
    /// `tau` in natural units (`tau / ln 2`).
    tau_nat: f64,
    motifs: Vec<Vec<StrandKernel>>,
    mu: Vec<f64>,
}

impl RegionTables {
    /// Tables for every motif of `scanner` with `settings`, built in parallel. A
    /// [`Potential::PValue`] needs the whole p-value tables
    /// ([`crate::ScanOptions::full_pvalue_tables`]) when `p` is above the scan
    /// threshold.
    pub fn new(scanner: &Scanner, settings: &RegionSettings) -> Result<RegionTables, MotifError> {
        settings.validate()?;
        let tau_nat = settings.tau / LN_2;
        let mu = scanner
            .motifs()
            .iter()
            .map(|cm| potential_bits(cm, settings.mu))
            .collect::<Result<Vec<f64>, MotifError>>()?;
        let motifs = scanner
            .motifs()
            .par_iter()
            .zip(&mu)
            .map(|(cm, &mu)| motif_tables(cm, tau_nat, mu))
            .collect();
        Ok(RegionTables {
            settings: *settings,
            tau_nat,
            motifs,
            mu,
        })
    }

    /// The settings the tables are for.
    pub fn settings(&self) -> &RegionSettings {
        &self.settings
    }

    /// The chemical potential of motif `m` in bits (`None` past the last motif).
    pub fn mu(&self, m: usize) -> Option<f64> {
        self.mu.get(m).copied()
    }
}

/// The chemical potential of a motif in bits.
fn potential_bits(cm: &CompiledMotif, mu: Potential) -> Result<f64, MotifError> {
    let p = match mu {
        Potential::Bits(mu) => return Ok(mu),
        Potential::PValue(p) => p,
    };
    let fwd = cm.pssm(0);
    let top = max_score(&fwd.matrix);
    let start = fwd.pv_start as i32;
    let sc = match fwd.threshold_score(p) {
        // the table starts at pv_start: a score found at its first entry may have a
        // smaller one below it that also reaches p
        Some(0) if start > 0 => {
            return Err(MotifError::Motif {
                id: cm.motif.id.clone(),
                message: format!(
                    "mu from p-value {p} needs the whole p-value table (full_pvalue_tables)"
                ),
            })
        }
        Some(s) => {
            // up to the first score a window can have: P(score = s) > 0
            let pv = |s: i32| fwd.pv[(s - start) as usize];
            let mut s = (s + start).min(top);
            while s < top && pv(s) <= pv(s + 1) {
                s += 1;
            }
            s
        }
        None => top,
    };
    Ok(f64::from(sc) / fwd.scale + cm.width() as f64 * fwd.offset)
}

/// The largest scaled score of a matrix: the sum of its rows' maxima.
fn max_score(matrix: &[[i32; 4]]) -> i32 {
    matrix
        .iter()
        .map(|r| r.iter().copied().max().unwrap_or(0))
        .sum()
}

/// Per strand: the score tables, `exp(-d / (scale * tau_nat))` for `d` up to the
/// strand's score range and the occupancy of every reachable score at potential `mu`
/// (bits).
fn motif_tables(cm: &CompiledMotif, tau_nat: f64, mu: f64) -> Vec<StrandKernel> {
    let w = cm.width() as f64;
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
            let top = u32::try_from(max_score(&p.matrix)).unwrap_or(0);
            StrandKernel {
                groups: GroupTables::new(&p.matrix),
                exp: ExpTable::new(p.scale * tau_nat, u32::try_from(range).unwrap_or(u32::MAX)),
                occ: OccTable::new(p.scale, top, (mu - w * p.offset) * p.scale),
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
        let o: Vec<&OccTable> = kernels.iter().map(|k| &k.occ).collect();
        let mut buf = [0i32; SEGMENT + LANES];
        self.score_motif_region(m, kernels, (&w, &o), tables.tau_nat, region, &mut buf)
    }

    /// Scores every region for every motif with `tables` (their settings): the result is
    /// row-major, `[regions.len()][motifs]`, each entry equal to
    /// [`Scanner::score_region`]'s. Works motif by motif, in parallel over motifs,
    /// expanding each strand's [`ExpTable`] and [`OccTable`] into [`Dense`] tables once
    /// per call, so pass regions by the hundred (their prepared bases should fit in the
    /// L2 cache, e.g. a few hundred kb).
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
                let Scratch {
                    dense,
                    dense_occ,
                    buf,
                } = scratch;
                buf.resize(SEGMENT + LANES, 0);
                for (k, d) in kernels.iter().zip(dense.iter_mut()) {
                    k.exp.dense_into(d);
                }
                // a motif's strands mostly share their occupancies: each distinct table
                // is expanded once (and read from one place)
                let shared = kernels.len() < 2 || kernels[1].occ == kernels[0].occ;
                let distinct = if shared { 1 } else { kernels.len() };
                for (k, o) in kernels.iter().zip(dense_occ.iter_mut()).take(distinct) {
                    k.occ.dense_into(o);
                }
                let n = kernels.len();
                let w: Vec<Dense> = dense.iter().take(n).map(|d| Dense(d)).collect();
                let o: Vec<Dense> = (0..n)
                    .map(|s| Dense(&dense_occ[if shared { 0 } else { s }]))
                    .collect();
                regions
                    .iter()
                    .map(|&r| self.score_motif_region(m, kernels, (&w, &o), tables.tau_nat, r, buf))
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

    /// One motif and region; `w[s]` and `o[s]` are strand `s`'s exp weights and
    /// occupancies (its [`ExpTable`] and [`OccTable`] or their dense expansions),
    /// `tau_nat` the temperature in natural units, `buf` scratch of `SEGMENT + LANES`
    /// scores.
    fn score_motif_region<W: Weights, O: Weights>(
        &self,
        m: usize,
        kernels: &[StrandKernel],
        (w, o): (&[W], &[O]),
        tau_nat: f64,
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
                for (((k, wk), ok), acc) in kernels.iter().zip(w).zip(o).zip(sums.iter_mut()) {
                    k.add(wk, ok, prep, i, n, i - lo, cm.threshold, buf, acc);
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
        let top = raws[best] / tau_nat;
        let (mut total, mut wtotal, mut hits, mut occ) = (0.0f64, 0.0f64, 0u32, 0.0f64);
        for (acc, raw) in sums.iter().zip(raws) {
            let r = (raw / tau_nat - top).exp();
            total += acc.sum * r;
            wtotal += acc.wsum * r;
            hits += acc.hits;
            occ += acc.occ;
        }
        let sc = sums[best].max;
        let centre0 = first as f64 + (wf - 1.0) / 2.0 + 1.0;
        RegionScore {
            best_score: cm.pssm(best).score(sc),
            best_pvalue: cm.pssm(best).pvalue(sc),
            hits,
            affinity: tau_nat * (top + total.ln()),
            position: centre0 + wtotal / total,
            occupancy: occ,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Potential, RegionRef, RegionScore, RegionSettings, RegionTables};
    use crate::{BackgroundSource, Motif, ScanOptions, Scanner};
    use std::f64::consts::LN_2;

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
            full_pvalue_tables: true,
            ..ScanOptions::default()
        };
        Scanner::new(&[m], bg, opts).unwrap()
    }

    fn tables(sc: &Scanner, tau: f64, mu: Potential) -> RegionTables {
        RegionTables::new(sc, &RegionSettings { tau, mu }).unwrap()
    }

    /// Plain f64 reference: column sums, one power of `base` and one logistic per
    /// window, in (position, strand) order: affinity `tau * log_base(sum_i base^(s_i /
    /// tau))`, occupancy `sum_i 1 / (1 + 2^(mu - s_i))`.
    #[allow(clippy::too_many_arguments)]
    fn reference(
        sc: &Scanner,
        m: usize,
        seq: &[u8],
        start: usize,
        end: usize,
        tau: f64,
        base: f64,
        mu: f64,
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
        let (mut sum, mut wpos, mut occ) = (0.0, 0.0, 0.0);
        for &(raw, _, _, c) in &wins {
            let e = ((raw / tau - top) * base.ln()).exp();
            sum += e;
            wpos += e * c;
            occ += 1.0 / (1.0 + (mu - raw).exp2());
        }
        RegionScore {
            best_score: cm.pssm(best.1).score(best.2),
            best_pvalue: cm.pssm(best.1).pvalue(best.2),
            hits,
            affinity: tau * (top + sum.ln() / base.ln()),
            position: wpos / sum,
            occupancy: occ,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
    }

    /// Random motifs (widths 1 to 24, sharp and flat columns), sequences with N runs,
    /// IUPAC letters and soft-masking, both strands and one, symmetric and skewed
    /// backgrounds, tau from 0.01 (most weights underflow) to 4 bits, mu below, inside
    /// and above the scores (in bits and from p-values), regions shorter than a motif,
    /// spanning N runs, longer than one scoring segment, and cut by the prepared range.
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
        let settings = [
            (1.0, Potential::PValue(1e-3)),
            (0.01, Potential::Bits(-5.0)),
            (0.3, Potential::Bits(12.0)),
            (4.0, Potential::PValue(0.2)),
            (2.0, Potential::PValue(1e-9)),
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
            for (tau, mu) in settings {
                let tables = tables(&sc, tau, mu);
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
                    let mu_m = tables.mu(m).unwrap();
                    if let Potential::PValue(p) = mu {
                        // mu is the log-odds of the lowest score a window can have with
                        // p-value <= p (the best score when none has)
                        let f = sc.motifs()[m].pssm(0);
                        let top: usize = f
                            .matrix
                            .iter()
                            .map(|r| *r.iter().max().unwrap() as usize)
                            .sum();
                        let want = (0..=top)
                            .find(|&s| {
                                (s == top || f.pv[s] > f.pv[s + 1]) && f.pvalue(s as i32) <= p
                            })
                            .unwrap_or(top);
                        let w = f.width() as f64;
                        let bits = want as f64 / f.scale + w * f.offset;
                        assert_eq!(mu_m.to_bits(), bits.to_bits(), "m={m} p={p}");
                    }
                    for &(a, b) in &regions {
                        let want = reference(&sc, m, &seq, a, b, tau, 2.0, mu_m);
                        let got = sc.score_region(&tables, m, &whole, 0, a as u64, b as u64);
                        let ctx =
                            format!("m={m} {a}..{b} tau={tau} both={both}: {got:?} vs {want:?}");
                        assert!(close(got.affinity, want.affinity), "{ctx}");
                        assert!(close(got.position, want.position), "{ctx}");
                        assert!(close(got.occupancy, want.occupancy), "{ctx}");
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
                        let want2 = reference(&sc, m, &seq, a2, b.max(a2), tau, 2.0, mu_m);
                        assert!(close(cut.affinity, want2.affinity), "cut {ctx}");
                        assert!(close(cut.position, want2.position), "cut {ctx}");
                        assert!(close(cut.occupancy, want2.occupancy), "cut {ctx}");
                        assert_eq!(cut.hits, want2.hits, "cut {ctx}");
                    }
                }
            }
        }
    }

    /// A temperature `t` in natural units (before the base change) is `t * ln 2` in
    /// bits: same affinity and position, and at `t = 1` the same internal temperature
    /// bit for bit (so the same output as before).
    #[test]
    fn natural_temperature_is_tau_times_ln2() {
        let sc = scanner();
        let seq = b"TTAAACCTGAAACCATTTTTAAAGCTTACGATCGGAAACCC";
        let mut prep = crate::scan::prep::Prepared::default();
        sc.prepare(seq, &mut prep);
        for t in [0.25, 1.0, 4.0] {
            let tb = tables(&sc, t * LN_2, Potential::Bits(0.0));
            if t == 1.0 {
                assert_eq!(tb.tau_nat.to_bits(), 1f64.to_bits());
            }
            let got = sc.score_region(&tb, 0, &prep, 0, 0, seq.len() as u64);
            let want = reference(&sc, 0, seq, 0, seq.len(), t, std::f64::consts::E, 0.0);
            assert!(
                close(got.affinity, want.affinity),
                "t={t}: {got:?} {want:?}"
            );
            assert!(
                close(got.position, want.position),
                "t={t}: {got:?} {want:?}"
            );
        }
    }

    /// The formulas on a tiny case worked out by hand: a width-2 motif whose log2-odds
    /// are whole bits (A C G T: col 1 = 1 0 -1 -1, col 2 = -1 1 -1 0), uniform
    /// background, no pseudocount.
    #[test]
    fn tiny_case_by_hand() {
        let m = Motif {
            id: "H".into(),
            alt_id: String::new(),
            probs: vec![[0.5, 0.25, 0.125, 0.125], [0.125, 0.5, 0.125, 0.25]],
            nsites: Some(20.0),
            url: None,
        };
        let bg = BackgroundSource::Uniform.resolve(true).unwrap();
        let scanner = |both_strands| {
            let opts = ScanOptions {
                thresh: 0.1,
                both_strands,
                pseudocount: 0.0,
                full_pvalue_tables: true,
            };
            Scanner::new(std::slice::from_ref(&m), bg, opts).unwrap()
        };
        let (both, norc) = (scanner(true), scanner(false));
        let score = |sc: &Scanner, seq: &[u8], a: u64, b: u64, tau: f64, mu: Potential| {
            let mut prep = crate::scan::prep::Prepared::default();
            sc.prepare(seq, &mut prep);
            sc.score_region(&tables(sc, tau, mu), 0, &prep, 0, a, b)
        };
        let near = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs();
        // ACG: forward AC = 1 + 1 = 2, CG = 0 - 1 = -1; reverse strand (reverse
        // complements GT and CG) -1 and -1
        let r = score(&both, b"ACG", 0, 3, 1.0, Potential::Bits(1.0));
        assert!(near(r.occupancy, 2.0 / 3.0 + 3.0 / 5.0), "{r:?}");
        assert!(near(r.affinity, 5.5f64.log2()), "{r:?}");
        // weights 4 (AC +), 1/2 (AC -), 1/2 twice (CG); centres 1.5 and 2.5
        assert!(near(r.position, (1.5 * 4.5 + 2.5) / 5.5), "{r:?}");
        assert_eq!((r.best_score, r.best_pvalue, r.hits), (2.0, 0.0625, 1));
        let r2 = score(&both, b"ACG", 0, 3, 2.0, Potential::Bits(1.0));
        assert!(
            near(r2.affinity, 2.0 * (2.0 + 3.0 * 0.5f64.sqrt()).log2()),
            "{r2:?}"
        );
        // mu from a p-value: the best score (2) has p = 1/16, so mu = 2
        let rp = score(&both, b"ACG", 0, 3, 1.0, Potential::PValue(0.0625));
        assert!(near(rp.occupancy, 0.5 + 3.0 / 9.0), "{rp:?}");
        // one strand: AC and CG forward only
        let rf = score(&norc, b"ACG", 0, 3, 1.0, Potential::Bits(1.0));
        assert!(near(rf.occupancy, 2.0 / 3.0 + 1.0 / 5.0), "{rf:?}");
        assert!(near(rf.affinity, 4.5f64.log2()), "{rf:?}");
        // an N run: only the two AC windows count, each on both strands
        let rn = score(&both, b"ACNAC", 0, 5, 1.0, Potential::Bits(1.0));
        assert!(near(rn.occupancy, 2.0 * (2.0 / 3.0 + 1.0 / 5.0)), "{rn:?}");
        assert!(near(rn.position, 3.0), "{rn:?}");
        assert_eq!(rn.hits, 2);
        // regions shorter than the motif or holding no whole window: nothing scoreable
        for (seq, a, b) in [(&b"ACG"[..], 0, 1), (b"ACNAC", 1, 4), (b"NNNN", 0, 4)] {
            let e = score(&both, seq, a, b, 1.0, Potential::Bits(1.0));
            assert_eq!(format!("{e:?}"), format!("{:?}", RegionScore::EMPTY));
        }
    }

    #[test]
    fn affinity_is_a_soft_maximum_and_points_at_the_site() {
        let sc = scanner();
        let seq = b"TTTTTTTTTTTTTTTTTTTTAAACCTTTTTTTTTTTTTTTTTTTTT";
        let mut prep = crate::scan::prep::Prepared::default();
        sc.prepare(seq, &mut prep);
        let t1 = tables(&sc, 1.0, Potential::Bits(6.0));
        let r = sc.score_region(&t1, 0, &prep, 0, 0, seq.len() as u64);
        assert!(r.affinity >= r.best_score - 1e-6);
        let t0 = tables(&sc, 0.01, Potential::Bits(0.0));
        let small = sc.score_region(&t0, 0, &prep, 0, 0, seq.len() as u64);
        assert!(
            (small.affinity - small.best_score).abs() < 1e-3,
            "{small:?}"
        );
        // AAACC at 0-based 20..25: centre 23 (1-based)
        assert!((small.position - 23.0).abs() < 1e-6, "{small:?}");
        assert_eq!(r.hits, 1);
        // the site (9.8 bits) is mostly bound, the rest (poly-A on the reverse strand
        // about -3.4 bits) hardly
        assert!(r.occupancy > 0.9 && r.occupancy < 1.1, "{r:?}");
        // a region without the site
        let none = sc.score_region(&t1, 0, &prep, 0, 0, 18);
        assert_eq!(none.hits, 0);
        assert!(none.best_score < r.best_score);
        assert!(none.occupancy < 0.2, "{none:?}");
        // all N: nothing scoreable
        let n = b"NNNNNNNNNN";
        sc.prepare(n, &mut prep);
        let e = sc.score_region(&t1, 0, &prep, 0, 0, 10);
        assert!(e.affinity.is_nan() && e.best_score.is_nan() && e.hits == 0);
        assert!(e.occupancy.is_nan());
    }

    /// Occupancy saturates on one strong site and adds up weak ones: one site far above
    /// mu counts about 1, while five sites at mu count about 2.5.
    #[test]
    fn occupancy_saturates_and_adds_weak_sites() {
        let sc = scanner();
        let mut prep = crate::scan::prep::Prepared::default();
        let strong = b"TTTTTTTTTTTTTTTTTTTTAAACCTTTTTTTTTTTTTTTTTTTTT";
        sc.prepare(strong, &mut prep);
        let n = strong.len() as u64;
        let best = sc.score_region(&tables(&sc, 1.0, Potential::Bits(0.0)), 0, &prep, 0, 0, n);
        for below in [4.0, 4.5] {
            let mu = Potential::Bits(best.best_score - below);
            let far = sc.score_region(&tables(&sc, 1.0, mu), 0, &prep, 0, 0, n);
            assert!(far.occupancy > 0.9 && far.occupancy < 1.1, "{far:?}");
        }
        // five copies of the site with mu at the site's score: 5 * 1/2 plus background
        let five = b"AAACCTAAACCTAAACCTAAACCTAAACCT";
        sc.prepare(five, &mut prep);
        let t = tables(&sc, 1.0, Potential::Bits(best.best_score));
        let r = sc.score_region(&t, 0, &prep, 0, 0, five.len() as u64);
        assert!(r.occupancy > 2.5 && r.occupancy < 2.6, "{r:?}");
    }

    #[test]
    fn bad_settings_are_typed_errors() {
        let sc = scanner();
        for (tau, mu) in [
            (0.0, Potential::Bits(1.0)),
            (f64::NAN, Potential::Bits(1.0)),
            (f64::INFINITY, Potential::Bits(1.0)),
            (1.0, Potential::Bits(f64::NAN)),
            (1.0, Potential::Bits(1e6)),
            (1.0, Potential::PValue(0.0)),
            (1.0, Potential::PValue(1.5)),
        ] {
            let e = RegionTables::new(&sc, &RegionSettings { tau, mu });
            assert!(
                matches!(e, Err(crate::MotifError::Invalid(_))),
                "{tau} {mu:?}"
            );
        }
        // a p-value above the scan threshold needs the whole p-value table
        let m = sc.motifs()[0].motif.clone();
        let bg = BackgroundSource::Uniform.resolve(true).unwrap();
        let cut = Scanner::new(&[m], bg, ScanOptions::default()).unwrap();
        let e = RegionTables::new(&cut, &RegionSettings::default());
        assert!(matches!(e, Err(crate::MotifError::Motif { .. })), "{e:?}");
    }
}
