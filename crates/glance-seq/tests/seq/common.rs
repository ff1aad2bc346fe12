//! Helpers shared by the integration tests: fixture paths.

use std::path::PathBuf;

/// test-data/seq/<name>: the sequence fixtures.
pub fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../test-data/seq")
        .join(name)
}
