//! Resolution of what a configuration leaves implicit: the default model directory
//! and the motif set with its background.
//!
//! The default model is looked up, in order, at `$GLANCE_MODEL` and at `models/default/`
//! of the source tree the binary was built from (`CARGO_MANIFEST_DIR/../../models/default`).
//! A directory counts only if it holds a `config.json`. A binary moved away from its
//! source tree, with no `$GLANCE_MODEL`, finds none: `glance run` then runs the motif
//! stages only and says so in its log and manifest.

use std::path::{Path, PathBuf};

use glance_motif::{bundled, read_motifs, BackgroundSource, MotifFile};

use crate::config::MotifsConfig;
use crate::error::WorkflowError;

/// Environment variable naming the default model directory.
pub const MODEL_ENV: &str = "GLANCE_MODEL";

/// The bundled model's directory in the source tree.
pub const BUNDLED_MODEL_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/default");

/// The default model directory, if one exists (see the module docs).
pub fn default_model_dir() -> Option<PathBuf> {
    let candidates = std::env::var_os(MODEL_ENV)
        .map(PathBuf::from)
        .into_iter()
        .chain(std::iter::once(PathBuf::from(BUNDLED_MODEL_DIR)));
    for dir in candidates {
        if dir.join("config.json").is_file() {
            return Some(std::fs::canonicalize(&dir).unwrap_or(dir));
        }
    }
    None
}

/// Reads the motif file of the config (or the bundled JASPAR set); returns the set and
/// a label for logs.
pub fn load_motifs(file: Option<&Path>) -> Result<(MotifFile, String), WorkflowError> {
    match file {
        Some(p) => {
            let f = read_motifs(p)
                .map_err(|e| WorkflowError::Motif(format!("{}: {e}", p.display())))?;
            Ok((f, p.display().to_string()))
        }
        None => Ok((
            bundled::jaspar()
                .map_err(|e| WorkflowError::Motif(format!("bundled JASPAR set: {e}")))?,
            bundled::JASPAR_NAME.to_string(),
        )),
    }
}

/// Resolves `motifs.background` as FIMO does.
pub fn background(cfg: &MotifsConfig, file: &MotifFile) -> Result<[f64; 4], WorkflowError> {
    let label = cfg.background.as_str();
    let source = BackgroundSource::from_bfile_arg(label, file.background)
        .map_err(|e| WorkflowError::Motif(e.to_string()))?;
    source
        .resolve(!cfg.norc)
        .map_err(|e| WorkflowError::Motif(format!("motifs.background {label}: {e}")))
}
