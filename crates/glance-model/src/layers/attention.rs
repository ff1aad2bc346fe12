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
        Ok(self.o.forward(self.context(x, offset)?.view()))
    }

    /// The heads' attention outputs merged back to `[n, d]` (what Hugging Face's
    /// `BertSelfAttention` returns): the input of the output projection `o`, which an
    /// encoder layer adds straight into its residual stream ([`Linear::add_to`]).
    pub fn context(&self, x: ArrayView2<f32>, offset: usize) -> Result<Array2<f32>, ModelError> {
        let n = x.nrows();
        let projected_heads = |[q, k, v]: [&Linear; 3]| {
            let [yq, yk, yv] = Linear::products([q, k, v], x);
            let split = |p: &Linear, y| split_heads(y, p.bias(), self.heads);
            (split(q, yq), split(k, yk), split(v, yv))
        };
        let (mut q, mut k, v) = projected_heads([&self.q, &self.k, &self.v]);
        if let Some(rope) = &self.rope {
            rope.apply(&mut q, offset);
            rope.apply(&mut k, offset);
        }
        let global = self
            .global
            .as_ref()
            .map(|g| projected_heads([&g.q, &g.k, &g.v]));
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
        Ok(merge_heads(&ctx))
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

/// `[n, heads * dh]` plus `bias` (per column) to `[heads, n, dh]` (standard layout):
/// one pass that reads each row of `x` once and writes every output element once.
fn split_heads(x: Array2<f32>, bias: Option<&[f32]>, heads: usize) -> Array3<f32> {
    let (n, d) = x.dim();
    let dh = d / heads;
    let x = x.as_standard_layout();
    let flat = x.as_slice().unwrap_or(&[]);
    let zero = vec![0.0; d];
    let bias = bias.unwrap_or(&zero);
    let len = heads * n * dh;
    let mut out = Vec::with_capacity(len);
    let spare = &mut out.spare_capacity_mut()[..len];
    for (i, row) in flat.chunks_exact(d).enumerate() {
        for (h, (part, b)) in row
            .chunks_exact(dh)
            .zip(bias.chunks_exact(dh))
            .take(heads)
            .enumerate()
        {
            let dst = &mut spare[(h * n + i) * dh..(h * n + i + 1) * dh];
            for ((o, &v), &b) in dst.iter_mut().zip(part).zip(b) {
                o.write(v + b);
            }
        }
    }
    // SAFETY: `flat` holds n rows of d = heads * dh values (a standard-layout [n, d]
    // array), so the loops above wrote all n * heads * dh elements of `spare`.
    unsafe { out.set_len(len) };
    Array3::from_shape_vec((heads, n, dh), out)
        .unwrap_or_else(|_| unreachable!("heads * n * dh values for [heads, n, dh]"))
}

/// `[heads, n, dh]` to `[n, heads * dh]`: row `i` is the heads' rows `i` side by side.
fn merge_heads(ctx: &Array3<f32>) -> Array2<f32> {
    let (heads, n, dh) = ctx.dim();
    let ctx = ctx.as_standard_layout();
    let flat = ctx.as_slice().unwrap_or(&[]);
    let mut out = Vec::with_capacity(n * heads * dh);
    for i in 0..n {
        for h in 0..heads {
            out.extend_from_slice(&flat[(h * n + i) * dh..(h * n + i + 1) * dh]);
        }
    }
    Array2::from_shape_vec((n, heads * dh), out)
        .unwrap_or_else(|_| unreachable!("n * heads * dh values for [n, heads * dh]"))
}
