//! [`EncoderLayer`]: attention and feed-forward blocks with residuals and LayerNorms.

use ndarray::Array2;

use crate::config::NormPlacement;
use crate::error::ModelError;
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
    pub fn forward(&self, mut x: Array2<f32>, offset: usize) -> Result<Array2<f32>, ModelError> {
        // Each sublayer adds its output straight into the residual stream `x`.
        match self.placement {
            NormPlacement::Post => {
                let context = self.attention.context(x.view(), offset)?;
                self.attention.o.add_to(context.view(), x.view_mut());
                if let Some(norm) = &self.norm1 {
                    norm.forward_inplace(&mut x);
                }
                self.ffn.add_to(None, &mut x);
                self.norm2.forward_inplace(&mut x);
            }
            NormPlacement::Pre => {
                let context = match &self.norm1 {
                    Some(norm) => self
                        .attention
                        .context(norm.forward(x.view()).view(), offset)?,
                    None => self.attention.context(x.view(), offset)?,
                };
                self.attention.o.add_to(context.view(), x.view_mut());
                let n2 = self.norm2.forward(x.view());
                self.ffn.add_to(Some(n2.view()), &mut x);
            }
        }
        Ok(x)
    }
}
