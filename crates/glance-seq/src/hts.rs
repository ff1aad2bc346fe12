//! [`HtsReader`]: reads from SAM, BAM and CRAM files and from remote URLs (http, https,
//! s3, gs) through htslib (cargo feature `htslib`, which builds htslib with
//! rust-htslib), yielding the same [`Record`]s and, through [`SequenceSource`], the same
//! chunks as the FASTA/FASTQ reader.
//!
//! # What a record is
//!
//! One primary alignment record (secondary `0x100` and supplementary `0x800` records
//! are skipped by default, as `samtools fastq` does, since they repeat part of a read
//! given by its primary record). Unaligned BAM (PacBio HiFi, ONT) gives every read as
//! sequenced.
//!
//! - `name`: the read name (QNAME).
//! - `description`: for a mapped read, its reference span and strand in samtools
//!   notation, `chr:start-end(+)` or `(-)` (1-based inclusive, the span of the CIGAR on
//!   the reference); empty for an unmapped read.
//! - `sequence`: the bases as stored (SEQ, upper case, IUPAC codes kept). BAM stores a
//!   reverse-strand read (flag `0x10`) reverse-complemented, in reference orientation;
//!   that is what glance yields by default ([`Orientation::AsStored`]), so that bases
//!   line up with the reference. [`Orientation::AsSequenced`] reverse-complements such
//!   reads back (and reverses their qualities), as `samtools fastq` does.
//! - `quality`: Phred+33 characters, as in FASTQ; empty when the record has none (`*`).
//! - `offset`: 0 (chunk coordinates are positions within the read).
//!
//! # Regions
//!
//! [`HtsReader::fetch`] restricts reading to the records whose alignment overlaps a
//! region (as `samtools view file.bam chr:start-end`), through the file's index
//! (.bai/.csi/.crai). Each overlapping read is yielded whole, not clipped to the region.
//! Fetching another region restarts from that region; records are counted across
//! fetches.
//!
//! # Remote files
//!
//! A location with a scheme htslib handles (`http://`, `https://`, `ftp://`, `s3://`,
//! `gs://`, ...) is opened by htslib's libcurl backend, reading only the byte ranges
//! needed. An index is read from `<url>.bai`/`<url>.csi` (`<url>.crai` for CRAM) or
//! from [`HtsOptions::index`], straight from the server: unlike htslib's default, no
//! copy of it is written to the working directory. S3 credentials come from the usual
//! AWS environment variables and files, as htslib reads them.

use std::ffi::{CStr, CString};
use std::path::Path;
use std::ptr;
use std::sync::Once;

use rust_htslib::bam::{self, Read as _};
use rust_htslib::htslib;

use crate::error::SeqError;
use crate::input::is_url;
use crate::record::{Record, RecordHeader};
use crate::region::Region;
use crate::source::SequenceSource;

/// Flags of records skipped by default: secondary (`0x100`) and supplementary (`0x800`).
pub const DEFAULT_EXCLUDE_FLAGS: u16 = 0x900;

/// Flag of a read whose SEQ is stored reverse-complemented.
const FLAG_REVERSE: u16 = 0x10;
/// Flag of an unmapped read.
const FLAG_UNMAPPED: u16 = 0x4;

/// Which way round reverse-strand reads are yielded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Orientation {
    /// As stored in the file: reverse-strand reads in reference orientation.
    #[default]
    AsStored,
    /// As sequenced: reverse-strand reads reverse-complemented back, qualities
    /// reversed (what `samtools fastq` writes).
    AsSequenced,
}

/// How an [`HtsReader`] opens and filters its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtsOptions {
    /// Reference FASTA (a local path, with or next to its .fai) for decoding CRAM.
    /// Without it htslib looks for the reference through the header's UR/M5 tags,
    /// `REF_PATH` and `REF_CACHE`, which may download it from the EBI reference server.
    pub reference: Option<String>,
    /// Index for [`HtsReader::fetch`] (path or URL); by default found next to the input.
    pub index: Option<String>,
    /// Which way round reverse-strand reads are yielded.
    pub orientation: Orientation,
    /// Records with any of these flags are skipped ([`DEFAULT_EXCLUDE_FLAGS`]).
    pub exclude_flags: u16,
    /// Extra htslib threads for BGZF/CRAM decompression (0: none).
    pub threads: usize,
}

