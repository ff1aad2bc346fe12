//! Transformer encoders for glance: a native model format (config.json +
//! model.safetensors), importers for Hugging Face BERT/DNABERT, Longformer and ModernBERT
//! checkpoints, chunked streaming inference whose kept centres equal whole-sequence
//! encoding, and pooling of token states into per-region embeddings.
//!
//! Layers ([`layers`]) know nothing of DNA; attention itself is glance-attn's `attend`.

pub mod config;
mod default_model;
mod edit;
pub mod encoder;
pub mod error;
pub mod import;
pub mod kernels;
pub mod layers;
mod load;
mod mlm;
mod native;
pub mod pool;
mod schedule;
pub mod stream;
pub mod torch_pickle;
pub mod weights;

pub use ndarray;

pub use config::ModelConfig;
pub use default_model::{load_bundled, DefaultModel, BUNDLED_FILES, BUNDLED_LABEL, MODEL_ENV};
pub use edit::{Edited, SpanStates};
pub use encoder::{Architecture, Encoder, PatternOverrideError, RunMode, Segmentation, Window};
pub use error::ModelError;
pub use glance_kernels::{Precision, PrecisionError};
pub use load::load;
pub use mlm::{MlmHead, NATIVE_HEAD_FILE};
pub use pool::{PooledRegion, Pooler, Pooling, RegionSpec, Regions, RowSink};
pub use stream::{
    encode_range, encode_source, encode_source_where, encode_tokens, range_context, StreamOptions,
    TokenSink,
};
pub use weights::Weights;
