//! Indexed FASTA access: .fai (read, or built in memory when absent) and, for bgzipped
//! FASTA, .gzi (read through noodles-bgzf, or built by walking the BGZF block headers),
//! so that regions are read by seeking rather than by streaming the whole file.
//!
//! .fai offsets are byte offsets in the uncompressed text (as samtools writes them for
//! bgzipped files too); the .gzi maps them to compressed blocks.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use memchr::{memchr, memchr2};

use crate::error::SeqError;
use crate::input::{Compression, BUFFER_SIZE};
use crate::reader::{binary_byte, MAX_HEADER_LINE};
use crate::record::{Record, RecordHeader};
use crate::region::Region;
use crate::source::SequenceSource;

/// One line of a .fai index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaiEntry {
    /// Sequence name.
    pub name: String,
    /// Number of bases.
    pub length: u64,
    /// Byte offset (uncompressed) of the first base.
    pub offset: u64,
    /// Bases per full line (0 for an empty sequence).
    pub line_bases: u64,
    /// Bytes per full line, line end included.
    pub line_width: u64,
}

impl FaiEntry {
    /// Byte offset (uncompressed) of the base at 0-based position `pos`.
    pub fn byte_offset(&self, pos: u64) -> u64 {
        if self.line_bases == 0 {
            return self.offset;
        }
        (pos / self.line_bases)
            .saturating_mul(self.line_width)
            .saturating_add(pos % self.line_bases)
            .saturating_add(self.offset)
    }

    /// Byte offset (uncompressed) just past the last base, or `None` if it does not fit
    /// in 64 bits (an absurd .fai).
    pub fn end_offset(&self) -> Option<u64> {
        if self.line_bases == 0 || self.length == 0 {
            return Some(self.offset);
        }
        let last = self.length - 1;
        (last / self.line_bases)
            .checked_mul(self.line_width)?
            .checked_add(last % self.line_bases)?
            .checked_add(self.offset)?
            .checked_add(1)
    }
}

