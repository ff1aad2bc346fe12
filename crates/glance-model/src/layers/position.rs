//! Position encodings computed on the fly: [`Rope`] (rotary, applied to queries and
//! keys) and ALiBi slopes (a distance penalty applied inside the attention kernel).
//! Learned absolute tables live in [`crate::layers::Embeddings`].

use std::cell::RefCell;

use ndarray::{Array3, Axis};

use crate::kernels::elementwise;

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
    ///
    /// The cosines and sines of a range of positions are kept per thread
    /// ([`RotationTable`]) and reused while later calls fall inside that range: the
    /// queries and keys of a layer, and the layers of a chunk (each on the same or fewer
    /// rows), share one table instead of computing `n * d_head` f64 sines each. The
    /// table is a function of the positions alone, so the rotations are the same bits
    /// whichever call computed it.
    pub fn apply(&self, x: &mut Array3<f32>, offset: usize) {
        let half = self.inv_freq.len();
        let n = x.len_of(Axis(1));
        LAST_TABLE.with_borrow_mut(|last| {
            let kept = last
                .take()
                .filter(|t| t.inv_freq == self.inv_freq && t.covers(offset, n));
            let table = kept.unwrap_or_else(|| RotationTable::new(&self.inv_freq, offset, n));
            let from = (offset - table.first) * half;
            let span = from..from + n * half;
            let (cos, sin) = (&table.cos[span.clone()], &table.sin[span]);
            for mut head in x.axis_iter_mut(Axis(0)) {
                match head.as_slice_mut() {
                    Some(rows) => elementwise::rotate_half_rows(rows, cos, sin, half),
                    None => {
                        let mut copy: Vec<f32> = head.iter().copied().collect();
                        elementwise::rotate_half_rows(&mut copy, cos, sin, half);
                        for (v, &c) in head.iter_mut().zip(&copy) {
                            *v = c;
                        }
                    }
                }
            }
            if table.cos.len() <= MAX_KEPT_TABLE {
                *last = Some(table);
            }
        });
    }
}

/// Most values of one kind (cosines or sines) a thread keeps between calls (4 MiB of
/// each: a 16,384-token chunk plus halos with 64-wide heads fits; its activations take
/// far more); a larger table (a whole long record in one piece) is computed, used and
/// dropped.
const MAX_KEPT_TABLE: usize = 1 << 20;

thread_local! {
    /// The table of this thread's last [`Rope::apply`] call.
    static LAST_TABLE: RefCell<Option<RotationTable>> = const { RefCell::new(None) };
}

/// `cos` and `sin` of `pos * inv_freq[i]` (computed in f64, stored as f32) for the
/// positions `first..first + rows`, row-major by position.
struct RotationTable {
    inv_freq: Vec<f64>,
    first: usize,
    rows: usize,
    cos: Vec<f32>,
    sin: Vec<f32>,
}

impl RotationTable {
    fn new(inv_freq: &[f64], first: usize, rows: usize) -> Self {
        let half = inv_freq.len();
        let mut cos = Vec::with_capacity(rows * half);
        let mut sin = Vec::with_capacity(rows * half);
        for t in 0..rows {
            let pos = (first + t) as f64;
            for f in inv_freq {
                let (s, c) = (pos * f).sin_cos();
                cos.push(c as f32);
                sin.push(s as f32);
            }
        }
        RotationTable {
            inv_freq: inv_freq.to_vec(),
            first,
            rows,
            cos,
            sin,
        }
    }

    /// Whether positions `offset..offset + n` are in the table.
    fn covers(&self, offset: usize, n: usize) -> bool {
        offset >= self.first && offset + n <= self.first + self.rows
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

    /// A call served from a kept table (a sub-range of an earlier call's positions, on
    /// this thread) rotates to the same bits as one that computes its own table (a fresh
    /// thread), and a different frequency set never reuses the table.
    #[test]
    fn kept_tables_give_the_same_rotations_as_fresh_ones() {
        let mk = |n: usize| {
            Array3::from_shape_fn((2, n, 8), |(h, t, i)| ((h * 31 + t * 7 + i) as f32).sin())
        };
        let rope = Rope::new(8, 10000.0);
        let fresh = {
            let rope = rope.clone();
            std::thread::spawn(move || {
                let mut x = mk(5);
                rope.apply(&mut x, 40);
                x
            })
            .join()
            .unwrap()
        };
        rope.apply(&mut mk(100), 0);
        let mut kept = mk(5);
        rope.apply(&mut kept, 40);
        let bits = |x: &Array3<f32>| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&kept), bits(&fresh));

        let other = Rope::new(8, 500.0);
        let mut a = mk(5);
        other.apply(&mut a, 40);
        assert_ne!(bits(&a), bits(&kept));
        let alone = std::thread::spawn(move || {
            let mut x = mk(5);
            other.apply(&mut x, 40);
            x
        })
        .join()
        .unwrap();
        assert_eq!(bits(&a), bits(&alone));
    }

    /// Every element is the rotate-half formula with the table's cosine and sine, bit
    /// for bit, whether a head's rows lie in one slice or not (a permuted array), with
    /// a half width that is no multiple of a vector's lanes.
    #[test]
    fn rotation_is_the_rotate_half_formula() {
        let (heads, n, dh, offset) = (3, 7, 40, 11);
        let half = dh / 2;
        let rope = Rope::new(dh, 10000.0);
        let value = |h: usize, t: usize, i: usize| ((h * 131 + t * 17 + i) as f32 * 0.37).sin();
        let standard = Array3::from_shape_fn((heads, n, dh), |(h, t, i)| value(h, t, i));
        let permuted = Array3::from_shape_fn((n, heads, dh), |(t, h, i)| value(h, t, i))
            .permuted_axes([1, 0, 2]);
        let table = RotationTable::new(&rope.inv_freq, offset, n);
        for mut x in [standard.clone(), permuted] {
            assert_eq!(x, standard);
            rope.apply(&mut x, offset);
            for ((h, t, i), &got) in x.indexed_iter() {
                let j = t * half + i % half;
                let (c, s) = (table.cos[j], table.sin[j]);
                let want = if i < half {
                    value(h, t, i) * c - value(h, t, i + half) * s
                } else {
                    value(h, t, i) * c + value(h, t, i - half) * s
                };
                assert_eq!(
                    got.to_bits(),
                    want.to_bits(),
                    "head {h}, row {t}, column {i}"
                );
            }
        }
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
