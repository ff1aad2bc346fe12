//! FIMO's own pi0 estimate, replayed draw for draw (MEME suite `reservoir.c`,
//! `qvalue.c` `estimate_pi_zero`, `array.c` `bootstrap_array`).
//!
//! Per motif, in motif order, FIMO feeds every test's p-value to a 10,000-slot
//! reservoir: sample number `s > 10,000` (1-based) draws `r = (int)(s * drand_mt())` and
//! replaces slot `r` when `r < 10,000`. If the motif has hits, [`compute_qvalues`]
//! then sorts the sample and draws 100 bootstraps of 1,000 indices
//! `(int)(drand_mt() * n)`. The draws depend only on how many p-values were fed, not
//! on their values, so the slots' sample numbers and the bootstrap indices can be
//! replayed from the generator alone; p-values enter only through `p >= lambda`, i.e.
//! through each sample's lambda bucket.
//!
//! [`compute_qvalues`]: https://meme-suite.org (src/qvalue.c)

use super::mtwist::MersenneTwister;
use super::{lambdas, MIN_SAMPLES, NUM_LAMBDA};

/// Reservoir size (FIMO's `new_reservoir_sampler(10000, NULL)`).
pub const RESERVOIR_SIZE: u64 = 10_000;
/// Bootstraps per pi0 estimate (`NUM_BOOTSTRAPS`).
pub const NUM_BOOTSTRAPS: usize = 100;
/// Draws per bootstrap (`NUM_BOOTSTRAP_SAMPLES`).
pub const BOOTSTRAP_DRAWS: usize = 1000;

/// Draws FIMO's reservoir for `seen` fed p-values: for each slot, the 0-based number of
/// the sample it holds at the end.
pub fn reservoir_slots(rng: &mut MersenneTwister, seen: u64) -> Vec<u64> {
    let mut slots: Vec<u64> = (0..seen.min(RESERVOIR_SIZE)).collect();
    for s in RESERVOIR_SIZE + 1..=seen {
        // C: int r = (size_t) seen * drand_mt(); truncation toward zero
        let r = (s as f64 * rng.drand()) as i64;
        if (0..RESERVOIR_SIZE as i64).contains(&r) {
            slots[r as usize] = s - 1;
        }
    }
    slots
}

/// Which p-values FIMO estimates pi0 from, and whether it draws bootstraps
/// (`compute_qvalues` in `qvalue.c`; called only for motifs with hits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pi0Source {
    /// No estimate: pi0 = 1 and no draws (no hits, or too few p-values).
    One,
    /// Every test is a hit: pi0 from the hits' p-values.
    Hits,
    /// From the reservoir sample.
    Reservoir,
}

impl Pi0Source {
    /// FIMO's choice for a motif with `tests` tests and `hits` hits.
    pub fn choose(tests: u64, hits: u64) -> Pi0Source {
        if hits == 0 {
            Pi0Source::One
        } else if tests == hits {
            if hits > MIN_SAMPLES {
                Pi0Source::Hits
            } else {
                Pi0Source::One
            }
        } else if tests.min(RESERVOIR_SIZE) > MIN_SAMPLES {
            Pi0Source::Reservoir
        } else {
            Pi0Source::One
        }
    }

    /// Whether FIMO draws bootstraps (and so consumes generator output).
    pub fn draws(self) -> bool {
        self != Pi0Source::One
    }
}

/// FIMO's `estimate_pi_zero` over a sample given by its lambda buckets (`bucket` =
/// number of lambdas `lambda_i` with `p >= lambda_i`), sorted ascending, drawing the
/// bootstraps from `rng` positioned where FIMO draws them.
pub fn estimate_pi0(rng: &mut MersenneTwister, sorted_buckets: &[u8]) -> f64 {
    let n = sorted_buckets.len();
    if n == 0 {
        return 1.0;
    }
    let lam = lambdas();
    // pi0(lambda_i) = #{p >= lambda_i} / ((1 - lambda_i) n); zero becomes HUGE_VAL
    let pi0_of = |counts: &[u64; NUM_LAMBDA + 1], total: usize| -> [f64; NUM_LAMBDA] {
        let mut out = [0.0; NUM_LAMBDA];
        let mut greater = 0u64;
        for i in (0..NUM_LAMBDA).rev() {
            greater += counts[i + 1];
            let p = greater as f64 / ((1.0 - lam[i]) * total as f64);
            out[i] = if p == 0.0 { f64::INFINITY } else { p };
        }
        out
    };
    let mut counts = [0u64; NUM_LAMBDA + 1];
    for &b in sorted_buckets {
        counts[usize::from(b).min(NUM_LAMBDA)] += 1;
    }
    let pi0s = pi0_of(&counts, n);
    let mut min_pi0 = pi0s[0];
    for &p in &pi0s[1..] {
        if p < min_pi0 {
            min_pi0 = p;
        }
    }
    let mut mse = [0.0f64; NUM_LAMBDA];
    for _ in 0..NUM_BOOTSTRAPS {
        let mut c = [0u64; NUM_LAMBDA + 1];
        for _ in 0..BOOTSTRAP_DRAWS {
            let idx = ((rng.drand() * n as f64) as usize).min(n - 1);
            c[usize::from(sorted_buckets[idx]).min(NUM_LAMBDA)] += 1;
        }
        let boot = pi0_of(&c, BOOTSTRAP_DRAWS);
        for (m, p) in mse.iter_mut().zip(boot) {
            let e = p - min_pi0;
            *m += e * e;
        }
    }
    let mut best = 0;
    for i in 1..NUM_LAMBDA {
        if mse[i] < mse[best] {
            best = i;
        }
    }
    pi0s[best].clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_runs_keep_every_sample_without_draws() {
        let mut rng = MersenneTwister::default();
        let before = rng.clone().drand();
        assert_eq!(reservoir_slots(&mut rng, 5), vec![0, 1, 2, 3, 4]);
        assert_eq!(rng.drand(), before);
    }

    #[test]
    fn reservoir_replaces_with_falling_probability() {
        let mut rng = MersenneTwister::default();
        let slots = reservoir_slots(&mut rng, 1_000_000);
        assert_eq!(slots.len(), 10_000);
        // a uniform sample: about 99% of the slots were replaced, ~half by the second half
        let late = slots.iter().filter(|&&s| s >= 500_000).count();
        assert!((4_500..5_500).contains(&late), "{late}");
        assert!(slots.iter().all(|&s| s < 1_000_000));
    }

    #[test]
    fn source_follows_fimo() {
        assert_eq!(Pi0Source::choose(1_000_000, 0), Pi0Source::One);
        assert_eq!(Pi0Source::choose(1_000_000, 5), Pi0Source::Reservoir);
        assert_eq!(Pi0Source::choose(100, 5), Pi0Source::One);
        assert_eq!(Pi0Source::choose(101, 5), Pi0Source::Reservoir);
        assert_eq!(Pi0Source::choose(500, 500), Pi0Source::Hits);
        assert_eq!(Pi0Source::choose(50, 50), Pi0Source::One);
    }

    #[test]
    fn uniform_sample_gives_pi0_near_one() {
        let lam = lambdas();
        let mut b: Vec<u8> = (0..10_000)
            .map(|j| {
                let p = (j as f64 + 0.5) / 10_000.0;
                lam.iter().filter(|&&l| p >= l).count() as u8
            })
            .collect();
        b.sort_unstable();
        let pi0 = estimate_pi0(&mut MersenneTwister::default(), &b);
        assert!(pi0 > 0.95 && pi0 <= 1.0, "{pi0}");
    }
}
