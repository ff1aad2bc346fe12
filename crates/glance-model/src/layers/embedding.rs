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
}

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
        let mut x = Array2::<f32>::zeros((ids.len(), d));
        for (t, (&id, mut row)) in ids.iter().zip(x.rows_mut()).enumerate() {
            if id as usize >= vocab {
                return Err(ModelError::TokenId {
                    id,
                    vocab_size: vocab,
                });
            }
            row.assign(&self.tokens.row(id as usize));
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
