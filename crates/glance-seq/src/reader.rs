//! [`SeqReader`]: FASTA and FASTQ records from a path, stdin or any byte stream.
//!
//! The format is chosen by the first byte of the first non-empty line (`>` FASTA, `@`
//! FASTQ) and the compression by the magic bytes (see [`Compression`]). Parsing is
//! line-level over `BufRead`, written here rather than taken from noodles-fasta /
//! noodles-fastq because the chunker must stream the bases of one record a piece at a
//! time (noodles-fastq reads a record whole and only in the 4-line layout), every error
//! must carry a line number, and both formats must behave alike. noodles is used for
//! what it does well: BGZF decoding, .fai and .gzi.
//!
//! Accepted FASTA: any line length (including unequal lines), CRLF line ends, empty
//! lines anywhere, any letters (case kept). Accepted FASTQ: 4-line records and
//! multi-line records where sequence and quality wrap; quality ends when it has as many
//! characters as the sequence.

use std::io::{self, BufRead, Read};
use std::path::Path;

use memchr::memchr;

use crate::error::{describe_byte, SeqError};
use crate::input::{open_path, open_path_observed, open_reader, Compression, Opened};
use crate::record::{Record, RecordHeader};
use crate::source::SequenceSource;

/// Which text format a [`SeqReader`] parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// FASTA (`>` headers).
    Fasta,
    /// FASTQ (`@` headers, `+` separator, qualities).
    Fastq,
}

/// Where the parser is within the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a line, before a header or the end of input.
    BetweenRecords,
    /// Inside the sequence lines of the current record.
    Sequence,
    /// FASTQ: the `+` line has been consumed, the quality lines follow.
    Quality,
    /// The input is exhausted.
    Eof,
}

/// A streaming FASTA/FASTQ reader over plain, gzip or BGZF input.
///
/// ```no_run
/// use glance_seq::{Record, SeqReader};
/// let mut reader = SeqReader::open("genome.fa.gz")?;
/// let mut record = Record::default();
/// while reader.read_record(&mut record)? {
///     println!("{}\t{}", record.name, record.sequence.len());
/// }
/// # Ok::<(), glance_seq::SeqError>(())
/// ```
pub struct SeqReader {
    inner: Box<dyn BufRead + Send>,
    format: Format,
    compression: Compression,
    /// Lines fully consumed so far; the line being read is `line + 1`.
    line: u64,
    at_line_start: bool,
    state: State,
    /// Records started so far.
    records: u64,
    /// Name of the current record, for error messages.
    name: String,
    /// Bases of the current record read so far.
    seq_len: u64,
    scratch: Vec<u8>,
}

