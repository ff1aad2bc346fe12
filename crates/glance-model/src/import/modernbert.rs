//! transformers `ModernBertModel` / `ModernBertForMaskedLM` checkpoints (tensor prefix
//! `model.` for the latter), read unchanged: token embeddings + LayerNorm (no position
//! table), pre-LN layers (`attn_norm`, an identity on layer 0; fused `Wqkv`; `Wo`;
//! `mlp_norm`; GeGLU `mlp.Wi` / `mlp.Wo`), a final norm, biases as configured.
//!
//! Layer `i` is global (`full`, RoPE with the `full_attention` theta) or local
//! (`sliding:r=local_attention/2`: transformers' bidirectional sliding mask lets query
//! `i` see key `j` when `|i - j| <= local_attention / 2`, RoPE with the
//! `sliding_attention` theta) as `layer_types[i]` says, or, in configs without it, as
//! `i % global_attn_every_n_layers == 0` says. RoPE is the rotate-half layout on absolute
//! positions counted from the first token, which is glance's [`Rope`]. A stack whose
//! every layer is local streams exactly in chunks; one with a global layer runs over
//! whole records.
//!
//! The tokenizer is the directory's `tokenizer.json` (see [`super::tokenizer_json`]; a BPE
//! file streams through [`crate::Segmentation::Bpe`]) or,
//! failing that, a DNABERT-layout vocab.txt. No `[CLS]` / `[SEP]` is added: positions are
//! rotary, so the bases are encoded alone.

use std::collections::HashMap;
use std::path::Path;

use glance_attn::{Local, Pattern};
use ndarray::{s, Array1, Array2};
use serde::Deserialize;

use crate::config::{Activation, NormPlacement};
use crate::encoder::{Architecture, Encoder, Segmentation, TokenizerSource};
use crate::error::ModelError;
use crate::import::hf;
use crate::import::tokenizer_json::{self, EncoderParts};
use crate::layers::{
    Embeddings, EncoderLayer, FeedForward, LayerNorm, Linear, Rope, SelfAttention,
};
use crate::mlm::{MlmHead, ModernBertHead};
use crate::weights::Weights;

/// transformers' default RoPE theta of global layers (`ModernBertConfig.default_theta`).
pub const DEFAULT_GLOBAL_THETA: f64 = 160_000.0;
/// transformers' default RoPE theta of local layers.
pub const DEFAULT_LOCAL_THETA: f64 = 10_000.0;

/// The fields of a ModernBERT config.json that glance reads (defaults as
/// transformers' `ModernBertConfig`); others are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct ModernBertConfig {
    /// Embedding rows.
    pub vocab_size: usize,
    /// Width of the hidden states.
    pub hidden_size: usize,
    /// GeGLU inner width (`Wi` has twice as many rows).
    pub intermediate_size: usize,
    /// Number of layers.
    pub num_hidden_layers: usize,
    /// Heads per layer.
    pub num_attention_heads: usize,
    /// The GeGLU activation.
    #[serde(default = "gelu")]
    pub hidden_activation: String,
    /// LayerNorm epsilon.
    #[serde(default = "default_eps")]
    pub norm_eps: f32,
    /// Whether the LayerNorms have a bias.
    #[serde(default)]
    pub norm_bias: bool,
    /// Whether `Wqkv` and `Wo` have biases.
    #[serde(default)]
    pub attention_bias: bool,
    /// Whether `mlp.Wi` and `mlp.Wo` have biases.
    #[serde(default)]
    pub mlp_bias: bool,
    /// Whether the MLM decoder has a bias.
    #[serde(default = "yes")]
    pub decoder_bias: bool,
    /// Whether the MLM head's dense layer has a bias.
    #[serde(default)]
    pub classifier_bias: bool,
    /// The MLM head's activation.
    #[serde(default = "gelu")]
    pub classifier_activation: String,
    /// The full width of a local layer's window (`local_attention / 2` on each side).
    #[serde(default = "default_local")]
    pub local_attention: usize,
    /// Every n-th layer (from layer 0) is global, in configs without `layer_types`.
    #[serde(default)]
    pub global_attn_every_n_layers: Option<usize>,
    /// `"full_attention"` or `"sliding_attention"` per layer (transformers >= 5).
    #[serde(default)]
    pub layer_types: Option<Vec<String>>,
    /// RoPE parameters per layer type (transformers >= 5).
    #[serde(default)]
    pub rope_parameters: Option<HashMap<String, RopeParameters>>,
    /// The global layers' theta in older configs.
    #[serde(default)]
    pub global_rope_theta: Option<f64>,
    /// The local layers' theta in older configs.
    #[serde(default)]
    pub local_rope_theta: Option<f64>,
    /// Old-style RoPE scaling; only its absence is supported.
    #[serde(default)]
    pub rope_scaling: Option<serde_json::Value>,
}

