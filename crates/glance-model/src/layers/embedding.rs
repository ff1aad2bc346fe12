//! [`Embeddings`]: token ids to the first hidden states.

use ndarray::{Array1, Array2};

use crate::error::ModelError;
use crate::layers::LayerNorm;

/// Token embedding plus optional learned absolute positions, an optional constant
/// token-type row and an optional LayerNorm. For imported checkpoints it mirrors Hugging
/// Face's `BertEmbeddings` / `LongformerEmbeddings` (token type 0 everywhere; dropout is
/// an identity at inference), or `ModernBertEmbeddings` (tokens and a norm only).
#[derive(Debug, Clone)]
pub struct Embeddings {
    /// `[vocab, d]`.
    pub tokens: Array2<f32>,
    /// `[max_positions, d]`, when positions are learned.
    pub positions: Option<Array2<f32>>,
    /// Index of the first usable position row (Longformer/RoBERTa: `pad_token_id + 1`).
    pub position_offset: usize,
    /// Row 0 of the token-type table, added to every token.
    pub token_type: Option<Array1<f32>>,
    /// LayerNorm after the sum.
    pub norm: Option<LayerNorm>,
    /// ESM's `token_dropout`: the id of `<mask>`, whose embeddings are zeroed while
    /// every token embedding is scaled by `(1 - 0.15 * 0.8) / (1 - masked fraction)`
    /// (the masked fraction of the window), as transformers' `EsmEmbeddings` does at
    /// inference.
    pub token_dropout: Option<u32>,
}

/// The fraction of tokens ESM training masked (15 %, of which 80 % became `<mask>`).
const ESM_MASK_RATIO_TRAIN: f64 = 0.15 * 0.8;

impl Embeddings {
    /// Number of parameters (the whole token-type table counts as one row).
    pub fn parameters(&self) -> usize {
        self.tokens.len()
            + self.positions.as_ref().map_or(0, |p| p.len())
            + self.token_type.as_ref().map_or(0, |t| t.len())
            + self.norm.as_ref().map_or(0, LayerNorm::parameters)
    }

    /// How many tokens one window may hold (learned positions only).
    pub fn max_tokens(&self) -> Option<usize> {
        self.positions
            .as_ref()
            .map(|p| p.nrows().saturating_sub(self.position_offset))
    }

    /// Embeds `ids`; with learned positions token `t` takes row `position_offset + t`.
    pub fn forward(&self, ids: &[u32]) -> Result<Array2<f32>, ModelError> {
        let (vocab, d) = self.tokens.dim();
        if let Some(max) = self.max_tokens() {
            if ids.len() > max {
                return Err(ModelError::TooLong {
                    len: ids.len(),
                    max,
                });
            }
        }
        let dropout_scale = self.token_dropout.map_or(1.0, |mask| {
            let masked = ids.iter().filter(|&&id| id == mask).count() as f64;
            ((1.0 - ESM_MASK_RATIO_TRAIN) / (1.0 - masked / ids.len().max(1) as f64)) as f32
        });
        let mut x = Array2::<f32>::zeros((ids.len(), d));
        for (t, (&id, mut row)) in ids.iter().zip(x.rows_mut()).enumerate() {
            if id as usize >= vocab {
                return Err(ModelError::TokenId {
                    id,
                    vocab_size: vocab,
                });
            }
            row.assign(&self.tokens.row(id as usize));
            if let Some(mask) = self.token_dropout {
                if id == mask {
                    row.fill(0.0);
                }
                row.mapv_inplace(|v| v * dropout_scale);
            }
            if let Some(p) = &self.positions {
                row += &p.row(self.position_offset + t);
            }
            if let Some(tt) = &self.token_type {
                row += tt;
            }
        }
        if let Some(norm) = &self.norm {
            norm.forward_inplace(&mut x);
        }
        Ok(x)
    }
}
