//! DNABERT-2 checkpoints (`zhihan1996/DNABERT-2-117M` and its fine-tuned copies), read
//! unchanged. The model is MosaicBERT as the checkpoint's own `bert_layers.py` defines it
//! (loaded in Python with `trust_remote_code`); glance mirrors, module by module:
//!
//! - `BertEmbeddings`: `word_embeddings` plus row 0 of `token_type_embeddings`, then
//!   `LayerNorm`; no position table (positions come from ALiBi).
//! - `BertUnpadSelfAttention`: one fused `Wqkv` ([3d, d], rows q, then k, then v, heads
//!   contiguous within each), scores scaled by `1/sqrt(d_head)` plus the ALiBi bias
//!   `-slope_h * |i - j|` with the slopes of `_get_alibi_head_slopes`
//!   ([`alibi_slopes_interleaved`]: for a head count that is not a power of two, such as
//!   DNABERT-2's 12, not the same as `2^(-8 h / heads)`). Without padding, its unpadded
//!   layout is plain attention, so [`SelfAttention`] with `alibi` is the module.
//! - `BertSelfOutput`: `attention.output.dense`, residual, `attention.output.LayerNorm`
//!   (post-LN).
//! - `BertGatedLinearUnitMLP`: `mlp.gated_layers` ([2 * intermediate, d], no bias): the
//!   first half goes through the erf GELU (`nn.GELU(approximate='none')`, whatever
//!   `hidden_act` says) and multiplies the second; then `mlp.wo`, residual and
//!   `mlp.layernorm` (post-LN). [`FeedForward`] with `gate` = first half, `up` = second.
//! - No final norm. `BertForMaskedLM`'s head `cls.predictions` as BERT's (transform
//!   dense, `ACT2FN[hidden_act]`, LayerNorm with the code's fixed epsilon 1e-12, decoder
//!   tied to the word embeddings with its own bias), loaded when present.
//!
//! Tensor names carry `bert.` in `BertForMaskedLM` / `BertForSequenceClassification`
//! checkpoints, none in a bare `BertModel`.
//!
//! **Detection** ([`is_dnabert2`]): a config.json whose `model_type` is `bert` or absent
//! and that has `alibi_starting_size` (only MosaicBERT's `BertConfig` has it) or an
//! `auto_map` entry pointing into `bert_layers` (DNABERT-2's remote code). Its
//! `architectures` must name one of `bert_layers.py`'s classes.
//!
//! **Tokenizer**: the directory's `tokenizer.json` (BPE through the `tokenizers` crate,
//! [`glance_seq::Bpe`]; a single-nucleotide WordLevel/WordPiece file also works), with at
//! most `vocab_size` tokens.
//!
//! **Windows**: ALiBi has no position table, so nothing forbids longer inputs, but
//! DNABERT-2 was trained on sequences of `max_position_embeddings` (512) tokens with
//! `[CLS] ... [SEP]` around them (its tokenizer's post-processor). glance runs it in those
//! windows: `[CLS]` + `max_position_embeddings - 2` content tokens + `[SEP]`, cut from the
//! record's token stream (see [`crate::stream`]). `--pattern sliding:r=R` replaces each
//! layer's full attention inside the windows.

use std::path::Path;

use glance_attn::{Local, Pattern};
use serde_json::Value;

use crate::config::{Activation, NormPlacement};
use crate::encoder::{Architecture, Encoder};
use crate::error::ModelError;
use crate::import::hf::{self, HfConfig};
use crate::import::tokenizer_json::{self, EncoderParts};
use crate::layers::{
    alibi_slopes_interleaved, Embeddings, EncoderLayer, FeedForward, LayerNorm, Linear,
    SelfAttention,
};
use crate::mlm::MlmHead;
use crate::weights::Weights;

/// The LayerNorm epsilon of DNABERT-2's config (and BERT's default).
pub const DEFAULT_EPS: f32 = 1e-12;
/// The epsilon `bert_layers.py` fixes for the MLM head's LayerNorm.
const HEAD_EPS: f32 = 1e-12;
/// The classes of `bert_layers.py` a config's `architectures` may name.
pub const ARCHITECTURES: [&str; 3] = [
    "BertModel",
    "BertForMaskedLM",
    "BertForSequenceClassification",
];

/// Whether a config.json is DNABERT-2's (see the module docs).
pub fn is_dnabert2(config: &Value) -> bool {
    let bert = match config.get("model_type") {
        None | Some(Value::Null) => true,
        Some(t) => t.as_str().is_some_and(|t| t.eq_ignore_ascii_case("bert")),
    };
    let remote = config
        .get("auto_map")
        .and_then(Value::as_object)
        .is_some_and(|m| {
            m.values()
                .filter_map(Value::as_str)
                .any(|v| v.starts_with("bert_layers.") || v.contains("--bert_layers."))
        });
    bert && (config.get("alibi_starting_size").is_some() || remote)
}

