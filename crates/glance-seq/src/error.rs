//! The one error type of glance-seq. Every variant says where the problem is (a line, a
//! record, a region) and what it is, so that a command-line tool can print
//! `error: <file>: <where>: <what>` by prefixing only the file name.

use std::io;

/// Errors from reading, indexing, chunking and tokenizing sequences.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SeqError {
    /// The input could not be opened. (The I/O error is part of the message, not a
    /// separate `source`, so that error chains print it once.)
    #[error("cannot open: {0}")]
    Open(io::Error),

    /// The input is a directory, not a file.
    #[error("is a directory, not a file")]
    IsDirectory,

    /// The input holds no bytes, or only empty lines.
    #[error("empty input: no FASTA or FASTQ records")]
    Empty,

    /// The (decompressed) input does not start like FASTA (`>`) or FASTQ (`@`).
    #[error(
        "line {line}: missing record header: expected '>' (FASTA) or '@' (FASTQ), found {found}"
    )]
    NotSequence {
        /// 1-based line number.
        line: u64,
        /// The offending first byte, described (printable or as hex).
        found: String,
    },

    /// A malformed line, found before any record was named.
    #[error("line {line}: {message}")]
    Format {
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        message: String,
    },

    /// A malformed record.
    #[error("record '{record}' (line {line}): {message}")]
    Record {
        /// The record's name.
        record: String,
        /// 1-based line number where the problem was found.
        line: u64,
        /// What is wrong.
        message: String,
    },

    /// Reading or decompressing failed (truncated or corrupt gzip/BGZF, I/O error).
    #[error("line {line}: {what}: {error}")]
    Io {
        /// 1-based line number being read when the error happened.
        line: u64,
        /// A short description, e.g. "truncated compressed stream".
        what: &'static str,
        /// The underlying error (part of the message, not a separate `source`).
        error: io::Error,
    },

    /// A region string could not be parsed.
    #[error("invalid region '{text}': {reason}")]
    InvalidRegion {
        /// The region as given.
        text: String,
        /// Why it is invalid.
        reason: String,
    },

    /// A BED line could not be parsed.
    #[error("line {line}: invalid BED record: {reason}")]
    Bed {
        /// 1-based line number in the BED file.
        line: u64,
        /// Why it is invalid.
        reason: String,
    },

    /// A region names a sequence that the index does not list.
    #[error("unknown sequence '{name}' (not in the .fai index)")]
    UnknownSequence {
        /// The sequence name.
        name: String,
    },

    /// A region extends past the end of its sequence or is empty.
    #[error("region {region} is out of range: sequence '{name}' has {length} bases")]
    RegionOutOfRange {
        /// The region, in samtools notation.
        region: String,
        /// The sequence name.
        name: String,
        /// The sequence length.
        length: u64,
    },

    /// An index (.fai/.gzi) could not be read, built or used.
    #[error("{0}")]
    Index(String),

    /// A vocabulary file is malformed or does not fit the tokenizer.
    #[error("{0}")]
    Vocab(String),

    /// Invalid tokenizer or chunker options (k, stride, chunk size, halo).
    #[error("{0}")]
    Options(String),

    /// A SAM/BAM/CRAM input or URL failed in htslib (feature `htslib`): open, header,
    /// index, CRAM reference or a corrupt record.
    #[error("{0}")]
    Htslib(String),
}

impl SeqError {
    /// Wraps an I/O error met while reading line `line`, naming what was being read.
    pub(crate) fn io(line: u64, compressed: bool, source: io::Error) -> Self {
        let what = match source.kind() {
            io::ErrorKind::UnexpectedEof if compressed => "truncated compressed stream",
            io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput if compressed => {
                "corrupt compressed stream"
            }
            io::ErrorKind::IsADirectory => "is a directory",
            _ if compressed => "cannot read compressed input",
            _ => "cannot read",
        };
        SeqError::Io {
            line,
            what,
            error: source,
        }
    }
}

/// Describes a byte for an error message: `'x'` when printable ASCII, else `0xNN`.
pub(crate) fn describe_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}
