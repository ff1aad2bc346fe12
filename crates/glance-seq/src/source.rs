//! [`SequenceSource`]: the streaming interface shared by every reader (FASTA/FASTQ,
//! indexed regions, and the optional htslib reader), on which the chunker is built.

use crate::error::SeqError;
use crate::record::RecordHeader;

/// A stream of records whose bases can be read a piece at a time, so that no consumer
/// ever has to hold a whole record.
pub trait SequenceSource {
    /// Moves to the next record (skipping whatever is left of the current one) and fills
    /// `header`. Returns `Ok(false)` at the end of the input.
    fn next_record(&mut self, header: &mut RecordHeader) -> Result<bool, SeqError>;

    /// Appends at most `max` bases of the current record to `buf` and returns how many
    /// were appended; `Ok(0)` (with `max > 0`) means the record has ended.
    fn read_bases(&mut self, buf: &mut Vec<u8>, max: usize) -> Result<usize, SeqError>;
}

impl<S: SequenceSource + ?Sized> SequenceSource for &mut S {
    fn next_record(&mut self, header: &mut RecordHeader) -> Result<bool, SeqError> {
        (**self).next_record(header)
    }

    fn read_bases(&mut self, buf: &mut Vec<u8>, max: usize) -> Result<usize, SeqError> {
        (**self).read_bases(buf, max)
    }
}

impl<S: SequenceSource + ?Sized> SequenceSource for Box<S> {
    fn next_record(&mut self, header: &mut RecordHeader) -> Result<bool, SeqError> {
        (**self).next_record(header)
    }

    fn read_bases(&mut self, buf: &mut Vec<u8>, max: usize) -> Result<usize, SeqError> {
        (**self).read_bases(buf, max)
    }
}
