//! [`EncoderLayer`]: attention and feed-forward blocks with residuals and LayerNorms.

use ndarray::Array2;

use crate::config::NormPlacement;
use crate::error::ModelError;
use crate::layers::{FeedForward, LayerNorm, SelfAttention};

/// One transformer encoder layer. With post-LN it mirrors Hugging Face's `BertLayer` /
/// `LongformerLayer` (`norm1` = `attention.output.LayerNorm`, `norm2` =
/// `output.LayerNorm`).
#[derive(Debug, Clone)]
pub struct EncoderLayer {
    /// The attention block.
    pub attention: SelfAttention,
    /// The feed-forward block.
    pub ffn: FeedForward,
    /// Norm around the attention block.
    pub norm1: LayerNorm,
    /// Norm around the feed-forward block.
    pub norm2: LayerNorm,
    /// Pre- or post-LN.
    pub placement: NormPlacement,
}

impl EncoderLayer {
    /// Number of parameters.
    pub fn parameters(&self) -> usize {
        self.attention.parameters()
            + self.ffn.parameters()
            + self.norm1.parameters()
            + self.norm2.parameters()
    }

    /// Runs the layer on `x` (`[n, d]`, row 0 at absolute position `offset`).
    pub fn forward(&self, x: Array2<f32>, offset: usize) -> Result<Array2<f32>, ModelError> {
        match self.placement {
            NormPlacement::Post => {
                let mut h = self.attention.forward(x.view(), offset)? + &x;
                self.norm1.forward_inplace(&mut h);
                let mut out = self.ffn.forward(h.view()) + &h;
                self.norm2.forward_inplace(&mut out);
                Ok(out)
            }
            NormPlacement::Pre => {
                let mut n1 = x.clone();
                self.norm1.forward_inplace(&mut n1);
                let h = self.attention.forward(n1.view(), offset)? + &x;
                let mut n2 = h.clone();
                self.norm2.forward_inplace(&mut n2);
                Ok(self.ffn.forward(n2.view()) + &h)
            }
        }
    }
}
