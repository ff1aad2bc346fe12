//! The building blocks of an encoder, one module each: [`Linear`] (on the `gemm`
//! crate), [`LayerNorm`], [`FeedForward`], [`Embeddings`], [`Rope`] / ALiBi slopes,
//! [`SelfAttention`] (over glance-attn) and [`EncoderLayer`].

mod attention;
mod embedding;
mod ffn;
mod layer;
mod linear;
mod norm;
mod position;

pub use attention::{GlobalProjections, SelfAttention};
pub use embedding::Embeddings;
pub(crate) use ffn::activate;
pub use ffn::FeedForward;
pub use layer::EncoderLayer;
pub use linear::Linear;
pub use norm::LayerNorm;
pub use position::{alibi_slopes, alibi_slopes_interleaved, Rope};
