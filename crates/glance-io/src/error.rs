//! [`IoError`]: a file that cannot be read or written, named in the message.

use std::path::Path;

/// A failed read or write of a named file. The message names the file and carries the
/// operating system's words; the underlying error is not repeated as a source, so a
/// caller printing the chain prints it once.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// An output that cannot be written.
    #[error("{path}: cannot write: {error}")]
    Write {
        /// The output file.
        path: String,
        /// The I/O error.
        error: std::io::Error,
    },
    /// An input that cannot be read (to measure it).
    #[error("{path}: {error}")]
    Read {
        /// The input file.
        path: String,
        /// The I/O error.
        error: std::io::Error,
    },
    /// A file that is not what it should be (e.g. not an f32 .npy).
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong with it.
        message: String,
    },
}

impl IoError {
    /// Whether this is a write to a closed pipe (`glance scan ... | head`): the reader
    /// has all it wanted, which the CLI treats as success, as other Unix tools do.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, IoError::Write { error, .. } if error.kind() == std::io::ErrorKind::BrokenPipe)
    }

    /// A write error for `path`.
    pub fn write(path: &Path, error: std::io::Error) -> Self {
        IoError::Write {
            path: path.display().to_string(),
            error,
        }
    }

    /// A read error for `path`.
    pub fn read(path: &Path, error: std::io::Error) -> Self {
        IoError::Read {
            path: path.display().to_string(),
            error,
        }
    }

    /// A format error for `path`.
    pub fn format(path: &Path, message: &str) -> Self {
        IoError::Format {
            path: path.display().to_string(),
            message: message.to_string(),
        }
    }
}
