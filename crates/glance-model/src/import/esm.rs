//! Nucleotide Transformer checkpoints, read unchanged from their hub directories.
//!
//! - v1 (e.g. `nucleotide-transformer-500m-human-ref`): transformers' `EsmModel` /
//!   `EsmForMaskedLM`: learned absolute positions from `pad_token_id + 1`, pre-LN layers
//!   (`attention.LayerNorm`, then `LayerNorm` before the FFN), ESM's erf GELU,
//!   `emb_layer_norm_after` as the final norm, `token_dropout` scaling.
//! - v2 (the `nucleotide-transformer-v2-*` family): the checkpoints' own
//!   `modeling_esm.py` (their config.json names it in `auto_map` and carries
//!   `add_bias_fnn`): rotary positions (rotate-half, base 10000, within each window), and
//!   a SwiGLU FFN whose `intermediate.dense` holds the gate (first half, through SiLU)
//!   and the up projection (second half), without biases unless `add_bias_fnn`.
//!
//! The tokenizer is the directory's vocab.txt read as `EsmTokenizer` reads it: longest
//! match over k-mers with single-nucleotide fallback ([`glance_seq::LongestMatch`]).
//! Windows are `<cls>` + up to `max_position_embeddings - pad_token_id - 1 - 1 (- 1)`
//! tokens (+ `<eos>` when the tokenizer appends one: `eos_token` in
//! tokenizer_config.json / special_tokens_map.json, `<eos>` when neither names it, as
//! `EsmTokenizer` defaults).

use std::path::Path;

use glance_attn::{Local, Pattern};
use glance_seq::{SoftMask, TokenizerOptions, Vocab};
use serde_json::Value;

use crate::config::{Activation, NormPlacement};
use crate::encoder::{Architecture, Encoder, Segmentation, TokenizerSource, Window};
use crate::error::ModelError;
use crate::import::hf::HfConfig;
use crate::layers::{
    Embeddings, EncoderLayer, FeedForward, LayerNorm, Linear, Rope, SelfAttention,
};
use crate::mlm::MlmHead;
use crate::weights::Weights;

/// The LayerNorm epsilon of `EsmConfig` when the config does not say.
pub const DEFAULT_EPS: f32 = 1e-12;
/// The rotary base of ESM and Nucleotide Transformer v2.
const ROTARY_THETA: f32 = 10000.0;

/// How a checkpoint's positions and FFN are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Variant {
    rotary: bool,
    /// v2's SwiGLU FFN (`Some(bias)`), or v1's GELU FFN with biases (`None`).
    gated: Option<bool>,
}

