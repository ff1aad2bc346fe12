//! Opening inputs: a path or `-` (stdin), with the compression detected from the magic
//! bytes (never the file name) and the matching decoder put in front: plain, gzip
//! (including concatenated members; optionally inflated on a background thread) or BGZF
//! (optionally with parallel block inflation).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::num::NonZero;
use std::path::Path;

use crate::error::SeqError;
use crate::threaded::ThreadedReader;

/// True when htslib would open `location` as a URL (`scheme://...`) rather than a local
/// path.
pub fn is_url(location: &str) -> bool {
    match location.split_once("://") {
        Some((scheme, _)) => {
            !scheme.is_empty()
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.')
        }
        None => false,
    }
}

/// Whether `location` is read through htslib (`HtsReader`, cargo feature `htslib`)
/// rather than as FASTA/FASTQ text: a URL, or a path ending in `.sam`, `.bam` or
/// `.cram` (any case).
pub fn needs_htslib(location: &str) -> bool {
    is_url(location)
        || Path::new(location)
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| ["sam", "bam", "cram"].contains(&e.to_ascii_lowercase().as_str()))
}

/// Buffer size of the readers glance puts in front of files and decoders.
pub(crate) const BUFFER_SIZE: usize = 256 * 1024;

/// How an input is compressed, as told by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Not compressed.
    None,
    /// gzip (RFC 1952), one member or several concatenated.
    Gzip,
    /// Blocked gzip (BGZF, as written by bgzip), which can be indexed and inflated in
    /// parallel.
    Bgzf,
}

impl Compression {
    /// Detects the compression from the first bytes of a stream (18 bytes suffice).
    pub fn detect(magic: &[u8]) -> Compression {
        match magic {
            // gzip magic, deflate, FEXTRA set, then the 'BC' extra subfield of BGZF.
            [0x1f, 0x8b, 0x08, flags, _, _, _, _, _, _, _, _, b'B', b'C', ..]
                if flags & 0x04 != 0 =>
            {
                Compression::Bgzf
            }
            [0x1f, 0x8b, ..] => Compression::Gzip,
            _ => Compression::None,
        }
    }

    /// A short lower-case name ("plain", "gzip", "bgzf").
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "plain",
            Compression::Gzip => "gzip",
            Compression::Bgzf => "bgzf",
        }
    }
}

/// A decompressed byte stream and the compression it was read through.
pub(crate) struct Opened {
    pub reader: Box<dyn BufRead + Send>,
    pub compression: Compression,
}

/// Opens `path` (or stdin for `-`) and puts the right decoder in front of it.
/// `threads` is the number of BGZF inflation workers; with more than one, gzip is
/// inflated on a background thread (1 = everything on this thread).
pub(crate) fn open_path(path: &Path, threads: usize) -> Result<Opened, SeqError> {
    open_path_observed(path, threads, |_| {})
}

/// As [`open_path`], telling `on_read` of every batch of (compressed) bytes read from
/// the file or stdin.
pub(crate) fn open_path_observed(
    path: &Path,
    threads: usize,
    on_read: impl FnMut(u64) + Send + 'static,
) -> Result<Opened, SeqError> {
    if path.as_os_str() == "-" {
        return open_reader(Observed::new(io::stdin(), on_read), threads);
    }
    let meta = std::fs::metadata(path).map_err(SeqError::Open)?;
    if meta.is_dir() {
        return Err(SeqError::IsDirectory);
    }
    let file = File::open(path).map_err(SeqError::Open)?;
    open_reader(Observed::new(file, on_read), threads)
}

/// A byte stream that tells a callback how many bytes each read delivered.
struct Observed<R, F> {
    inner: R,
    on_read: F,
}

impl<R, F> Observed<R, F> {
    fn new(inner: R, on_read: F) -> Self {
        Observed { inner, on_read }
    }
}

impl<R: Read, F: FnMut(u64)> Read for Observed<R, F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.on_read)(n as u64);
        Ok(n)
    }
}

/// Sniffs the compression of `inner` and wraps it in the matching decoder.
pub(crate) fn open_reader<R>(mut inner: R, threads: usize) -> Result<Opened, SeqError>
where
    R: Read + Send + 'static,
{
    let mut magic = Vec::with_capacity(18);
    (&mut inner)
        .take(18)
        .read_to_end(&mut magic)
        .map_err(|e| SeqError::io(1, false, e))?;
    let compression = Compression::detect(&magic);
    let stream = Cursor::new(magic).chain(inner);
    let reader: Box<dyn BufRead + Send> = match compression {
        Compression::None => Box::new(BufReader::with_capacity(BUFFER_SIZE, stream)),
        Compression::Gzip => {
            let decoder = flate2::read::MultiGzDecoder::new(stream);
            if threads > 1 {
                // Inflate on a second thread, overlapping parsing and tokenizing.
                match ThreadedReader::spawn(decoder) {
                    Ok(r) => Box::new(r),
                    Err(e) => return Err(SeqError::io(1, true, e)),
                }
            } else {
                Box::new(BufReader::with_capacity(BUFFER_SIZE, decoder))
            }
        }
        Compression::Bgzf => match NonZero::new(threads) {
            Some(n) if n.get() > 1 => Box::new(
                noodles_bgzf::io::MultithreadedReader::with_worker_count(n, stream),
            ),
            _ => Box::new(noodles_bgzf::io::Reader::new(stream)),
        },
    };
    Ok(Opened {
        reader,
        compression,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn htslib_locations_are_urls_and_alignment_files() {
        for yes in [
            "reads.bam",
            "x/A.CRAM",
            "a.sam",
            "https://h/x.fa",
            "s3://b/k",
        ] {
            assert!(needs_htslib(yes), "{yes}");
        }
        for no in [
            "genome.fa",
            "reads.bam.fa.gz",
            "-",
            "bam",
            "c:/x.fa",
            "a.fq.gz",
        ] {
            assert!(!needs_htslib(no), "{no}");
        }
    }

    #[test]
    fn detects_by_magic() {
        assert_eq!(Compression::detect(b">chr1\nACGT\n"), Compression::None);
        assert_eq!(Compression::detect(&[0x1f, 0x8b, 8, 0]), Compression::Gzip);
        let bgzf = [
            0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, b'B', b'C', 2, 0, 0, 0,
        ];
        assert_eq!(Compression::detect(&bgzf), Compression::Bgzf);
        assert_eq!(Compression::detect(&[]), Compression::None);
    }
}
