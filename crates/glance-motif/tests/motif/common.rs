//! Helpers shared by the integration tests: fixture paths.

use std::path::PathBuf;

/// test-data/<p>.
pub fn data(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../test-data")
        .join(p)
}
