//! [`LayerNorm`] over the last axis.

use ndarray::{Array1, Array2, ArrayView2, Axis};

use crate::error::ModelError;
use crate::kernels::elementwise;
use crate::weights::Weights;

/// Layer normalisation with a learned scale and an optional shift; mirrors PyTorch's
/// `torch.nn.LayerNorm` (biased variance, eps inside the square root; `bias=False` as
/// ModernBERT configures it).
#[derive(Debug, Clone)]
pub struct LayerNorm {
    weight: Array1<f32>,
    bias: Option<Array1<f32>>,
    eps: f32,
}

impl LayerNorm {
    /// Loads `{prefix}.weight` and `{prefix}.bias`, falling back to the `gamma` / `beta`
    /// names of old TensorFlow-converted BERT checkpoints.
    pub fn load(w: &Weights, prefix: &str, d: usize, eps: f32) -> Result<Self, ModelError> {
        let pick = |new: &str, old: &str| {
            let name = format!("{prefix}.{new}");
            if w.contains(&name) {
                w.vector(&name, d)
            } else {
                let legacy = format!("{prefix}.{old}");
                if w.contains(&legacy) {
                    w.vector(&legacy, d)
                } else {
                    w.vector(&name, d)
                }
            }
        };
        Ok(LayerNorm {
            weight: pick("weight", "gamma")?,
            bias: Some(pick("bias", "beta")?),
            eps,
        })
    }

    /// Loads `{prefix}.weight` and, when `bias`, `{prefix}.bias` (a norm built with
    /// `nn.LayerNorm(d, bias=False)` has no shift).
    pub fn load_with_bias(
        w: &Weights,
        prefix: &str,
        d: usize,
        eps: f32,
        bias: bool,
    ) -> Result<Self, ModelError> {
        Ok(LayerNorm {
            weight: w.vector(&format!("{prefix}.weight"), d)?,
            bias: if bias {
                Some(w.vector(&format!("{prefix}.bias"), d)?)
            } else {
                None
            },
            eps,
        })
    }

    /// Number of parameters.
    pub fn parameters(&self) -> usize {
        self.weight.len() + self.bias.as_ref().map_or(0, |b| b.len())
    }

    /// The normalised rows of `x` as a new array (one pass: no copy of `x` first).
    pub fn forward(&self, x: ArrayView2<f32>) -> Array2<f32> {
        let weight = self.weight.as_slice().unwrap_or(&[]);
        let bias = self.bias.as_ref().map(|b| b.as_slice().unwrap_or(&[]));
        debug_assert_eq!(x.ncols(), weight.len(), "LayerNorm width");
        let src = x.as_standard_layout();
        match src.as_slice() {
            Some(src) => {
                let mut out = Vec::new();
                elementwise::layer_norm_rows_into(src, &mut out, weight, bias, self.eps);
                Array2::from_shape_vec(x.dim(), out)
                    .unwrap_or_else(|_| unreachable!("as many values as x has"))
            }
            None => {
                let mut out = src.into_owned();
                self.forward_inplace(&mut out);
                out
            }
        }
    }

    /// Normalises every row of `x` in place.
    pub fn forward_inplace(&self, x: &mut Array2<f32>) {
        let weight = self.weight.as_slice().unwrap_or(&[]);
        let bias = self.bias.as_ref().map(|b| b.as_slice().unwrap_or(&[]));
        debug_assert_eq!(x.ncols(), weight.len(), "LayerNorm width");
        match x.as_slice_mut() {
            Some(all) => elementwise::layer_norm_rows(all, weight, bias, self.eps),
            None => {
                for mut row in x.axis_iter_mut(Axis(0)) {
                    let mut owned = row.to_vec();
                    elementwise::layer_norm_rows(&mut owned, weight, bias, self.eps);
                    row.assign(&ndarray::ArrayView1::from(&owned[..]));
                }
            }
        }
    }
}
