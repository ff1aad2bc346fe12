//! Multi-motif scanning with FIMO's scores and p-values: a [`Scanner`] compiles every
//! motif once, then scans prepared chunks of sequence for all motifs (rayon over motifs),
//! accumulating per-motif hits, test counts and the p-value sample for q-values in
//! [`ScanTally`]s; [`ScanTally::finish`] turns them into [`Hit`]s with q-values.

pub mod driver;
pub mod kernel;
pub mod prep;
pub mod tables;

use rayon::prelude::*;

use crate::error::MotifError;
use crate::motif::Motif;
use crate::pssm::{MotifModel, Pssm, DEFAULT_PSEUDOCOUNT};
use crate::qvalue::{self, NUM_LAMBDA};
use prep::Prepared;
use tables::{StrandTables, MAX_K};

/// Scan settings (FIMO's defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct ScanOptions {
    /// Keep windows with p-value `<= thresh` (FIMO `--thresh`, default 1e-4).
    pub thresh: f64,
    /// Scan the reverse strand too (FIMO's default; `--norc` turns it off).
    pub both_strands: bool,
    /// Motif pseudocount (FIMO `--motif-pseudo`, default 0.1).
    pub pseudocount: f64,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            thresh: 1e-4,
            both_strands: true,
            pseudocount: DEFAULT_PSEUDOCOUNT,
        }
    }
}

/// One motif compiled for scanning.
#[derive(Debug, Clone)]
pub struct CompiledMotif {
    /// The motif as read.
    pub motif: Motif,
    /// FIMO's PSSMs and p-value tables.
    pub model: MotifModel,
    /// Smallest scaled score with p-value `<= thresh` (`i32::MAX` when unreachable).
    pub threshold: i32,
    /// Tables per strand: forward, then reverse when scanning both strands.
    pub strands: Vec<StrandTables>,
    /// `cutoffs[i]`: largest scaled score whose p-value is `>= lambda_i` (q-value pi0).
    pub cutoffs: [i32; NUM_LAMBDA],
}

impl CompiledMotif {
    /// Motif width.
    pub fn width(&self) -> usize {
        self.model.fwd.width()
    }

    /// The PSSM of strand `s` (0 forward, 1 reverse).
    pub fn pssm(&self, s: usize) -> &Pssm {
        if s == 0 {
            &self.model.fwd
        } else {
            self.model.rev.as_ref().unwrap_or(&self.model.fwd)
        }
    }

    fn bucket(&self, scaled: i32) -> usize {
        // cutoffs are non-increasing: count the prefix with cutoff >= scaled
        self.cutoffs.partition_point(|&c| c >= scaled)
    }
}

/// Compiled motifs plus the options they were compiled for.
#[derive(Debug, Clone)]
pub struct Scanner {
    motifs: Vec<CompiledMotif>,
    options: ScanOptions,
    ks: Vec<bool>,
    max_width: usize,
    sample_base: u64,
}

/// A chunk of one record handed to [`Scanner::scan_chunk`].
#[derive(Debug, Clone, Copy)]
pub struct ChunkMeta {
    /// Index of the record (into the caller's list of names).
    pub record: u32,
    /// 0-based position in the record of the chunk's first base.
    pub offset: u64,
    /// Window starts this chunk owns, relative to its first base.
    pub core_start: usize,
    /// End (exclusive) of the owned window starts, relative to the first base.
    pub core_end: usize,
    /// Global window index of the chunk's first base: bases of all earlier records plus
    /// `offset` (drives the deterministic p-value sample).
    pub global: u64,
}

/// A hit before q-values: everything FIMO reports about one window and strand.
#[derive(Debug, Clone, PartialEq)]
pub struct RawHit {
    /// Record index.
    pub record: u32,
    /// 0-based start in the record.
    pub start: u64,
    /// Reverse strand?
    pub reverse: bool,
    /// Scaled integer score.
    pub scaled: i32,
    /// The window's bases as FIMO prints them (forward: as in the input; reverse:
    /// upper-case reverse complement).
    pub matched: Box<[u8]>,
}

/// Per-motif accumulators over a whole run.
#[derive(Debug, Clone)]
pub struct ScanTally {
    /// Number of tests: scoreable windows times strands (FIMO's q-value `m`).
    pub tests: u64,
    /// Weighted p-value sample binned by lambda (see [`qvalue::estimate_pi0`]).
    pub bins: [u64; NUM_LAMBDA + 1],
    /// Unweighted sample size.
    pub samples: u64,
    /// Hits at the p-value threshold.
    pub hits: Vec<RawHit>,
}

