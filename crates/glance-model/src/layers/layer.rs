//! [`EncoderLayer`]: attention and feed-forward blocks with residuals and LayerNorms.

use ndarray::Array2;

use crate::config::NormPlacement;
use crate::error::ModelError;
use crate::kernels::elementwise;
use crate::layers::{FeedForward, LayerNorm, SelfAttention};

/// One transformer encoder layer. With post-LN it mirrors Hugging Face's `BertLayer` /
/// `LongformerLayer` (`norm1` = `attention.output.LayerNorm`, `norm2` =
/// `output.LayerNorm`); with pre-LN, transformers' `ModernBertEncoderLayer` (`norm1` =
/// `attn_norm`, an identity on layer 0; `norm2` = `mlp_norm`).
#[derive(Debug, Clone)]
pub struct EncoderLayer {
    /// The attention block.
    pub attention: SelfAttention,
    /// The feed-forward block.
    pub ffn: FeedForward,
    /// Norm around the attention block (`None`: an identity, as ModernBERT's first layer).
    pub norm1: Option<LayerNorm>,
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
            + self.norm1.as_ref().map_or(0, LayerNorm::parameters)
            + self.norm2.parameters()
    }

    /// Runs the layer on `x` (`[n, d]`, row 0 at absolute position `offset`).
    pub fn forward(&self, x: Array2<f32>, offset: usize) -> Result<Array2<f32>, ModelError> {
        match self.placement {
            NormPlacement::Post => {
                let mut h = residual(self.attention.forward(x.view(), offset)?, &x);
                if let Some(norm) = &self.norm1 {
                    norm.forward_inplace(&mut h);
                }
                let mut out = residual(self.ffn.forward(h.view()), &h);
                self.norm2.forward_inplace(&mut out);
                Ok(out)
            }
            NormPlacement::Pre => {
                let h = match &self.norm1 {
                    Some(norm) => {
                        let mut n1 = x.clone();
                        norm.forward_inplace(&mut n1);
                        residual(self.attention.forward(n1.view(), offset)?, &x)
                    }
                    None => residual(self.attention.forward(x.view(), offset)?, &x),
                };
                let mut n2 = h.clone();
                self.norm2.forward_inplace(&mut n2);
                Ok(residual(self.ffn.forward(n2.view()), &h))
            }
        }
    }
}

/// `sublayer + skip`, in place in `sublayer`'s buffer.
fn residual(mut sublayer: Array2<f32>, skip: &Array2<f32>) -> Array2<f32> {
    match (sublayer.as_slice_mut(), skip.as_slice()) {
        (Some(a), Some(b)) if a.len() == b.len() => elementwise::add_assign(a, b),
        _ => sublayer += skip,
    }
    sublayer
}
