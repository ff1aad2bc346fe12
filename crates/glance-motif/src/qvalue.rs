//! q-values as FIMO computes them (MEME suite `compute_qvalues`): Storey's pi0 estimate
//! (Storey 2002, lambda in 0.005, 0.010, ..., 0.5, the lambda whose bootstrap mean squared
//! error against the smallest estimate is least), then Benjamini-Hochberg over all tests
//! with the step-down minimum.
//!
//! FIMO estimates pi0 from a reservoir sample of 10,000 p-values and draws 100
//! bootstraps of 1,000, from the MEME suite's unseeded (so fixed-seed) Mersenne Twister.
//! By default glance uses a deterministic weighted sample instead (see
//! [`sample_stride`] and [`sample_base`]) and the exact expected bootstrap error of a
//! 1,000-draw bootstrap, which costs nothing extra; [`fimo`] and [`mtwist`] replay
//! FIMO's own draws instead (`glance scan --fimo-pi0`, [`crate::scan::fimo_pi0`]), so
//! that q-values equal a `fimo` run's. Neither depends on thread count or chunk size.

pub mod fimo;
pub mod mtwist;

/// Number of lambda values (MEME's `NUM_LAMBDA`).
pub const NUM_LAMBDA: usize = 100;
/// Largest lambda (MEME's `MAX_LAMBDA`).
pub const MAX_LAMBDA: f64 = 0.5;
/// Size of one bootstrap sample (MEME's `NUM_BOOTSTRAP_SAMPLES`).
pub const BOOTSTRAP_SIZE: f64 = 1000.0;
/// FIMO needs more than this many sampled p-values to estimate pi0 (else uses 1).
pub const MIN_SAMPLES: u64 = 100;
/// Budget of sampled (motif x window) pairs that sets the sampling base.
pub const SAMPLE_BUDGET: u64 = 1 << 20;

/// The sampling base for a run over `motifs` motifs: `SAMPLE_BUDGET / motifs` rounded
/// down to a power of two, clamped to `1024..=2^20` (every window of a 2 Mb input is
/// sampled for one motif; 1024 for a 1019-motif set, about 15,000 windows of a 5 Mb
/// genome, i.e. 30,000 p-values per motif where FIMO samples 10,000).
pub fn sample_base(motifs: usize) -> u64 {
    let raw = SAMPLE_BUDGET / (motifs.max(1) as u64);
    let pow = if raw == 0 {
        1
    } else {
        1u64 << (63 - raw.leading_zeros())
    };
    pow.clamp(1024, 1 << 20)
}

/// The lambda grid: `lambda_i = ((i + 1) / 100) * 0.5`.
pub fn lambdas() -> [f64; NUM_LAMBDA] {
    let mut l = [0.0; NUM_LAMBDA];
    for (i, v) in l.iter_mut().enumerate() {
        *v = ((i + 1) as f64 / NUM_LAMBDA as f64) * MAX_LAMBDA;
    }
    l
}

/// Sampling stride at global window index `g`: 1 for the first `2 * base` windows of
/// the run, then the largest power of two `<= g / base`. Window `g` is sampled when
/// `g` is a multiple of its stride, and weighs its stride, so the weighted sample
/// estimates the distribution of every tested window with about
/// `base * (2 + log2(n / base))` windows.
pub fn sample_stride(g: u64, base: u64) -> u64 {
    let r = g / base;
    if r <= 1 {
        1
    } else {
        1u64 << (63 - r.leading_zeros())
    }
}

/// Sampled window indices in `g0..g1` with their weights.
pub fn sampled_windows(g0: u64, g1: u64, base: u64, out: &mut Vec<(u64, u64)>) {
    out.clear();
    let mut g = g0;
    while g < g1 {
        let s = sample_stride(g, base);
        if !g.is_multiple_of(s) {
            g = (g / s + 1) * s;
            continue;
        }
        out.push((g, s));
        g += s;
    }
}

