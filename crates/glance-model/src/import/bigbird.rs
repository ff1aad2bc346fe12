//! BigBird checkpoints (`model_type: big_bird`; GENA-LM's `gena-lm-bigbird-*` among
//! them), read unchanged, as transformers' `BigBirdModel` / `BigBirdForMaskedLM` runs
//! them in eval mode:
//!
//! - `BigBirdEmbeddings`: word + learned absolute position (from 0) + token type 0
//!   embeddings, then `LayerNorm` (`rescale_embeddings` is refused).
//! - `BigBirdLayer`: post-LN like BERT (`attention.output.LayerNorm`,
//!   `output.LayerNorm`), `hidden_act` (GENA-LM's: `gelu_new`, the tanh GELU); its
//!   `BigBirdBlockSparseAttention` is glance-attn's `bigbird:b=block_size,
//!   random=num_random_blocks` (random blocks as transformers draws them in eval mode:
//!   all block 0), or full attention for `attention_type: original_full`.
//! - `BigBirdModel`'s switch: a window of at most `(5 + 2 * num_random_blocks) *
//!   block_size` tokens runs full attention (`SelfAttention::forward` applies it per
//!   call). Unlike transformers, the switch is not sticky: transformers'
//!   `set_attention_type("original_full")` stays set on the model for later calls.
//! - `BigBirdForMaskedLM`'s head `cls.predictions` as BERT's, loaded when present.
//!
//! Tokenizer: the directory's `tokenizer.json` (GENA-LM's BPE, `[CLS] ... [SEP]`
//! post-processor). Windows: `max_position_embeddings` tokens, `[CLS]` and `[SEP]`
//! included (4,096 for GENA-LM's BigBird models), cut from the record's token stream.

use std::path::Path;

use glance_attn::{Local, Pattern};

use crate::encoder::{Architecture, Encoder};
use crate::error::ModelError;
use crate::import::hf::{self, HfConfig, LayerShape};
use crate::import::{bert, tokenizer_json};
use crate::mlm::MlmHead;
use crate::weights::Weights;

/// `BigBirdConfig`'s defaults for the block-sparse keys a config may leave out.
const DEFAULT_BLOCK: usize = 64;
const DEFAULT_RANDOM: usize = 3;

/// The attention pattern of every layer: `bigbird:b=...,random=...` or `full`.
pub fn pattern(config: &HfConfig, config_path: &Path) -> Result<Pattern, ModelError> {
    let unsupported = |message: String| ModelError::Unsupported {
        path: config_path.to_path_buf(),
        message,
    };
    match config.attention_type.as_deref().unwrap_or("block_sparse") {
        "original_full" => Ok(Pattern::local(Local::Full { causal: false })),
        "block_sparse" => {
            let block = config.block_size.unwrap_or(DEFAULT_BLOCK);
            let random = config.num_random_blocks.unwrap_or(DEFAULT_RANDOM);
            if block == 0 || random == 0 {
                return Err(unsupported(format!(
                    "block_size {block} with num_random_blocks {random}: transformers' \
                     block-sparse attention needs both >= 1"
                )));
            }
            Ok(Pattern::local(Local::BigBird { block, random }))
        }
        other => Err(unsupported(format!(
            "attention_type `{other}` (BigBird has block_sparse and original_full)"
        ))),
    }
}

/// Loads a BigBird checkpoint from `dir` with its parsed `config`.
pub fn load(dir: &Path, config: &HfConfig) -> Result<Encoder, ModelError> {
    let config_path = dir.join("config.json");
    config.check(&config_path)?;
    let pattern = pattern(config, &config_path)?;
    for (key, value, wanted) in [
        ("use_bias", config.use_bias, true),
        ("rescale_embeddings", config.rescale_embeddings, false),
    ] {
        if value.is_some_and(|v| v != wanted) {
            return Err(ModelError::Unsupported {
                path: config_path,
                message: format!("BigBird {key} = {}", !wanted),
            });
        }
    }
    let (tok, window) = tokenizer_json::read_windowed(
        dir,
        "BigBird",
        config.vocab_size,
        config.max_position_embeddings,
    )?;
    let w = Weights::open_dir(dir)?;
    let prefix = hf::prefix(&w, "bert");
    let eps = config.layer_norm_eps.unwrap_or(bert::DEFAULT_EPS);
    let embeddings = hf::embeddings(&w, &prefix, config, eps, 0)?;
    let mlm_head = MlmHead::bert(
        &w,
        config.activation(&config_path)?,
        eps,
        &embeddings.tokens,
    )?;
    let shape = LayerShape::of(config, &config_path, eps)?;
    let layers = hf::layers(
        &w,
        &prefix,
        &shape,
        std::iter::repeat_n(pattern, config.num_hidden_layers),
        false,
    )?;
    Ok(Encoder {
        architecture: Architecture::BigBird,
        embeddings,
        layers,
        final_norm: None,
        pool_query: None,
        tokenizer: tok.options,
        vocab: tok.vocab,
        segmentation: tok.segmentation,
        window: Some(window),
        tokenizer_source: tok.source,
        mlm_head,
    })
}
