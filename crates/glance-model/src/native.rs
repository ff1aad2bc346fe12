//! The native model directory: `config.json` ([`ModelConfig`]) + `model.safetensors`
//! with the tensor names documented in docs/model-format.md (+ `mlm_head.safetensors`,
//! optional). The same files compiled into the binary load through [`NativeFiles`] too
//! (the bundled default model).

use std::path::{Path, PathBuf};

use glance_seq::{SoftMask, TokenizerOptions, Vocab};

use crate::config::{Activation, ModelConfig, Positions};
use crate::encoder::{Architecture, Encoder, Segmentation, TokenizerSource};
use crate::error::ModelError;
use crate::layers::{
    alibi_slopes, Embeddings, EncoderLayer, FeedForward, LayerNorm, Linear, Rope, SelfAttention,
};
use crate::mlm::{MlmHead, NATIVE_HEAD_FILE};
use crate::weights::Weights;

/// The opened files of a native model, wherever they come from.
pub(crate) struct NativeFiles {
    /// Where config.json is (named in errors).
    pub config_path: PathBuf,
    /// model.safetensors.
    pub weights: Weights,
    /// mlm_head.safetensors, if present.
    pub head: Option<Weights>,
    /// The tokenizer's vocabulary.
    pub vocab: Vocab,
}

/// Loads a native model from `dir` whose config has already been read.
pub(crate) fn load(dir: &Path, config: &ModelConfig) -> Result<Encoder, ModelError> {
    let config_path = dir.join("config.json");
    let weights = Weights::open(&dir.join("model.safetensors"))?;
    let vocab = match &config.tokenizer.vocab {
        Some(file) => {
            let path = dir.join(file);
            Vocab::from_path(&path).map_err(|e| ModelError::config(&path, e.to_string()))?
        }
        None => Vocab::builtin(config.tokenizer.k)
            .map_err(|e| ModelError::config(&config_path, e.to_string()))?,
    };
    let head_path = dir.join(NATIVE_HEAD_FILE);
    let head = if head_path.is_file() {
        Some(Weights::open(&head_path)?)
    } else {
        None
    };
    build(
        config,
        NativeFiles {
            config_path,
            weights,
            head,
            vocab,
        },
    )
}

/// Builds the encoder of `config` from its opened files.
pub(crate) fn build(config: &ModelConfig, files: NativeFiles) -> Result<Encoder, ModelError> {
    let NativeFiles {
        config_path,
        weights: w,
        head,
        vocab,
    } = files;
    let d = config.d_model;
    let eps = config.norm_eps;
    if vocab.len() > config.vocab_size {
        return Err(ModelError::config(
            &config_path,
            format!(
                "vocab_size {} is smaller than the tokenizer's {} tokens",
                config.vocab_size,
                vocab.len()
            ),
        ));
    }
    let positions = match config.positions {
        Positions::Learned { max_len } => Some(w.matrix("embed.positions.weight", max_len, d)?),
        _ => None,
    };
    let embeddings = Embeddings {
        tokens: w.matrix("embed.tokens.weight", config.vocab_size, d)?,
        positions,
        position_offset: 0,
        token_type: None,
        norm: None,
        token_dropout: None,
    };
    let patterns = config
        .patterns()
        .map_err(|m| ModelError::config(&config_path, m))?;
    let d_head = d / config.heads;
    let mut layers = Vec::with_capacity(patterns.len());
    for (i, pattern) in patterns.into_iter().enumerate() {
        let p = format!("layers.{i}");
        let lin = |name: &str, input, output| {
            Linear::load(&w, &format!("{p}.{name}"), input, output, true)
        };
        let h = config.ffn.hidden;
        let attention = SelfAttention {
            precision: crate::Precision::F32,
            q: lin("attn.q", d, d)?,
            k: lin("attn.k", d, d)?,
            v: lin("attn.v", d, d)?,
            o: lin("attn.o", d, d)?,
            heads: config.heads,
            pattern,
            rope: match config.positions {
                Positions::Rope { theta } => Some(Rope::new(d_head, theta)),
                _ => None,
            },
            alibi: matches!(config.positions, Positions::Alibi).then(|| alibi_slopes(config.heads)),
            global: None,
        };
        let ffn = FeedForward {
            up: lin("ffn.up", d, h)?,
            gate: match config.ffn.activation {
                Activation::Swiglu => Some(lin("ffn.gate", d, h)?),
                _ => None,
            },
            down: lin("ffn.down", h, d)?,
            activation: config.ffn.activation,
        };
        layers.push(EncoderLayer {
            attention,
            ffn,
            norm1: Some(LayerNorm::load(&w, &format!("{p}.norm1"), d, eps)?),
            norm2: LayerNorm::load(&w, &format!("{p}.norm2"), d, eps)?,
            placement: config.norm,
        });
    }
    let final_norm = if config.final_norm {
        Some(LayerNorm::load(&w, "final_norm", d, eps)?)
    } else {
        None
    };
    let pool_query = if config.pooling_query {
        Some(w.vector("pool.query", d)?)
    } else {
        None
    };
    Ok(Encoder {
        architecture: Architecture::Native,
        embeddings,
        layers,
        final_norm,
        pool_query,
        tokenizer: TokenizerOptions {
            k: config.tokenizer.k,
            stride: config.tokenizer.stride,
            canonical: config.tokenizer.canonical,
            soft_mask: SoftMask::Upper,
        },
        mlm_head: native_head(head, config, &vocab)?,
        vocab,
        segmentation: Segmentation::Grid,
        window: None,
        tokenizer_source: if config.tokenizer.vocab.is_some() {
            TokenizerSource::VocabTxt
        } else {
            TokenizerSource::Builtin
        },
    })
}

/// The native k-mer MLM head beside the model, if any; its k-mers must have contiguous
/// ids in the model's vocabulary (as the built-in vocabulary has).
fn native_head(
    head: Option<Weights>,
    config: &ModelConfig,
    vocab: &Vocab,
) -> Result<Option<MlmHead>, ModelError> {
    let Some(head) = head else {
        return Ok(None);
    };
    let k = config.tokenizer.k;
    let first = vocab.kmer_id(0);
    let contiguous = (0..1u64 << (2 * k)).all(|i| vocab.kmer_id(i) == first + i as u32);
    if !contiguous {
        return Err(ModelError::config(
            head.path(),
            "a native MLM head needs k-mer ids that follow one another in the vocabulary",
        ));
    }
    MlmHead::native(&head, config.d_model, k, first as usize, config.vocab_size).map(Some)
}
