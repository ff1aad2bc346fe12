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
    config.check(&dir.join("config.json"))?;
    let vocab = hf::read_vocab(dir, config.vocab_size)?;
    let bert = Variant {
        family: "BERT",
        architecture: Architecture::Bert,
        pattern: Pattern::local(Local::Full { causal: false }),
        placement: NormPlacement::Post,
        final_norm: None,
    };
    let parts = parts(dir, config, bert)?;
    let encoder = hf::encoder(
        parts.architecture,
        parts.embeddings,
        parts.layers,
        vocab,
        parts.mlm_head,
    );
    Ok(encoder)
}

/// What a BERT-layout checkpoint (GENA-LM, BigBird, BERT itself) has of its own.
pub(crate) struct Variant {
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

/// Loads a BERT-layout checkpoint changed as `variant` says from `dir`, run in
/// `[CLS] ... [SEP]` windows of `max_position_embeddings` tokens of its tokenizer.json.
pub(crate) fn load_windowed(
    dir: &Path,
    config: &HfConfig,
    variant: Variant,
) -> Result<Encoder, ModelError> {
    let (tok, window) = tokenizer_json::read_windowed(
        dir,
        variant.family,
        config.vocab_size,
        config.max_position_embeddings,
    )?;
    Ok(tok.encoder(parts(dir, config, variant)?, Some(window)))
}

/// The weights of a BERT-layout checkpoint in `dir`: BERT's embeddings, layers and
/// `cls.predictions` head when present, changed as `variant` says.
fn parts(dir: &Path, config: &HfConfig, variant: Variant) -> Result<EncoderParts, ModelError> {
    let config_path = dir.join("config.json");
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
    Ok(EncoderParts {
        architecture: variant.architecture,
        embeddings,
        layers,
        final_norm,
        mlm_head,
    })
}
