//! [`ModelError`]: everything that can go wrong loading or running a model.

use std::path::PathBuf;

/// Errors of glance-model. Messages name the file and, for weights, the tensor.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A config.json could not be parsed or is inconsistent.
    #[error("{path}: {message}")]
    Config {
        /// The config file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The directory holds a model type or architecture glance cannot run.
    #[error("{path}: unsupported architecture: {message}")]
    Unsupported {
        /// The config file.
        path: PathBuf,
        /// What is not supported.
        message: String,
    },
    /// A tokenizer file (tokenizer.json) describes a tokenizer glance cannot run or is
    /// malformed.
    #[error("{path}: unsupported tokenizer: {message}")]
    Tokenizer {
        /// The tokenizer file.
        path: PathBuf,
        /// What is not supported or wrong.
        message: String,
    },
    /// A tokenizer file has more tokens than the config's embedding table has rows.
    #[error(
        "{path}: the tokenizer has {tokens} tokens but config.json's vocab_size is {vocab_size}: \
         tokenizer and weights do not belong together"
    )]
    VocabSize {
        /// The tokenizer file (vocab.txt or tokenizer.json).
        path: PathBuf,
        /// Tokens in the file.
        tokens: usize,
        /// The config's `vocab_size`.
        vocab_size: usize,
    },
    /// A safetensors file is malformed.
    #[error("{path}: invalid safetensors file: {message}")]
    Safetensors {
        /// The weights file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A checkpoint file other than safetensors (pytorch_model.bin, a shard index) is
    /// malformed or holds what glance refuses to read.
    #[error("{path}: {message}")]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A tensor the architecture needs is absent.
    #[error("{path}: missing tensor `{tensor}`")]
    MissingTensor {
        /// The weights file.
        path: PathBuf,
        /// The tensor name.
        tensor: String,
    },
    /// A tensor has the wrong shape.
    #[error("{path}: tensor `{tensor}` has shape {found:?}, expected {expected:?}")]
    Shape {
        /// The weights file.
        path: PathBuf,
        /// The tensor name.
        tensor: String,
        /// The shape the architecture needs.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },
    /// A tensor has a dtype glance cannot convert to f32.
    #[error("{path}: tensor `{tensor}` has dtype {dtype}, expected F32, F16 or BF16")]
    Dtype {
        /// The weights file.
        path: PathBuf,
        /// The tensor name.
        tensor: String,
        /// The dtype in the file.
        dtype: String,
    },
    /// A token id is outside the model's vocabulary.
    #[error("token id {id} is outside the vocabulary of {vocab_size} tokens")]
    TokenId {
        /// The id.
        id: u32,
        /// The embedding table size.
        vocab_size: usize,
    },
    /// An input is longer than the model's learned position table.
    #[error("{len} tokens exceed the model's {max} learned positions")]
    TooLong {
        /// Tokens given.
        len: usize,
        /// Positions available.
        max: usize,
    },
    /// Invalid options (chunk size, overlap, pooling, regions).
    #[error("{0}")]
    Options(String),
    /// The sequence input failed (reading, chunking, tokenizing).
    #[error("{0}")]
    Input(#[from] glance_seq::SeqError),
    /// The attention kernel rejected its input.
    #[error("attention: {0}")]
    Attention(#[from] glance_attn::AttnError),
    /// A row or token sink failed (such as an output that cannot be written); the
    /// sink's own error, which names its file.
    #[error("{0}")]
    Sink(Box<dyn std::error::Error + Send + Sync>),
}

impl ModelError {
    pub(crate) fn config(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        ModelError::Config {
            path: path.into(),
            message: message.into(),
        }
    }
}
