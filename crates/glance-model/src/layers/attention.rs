//! [`SelfAttention`]: multi-head self-attention whose score pattern, positions and
//! global projections are delegated to glance-attn's `attend`.

use std::borrow::Cow;

use glance_attn::{attend, AttendOptions, GlobalQkv, Local, Pattern, PositionBias, Precision};
use ndarray::{Array2, Array3, ArrayView2};

use crate::error::ModelError;
use crate::layers::{Linear, Rope};

/// Longformer's separate projections for global queries (`query_global`,
/// `key_global`, `value_global` of Hugging Face's `LongformerSelfAttention`).
#[derive(Debug, Clone)]
pub struct GlobalProjections {
    /// Queries of global tokens.
    pub q: Linear,
    /// Keys seen by global queries.
    pub k: Linear,
    /// Values seen by global queries.
    pub v: Linear,
}

/// Multi-head self-attention with an output projection. For imported checkpoints it
/// mirrors Hugging Face's `BertSelfAttention` + the dense part of `BertSelfOutput`,
/// `LongformerSelfAttention` + `LongformerSelfOutput`'s dense, or `ModernBertAttention`
/// (its fused `Wqkv` split into `q`, `k`, `v`; `Wo` as `o`; rotary `rope`).
#[derive(Debug, Clone)]
pub struct SelfAttention {
    /// Query projection.
    pub q: Linear,
    /// Key projection.
    pub k: Linear,
    /// Value projection.
    pub v: Linear,
    /// Output projection.
    pub o: Linear,
    /// Number of heads.
    pub heads: usize,
    /// Which keys each query sees.
    pub pattern: Pattern,
    /// Rotary positions on q and k.
    pub rope: Option<Rope>,
    /// ALiBi slopes, one per head.
    pub alibi: Option<Vec<f32>>,
    /// Separate projections for global queries.
    pub global: Option<GlobalProjections>,
    /// The arithmetic of the attention scores and values (set with the projections'
    /// by [`Encoder::set_precision`](crate::Encoder::set_precision)): `Bf16` runs
    /// glance-attn's AMX kernel where the CPU and the pattern allow it, f32 otherwise.
    pub precision: Precision,
}

impl SelfAttention {
    /// Number of parameters.
    pub fn parameters(&self) -> usize {
        let g = self.global.as_ref().map_or(0, |g| {
            g.q.parameters() + g.k.parameters() + g.v.parameters()
        });
        self.q.parameters() + self.k.parameters() + self.v.parameters() + self.o.parameters() + g
    }

    /// `x` is `[n, d]` whose row 0 sits at absolute position `offset`; returns `[n, d]`.
    pub fn forward(&self, x: ArrayView2<f32>, offset: usize) -> Result<Array2<f32>, ModelError> {
        let n = x.nrows();
        let d = self.q.output();
        let mut q = split_heads(self.q.forward(x), self.heads);
        let mut k = split_heads(self.k.forward(x), self.heads);
        let v = split_heads(self.v.forward(x), self.heads);
        if let Some(rope) = &self.rope {
            rope.apply(&mut q, offset);
            rope.apply(&mut k, offset);
        }
        let global = self.global.as_ref().map(|g| {
            (
                split_heads(g.q.forward(x), self.heads),
                split_heads(g.k.forward(x), self.heads),
                split_heads(g.v.forward(x), self.heads),
            )
        });
        let opts = AttendOptions {
            offset,
            bias: self.alibi.as_ref().map(|slopes| PositionBias::Alibi {
                slopes: slopes.clone(),
            }),
            global_qkv: global.as_ref().map(|(q, k, v)| GlobalQkv {
                q: q.view(),
                k: k.view(),
                v: v.view(),
            }),
            precision: self.precision,
            ..Default::default()
        };
        let ctx = attend(q.view(), k.view(), v.view(), &self.pattern_for(n), &opts)?;
        let merged = ctx
            .permuted_axes([1, 0, 2])
            .as_standard_layout()
            .into_owned()
            .into_shape_with_order((n, d))
            .map_err(|e| ModelError::Options(format!("attention output shape: {e}")))?;
        Ok(self.o.forward(merged.view()))
    }
}

impl SelfAttention {
    /// The pattern a call over `n` rows uses: [`SelfAttention::pattern`], except that a
    /// `bigbird` pattern over at most `(5 + 2 * random) * block` rows is full attention,
    /// as transformers' `BigBirdModel.forward` switches to `original_full` for such
    /// lengths.
    fn pattern_for(&self, n: usize) -> Cow<'_, Pattern> {
        match self.pattern.local {
            Local::BigBird { block, random }
                if n <= random
                    .saturating_mul(2)
                    .saturating_add(5)
                    .saturating_mul(block) =>
            {
                Cow::Owned(Pattern::local(Local::Full { causal: false }))
            }
            _ => Cow::Borrowed(&self.pattern),
        }
    }
}

/// `[n, heads * dh]` to `[heads, n, dh]` (standard layout), written once in order.
fn split_heads(x: Array2<f32>, heads: usize) -> Array3<f32> {
    let (n, d) = x.dim();
    let dh = d / heads;
    let mut out = Vec::with_capacity(heads * n * dh);
    for h in 0..heads {
        let part = h * dh..(h + 1) * dh;
        match x.as_slice() {
            Some(flat) => flat
                .chunks_exact(d)
                .for_each(|row| out.extend_from_slice(&row[part.clone()])),
            None => x
                .rows()
                .into_iter()
                .for_each(|row| out.extend(row.slice(ndarray::s![part.clone()]).iter())),
        }
    }
    Array3::from_shape_vec((heads, n, dh), out)
        .unwrap_or_else(|_| unreachable!("heads * n * dh values for [heads, n, dh]"))
}
