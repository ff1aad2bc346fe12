//! [`load`]: opens a model directory, telling a native glance model from a Hugging Face
//! checkpoint by its config.json.

use std::path::Path;

use crate::config::{ModelConfig, FORMAT};
use crate::encoder::Encoder;
use crate::error::ModelError;
use crate::import::{bert, esm, longformer};
use crate::native;

/// Loads the model in `dir`: a native glance directory (`"format": "glance-encoder"`)
/// or a Hugging Face BERT/DNABERT, Longformer or Nucleotide Transformer checkpoint.
pub fn load(dir: &Path) -> Result<Encoder, ModelError> {
    let config_path = dir.join("config.json");
    if !dir.is_dir() {
        return Err(ModelError::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "not a model directory"),
        });
    }
    let text = std::fs::read_to_string(&config_path).map_err(|source| ModelError::Io {
        path: config_path.clone(),
        source,
    })?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| ModelError::config(&config_path, format!("invalid JSON: {e}")))?;
    if value.get("format").and_then(|f| f.as_str()) == Some(FORMAT) {
        let config = ModelConfig::read(&config_path)?;
        return native::load(dir, &config);
    }
    let config = crate::import::hf::read_config(&config_path)?;
    match config.family().as_deref() {
        Some("bert") => bert::load(dir, &config),
        Some("longformer") => longformer::load(dir, &config),
        Some("esm") => esm::load(dir, &config),
        other => Err(ModelError::Unsupported {
            path: config_path,
            message: format!(
                "model_type {:?} (architectures {:?}); glance reads native glance models, BERT, Longformer and Nucleotide Transformer (ESM)",
                other.unwrap_or("missing"),
                config.architectures.unwrap_or_default()
            ),
        }),
    }
}
