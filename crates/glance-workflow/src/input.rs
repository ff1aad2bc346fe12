//! [`Input`]: what a whole-file job reads: a file (or `-` for stdin), or FASTA/FASTQ
//! text already in memory (a library caller's sequences, e.g. the Python bindings', or
//! the regions of an indexed FASTA, [`Input::regions`]); and the regions a command line
//! or a configuration restricts the work to ([`read_regions`]). Every whole file is
//! opened by [`open_location`]: FASTA/FASTQ text, or (cargo feature `htslib`)
//! SAM/BAM/CRAM files and URLs.

use std::fmt;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use glance_seq::{
    needs_htslib, read_bed, region_name, IndexedFasta, Record, RecordHeader, Region, SeqError,
    SeqReader, SequenceSource,
};

use crate::error::WorkflowError;

/// Whether an input path is `-`, standard input.
pub(crate) fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// A reader of one input: FASTA/FASTQ text, or SAM/BAM/CRAM (a file or a URL) when
/// glance is built with the `htslib` feature.
pub enum InputReader {
    /// FASTA/FASTQ (plain, gzip or BGZF).
    Text(SeqReader),
    /// SAM/BAM/CRAM through htslib: one record per primary read.
    #[cfg(feature = "htslib")]
    Hts(Box<glance_seq::HtsReader>),
}

impl InputReader {
    /// Reads the next whole record into `record`; `Ok(false)` at the end.
    pub fn read_record(&mut self, record: &mut Record) -> Result<bool, SeqError> {
        match self {
            InputReader::Text(r) => r.read_record(record),
            #[cfg(feature = "htslib")]
            InputReader::Hts(r) => r.read_record(record),
        }
    }
}

impl SequenceSource for InputReader {
    fn next_record(&mut self, header: &mut RecordHeader) -> Result<bool, SeqError> {
        match self {
            InputReader::Text(r) => r.next_record(header),
            #[cfg(feature = "htslib")]
            InputReader::Hts(r) => r.next_record(header),
        }
    }

    fn read_bases(&mut self, buf: &mut Vec<u8>, max: usize) -> Result<usize, SeqError> {
        match self {
            InputReader::Text(r) => r.read_bases(buf, max),
            #[cfg(feature = "htslib")]
            InputReader::Hts(r) => r.read_bases(buf, max),
        }
    }
}

/// Opens the input at `location`: a path (`-`: stdin) of FASTA/FASTQ text, inflating
/// BGZF with `threads` workers and telling `observer` of the bytes read; or, when
/// [`needs_htslib`] says so (`.sam`/`.bam`/`.cram`, URLs), an htslib reader (`threads`
/// decompressing; not observed). Without the `htslib` feature such a
/// location is an error saying how to build glance with it. Errors name `location`.
pub fn open_location(
    location: &Path,
    threads: usize,
    observer: Option<&ReadObserver>,
) -> Result<InputReader, WorkflowError> {
    let err = |e: SeqError| WorkflowError::Input {
        path: location.display().to_string(),
        error: Box::new(e),
    };
    let text = location.to_string_lossy();
    if needs_htslib(&text) {
        #[cfg(feature = "htslib")]
        {
            let options = glance_seq::HtsOptions {
                // extra threads besides this one
                threads: threads.saturating_sub(1),
                ..Default::default()
            };
            return glance_seq::HtsReader::open(&text, options)
                .map(|r| InputReader::Hts(Box::new(r)))
                .map_err(err);
        }
        #[cfg(not(feature = "htslib"))]
        return Err(WorkflowError::Input {
            path: text.into_owned(),
            error: "SAM/BAM/CRAM files and URLs are read through htslib, which this glance \
                    was built without: rebuild it with `--features htslib` (cargo install \
                    --path crates/glance-cli --features htslib)"
                .into(),
        });
    }
    match observer {
        Some(o) => {
            let o = o.clone();
            SeqReader::open_observed(location, threads, move |n| (o.0)(n))
        }
        None => SeqReader::open_with_threads(location, threads),
    }
    .map(InputReader::Text)
    .map_err(err)
}

/// The regions given as samtools strings (`chr:start-end`, 1-based inclusive; `region`)
/// or as a BED file (0-based half-open; `bed`), in the order given; `None` when neither
/// is given (the whole input). Errors name the region or the BED file and line.
pub fn read_regions(
    region: &[String],
    bed: Option<&Path>,
) -> Result<Option<Vec<Region>>, WorkflowError> {
    if let Some(bed) = bed {
        let err = |e: glance_seq::SeqError| WorkflowError::Input {
            path: bed.display().to_string(),
            error: Box::new(e),
        };
        let file = std::fs::File::open(bed).map_err(|e| err(glance_seq::SeqError::Open(e)))?;
        return Ok(Some(read_bed(std::io::BufReader::new(file)).map_err(err)?));
    }
    if region.is_empty() {
        return Ok(None);
    }
    region
        .iter()
        .map(|r| r.parse::<Region>())
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
        .map_err(|e| WorkflowError::Config(e.to_string()))
}

/// The bases `regions` span in the FASTA `path` (plain or BGZF, read through its
/// index), checking that each lies on one of its sequences; errors name `path`.
pub(crate) fn region_bases(path: &Path, regions: &[Region]) -> Result<u64, WorkflowError> {
    let err = |e: glance_seq::SeqError| WorkflowError::Input {
        path: path.display().to_string(),
        error: Box::new(e),
    };
    let fasta = IndexedFasta::open(path).map_err(err)?;
    let mut bases = 0;
    for r in regions {
        let (start, end) = fasta.resolve(r).map_err(err)?;
        bases += end - start;
    }
    Ok(bases)
}

