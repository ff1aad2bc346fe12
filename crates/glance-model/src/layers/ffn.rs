//! [`FeedForward`]: the position-wise MLP of a transformer layer.

use ndarray::{Array2, ArrayView2, Zip};

use crate::config::Activation;
use crate::layers::Linear;

/// `down(act(up(x)))`, or `down(silu(gate(x)) * up(x))` for SwiGLU. For BERT it
/// mirrors Hugging Face's `BertIntermediate` (`up`) plus the dense part of `BertOutput`
/// (`down`).
#[derive(Debug, Clone)]
pub struct FeedForward {
    /// Input to hidden.
    pub up: Linear,
    /// SwiGLU's gate projection (only with [`Activation::Swiglu`]).
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
        let mut h = self.up.forward(x);
        match (self.activation, &self.gate) {
            (Activation::Swiglu, Some(gate)) => {
                let g = gate.forward(x);
                Zip::from(&mut h).and(&g).for_each(|h, &g| *h *= silu(g));
            }
            (act, _) => h.mapv_inplace(|v| activate(act, v)),
        }
        self.down.forward(h.view())
    }
}

/// Applies a single-input activation (SwiGLU's gate is handled by [`FeedForward`]).
fn activate(act: Activation, x: f32) -> f32 {
    match act {
        Activation::Gelu => 0.5 * x * (1.0 + libm::erff(x * std::f32::consts::FRAC_1_SQRT_2)),
        Activation::GeluTanh => {
            let c = (2.0 / std::f32::consts::PI).sqrt();
            0.5 * x * (1.0 + (c * (x + 0.044715 * x * x * x)).tanh())
        }
        Activation::Relu => x.max(0.0),
        Activation::Swiglu => silu(x),
    }
}

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
