//! `glance embed` as a library call: an encoder streamed over whole inputs, its token
//! outputs pooled into regions (bins or a list) or kept per token, either held in memory
//! ([`embed_to_memory`]: an [`EmbeddingTable`]) or written as PREFIX.npy (f32
//! `[rows, d_model]`, C order) and PREFIX.bed (chrom, start, end, name, row), both
//! atomically ([`embed_inputs`]). Both take the same rows in the same order.

use std::ops::Range;
use std::path::Path;

use glance_io::{with_suffix, AtomicFile, NpyWriter};
use glance_model::ndarray::ArrayView2;
use glance_model::{
    encode_source, Encoder, ModelError, PooledRegion, Pooler, Pooling, Regions, RowSink,
    StreamOptions, TokenSink,
};
use glance_seq::region_name;
use std::io::Write;

use crate::error::WorkflowError;
use crate::input::Input;

/// What rows to write.
#[derive(Debug, Clone)]
pub enum EmbedRows {
    /// One row per region, pooled.
    Pooled {
        /// Bins or listed regions.
        regions: Regions,
        /// How token outputs are pooled.
        pooling: Pooling,
    },
    /// One row per token (for short inputs), refused past `max_tokens` tokens.
    PerToken {
        /// The most tokens written before the run fails.
        max_tokens: u64,
    },
}

/// One row's region: where it is and its BED name (`chrom:start+1-end`, with
/// `;partial` for a clipped last bin and `;empty` for a region without tokens; `.` for a
/// token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedRegion {
    /// Sequence name.
    pub chrom: String,
    /// 0-based start.
    pub start: u64,
    /// 0-based exclusive end.
    pub end: u64,
    /// The BED name column.
    pub name: String,
}

/// Embeddings held in memory: the rows `embed_inputs` writes, as one C-order buffer.
#[derive(Debug, Clone, Default)]
pub struct EmbeddingTable {
    /// Values per row (the encoder's `d_model`).
    pub d: usize,
    /// `[regions.len(), d]` values, row after row.
    pub values: Vec<f32>,
    /// The rows' regions, in row order.
    pub regions: Vec<EmbeddedRegion>,
}

/// Encodes every record of `inputs` with `encoder` and returns the rows in memory (the
/// rows and order `embed_inputs` writes). `progress` is told of every batch of bases
/// encoded.
pub fn embed_to_memory(
    encoder: &Encoder,
    inputs: &[Input],
    opts: &StreamOptions,
    rows: &EmbedRows,
    progress: &mut dyn FnMut(u64),
) -> Result<EmbeddingTable, WorkflowError> {
    let mut table = EmbeddingTable {
        d: encoder.d_model(),
        ..EmbeddingTable::default()
    };
    embed_rows(encoder, inputs, opts, rows, &mut table, progress)?;
    Ok(table)
}