impl Default for ScanTally {
    fn default() -> Self {
        ScanTally {
            tests: 0,
            bins: [0; NUM_LAMBDA + 1],
            samples: 0,
            hits: Vec::new(),
        }
    }
}

/// A finished hit with its p-value and q-value.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Motif index.
    pub motif: u32,
    /// Record index.
    pub record: u32,
    /// 1-based first position.
    pub start: u64,
    /// 1-based last position (inclusive).
    pub stop: u64,
    /// Reverse strand?
    pub reverse: bool,
    /// Scaled integer score.
    pub scaled: i32,
    /// Reported score (FIMO's).
    pub score: f64,
    /// p-value (FIMO's, 10 significant digits).
    pub pvalue: f64,
    /// q-value.
    pub qvalue: f64,
    /// Matched sequence.
    pub matched: Box<[u8]>,
}

impl Scanner {
    /// Compiles motifs for scanning against background `bg` (as resolved by
    /// [`crate::BackgroundSource::resolve`]).
    pub fn new(
        motifs: &[Motif],
        bg: [f64; 4],
        options: ScanOptions,
    ) -> Result<Scanner, MotifError> {
        if motifs.is_empty() {
            return Err(MotifError::Empty);
        }
        if !(options.thresh > 0.0 && options.thresh <= 1.0) {
            return Err(MotifError::Invalid(format!(
                "threshold {} must lie in (0, 1]",
                options.thresh
            )));
        }
        if !(options.pseudocount >= 0.0 && options.pseudocount.is_finite()) {
            return Err(MotifError::Invalid(format!(
                "pseudocount {} must be >= 0",
                options.pseudocount
            )));
        }
        let lam = qvalue::lambdas();
        let compiled: Vec<CompiledMotif> = motifs
            .par_iter()
            .map(|m| {
                let model = MotifModel::build(m, &bg, options.pseudocount, options.both_strands);
                let threshold = model
                    .fwd
                    .threshold_score(options.thresh)
                    .unwrap_or(i32::MAX);
                let mut cutoffs = [0i32; NUM_LAMBDA];
                for (c, &l) in cutoffs.iter_mut().zip(&lam) {
                    *c = model.fwd.last_score_with_pvalue_at_least(l);
                }
                let mut strands = vec![StrandTables::new(&model.fwd.matrix, threshold)];
                if let Some(rev) = &model.rev {
                    strands.push(StrandTables::new(&rev.matrix, threshold));
                }
                CompiledMotif {
                    motif: m.clone(),
                    model,
                    threshold,
                    strands,
                    cutoffs,
                }
            })
            .collect();
        let max_width = compiled.iter().map(|m| m.width()).max().unwrap_or(1);
        let mut ks = vec![false; MAX_K + 1];
        for m in &compiled {
            for s in &m.strands {
                for b in &s.blocks {
                    ks[b.k] = true;
                }
            }
        }
        let sample_base = qvalue::sample_base(compiled.len());
        Ok(Scanner {
            sample_base,
            motifs: compiled,
            options,
            ks,
            max_width,
        })
    }

    /// The compiled motifs.
    pub fn motifs(&self) -> &[CompiledMotif] {
        &self.motifs
    }

    /// The options.
    pub fn options(&self) -> &ScanOptions {
        &self.options
    }

    /// The widest motif: chunks need `max_width - 1` bases after their core.
    pub fn max_width(&self) -> usize {
        self.max_width
    }

    /// Fresh tallies, one per motif.
    pub fn new_tallies(&self) -> Vec<ScanTally> {
        vec![ScanTally::default(); self.motifs.len()]
    }

    /// Prepares a chunk's bases (reusing `prep`'s buffers).
    pub fn prepare(&self, bases: &[u8], prep: &mut Prepared) {
        prep.fill(bases, &self.ks, self.max_width);
    }