impl Default for HtsOptions {
    fn default() -> Self {
        HtsOptions {
            reference: None,
            index: None,
            orientation: Orientation::AsStored,
            exclude_flags: DEFAULT_EXCLUDE_FLAGS,
            threads: 0,
        }
    }
}

/// An index and, once a region is fetched, an iterator over it. Freed in that order,
/// before the file they point into.
struct Query {
    index: *mut htslib::hts_idx_t,
    iter: *mut htslib::hts_itr_t,
}

// SAFETY: the index and iterator are heap structures owned by this `Query` alone (never
// shared or aliased), used only through `&mut HtsReader`; moving them to another thread
// with their reader is sound, as moving the reader's `htsFile` is (rust-htslib's readers
// are `Send`).
unsafe impl Send for Query {}

impl Drop for Query {
    fn drop(&mut self) {
        // SAFETY: both pointers are null or were returned by htslib and are owned here;
        // the file they refer to is still open (HtsReader declares `query` before
        // `reader`, so this drops first).
        unsafe {
            if !self.iter.is_null() {
                htslib::hts_itr_destroy(self.iter);
            }
            if !self.index.is_null() {
                htslib::hts_idx_destroy(self.index);
            }
        }
    }
}

/// A SAM/BAM/CRAM reader (local path, `-` for stdin, or URL) that yields
/// [`Record`]s and implements [`SequenceSource`] for the [`Chunker`](crate::Chunker).
///
/// ```no_run
/// use glance_seq::{HtsOptions, HtsReader, Record};
/// let mut reader = HtsReader::open("movie.hifi_reads.bam", HtsOptions::default())?;
/// let mut record = Record::default();
/// while reader.read_record(&mut record)? {
///     println!("{}\t{}", record.name, record.sequence.len());
/// }
/// # Ok::<(), glance_seq::SeqError>(())
/// ```
pub struct HtsReader {
    // Field order matters: `query` (index, iterator) must drop before `reader` closes
    // the file, since a CRAM index points into the open file.
    query: Option<Query>,
    reader: bam::Reader,
    location: String,
    options: HtsOptions,
    is_cram: bool,
    record: bam::Record,
    /// The current record, decoded.
    name: String,
    description: String,
    bases: Vec<u8>,
    quality: Vec<u8>,
    /// Bases of the current record already handed out by `read_bases`.
    consumed: usize,
    /// Records yielded so far.
    yielded: u64,
    /// Alignment records read so far (including skipped ones), for error messages.
    read: u64,
    /// Set once the current fetch (or the whole file) is exhausted.
    done: bool,
}

impl HtsReader {
    /// Opens a SAM, BAM or CRAM file, `-` for stdin, or a URL, and reads its header.
    pub fn open(location: &str, options: HtsOptions) -> Result<Self, SeqError> {
        quiet_htslib();
        let reader = if location == "-" {
            bam::Reader::from_stdin()
        } else if is_url(location) {
            let url = url::Url::parse(location)
                .map_err(|e| SeqError::Htslib(format!("{location}: invalid URL: {e}")))?;
            bam::Reader::from_url(&url)
        } else {
            let path = Path::new(location);
            if path.is_dir() {
                return Err(SeqError::IsDirectory);
            }
            bam::Reader::from_path(path)
        }
        .map_err(|e| match detect_format(location) {
            Some(ext) => not_alignments(&ext),
            None => SeqError::Htslib(format!("cannot open as SAM/BAM/CRAM: {e}")),
        })?;

        // SAFETY: `htsfile()` is the open file owned by `reader`; `format` is plain data.
        let format = unsafe { &(*reader.htsfile()).format };
        let is_cram = match format.format {
            htslib::htsExactFormat_sam | htslib::htsExactFormat_bam => false,
            htslib::htsExactFormat_cram => true,
            _ => return Err(not_alignments(&extension(format))),
        };
        let mut this = HtsReader {
            query: None,
            reader,
            location: location.to_string(),
            options,
            is_cram,
            record: bam::Record::new(),
            name: String::new(),
            description: String::new(),
            bases: Vec::new(),
            quality: Vec::new(),
            consumed: 0,
            yielded: 0,
            read: 0,
            done: false,
        };
        if let Some(reference) = this.options.reference.clone() {
            this.set_reference(&reference)?;
        }
        if this.options.threads > 0 {
            this.reader
                .set_threads(this.options.threads)
                .map_err(|e| SeqError::Htslib(format!("cannot start htslib threads: {e}")))?;
        }
        Ok(this)
    }

