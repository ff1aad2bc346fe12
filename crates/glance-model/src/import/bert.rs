//! Hugging Face `BertModel` / `BertForMaskedLM` checkpoints, DNABERT included: learned
//! absolute positions, token type 0, post-LN layers with full attention, run in
//! `[CLS] ... [SEP]` windows of the position table's length.

use std::path::Path;

use glance_attn::{Local, Pattern};

use crate::config::NormPlacement;
use crate::encoder::{Architecture, Encoder};
use crate::error::ModelError;
use crate::import::hf::{self, HfConfig, LayerShape};
use crate::import::tokenizer_json::{self, EncoderParts};
use crate::layers::LayerNorm;
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

/// What a BERT-layout checkpoint tokenized by its tokenizer.json (GENA-LM, BigBird)
/// changes from BERT.
pub(crate) struct WindowedVariant {
    /// The family, for error messages.
    pub family: &'static str,
    /// Which family the encoder reports.
    pub architecture: Architecture,
    /// Every layer's attention pattern.
    pub pattern: Pattern,
    /// Where the layers' LayerNorms sit.
    pub placement: NormPlacement,
    /// The name, after the `bert.` prefix, of a LayerNorm after the last layer, if any.
    pub final_norm: Option<&'static str>,
}

/// Loads a BERT-layout checkpoint (BERT's embeddings, layers and `cls.predictions` head
/// when present) from `dir`, changed as `variant` says, run in `[CLS] ... [SEP]` windows
/// of `max_position_embeddings` tokens of its tokenizer.json.
pub(crate) fn load_windowed(
    dir: &Path,
    config: &HfConfig,
    variant: WindowedVariant,
) -> Result<Encoder, ModelError> {
    let config_path = dir.join("config.json");
    let (tok, window) = tokenizer_json::read_windowed(
        dir,
        variant.family,
        config.vocab_size,
        config.max_position_embeddings,
    )?;
    let w = Weights::open_dir(dir)?;
    let prefix = hf::prefix(&w, "bert");
    let eps = config.layer_norm_eps.unwrap_or(DEFAULT_EPS);
    let embeddings = hf::embeddings(&w, &prefix, config, eps, 0)?;
    let mlm_head = MlmHead::bert(
        &w,
        config.activation(&config_path)?,
        eps,
        &embeddings.tokens,
    )?;
    let mut shape = LayerShape::of(config, &config_path, eps)?;
    shape.placement = variant.placement;
    let patterns = std::iter::repeat_n(variant.pattern, config.num_hidden_layers);
    let layers = hf::layers(&w, &prefix, &shape, patterns, false)?;
    let final_norm = variant
        .final_norm
        .map(|name| LayerNorm::load(&w, &format!("{prefix}{name}"), config.hidden_size, eps))
        .transpose()?;
    let parts = EncoderParts {
        architecture: variant.architecture,
        embeddings,
        layers,
        final_norm,
        mlm_head,
    };
    Ok(tok.encoder(parts, Some(window)))
}
