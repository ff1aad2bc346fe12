//! VCF and BCF through noodles: [`VcfReader`] reads VCF (plain, gzip or BGZF) or BCF
//! (told apart by their first bytes, not their names), naming the line (BCF: the record)
//! of every error; [`VcfWriter`] writes the records back as bgzipped VCF with glance's
//! INFO fields declared in the header, and a tabix index when the records are sorted.
//! [`VcfReader::query`] (module `query`) reads only the records overlapping regions.

mod query;

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;
use std::rc::Rc;

use glance_io::AtomicFile;
use noodles_bgzf as bgzf;
use noodles_core::Position;
use noodles_csi::binning_index::index::reference_sequence::bin::Chunk;
use noodles_vcf::header::record::value::map::info::{Number, Type};
use noodles_vcf::header::record::value::map::Info;
use noodles_vcf::header::record::value::Map;
use noodles_vcf::variant::io::Write as _;
use noodles_vcf::variant::RecordBuf;
use noodles_vcf::Header;

use crate::error::VariantError;

/// A byte stream that counts the newlines consumed through it (the VCF line numbers).
struct LineCounting<R> {
    inner: R,
    lines: Rc<Cell<u64>>,
}

impl<R: Read> Read for LineCounting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.lines
            .set(self.lines.get() + buf[..n].iter().filter(|&&b| b == b'\n').count() as u64);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for LineCounting<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        if let Ok(buf) = self.inner.fill_buf() {
            let seen = buf[..amt.min(buf.len())]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            self.lines.set(self.lines.get() + seen as u64);
        }
        self.inner.consume(amt);
    }
}

type Stream = LineCounting<Box<dyn BufRead>>;

enum Format {
    Text(noodles_vcf::io::Reader<Stream>),
    /// The stream after the header, and the bytes of the record being decoded.
    Binary(Box<dyn BufRead>, Vec<u8>),
}

/// How errors name a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Numbering {
    /// VCF: its line; BCF: its number.
    Lines,
    /// Its number among the records read (a region query, which skips lines).
    Records,
}

/// Records of a VCF or BCF file (see the module docs).
pub struct VcfReader {
    format: Format,
    header: Header,
    lines: Rc<Cell<u64>>,
    records: u64,
    /// Only records overlapping these are returned (`None`: all).
    regions: Option<Vec<glance_seq::Region>>,
    numbering: Numbering,
}

fn vcf_err(message: impl Into<String>) -> VariantError {
    VariantError::Vcf(message.into())
}

/// How a VCF starts.
const VCF_MAGIC: &[u8] = b"##fileformat=VCF";

/// The first `n` bytes of `reader` (fewer only at its end), and a reader that yields them
/// again followed by the rest: a pipe may deliver fewer bytes than that per read.
fn peek(mut reader: Box<dyn Read>, n: u64) -> io::Result<(Vec<u8>, Box<dyn BufRead>)> {
    let mut head = Vec::new();
    (&mut reader).take(n).read_to_end(&mut head)?;
    let again = io::Cursor::new(head.clone()).chain(reader);
    Ok((head, Box::new(BufReader::new(again))))
}

/// Reads one BCF record (its two lengths and the bytes they announce) into `buf`;
/// `false` at the end of the stream. The buffer grows with the bytes actually read, so
/// a length field claiming gigabytes in a short file costs nothing (noodles-bcf would
/// allocate it first).
fn read_bcf_record(stream: &mut dyn BufRead, buf: &mut Vec<u8>) -> io::Result<bool> {
    buf.clear();
    stream.take(8).read_to_end(buf)?;
    match buf.len() {
        0 => return Ok(false),
        8 => {}
        n => {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the file ends {n} bytes into the record's lengths"),
            ))
        }
    }
    let word = |i: usize| {
        u64::from(u32::from_le_bytes([
            buf[i],
            buf[i + 1],
            buf[i + 2],
            buf[i + 3],
        ]))
    };
    let len = word(0) + word(4);
    let got = stream.take(len).read_to_end(buf)? as u64;
    if got < len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("the record declares {len} bytes, the file ends after {got}"),
        ));
    }
    Ok(true)
}