/// Loads a DNABERT-2 checkpoint from `dir` whose config.json holds `value`.
pub fn load(dir: &Path, value: &Value) -> Result<Encoder, ModelError> {
    let config_path = dir.join("config.json");
    if let Some(names) = value.get("architectures").and_then(Value::as_array) {
        for name in names {
            let name = name.as_str().unwrap_or("(not a string)");
            if !ARCHITECTURES.contains(&name) {
                return Err(ModelError::Unsupported {
                    path: config_path,
                    message: format!(
                        "architecture `{name}` in a DNABERT-2 config; its bert_layers.py \
                         defines {}",
                        ARCHITECTURES.join(", ")
                    ),
                });
            }
        }
    }
    let config: HfConfig = serde_json::from_value(value.clone())
        .map_err(|e| ModelError::config(&config_path, format!("invalid DNABERT-2 config: {e}")))?;
    if config.num_attention_heads == 0
        || !config
            .hidden_size
            .is_multiple_of(config.num_attention_heads)
    {
        return Err(ModelError::config(
            &config_path,
            "hidden_size must be a positive multiple of num_attention_heads",
        ));
    }
    let head_activation = config.activation(&config_path)?;
    let (tok, window) = tokenizer_json::read_windowed(
        dir,
        "DNABERT-2",
        config.vocab_size,
        config.max_position_embeddings,
    )?;

    let w = Weights::open_dir(dir)?;
    let prefix = hf::prefix(&w, "bert");
    let eps = config.layer_norm_eps.unwrap_or(DEFAULT_EPS);
    let d = config.hidden_size;
    let e = format!("{prefix}embeddings");
    let embeddings = Embeddings {
        tokens: w.matrix(&format!("{e}.word_embeddings.weight"), config.vocab_size, d)?,
        positions: None,
        position_offset: 0,
        token_type: hf::token_type_row(&w, &format!("{e}.token_type_embeddings.weight"), d)?,
        norm: Some(LayerNorm::load(&w, &format!("{e}.LayerNorm"), d, eps)?),
        token_dropout: None,
    };
    let slopes = alibi_slopes_interleaved(config.num_attention_heads);
    let layers = (0..config.num_hidden_layers)
        .map(|i| {
            layer(
                &w,
                &format!("{prefix}encoder.layer.{i}"),
                &config,
                eps,
                &slopes,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mlm_head = MlmHead::bert(&w, head_activation, HEAD_EPS, &embeddings.tokens)?;
    let parts = EncoderParts {
        architecture: Architecture::Dnabert2,
        embeddings,
        layers,
        final_norm: None,
        mlm_head,
    };
    Ok(tok.encoder(parts, Some(window)))
}

/// Layer `p` (`bert_layers.py`'s `BertLayer`): ALiBi attention with a fused `Wqkv`,
/// post-LN, then the gated-GELU FFN, post-LN.
fn layer(
    w: &Weights,
    p: &str,
    config: &HfConfig,
    eps: f32,
    slopes: &[f32],
) -> Result<EncoderLayer, ModelError> {
    let d = config.hidden_size;
    let inter = config.intermediate_size;
    let lin = |name: &str, input, output, bias| {
        Linear::load(w, &format!("{p}.{name}"), input, output, bias)
    };
    let qkv = lin("attention.self.Wqkv", d, 3 * d, true)?;
    let (q, kv) = qkv.split_rows(d);
    let (k, v) = kv.split_rows(d);
    // gated_layers rows: the GELU-activated half first, then the multiplier.
    let (gate, up) = lin("mlp.gated_layers", d, 2 * inter, false)?.split_rows(inter);
    Ok(EncoderLayer {
        attention: SelfAttention {
            precision: crate::Precision::F32,
            q,
            k,
            v,
            o: lin("attention.output.dense", d, d, true)?,
            heads: config.num_attention_heads,
            pattern: Pattern::local(Local::Full { causal: false }),
            rope: None,
            alibi: Some(slopes.to_vec()),
            global: None,
        },
        ffn: FeedForward {
            up,
            gate: Some(gate),
            down: lin("mlp.wo", inter, d, true)?,
            activation: Activation::Gelu,
        },
        norm1: Some(LayerNorm::load(
            w,
            &format!("{p}.attention.output.LayerNorm"),
            d,
            eps,
        )?),
        norm2: LayerNorm::load(w, &format!("{p}.mlp.layernorm"), d, eps)?,
        placement: NormPlacement::Post,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_needs_mosaic_bert_keys() {
        let yes = serde_json::json!({"model_type": "bert", "alibi_starting_size": 512});
        assert!(is_dnabert2(&yes));
        let remote = serde_json::json!({"auto_map": {"AutoModel": "bert_layers.BertModel"}});
        assert!(is_dnabert2(&remote));
        let hub = serde_json::json!({"auto_map": {"AutoModel": "zhihan1996/DNABERT-2-117M--bert_layers.BertModel"}});
        assert!(is_dnabert2(&hub));
        assert!(!is_dnabert2(&serde_json::json!({"model_type": "bert"})));
        let other = serde_json::json!({"model_type": "esm", "alibi_starting_size": 512});
        assert!(!is_dnabert2(&other));
    }
}