/// Loads a Nucleotide Transformer checkpoint from `dir` with its parsed `config`.
pub fn load(dir: &Path, config: &HfConfig) -> Result<Encoder, ModelError> {
    let config_path = dir.join("config.json");
    let variant = variant(config, &config_path)?;
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
    let d = config.hidden_size;
    let d_head = d / config.num_attention_heads;
    if variant.rotary && !d_head.is_multiple_of(2) {
        return Err(ModelError::config(
            &config_path,
            "rotary positions need an even head width",
        ));
    }
    let vocab = read_vocab(dir, config)?;
    let special = vocab.special();
    let cls = special.cls.ok_or_else(|| {
        ModelError::config(dir.join("vocab.txt"), "the vocabulary has no <cls> token")
    })?;
    let eos = match eos_token(dir)? {
        Some(token) => Some(vocab.id(&token).ok_or_else(|| {
            ModelError::config(
                dir.join("tokenizer_config.json"),
                format!("eos_token `{token}` is not in vocab.txt"),
            )
        })?),
        None => None,
    };
    let pad = config.pad_token_id.unwrap_or(1) as usize;
    let window_tokens = config
        .max_position_embeddings
        .checked_sub(pad + 1)
        .filter(|&n| n > 1 + usize::from(eos.is_some()))
        .ok_or_else(|| {
            ModelError::config(
                &config_path,
                format!(
                    "max_position_embeddings {} leaves no room for tokens after pad_token_id {pad}",
                    config.max_position_embeddings
                ),
            )
        })?;

    let w = Weights::open_dir(dir)?;
    let prefix = if w.contains("esm.embeddings.word_embeddings.weight") {
        "esm."
    } else {
        ""
    };
    let eps = config.layer_norm_eps.unwrap_or(DEFAULT_EPS);
    let e = format!("{prefix}embeddings");
    let embeddings = Embeddings {
        tokens: w.matrix(&format!("{e}.word_embeddings.weight"), config.vocab_size, d)?,
        positions: if variant.rotary {
            None
        } else {
            Some(w.matrix(
                &format!("{e}.position_embeddings.weight"),
                config.max_position_embeddings,
                d,
            )?)
        },
        position_offset: pad + 1,
        token_type: None,
        norm: if config.emb_layer_norm_before.unwrap_or(false) {
            Some(LayerNorm::load(&w, &format!("{e}.layer_norm"), d, eps)?)
        } else {
            None
        },
        token_dropout: if config.token_dropout.unwrap_or(false) {
            Some(special.mask.ok_or_else(|| {
                ModelError::config(
                    dir.join("vocab.txt"),
                    "token_dropout needs a <mask> token in the vocabulary",
                )
            })?)
        } else {
            None
        },
    };
    let layers = (0..config.num_hidden_layers)
        .map(|i| {
            layer(
                &w,
                &format!("{prefix}encoder.layer.{i}"),
                config,
                variant,
                eps,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let final_norm = LayerNorm::load(&w, &format!("{prefix}encoder.emb_layer_norm_after"), d, eps)?;
    let mlm_head = MlmHead::lm_head(&w, eps, &embeddings.tokens)?;
    Ok(Encoder {
        architecture: Architecture::NucleotideTransformer,
        embeddings,
        layers,
        final_norm: Some(final_norm),
        pool_query: None,
        tokenizer: TokenizerOptions {
            k: vocab.k(),
            stride: vocab.k(),
            canonical: false,
            soft_mask: SoftMask::Upper,
        },
        vocab,
        segmentation: Segmentation::LongestMatch,
        tokenizer_source: TokenizerSource::EsmVocabTxt,
        window: Some(Window {
            tokens: window_tokens,
            cls,
            eos,
        }),
        mlm_head,
    })
}

/// v1 or v2, from the config: rotary positions and `add_bias_fnn` (only v2's own
/// config class has it) tell them apart.
fn variant(config: &HfConfig, config_path: &Path) -> Result<Variant, ModelError> {
    let rotary = match config.position_embedding_type.as_deref() {
        None | Some("absolute") => false,
        Some("rotary") => true,
        Some(other) => {
            return Err(ModelError::Unsupported {
                path: config_path.to_path_buf(),
                message: format!("ESM position_embedding_type `{other}`"),
            })
        }
    };
    if config.hidden_act != "gelu" {
        return Err(ModelError::Unsupported {
            path: config_path.to_path_buf(),
            message: format!(
                "ESM hidden_act `{}` (ESM's FFN and head use the erf GELU)",
                config.hidden_act
            ),
        });
    }
    Ok(Variant {
        rotary,
        gated: config.add_bias_fnn,
    })
}

/// vocab.txt, which must list the single nucleotides beside the k-mers and fit the
/// embedding table.
fn read_vocab(dir: &Path, config: &HfConfig) -> Result<Vocab, ModelError> {
    let path = dir.join("vocab.txt");
    if !path.exists() {
        return Err(ModelError::config(
            &path,
            "missing: a Nucleotide Transformer checkpoint needs its EsmTokenizer vocab.txt",
        ));
    }
    let vocab = Vocab::from_path(&path).map_err(|e| ModelError::config(&path, e.to_string()))?;
    if vocab.len() > config.vocab_size {
        return Err(ModelError::config(
            &path,
            format!(
                "{} tokens, but config.json's vocab_size is {}: the tokenizer does not belong to \
                 this model",
                vocab.len(),
                config.vocab_size
            ),
        ));
    }
    if vocab.singles().is_none() {
        return Err(ModelError::config(
            &path,
            "a Nucleotide Transformer vocabulary lists the single nucleotides A, C, G, T \
             beside its k-mers; this one does not",
        ));
    }
    Ok(vocab)
}

/// The token `EsmTokenizer` appends to each sequence: `eos_token` of
/// special_tokens_map.json or tokenizer_config.json (`null` means none), else `<eos>`.
fn eos_token(dir: &Path) -> Result<Option<String>, ModelError> {
    for name in ["special_tokens_map.json", "tokenizer_config.json"] {
        let path = dir.join(name);
        if !path.exists() {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|source| ModelError::Io {
            path: path.clone(),
            source,
        })?;
        let json: Value = serde_json::from_str(&text)
            .map_err(|e| ModelError::config(&path, format!("invalid JSON: {e}")))?;
        match json.get("eos_token") {
            None => continue,
            Some(Value::Null) => return Ok(None),
            Some(Value::String(s)) => return Ok(Some(s.clone())),
            Some(v) => match v.get("content").and_then(Value::as_str) {
                Some(s) => return Ok(Some(s.to_string())),
                None => return Err(ModelError::config(&path, "eos_token is not a token")),
            },
        }
    }
    Ok(Some("<eos>".into()))
}

/// Layer `p` (`EsmLayer`): pre-LN attention with biases (rotary for v2), then the FFN.
fn layer(
    w: &Weights,
    p: &str,
    config: &HfConfig,
    variant: Variant,
    eps: f32,
) -> Result<EncoderLayer, ModelError> {
    let d = config.hidden_size;
    let inter = config.intermediate_size;
    let lin = |name: &str, input, output, bias| {
        Linear::load(w, &format!("{p}.{name}"), input, output, bias)
    };
    let ffn = match variant.gated {
        None => FeedForward {
            up: lin("intermediate.dense", d, inter, true)?,
            gate: None,
            down: lin("output.dense", inter, d, true)?,
            activation: Activation::Gelu,
        },
        Some(bias) => {
            // `intermediate.dense` is [2 * inter, d]: gate rows first, then up rows.
            let both = lin("intermediate.dense", d, 2 * inter, bias)?;
            let (gate, up) = both.split_rows(inter);
            FeedForward {
                up,
                gate: Some(gate),
                down: lin("output.dense", inter, d, bias)?,
                activation: Activation::Swiglu,
            }
        }
    };
    Ok(EncoderLayer {
        attention: SelfAttention {
            precision: crate::Precision::F32,
            q: lin("attention.self.query", d, d, true)?,
            k: lin("attention.self.key", d, d, true)?,
            v: lin("attention.self.value", d, d, true)?,
            o: lin("attention.output.dense", d, d, true)?,
            heads: config.num_attention_heads,
            pattern: Pattern::local(Local::Full { causal: false }),
            rope: variant
                .rotary
                .then(|| Rope::new(d / config.num_attention_heads, ROTARY_THETA)),
            alibi: None,
            global: None,
        },
        ffn,
        norm1: Some(LayerNorm::load(
            w,
            &format!("{p}.attention.LayerNorm"),
            d,
            eps,
        )?),
        norm2: LayerNorm::load(w, &format!("{p}.LayerNorm"), d, eps)?,
        placement: NormPlacement::Pre,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eos_follows_the_tokenizer_files() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(eos_token(dir.path()).unwrap().as_deref(), Some("<eos>"));
        std::fs::write(
            dir.path().join("tokenizer_config.json"),
            r#"{"eos_token": null}"#,
        )
        .unwrap();
        assert_eq!(eos_token(dir.path()).unwrap(), None);
        std::fs::write(
            dir.path().join("special_tokens_map.json"),
            r#"{"eos_token": {"content": "<bos>"}}"#,
        )
        .unwrap();
        assert_eq!(eos_token(dir.path()).unwrap().as_deref(), Some("<bos>"));
    }
}
