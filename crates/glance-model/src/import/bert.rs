//! Hugging Face `BertModel` / `BertForMaskedLM` checkpoints, DNABERT included: learned
//! absolute positions, token type 0, post-LN layers with full attention, run in
//! `[CLS] ... [SEP]` windows of the position table's length.

use std::path::Path;

use glance_attn::{Local, Pattern};

use crate::encoder::{Architecture, Encoder};
use crate::error::ModelError;
use crate::import::hf::{self, HfConfig, LayerShape};
use crate::mlm::MlmHead;
use crate::weights::Weights;

/// BERT's LayerNorm epsilon when the config does not say (DNABERT's configs do not).
pub const DEFAULT_EPS: f32 = 1e-12;

/// Loads a BERT checkpoint from `dir` with its parsed `config`.
pub fn load(dir: &Path, config: &HfConfig) -> Result<Encoder, ModelError> {
    let config_path = dir.join("config.json");
    config.check(&config_path)?;
    let w = Weights::open_dir(dir)?;
    let vocab = hf::read_vocab(dir, config.vocab_size)?;
    let prefix = hf::prefix(&w, "bert");
    let eps = config.layer_norm_eps.unwrap_or(DEFAULT_EPS);
    let embeddings = hf::embeddings(&w, &prefix, config, eps, 0)?;
    let mlm_head = MlmHead::bert(
        &w,
        config.activation(&config_path)?,
        eps,
        &embeddings.tokens,
    )?;
    let shape = LayerShape::of(config, &config_path, eps)?;
    let full = Pattern::local(Local::Full { causal: false });
    let patterns = std::iter::repeat_n(full, config.num_hidden_layers);
    let layers = hf::layers(&w, &prefix, &shape, patterns, false)?;
    let encoder = hf::encoder(Architecture::Bert, embeddings, layers, vocab, mlm_head);
    Ok(encoder)
}
