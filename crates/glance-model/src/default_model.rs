//! The default model, used when no model directory is given: the directory named by
//! `$GLANCE_MODEL` when that is set (and not empty), else the model compiled into the
//! binary ([`BUNDLED_FILES`]: `config.json`, `model.safetensors` and
//! `mlm_head.safetensors` of this crate's `models/default/`, about 7.6 MB). A `glance`
//! installed with `cargo install` or copied to another machine therefore needs no file
//! beside it and no environment variable.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::config::ModelConfig;
use crate::encoder::Encoder;
use crate::error::ModelError;
use crate::mlm::NATIVE_HEAD_FILE;
use crate::native::{self, NativeFiles};
use crate::weights::Weights;

/// Environment variable naming the default model directory.
pub const MODEL_ENV: &str = "GLANCE_MODEL";

/// How the bundled model is named in errors and manifests (its files are
/// `bundled:models/default/config.json` and so on).
pub const BUNDLED_LABEL: &str = "bundled:models/default";

const CONFIG_JSON: &[u8] = include_bytes!("../models/default/config.json");
const MODEL_SAFETENSORS: &[u8] = include_bytes!("../models/default/model.safetensors");
const HEAD_SAFETENSORS: &[u8] = include_bytes!("../models/default/mlm_head.safetensors");

/// The files of the bundled default model, by name, as compiled into the binary.
pub const BUNDLED_FILES: [(&str, &[u8]); 3] = [
    ("config.json", CONFIG_JSON),
    ("model.safetensors", MODEL_SAFETENSORS),
    (NATIVE_HEAD_FILE, HEAD_SAFETENSORS),
];

/// Which model a run without `--model` uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefaultModel {
    /// The directory named by `$GLANCE_MODEL`.
    Env(PathBuf),
    /// The model compiled into the binary.
    Bundled,
}

impl DefaultModel {
    /// `$GLANCE_MODEL` if set and not empty, else the bundled model.
    pub fn resolve() -> DefaultModel {
        match std::env::var_os(MODEL_ENV) {
            Some(dir) if !dir.is_empty() => DefaultModel::Env(PathBuf::from(dir)),
            _ => DefaultModel::Bundled,
        }
    }

    /// Loads the model.
    pub fn load(&self) -> Result<Encoder, ModelError> {
        match self {
            DefaultModel::Env(dir) => crate::load(dir),
            DefaultModel::Bundled => load_bundled(),
        }
    }
}

impl fmt::Display for DefaultModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DefaultModel::Env(dir) => write!(f, "{} (${MODEL_ENV})", dir.display()),
            DefaultModel::Bundled => f.write_str(BUNDLED_LABEL),
        }
    }
}

/// Loads the model compiled into the binary (see the module docs).
pub fn load_bundled() -> Result<Encoder, ModelError> {
    let label = Path::new(BUNDLED_LABEL);
    let config_path = label.join("config.json");
    let text = std::str::from_utf8(CONFIG_JSON)
        .map_err(|e| ModelError::config(&config_path, format!("not UTF-8: {e}")))?;
    let config = ModelConfig::parse(text, &config_path)?;
    let vocab = glance_seq::Vocab::builtin(config.tokenizer.k)
        .map_err(|e| ModelError::config(&config_path, e.to_string()))?;
    let files = NativeFiles {
        weights: Weights::from_static(&label.join("model.safetensors"), MODEL_SAFETENSORS)?,
        head: Some(Weights::from_static(
            &label.join(NATIVE_HEAD_FILE),
            HEAD_SAFETENSORS,
        )?),
        vocab,
        config_path,
    };
    native::build(&config, files)
}
