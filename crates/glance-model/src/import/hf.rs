//! What BERT and Longformer checkpoints share: the config fields glance reads, the
//! vocab.txt, the tensor-name prefix and the post-LN layer layout.

use std::path::Path;

use glance_attn::Pattern;
use glance_seq::{SoftMask, TokenizerOptions, Vocab};
use serde::Deserialize;

use crate::config::{Activation, NormPlacement};
use crate::encoder::{Architecture, Encoder, Segmentation, TokenizerSource};
use crate::error::ModelError;
use crate::layers::{
    Embeddings, EncoderLayer, FeedForward, GlobalProjections, LayerNorm, Linear, SelfAttention,
};
use crate::mlm::MlmHead;
use crate::weights::Weights;

/// The fields of a Hugging Face config.json that glance reads; others are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct HfConfig {
    /// `"bert"`, `"longformer"` or `"esm"` (old DNABERT and Nucleotide Transformer v2
    /// configs may lack it).
    pub model_type: Option<String>,
    /// E.g. `["BertForMaskedLM"]`.
    pub architectures: Option<Vec<String>>,
    /// Embedding rows.
    pub vocab_size: usize,
    /// Width of the hidden states.
    pub hidden_size: usize,
    /// Number of layers.
    pub num_hidden_layers: usize,
    /// Heads per layer.
    pub num_attention_heads: usize,
    /// FFN inner width.
    pub intermediate_size: usize,
    /// FFN activation name.
    #[serde(default = "default_act")]
    pub hidden_act: String,
    /// Rows of the learned position table.
    pub max_position_embeddings: usize,
    /// LayerNorm epsilon (absent in DNABERT configs: the model's default applies).
    pub layer_norm_eps: Option<f32>,
    /// Padding id (absent in DNABERT configs).
    pub pad_token_id: Option<u32>,
    /// Only `"absolute"` is supported.
    pub position_embedding_type: Option<String>,
    /// Longformer: full window per layer (one number for all layers, or a list).
    pub attention_window: Option<Windows>,
    /// Longformer: dilation per layer (only 1 is supported, as in Hugging Face).
    pub attention_dilation: Option<Windows>,
    /// ESM: zero `<mask>` embeddings and rescale the others at inference.
    pub token_dropout: Option<bool>,
    /// ESM: a LayerNorm after the embeddings.
    pub emb_layer_norm_before: Option<bool>,
    /// Nucleotide Transformer v2 (its own config class): biases in the SwiGLU FFN.
    pub add_bias_fnn: Option<bool>,
    /// GENA-LM's `modeling_bert.py`: pre-LN layers (`pre_attention_ln`,
    /// `post_attention_ln`).
    pub pre_layer_norm: Option<bool>,
    /// GENA-LM: a final `encoder.last_layer_ln` (defaults to `pre_layer_norm`).
    pub last_layer_norm: Option<bool>,
    /// GENA-LM: DeepSpeed sparse attention (not supported).
    pub sparse_config_cls: Option<String>,
    /// BigBird: `block_sparse` or `original_full`.
    pub attention_type: Option<String>,
    /// BigBird: block length of the block-sparse attention.
    pub block_size: Option<usize>,
    /// BigBird: random blocks per query block.
    pub num_random_blocks: Option<usize>,
    /// BigBird: biases on query, key and value (default true).
    pub use_bias: Option<bool>,
    /// BigBird: word embeddings scaled by `sqrt(hidden_size)` (default false).
    pub rescale_embeddings: Option<bool>,
}

/// One value for every layer, or one per layer.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Windows {
    /// The same for every layer.
    All(usize),
    /// One per layer.
    PerLayer(Vec<usize>),
}

impl Windows {
    /// The values for `layers` layers, or `None` if a list has the wrong length.
    pub fn per_layer(&self, layers: usize) -> Option<Vec<usize>> {
        match self {
            Windows::All(w) => Some(vec![*w; layers]),
            Windows::PerLayer(v) => (v.len() == layers).then(|| v.clone()),
        }
    }
}

fn default_act() -> String {
    "gelu".into()
}

impl HfConfig {
    /// The FFN activation.
    pub(crate) fn activation(&self, path: &Path) -> Result<Activation, ModelError> {
        activation("hidden_act", &self.hidden_act, path)
    }

