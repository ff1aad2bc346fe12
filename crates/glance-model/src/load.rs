//! [`load`]: opens a model directory, telling a native glance model from a Hugging Face
//! checkpoint by its config.json.

use std::path::Path;

use crate::config::{ModelConfig, FORMAT};
use crate::encoder::Encoder;
use crate::error::ModelError;
use crate::import::{bert, bigbird, dnabert2, esm, gena, longformer, modernbert};
use crate::native;

/// Loads the model in `dir`: a native glance directory (`"format": "glance-encoder"`)
/// or a Hugging Face BERT/DNABERT, GENA-LM BERT ([`gena::is_gena`]), BigBird, Longformer,
/// ModernBERT or Nucleotide Transformer checkpoint (told apart by `model_type`, or else the first of `architectures`), or a
/// DNABERT-2 checkpoint (its MosaicBERT config keys, [`dnabert2::is_dnabert2`]).
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
    if dnabert2::is_dnabert2(&value) {
        return dnabert2::load(dir, &value);
    }
    match family(&value).as_deref() {
        Some("modernbert") => modernbert::load(dir, &text),
        Some("bert") => {
            let config = crate::import::hf::read_config(&config_path)?;
            if gena::is_gena(dir, &config) {
                gena::load(dir, &config)
            } else {
                bert::load(dir, &config)
            }
        }
        Some("big_bird") => bigbird::load(dir, &crate::import::hf::read_config(&config_path)?),
        Some("longformer") => longformer::load(dir, &crate::import::hf::read_config(&config_path)?),
        Some("esm") => esm::load(dir, &crate::import::hf::read_config(&config_path)?),
        other => {
            let architectures = value
                .get("architectures")
                .map_or("none".to_string(), |a| a.to_string());
            Err(ModelError::Unsupported {
                path: config_path,
                message: format!(
                    "model_type {:?} (architectures {architectures}); glance reads native glance \
                     models, BERT, Longformer, ModernBERT, Nucleotide Transformer (ESM), DNABERT-2, \
                     GENA-LM and BigBird",
                    other.unwrap_or("missing"),
                ),
            })
        }
    }
}

/// The family of a Hugging Face config.json: `model_type`, or else the one its first
/// `architectures` entry starts with (`ModernBert...`, `Longformer...`, `BigBird...`,
/// `Bert...`, `Esm...`; `BigBirdModel` / `BigBirdFor...` give `big_bird` as its `model_type` is spelled),
/// lower-cased.
fn family(config: &serde_json::Value) -> Option<String> {
    if let Some(t) = config.get("model_type").and_then(|t| t.as_str()) {
        return Some(t.to_ascii_lowercase());
    }
    let arch = config
        .get("architectures")?
        .get(0)?
        .as_str()?
        .to_ascii_lowercase();
    if arch == "bigbirdmodel" || arch.starts_with("bigbirdfor") {
        return Some("big_bird".into());
    }
    ["modernbert", "longformer", "bert", "esm"]
        .into_iter()
        .find(|f| arch.starts_with(f))
        .map(str::to_string)
}