    /// True when the input is CRAM.
    pub fn is_cram(&self) -> bool {
        self.is_cram
    }

    /// The reference sequence names and lengths of the header (`@SQ` lines), in order.
    pub fn references(&self) -> Vec<(String, u64)> {
        let header = self.reader.header();
        (0..header.target_count())
            .map(|tid| {
                let name = String::from_utf8_lossy(header.tid2name(tid)).into_owned();
                (name, header.target_len(tid).unwrap_or(0))
            })
            .collect()
    }

    /// Restricts the following reads to the records overlapping `region`, through the
    /// input's index (loaded on the first fetch). Errors if the sequence is not in the
    /// header ([`SeqError::Htslib`]), the region lies outside it
    /// ([`SeqError::RegionOutOfRange`]) or the index is missing ([`SeqError::Index`]).
    pub fn fetch(&mut self, region: &Region) -> Result<(), SeqError> {
        let header = self.reader.header();
        let tid = header.tid(region.name.as_bytes()).ok_or_else(|| {
            SeqError::Htslib(format!(
                "unknown sequence '{}' (not in the SAM/BAM/CRAM header)",
                region.name
            ))
        })?;
        let length = header.target_len(tid).unwrap_or(0);
        let (start, end) = region.resolve(length)?;
        if self.query.is_none() {
            self.query = Some(self.load_index()?);
        }
        let Some(query) = self.query.as_mut() else {
            return Err(SeqError::Htslib("index not loaded".into()));
        };
        let (beg, end) = (to_hts_pos(start)?, to_hts_pos(end)?);
        // SAFETY: the index is valid and owned by `query`; the old iterator is freed
        // once and replaced.
        unsafe {
            if !query.iter.is_null() {
                htslib::hts_itr_destroy(query.iter);
                query.iter = ptr::null_mut();
            }
            query.iter = htslib::sam_itr_queryi(query.index, tid as i32, beg, end);
        }
        if query.iter.is_null() {
            return Err(SeqError::Htslib(format!(
                "cannot query region {region} in the index"
            )));
        }
        self.done = false;
        self.consumed = self.bases.len();
        Ok(())
    }

    /// Reads the next record into `record` (reusing its buffers). Returns `Ok(false)`
    /// at the end of the input or of the fetched region.
    pub fn read_record(&mut self, record: &mut Record) -> Result<bool, SeqError> {
        if !self.advance()? {
            return Ok(false);
        }
        record.name.clone_from(&self.name);
        record.description.clone_from(&self.description);
        record.sequence.clone_from(&self.bases);
        record.quality.clone_from(&self.quality);
        record.offset = 0;
        self.consumed = self.bases.len();
        Ok(true)
    }

    /// Points htslib at the reference FASTA for CRAM decoding.
    fn set_reference(&mut self, reference: &str) -> Result<(), SeqError> {
        if !is_url(reference) && !Path::new(reference).is_file() {
            return Err(SeqError::Htslib(format!(
                "reference {reference}: no such file"
            )));
        }
        let c = c_string(reference)?;
        // SAFETY: the file is open; htslib copies the name.
        let rc = unsafe { htslib::hts_set_fai_filename(self.reader.htsfile(), c.as_ptr()) };
        if rc != 0 {
            return Err(SeqError::Htslib(format!(
                "cannot use {reference} as the CRAM reference"
            )));
        }
        Ok(())
    }

