//! `glance.Model`: an encoder (a native glance model or a Hugging Face checkpoint)
//! streamed over sequences as `glance embed` streams it: pooled region embeddings,
//! per-token hidden states and, where the model has an MLM head, token
//! log-probabilities. The work is glance-workflow's `embed_to_memory`.

use std::path::PathBuf;

use glance::model::ndarray::{Array2, ArrayView2};
use glance::model::{
    load, DefaultModel, Encoder, Pooling, Precision, PrecisionError, Regions, StreamOptions,
};
use glance::workflow::{embed_to_memory, EmbedRows, EmbeddingTable, Input};
use numpy::PyArray2;
use pyo3::prelude::*;

use crate::errors;
use crate::inputs::{compute, input};
use crate::tables::Table;

/// A loaded encoder.
#[pyclass(module = "glance", frozen)]
pub struct Model {
    encoder: Encoder,
    /// The directory loaded; `None` for the model compiled into glance.
    dir: Option<PathBuf>,
    /// How errors and `repr` name the model.
    name: String,
}

impl Model {
    /// The rows `rows` of `input`, on `threads` workers with the GIL released.
    fn rows(
        &self,
        py: Python<'_>,
        input: Input,
        rows: EmbedRows,
        threads: Option<usize>,
    ) -> PyResult<EmbeddingTable> {
        compute(py, threads, || {
            // sized inside the pool: the batch follows its thread count
            let opts = StreamOptions::for_encoder(&self.encoder);
            embed_to_memory(&self.encoder, &[input], &opts, &rows, &mut |_| {})
                .map_err(errors::workflow)
        })
    }

    /// Per-token hidden states of `seq_or_path` as a table.
    fn tokens(
        &self,
        py: Python<'_>,
        seq_or_path: &Bound<'_, PyAny>,
        max_tokens: u64,
        threads: Option<usize>,
    ) -> PyResult<EmbeddingTable> {
        let rows = EmbedRows::PerToken { max_tokens };
        self.rows(py, input(seq_or_path)?, rows, threads)
    }
}