/// Encodes every record of `inputs` with `encoder` and writes PREFIX.npy and
/// PREFIX.bed (see the module docs); returns the rows written. `progress` is told of
/// every batch of bases encoded.
pub fn embed_inputs(
    encoder: &Encoder,
    inputs: &[Input],
    opts: &StreamOptions,
    rows: &EmbedRows,
    prefix: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, WorkflowError> {
    let d = encoder.d_model();
    let npy_path = with_suffix(prefix, "npy");
    let bed_path = with_suffix(prefix, "bed");
    let mut npy = NpyWriter::create(&npy_path, &[d])?;
    let mut bed = AtomicFile::create(&bed_path)?;
    {
        let mut bed_out = bed.writer();
        let mut out = FileRows {
            npy: &mut npy,
            bed: &mut bed_out,
            bed_path: &bed_path,
        };
        embed_rows(encoder, inputs, opts, rows, &mut out, progress)?;
        bed_out
            .flush()
            .map_err(|e| WorkflowError::output(&bed_path, e))?;
    }
    let n = npy.rows;
    npy.commit()?;
    bed.commit()?;
    Ok(n)
}

/// Streams every input through the encoder into `out`, pooled or per token.
fn embed_rows(
    encoder: &Encoder,
    inputs: &[Input],
    opts: &StreamOptions,
    rows: &EmbedRows,
    out: &mut dyn Rows,
    progress: &mut dyn FnMut(u64),
) -> Result<(), WorkflowError> {
    match rows {
        EmbedRows::Pooled { regions, pooling } => {
            let mut pooler = Pooler::new(
                *pooling,
                regions.clone(),
                encoder.pool_query.as_ref(),
                encoder.d_model(),
                Pooled(out),
            )
            .map_err(|e| WorkflowError::Model(e.to_string()))?;
            encode_inputs(encoder, inputs, opts, &mut pooler, progress)?;
            pooler
                .finish()
                .map_err(|e| WorkflowError::Model(e.to_string()))?;
            Ok(())
        }
        EmbedRows::PerToken { max_tokens } => {
            let mut sink = PerToken {
                out,
                chrom: String::new(),
                max: *max_tokens,
            };
            encode_inputs(encoder, inputs, opts, &mut sink, progress)
        }
    }
}

/// Streams every input through the encoder into `sink`.
fn encode_inputs(
    encoder: &Encoder,
    inputs: &[Input],
    opts: &StreamOptions,
    sink: &mut dyn TokenSink,
    progress: &mut dyn FnMut(u64),
) -> Result<(), WorkflowError> {
    for input in inputs {
        let label = |e: &dyn std::fmt::Display| format!("{input}: {e}");
        let reader = input.open()?;
        encode_source(encoder, reader, opts, sink, progress).map_err(|e| match e {
            // an output that cannot be written keeps its own words (it names its file)
            ModelError::Sink(e) => WorkflowError::Model(e.to_string()),
            e => WorkflowError::Model(label(&e)),
        })?;
    }
    Ok(())
}

/// Where rows go, in output order.
trait Rows {
    /// Rows taken so far.
    fn count(&self) -> u64;
    /// One row: its region and `d_model` values.
    fn push(&mut self, region: EmbeddedRegion, values: &[f32]) -> Result<(), ModelError>;
}

impl Rows for EmbeddingTable {
    fn count(&self) -> u64 {
        self.regions.len() as u64
    }

    fn push(&mut self, region: EmbeddedRegion, values: &[f32]) -> Result<(), ModelError> {
        self.values.extend_from_slice(values);
        self.regions.push(region);
        Ok(())
    }
}

/// Rows to the .npy, lines to the .bed.
struct FileRows<'a, B: Write> {
    npy: &'a mut NpyWriter,
    bed: &'a mut B,
    bed_path: &'a Path,
}

impl<B: Write> Rows for FileRows<'_, B> {
    fn count(&self) -> u64 {
        self.npy.rows
    }

    fn push(&mut self, r: EmbeddedRegion, values: &[f32]) -> Result<(), ModelError> {
        let row = self.npy.rows;
        self.npy
            .row(values)
            .map_err(|e| ModelError::Sink(Box::new(e)))?;
        writeln!(
            self.bed,
            "{}\t{}\t{}\t{}\t{row}",
            r.chrom, r.start, r.end, r.name
        )
        .map_err(|e| ModelError::Sink(Box::new(glance_io::IoError::write(self.bed_path, e))))
    }
}

/// Pooled rows, named as the BED names them.
struct Pooled<'o>(&'o mut dyn Rows);

impl RowSink for Pooled<'_> {
    fn row(&mut self, r: &PooledRegion, values: &[f32]) -> Result<(), ModelError> {
        let mut name = region_name(&r.chrom, r.start, r.end);
        if r.partial {
            name.push_str(";partial");
        }
        if r.tokens == 0 {
            name.push_str(";empty");
        }
        let region = EmbeddedRegion {
            chrom: r.chrom.clone(),
            start: r.start,
            end: r.end,
            name,
        };
        self.0.push(region, values)
    }
}

/// Per-token rows; the region is the bases the token covers.
struct PerToken<'o> {
    out: &'o mut dyn Rows,
    chrom: String,
    max: u64,
}

impl TokenSink for PerToken<'_> {
    fn begin_record(&mut self, name: &str, _origin: u64) -> Result<(), ModelError> {
        self.chrom = name.to_string();
        Ok(())
    }

    fn tokens(
        &mut self,
        _first: u64,
        spans: &[Range<u64>],
        rows: ArrayView2<f32>,
    ) -> Result<(), ModelError> {
        if self.out.count() + rows.nrows() as u64 > self.max {
            return Err(ModelError::Options(format!(
                "--per-token output would exceed {} tokens; pool with --bin or --regions, or \
                 raise --max-tokens",
                self.max
            )));
        }
        for (span, row) in spans.iter().zip(rows.rows()) {
            let values = row.to_vec();
            let region = EmbeddedRegion {
                chrom: self.chrom.clone(),
                start: span.start,
                end: span.end,
                name: ".".to_string(),
            };
            self.out.push(region, &values)?;
        }
        Ok(())
    }

    fn end_record(&mut self, _len: u64) -> Result<(), ModelError> {
        Ok(())
    }
}
