//! Output prefixes: a command given `-o PREFIX` writes `PREFIX.npy`, `PREFIX.bed`, ...

use std::path::{Path, PathBuf};

/// `PREFIX.ext` for an output prefix, keeping any dots already in the prefix.
pub fn with_suffix(prefix: &Path, ext: &str) -> PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}
