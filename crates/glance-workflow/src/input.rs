//! [`Input`]: what a whole-file job reads: a file (or `-` for stdin), or FASTA/FASTQ
//! text already in memory (a library caller's sequences, e.g. the Python bindings').

use std::fmt;
use std::io::Cursor;
use std::path::PathBuf;
use std::sync::Arc;

use glance_seq::SeqReader;

use crate::error::WorkflowError;

/// One input of `scan_inputs`, `score_inputs` or `embed_inputs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A FASTA/FASTQ file (plain, gzip or BGZF); `-` reads stdin.
    Path(PathBuf),
    /// FASTA/FASTQ text (or its gzip) held in memory, named `label` in errors.
    Memory {
        /// The name errors give this input.
        label: String,
        /// The bytes, read as a file's would be.
        bytes: Arc<[u8]>,
    },
}

impl Input {
    /// One FASTA record `name` holding `bases`, as an in-memory input named `name`.
    pub fn sequence(name: &str, bases: &[u8]) -> Input {
        let mut text = Vec::with_capacity(name.len() + bases.len() + 3);
        text.push(b'>');
        text.extend_from_slice(name.as_bytes());
        text.push(b'\n');
        text.extend_from_slice(bases);
        text.push(b'\n');
        Input::Memory {
            label: name.to_string(),
            bytes: text.into(),
        }
    }

    /// Whether this input is stdin (which can be read only once).
    pub fn is_stdin(&self) -> bool {
        matches!(self, Input::Path(p) if p.as_os_str() == "-")
    }

    /// Opens a reader, naming the input in errors.
    pub fn open(&self) -> Result<SeqReader, WorkflowError> {
        match self {
            Input::Path(p) => SeqReader::open(p),
            Input::Memory { bytes, .. } => SeqReader::from_reader(Cursor::new(Arc::clone(bytes))),
        }
        .map_err(|e| WorkflowError::Input {
            path: self.to_string(),
            error: Box::new(e),
        })
    }

    /// The inputs of a command line: every path as an [`Input::Path`].
    pub fn paths(paths: &[PathBuf]) -> Vec<Input> {
        paths.iter().cloned().map(Input::Path).collect()
    }
}

impl From<PathBuf> for Input {
    fn from(path: PathBuf) -> Input {
        Input::Path(path)
    }
}

/// The path, or the in-memory input's label.
impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::Path(p) => write!(f, "{}", p.display()),
            Input::Memory { label, .. } => f.write_str(label),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glance_seq::Record;

    #[test]
    fn an_in_memory_sequence_reads_as_one_record() {
        let input = Input::sequence("s1", b"ACGTN");
        let mut reader = input.open().unwrap();
        let mut r = Record::default();
        assert!(reader.read_record(&mut r).unwrap());
        assert_eq!(
            (r.name.as_str(), r.sequence.as_slice()),
            ("s1", &b"ACGTN"[..])
        );
        assert!(!reader.read_record(&mut r).unwrap());
        assert_eq!(input.to_string(), "s1");
        assert!(!input.is_stdin());
        assert!(Input::Path("-".into()).is_stdin());
    }

    #[test]
    fn a_missing_file_is_named_in_the_error() {
        let Err(err) = Input::Path("no/such.fa".into()).open() else {
            panic!("a missing file opened");
        };
        assert!(err.to_string().starts_with("no/such.fa: "), "{err}");
    }
}
