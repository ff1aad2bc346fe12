//! [`VariantError`]: what can go wrong scoring a variant, with the VCF line it concerns.

/// A variant that cannot be scored, or a reference or model that failed.
#[derive(Debug, thiserror::Error)]
pub enum VariantError {
    /// The VCF's REF disagrees with the reference genome.
    #[error("line {line}: REF {vcf} does not match the reference ({chrom}:{pos} is {genome})")]
    RefMismatch {
        /// VCF line (1-based; BCF: record number).
        line: u64,
        /// Contig.
        chrom: String,
        /// 1-based position.
        pos: u64,
        /// REF as the VCF gives it.
        vcf: String,
        /// The reference's bases there.
        genome: String,
    },
    /// The contig is not in the reference.
    #[error("line {line}: contig `{chrom}` is not in the reference")]
    UnknownContig {
        /// VCF line.
        line: u64,
        /// Contig.
        chrom: String,
    },
    /// The variant lies (partly) outside its contig.
    #[error("line {line}: {chrom}:{pos} is past the end of the contig ({len} bases)")]
    OutOfContig {
        /// VCF line.
        line: u64,
        /// Contig.
        chrom: String,
        /// 1-based position.
        pos: u64,
        /// Contig length.
        len: u64,
    },
    /// A VCF or BCF that cannot be read: its header, or a record (text: the line;
    /// BCF: the record number).
    #[error("{0}")]
    Vcf(String),
    /// An output that cannot be written.
    #[error("{path}: cannot write: {error}")]
    Write {
        /// The output.
        path: String,
        /// The I/O error.
        error: std::io::Error,
    },
    /// Reading the reference failed.
    #[error("reference: {0}")]
    Reference(String),
    /// The encoder or its head failed.
    #[error("model: {0}")]
    Model(String),
}