    /// Checks sizes and the position type.
    pub(crate) fn check(&self, path: &Path) -> Result<(), ModelError> {
        if self.num_attention_heads == 0
            || !self.hidden_size.is_multiple_of(self.num_attention_heads)
        {
            return Err(ModelError::config(
                path,
                "hidden_size must be a positive multiple of num_attention_heads",
            ));
        }
        match self.position_embedding_type.as_deref() {
            None | Some("absolute") => Ok(()),
            Some(other) => Err(ModelError::Unsupported {
                path: path.to_path_buf(),
                message: format!("position_embedding_type `{other}`"),
            }),
        }
    }
}

/// The activation transformers' `ACT2FN[name]` computes; `field` names the config
/// field in errors.
pub(crate) fn activation(field: &str, name: &str, path: &Path) -> Result<Activation, ModelError> {
    match name {
        "gelu" => Ok(Activation::Gelu),
        "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Ok(Activation::GeluTanh),
        "relu" => Ok(Activation::Relu),
        other => Err(ModelError::Unsupported {
            path: path.to_path_buf(),
            message: format!("{field} `{other}`"),
        }),
    }
}

/// Refuses a vocabulary (read from `path`) with more tokens than the embedding table's
/// `vocab_size` rows: its ids could not all be embedded, so tokenizer and weights do
/// not belong together. (Fewer is fine: tables are often padded.)
pub(crate) fn check_vocab_size(
    path: &Path,
    vocab: &Vocab,
    vocab_size: usize,
) -> Result<(), ModelError> {
    if vocab.len() > vocab_size {
        return Err(ModelError::VocabSize {
            path: path.to_path_buf(),
            tokens: vocab.len(),
            vocab_size,
        });
    }
    Ok(())
}

/// Reads `dir/config.json` as a Hugging Face config.
pub fn read_config(path: &Path) -> Result<HfConfig, ModelError> {
    let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text)
        .map_err(|e| ModelError::config(path, format!("invalid config: {e}")))
}

/// The vocab.txt of a checkpoint and the tokenizer it implies (k from the k-mers,
/// stride 1 as DNABERT); it may not hold more than `vocab_size` tokens.
pub(crate) fn read_vocab(
    dir: &Path,
    vocab_size: usize,
) -> Result<(Vocab, TokenizerOptions), ModelError> {
    let path = dir.join("vocab.txt");
    if !path.exists() {
        return Err(ModelError::config(
            &path,
            "missing: a DNA checkpoint needs a DNABERT-layout vocab.txt",
        ));
    }
    let vocab = Vocab::from_path(&path).map_err(|e| ModelError::config(&path, e.to_string()))?;
    check_vocab_size(&path, &vocab, vocab_size)?;
    let options = TokenizerOptions {
        k: vocab.k(),
        stride: 1,
        canonical: false,
        soft_mask: SoftMask::Upper,
    };
    Ok((vocab, options))
}

/// The tensor-name prefix of the base model: `""` for `BertModel` and
/// `LongformerModel`, `"bert."` / `"longformer."` for the task heads' checkpoints.
pub(crate) fn prefix(w: &Weights, family: &str) -> String {
    let head = format!("{family}.");
    if w.contains(&format!("{head}embeddings.word_embeddings.weight")) {
        head
    } else {
        String::new()
    }
}

/// Sizes shared by every layer of a checkpoint.
pub(crate) struct LayerShape {
    pub d: usize,
    pub heads: usize,
    pub hidden: usize,
    pub activation: Activation,
    pub eps: f32,
    /// Post-LN (`attention.output.LayerNorm`, `output.LayerNorm`) or GENA-LM's pre-LN
    /// (`pre_attention_ln`, `post_attention_ln`).
    pub placement: NormPlacement,
}

impl LayerShape {
    /// The layer sizes of `config` (read from `config_path`) with LayerNorm epsilon `eps`.
    pub(crate) fn of(config: &HfConfig, config_path: &Path, eps: f32) -> Result<Self, ModelError> {
        Ok(LayerShape {
            d: config.hidden_size,
            heads: config.num_attention_heads,
            hidden: config.intermediate_size,
            activation: config.activation(config_path)?,
            eps,
            placement: NormPlacement::Post,
        })
    }
}

