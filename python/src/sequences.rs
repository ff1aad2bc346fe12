//! `glance.read` (records of a FASTA/FASTQ file, or regions of an indexed FASTA) and
//! `glance.tokenize` (k-mer token ids of a sequence or of every record of a file).

use std::path::PathBuf;
use std::sync::Mutex;

use glance::seq::{IndexedFasta, Record, Region, SeqReader, Tokenizer, TokenizerOptions, Vocab};
use numpy::PyArray1;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use crate::errors;
use crate::inputs::input;

/// Where records come from.
enum Source {
    /// A whole file, record after record.
    File(SeqReader),
    /// One region of an indexed FASTA, fetched (taken when yielded).
    Region(Option<Record>),
}

/// An iterator over `(name, sequence)` pairs of a FASTA/FASTQ file (see `glance.read`).
#[pyclass(module = "glance", frozen)]
pub struct Records {
    source: Mutex<Source>,
    path: String,
}

#[pymethods]
impl Records {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<(String, String)>> {
        let mut source = self
            .source
            .lock()
            .map_err(|_| PyRuntimeError::new_err("a previous read panicked"))?;
        let source = &mut *source;
        let mut record = Record::default();
        match source {
            Source::File(r) => {
                let more = py
                    .detach(|| r.read_record(&mut record))
                    .map_err(|e| errors::seq(&self.path, e))?;
                if !more {
                    return Ok(None);
                }
            }
            Source::Region(fetched) => match fetched.take() {
                Some(r) => record = r,
                None => return Ok(None),
            },
        }
        let bases = String::from_utf8_lossy(&record.sequence).into_owned();
        Ok(Some((record.name, bases)))
    }
}

/// Iterates over the records of a FASTA/FASTQ file (plain, gzip or BGZF) as
/// `(name, sequence)` pairs, bases as written (soft-masked case kept). With `region`
/// (`"chr:start-end"`, 1-based inclusive as samtools, or `"chr"`), reads only that
/// region of a plain or bgzipped FASTA through its .fai (and .gzi), built if missing.
#[pyfunction]
#[pyo3(signature = (path, region=None))]
pub fn read(path: PathBuf, region: Option<&str>) -> PyResult<Records> {
    let label = path.display().to_string();
    let source = match region {
        None => Source::File(SeqReader::open(&path).map_err(|e| errors::seq(&label, e))?),
        Some(text) => {
            let region: Region = text.parse().map_err(|e| errors::seq(&label, e))?;
            let mut fasta = IndexedFasta::open(&path).map_err(|e| errors::seq(&label, e))?;
            let mut record = Record::default();
            fasta
                .fetch(&region, &mut record)
                .map_err(|e| errors::seq(&label, e))?;
            Source::Region(Some(record))
        }
    };
    Ok(Records {
        source: Mutex::new(source),
        path: label,
    })
}

/// k-mer token ids (int32) of a sequence, or of every record of a FASTA/FASTQ file one
/// after the other (as `glance tokenize` writes them). `k` is 1 to 12 (default 6, or the
/// k of `vocab`); token i covers bases `[i*stride, i*stride + k)`. `vocab` is a
/// vocab.txt (DNABERT layout) instead of the built-in vocabulary (`[PAD]`, `[UNK]`,
/// `[CLS]`, `[SEP]`, `[MASK]`, then the 4^k k-mers); a k-mer with a base other than
/// A/C/G/T is `[UNK]`.
#[pyfunction]
#[pyo3(signature = (seq_or_path, k=None, stride=1, vocab=None))]
pub fn tokenize<'py>(
    py: Python<'py>,
    seq_or_path: &Bound<'py, PyAny>,
    k: Option<usize>,
    stride: usize,
    vocab: Option<PathBuf>,
) -> PyResult<Bound<'py, PyArray1<i32>>> {
    let input = input(seq_or_path)?;
    let vocab = match &vocab {
        Some(p) => {
            let label = p.display().to_string();
            Some((
                Vocab::from_path(p).map_err(|e| errors::seq(&label, e))?,
                label,
            ))
        }
        None => None,
    };
    let options = TokenizerOptions {
        k: k.or(vocab.as_ref().map(|(v, _)| v.k())).unwrap_or(6),
        stride,
        ..TokenizerOptions::default()
    };
    let tokenizer = match vocab {
        Some((v, label)) => Tokenizer::with_vocab(options, v).map_err(|e| errors::seq(&label, e)),
        None => Tokenizer::new(options).map_err(|e| errors::value(e.to_string())),
    }?;
    let ids = py.detach(|| {
        let mut reader = input.open().map_err(errors::workflow)?;
        let mut record = Record::default();
        let mut ids = Vec::new();
        let label = input.to_string();
        while reader
            .read_record(&mut record)
            .map_err(|e| errors::seq(&label, e))?
        {
            tokenizer.tokenize_into(&record.sequence, &mut ids);
        }
        // ids are below the vocabulary size (at most 4^12 + 5), so they fit an i32
        Ok::<_, PyErr>(ids.into_iter().map(|id| id as i32).collect::<Vec<i32>>())
    })?;
    Ok(PyArray1::from_vec(py, ids))
}
