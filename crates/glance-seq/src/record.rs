//! Records and record headers: the caller-owned buffers that readers fill.

/// One FASTA or FASTQ record (or one region of a sequence), read whole.
///
/// Readers fill a caller-owned `Record` and reuse its buffers, so reading millions of
/// reads allocates only while the buffers grow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// The name: the header up to the first whitespace.
    pub name: String,
    /// The rest of the header after the name and its separating whitespace (may be empty).
    pub description: String,
    /// The bases exactly as written (case kept, line breaks removed).
    pub sequence: Vec<u8>,
    /// FASTQ quality characters, one per base; empty for FASTA.
    pub quality: Vec<u8>,
    /// 0-based offset of `sequence[0]` in the named sequence: 0 for a whole record, the
    /// region start for a region fetched through an index.
    pub offset: u64,
}

/// What is known about a record when its bases start to stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordHeader {
    /// The name: the header up to the first whitespace.
    pub name: String,
    /// The rest of the header (may be empty).
    pub description: String,
    /// 0-based index of this record (or region) in its input, in input order.
    pub index: u64,
    /// 0-based offset of the first streamed base in the named sequence (0 for a whole
    /// record; the region start for a region).
    pub offset: u64,
    /// Number of bases that will stream, when known up front (indexed regions); `None`
    /// for plain streaming, where the length is known only at the record's end.
    pub length: Option<u64>,
}