/// One entry of `rope_parameters`.
#[derive(Debug, Clone, Deserialize)]
pub struct RopeParameters {
    /// Only `"default"` (plain RoPE) is supported.
    #[serde(default)]
    pub rope_type: Option<String>,
    /// The base of the rotation frequencies.
    #[serde(default)]
    pub rope_theta: Option<f64>,
}

fn gelu() -> String {
    "gelu".into()
}
fn default_eps() -> f32 {
    1e-5
}
fn yes() -> bool {
    true
}
fn default_local() -> usize {
    128
}

/// Whether a layer is global or local.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LayerKind {
    Full,
    Sliding,
}

impl LayerKind {
    /// The key of `rope_parameters` for this kind.
    fn key(self) -> &'static str {
        match self {
            LayerKind::Full => "full_attention",
            LayerKind::Sliding => "sliding_attention",
        }
    }
}

impl ModernBertConfig {
    /// Reads config.json text (`path` names it in errors).
    pub fn parse(text: &str, path: &Path) -> Result<Self, ModelError> {
        serde_json::from_str(text)
            .map_err(|e| ModelError::config(path, format!("invalid ModernBERT config: {e}")))
    }

    /// Each layer's kind, from `layer_types` or `global_attn_every_n_layers`.
    fn layer_kinds(&self, path: &Path) -> Result<Vec<LayerKind>, ModelError> {
        let n = self.num_hidden_layers;
        match &self.layer_types {
            Some(types) => {
                if types.len() != n {
                    return Err(ModelError::config(
                        path,
                        format!("layer_types has {} entries for {n} layers", types.len()),
                    ));
                }
                types
                    .iter()
                    .map(|t| match t.as_str() {
                        "full_attention" => Ok(LayerKind::Full),
                        "sliding_attention" => Ok(LayerKind::Sliding),
                        other => Err(ModelError::Unsupported {
                            path: path.to_path_buf(),
                            message: format!("ModernBERT layer type `{other}`"),
                        }),
                    })
                    .collect()
            }
            None => {
                let every = self.global_attn_every_n_layers.unwrap_or(3);
                if every == 0 {
                    return Err(ModelError::config(
                        path,
                        "global_attn_every_n_layers must be at least 1",
                    ));
                }
                Ok((0..n)
                    .map(|i| {
                        if i % every == 0 {
                            LayerKind::Full
                        } else {
                            LayerKind::Sliding
                        }
                    })
                    .collect())
            }
        }
    }