    /// Loads the index named in the options, or the one next to the input.
    fn load_index(&self) -> Result<Query, SeqError> {
        let fp = self.reader.htsfile();
        let file = c_string(&self.location)?;
        let candidates: Vec<Option<String>> = match &self.options.index {
            Some(index) => vec![Some(index.clone())],
            // A remote index is read in place, not copied to the working directory
            // (htslib's default), so name the candidates explicitly.
            None if is_url(&self.location) => {
                let exts: &[&str] = if self.is_cram {
                    &[".crai"]
                } else {
                    &[".csi", ".bai"]
                };
                exts.iter()
                    .map(|ext| Some(with_suffix(&self.location, ext)))
                    .collect()
            }
            None => vec![None],
        };
        for candidate in &candidates {
            let c_index = candidate.as_deref().map(c_string).transpose()?;
            let index_ptr = c_index.as_ref().map_or(ptr::null(), |c| c.as_ptr());
            // SAFETY: `fp` is the open file; the strings outlive the call; flags 0 never
            // writes a local copy of a remote index.
            let index = unsafe {
                htslib::sam_index_load3(
                    fp,
                    file.as_ptr(),
                    index_ptr,
                    htslib::HTS_IDX_SILENT_FAIL as i32,
                )
            };
            if !index.is_null() {
                return Ok(Query {
                    index,
                    iter: ptr::null_mut(),
                });
            }
        }
        let tried = match &self.options.index {
            Some(index) => index.clone(),
            None if is_url(&self.location) => candidates
                .iter()
                .flatten()
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            None => "an index next to it (.bai, .csi or .crai)".into(),
        };
        Err(SeqError::Index(format!(
            "cannot load the index for region queries: tried {tried}"
        )))
    }

    /// Reads alignment records until one passes the flag filter, and decodes it.
    fn advance(&mut self) -> Result<bool, SeqError> {
        loop {
            if self.done {
                return Ok(false);
            }
            let iter = self.query.as_ref().map_or(ptr::null_mut(), |q| q.iter);
            let status = match iter.is_null() {
                false => self.next_in_region(iter),
                true => match self.reader.read(&mut self.record) {
                    None => -1,
                    Some(Ok(())) => 0,
                    Some(Err(e)) => {
                        return Err(SeqError::Htslib(format!(
                            "alignment record {}: {e}",
                            self.read + 1
                        )))
                    }
                },
            };
            if status == -1 {
                self.done = true;
                return Ok(false);
            }
            self.read += 1;
            if status < -1 {
                return Err(SeqError::Htslib(format!(
                    "alignment record {}: truncated or corrupt record",
                    self.read
                )));
            }
            if self.record.flags() & self.options.exclude_flags != 0 {
                continue;
            }
            self.decode();
            self.yielded += 1;
            return Ok(true);
        }
    }

    /// Reads the next record of the fetched region: htslib's status (>= 0 a record, -1
    /// the end, < -1 an error).
    fn next_in_region(&mut self, iter: *mut htslib::hts_itr_t) -> i32 {
        let fp = self.reader.htsfile();
        // SAFETY: `fp` is open, `iter` was made from its index, and `record` is a valid
        // bam1_t that htslib fills. This is htslib's inline `sam_itr_next`.
        unsafe {
            let bgzf = if (*fp).is_bgzf() != 0 {
                (*fp).fp.bgzf
            } else {
                ptr::null_mut()
            };
            htslib::hts_itr_next(
                bgzf,
                iter,
                self.record.inner_mut() as *mut htslib::bam1_t as *mut std::ffi::c_void,
                fp as *mut std::ffi::c_void,
            )
        }
    }

    /// Fills name, description, bases and qualities from the current htslib record.
    fn decode(&mut self) {
        let rec = &self.record;
        self.name.clear();
        self.name.push_str(&String::from_utf8_lossy(rec.qname()));

        let flags = rec.flags();
        self.description.clear();
        if flags & FLAG_UNMAPPED == 0 && rec.tid() >= 0 {
            let header = self.reader.header();
            let chrom = String::from_utf8_lossy(header.tid2name(rec.tid() as u32));
            // SAFETY: the record is valid; bam_endpos only reads it.
            let end = unsafe { htslib::bam_endpos(rec.inner()) };
            let strand = if flags & FLAG_REVERSE != 0 { '-' } else { '+' };
            self.description = format!("{chrom}:{}-{end}({strand})", rec.pos() + 1);
        }

        let seq = rec.seq();
        let n = seq.len();
        self.bases.clear();
        self.bases.reserve(n);
        self.bases
            .extend((0..n).map(|i| DECODE[seq.encoded_base(i) as usize]));

        let qual = rec.qual();
        self.quality.clear();
        if qual.first().is_some_and(|&q| q != 0xff) {
            self.quality
                .extend(qual.iter().map(|&q| q.saturating_add(33)));
        }

        if self.options.orientation == Orientation::AsSequenced && flags & FLAG_REVERSE != 0 {
            self.bases.reverse();
            for b in &mut self.bases {
                *b = complement(*b);
            }
            self.quality.reverse();
        }
        self.consumed = 0;
    }
}

