//! The native model config (`config.json` of a glance model directory): serde types,
//! versioned, validated on load. Every field is documented in docs/model-format.md.

use std::path::Path;

use glance_attn::Pattern;
use serde::{Deserialize, Serialize};

use crate::error::ModelError;

/// The value of [`ModelConfig::format`] in every native config.
pub const FORMAT: &str = "glance-encoder";
/// The config version this build reads and writes.
pub const VERSION: u32 = 1;

/// A native glance encoder config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Always `"glance-encoder"`; tells native directories from Hugging Face ones.
    pub format: String,
    /// Config version (currently 1).
    pub version: u32,
    /// Embedding table rows (token ids must be below it).
    pub vocab_size: usize,
    /// Width of the hidden states.
    pub d_model: usize,
    /// Attention heads per layer; `d_model` must be a multiple.
    pub heads: usize,
    /// Feed-forward block shared by every layer.
    pub ffn: FfnConfig,
    /// Where the LayerNorms sit.
    pub norm: NormPlacement,
    /// LayerNorm epsilon.
    #[serde(default = "default_eps")]
    pub norm_eps: f32,
    /// Whether a LayerNorm follows the last layer (`final_norm.*` tensors).
    #[serde(default)]
    pub final_norm: bool,
    /// Position information.
    pub positions: Positions,
    /// The layers, first to last, each with its attention pattern.
    pub layers: Vec<LayerConfig>,
    /// How DNA becomes token ids.
    pub tokenizer: TokenizerConfig,
    /// Whether the weights hold a learned pooling query (`pool.query`, `[d_model]`) for
    /// attention pooling.
    #[serde(default)]
    pub pooling_query: bool,
}

fn default_eps() -> f32 {
    1e-5
}

/// The feed-forward block.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FfnConfig {
    /// Inner width.
    pub hidden: usize,
    /// Non-linearity.
    pub activation: Activation,
}

/// A feed-forward non-linearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// GELU with the exact erf (PyTorch `gelu`, Hugging Face `"gelu"`).
    Gelu,
    /// GELU with the tanh approximation (`"gelu_new"`, `"gelu_pytorch_tanh"`).
    GeluTanh,
    /// ReLU.
    Relu,
    /// SwiGLU: `down(silu(gate(x)) * up(x))`.
    Swiglu,
}

/// Where each layer's LayerNorms sit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NormPlacement {
    /// `x + f(norm(x))` (pre-LN, GPT-2 style).
    Pre,
    /// `norm(x + f(x))` (post-LN, original Transformer and BERT).
    Post,
}

/// How positions enter the model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Positions {
    /// Rotary embeddings on queries and keys (rotate-half layout, absolute positions).
    Rope {
        /// Base of the rotation frequencies.
        #[serde(default = "default_theta")]
        theta: f32,
    },
    /// ALiBi: a per-head linear distance penalty, slopes `2^(-8 h / heads)`.
    Alibi,
    /// No position information beyond the attention pattern.
    None,
    /// A learned absolute table (`positions.weight`, `[max_len, d_model]`); the model
    /// then runs in windows of at most `max_len` tokens.
    Learned {
        /// Rows of the position table.
        max_len: usize,
    },
}

fn default_theta() -> f32 {
    10000.0
}

/// One encoder layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerConfig {
    /// Attention pattern spec, e.g. `sliding:r=128` (see glance-attn's grammar).
    pub attention: String,
}

/// The tokenizer a model was trained with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenizerConfig {
    /// k-mer length (1..=12).
    pub k: usize,
    /// Bases between consecutive tokens.
    #[serde(default = "one")]
    pub stride: usize,
    /// Whether a k-mer and its reverse complement share an id.
    #[serde(default)]
    pub canonical: bool,
    /// A vocab.txt in the model directory; absent means the built-in DNABERT layout.
    #[serde(default)]
    pub vocab: Option<String>,
}

fn one() -> usize {
    1
}

impl ModelConfig {
    /// Reads and validates a config.json.
    pub fn read(path: &Path) -> Result<ModelConfig, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        ModelConfig::parse(&text, path)
    }

    /// Parses and validates config.json text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<ModelConfig, ModelError> {
        let config: ModelConfig = serde_json::from_str(text)
            .map_err(|e| ModelError::config(path, format!("invalid config: {e}")))?;
        config.validate().map_err(|m| ModelError::config(path, m))?;
        Ok(config)
    }

    /// The parsed attention pattern of every layer.
    pub fn patterns(&self) -> Result<Vec<Pattern>, String> {
        self.layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                l.attention
                    .parse::<Pattern>()
                    .map_err(|e| format!("layers[{i}].attention `{}`: {e}", l.attention))
            })
            .collect()
    }

    /// Checks the invariants the loader relies on; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        if self.format != FORMAT {
            return Err(format!("format is `{}`, expected `{FORMAT}`", self.format));
        }
        if self.version != VERSION {
            return Err(format!(
                "config version {} is not supported (this build reads version {VERSION})",
                self.version
            ));
        }
        if self.d_model == 0 || self.heads == 0 || !self.d_model.is_multiple_of(self.heads) {
            return Err(format!(
                "d_model ({}) must be a positive multiple of heads ({})",
                self.d_model, self.heads
            ));
        }
        if let Positions::Rope { .. } = self.positions {
            if !(self.d_model / self.heads).is_multiple_of(2) {
                return Err("rope needs an even head width (d_model / heads)".into());
            }
        }
        if let Positions::Learned { max_len } = self.positions {
            if max_len < 3 {
                return Err("positions.max_len must be at least 3 ([CLS], a token, [SEP])".into());
            }
        }
        if self.ffn.hidden == 0 || self.vocab_size == 0 {
            return Err("ffn.hidden and vocab_size must be positive".into());
        }
        if self.layers.is_empty() {
            return Err("layers is empty".into());
        }
        if glance_seq::check_k(self.tokenizer.k).is_err() || self.tokenizer.stride == 0 {
            return Err(format!(
                "tokenizer.k must be in 1..={} and tokenizer.stride at least 1",
                glance_seq::MAX_K
            ));
        }
        self.patterns().map(|_| ())
    }
}
