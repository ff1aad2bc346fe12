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

use crate::config::NormPlacement;
use crate::encoder::{Architecture, Encoder};
use crate::error::ModelError;
use crate::import::bert;
use crate::import::hf::HfConfig;

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
    let variant = bert::Variant {
        family: "BigBird",
        architecture: Architecture::BigBird,
        pattern,
        placement: NormPlacement::Post,
        final_norm: None,
    };
    bert::load_windowed(dir, config, variant)
}