impl SequenceSource for HtsReader {
    fn next_record(&mut self, header: &mut RecordHeader) -> Result<bool, SeqError> {
        if !self.advance()? {
            return Ok(false);
        }
        header.name.clone_from(&self.name);
        header.description.clone_from(&self.description);
        header.index = self.yielded - 1;
        header.offset = 0;
        header.length = Some(self.bases.len() as u64);
        Ok(true)
    }

    fn read_bases(&mut self, buf: &mut Vec<u8>, max: usize) -> Result<usize, SeqError> {
        let rest = &self.bases[self.consumed.min(self.bases.len())..];
        let n = rest.len().min(max);
        buf.extend_from_slice(&rest[..n]);
        self.consumed += n;
        Ok(n)
    }
}

/// BAM's 4-bit base codes, decoded.
const DECODE: &[u8; 16] = b"=ACMGRSVTWYHKDBN";

/// The IUPAC complement of an upper-case base code (others unchanged).
fn complement(b: u8) -> u8 {
    match b {
        b'A' => b'T',
        b'C' => b'G',
        b'G' => b'C',
        b'T' => b'A',
        b'M' => b'K',
        b'K' => b'M',
        b'R' => b'Y',
        b'Y' => b'R',
        b'V' => b'B',
        b'B' => b'V',
        b'H' => b'D',
        b'D' => b'H',
        other => other, // N, S, W, '=' are their own complements
    }
}

/// `location` with `suffix` appended to its path (before an http query string).
fn with_suffix(location: &str, suffix: &str) -> String {
    let http = location.starts_with("http://") || location.starts_with("https://");
    match location.find('?') {
        Some(q) if http => format!("{}{suffix}{}", &location[..q], &location[q..]),
        _ => format!("{location}{suffix}"),
    }
}

fn c_string(s: &str) -> Result<CString, SeqError> {
    CString::new(s).map_err(|_| SeqError::Htslib(format!("{s:?}: contains a NUL byte")))
}

fn to_hts_pos(p: u64) -> Result<i64, SeqError> {
    i64::try_from(p).map_err(|_| SeqError::Htslib(format!("position {p} is too large")))
}

/// The error for an input htslib reads as something other than alignments.
fn not_alignments(extension: &str) -> SeqError {
    SeqError::Htslib(format!(
        "not SAM, BAM or CRAM (htslib detects '{extension}'; FASTA and FASTQ are read by SeqReader)"
    ))
}

/// When `location` opens but does not hold SAM/BAM/CRAM: htslib's file extension for
/// what it holds. `None` when it cannot be opened at all (or is stdin, which
/// must not be read twice) or is SAM/BAM/CRAM after all.
fn detect_format(location: &str) -> Option<String> {
    if location == "-" {
        return None;
    }
    let c = CString::new(location).ok()?;
    // SAFETY: opens, inspects and closes a file of our own; the mode is a valid C string.
    unsafe {
        let fp = htslib::hts_open(c.as_ptr(), c"r".as_ptr());
        if fp.is_null() {
            return None;
        }
        let format = &(*fp).format;
        let found = match format.format {
            htslib::htsExactFormat_sam
            | htslib::htsExactFormat_bam
            | htslib::htsExactFormat_cram => None,
            _ => Some(extension(format)),
        };
        htslib::hts_close(fp);
        found
    }
}

/// htslib's file extension for a detected format, e.g. "fa" or "fq".
fn extension(format: &htslib::htsFormat) -> String {
    // SAFETY: htslib returns a pointer to a static string (never freed), or null.
    unsafe {
        let s = htslib::hts_format_file_extension(format);
        if s.is_null() {
            return "unknown".into();
        }
        CStr::from_ptr(s).to_string_lossy().into_owned()
    }
}

/// Silences htslib's own messages on stderr: every failure reaches the caller as a
/// [`SeqError`] instead, so a command-line tool prints one line.
fn quiet_htslib() {
    static QUIET: Once = Once::new();
    // SAFETY: sets a global integer in htslib.
    QUIET.call_once(|| unsafe { htslib::hts_set_log_level(htslib::htsLogLevel_HTS_LOG_OFF) });
}
