//! Shared helpers for the integration tests: seeded unit-scale inputs, comparison and
//! fixture arrays.

#![allow(dead_code)]

use std::path::Path;

use ndarray::{Array1, Array2, Array3, ArrayView3};
use ndarray_npy::{read_npy, ReadNpyExt};

/// A small deterministic generator (xorshift64*), so tests need no RNG crate.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [-1, 1).
    pub fn unit(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    /// Approximately standard normal (sum of uniforms).
    pub fn normal(&mut self) -> f32 {
        (0..4).map(|_| self.unit()).sum::<f32>() * 0.866
    }
}

/// A `[heads, n, d]` array of unit-scale values.
pub fn random3(rng: &mut Rng, heads: usize, n: usize, d: usize) -> Array3<f32> {
    Array3::from_shape_simple_fn((heads, n, d), || rng.normal())
}

/// Queries, keys and values: three `[heads, n, d]` arrays of unit-scale values, drawn
/// in that order.
pub fn random_qkv(
    rng: &mut Rng,
    heads: usize,
    n: usize,
    d: usize,
) -> (Array3<f32>, Array3<f32>, Array3<f32>) {
    (
        random3(rng, heads, n, d),
        random3(rng, heads, n, d),
        random3(rng, heads, n, d),
    )
}

/// A random padding mask with roughly `percent`% padded keys.
pub fn random_padding(rng: &mut Rng, n: usize, percent: u64) -> Array1<bool> {
    Array1::from_shape_simple_fn(n, || rng.next_u64() % 100 < percent)
}

/// Largest absolute difference between an f32 result and the f64 reference.
pub fn max_abs_err(got: ArrayView3<f32>, want: ArrayView3<f64>) -> f64 {
    assert_eq!(got.shape(), want.shape());
    glance_attn::inputs::max_abs_error(got, want)
}

/// The fixture array `dir/<name>.npy`; panics with its name when it cannot be read.
fn load<T: ReadNpyExt>(dir: &Path, name: &str) -> T {
    read_npy(dir.join(format!("{name}.npy"))).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The `[heads, n, d]` fixture array `dir/<name>.npy`.
pub fn load3(dir: &Path, name: &str) -> Array3<f32> {
    load(dir, name)
}

/// The two-dimensional fixture array `dir/<name>.npy` (a projection or feature matrix).
pub fn load2(dir: &Path, name: &str) -> Array2<f32> {
    load(dir, name)
}