/// Told of every batch of bytes read from an [`Input::Observed`] file as stored
/// (compressed bytes for gzip/BGZF): the feed of a progress bar whose total is the
/// file's size.
#[derive(Clone)]
pub struct ReadObserver(Arc<dyn Fn(u64) + Send + Sync>);

impl ReadObserver {
    /// An observer calling `on_read` with each batch's byte count.
    pub fn new(on_read: impl Fn(u64) + Send + Sync + 'static) -> ReadObserver {
        ReadObserver(Arc::new(on_read))
    }
}

impl fmt::Debug for ReadObserver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReadObserver")
    }
}

/// Two observers are equal when they are the same callback.
impl PartialEq for ReadObserver {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ReadObserver {}

/// One input of `scan_inputs`, `score_inputs` or `embed_inputs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A FASTA/FASTQ file (plain, gzip or BGZF); `-` reads stdin.
    Path(PathBuf),
    /// A file read as [`Input::Path`] is, telling `observer` of the bytes read.
    Observed {
        /// The file (`-`: stdin).
        path: PathBuf,
        /// Told of every batch of bytes read.
        observer: ReadObserver,
    },
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

    /// The bases of `regions` of the FASTA `path` (plain or BGZF; its .fai/.gzi is used,
    /// or built in memory), read through the index, as records named in samtools
    /// notation (`chr:start-end`, 1-based inclusive), as `samtools faidx FILE REGION...`
    /// writes them: positions in outputs are within each region.
    pub fn regions(path: &Path, regions: &[Region]) -> Result<Input, WorkflowError> {
        let err = |e: glance_seq::SeqError| WorkflowError::Input {
            path: path.display().to_string(),
            error: Box::new(e),
        };
        let mut fasta = IndexedFasta::open(path).map_err(err)?;
        let mut text = Vec::new();
        let mut record = Record::default();
        for r in regions {
            let (start, end) = fasta.resolve(r).map_err(err)?;
            fasta.fetch(r, &mut record).map_err(err)?;
            text.push(b'>');
            text.extend_from_slice(region_name(&r.name, start, end).as_bytes());
            text.push(b'\n');
            text.extend_from_slice(&record.sequence);
            text.push(b'\n');
        }
        Ok(Input::Memory {
            label: path.display().to_string(),
            bytes: text.into(),
        })
    }

    /// Whether this input is stdin (which can be read only once).
    pub fn is_stdin(&self) -> bool {
        matches!(self, Input::Path(p) | Input::Observed { path: p, .. } if is_stdin(p))
    }

    /// Opens a reader (see [`open_location`]), naming the input in errors.
    pub fn open(&self) -> Result<InputReader, WorkflowError> {
        match self {
            Input::Path(p) => open_location(p, 1, None),
            Input::Observed { path, observer } => open_location(path, 1, Some(observer)),
            Input::Memory { bytes, .. } => SeqReader::from_reader(Cursor::new(Arc::clone(bytes)))
                .map(InputReader::Text)
                .map_err(|e| WorkflowError::Input {
                    path: self.to_string(),
                    error: Box::new(e),
                }),
        }
    }

    /// The inputs of a command line: every path as an [`Input::Path`].
    pub fn paths(paths: &[PathBuf]) -> Vec<Input> {
        paths.iter().cloned().map(Input::Path).collect()
    }

    /// The inputs of a command line, each telling `observer` of the bytes read from it.
    pub fn observed(paths: &[PathBuf], observer: &ReadObserver) -> Vec<Input> {
        paths
            .iter()
            .map(|p| Input::Observed {
                path: p.clone(),
                observer: observer.clone(),
            })
            .collect()
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
            Input::Path(p) | Input::Observed { path: p, .. } => write!(f, "{}", p.display()),
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
    fn regions_read_as_samtools_faidx_writes_them() {
        let fa = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test-data/seq/small.fa");
        let regions = [Region::new("kp_a", 10, 20), Region::new("kp_b", 0, 5)];
        let input = Input::regions(&fa, &regions).unwrap();
        let mut whole = SeqReader::open(&fa).unwrap();
        let mut all = Vec::new();
        let mut r = Record::default();
        while whole.read_record(&mut r).unwrap() {
            all.push(r.clone());
        }
        let mut reader = input.open().unwrap();
        assert!(reader.read_record(&mut r).unwrap());
        assert_eq!(r.name, "kp_a:11-20");
        assert_eq!(r.sequence, all[0].sequence[10..20]);
        assert!(reader.read_record(&mut r).unwrap());
        assert_eq!(r.name, "kp_b:1-5");
        assert_eq!(r.sequence, all[1].sequence[..5]);
        let Err(err) = Input::regions(&fa, &[Region::new("chrZ", 0, 5)]) else {
            panic!("an unknown sequence was read");
        };
        assert!(err.to_string().contains("chrZ"), "{err}");
    }

    #[test]
    fn a_missing_file_is_named_in_the_error() {
        let Err(err) = Input::Path("no/such.fa".into()).open() else {
            panic!("a missing file opened");
        };
        assert!(err.to_string().starts_with("no/such.fa: "), "{err}");
    }
}
