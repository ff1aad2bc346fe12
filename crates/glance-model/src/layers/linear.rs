//! [`Linear`]: `y = x W^T + b` on the `gemm` crate's f32 kernels (AVX-512/AVX2/FMA picked
//! at run time).

use ndarray::{Array1, Array2, ArrayView2};

use crate::error::ModelError;
use crate::weights::Weights;

/// A dense layer; mirrors PyTorch's `torch.nn.Linear` (weight `[out, in]`, bias `[out]`).
#[derive(Debug, Clone)]
pub struct Linear {
    /// `[out, in]`, row-major as in the checkpoint.
    weight: Array2<f32>,
    bias: Option<Array1<f32>>,
}

impl Linear {
    /// A layer from its parts; `bias` must have `weight.nrows()` entries.
    pub fn new(weight: Array2<f32>, bias: Option<Array1<f32>>) -> Self {
        debug_assert!(bias.as_ref().is_none_or(|b| b.len() == weight.nrows()));
        Linear { weight, bias }
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
        Ok(Linear { weight, bias })
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
        (part(0..n), part(n..self.output()))
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
