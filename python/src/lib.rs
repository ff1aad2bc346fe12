//! The `glance` Python module (`glance._glance`, re-exported by the `glance` package):
//! glance's readers, tokenizer, motif scanner, region scores, encoders and pipeline on
//! strings or files, with numpy arrays out. It adds no logic beyond argument
//! conversion: every call is a glance library call, run with the GIL released.
//!
//! - `sequences.rs`: `read`, `tokenize`;
//! - `motifs.rs`: `Motifs` (`load`, `scan`, `score`);
//! - `model.rs`: `Model` (`load`, `embed`, `hidden_states`, `log_probs`);
//! - `run.rs`: `run` (the whole pipeline);
//! - `inputs.rs`, `tables.rs`, `errors.rs`: argument conversion, returned tables, exceptions.

mod errors;
mod inputs;
mod model;
mod motifs;
mod run;
mod sequences;
mod tables;

use pyo3::prelude::*;

/// glance from Python: FASTA/FASTQ readers, k-mer tokens, FIMO-exact motif scanning,
/// region motif scores and local-attention genome encoders.
#[pymodule]
fn _glance(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(sequences::read, m)?)?;
    m.add_function(wrap_pyfunction!(sequences::tokenize, m)?)?;
    m.add_function(wrap_pyfunction!(run::run, m)?)?;
    m.add_class::<sequences::Records>()?;
    m.add_class::<motifs::Motifs>()?;
    m.add_class::<model::Model>()?;
    Ok(())
}
