//! GENA-LM BERT checkpoints (`AIRI-Institute/gena-lm-bert-*`), read unchanged. Their
//! config.json says `model_type: bert` and carries the keys of GENA-LM's own
//! `modeling_bert.py` (a transformers 4.17 BERT with options); glance mirrors, module by
//! module:
//!
//! - `BertEmbeddings`: word + learned absolute position (from 0) + token type 0
//!   embeddings, then `embeddings.LayerNorm` (kept in the pre-LN variants).
//! - `BertLayer` with `pre_layer_norm: true` (Xiong et al. 2020):
//!   `h = x + attention.output.dense(attn(pre_attention_ln(x)))`, then
//!   `out = h + output.dense(act(intermediate.dense(post_attention_ln(h))))`;
//!   `BertSelfOutput` and `BertOutput` then have no LayerNorm of their own.
//!   Without `pre_layer_norm`, the layer is transformers' post-LN `BertLayer`.
//! - `BertEncoder`: `encoder.last_layer_ln` after the last layer when
//!   `last_layer_norm` (which defaults to `pre_layer_norm`).
//! - `BertForMaskedLM`'s head `cls.predictions` as BERT's, loaded when present.
//!
//! Detection ([`is_gena`]): a BERT config with the `pre_layer_norm` key, or a BERT
//! directory with a `tokenizer.json` and no `vocab.txt`. Refused with one error each:
//! `sparse_config_cls` (DeepSpeed sparse attention), position types other than
//! `absolute` (GENA-LM's code also has rotary and relative-bias variants).
//!
//! Tokenizer: the directory's BPE `tokenizer.json` ([`glance_seq::Bpe`]), whose
//! post-processor wraps a sequence as `[CLS] ... [SEP]`; glance runs windows of
//! `max_position_embeddings` tokens, `[CLS]` and `[SEP]` included, cut from the record's
//! token stream.

use std::path::Path;

use glance_attn::{Local, Pattern};

use crate::config::NormPlacement;
use crate::encoder::{Architecture, Encoder};
use crate::error::ModelError;
use crate::import::hf::HfConfig;
use crate::import::{bert, tokenizer_json};

/// Whether a BERT checkpoint in `dir` with `config` is GENA-LM's (see the module docs).
pub fn is_gena(dir: &Path, config: &HfConfig) -> bool {
    config.pre_layer_norm.is_some()
        || (dir.join(tokenizer_json::FILE).is_file() && !dir.join("vocab.txt").exists())
}

/// Loads a GENA-LM BERT checkpoint from `dir` with its parsed `config`.
pub fn load(dir: &Path, config: &HfConfig) -> Result<Encoder, ModelError> {
    let config_path = dir.join("config.json");
    config.check(&config_path)?;
    if let Some(cls) = &config.sparse_config_cls {
        return Err(ModelError::Unsupported {
            path: config_path,
            message: format!(
                "sparse_config_cls `{cls}` (GENA-LM's DeepSpeed sparse attention); glance runs \
                 the dense and BigBird GENA-LM models"
            ),
        });
    }
    let pre = config.pre_layer_norm.unwrap_or(false);
    let last = config.last_layer_norm.unwrap_or(pre);
    if last && !pre {
        return Err(ModelError::config(
            &config_path,
            "last_layer_norm needs pre_layer_norm (GENA-LM's BertEncoder refuses it too)",
        ));
    }
    let variant = bert::Variant {
        family: "GENA-LM",
        architecture: Architecture::GenaLm,
        pattern: Pattern::local(Local::Full { causal: false }),
        placement: if pre {
            NormPlacement::Pre
        } else {
            NormPlacement::Post
        },
        final_norm: last.then_some("encoder.last_layer_ln"),
    };
    bert::load_windowed(dir, config, variant)
}