/// Reads a .fai (5 tab-separated columns: name, length, offset, line bases, line width).
pub fn read_fai<R: BufRead>(reader: R) -> Result<Vec<FaiEntry>, SeqError> {
    let mut entries = Vec::new();
    for (i, line) in crate::lines::limited_lines(reader).enumerate() {
        let line_no = i as u64 + 1;
        let line = line.map_err(|e| SeqError::io(line_no, false, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let bad =
            |what: &str| SeqError::Index(format!("line {line_no}: invalid .fai line: {what}"));
        let f: Vec<&str> = line.trim_end_matches('\r').split('\t').collect();
        if f.len() < 5 {
            return Err(bad("expected 5 tab-separated columns"));
        }
        let num = |s: &str, what: &str| {
            s.parse::<u64>()
                .map_err(|_| bad(&format!("{what} '{s}' is not a number")))
        };
        let entry = FaiEntry {
            name: f[0].to_string(),
            length: num(f[1], "length")?,
            offset: num(f[2], "offset")?,
            line_bases: num(f[3], "line bases")?,
            line_width: num(f[4], "line width")?,
        };
        if entry.length > 0 && (entry.line_bases == 0 || entry.line_width < entry.line_bases) {
            return Err(bad(
                "line bases must be at least 1 and at most the line width",
            ));
        }
        if entry.end_offset().is_none() {
            return Err(bad(&format!(
                "length {} at offset {} ends beyond 2^64 bytes",
                entry.length, entry.offset
            )));
        }
        entries.push(entry);
    }
    Ok(entries)
}

/// Writes a .fai.
pub fn write_fai<W: Write>(mut w: W, entries: &[FaiEntry]) -> io::Result<()> {
    for e in entries {
        writeln!(
            w,
            "{}\t{}\t{}\t{}\t{}",
            e.name, e.length, e.offset, e.line_bases, e.line_width
        )?;
    }
    Ok(())
}

/// Builds the .fai of uncompressed FASTA text. Every line of a record but the last must
/// have the same length (as samtools requires); empty lines may only end a record.
pub fn build_fai<R: BufRead>(mut reader: R) -> Result<Vec<FaiEntry>, SeqError> {
    struct Open {
        entry: FaiEntry,
        header_line: u64,
        ended: bool,
    }
    let mut entries = Vec::new();
    let mut cur: Option<Open> = None;
    let mut pos = 0u64;
    let mut line_no = 0u64;
    let mut header = Vec::new();
    while let Some((width, content_len)) = measure_line(&mut reader, &mut header, line_no + 1)? {
        line_no += 1;
        let content = &header[..];
        if content.first() == Some(&b'>') {
            if let Some(open) = cur.take() {
                entries.push(open.entry);
            }
            let text = String::from_utf8_lossy(&content[1..]);
            let name = text.split_whitespace().next().unwrap_or("").to_string();
            if name.is_empty() {
                return Err(SeqError::Format {
                    line: line_no,
                    message: "record header has no name".into(),
                });
            }
            cur = Some(Open {
                entry: FaiEntry {
                    name,
                    length: 0,
                    offset: pos + width,
                    line_bases: 0,
                    line_width: 0,
                },
                header_line: line_no,
                ended: false,
            });
        } else if let Some(open) = cur.as_mut() {
            let n = content_len;
            let e = &mut open.entry;
            if n == 0 {
                open.ended = e.length > 0 || open.ended;
                if e.length == 0 {
                    // Empty lines before any base: the first base is further on.
                    e.offset = pos + width;
                }
            } else if open.ended {
                return Err(SeqError::Record {
                    record: e.name.clone(),
                    line: line_no,
                    message: format!(
                        "lines of unequal length (or an empty line inside the sequence, record starts at line {}); cannot index: rewrap it, e.g. with `samtools faidx` after `seqkit seq -w 60`",
                        open.header_line
                    ),
                });
            } else {
                if e.line_bases == 0 {
                    e.line_bases = n;
                    e.line_width = width;
                } else if n > e.line_bases {
                    open.ended = true;
                    return Err(SeqError::Record {
                        record: e.name.clone(),
                        line: line_no,
                        message: format!(
                            "line has {n} bases, earlier lines {}; cannot index lines of unequal length",
                            e.line_bases
                        ),
                    });
                }
                if n < e.line_bases || width != e.line_width {
                    open.ended = true;
                }
                e.length += n;
            }
        } else if content_len > 0 {
            return Err(SeqError::Format {
                line: line_no,
                message: "expected a FASTA header starting with '>'; indexed access needs FASTA"
                    .into(),
            });
        }
        pos += width;
    }
    if let Some(open) = cur {
        entries.push(open.entry);
    }
    if entries.is_empty() {
        return Err(SeqError::Empty);
    }
    Ok(entries)
}

/// Reads the next line of `reader` in buffer-sized pieces, so that a sequence line of
/// any length costs no memory: returns its width in bytes (line end included) and its
/// length without the line end, or `None` at the end of the input. A line starting with
/// `>` is copied into `header` (line end excluded; at most [`MAX_HEADER_LINE`] bytes,
/// `line_no` names it otherwise); `header` is left empty for any other line.
fn measure_line<R: BufRead>(
    reader: &mut R,
    header: &mut Vec<u8>,
    line_no: u64,
) -> Result<Option<(u64, u64)>, SeqError> {
    header.clear();
    let mut width = 0u64;
    let mut is_header = None;
    let mut last_cr = false;
    let mut newline = false;
    loop {
        let avail = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(SeqError::io(line_no, false, e)),
        };
        let Some(&first) = avail.first() else {
            break;
        };
        let is_header = *is_header.get_or_insert(width == 0 && first == b'>');
        let (take, consumed) = match memchr(b'\n', avail) {
            Some(i) => (i, i + 1),
            None => (avail.len(), avail.len()),
        };
        let seg = &avail[..take];
        if is_header {
            if header.len() + seg.len() > MAX_HEADER_LINE + 1 {
                return Err(SeqError::Format {
                    line: line_no,
                    message: format!("header line longer than {MAX_HEADER_LINE} bytes"),
                });
            }
            header.extend_from_slice(seg);
        }
        if let Some(&b) = seg.last() {
            last_cr = b == b'\r';
        }
        width += consumed as u64;
        newline = consumed > take;
        reader.consume(consumed);
        if newline {
            break;
        }
    }
    if width == 0 {
        return Ok(None);
    }
    let mut content = width - u64::from(newline);
    if last_cr {
        content -= 1;
        if header.last() == Some(&b'\r') {
            header.pop();
        }
    }
    Ok(Some((width, content)))
}

/// Builds the .gzi of a BGZF file by walking its block headers: one entry
/// (compressed offset, uncompressed offset) for every non-empty block after the first.
pub fn build_gzi<R: Read + Seek>(mut reader: R) -> Result<noodles_bgzf::gzi::Index, SeqError> {
    let corrupt = |what: String| SeqError::Index(format!("cannot index BGZF: {what}"));
    let mut entries = Vec::new();
    let mut compressed = 0u64;
    let mut uncompressed = 0u64;
    let mut header = [0u8; 18];
    loop {
        reader
            .seek(SeekFrom::Start(compressed))
            .map_err(|e| corrupt(e.to_string()))?;
        let n = read_full(&mut reader, &mut header).map_err(|e| corrupt(e.to_string()))?;
        if n == 0 {
            break;
        }
        if n < header.len() || crate::input::Compression::detect(&header) != Compression::Bgzf {
            return Err(corrupt(format!(
                "no BGZF block header at compressed offset {compressed} (truncated or not BGZF)"
            )));
        }
        let block_size = u16::from_le_bytes([header[16], header[17]]) as u64 + 1;
        if block_size < 26 {
            return Err(corrupt(format!(
                "block at compressed offset {compressed} claims {block_size} bytes, less than a header and footer"
            )));
        }
        reader
            .seek(SeekFrom::Start(compressed + block_size - 4))
            .map_err(|e| corrupt(e.to_string()))?;
        let mut isize = [0u8; 4];
        if read_full(&mut reader, &mut isize).map_err(|e| corrupt(e.to_string()))? < 4 {
            return Err(corrupt(format!(
                "block at compressed offset {compressed} is truncated"
            )));
        }
        let size = u32::from_le_bytes(isize) as u64;
        if compressed > 0 && size > 0 {
            entries.push((compressed, uncompressed));
        }
        uncompressed += size;
        compressed += block_size;
    }
    Ok(noodles_bgzf::gzi::Index::from(entries))
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full<R: Read>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(m) => n += m,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// A seekable decompressed stream.
trait SeekBufRead: BufRead + Seek + Send {}
impl<T: BufRead + Seek + Send> SeekBufRead for T {}

/// A FASTA file (plain or BGZF) opened for random access by region.
pub struct IndexedFasta {
    reader: Box<dyn SeekBufRead>,
    compression: Compression,
    entries: Vec<FaiEntry>,
    by_name: HashMap<String, usize>,
    /// The 0-based position, in its sequence, of the next base read.
    pos: u64,
}

/// `path` with `ext` appended (`genome.fa.gz` -> `genome.fa.gz.fai`).
fn sibling(path: &Path, ext: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(ext);
    PathBuf::from(s)
}

impl IndexedFasta {
    /// Opens a plain or bgzipped FASTA. Reads `PATH.fai` (and `PATH.gzi` for BGZF) when
    /// present, else builds them in memory (nothing is written beside the input).
    pub fn open(path: impl AsRef<Path>) -> Result<IndexedFasta, SeqError> {
        let path = path.as_ref();
        if path.as_os_str() == "-" {
            return Err(SeqError::Index(
                "regions need a seekable file, not stdin".into(),
            ));
        }
        let meta = std::fs::metadata(path).map_err(SeqError::Open)?;
        if meta.is_dir() {
            return Err(SeqError::IsDirectory);
        }
        let mut file = File::open(path).map_err(SeqError::Open)?;
        let mut magic = [0u8; 18];
        let n = read_full(&mut file, &mut magic).map_err(|e| SeqError::io(1, false, e))?;
        if n == 0 {
            return Err(SeqError::Empty);
        }
        let compression = Compression::detect(&magic[..n]);
        file.seek(SeekFrom::Start(0))
            .map_err(|e| SeqError::io(1, false, e))?;
        let mut reader: Box<dyn SeekBufRead> = match compression {
            Compression::None => Box::new(BufReader::with_capacity(BUFFER_SIZE, file)),
            Compression::Gzip => {
                return Err(SeqError::Index(
                    "gzip input that is not BGZF cannot be indexed; recompress it with bgzip"
                        .into(),
                ))
            }
            Compression::Bgzf => {
                let gzi_path = sibling(path, ".gzi");
                let gzi = if gzi_path.exists() {
                    noodles_bgzf::gzi::fs::read(&gzi_path).map_err(|e| {
                        SeqError::Index(format!("{}: cannot read: {e}", gzi_path.display()))
                    })?
                } else {
                    build_gzi(BufReader::new(File::open(path).map_err(SeqError::Open)?))?
                };
                Box::new(noodles_bgzf::io::IndexedReader::new(file, gzi))
            }
        };
        let fai_path = sibling(path, ".fai");
        let entries = if fai_path.exists() {
            let f = File::open(&fai_path).map_err(SeqError::Open)?;
            read_fai(BufReader::new(f))
                .map_err(|e| SeqError::Index(format!("{}: {e}", fai_path.display())))?
        } else {
            let entries = build_fai(&mut reader).map_err(|e| match e {
                SeqError::Io { line, error, .. } => {
                    SeqError::io(line, compression != Compression::None, error)
                }
                other => other,
            })?;
            reader
                .seek(SeekFrom::Start(0))
                .map_err(|e| SeqError::io(1, false, e))?;
            entries
        };
        if compression == Compression::None {
            let size = meta.len();
            if let Some(e) = entries
                .iter()
                .find(|e| e.end_offset().is_none_or(|end| end > size))
            {
                return Err(SeqError::Index(format!(
                    "{}: sequence '{}' ({} bases at byte {}) ends beyond the file's {size} bytes; is the .fai stale?",
                    fai_path.display(),
                    e.name,
                    e.length,
                    e.offset
                )));
            }
        }
        let by_name = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.name.clone(), i))
            .collect();
        Ok(IndexedFasta {
            reader,
            compression,
            entries,
            by_name,
            pos: 0,
        })
    }

    /// The index entries, in file order.
    pub fn entries(&self) -> &[FaiEntry] {
        &self.entries
    }

    /// The compression of the file.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// The index entry of a sequence.
    pub fn entry(&self, name: &str) -> Result<&FaiEntry, SeqError> {
        self.by_name
            .get(name)
            .map(|&i| &self.entries[i])
            .ok_or_else(|| SeqError::UnknownSequence {
                name: name.to_string(),
            })
    }

    /// Checks a region against the index and returns its resolved `[start, end)`.
    pub fn resolve(&self, region: &Region) -> Result<(u64, u64), SeqError> {
        region.resolve(self.entry(&region.name)?.length)
    }

    /// Reads the bases of `region` into `record` (name, offset = region start).
    pub fn fetch(&mut self, region: &Region, record: &mut Record) -> Result<(), SeqError> {
        let (start, end) = self.resolve(region)?;
        self.seek_to(&region.name, start)?;
        record.name.clone_from(&region.name);
        record.description.clear();
        record.sequence.clear();
        record.quality.clear();
        record.offset = start;
        let mut left = end - start;
        while left > 0 {
            let n = self.read_region_bases(&region.name, &mut record.sequence, left as usize)?;
            left -= n as u64;
        }
        Ok(())
    }

    /// Streams the given regions, in the given order, as a [`SequenceSource`]. Every
    /// region is checked first, so an unknown name or a range past a sequence end fails
    /// here, before any base is read.
    pub fn regions(self, regions: Vec<Region>) -> Result<RegionReader, SeqError> {
        let mut resolved = Vec::with_capacity(regions.len());
        for r in regions {
            let (s, e) = self.resolve(&r)?;
            resolved.push((r.name, s, e));
        }
        Ok(RegionReader {
            fasta: self,
            regions: resolved,
            next: 0,
            left: 0,
            name: String::new(),
        })
    }

    fn seek_to(&mut self, name: &str, pos: u64) -> Result<(), SeqError> {
        let offset = self.entry(name)?.byte_offset(pos);
        self.reader
            .seek(SeekFrom::Start(offset))
            .map_err(|e| SeqError::Index(format!("cannot seek to '{name}' position {pos}: {e}")))?;
        self.pos = pos;
        Ok(())
    }

    /// The 1-based line of the file holding base `pos` of sequence `name`, counted from
    /// the start of the (uncompressed) text, as the streaming reader numbers lines. Only
    /// errors ask for it: it reads the file up to that base.
    fn line_of(&mut self, name: &str, pos: u64) -> Result<u64, SeqError> {
        let offset = self.entry(name)?.byte_offset(pos);
        let compressed = self.compression != Compression::None;
        self.reader
            .seek(SeekFrom::Start(0))
            .map_err(|e| SeqError::io(1, compressed, e))?;
        let (mut line, mut left) = (1u64, offset);
        while left > 0 {
            let avail = self
                .reader
                .fill_buf()
                .map_err(|e| SeqError::io(line, compressed, e))?;
            if avail.is_empty() {
                break;
            }
            let n = avail.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            line += memchr::memchr_iter(b'\n', &avail[..n]).count() as u64;
            self.reader.consume(n);
            left -= n as u64;
        }
        Ok(line)
    }

    /// Appends up to `max` (>0) bases at the current position to `buf`, skipping line
    /// ends; fails if the file ends or a header appears (a stale index).
    fn read_region_bases(
        &mut self,
        name: &str,
        buf: &mut Vec<u8>,
        max: usize,
    ) -> Result<usize, SeqError> {
        let compressed = self.compression != Compression::None;
        let mut added = 0;
        while added < max {
            let avail = self.reader.fill_buf().map_err(|e| {
                SeqError::Index(format!(
                    "sequence '{name}': {}",
                    SeqError::io(0, compressed, e)
                ))
            })?;
            if avail.is_empty() {
                return Err(SeqError::Index(format!(
                    "sequence '{name}': the file ends before the region does; is the .fai stale?"
                )));
            }
            let mut used = 0;
            let mut binary = None;
            while used < avail.len() && added < max {
                let rest = &avail[used..];
                match memchr2(b'\n', b'\r', rest) {
                    Some(0) => used += 1,
                    found => {
                        let line_end = found.unwrap_or(rest.len());
                        let take = line_end.min(max - added);
                        let seg = &rest[..take];
                        if seg.contains(&b'>') {
                            return Err(SeqError::Index(format!(
                                "sequence '{name}': met a '>' header inside the region; is the .fai stale?"
                            )));
                        }
                        if let Some((i, message)) = binary_byte(seg) {
                            binary = Some((self.pos + i as u64, message));
                            break;
                        }
                        buf.extend_from_slice(seg);
                        added += take;
                        used += take;
                        self.pos += take as u64;
                    }
                }
            }
            if let Some((pos, message)) = binary {
                return Err(SeqError::Record {
                    record: name.to_string(),
                    line: self.line_of(name, pos)?,
                    message,
                });
            }
            self.reader.consume(used);
        }
        Ok(added)
    }
}

