//! Position encodings computed on the fly: [`Rope`] (rotary, applied to queries and
//! keys) and ALiBi slopes (a distance penalty applied inside the attention kernel).
//! Learned absolute tables live in [`crate::layers::Embeddings`].

use ndarray::{Array3, Axis};

/// Rotary position embedding in the rotate-half layout (as GPT-NeoX and Hugging Face's
/// `LlamaRotaryEmbedding`): within each head, dimension `i < d/2` pairs with `i + d/2`
/// and rotates by `pos * theta^(-2i/d)`. Angles are computed in f64 from absolute
/// positions, so a chunk of a long sequence gets exactly the rotations of the whole.
#[derive(Debug, Clone)]
pub struct Rope {
    inv_freq: Vec<f64>,
}

impl Rope {
    /// Rotations for heads of even width `d_head`.
    pub fn new(d_head: usize, theta: f32) -> Self {
        let half = d_head / 2;
        let inv_freq = (0..half)
            .map(|i| (theta as f64).powf(-((2 * i) as f64) / d_head as f64))
            .collect();
        Rope { inv_freq }
    }

    /// Rotates `x` (`[heads, n, d_head]`) in place; row `t` has position `offset + t`.
    pub fn apply(&self, x: &mut Array3<f32>, offset: usize) {
        let half = self.inv_freq.len();
        let n = x.len_of(Axis(1));
        let mut cos = vec![0f32; n * half];
        let mut sin = vec![0f32; n * half];
        for t in 0..n {
            let pos = (offset + t) as f64;
            for (i, f) in self.inv_freq.iter().enumerate() {
                let (s, c) = (pos * f).sin_cos();
                cos[t * half + i] = c as f32;
                sin[t * half + i] = s as f32;
            }
        }
        for mut head in x.axis_iter_mut(Axis(0)) {
            for (t, mut row) in head.axis_iter_mut(Axis(0)).enumerate() {
                for i in 0..half {
                    let (c, s) = (cos[t * half + i], sin[t * half + i]);
                    let (a, b) = (row[i], row[i + half]);
                    row[i] = a * c - b * s;
                    row[i + half] = b * c + a * s;
                }
            }
        }
    }
}

/// ALiBi slopes (Press et al. 2022): head `h` of `heads` gets `2^(-8 (h + 1) / heads)`.
pub fn alibi_slopes(heads: usize) -> Vec<f32> {
    (0..heads)
        .map(|h| 2f64.powf(-8.0 * (h + 1) as f64 / heads as f64) as f32)
        .collect()
}

/// ALiBi slopes as Press et al.'s code and DNABERT-2's `bert_layers.py`
/// (`_get_alibi_head_slopes`) compute them for any head count: for a power of two they
/// are [`alibi_slopes`]; otherwise the slopes of the largest power of two `p` below
/// `heads`, then every other slope of `2p` (its 1st, 3rd, ...) until there are `heads`.
pub fn alibi_slopes_interleaved(heads: usize) -> Vec<f32> {
    fn slopes(heads: usize) -> Vec<f64> {
        if heads == 0 {
            return Vec::new();
        }
        if heads.is_power_of_two() {
            return (0..heads)
                .map(|h| 2f64.powf(-8.0 * (h + 1) as f64 / heads as f64))
                .collect();
        }
        let p = 1usize << heads.ilog2();
        let mut out = slopes(p);
        out.extend(slopes(2 * p).into_iter().step_by(2).take(heads - p));
        out
    }
    slopes(heads).into_iter().map(|s| s as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rope_preserves_norm_and_depends_on_distance_only() {
        let rope = Rope::new(4, 10000.0);
        let mk = || Array3::from_shape_fn((1, 2, 4), |(_, t, i)| (t * 4 + i) as f32 * 0.1 + 0.2);
        let (mut a, mut b) = (mk(), mk());
        rope.apply(&mut a, 3);
        rope.apply(&mut b, 10);
        let dot = |x: &Array3<f32>| (0..4).map(|i| x[[0, 0, i]] * x[[0, 1, i]]).sum::<f32>();
        assert!((dot(&a) - dot(&b)).abs() < 1e-5);
        let n0: f32 = mk().iter().map(|v| v * v).sum();
        let n1: f32 = a.iter().map(|v| v * v).sum();
        assert!((n0 - n1).abs() < 1e-5);
        assert_eq!(alibi_slopes(8)[0], 0.5);
    }

    #[test]
    fn interleaved_slopes_follow_press_et_al_for_any_head_count() {
        for heads in [1, 2, 4, 8, 16] {
            assert_eq!(alibi_slopes_interleaved(heads), alibi_slopes(heads));
        }
        // 6 heads: 2^-2, 2^-4, 2^-6, 2^-8 (four heads), then 2^-1, 2^-3 (of eight)
        let six: Vec<f32> = [2, 4, 6, 8, 1, 3].iter().map(|&e| 0.5f32.powi(e)).collect();
        assert_eq!(alibi_slopes_interleaved(6), six);
        // DNABERT-2's 12 heads: 2^-1 .. 2^-8, then 2^-0.5, 2^-1.5, 2^-2.5, 2^-3.5
        let twelve = alibi_slopes_interleaved(12);
        assert_eq!(twelve[7], 0.5f32.powi(8));
        assert!((twelve[8] - 0.5f32.sqrt()).abs() < 1e-7);
        assert!((twelve[11] - 2f32.powf(-3.5)).abs() < 1e-7);
    }
}
