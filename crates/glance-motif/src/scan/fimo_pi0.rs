//! FIMO's own pi0, for q-values equal to a fresh `fimo` process's (`glance scan
//! --fimo-pi0`). After a normal scan, [`FimoPi0::plan`] replays FIMO's generator over
//! the motifs in order (see [`crate::qvalue::fimo`]): which tests end in each motif's
//! 10,000-slot reservoir and where its bootstraps start. [`FimoPi0::collect`] then reads
//! the inputs a second time and scores just those tests, and [`FimoPi0::pi0s`] runs
//! FIMO's bootstraps. FIMO feeds a motif's tests sequence by sequence, window by
//! window, forward strand then reverse, skipping windows with non-ACGT letters; test
//! number `f` is therefore the `f / strands`-th scoreable window of the motif's width,
//! on strand `f % strands`.
//!
//! The replay is sequential and costs two generator words per test beyond the first
//! 10,000 of each motif: about 5 ns per test, 10 ms per megabase and motif on both
//! strands (54 s for a 5.4 Mb genome and 1019 motifs); the default estimator
//! ([`crate::qvalue::estimate_pi0`]) costs nothing extra.

use rayon::prelude::*;

use glance_seq::{Chunk, Chunker, SequenceSource};

use super::prep::Prepared;
use super::{ScanTally, Scanner};
use crate::error::MotifError;
use crate::qvalue::fimo::{self as replay, Pi0Source, BOOTSTRAP_DRAWS, NUM_BOOTSTRAPS};
use crate::qvalue::mtwist::MersenneTwister;

/// One motif's part of the replay.
#[derive(Debug)]
struct MotifPlan {
    width: usize,
    /// The generator where FIMO draws this motif's bootstraps (none: pi0 = 1).
    boot: Option<MersenneTwister>,
    /// Reservoir tests still to score: (rank among scoreable windows, strand), sorted.
    requests: Vec<(u64, u8)>,
    /// Requests scored so far.
    next: usize,
    /// Lambda buckets of the sample (see [`crate::scan::CompiledMotif::bucket`]).
    buckets: Vec<u8>,
}

/// FIMO's pi0 sample for every motif of a finished run.
#[derive(Debug)]
pub struct FimoPi0 {
    plans: Vec<MotifPlan>,
    /// `rank[w]`: scoreable windows of width `w` met so far by [`FimoPi0::collect`].
    rank: Vec<u64>,
}

/// Bucket of scaled score `s` (0 when out of the table, which does not happen for
/// scores of ACGT windows).
fn bucket_of(bucket: &[u8], s: i32) -> u8 {
    usize::try_from(s)
        .ok()
        .and_then(|s| bucket.get(s).copied())
        .unwrap_or(0)
}

impl FimoPi0 {
    /// Replays FIMO's generator for the run whose tallies are `tallies` (test and hit
    /// counts per motif; hits before any q-value filter).
    pub fn plan(scanner: &Scanner, tallies: &[ScanTally]) -> FimoPi0 {
        let strands: u64 = if scanner.options().both_strands { 2 } else { 1 };
        let mut rng = MersenneTwister::default();
        let plans = tallies
            .iter()
            .zip(scanner.motifs())
            .map(|(t, m)| {
                let slots = replay::reservoir_slots(&mut rng, t.tests);
                let source = Pi0Source::choose(t.tests, t.hits().len() as u64);
                let boot = source.draws().then(|| {
                    let at = rng.clone();
                    rng.skip_draws((NUM_BOOTSTRAPS * BOOTSTRAP_DRAWS) as u64);
                    at
                });
                let (mut requests, mut buckets) = (Vec::new(), Vec::new());
                match source {
                    Pi0Source::Reservoir => {
                        requests = slots
                            .iter()
                            .map(|&f| (f / strands, (f % strands) as u8))
                            .collect();
                        requests.sort_unstable();
                        buckets.reserve(requests.len());
                    }
                    Pi0Source::Hits => {
                        buckets = t
                            .hits()
                            .iter()
                            .map(|h| bucket_of(&m.bucket, h.scaled))
                            .collect();
                    }
                    Pi0Source::One => {}
                }
                MotifPlan {
                    width: m.width(),
                    boot,
                    requests,
                    next: 0,
                    buckets,
                }
            })
            .collect();
        FimoPi0 {
            plans,
            rank: vec![0; scanner.max_width() + 1],
        }
    }

