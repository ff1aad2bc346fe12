//! [`FeedForward`]: the position-wise MLP of a transformer layer.

use ndarray::{s, Array2, ArrayView2, Zip};

use crate::config::Activation;
use crate::kernels::elementwise::{self, gelu};
use crate::layers::Linear;

/// Rows per block in [`FeedForward::forward`].
pub const ROW_BLOCK: usize = 2048;

/// `down(act(up(x)))`, or with a gate projection the gated form
/// `down(act(gate(x)) * up(x))` (SwiGLU: `act` = SiLU; GeGLU: GELU). For BERT it mirrors
/// Hugging Face's `BertIntermediate` (`up`) plus the dense part of `BertOutput` (`down`);
/// for ModernBERT, transformers' `ModernBertMLP`, whose fused `Wi` is split in two halves:
/// the first (activated, `input` there) is `gate`, the second is `up`.
#[derive(Debug, Clone)]
pub struct FeedForward {
    /// Input to hidden.
    pub up: Linear,
    /// The activated projection of a gated FFN (SwiGLU, GeGLU); required by
    /// [`Activation::Swiglu`].
    pub gate: Option<Linear>,
    /// Hidden to output.
    pub down: Linear,
    /// The non-linearity.
    pub activation: Activation,
}

impl FeedForward {
    /// Number of parameters.
    pub fn parameters(&self) -> usize {
        self.up.parameters()
            + self.down.parameters()
            + self.gate.as_ref().map_or(0, Linear::parameters)
    }

    /// `x` is `[n, d]`; returns `[n, d]`.
    pub fn forward(&self, x: ArrayView2<f32>) -> Array2<f32> {
        let mut out = Array2::<f32>::zeros((x.nrows(), self.down.output()));
        self.add_to(Some(x), &mut out);
        out
    }

    /// `acc += forward(x)`, where `x` is `None` when the input is `acc` itself (a
    /// post-LN layer's `h + ffn(h)`): the down projection adds straight into the
    /// residual stream. Rows go through in blocks of `ROW_BLOCK` rows so that the
    /// hidden activations stay small and hot in cache.
    pub fn add_to(&self, x: Option<ArrayView2<f32>>, acc: &mut Array2<f32>) {
        let n = acc.nrows();
        debug_assert!(x.is_none_or(|x| x.dim() == (n, self.up.input())));
        for start in (0..n).step_by(ROW_BLOCK) {
            let rows = start..(start + ROW_BLOCK).min(n);
            let hidden = match x {
                Some(x) => self.hidden(x.slice(s![rows.clone(), ..])),
                None => self.hidden(acc.slice(s![rows.clone(), ..])),
            };
            self.down.add_to(hidden.view(), acc.slice_mut(s![rows, ..]));
        }
    }

    /// The activated hidden rows (`[rows, ffn]`) of a block of `x`.
    fn hidden(&self, x: ArrayView2<f32>) -> Array2<f32> {
        if let (Activation::Gelu, None) = (self.activation, &self.gate) {
            // the up projection's bias folded into the activation's pass
            let mut h = self.up.product(x);
            if let Some(all) = h.as_slice_mut() {
                match self.up.bias() {
                    Some(b) => elementwise::bias_gelu_rows(all, b),
                    None => elementwise::gelu_inplace(all),
                }
                return h;
            }
        }
        let mut h = self.up.forward(x);
        match (self.activation, &self.gate) {
            (Activation::Swiglu, Some(gate)) => {
                let g = gate.forward(x);
                Zip::from(&mut h).and(&g).for_each(|h, &g| *h *= silu(g));
            }
            (Activation::Gelu, Some(gate)) => {
                let g = gate.forward(x);
                match (h.as_slice_mut(), g.as_slice()) {
                    (Some(h), Some(g)) => elementwise::mul_gelu(h, g),
                    _ => Zip::from(&mut h).and(&g).for_each(|h, &g| *h *= gelu(g)),
                }
            }
            (act, Some(gate)) => {
                let g = gate.forward(x);
                Zip::from(&mut h)
                    .and(&g)
                    .for_each(|h, &g| *h *= activate(act, g));
            }
            (act, None) => h.mapv_inplace(|v| activate(act, v)),
        }
        h
    }
}

/// Applies a single-input activation (SwiGLU's gate is handled by [`FeedForward`]).
pub(crate) fn activate(act: Activation, x: f32) -> f32 {
    match act {
        Activation::Gelu => gelu(x),
        Activation::GeluTanh => {
            let c = (2.0 / std::f32::consts::PI).sqrt();
            0.5 * x * (1.0 + (c * (x + 0.044715 * x * x * x)).tanh())
        }
        Activation::Relu => x.max(0.0),
        Activation::Swiglu => silu(x),
    }
}

/// SiLU (Swish), `x * sigmoid(x)`: the activation of SwiGLU's gate.
fn silu(x: f32) -> f32 {
    x / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activations_match_known_values() {
        // gelu(1) = 0.8413447, gelu_tanh(1) = 0.8411920, silu(1) = 0.7310586.
        assert!((activate(Activation::Gelu, 1.0) - 0.841_344_7).abs() < 1e-6);
        assert!((activate(Activation::GeluTanh, 1.0) - 0.841_192).abs() < 1e-6);
        assert!((silu(1.0) - 0.731_058_6).abs() < 1e-6);
        assert_eq!(activate(Activation::Relu, -2.0), 0.0);
    }
}