/// Regions of an [`IndexedFasta`] streamed as a [`SequenceSource`]: each region is a
/// record named after its sequence, with `offset` = region start and a known length.
pub struct RegionReader {
    fasta: IndexedFasta,
    regions: Vec<(String, u64, u64)>,
    next: usize,
    left: u64,
    name: String,
}

impl RegionReader {
    /// The underlying indexed file.
    pub fn fasta(&self) -> &IndexedFasta {
        &self.fasta
    }
}

impl SequenceSource for RegionReader {
    fn next_record(&mut self, header: &mut RecordHeader) -> Result<bool, SeqError> {
        let Some((name, start, end)) = self.regions.get(self.next) else {
            return Ok(false);
        };
        self.fasta.seek_to(name, *start)?;
        header.name.clone_from(name);
        header.description.clear();
        header.index = self.next as u64;
        header.offset = *start;
        header.length = Some(end - start);
        self.left = end - start;
        self.name.clone_from(name);
        self.next += 1;
        Ok(true)
    }

    fn read_bases(&mut self, buf: &mut Vec<u8>, max: usize) -> Result<usize, SeqError> {
        let take = (max as u64).min(self.left) as usize;
        if take == 0 {
            return Ok(0);
        }
        let n = self.fasta.read_region_bases(&self.name, buf, take)?;
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_fai_like_samtools() {
        let text = b">a x\nACGT\nACGT\nAC\n>b\r\nAAA\r\nA\r\n\n>c\n>d\nGG\n";
        let fai = build_fai(&text[..]).unwrap();
        let mut out = Vec::new();
        write_fai(&mut out, &fai).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a\t10\t5\t4\t5\nb\t4\t22\t3\t5\nc\t0\t34\t0\t0\nd\t2\t37\t2\t3\n"
        );
        assert_eq!(
            read_fai(&b"a\t10\t5\t4\t5\n"[..]).unwrap(),
            fai[..1].to_vec()
        );
        assert_eq!(fai[0].byte_offset(5), 5 + 5 + 1);
    }

