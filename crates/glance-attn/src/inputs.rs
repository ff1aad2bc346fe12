//! Seeded unit-scale attention inputs for benchmarks and error checks, as `glance bench
//! attention` draws them: uniform q, k, v (mean 0, variance 1), or smooth ones where q
//! and k are noisy copies of one AR(1) signal along the sequence (so that attention
//! concentrates on nearby keys, as in trained models). A pure function of the seed.

use ndarray::{Array3, ArrayView3};

use crate::lowrank::mix;

/// SplitMix64: the sequence of a seed.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// Uniform on [-sqrt(3), sqrt(3)): mean 0, variance 1.
    fn unit(&mut self) -> f32 {
        ((self.next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * 1.732_050_8
    }
}

/// Query, key and value arrays, `[heads, len, head_dim]`.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// Queries.
    pub q: Array3<f32>,
    /// Keys.
    pub k: Array3<f32>,
    /// Values.
    pub v: Array3<f32>,
}

impl Inputs {
    /// Inputs of `shape` (`[heads, len, head_dim]`) from `seed`: uniform, or with
    /// `smooth = Some(len)` an AR(1) signal of correlation length `len` tokens.
    pub fn seeded(shape: (usize, usize, usize), seed: u64, smooth: Option<f64>) -> Inputs {
        let mut rng = SplitMix(seed);
        match smooth {
            None => {
                let mut random = || Array3::from_shape_simple_fn(shape, || rng.unit());
                let (q, k, v) = (random(), random(), random());
                Inputs { q, k, v }
            }
            Some(len) => {
                let signal = ar1(&mut rng, shape, len);
                let values = ar1(&mut rng, shape, len);
                let mut noisy = |x: &Array3<f32>| x.mapv(|s| 1.5 * (s + 0.5 * rng.unit()));
                let (q, k) = (noisy(&signal), noisy(&signal));
                Inputs { q, k, v: values }
            }
        }
    }
}

/// An AR(1) process along the sequence axis (unit variance, correlation
/// `exp(-|i - j| / len)`), independent across heads and channels.
fn ar1(rng: &mut SplitMix, shape: (usize, usize, usize), len: f64) -> Array3<f32> {
    let rho = (-1.0 / len.max(1e-9)).exp() as f32;
    let innovation = (1.0 - rho * rho).sqrt();
    let mut x = Array3::<f32>::zeros(shape);
    for h in 0..shape.0 {
        for c in 0..shape.2 {
            let mut prev = rng.unit();
            for i in 0..shape.1 {
                if i > 0 {
                    prev = rho * prev + innovation * rng.unit();
                }
                x[[h, i, c]] = prev;
            }
        }
    }
    x
}

/// The largest absolute difference between an output and its f64 reference.
pub fn max_abs_error(got: ArrayView3<f32>, want: ArrayView3<f64>) -> f64 {
    got.iter()
        .zip(want.iter())
        .map(|(&g, &w)| (f64::from(g) - w).abs())
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_unit_scale_and_a_function_of_the_seed() {
        let a = Inputs::seeded((2, 4096, 8), 7, None);
        let b = Inputs::seeded((2, 4096, 8), 7, None);
        assert_eq!(a.q, b.q);
        let var = a.q.mapv(|x| f64::from(x * x)).mean().unwrap();
        assert!((var - 1.0).abs() < 0.05, "{var}");
        assert_ne!(a.q, Inputs::seeded((2, 4096, 8), 8, None).q);
        // smooth inputs: neighbours correlate, far tokens do not
        let s = Inputs::seeded((1, 20000, 4), 3, Some(50.0)).v;
        let corr = |lag: usize| {
            let n = 20000 - lag;
            (0..n)
                .map(|i| f64::from(s[[0, i, 0]] * s[[0, i + lag, 0]]))
                .sum::<f64>()
                / n as f64
        };
        assert!(
            corr(1) > 0.9 && corr(1000).abs() < 0.15,
            "{} {}",
            corr(1),
            corr(1000)
        );
    }
}
