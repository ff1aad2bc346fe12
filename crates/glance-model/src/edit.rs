//! Re-encoding an edited token span layer by layer, recomputing only what can change.
//!
//! [`SpanStates`] keeps the input of every layer for a span of a record (tokens
//! `first..`). [`SpanStates::edit`] gives the outputs after some tokens' ids change: at
//! layer l only the tokens within the layer's reach of the tokens already changed are
//! recomputed, their attention reading the kept states of the other tokens. The
//! changed set grows by each layer's reach; after the last layer it is the union of the
//! edited tokens' receptive fields. Models of bounded reach with relative or no positions
//! only (RoPE, ALiBi; not learned positions).
//!
//! Exactness: the result equals encoding the whole edited record when the span's states
//! are exact wherever they are read, that is when the span reaches twice the receptive
//! radius beyond the edited tokens (or the record's ends) and was itself encoded with a
//! further radius of context, or is the whole record.

use std::ops::Range;

use ndarray::{s, Array2};

use crate::encoder::Encoder;
use crate::error::ModelError;

/// The input of every layer (and the last layer's output) over a span of tokens.
#[derive(Debug, Clone)]
pub struct SpanStates {
    /// Absolute index of the span's first token.
    first: u64,
    /// `states[l]`: the input of layer `l` (`states[0]` the embeddings); the last is the
    /// last layer's output, before the final norm.
    states: Vec<Array2<f32>>,
}

/// What an edit recomputed.
#[derive(Debug, Clone)]
pub struct Edited {
    /// The tokens whose outputs were recomputed (absolute).
    pub tokens: Range<u64>,
    /// Their last hidden states (final norm applied), `[tokens.len(), d_model]`.
    pub rows: Array2<f32>,
    /// Token-layers run (the layers' inputs, reach included), the work done.
    pub token_layers: u64,
}

fn unbounded() -> ModelError {
    ModelError::Options(
        "editing a span needs a model of bounded reach with relative or no positions".into(),
    )
}

impl SpanStates {
    /// Encodes `ids`, tokens `first..` of a record, keeping every layer's input.
    pub fn encode(enc: &Encoder, ids: &[u32], first: u64) -> Result<SpanStates, ModelError> {
        if enc.embeddings.max_tokens().is_some() || enc.receptive_radius().is_none() {
            return Err(unbounded());
        }
        let mut states = Vec::with_capacity(enc.layers.len() + 1);
        let mut x = enc.embeddings.forward(ids)?;
        for layer in &enc.layers {
            let next = layer.forward(x.clone(), first as usize)?;
            states.push(x);
            x = next;
        }
        states.push(x);
        Ok(SpanStates { first, states })
    }

    /// The span's tokens (absolute).
    pub fn tokens(&self) -> Range<u64> {
        self.first..self.first + self.states[0].nrows() as u64
    }

    /// Last hidden states of tokens `range` (within the span; final norm applied).
    pub fn outputs(&self, enc: &Encoder, range: Range<u64>) -> Result<Array2<f32>, ModelError> {
        let span = self.tokens();
        if range.start < span.start || range.end > span.end || range.start > range.end {
            return Err(outside(&range, &span));
        }
        let last = &self.states[self.states.len() - 1];
        let a = (range.start - self.first) as usize;
        let b = (range.end - self.first) as usize;
        let mut rows = last.slice(s![a..b, ..]).to_owned();
        if let Some(norm) = &enc.final_norm {
            norm.forward_inplace(&mut rows);
        }
        Ok(rows)
    }

    /// The outputs after tokens `edited` take the ids `ids` (see the module docs).
    pub fn edit(
        &self,
        enc: &Encoder,
        edited: Range<u64>,
        ids: &[u32],
    ) -> Result<Edited, ModelError> {
        let span = self.tokens();
        if edited.start < span.start
            || edited.end > span.end
            || edited.end - edited.start != ids.len() as u64
        {
            return Err(outside(&edited, &span));
        }
        let mut field = edited;
        let mut rows = enc.embeddings.forward(ids)?;
        let mut token_layers = 0u64;
        for (l, layer) in enc.layers.iter().enumerate() {
            let reach = layer
                .attention
                .pattern
                .local_radius()
                .ok_or_else(unbounded)? as u64;
            let grown = field.start.saturating_sub(reach).max(span.start)
                ..(field.end + reach).min(span.end);
            let input = grown.start.saturating_sub(reach).max(span.start)
                ..(grown.end + reach).min(span.end);
            let at =
                |r: &Range<u64>| (r.start - input.start) as usize..(r.end - input.start) as usize;
            let mut x = self.states[l]
                .slice(s![
                    (input.start - self.first) as usize..(input.end - self.first) as usize,
                    ..
                ])
                .to_owned();
            x.slice_mut(s![at(&field), ..]).assign(&rows);
            let out = layer.forward(x, input.start as usize)?;
            rows = out.slice(s![at(&grown), ..]).to_owned();
            token_layers += input.end - input.start;
            field = grown;
        }
        if let Some(norm) = &enc.final_norm {
            norm.forward_inplace(&mut rows);
        }
        Ok(Edited {
            tokens: field,
            rows,
            token_layers,
        })
    }
}

fn outside(range: &Range<u64>, span: &Range<u64>) -> ModelError {
    ModelError::Options(format!(
        "tokens {}..{} are not inside the span {}..{} (or the ids do not fit them)",
        range.start, range.end, span.start, span.end
    ))
}