    /// Whether any motif needs its reservoir scored (else [`FimoPi0::collect`] can be
    /// skipped).
    pub fn needs_samples(&self) -> bool {
        self.plans.iter().any(|p| !p.requests.is_empty())
    }

    /// Reads one input of the run (inputs in the order of the scan) and scores the
    /// reservoir tests it holds.
    pub fn collect<S: SequenceSource + Send>(
        &mut self,
        scanner: &Scanner,
        source: S,
        chunk_size: usize,
    ) -> Result<(), MotifError> {
        let mut chunker = Chunker::new(source, scanner.chunk_options(chunk_size.max(1)))?;
        let mut chunk = Chunk::default();
        let mut prep = Prepared::default();
        let mut positions = Vec::new();
        while chunker.next_chunk(&mut chunk)? {
            self.collect_chunk(scanner, &chunk, &mut prep, &mut positions);
        }
        Ok(())
    }

    fn collect_chunk(
        &mut self,
        scanner: &Scanner,
        chunk: &Chunk,
        prep: &mut Prepared,
        positions: &mut Vec<usize>,
    ) {
        scanner.prepare(&chunk.bases, prep);
        let n = prep.len();
        let from = ((chunk.core.start - chunk.start) as usize).min(n);
        let to = ((chunk.core.end - chunk.start) as usize).min(n);
        let cap = scanner.max_width();
        let mut at_least = vec![0u64; cap + 2];
        for &r in &prep.valid_run[from..to] {
            at_least[usize::from(r).min(cap)] += 1;
        }
        for w in (0..cap).rev() {
            at_least[w] += at_least[w + 1];
        }
        let FimoPi0 { plans, rank } = self;
        for w in 1..=cap {
            let end = rank[w] + at_least[w];
            let due = |p: &MotifPlan| {
                p.width == w && p.requests.get(p.next).is_some_and(|&(j, _)| j < end)
            };
            if !plans.iter().any(due) {
                continue;
            }
            positions.clear();
            positions.extend((from..to).filter(|&i| usize::from(prep.valid_run[i]) >= w));
            let base = rank[w];
            let (prep, positions) = (&*prep, &*positions);
            plans
                .par_iter_mut()
                .zip(scanner.motifs().par_iter())
                .filter(|(p, _)| due(p))
                .for_each(|(p, m)| {
                    while let Some(&(j, s)) = p.requests.get(p.next) {
                        if j >= end {
                            break;
                        }
                        let i = positions[(j - base) as usize];
                        let score = m.strands[usize::from(s)].score(prep, i).unwrap_or(0);
                        p.buckets.push(bucket_of(&m.bucket, score));
                        p.next += 1;
                    }
                });
        }
        for (r, a) in rank.iter_mut().zip(&at_least) {
            *r += a;
        }
    }

    /// FIMO's pi0 per motif. Fails when the inputs read by [`FimoPi0::collect`] did not
    /// hold every reservoir test (they differ from the scanned ones).
    pub fn pi0s(self) -> Result<Vec<f64>, MotifError> {
        if self.plans.iter().any(|p| p.next < p.requests.len()) {
            return Err(MotifError::Invalid(
                "the inputs changed between the scan and the pi0 pass".to_string(),
            ));
        }
        Ok(self
            .plans
            .into_par_iter()
            .map(|p| match p.boot {
                Some(mut rng) => {
                    let mut b = p.buckets;
                    b.sort_unstable();
                    replay::estimate_pi0(&mut rng, &b)
                }
                None => 1.0,
            })
            .collect())
    }
}