    /// The RoPE theta of a layer kind: `rope_parameters[kind].rope_theta`, else the old
    /// `global_rope_theta` / `local_rope_theta`, else transformers' default.
    fn theta(&self, kind: LayerKind, path: &Path) -> Result<f64, ModelError> {
        let params = self
            .rope_parameters
            .as_ref()
            .and_then(|p| p.get(kind.key()));
        if let Some(t) = params.and_then(|p| p.rope_type.as_deref()) {
            if t != "default" {
                return Err(ModelError::Unsupported {
                    path: path.to_path_buf(),
                    message: format!("rope_type `{t}` (only plain RoPE, `default`)"),
                });
            }
        }
        let (old, default) = match kind {
            LayerKind::Full => (self.global_rope_theta, DEFAULT_GLOBAL_THETA),
            LayerKind::Sliding => (self.local_rope_theta, DEFAULT_LOCAL_THETA),
        };
        Ok(params.and_then(|p| p.rope_theta).or(old).unwrap_or(default))
    }

    /// Checks sizes and unsupported options.
    fn check(&self, path: &Path) -> Result<(), ModelError> {
        let heads = self.num_attention_heads;
        if heads == 0 || !self.hidden_size.is_multiple_of(heads) {
            return Err(ModelError::config(
                path,
                "hidden_size must be a positive multiple of num_attention_heads",
            ));
        }
        if !(self.hidden_size / heads).is_multiple_of(2) {
            return Err(ModelError::config(
                path,
                "RoPE needs an even head width (hidden_size / num_attention_heads)",
            ));
        }
        if self.rope_scaling.as_ref().is_some_and(|v| !v.is_null()) {
            return Err(ModelError::Unsupported {
                path: path.to_path_buf(),
                message: "rope_scaling (only plain RoPE)".into(),
            });
        }
        Ok(())
    }
}

