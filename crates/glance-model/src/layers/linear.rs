//! [`Linear`]: `y = x W^T + b` on the `gemm` crate's f32 kernels (AVX-512/AVX2/FMA picked
//! at run time), or in [`Precision::Bf16`] on the packed bf16 kernel
//! ([`crate::kernels::bf16`]) with the weight converted once when the precision is set.

use std::sync::Arc;

use ndarray::{Array1, Array2, ArrayView2};

use crate::error::ModelError;
use crate::kernels::bf16::{self, PackedBf16};
use crate::weights::Weights;
use crate::Precision;

/// A dense layer; mirrors PyTorch's `torch.nn.Linear` (weight `[out, in]`, bias `[out]`).
#[derive(Debug, Clone)]
pub struct Linear {
    /// `[out, in]`, row-major as in the checkpoint.
    weight: Array2<f32>,
    bias: Option<Array1<f32>>,
    /// The weight in bf16, packed for the kernel, when the layer runs in bf16 (shared
    /// by clones).
    packed: Option<Arc<PackedBf16>>,
}

impl Linear {
    /// A layer from its parts; `bias` must have `weight.nrows()` entries.
    pub fn new(weight: Array2<f32>, bias: Option<Array1<f32>>) -> Self {
        debug_assert!(bias.as_ref().is_none_or(|b| b.len() == weight.nrows()));
        Linear {
            weight,
            bias,
            packed: None,
        }
    }

    /// Loads `{prefix}.weight` (`[out, in]`) and, when `bias`, `{prefix}.bias`.
    pub fn load(
        w: &Weights,
        prefix: &str,
        input: usize,
        output: usize,
        bias: bool,
    ) -> Result<Self, ModelError> {
        let weight = w.matrix(&format!("{prefix}.weight"), output, input)?;
        let bias = if bias {
            Some(w.vector(&format!("{prefix}.bias"), output)?)
        } else {
            None
        };
        Ok(Linear::new(weight, bias))
    }

    /// Splits a fused projection by output rows: the first `n` outputs, then the rest.
    pub fn split_rows(self, n: usize) -> (Linear, Linear) {
        let n = n.min(self.output());
        let part = |rows: std::ops::Range<usize>| {
            Linear::new(
                self.weight.slice(ndarray::s![rows.clone(), ..]).to_owned(),
                self.bias
                    .as_ref()
                    .map(|b| b.slice(ndarray::s![rows]).to_owned()),
            )
        };
        let precision = self.precision();
        let (mut a, mut b) = (part(0..n), part(n..self.output()));
        a.set_precision(precision);
        b.set_precision(precision);
        (a, b)
    }

    /// Runs the layer in `precision` from now on. `Bf16` converts and packs the weight
    /// (once; the f32 weight is kept as the reference) and takes effect only where
    /// [`Precision::effective`] allows it.
    pub fn set_precision(&mut self, precision: Precision) {
        match precision.effective() {
            Precision::F32 => self.packed = None,
            Precision::Bf16 => {
                if self.packed.is_none() {
                    let w = self.weight.as_standard_layout();
                    self.packed = w
                        .as_slice()
                        .and_then(|w| PackedBf16::pack(w, self.output(), self.input()))
                        .map(Arc::new);
                }
            }
        }
    }

    /// The precision the layer runs in.
    pub fn precision(&self) -> Precision {
        if self.packed.is_some() {
            Precision::Bf16
        } else {
            Precision::F32
        }
    }

    /// Input width.
    pub fn input(&self) -> usize {
        self.weight.ncols()
    }

    /// Output width.
    pub fn output(&self) -> usize {
        self.weight.nrows()
    }

    /// Number of parameters.
    pub fn parameters(&self) -> usize {
        self.weight.len() + self.bias.as_ref().map_or(0, |b| b.len())
    }

    /// `x` is `[n, in]`; returns `[n, out]`. Single-threaded and deterministic: the
    /// encoder parallelises over chunks, not inside a product.
    pub fn forward(&self, x: ArrayView2<f32>) -> Array2<f32> {
        let (n, input) = x.dim();
        let out = self.output();
        assert_eq!(input, self.input(), "Linear input width");
        // the product's starting value: the bias in every row (written once, not zeroed
        // first)
        let mut y = match &self.bias {
            Some(b) => {
                let row = b.to_vec();
                let mut start = Vec::with_capacity(n * out);
                for _ in 0..n {
                    start.extend_from_slice(&row);
                }
                Array2::from_shape_vec((n, out), start)
                    .unwrap_or_else(|_| unreachable!("n * out values for [n, out]"))
            }
            None => Array2::zeros((n, out)),
        };
        if n == 0 || out == 0 || input == 0 {
            return y;
        }
        let x = x.as_standard_layout();
        if let (Some(packed), Some(xs)) = (&self.packed, x.as_slice()) {
            let ys = y.as_slice_mut().unwrap_or(&mut []);
            // Only fails on shapes (checked above) or a CPU without AVX512_BF16 (checked
            // when packed); then y is untouched and the f32 path below runs.
            if bf16::gemm(xs, n, packed, ys).is_ok() {
                return y;
            }
        }
        // SAFETY: all three matrices are live for the call, their strides describe
        // in-bounds layouts of the given sizes (x: [n, in] row-major, W^T read from the
        // row-major [out, in] weight, y: [n, out] row-major), and y does not alias.
        unsafe {
            gemm::gemm(
                n,
                out,
                input,
                y.as_mut_ptr(),
                1,
                out as isize,
                self.bias.is_some(),
                x.as_ptr(),
                1,
                input as isize,
                self.weight.as_ptr(),
                input as isize,
                1,
                1.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn matches_naive_product() {
        let w = Array2::from_shape_fn((5, 7), |(i, j)| (i as f32 * 0.3 - j as f32 * 0.1).sin());
        let b = Array1::from_shape_fn(5, |i| i as f32 * 0.01);
        let x = Array2::from_shape_fn((9, 7), |(i, j)| (i * 7 + j) as f32 * 0.02 - 0.5);
        let y = Linear::new(w.clone(), Some(b.clone())).forward(x.view());
        let naive = x.dot(&w.t()) + &b;
        for (a, e) in y.iter().zip(naive.iter()) {
            assert!((a - e).abs() < 1e-5, "{a} vs {e}");
        }
        let no_bias = Linear::new(array![[1.0, 2.0]], None).forward(array![[3.0, 4.0]].view());
        assert_eq!(no_bias, array![[11.0]]);
    }
}