impl SeqReader {
    /// Opens a file, or stdin when `path` is `-`, inflating BGZF on this thread.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SeqError> {
        Self::open_with_threads(path, 1)
    }

    /// Opens a file (or `-` for stdin); with `threads > 1`, BGZF input is inflated by
    /// that many workers and gzip input on one background thread.
    pub fn open_with_threads(path: impl AsRef<Path>, threads: usize) -> Result<Self, SeqError> {
        Self::from_opened(open_path(path.as_ref(), threads)?)
    }

    /// As [`SeqReader::open_with_threads`], telling `on_read` of every batch of bytes
    /// read from the file as stored (compressed bytes for gzip/BGZF), for progress bars
    /// with a known total (the file's size).
    pub fn open_observed(
        path: impl AsRef<Path>,
        threads: usize,
        on_read: impl FnMut(u64) + Send + 'static,
    ) -> Result<Self, SeqError> {
        Self::from_opened(open_path_observed(path.as_ref(), threads, on_read)?)
    }

    /// Reads from any byte stream (plain, gzip or BGZF, detected from its first bytes).
    pub fn from_reader<R: Read + Send + 'static>(reader: R) -> Result<Self, SeqError> {
        Self::from_reader_with_threads(reader, 1)
    }

    /// Reads from any byte stream; with `threads > 1`, BGZF is inflated by that many
    /// workers and gzip on one background thread.
    pub fn from_reader_with_threads<R: Read + Send + 'static>(
        reader: R,
        threads: usize,
    ) -> Result<Self, SeqError> {
        Self::from_opened(open_reader(reader, threads)?)
    }

    fn from_opened(opened: Opened) -> Result<Self, SeqError> {
        let compressed = opened.compression != Compression::None;
        let mut reader = SeqReader {
            inner: opened.reader,
            format: Format::Fasta,
            compression: opened.compression,
            line: 0,
            at_line_start: true,
            state: State::BetweenRecords,
            records: 0,
            name: String::new(),
            seq_len: 0,
            scratch: Vec::new(),
        };
        // Skip leading empty lines and look at the first byte.
        loop {
            let line = reader.line + 1;
            let avail = reader
                .inner
                .fill_buf()
                .map_err(|e| SeqError::io(line, compressed, e))?;
            match avail.first() {
                None => return Err(SeqError::Empty),
                Some(b'\n') => {
                    reader.inner.consume(1);
                    reader.line += 1;
                }
                Some(b'\r') => reader.inner.consume(1),
                Some(b'>') => break,
                Some(b'@') => {
                    reader.format = Format::Fastq;
                    break;
                }
                Some(&b) => {
                    return Err(SeqError::NotSequence {
                        line,
                        found: describe_byte(b),
                    })
                }
            }
        }
        Ok(reader)
    }

    /// The detected text format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The detected compression.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Number of lines consumed so far.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Reads the next record whole into `record` (reusing its buffers). Returns
    /// `Ok(false)` at the end of the input.
    pub fn read_record(&mut self, record: &mut Record) -> Result<bool, SeqError> {
        if !self.read_header(&mut record.name, &mut record.description)? {
            return Ok(false);
        }
        record.offset = 0;
        record.sequence.clear();
        record.quality.clear();
        while self.read_bases(&mut record.sequence, usize::MAX)? > 0 {}
        if self.format == Format::Fastq {
            self.read_quality(Some(&mut record.quality))?;
        }
        Ok(true)
    }

    fn compressed(&self) -> bool {
        self.compression != Compression::None
    }

    fn io_error(&self, e: io::Error) -> SeqError {
        SeqError::io(self.line + 1, self.compressed(), e)
    }

    fn record_error(&self, line: u64, message: String) -> SeqError {
        SeqError::Record {
            record: self.name.clone(),
            line,
            message,
        }
    }

    /// Finishes the current record (if any) and reads the next header line into
    /// `name`/`description`.
    fn read_header(
        &mut self,
        name: &mut String,
        description: &mut String,
    ) -> Result<bool, SeqError> {
        if self.state == State::Sequence {
            let mut sink = std::mem::take(&mut self.scratch);
            loop {
                sink.clear();
                if self.read_bases(&mut sink, BUFFER_STEP)? == 0 {
                    break;
                }
            }
            self.scratch = sink;
        }
        if self.state == State::Quality {
            self.read_quality(None)?;
        }
        if self.state == State::Eof {
            return Ok(false);
        }
        // Skip empty lines, then expect a header.
        loop {
            if !self.read_line_into_scratch()? {
                self.state = State::Eof;
                return Ok(false);
            }
            trim_line_end(&mut self.scratch);
            if !self.scratch.is_empty() {
                break;
            }
        }
        let (marker, kind) = match self.format {
            Format::Fasta => (b'>', "FASTA"),
            Format::Fastq => (b'@', "FASTQ"),
        };
        if self.scratch[0] != marker {
            return Err(SeqError::Format {
                line: self.line,
                message: format!(
                    "expected a {kind} header starting with '{}', found {}",
                    marker as char,
                    describe_byte(self.scratch[0])
                ),
            });
        }
        let text = std::str::from_utf8(&self.scratch[1..]).map_err(|_| SeqError::Format {
            line: self.line,
            message: "header is not valid UTF-8".into(),
        })?;
        let text = text.trim_start();
        let (n, d) = match text.find([' ', '\t']) {
            Some(i) => (&text[..i], text[i..].trim_start()),
            None => (text, ""),
        };
        if n.is_empty() {
            return Err(SeqError::Format {
                line: self.line,
                message: "record header has no name".into(),
            });
        }
        name.clear();
        name.push_str(n);
        description.clear();
        description.push_str(d);
        self.name.clear();
        self.name.push_str(n);
        self.records += 1;
        self.seq_len = 0;
        self.state = State::Sequence;
        self.at_line_start = true;
        Ok(true)
    }

    /// Appends up to `max` bases of the current record to `buf`.
    fn read_bases_impl(&mut self, buf: &mut Vec<u8>, max: usize) -> Result<usize, SeqError> {
        let mut added = 0usize;
        while self.state == State::Sequence && added < max {
            let avail = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io_error(e)),
            };
            if avail.is_empty() {
                if self.format == Format::Fastq {
                    return Err(self.record_error(
                        self.line + 1,
                        "input ends inside the sequence: missing '+' line and qualities".into(),
                    ));
                }
                self.state = State::Eof;
                break;
            }
            if self.at_line_start {
                match (avail[0], self.format) {
                    (b'>', Format::Fasta) => {
                        self.state = State::BetweenRecords;
                        break;
                    }
                    (b'+', Format::Fastq) => {
                        self.skip_line()?;
                        self.state = State::Quality;
                        break;
                    }
                    _ => {}
                }
            }
            let room = max - added;
            let (take, consumed, line_done) = match memchr(b'\n', avail) {
                Some(i) if i <= room => (i, i + 1, true),
                _ => {
                    let t = avail.len().min(room);
                    (t, t, false)
                }
            };
            let mut seg = &avail[..take];
            if let [head @ .., b'\r'] = seg {
                seg = head;
            }
            if let Some((_, message)) = binary_byte(seg) {
                return Err(self.record_error(self.line + 1, message));
            }
            buf.extend_from_slice(seg);
            added += seg.len();
            self.inner.consume(consumed);
            if line_done {
                self.line += 1;
                self.at_line_start = true;
            } else if consumed > 0 {
                self.at_line_start = false;
            }
        }
        self.seq_len += added as u64;
        Ok(added)
    }

    /// Consumes the rest of the current line.
    fn skip_line(&mut self) -> Result<(), SeqError> {
        self.read_line_into_scratch()?;
        self.at_line_start = true;
        Ok(())
    }

    /// Reads the next line (with its line end) into `scratch`, counting it; `false` at
    /// the end of the input. Only header, `+` and blank lines are read this way, so a
    /// line longer than [`MAX_HEADER_LINE`] bytes is an error rather than an allocation
    /// of its whole length.
    fn read_line_into_scratch(&mut self) -> Result<bool, SeqError> {
        self.scratch.clear();
        loop {
            let avail = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io_error(e)),
            };
            if avail.is_empty() {
                break;
            }
            let (take, done) = match memchr(b'\n', avail) {
                Some(i) => (i + 1, true),
                None => (avail.len(), false),
            };
            if self.scratch.len() + take > MAX_HEADER_LINE + 2 {
                return Err(SeqError::Format {
                    line: self.line + 1,
                    message: format!(
                        "line longer than {MAX_HEADER_LINE} bytes (header and '+' lines are \
                         limited; sequence and quality lines are not)"
                    ),
                });
            }
            self.scratch.extend_from_slice(&avail[..take]);
            self.inner.consume(take);
            if done {
                break;
            }
        }
        if !self.scratch.is_empty() {
            self.line += 1;
        }
        Ok(!self.scratch.is_empty())
    }

    /// Reads the quality lines of the current FASTQ record, checking that there are as
    /// many quality characters as bases; appends them to `dest` when given. Lines are
    /// read in buffer-sized pieces, so a quality line of any length takes no more memory
    /// than `dest` needs.
    fn read_quality(&mut self, mut dest: Option<&mut Vec<u8>>) -> Result<(), SeqError> {
        let mut count = 0u64;
        while count < self.seq_len {
            let before = count;
            let Some(len) = self.quality_line(dest.as_deref_mut(), self.seq_len - before)? else {
                return Err(self.record_error(
                    self.line,
                    format!(
                        "quality length {count} differs from sequence length {} (input ends)",
                        self.seq_len
                    ),
                ));
            };
            count += len;
            if count > self.seq_len {
                // A line that overshoots after a short quality line is most likely the
                // next record's header: blame the quality read so far.
                let (len, line) = if before > 0 {
                    (before, self.line - 1)
                } else {
                    (count, self.line)
                };
                return Err(self.record_error(
                    line,
                    format!(
                        "quality length {len} differs from sequence length {}",
                        self.seq_len
                    ),
                ));
            }
        }
        self.state = State::BetweenRecords;
        self.at_line_start = true;
        Ok(())
    }

    /// Reads one quality line in pieces, appending at most `room + 1` characters to
    /// `dest` (the rest of an over-long line is only counted). Returns the line's length
    /// without its line end, or `None` at the end of the input.
    fn quality_line(
        &mut self,
        mut dest: Option<&mut Vec<u8>>,
        room: u64,
    ) -> Result<Option<u64>, SeqError> {
        let mut len = 0u64;
        let mut last_cr = false;
        let mut any = false;
        loop {
            let avail = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io_error(e)),
            };
            if avail.is_empty() {
                break;
            }
            any = true;
            let (take, consumed) = match memchr(b'\n', avail) {
                Some(i) => (i, i + 1),
                None => (avail.len(), avail.len()),
            };
            let seg = &avail[..take];
            if let Some(d) = dest.as_deref_mut() {
                let keep = (room + 1).saturating_sub(len).min(seg.len() as u64) as usize;
                d.extend_from_slice(&seg[..keep]);
            }
            if let Some(&b) = seg.last() {
                last_cr = b == b'\r';
            }
            len += seg.len() as u64;
            self.inner.consume(consumed);
            if consumed > take {
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        self.line += 1;
        if last_cr {
            len -= 1;
            if let Some(d) = dest {
                if d.last() == Some(&b'\r') {
                    d.pop();
                }
            }
        }
        Ok(Some(len))
    }
}