    #[test]
    fn binary_bytes_in_a_region_are_errors_naming_the_line() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let text = b">a\nACGT\nACGT\n\n>b desc\nACGT\nA\x00GT\nAC\x1bT\n";
        let plain = dir.path().join("bin.fa");
        std::fs::write(&plain, text).unwrap();
        // the same text bgzipped (one BGZF block and the EOF block)
        let bgzf = dir.path().join("bin.fa.gz");
        let mut w = noodles_bgzf::io::Writer::new(File::create(&bgzf).unwrap());
        w.write_all(text).unwrap();
        w.finish().unwrap();
        for path in [&plain, &bgzf] {
            let mut fasta = IndexedFasta::open(path).unwrap();
            let mut record = Record::default();
            // bases before the bad line read as usual
            fasta.fetch(&Region::new("b", 0, 5), &mut record).unwrap();
            assert_eq!(record.sequence, b"ACGTA");
            let err = fasta
                .fetch(&Region::new("b", 2, 8), &mut record)
                .unwrap_err()
                .to_string();
            assert_eq!(
                err,
                "record 'b' (line 7): byte 0x00 in a sequence line: sequences hold printable \
                 letters only (is this a binary file?)"
            );
            let err = fasta
                .fetch(&Region::new("b", 8, 12), &mut record)
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("record 'b' (line 8): byte 0x1b"), "{err}");
            // and through the region reader
            let mut source = IndexedFasta::open(path)
                .unwrap()
                .regions(vec![Region::new("b", 0, 12)])
                .unwrap();
            let mut header = RecordHeader::default();
            assert!(source.next_record(&mut header).unwrap());
            let err = source.read_bases(&mut Vec::new(), 100).unwrap_err();
            assert!(err.to_string().contains("(line 7)"), "{err}");
        }
    }

    #[test]
    fn rejects_unequal_lines() {
        let err = build_fai(&b">a\nACG\nACGT\n"[..]).unwrap_err();
        assert!(err.to_string().contains("record 'a' (line 3)"), "{err}");
        let err = build_fai(&b">a\nACGT\nAC\nACGT\n"[..]).unwrap_err();
        assert!(err.to_string().contains("line 4"), "{err}");
        let err = build_fai(&b">a\nACGT\n\nACGT\n"[..]).unwrap_err();
        assert!(err.to_string().contains("line 4"), "{err}");
    }
}
