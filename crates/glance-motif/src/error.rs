//! Typed errors of the motif crate.

use thiserror::Error;

/// Everything that can go wrong reading motifs or backgrounds, or scanning.
#[derive(Debug, Error)]
pub enum MotifError {
    /// A syntax or content problem at a 1-based line of a motif or background file.
    #[error("line {line}: {message}")]
    Parse {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A problem with one motif as a whole (named by its id).
    #[error("motif {id}: {message}")]
    Motif {
        /// The motif's id.
        id: String,
        /// What is wrong.
        message: String,
    },
    /// The motif set is empty.
    #[error("no motifs found")]
    Empty,
    /// Two motifs share an id.
    #[error("line {line}: duplicate motif id {id}")]
    DuplicateId {
        /// The repeated id.
        id: String,
        /// 1-based line of the second occurrence.
        line: usize,
    },
    /// A bad background distribution.
    #[error("background: {0}")]
    Background(String),
    /// A bad option value.
    #[error("{0}")]
    Invalid(String),
    /// Reading the sequence input failed.
    #[error(transparent)]
    Seq(#[from] glance_seq::SeqError),
    /// An I/O error.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Builds a [`MotifError::Parse`].
pub(crate) fn parse_err(line: usize, message: impl Into<String>) -> MotifError {
    MotifError::Parse {
        line,
        message: message.into(),
    }
}