/// Reads a BCF header (magic, text length, text) and checks its `IDX=` values: noodles
/// sizes its dictionaries by the largest, so one `IDX=10400000000000000` in a few bytes
/// would make it allocate petabytes. An IDX may not exceed the text's length or 2^20,
/// whichever is larger (every entry has a header line of its own, and IDX values of
/// real files are at most the count of the lines they were written with).
fn read_bcf_header(stream: &mut dyn BufRead) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    stream.take(9).read_to_end(&mut bytes)?;
    if bytes.len() < 9 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the file ends inside the header's length",
        ));
    }
    let len = u64::from(u32::from_le_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]));
    let got = stream.take(len).read_to_end(&mut bytes)? as u64;
    if got < len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("the header declares {len} bytes, the file ends after {got}"),
        ));
    }
    let limit = len.max(1 << 20);
    let text = &bytes[9..];
    let mut at = 0;
    while let Some(i) = text[at..].windows(4).position(|w| w == b"IDX=") {
        at += i + 4;
        let digits = text[at..].iter().take_while(|b| b.is_ascii_digit()).count();
        let idx = std::str::from_utf8(&text[at..at + digits])
            .ok()
            .and_then(|d| d.parse::<u64>().ok());
        if digits > 0 && idx.is_none_or(|v| v > limit) {
            let shown = String::from_utf8_lossy(&text[at..at + digits.min(24)]);
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "IDX={shown} is larger than a header of {len} bytes can use (at most {limit})"
                ),
            ));
        }
    }
    Ok(bytes)
}

