//! `glance.run`: the whole `glance run` pipeline from a configuration (a dict with the
//! TOML file's keys, or a TOML file), returning the run's manifest.

use std::path::PathBuf;

use glance::workflow::{run as run_pipeline, Config};
use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors;

/// Runs the pipeline (`glance run`) as configured by `config`: a dict with the keys of
/// a glance.toml (e.g. `{"inputs": ["genome.fa.gz"], "outdir": "out",
/// "regions": {"bin": 1000}}`) or the path of a TOML file. Returns manifest.json as a
/// dict (config, inputs and outputs with checksums, timings).
#[pyfunction]
pub fn run<'py>(py: Python<'py>, config: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let json = py.import("json")?;
    let config = if config.is_instance_of::<PyDict>() {
        let text: String = json.call_method1("dumps", (config,))?.extract()?;
        Config::from_json(&text).map_err(errors::workflow)?
    } else {
        let path: PathBuf = config.extract()?;
        let text = std::fs::read_to_string(&path)
            .map_err(|e| PyOSError::new_err(format!("{}: cannot read: {e}", path.display())))?;
        Config::from_toml(&text).map_err(|e| errors::value(format!("{}: {e}", path.display())))?
    };
    let outcome = py
        .detach(|| run_pipeline(&config))
        .map_err(errors::workflow)?;
    let manifest = outcome.manifest.to_json().map_err(errors::workflow)?;
    json.call_method1("loads", (manifest,))
}
