//! [`FileEntry`]: a file with its size and SHA-256, as manifests record inputs and
//! outputs.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::checksum::{bytes_sha256, file_sha256};
use crate::error::IoError;

/// A file with its size and checksum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path (inputs: as given; outputs: name inside the output directory).
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256, hex.
    pub sha256: String,
}

impl FileEntry {
    /// Measures the file at `path`, recording it under `label`.
    pub fn of(path: &Path, label: String) -> Result<FileEntry, IoError> {
        let (bytes, sha256) = file_sha256(path).map_err(|e| IoError::read(path, e))?;
        Ok(FileEntry {
            path: label,
            bytes,
            sha256,
        })
    }

    /// Measures `bytes` held in memory (e.g. a file compiled into the binary),
    /// recording them under `label`.
    pub fn of_bytes(bytes: &[u8], label: String) -> FileEntry {
        FileEntry {
            path: label,
            bytes: bytes.len() as u64,
            sha256: bytes_sha256(bytes),
        }
    }
}