/// Loads Hugging Face `BertEmbeddings` / `LongformerEmbeddings` under
/// `{prefix}embeddings`: word, learned position (ids start at `position_offset`) and
/// token-type-0 embeddings, then LayerNorm.
pub(crate) fn embeddings(
    w: &Weights,
    prefix: &str,
    config: &HfConfig,
    eps: f32,
    position_offset: usize,
) -> Result<Embeddings, ModelError> {
    let d = config.hidden_size;
    let e = format!("{prefix}embeddings");
    Ok(Embeddings {
        tokens: w.matrix(&format!("{e}.word_embeddings.weight"), config.vocab_size, d)?,
        positions: Some(w.matrix(
            &format!("{e}.position_embeddings.weight"),
            config.max_position_embeddings,
            d,
        )?),
        position_offset,
        token_type: token_type_row(w, &format!("{e}.token_type_embeddings.weight"), d)?,
        norm: Some(LayerNorm::load(w, &format!("{e}.LayerNorm"), d, eps)?),
        token_dropout: None,
    })
}

/// A post-LN Hugging Face encoder of `architecture`: `embeddings`, then `layers`; no
/// final norm, no pooling query.
pub(crate) fn encoder(
    architecture: Architecture,
    embeddings: Embeddings,
    layers: Vec<EncoderLayer>,
    (vocab, tokenizer): (Vocab, TokenizerOptions),
    mlm_head: Option<MlmHead>,
) -> Encoder {
    Encoder {
        architecture,
        embeddings,
        layers,
        final_norm: None,
        pool_query: None,
        tokenizer,
        vocab,
        segmentation: Segmentation::Grid,
        window: None,
        tokenizer_source: TokenizerSource::VocabTxt,
        mlm_head,
    }
}

/// Loads one layer per pattern, layer `i` with the `i`-th (see [`layer`]).
pub(crate) fn layers(
    w: &Weights,
    prefix: &str,
    s: &LayerShape,
    patterns: impl IntoIterator<Item = Pattern>,
    global: bool,
) -> Result<Vec<EncoderLayer>, ModelError> {
    patterns
        .into_iter()
        .enumerate()
        .map(|(i, pattern)| layer(w, prefix, i, s, pattern, global))
        .collect()
}

/// Loads layer `i` (Hugging Face `BertLayer` / `LongformerLayer` / `BigBirdLayer` names
/// under `{prefix}encoder.layer.{i}`, or with pre-LN placement GENA-LM's `BertLayer`,
/// whose norms are `pre_attention_ln` and `post_attention_ln`); `global` also loads
/// Longformer's global projections.
fn layer(
    w: &Weights,
    prefix: &str,
    i: usize,
    s: &LayerShape,
    pattern: Pattern,
    global: bool,
) -> Result<EncoderLayer, ModelError> {
    let p = format!("{prefix}encoder.layer.{i}");
    let d = s.d;
    let (norm1, norm2) = match s.placement {
        NormPlacement::Post => ("attention.output.LayerNorm", "output.LayerNorm"),
        NormPlacement::Pre => ("pre_attention_ln", "post_attention_ln"),
    };
    let lin =
        |name: &str, input, output| Linear::load(w, &format!("{p}.{name}"), input, output, true);
    let global = if global {
        Some(GlobalProjections {
            q: lin("attention.self.query_global", d, d)?,
            k: lin("attention.self.key_global", d, d)?,
            v: lin("attention.self.value_global", d, d)?,
        })
    } else {
        None
    };
    Ok(EncoderLayer {
        attention: SelfAttention {
            precision: crate::Precision::F32,
            q: lin("attention.self.query", d, d)?,
            k: lin("attention.self.key", d, d)?,
            v: lin("attention.self.value", d, d)?,
            o: lin("attention.output.dense", d, d)?,
            heads: s.heads,
            pattern,
            rope: None,
            alibi: None,
            global,
        },
        ffn: FeedForward {
            up: lin("intermediate.dense", d, s.hidden)?,
            gate: None,
            down: lin("output.dense", s.hidden, d)?,
            activation: s.activation,
        },
        norm1: Some(LayerNorm::load(w, &format!("{p}.{norm1}"), d, s.eps)?),
        norm2: LayerNorm::load(w, &format!("{p}.{norm2}"), d, s.eps)?,
        placement: s.placement,
    })
}

/// Row 0 of the token-type table, whatever its number of rows.
pub(crate) fn token_type_row(
    w: &Weights,
    name: &str,
    d: usize,
) -> Result<Option<ndarray::Array1<f32>>, ModelError> {
    match w.shape(name).map(<[usize]>::to_vec) {
        None => Ok(None),
        Some(shape) => {
            let rows = shape.first().copied().unwrap_or(0).max(1);
            let table = w.matrix(name, rows, d)?;
            Ok(Some(table.row(0).to_owned()))
        }
    }
}