/// Loads a ModernBERT checkpoint from `dir` whose config.json text is `text`.
pub fn load(dir: &Path, text: &str) -> Result<Encoder, ModelError> {
    let config_path = dir.join("config.json");
    let config = ModernBertConfig::parse(text, &config_path)?;
    config.check(&config_path)?;
    let kinds = config.layer_kinds(&config_path)?;
    let activation = hf::activation("hidden_activation", &config.hidden_activation, &config_path)?;
    let head_activation = hf::activation(
        "classifier_activation",
        &config.classifier_activation,
        &config_path,
    )?;
    let tok = read_tokenizer(dir, config.vocab_size)?;
    let w = Weights::open_dir(dir)?;
    let prefix = if w.contains("model.embeddings.tok_embeddings.weight") {
        "model."
    } else {
        ""
    };
    let d = config.hidden_size;
    let eps = config.norm_eps;
    let norm = |name: &str| LayerNorm::load_with_bias(&w, name, d, eps, config.norm_bias);
    let embeddings = Embeddings {
        tokens: w.matrix(
            &format!("{prefix}embeddings.tok_embeddings.weight"),
            config.vocab_size,
            d,
        )?,
        positions: None,
        position_offset: 0,
        token_type: None,
        norm: Some(norm(&format!("{prefix}embeddings.norm"))?),
        token_dropout: None,
    };
    let d_head = d / config.num_attention_heads;
    let layers = kinds
        .iter()
        .enumerate()
        .map(|(i, &kind)| {
            let pattern = match kind {
                LayerKind::Full => Pattern::local(Local::Full { causal: false }),
                LayerKind::Sliding => Pattern::local(Local::Sliding {
                    radius: config.local_attention / 2,
                    causal: false,
                }),
            };
            let theta = config.theta(kind, &config_path)?;
            let rope = Rope::new(d_head, theta as f32);
            layer(
                &w,
                &format!("{prefix}layers.{i}"),
                i,
                &config,
                activation,
                pattern,
                rope,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let final_norm = Some(norm(&format!("{prefix}final_norm"))?);
    let mlm_head = MlmHead::modernbert(
        &w,
        ModernBertHead {
            activation: head_activation,
            dense_bias: config.classifier_bias,
            norm_bias: config.norm_bias,
            eps,
            decoder_bias: config.decoder_bias,
        },
        &embeddings.tokens,
    )?;
    let parts = EncoderParts {
        architecture: Architecture::ModernBert,
        embeddings,
        layers,
        final_norm,
        mlm_head,
    };
    Ok(tok.encoder(parts, None))
}

/// The directory's tokenizer: tokenizer.json (single nucleotides or BPE), else a
/// DNABERT-layout vocab.txt; either may hold at most `vocab_size` tokens.
fn read_tokenizer(
    dir: &Path,
    vocab_size: usize,
) -> Result<tokenizer_json::TokenizerJson, ModelError> {
    let json = dir.join(tokenizer_json::FILE);
    if json.is_file() {
        let t = tokenizer_json::read_any(&json)?;
        hf::check_vocab_size(&json, &t.vocab, vocab_size)?;
        return Ok(t);
    }
    if dir.join("vocab.txt").is_file() {
        let (vocab, options) = hf::read_vocab(dir, vocab_size)?;
        return Ok(tokenizer_json::TokenizerJson {
            vocab,
            options,
            source: TokenizerSource::VocabTxt,
            segmentation: Segmentation::Grid,
        });
    }
    Err(ModelError::config(
        dir,
        "no tokenizer: a ModernBERT directory needs tokenizer.json (or a DNABERT-layout vocab.txt)",
    ))
}

/// Rows `part * n .. (part + 1) * n` of a fused weight, and of its bias.
fn split(weight: &Array2<f32>, bias: Option<&Array1<f32>>, part: usize, n: usize) -> Linear {
    let rows = part * n..(part + 1) * n;
    Linear::new(
        weight.slice(s![rows.clone(), ..]).to_owned(),
        bias.map(|b| b.slice(s![rows]).to_owned()),
    )
}

/// Loads one layer, transformers' `ModernBertEncoderLayer` under `p`.
fn layer(
    w: &Weights,
    p: &str,
    i: usize,
    config: &ModernBertConfig,
    activation: Activation,
    pattern: Pattern,
    rope: Rope,
) -> Result<EncoderLayer, ModelError> {
    let d = config.hidden_size;
    let hidden = config.intermediate_size;
    let fused = |name: &str, rows: usize, bias: bool| -> Result<_, ModelError> {
        let weight = w.matrix(&format!("{p}.{name}.weight"), rows, d)?;
        let bias = if bias {
            Some(w.vector(&format!("{p}.{name}.bias"), rows)?)
        } else {
            None
        };
        Ok((weight, bias))
    };
    // Wqkv rows: all of q, then k, then v (transformers views them as [3, heads, d_head]).
    let (qkv, qkv_bias) = fused("attn.Wqkv", 3 * d, config.attention_bias)?;
    // Wi rows: the activated half first ("input"), then the multiplier ("gate").
    let (wi, wi_bias) = fused("mlp.Wi", 2 * hidden, config.mlp_bias)?;
    let norm = |name: &str| {
        LayerNorm::load_with_bias(
            w,
            &format!("{p}.{name}"),
            d,
            config.norm_eps,
            config.norm_bias,
        )
    };
    Ok(EncoderLayer {
        attention: SelfAttention {
            precision: crate::Precision::F32,
            q: split(&qkv, qkv_bias.as_ref(), 0, d),
            k: split(&qkv, qkv_bias.as_ref(), 1, d),
            v: split(&qkv, qkv_bias.as_ref(), 2, d),
            o: Linear::load(w, &format!("{p}.attn.Wo"), d, d, config.attention_bias)?,
            heads: config.num_attention_heads,
            pattern,
            rope: Some(rope),
            alibi: None,
            global: None,
        },
        ffn: FeedForward {
            gate: Some(split(&wi, wi_bias.as_ref(), 0, hidden)),
            up: split(&wi, wi_bias.as_ref(), 1, hidden),
            down: Linear::load(w, &format!("{p}.mlp.Wo"), hidden, d, config.mlp_bias)?,
            activation,
        },
        norm1: if i == 0 {
            None
        } else {
            Some(norm("attn_norm")?)
        },
        norm2: norm("mlp_norm")?,
        placement: NormPlacement::Pre,
    })
}