/// The longest header, `+` or blank line accepted, in bytes (line end excluded): 1 MiB.
/// Sequence and quality lines are read in pieces and have no limit.
pub const MAX_HEADER_LINE: usize = 1 << 20;

/// How many bases are skipped per step when the rest of a record is discarded.
const BUFFER_STEP: usize = 1 << 16;

/// The first byte of the sequence-line piece `seg` that cannot be a base, with its
/// index in `seg` and the message naming it. Sequence lines hold printable ASCII
/// (letters of every alphabet, `*` and `-` of alignments); control bytes and bytes over
/// 0x7e are binary data, not bases. Every reader of sequence lines (streaming and
/// indexed) checks them here.
pub(crate) fn binary_byte(seg: &[u8]) -> Option<(usize, String)> {
    let i = seg.iter().position(|b| !(0x20..0x7f).contains(b))?;
    Some((
        i,
        format!(
            "byte 0x{:02x} in a sequence line: sequences hold printable letters only (is \
             this a binary file?)",
            seg[i]
        ),
    ))
}

/// Removes a trailing `\n` or `\r\n`.
fn trim_line_end(line: &mut Vec<u8>) {
    if line.last() == Some(&b'\n') {
        line.pop();
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
}

impl SequenceSource for SeqReader {
    fn next_record(&mut self, header: &mut RecordHeader) -> Result<bool, SeqError> {
        if !self.read_header(&mut header.name, &mut header.description)? {
            return Ok(false);
        }
        header.index = self.records - 1;
        header.offset = 0;
        header.length = None;
        Ok(true)
    }

    fn read_bases(&mut self, buf: &mut Vec<u8>, max: usize) -> Result<usize, SeqError> {
        self.read_bases_impl(buf, max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(text: &'static [u8]) -> Result<Vec<Record>, SeqError> {
        let mut reader = SeqReader::from_reader(text)?;
        let mut out = Vec::new();
        let mut rec = Record::default();
        while reader.read_record(&mut rec)? {
            out.push(rec.clone());
        }
        Ok(out)
    }

    #[test]
    fn fasta_multiline_crlf_empty_lines() {
        let recs = read_all(b"\n>a desc here\r\nACGT\r\n\r\nac\r\n>b\n>c\tx y\nNNRY\nA").unwrap();
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[0].name, "a");
        assert_eq!(recs[0].description, "desc here");
        assert_eq!(recs[0].sequence, b"ACGTac");
        assert_eq!(recs[1].name, "b");
        assert!(recs[1].sequence.is_empty());
        assert_eq!(recs[2].description, "x y");
        assert_eq!(recs[2].sequence, b"NNRYA");
        assert!(recs[2].quality.is_empty());
    }

    #[test]
    fn fastq_four_line_and_multiline() {
        let recs =
            read_all(b"@r1 x\nACGT\n+\nIIII\n@r2\nAC\nGT\n+r2\n@@\nII\n@r3\n\n+\n\n").unwrap();
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[0].sequence, b"ACGT");
        assert_eq!(recs[0].quality, b"IIII");
        assert_eq!(recs[1].sequence, b"ACGT");
        assert_eq!(recs[1].quality, b"@@II");
        assert_eq!(recs[2].name, "r3");
        assert!(recs[2].sequence.is_empty());
    }

    #[test]
    fn fastq_quality_mismatch_is_an_error() {
        let err = read_all(b"@r1\nACGT\n+\nIII\n@r2\nA\n+\nI\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "record 'r1' (line 4): quality length 3 differs from sequence length 4"
        );
        let err = read_all(b"@r1\nACGT\n+\nII\n").unwrap_err();
        assert!(err.to_string().contains("quality length 2"), "{err}");
    }

    #[test]
    fn bad_starts() {
        assert!(matches!(read_all(b""), Err(SeqError::Empty)));
        assert!(matches!(read_all(b"\n\n"), Err(SeqError::Empty)));
        let err = read_all(b"ACGT\n>a\nAC\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 1: missing record header: expected '>' (FASTA) or '@' (FASTQ), found 'A'"
        );
        let err = read_all(b"\x00\x01\x02").unwrap_err();
        assert!(err.to_string().contains("0x00"), "{err}");
        let err = read_all(b">\nACGT\n").unwrap_err();
        assert_eq!(err.to_string(), "line 1: record header has no name");
    }

    #[test]
    fn binary_bytes_in_sequence_lines_are_errors_naming_the_line() {
        for (text, line) in [
            (&b">a\nACGT\nAC\x00GT\n"[..], 3),
            (&b">a\nACGT\n>b\nA\x01C\n"[..], 4),
            (&b">a\nAC\xffGT\n"[..], 2),
            (&b"@r\nAC\x00G\n+\nIIII\n"[..], 2),
        ] {
            let err = read_all(text).unwrap_err().to_string();
            assert!(err.contains(&format!("line {line}")), "{err}");
            assert!(err.contains("byte 0x"), "{err}");
        }
        // spaces, gaps and IUPAC letters are not binary
        let recs = read_all(b">a\nAC-GT *NRY\n").unwrap();
        assert_eq!(recs[0].sequence, b"AC-GT *NRY");
    }

    #[test]
    fn streams_bases_in_pieces() {
        let mut reader = SeqReader::from_reader(&b">a\nACGTA\nCG\n>b\nTT\n"[..]).unwrap();
        let mut h = RecordHeader::default();
        assert!(reader.next_record(&mut h).unwrap());
        let mut buf = Vec::new();
        assert_eq!(reader.read_bases(&mut buf, 3).unwrap(), 3);
        assert_eq!(reader.read_bases(&mut buf, 3).unwrap(), 3);
        assert_eq!(reader.read_bases(&mut buf, 3).unwrap(), 1);
        assert_eq!(reader.read_bases(&mut buf, 3).unwrap(), 0);
        assert_eq!(buf, b"ACGTACG");
        assert!(reader.next_record(&mut h).unwrap());
        assert_eq!((h.name.as_str(), h.index), ("b", 1));
        assert!(!reader.next_record(&mut h).unwrap());
    }
}
