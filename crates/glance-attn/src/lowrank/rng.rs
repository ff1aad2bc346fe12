//! A small counter-based generator for the seeded random matrices of the approximate
//! patterns (Linformer projections, Performer features, LSH rotations).
//!
//! Every number is a pure function of `(seed, stream, index)` (a SplitMix64 finaliser
//! over the mixed counter), so any element can be drawn on its own, in any order and
//! on any thread, and results never depend on the thread count. These are *not* the
//! numbers `torch.manual_seed` would give: to reproduce a PyTorch model, pass its
//! matrices as weights instead.

/// What a random stream is used for; distinct streams give independent numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    /// Linformer key projection `E`.
    LinformerE = 1,
    /// Linformer value projection `F`.
    LinformerF = 2,
    /// Performer Gaussian blocks that are orthogonalised.
    PerformerBlocks = 3,
    /// Performer row norms (chi-distributed multipliers).
    PerformerNorms = 4,
    /// Reformer LSH rotations.
    LshRotations = 5,
}

/// SplitMix64's output function.
#[inline]
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The 64 random bits number `index` of `stream` under `seed`.
#[inline]
pub(crate) fn bits(seed: u64, stream: Stream, index: u64) -> u64 {
    let s = mix(seed ^ (stream as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    mix(s.wrapping_add(index.wrapping_mul(0xD1B5_4A32_D192_ED03)))
}

/// Uniform on `[0, 1)` with 53 random bits.
#[inline]
pub(crate) fn uniform(seed: u64, stream: Stream, index: u64) -> f64 {
    (bits(seed, stream, index) >> 11) as f64 / (1u64 << 53) as f64
}

/// A standard normal draw (Box-Muller over two uniforms of the same counter).
#[inline]
pub(crate) fn normal(seed: u64, stream: Stream, index: u64) -> f64 {
    let u1 = uniform(seed, stream, index.wrapping_mul(2));
    let u2 = uniform(seed, stream, index.wrapping_mul(2).wrapping_add(1));
    // 1 - u1 is in (0, 1], so the logarithm is finite.
    (-2.0 * (1.0 - u1).ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_reproducible_and_roughly_standard() {
        assert_eq!(
            bits(7, Stream::LshRotations, 3),
            bits(7, Stream::LshRotations, 3)
        );
        assert_ne!(
            bits(7, Stream::LshRotations, 3),
            bits(8, Stream::LshRotations, 3)
        );
        assert_ne!(
            bits(7, Stream::LinformerE, 3),
            bits(7, Stream::LinformerF, 3)
        );
        let n = 20_000u64;
        let xs: Vec<f64> = (0..n)
            .map(|i| normal(1, Stream::PerformerBlocks, i))
            .collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "var {var}");
    }
}