/// Storey's pi0 from binned, weighted p-values: `bins[b]` holds the weight of sampled
/// p-values that are `>= lambda_i` exactly for `i < b`; `samples` is their unweighted
/// count.
pub fn estimate_pi0(bins: &[u64; NUM_LAMBDA + 1], samples: u64) -> f64 {
    if samples <= MIN_SAMPLES {
        return 1.0;
    }
    let total: u64 = bins.iter().sum();
    if total == 0 {
        return 1.0;
    }
    let lam = lambdas();
    // greater[i] = weight of p >= lambda_i = sum of bins[b] for b > i
    let mut greater = [0u64; NUM_LAMBDA];
    let mut acc = 0u64;
    for i in (0..NUM_LAMBDA).rev() {
        acc += bins[i + 1];
        greater[i] = acc;
    }
    let n = total as f64;
    let mut pi0s = [0.0; NUM_LAMBDA];
    for i in 0..NUM_LAMBDA {
        let p = greater[i] as f64 / ((1.0 - lam[i]) * n);
        pi0s[i] = if p == 0.0 { f64::INFINITY } else { p };
    }
    let min_pi0 = pi0s.iter().copied().fold(f64::INFINITY, f64::min);
    // Expected squared error of the bootstrap estimate: X ~ Binomial(B, F),
    // pi0* = X / ((1 - lambda) B): variance plus squared bias against min_pi0.
    let mut best = 0;
    let mut best_err = f64::INFINITY;
    for i in 0..NUM_LAMBDA {
        let f = greater[i] as f64 / n;
        let d = 1.0 - lam[i];
        let var = f * (1.0 - f) / (BOOTSTRAP_SIZE * d * d);
        let bias = f / d - min_pi0;
        let err = var + bias * bias;
        if err < best_err {
            best_err = err;
            best = i;
        }
    }
    pi0s[best].clamp(0.0, 1.0)
}

/// Converts p-values sorted ascending into q-values in place, FIMO's way:
/// `fdr_i = pi0 * p_i * (float)m / (float)(i + 1)`, capped at 1, then the running
/// minimum from the largest p-value down.
pub fn qvalues_in_place(pvalues: &mut [f64], pi0: f64, total_tests: u64) {
    let m = total_tests as f32 as f64;
    for (i, p) in pvalues.iter_mut().enumerate() {
        let fdr = (pi0 * *p * m) / ((i + 1) as f32 as f64);
        *p = fdr.min(1.0);
    }
    if pvalues.len() <= 1 {
        return;
    }
    for i in (0..pvalues.len() - 1).rev() {
        if pvalues[i + 1] < pvalues[i] {
            pvalues[i] = pvalues[i + 1];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_pvalues_give_pi0_near_one() {
        // 10,000 evenly spread p-values: the weight above each lambda is (1 - lambda) n.
        let lam = lambdas();
        let mut bins = [0u64; NUM_LAMBDA + 1];
        for j in 0..10_000 {
            let p = (j as f64 + 0.5) / 10_000.0;
            let b = lam.iter().filter(|&&l| p >= l).count();
            bins[b] += 1;
        }
        let pi0 = estimate_pi0(&bins, 10_000);
        assert!((pi0 - 1.0).abs() < 0.01, "{pi0}");
    }

    #[test]
    fn mixture_gives_null_fraction() {
        // 30% of tests at p = 0 (signal), 70% uniform.
        let lam = lambdas();
        let mut bins = [0u64; NUM_LAMBDA + 1];
        bins[0] += 30_000;
        for j in 0..70_000 {
            let p = (j as f64 + 0.5) / 70_000.0;
            let b = lam.iter().filter(|&&l| p >= l).count();
            bins[b] += 1;
        }
        let pi0 = estimate_pi0(&bins, 100_000);
        assert!((pi0 - 0.7).abs() < 0.01, "{pi0}");
    }

    #[test]
    fn few_samples_use_pi0_one() {
        let mut bins = [0u64; NUM_LAMBDA + 1];
        bins[0] = 50;
        assert_eq!(estimate_pi0(&bins, 50), 1.0);
    }

    #[test]
    fn bh_with_monotone_minimum() {
        let mut p = vec![0.001, 0.002, 0.002, 0.5];
        qvalues_in_place(&mut p, 1.0, 10);
        // raw: 0.01, 0.01, 0.00666.., 1.0 -> running min from the top
        assert!((p[0] - 0.02 / 3.0).abs() < 1e-12);
        assert!((p[1] - 0.02 / 3.0).abs() < 1e-12);
        assert!((p[2] - 0.02 / 3.0).abs() < 1e-12);
        assert_eq!(p[3], 1.0);
    }

    #[test]
    fn sample_base_follows_the_budget() {
        assert_eq!(sample_base(1), 1 << 20);
        assert_eq!(sample_base(10), 1 << 16);
        assert_eq!(sample_base(100), 1 << 13);
        assert_eq!(sample_base(1019), 1024);
    }

    #[test]
    fn sampling_is_dense_then_doubles() {
        let base = 4096;
        let mut v = Vec::new();
        sampled_windows(0, 3 * base, base, &mut v);
        assert_eq!(v.len() as u64, 2 * base + base / 2);
        assert!(v.iter().all(|&(g, w)| g % w == 0));
        // the same windows whatever the split
        let mut a = Vec::new();
        let mut b = Vec::new();
        sampled_windows(0, 10_001, base, &mut a);
        sampled_windows(10_001, 3 * base, base, &mut b);
        a.extend(b);
        assert_eq!(a, v);
    }
}
