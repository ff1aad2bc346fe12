//! [`WorkflowError`]: every failure of the pipeline, with the file (and record or line)
//! it concerns already in the message.

/// A pipeline error. Messages name the file, record or key; the CLI prints them as one
/// line.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    /// A bad configuration (file, key or value).
    #[error("{0}")]
    Config(String),
    /// An input that cannot be read or parsed. The cause is part of the message and
    /// not repeated as a source, so the CLI's one line says it once.
    #[error("{path}: {error}")]
    Input {
        /// The input file.
        path: String,
        /// What went wrong (record and line inside).
        error: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A file that cannot be written or measured.
    #[error(transparent)]
    Io(#[from] glance_io::IoError),
    /// The model failed (loading or inference).
    #[error("{0}")]
    Model(String),
    /// Motifs failed (loading or scanning).
    #[error("{0}")]
    Motif(String),
    /// A stage of the pipeline panicked (a bug: please report it).
    #[error("the {0} stage of the pipeline panicked (a bug in glance; please report it)")]
    StagePanic(&'static str),
    /// Shards that cannot be merged, or a manifest that does not match.
    #[error("{0}")]
    Merge(String),
}

impl WorkflowError {
    /// Whether this is a write to a closed pipe (see [`glance_io::IoError::is_broken_pipe`]).
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, WorkflowError::Io(e) if e.is_broken_pipe())
    }

    /// An output error for `path`.
    pub fn output(path: &std::path::Path, source: std::io::Error) -> Self {
        WorkflowError::Io(glance_io::IoError::write(path, source))
    }
}