/// The rows' values as a float32 array `[rows, d]` (moved, not copied).
fn matrix(py: Python<'_>, table: EmbeddingTable) -> PyResult<Bound<'_, PyArray2<f32>>> {
    let shape = (table.values.len() / table.d.max(1), table.d);
    let array = Array2::from_shape_vec(shape, table.values)
        .map_err(|e| errors::internal(format!("embeddings: {e}")))?;
    Ok(PyArray2::from_owned_array(py, array))
}

#[pymethods]
impl Model {
    /// Loads a model directory: a native glance model or a Hugging Face BERT/DNABERT or
    /// Longformer checkpoint (config.json, the weights in any `save_pretrained` layout,
    /// vocab.txt). Default: `$GLANCE_MODEL`, else the default model compiled into glance.
    /// `precision` is `"f32"` or `"bf16"` (`glance embed --precision`); bf16 falls back to
    /// f32 on a CPU without AVX512_BF16 (see the `precision` property).
    #[staticmethod]
    #[pyo3(signature = (dir=None, precision="f32"))]
    fn load(py: Python<'_>, dir: Option<PathBuf>, precision: &str) -> PyResult<Model> {
        let precision: Precision = precision
            .parse()
            .map_err(|e: PrecisionError| errors::value(e.to_string()))?;
        let (dir, name, mut encoder) = match dir {
            Some(dir) => {
                let encoder = py.detach(|| load(&dir)).map_err(errors::model)?;
                let name = dir.display().to_string();
                (Some(dir), name, encoder)
            }
            None => {
                let default = DefaultModel::resolve();
                let encoder = py.detach(|| default.load()).map_err(errors::model)?;
                let dir = match &default {
                    DefaultModel::Env(dir) => Some(dir.clone()),
                    DefaultModel::Bundled => None,
                };
                (dir, default.to_string(), encoder)
            }
        };
        py.detach(|| encoder.set_precision(precision));
        Ok(Model { encoder, dir, name })
    }

    /// The precision the encoder runs in: `"f32"` or `"bf16"` (what `load` asked for,
    /// unless this CPU lacks AVX512_BF16).
    #[getter]
    fn precision(&self) -> &'static str {
        self.encoder.precision().name()
    }

    /// The model directory; `None` for the default model compiled into glance.
    #[getter]
    fn dir(&self) -> Option<PathBuf> {
        self.dir.clone()
    }

    /// The model's name: its directory, or `bundled:models/default`.
    #[getter]
    fn name(&self) -> String {
        self.name.clone()
    }

    /// Width of the hidden states and embeddings.
    #[getter]
    fn d_model(&self) -> usize {
        self.encoder.d_model()
    }

    /// Whether the model has an MLM head (`log_probs` needs one).
    #[getter]
    fn has_mlm_head(&self) -> bool {
        self.encoder.mlm_head.is_some()
    }

    fn __repr__(&self) -> String {
        format!(
            "<glance.Model: {} layers, d_model {}, from {}>",
            self.encoder.layers.len(),
            self.encoder.d_model(),
            self.name
        )
    }

    /// Region embeddings over bins of `bin` bp every `step` bp (default: `bin`), pooled
    /// with `pool` (mean, max, cls or attention), as `glance embed` writes them. Returns
    /// `(regions, embeddings)`: the regions (chrom, start, end (0-based, half-open),
    /// name as in PREFIX.bed) as a DataFrame (or dict of numpy arrays) and a float32
    /// array `[regions, d_model]`, the same values as PREFIX.npy.
    #[pyo3(signature = (seq_or_path, bin=1000, step=None, pool="mean", threads=None))]
    fn embed<'py>(
        &self,
        py: Python<'py>,
        seq_or_path: &Bound<'py, PyAny>,
        bin: u64,
        step: Option<u64>,
        pool: &str,
        threads: Option<usize>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyArray2<f32>>)> {
        let pooling: Pooling = pool.parse().map_err(errors::value)?;
        let rows = EmbedRows::Pooled {
            regions: Regions::Bins {
                size: bin,
                step: step.unwrap_or(bin),
            },
            pooling,
        };
        let mut table = self.rows(py, input(seq_or_path)?, rows, threads)?;
        let regions = std::mem::take(&mut table.regions);
        let mut columns = Table::new(py);
        columns.labels("chrom", regions.iter().map(|r| r.chrom.as_str()))?;
        columns.numbers("start", regions.iter().map(|r| r.start as i64).collect());
        columns.numbers("end", regions.iter().map(|r| r.end as i64).collect());
        columns.text("name", regions.iter().map(|r| r.name.as_str()))?;
        Ok((columns.finish()?, matrix(py, table)?))
    }

    /// The last hidden state of every token (float32 `[tokens, d_model]`; the tokens of
    /// every record one after the other), as `glance embed --per-token` writes them.
    /// Refuses more than `max_tokens` tokens.
    #[pyo3(signature = (seq_or_path, max_tokens=1_000_000, threads=None))]
    fn hidden_states<'py>(
        &self,
        py: Python<'py>,
        seq_or_path: &Bound<'py, PyAny>,
        max_tokens: u64,
        threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let table = self.tokens(py, seq_or_path, max_tokens, threads)?;
        matrix(py, table)
    }

    /// Log-probabilities of every vocabulary id at every token (float32
    /// `[tokens, vocab]`) from the model's MLM head: its output for the hidden states of
    /// `hidden_states` (unmasked input). ValueError when the model has no head.
    #[pyo3(signature = (seq_or_path, max_tokens=1_000_000, threads=None))]
    fn log_probs<'py>(
        &self,
        py: Python<'py>,
        seq_or_path: &Bound<'py, PyAny>,
        max_tokens: u64,
        threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let Some(head) = &self.encoder.mlm_head else {
            return Err(errors::value(format!(
                "{}: the model has no MLM head",
                self.name
            )));
        };
        let table = self.tokens(py, seq_or_path, max_tokens, threads)?;
        let log_probs = compute(py, threads, || {
            let hidden = ArrayView2::from_shape((table.regions.len(), table.d), &table.values)
                .map_err(|e| errors::internal(format!("hidden states: {e}")))?;
            Ok(head.log_probs(hidden))
        })?;
        Ok(PyArray2::from_owned_array(py, log_probs))
    }
}