    /// Scans one prepared chunk for every motif (in parallel) into `tallies`.
    /// `bases` must extend `max_width - 1` bases past `core_end` unless the record ends.
    pub fn scan_chunk(
        &self,
        bases: &[u8],
        prep: &Prepared,
        meta: &ChunkMeta,
        tallies: &mut [ScanTally],
    ) {
        let n = prep.len();
        let core_end = meta.core_end.min(n);
        // Histogram of valid runs (capped at the widest motif) over the core: the
        // number of scoreable windows of width w is the count of runs >= w.
        let cap = self.max_width;
        let mut hist = vec![0u64; cap + 1];
        for &r in &prep.valid_run[meta.core_start.min(n)..core_end] {
            hist[usize::from(r).min(cap)] += 1;
        }
        let mut at_least = vec![0u64; cap + 2];
        for w in (0..=cap).rev() {
            at_least[w] = at_least[w + 1] + hist[w];
        }
        let mut samples = Vec::new();
        qvalue::sampled_windows(
            meta.global + meta.core_start as u64,
            meta.global + core_end as u64,
            self.sample_base,
            &mut samples,
        );
        let strands = if self.options.both_strands { 2 } else { 1 };
        self.motifs
            .par_iter()
            .zip(tallies.par_iter_mut())
            .for_each_init(
                || (Vec::new(), Vec::new()),
                |(cand, found), (m, tally)| {
                    let w = m.width();
                    tally.tests += at_least[w] * strands as u64;
                    // p-value sample for pi0
                    for &(g, weight) in &samples {
                        let i = (g - meta.global) as usize;
                        if usize::from(prep.valid_run[i]) < w {
                            continue;
                        }
                        for t in &m.strands {
                            if let Some(s) = t.score(prep, i) {
                                tally.bins[m.bucket(s)] += weight;
                                tally.samples += 1;
                            }
                        }
                    }
                    if m.threshold == i32::MAX {
                        return;
                    }
                    for (si, t) in m.strands.iter().enumerate() {
                        found.clear();
                        kernel::scan_strand(
                            t,
                            prep,
                            meta.core_start,
                            core_end,
                            w,
                            m.threshold,
                            cand,
                            found,
                        );
                        for &(i, s) in found.iter() {
                            let i = i as usize;
                            let window = &bases[i..i + w];
                            let matched: Box<[u8]> = if si == 0 {
                                window.into()
                            } else {
                                window.iter().rev().map(|&b| complement(b)).collect()
                            };
                            tally.hits.push(RawHit {
                                record: meta.record,
                                start: meta.offset + i as u64,
                                reverse: si == 1,
                                scaled: s,
                                matched,
                            });
                        }
                    }
                },
            );
    }

    /// Turns the tallies of a finished run into hits with q-values, sorted as FIMO
    /// prints them: by p-value, then motif, record, start and strand (FIMO leaves ties in
    /// heap order; glance makes them deterministic). With `qv_thresh`, only hits with
    /// q-value `<= options.thresh` are kept.
    pub fn finish(&self, tallies: Vec<ScanTally>, qv_thresh: bool) -> Vec<Hit> {
        let per_motif: Vec<Vec<Hit>> = tallies
            .into_par_iter()
            .zip(self.motifs.par_iter())
            .enumerate()
            .map(|(mi, (tally, m))| {
                let pi0 = qvalue::estimate_pi0(&tally.bins, tally.samples);
                let mut hits: Vec<Hit> = tally
                    .hits
                    .into_iter()
                    .map(|h| {
                        let pssm = m.pssm(usize::from(h.reverse));
                        let w = m.width() as u64;
                        Hit {
                            motif: mi as u32,
                            record: h.record,
                            start: h.start + 1,
                            stop: h.start + w,
                            reverse: h.reverse,
                            scaled: h.scaled,
                            score: pssm.score(h.scaled),
                            pvalue: pssm.pvalue(h.scaled),
                            qvalue: f64::NAN,
                            matched: h.matched,
                        }
                    })
                    .collect();
                hits.sort_by(|a, b| {
                    a.pvalue
                        .total_cmp(&b.pvalue)
                        .then(a.record.cmp(&b.record))
                        .then(a.start.cmp(&b.start))
                        .then(a.reverse.cmp(&b.reverse))
                });
                let mut q: Vec<f64> = hits.iter().map(|h| h.pvalue).collect();
                qvalue::qvalues_in_place(&mut q, pi0, tally.tests);
                for (h, q) in hits.iter_mut().zip(q) {
                    h.qvalue = q;
                }
                if qv_thresh {
                    let t = self.options.thresh;
                    hits.retain(|h| h.qvalue <= t);
                }
                hits
            })
            .collect();
        let mut all: Vec<Hit> = per_motif.into_iter().flatten().collect();
        all.par_sort_by(|a, b| {
            a.pvalue
                .total_cmp(&b.pvalue)
                .then(a.motif.cmp(&b.motif))
                .then(a.record.cmp(&b.record))
                .then(a.start.cmp(&b.start))
                .then(a.reverse.cmp(&b.reverse))
        });
        all
    }
}

/// Complement of a base as FIMO prints reverse-strand matches (upper case).
fn complement(b: u8) -> u8 {
    match b {
        b'A' | b'a' => b'T',
        b'C' | b'c' => b'G',
        b'G' | b'g' => b'C',
        b'T' | b't' => b'A',
        other => other.to_ascii_uppercase(),
    }
}