thread_local! {
    /// Set while [`quietly`] runs on this thread.
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`, turning a panic inside it into `Err(message)` without the panic hook
/// printing it (the CLI's error stays one line). noodles decoders panic on some
/// malformed input (noodles-bcf 0.94: a GT field of a type other than int8 reaches a
/// `todo!()`); glance never panics on input. Installs, once, a hook that stays silent on
/// a thread inside `quietly` and otherwise defers to the previous one.
fn quietly<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let was = QUIET.with(|q| q.replace(true));
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was));
    out.map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "the decoder panicked".to_string())
    })
}

impl VcfReader {
    /// Opens `path` (`-`: stdin). The header must declare the contigs (`##contig`).
    pub fn open(path: &Path) -> Result<VcfReader, VariantError> {
        if path.as_os_str() == "-" {
            VcfReader::from_reader(io::stdin())
        } else {
            VcfReader::from_reader(
                File::open(path).map_err(|e| vcf_err(format!("cannot open: {e}")))?,
            )
        }
    }

    /// Reads VCF or BCF from a stream (told apart by its first bytes, however few each
    /// read of the stream delivers).
    pub fn from_reader(input: impl Read + 'static) -> Result<VcfReader, VariantError> {
        let read_err = |e: io::Error| vcf_err(format!("cannot read: {e}"));
        let (magic, raw) = peek(Box::new(input), 2).map_err(read_err)?;
        let stream: Box<dyn Read> = if magic.starts_with(&[0x1f, 0x8b]) {
            Box::new(flate2::bufread::MultiGzDecoder::new(raw))
        } else {
            Box::new(raw)
        };
        let (head, stream) = peek(stream, VCF_MAGIC.len() as u64).map_err(read_err)?;
        let lines = Rc::new(Cell::new(0));
        let (format, header) = if head.starts_with(b"BCF") {
            let header_err = |e: String| vcf_err(format!("BCF header: {e}"));
            let mut stream = stream;
            let bytes = read_bcf_header(&mut stream).map_err(|e| header_err(e.to_string()))?;
            let header = quietly(|| noodles_bcf::io::Reader::from(&bytes[..]).read_header())
                .map_err(|panic| header_err(format!("cannot decode: {panic}")))?
                .map_err(|e| header_err(e.to_string()))?;
            (Format::Binary(stream, Vec::new()), header)
        } else if head.starts_with(VCF_MAGIC) {
            let mut reader = noodles_vcf::io::Reader::new(LineCounting {
                inner: stream,
                lines: lines.clone(),
            });
            let header = reader
                .read_header()
                .map_err(|e| vcf_err(format!("line {}: header: {e}", lines.get() + 1)))?;
            (Format::Text(reader), header)
        } else if head.is_empty() {
            return Err(vcf_err("empty file: no VCF header"));
        } else {
            return Err(vcf_err(
                "neither VCF (no ##fileformat=VCF line) nor BCF (no BCF magic number)",
            ));
        };
        if header.contigs().is_empty() {
            return Err(vcf_err(
                "the header declares no contigs (##contig lines); add them from the reference \
                 index, e.g. `bcftools reheader --fai REF.fa.fai`",
            ));
        }
        Ok(VcfReader {
            format,
            header,
            lines,
            records: 0,
            regions: None,
            numbering: Numbering::Lines,
        })
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Reads the next record; returns its line (BCF, or a region query: its record
    /// number), `None` at the end.
    pub fn read(&mut self, record: &mut RecordBuf) -> Result<Option<u64>, VariantError> {
        loop {
            let read = self.read_any(record)?;
            match &self.regions {
                Some(regions) if read.is_some() && !query::overlaps(record, regions) => {}
                _ => return Ok(read),
            }
        }
    }

    /// Reads the next record, whatever its position.
    fn read_any(&mut self, record: &mut RecordBuf) -> Result<Option<u64>, VariantError> {
        self.records += 1;
        match &mut self.format {
            Format::Text(reader) => {
                let line = match self.numbering {
                    Numbering::Lines => self.lines.get() + 1,
                    Numbering::Records => self.records,
                };
                let what = match self.numbering {
                    Numbering::Lines => "line",
                    Numbering::Records => "record",
                };
                match quietly(|| reader.read_record_buf(&self.header, record)) {
                    Ok(Ok(0)) => Ok(None),
                    Ok(Ok(_)) => Ok(Some(line)),
                    Ok(Err(e)) => Err(vcf_err(format!("{what} {line}: {e}"))),
                    Err(panic) => Err(vcf_err(format!("{what} {line}: cannot decode: {panic}"))),
                }
            }
            Format::Binary(stream, buf) => {
                let n = self.records;
                let err = |e: String| vcf_err(format!("record {n}: {e}"));
                if !read_bcf_record(stream, buf).map_err(|e| err(e.to_string()))? {
                    return Ok(None);
                }
                // n_sample (the low 24 bits of the shared part's bytes 20..24) must be
                // the header's sample count; noodles allocates by it before decoding
                let samples = self.header.sample_names().len() as u64;
                if let Some(w) = buf.get(28..32) {
                    let n_sample =
                        u64::from(u32::from_le_bytes([w[0], w[1], w[2], w[3]]) & 0xFF_FFFF);
                    if n_sample != samples {
                        return Err(err(format!(
                            "the record has {n_sample} samples, the header names {samples}"
                        )));
                    }
                }
                let decoded = quietly(|| {
                    noodles_bcf::io::Reader::from(&buf[..]).read_record_buf(&self.header, record)
                });
                match decoded {
                    Ok(Ok(_)) => Ok(Some(n)),
                    Ok(Err(e)) => Err(err(e.to_string())),
                    Err(panic) => Err(err(format!("cannot decode: {panic}"))),
                }
            }
        }
    }

    /// Whether the input is BCF (positions in messages are record numbers).
    pub fn is_bcf(&self) -> bool {
        matches!(self.format, Format::Binary(..))
    }
}

/// One INFO field glance adds: key, number, type, description.
pub type InfoField = (&'static str, Number, Type, &'static str);

/// Bgzipped VCF written atomically, with a tabix index (`.tbi`) built as it goes.
pub struct VcfWriter {
    writer: noodles_vcf::io::Writer<bgzf::io::Writer<File>>,
    file: AtomicFile,
    header: Header,
    indexer: Option<noodles_vcf::index::Indexer>,
    unsorted: bool,
}

impl VcfWriter {
    /// Starts `path` with `header` plus the `fields` declared as INFO lines.
    pub fn create(
        path: &Path,
        header: &Header,
        fields: &[InfoField],
    ) -> Result<VcfWriter, VariantError> {
        let io_err = |e| VariantError::Write {
            path: path.display().to_string(),
            error: e,
        };
        let mut header = header.clone();
        for (key, number, ty, description) in fields {
            header.infos_mut().insert(
                (*key).to_string(),
                Map::<Info>::new(*number, *ty, *description),
            );
        }
        let mut file = AtomicFile::create(path).map_err(|e| VariantError::Write {
            path: path.display().to_string(),
            error: io::Error::other(e.to_string()),
        })?;
        let handle = file.file().try_clone().map_err(io_err)?;
        let mut writer = noodles_vcf::io::Writer::new(bgzf::io::Writer::new(handle));
        writer.write_variant_header(&header).map_err(io_err)?;
        let indexer = noodles_vcf::index::Indexer::builder().build().ok();
        Ok(VcfWriter {
            writer,
            file,
            header,
            indexer,
            unsorted: false,
        })
    }

    /// Appends a record.
    pub fn write(&mut self, record: &RecordBuf) -> Result<(), VariantError> {
        let path = self.file.path().display().to_string();
        let start = self.writer.get_ref().virtual_position();
        self.writer
            .write_variant_record(&self.header, record)
            .map_err(|e| VariantError::Write {
                path: path.clone(),
                error: e,
            })?;
        let end = self.writer.get_ref().virtual_position();
        if let (Some(indexer), Some(first)) = (&mut self.indexer, record.variant_start()) {
            // the end as htslib indexes it: INFO END when present (symbolic alleles),
            // else the REF bases
            let len = record.reference_bases().len().max(1);
            let last = noodles_vcf::variant::Record::variant_end(record, &self.header)
                .ok()
                .filter(|&end| end >= first)
                .or_else(|| Position::new(usize::from(first) + len - 1))
                .unwrap_or(first);
            let added = indexer.add_record(
                record.reference_sequence_name(),
                first,
                last,
                Chunk::new(start, end),
            );
            if added.is_err() {
                // out of order: no index can be built
                self.indexer = None;
                self.unsorted = true;
            }
        }
        Ok(())
    }

    /// Finishes the BGZF stream and renames the file into place, then writes the tabix
    /// index beside it (`PATH.tbi`) unless the records were out of order; returns
    /// whether it did.
    pub fn finish(self) -> Result<bool, VariantError> {
        let path = self.file.path().to_path_buf();
        let io_err = |e| VariantError::Write {
            path: path.display().to_string(),
            error: e,
        };
        let mut file = self.writer.into_inner().finish().map_err(io_err)?;
        file.flush().map_err(io_err)?;
        drop(file);
        let index = match self.indexer {
            Some(indexer) if !self.unsorted => Some(indexer.build()),
            _ => None,
        };
        // the index first (as a partial), so the VCF never appears without it
        let index_file = match &index {
            Some(noodles_vcf::Index::Tabix(tbi)) => {
                let p = glance_io::with_suffix(&path, "tbi");
                Some(write_index(&p, |w| {
                    noodles_tabix::io::Writer::new(w).write_index(tbi)
                })?)
            }
            Some(noodles_vcf::Index::Csi(csi)) => {
                let p = glance_io::with_suffix(&path, "csi");
                Some(write_index(&p, |w| {
                    noodles_csi::io::Writer::new(w).write_index(csi)
                })?)
            }
            None => None,
        };
        let commit_err = |e: glance_io::IoError| VariantError::Write {
            path: path.display().to_string(),
            error: io::Error::other(e.to_string()),
        };
        self.file.commit().map_err(commit_err)?;
        if let Some(f) = index_file {
            f.commit().map_err(commit_err)?;
        }
        Ok(index.is_some())
    }
}

/// An index file written (not yet renamed into place).
fn write_index(
    path: &Path,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<AtomicFile, VariantError> {
    let err = |e: io::Error| VariantError::Write {
        path: path.display().to_string(),
        error: e,
    };
    let mut f = AtomicFile::create(path).map_err(|e| err(io::Error::other(e.to_string())))?;
    write(f.file()).map_err(err)?;
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Yields one byte per read, as a slow pipe may.
    struct Trickle(io::Cursor<Vec<u8>>);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(1);
            self.0.read(&mut buf[..n])
        }
    }

    /// VCF, BGZF VCF and BCF are recognised and read whole from a stream that delivers
    /// one byte per read (stdin fed by a slow writer).
    #[test]
    fn formats_are_told_apart_on_streams_that_deliver_little_per_read() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test-data/variants");
        for name in ["valid.vcf", "valid.vcf.gz", "valid.bcf"] {
            let bytes = std::fs::read(dir.join(name)).unwrap();
            let mut reader = VcfReader::from_reader(Trickle(io::Cursor::new(bytes))).unwrap();
            assert_eq!(reader.is_bcf(), name.ends_with("bcf"));
            let mut record = RecordBuf::default();
            let mut lines = Vec::new();
            while let Some(line) = reader.read(&mut record).unwrap() {
                lines.push(line);
            }
            let want: Vec<u64> = if reader.is_bcf() {
                (1..=14).collect()
            } else {
                (13..=26).collect() // after the 12 header lines
            };
            assert_eq!(lines, want, "{name}");
        }
    }

    /// A record spanning bins (a symbolic deletion with END) is found by a query of a
    /// region inside it, past its start's 16 kb bin.
    #[test]
    fn the_index_spans_symbolic_alleles_to_their_end() {
        let text = "##fileformat=VCFv4.2\n##contig=<ID=c,length=100000>\n\
            ##INFO=<ID=END,Number=1,Type=Integer,Description=\"End\">\n\
            #CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n\
            c\t1000\tsnv\tA\tG\t.\t.\t.\n\
            c\t10000\tsv\tA\t<DEL>\t.\t.\tEND=40000\n\
            c\t50000\tlate\tC\tT\t.\t.\t.\n";
        let mut reader = noodles_vcf::io::Reader::new(text.as_bytes());
        let header = reader.read_header().unwrap();
        let records: Vec<RecordBuf> = reader
            .record_bufs(&header)
            .collect::<Result<_, _>>()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sv.vcf.gz");
        let mut writer = VcfWriter::create(&path, &header, &[]).unwrap();
        for r in &records {
            writer.write(r).unwrap();
        }
        assert!(writer.finish().unwrap());
        let mut indexed = noodles_vcf::io::indexed_reader::Builder::default()
            .build_from_path(&path)
            .unwrap();
        let header = indexed.read_header().unwrap();
        let ids = |indexed: &mut noodles_vcf::io::IndexedReader<_>, region: &str| {
            use noodles_vcf::variant::record::Ids as _;
            indexed
                .query(&header, &region.parse().unwrap())
                .unwrap()
                .records()
                .map(|r| r.unwrap().ids().iter().next().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&mut indexed, "c:30000-30010"), ["sv"]);
        assert_eq!(ids(&mut indexed, "c:900-1000"), ["snv"]);
        assert_eq!(ids(&mut indexed, "c:40001-60000"), ["late"]);
    }
}
