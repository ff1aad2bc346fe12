//! Where the default model is: looked up, in order, at `$GLANCE_MODEL` and at
//! `models/default/` of the source tree the binary was built from
//! (`CARGO_MANIFEST_DIR/../../models/default`). A directory counts only if it holds a
//! `config.json`. A binary moved away from its source tree, with no `$GLANCE_MODEL`,
//! finds none: `glance run` then runs the motif stages only and says so in its log and
//! manifest.

use std::path::PathBuf;

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
