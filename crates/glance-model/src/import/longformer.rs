//! Hugging Face `LongformerModel` / `LongformerForMaskedLM` checkpoints: sliding windows
//! of `attention_window[i] / 2` each side per layer, global attention on `[CLS]` (the
//! window's first token) with the `query_global` / `key_global` / `value_global`
//! projections, RoBERTa-style positions starting at `pad_token_id + 1`; the `lm_head` of
//! `LongformerForMaskedLM` when present.

use std::path::Path;

use glance_attn::{Global, Local, Pattern};

use crate::encoder::{Architecture, Encoder};
use crate::error::ModelError;
use crate::import::hf::{self, HfConfig, LayerShape};
use crate::mlm::MlmHead;
use crate::weights::Weights;

/// Longformer's LayerNorm epsilon when the config does not say.
pub const DEFAULT_EPS: f32 = 1e-5;
/// Longformer's (RoBERTa's) padding id when the config does not say.
pub const DEFAULT_PAD: u32 = 1;

/// Loads a Longformer checkpoint from `dir` with its parsed `config`.
pub fn load(dir: &Path, config: &HfConfig) -> Result<Encoder, ModelError> {
    let config_path = dir.join("config.json");
    config.check(&config_path)?;
    let n_layers = config.num_hidden_layers;
    let windows = config
        .attention_window
        .as_ref()
        .and_then(|w| w.per_layer(n_layers))
        .ok_or_else(|| {
            ModelError::config(
                &config_path,
                format!("attention_window must be one number or a list of {n_layers}"),
            )
        })?;
    if let Some(dil) = config.attention_dilation.as_ref() {
        if dil
            .per_layer(n_layers)
            .is_none_or(|v| v.iter().any(|&d| d != 1))
        {
            return Err(ModelError::Unsupported {
                path: config_path,
                message: "attention_dilation other than 1".into(),
            });
        }
    }
    if let Some((i, w)) = windows
        .iter()
        .enumerate()
        .find(|(_, w)| **w == 0 || **w % 2 != 0)
    {
        return Err(ModelError::config(
            &config_path,
            format!("attention_window[{i}] = {w} must be a positive even number"),
        ));
    }
    let w = Weights::open_dir(dir)?;
    let vocab = hf::read_vocab(dir, config.vocab_size)?;
    let prefix = hf::prefix(&w, "longformer");
    let eps = config.layer_norm_eps.unwrap_or(DEFAULT_EPS);
    let pad = config.pad_token_id.unwrap_or(DEFAULT_PAD) as usize;
    let embeddings = hf::embeddings(&w, &prefix, config, eps, pad + 1)?;
    let shape = LayerShape::of(config, &config_path, eps)?;
    let patterns = windows.iter().map(|&win| Pattern {
        local: Local::Sliding {
            radius: win / 2,
            causal: false,
        },
        global: Some(Global::First),
    });
    let layers = hf::layers(&w, &prefix, &shape, patterns, true)?;
    let mlm_head = MlmHead::lm_head(&w, eps, &embeddings.tokens)?;
    let encoder = hf::encoder(
        Architecture::Longformer,
        embeddings,
        layers,
        vocab,
        mlm_head,
    );
    Ok(encoder)
}
