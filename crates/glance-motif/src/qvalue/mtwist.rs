//! The Mersenne Twister MT19937 exactly as the MEME suite's `drand_mt` draws from it:
//! Geoff Kuenning's `mtwist` with its program-wide state, which FIMO never seeds, so the
//! first draw initialises it with the 1998 reference seeding (Knuth's multiplier 69069,
//! seed 4357). `drand_mt` is `mt_ldrand`: two consecutive 32-bit outputs joined into a
//! 64-bit integer, converted to `double` and scaled by 2^-64.
//!
//! Written from the generator's published specification (Matsumoto and Nishimura 1998)
//! and checked against draws from pymemesuite's bundled C code
//! (`scripts/fimo_fresh_qvalues.py` stores them in `test-data/fimo/drand_mt.txt`).

/// State size (MT19937's `N`).
const N: usize = 624;
/// Recurrence offset (`M`).
const M: usize = 397;
/// Twist matrix constant.
const MATRIX_A: u32 = 0x9908_b0df;
/// The seed `mtwist` falls back to when the generator was never seeded.
pub const DEFAULT_SEED: u32 = 4357;

/// One MT19937 generator, positioned at a word of its output stream.
#[derive(Clone)]
pub struct MersenneTwister {
    mt: [u32; N],
    next: usize,
}

impl std::fmt::Debug for MersenneTwister {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MersenneTwister")
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl Default for MersenneTwister {
    /// The state of a fresh MEME suite process (`mtwist`'s default seed).
    fn default() -> Self {
        MersenneTwister::with_seed(DEFAULT_SEED)
    }
}

impl MersenneTwister {
    /// Seeds as the 1998 reference does (`mt[0] = seed`, `mt[i] = 69069 * mt[i-1]`; a
    /// zero seed becomes 4357).
    pub fn with_seed(seed: u32) -> MersenneTwister {
        let mut mt = [0u32; N];
        mt[0] = if seed == 0 { DEFAULT_SEED } else { seed };
        for i in 1..N {
            mt[i] = mt[i - 1].wrapping_mul(69069);
        }
        MersenneTwister { mt, next: N }
    }

    /// Generates the next `N` words of the recurrence in place.
    fn refill(&mut self) {
        let mt = &mut self.mt;
        let twist = |upper: u32, lower: u32| -> u32 {
            let y = (upper & 0x8000_0000) | (lower & 0x7fff_ffff);
            (y >> 1) ^ if y & 1 == 1 { MATRIX_A } else { 0 }
        };
        for i in 0..N - M {
            mt[i] = mt[i + M] ^ twist(mt[i], mt[i + 1]);
        }
        for i in N - M..N - 1 {
            mt[i] = mt[i + M - N] ^ twist(mt[i], mt[i + 1]);
        }
        mt[N - 1] = mt[M - 1] ^ twist(mt[N - 1], mt[0]);
        self.next = 0;
    }

    /// The next tempered 32-bit output.
    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        if self.next >= N {
            self.refill();
        }
        let mut y = self.mt[self.next];
        self.next += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// MEME's `drand_mt()`: a double in [0, 1] (1 only by rounding, as in C).
    #[inline]
    pub fn drand(&mut self) -> f64 {
        let hi = u64::from(self.next_u32());
        let lo = u64::from(self.next_u32());
        ((hi << 32) | lo) as f64 * (1.0 / 18_446_744_073_709_551_616.0)
    }

    /// Skips `n` draws of [`MersenneTwister::drand`] (two words each).
    pub fn skip_draws(&mut self, n: u64) {
        let mut words = n * 2;
        while words > 0 {
            if self.next >= N {
                self.refill();
            }
            let take = ((N - self.next) as u64).min(words);
            self.next += take as usize;
            words -= take;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_equal_meme_drand_mt() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../test-data/fimo/drand_mt.txt"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let mut rng = MersenneTwister::default();
        let mut at = 0u64;
        let mut checked = 0;
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (i, v) = line.split_once('\t').unwrap();
            let i: u64 = i.parse().unwrap();
            let v: f64 = v.parse().unwrap();
            rng.skip_draws(i - at);
            assert_eq!(rng.drand().to_bits(), v.to_bits(), "draw {i}");
            at = i + 1;
            checked += 1;
        }
        assert!(checked >= 5);
    }

    #[test]
    fn skipping_equals_drawing() {
        let mut a = MersenneTwister::default();
        let mut b = MersenneTwister::default();
        for _ in 0..1000 {
            a.drand();
        }
        b.skip_draws(1000);
        assert_eq!(a.drand().to_bits(), b.drand().to_bits());
    }
}
