//! Atomic output files: every output is written under a temporary name in its final
//! directory and renamed into place only when complete, so a failed or killed run never
//! leaves a file that looks finished.

use anyhow::Context;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// A file being written; it appears under its final name only after [`AtomicOutput::commit`].
/// Dropping it without committing removes the temporary file.
pub struct AtomicOutput {
    path: PathBuf,
    temp: tempfile::NamedTempFile,
}

impl AtomicOutput {
    /// Starts writing `path` (through a hidden temporary file beside it).
    pub fn create(path: &Path) -> anyhow::Result<Self> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = path
            .file_name()
            .with_context(|| format!("{}: not a file name", path.display()))?;
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{}.", name.to_string_lossy()))
            .suffix(".partial")
            .tempfile_in(dir)
            .with_context(|| format!("{}: cannot create output", path.display()))?;
        Ok(Self {
            path: path.to_path_buf(),
            temp,
        })
    }

    /// A buffered writer over the temporary file.
    pub fn writer(&mut self) -> BufWriter<&mut File> {
        BufWriter::with_capacity(1 << 20, self.temp.as_file_mut())
    }

    /// Flushes to disk and renames the temporary file to its final name.
    pub fn commit(self) -> anyhow::Result<()> {
        let path = self.path;
        self.temp
            .as_file()
            .sync_all()
            .with_context(|| format!("{}: cannot write", path.display()))?;
        self.temp
            .persist(&path)
            .with_context(|| format!("{}: cannot rename into place", path.display()))?;
        Ok(())
    }
}
