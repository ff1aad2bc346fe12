//! Atomic outputs: each file is written under a hidden temporary name
//! (`.NAME.glance-partial.XXXX`) in its final directory and renamed into place only once
//! complete and synced, so a failed or killed run never leaves a file that looks
//! finished. A stage can do the slow part (sync, checksum) itself with
//! [`AtomicFile::finish`] and leave the rename to the end of the run.
//! [`clean_partials`] removes what a killed run left behind.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::entry::FileEntry;
use crate::error::IoError;
use crate::writeback::Writeback;

/// Write buffer of every output file: 128 KiB, large enough for efficient writes and
/// small enough that filling it does not show in peak memory.
pub const OUTPUT_BUFFER: usize = 128 << 10;

/// The marker in every temporary file name.
const PARTIAL: &str = ".glance-partial.";

/// A file being written; it appears under its final name only after [`Self::commit`].
/// Dropping it uncommitted removes the temporary file.
pub struct AtomicFile {
    path: PathBuf,
    temp: tempfile::NamedTempFile,
}

impl AtomicFile {
    /// Starts writing `path` through a temporary file beside it.
    pub fn create(path: &Path) -> Result<Self, IoError> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = path.file_name().map_or_else(
            || "output".to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}{PARTIAL}"))
            .tempfile_in(dir)
            .map_err(|e| IoError::write(path, e))?;
        Ok(AtomicFile {
            path: path.to_path_buf(),
            temp,
        })
    }

    /// The temporary file (for writers that seek).
    pub fn file(&mut self) -> &mut File {
        self.temp.as_file_mut()
    }

    /// A buffered writer over the temporary file, starting its writeback as it grows
    /// ([`Writeback`]).
    pub fn writer(&mut self) -> BufWriter<Writeback<'_>> {
        BufWriter::with_capacity(OUTPUT_BUFFER, Writeback::new(self.temp.as_file_mut()))
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Syncs the temporary file and renames it to its final name.
    pub fn commit(self) -> Result<(), IoError> {
        self.seal()?;
        self.persist()
    }

    /// Syncs the temporary file and measures it (size and SHA-256, recorded under
    /// `label`), leaving it under its temporary name: the slow part of a commit, for a
    /// stage to do before the run decides whether to commit.
    pub fn finish(self, label: &str) -> Result<Finished, IoError> {
        self.seal()?;
        let entry = FileEntry::of(self.temp.path(), label.to_string())?;
        Ok(Finished { file: self, entry })
    }

    /// Syncs the temporary file and gives it the usual permissions.
    fn seal(&self) -> Result<(), IoError> {
        let err = |e| IoError::write(&self.path, e);
        self.temp.as_file().sync_all().map_err(err)?;
        // Temporary files are private (0600); outputs get the usual 0644.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(self.temp.path(), std::fs::Permissions::from_mode(0o644))
                .map_err(err)?;
        }
        Ok(())
    }

    /// Renames the temporary file to its final name.
    fn persist(self) -> Result<(), IoError> {
        let path = self.path;
        self.temp
            .persist(&path)
            .map_err(|e| IoError::write(&path, e.error))?;
        Ok(())
    }
}

/// A complete, synced output still under its temporary name (see
/// [`AtomicFile::finish`]); dropping it removes the file.
pub struct Finished {
    file: AtomicFile,
    entry: FileEntry,
}

impl Finished {
    /// The output's final path.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Renames the file into place and returns its manifest entry.
    pub fn commit(self) -> Result<FileEntry, IoError> {
        self.file.persist()?;
        Ok(self.entry)
    }
}

/// Writes `path` atomically with what `write` produces.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), IoError> {
    written(path, write)?.commit()
}

/// As [`write_atomically`], returning the file's manifest entry under `label` (measured
/// before the rename, so the file is read back once).
pub fn write_measured(
    path: &Path,
    label: &str,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<FileEntry, IoError> {
    written(path, write)?.finish(label)?.commit()
}

/// A temporary file for `path` holding what `write` produces, flushed.
fn written(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<AtomicFile, IoError> {
    let mut out = AtomicFile::create(path)?;
    {
        let mut w = out.writer();
        write(&mut w)
            .and_then(|()| w.flush())
            .map_err(|e| IoError::write(path, e))?;
    }
    Ok(out)
}

/// Removes temporary files a killed run left in `dir`; returns how many.
pub fn clean_partials(dir: &Path) -> Result<usize, IoError> {
    let mut n = 0;
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(IoError::write(dir, e)),
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().contains(PARTIAL) {
            std::fs::remove_file(entry.path()).map_err(|e| IoError::write(&entry.path(), e))?;
            n += 1;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names of the files in `dir`.
    fn names_in(dir: &Path) -> Vec<std::ffi::OsString> {
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect()
    }

    #[test]
    fn files_appear_only_when_committed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        let mut f = AtomicFile::create(&p).unwrap();
        f.writer().write_all(b"hello").unwrap();
        assert!(!p.exists());
        f.commit().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"hello");
        let f = AtomicFile::create(&dir.path().join("b.txt")).unwrap();
        std::mem::forget(f); // as if killed: the partial file stays
        assert_eq!(clean_partials(dir.path()).unwrap(), 1);
        assert_eq!(names_in(dir.path()), ["a.txt"]);
    }

    #[test]
    fn finished_files_are_measured_before_they_appear() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.txt");
        let mut f = AtomicFile::create(&p).unwrap();
        f.writer().write_all(b"abc").unwrap();
        let done = f.finish("c.txt").unwrap();
        assert!(!p.exists());
        let entry = done.commit().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"abc");
        assert_eq!(entry, FileEntry::of(&p, "c.txt".into()).unwrap());
        assert_eq!(entry.bytes, 3);
        // dropped unfinished or uncommitted: nothing stays behind
        let mut f = AtomicFile::create(&dir.path().join("d.txt")).unwrap();
        f.writer().write_all(b"x").unwrap();
        drop(f.finish("d.txt").unwrap());
        assert_eq!(names_in(dir.path()), ["c.txt"]);
    }
}
