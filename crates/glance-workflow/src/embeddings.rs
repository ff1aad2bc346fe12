//! `glance embed` as a library call: an encoder streamed over whole input files, its
//! token outputs pooled into regions (bins or a list) or kept per token, written as
//! PREFIX.npy (f32 `[rows, d_model]`, C order) and PREFIX.bed (chrom, start, end, name,
//! row), both atomically.

use std::path::{Path, PathBuf};

use glance_io::{with_suffix, AtomicFile, NpyWriter};
use glance_model::ndarray::ArrayView2;
use glance_model::{
    encode_source, Encoder, ModelError, PooledRegion, Pooler, Pooling, Regions, RowSink,
    StreamOptions, TokenSink,
};
use glance_seq::{region_name, SeqReader};
use std::io::Write;

use crate::error::WorkflowError;

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

/// Encodes every record of `inputs` (paths, `-` for stdin) with `encoder` and writes
/// PREFIX.npy and PREFIX.bed (see the module docs); returns the rows written.
/// `progress` is told of every batch of bases encoded.
pub fn embed_inputs(
    encoder: &Encoder,
    inputs: &[PathBuf],
    opts: &StreamOptions,
    rows: &EmbedRows,
    prefix: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, WorkflowError> {
    let d = encoder.d_model();
    let npy_path = with_suffix(prefix, "npy");
    let bed_path = with_suffix(prefix, "bed");
    let mut writer = EmbeddingWriter {
        npy: NpyWriter::create(&npy_path, &[d])?,
        bed: AtomicFile::create(&bed_path)?,
        bed_path,
    };
    {
        let mut bed = writer.bed.writer();
        let mut out = RowOutput {
            npy: &mut writer.npy,
            bed: &mut bed,
            bed_path: &writer.bed_path,
        };
        match rows {
            EmbedRows::Pooled { regions, pooling } => {
                let mut pooler = Pooler::new(
                    *pooling,
                    regions.clone(),
                    encoder.pool_query.as_ref(),
                    d,
                    encoder.tokenizer.stride,
                    &mut out,
                )
                .map_err(|e| WorkflowError::Model(e.to_string()))?;
                encode_inputs(encoder, inputs, opts, &mut pooler, progress)?;
                pooler
                    .finish()
                    .map_err(|e| WorkflowError::Model(e.to_string()))?;
            }
            EmbedRows::PerToken { max_tokens } => {
                let mut sink = PerToken {
                    out: &mut out,
                    chrom: String::new(),
                    origin: 0,
                    stride: encoder.tokenizer.stride as u64,
                    k: encoder.tokenizer.k as u64,
                    max: *max_tokens,
                };
                encode_inputs(encoder, inputs, opts, &mut sink, progress)?;
            }
        }
        bed.flush()
            .map_err(|e| WorkflowError::output(&writer.bed_path, e))?;
    }
    let n = writer.npy.rows;
    writer.npy.commit()?;
    writer.bed.commit()?;
    Ok(n)
}

/// Streams every input through the encoder into `sink`.
fn encode_inputs(
    encoder: &Encoder,
    inputs: &[PathBuf],
    opts: &StreamOptions,
    sink: &mut dyn TokenSink,
    progress: &mut dyn FnMut(u64),
) -> Result<(), WorkflowError> {
    for input in inputs {
        let label = |e: &dyn std::fmt::Display| format!("{}: {e}", input.display());
        let reader = SeqReader::open(input).map_err(|e| WorkflowError::Model(label(&e)))?;
        encode_source(encoder, reader, opts, sink, progress).map_err(|e| match e {
            // an output that cannot be written keeps its own words (it names its file)
            ModelError::Sink(e) => WorkflowError::Model(e.to_string()),
            e => WorkflowError::Model(label(&e)),
        })?;
    }
    Ok(())
}

/// The two files being written.
struct EmbeddingWriter {
    npy: NpyWriter,
    bed: AtomicFile,
    bed_path: PathBuf,
}

/// Rows to the .npy, lines to the .bed.
struct RowOutput<'a, B: Write> {
    npy: &'a mut NpyWriter,
    bed: &'a mut B,
    bed_path: &'a Path,
}

impl<B: Write> RowOutput<'_, B> {
    fn write(
        &mut self,
        chrom: &str,
        start: u64,
        end: u64,
        name: &str,
        values: &[f32],
    ) -> Result<(), ModelError> {
        let row = self.npy.rows;
        self.npy
            .row(values)
            .map_err(|e| ModelError::Sink(Box::new(e)))?;
        writeln!(self.bed, "{chrom}\t{start}\t{end}\t{name}\t{row}")
            .map_err(|e| ModelError::Sink(Box::new(glance_io::IoError::write(self.bed_path, e))))
    }
}

impl<B: Write> RowSink for &mut RowOutput<'_, B> {
    fn row(&mut self, r: &PooledRegion, values: &[f32]) -> Result<(), ModelError> {
        let mut name = region_name(&r.chrom, r.start, r.end);
        if r.partial {
            name.push_str(";partial");
        }
        if r.tokens == 0 {
            name.push_str(";empty");
        }
        self.write(&r.chrom, r.start, r.end, &name, values)
    }
}

/// Per-token rows; the BED line gives the bases the token covers.
struct PerToken<'o, 'a, B: Write> {
    out: &'o mut RowOutput<'a, B>,
    chrom: String,
    origin: u64,
    stride: u64,
    k: u64,
    max: u64,
}

impl<B: Write> TokenSink for PerToken<'_, '_, B> {
    fn begin_record(&mut self, name: &str, origin: u64) -> Result<(), ModelError> {
        self.chrom = name.to_string();
        self.origin = origin;
        Ok(())
    }

    fn tokens(&mut self, first: u64, rows: ArrayView2<f32>) -> Result<(), ModelError> {
        if self.out.npy.rows + rows.nrows() as u64 > self.max {
            return Err(ModelError::Options(format!(
                "--per-token output would exceed {} tokens; pool with --bin or --regions, or \
                 raise --max-tokens",
                self.max
            )));
        }
        for (t, row) in rows.rows().into_iter().enumerate() {
            let start = self.origin + (first + t as u64) * self.stride;
            let values = row.to_vec();
            self.out
                .write(&self.chrom, start, start + self.k, ".", &values)?;
        }
        Ok(())
    }

    fn end_record(&mut self, _len: u64) -> Result<(), ModelError> {
        Ok(())
    }
}
