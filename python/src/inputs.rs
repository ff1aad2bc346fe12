//! Argument conversion shared by the module's functions: a `seq_or_path` argument into
//! a glance [`Input`], `threads=` into [`Workers`], and compute run on them with the GIL
//! released.

use std::path::PathBuf;

use glance::workflow::{Input, Workers};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::errors;

/// The record name given to a sequence passed as a string.
pub const SEQUENCE_NAME: &str = "seq";

/// A `seq_or_path` argument: an `os.PathLike` is a file; `bytes` are bases; a `str` is
/// bases when it is made of letters only and names no existing file, else a path.
pub fn input(arg: &Bound<'_, PyAny>) -> PyResult<Input> {
    if let Ok(bytes) = arg.cast::<PyBytes>() {
        return Ok(Input::sequence(SEQUENCE_NAME, bytes.as_bytes()));
    }
    if let Ok(text) = arg.cast::<PyString>() {
        let text = text.to_cow()?;
        let letters = !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphabetic());
        if letters && !std::path::Path::new(text.as_ref()).exists() {
            return Ok(Input::sequence(SEQUENCE_NAME, text.as_bytes()));
        }
        return Ok(Input::Path(PathBuf::from(text.as_ref())));
    }
    Ok(Input::Path(arg.extract::<PathBuf>().map_err(|_| {
        errors::value(format!(
            "expected a sequence (str or bytes) or a path, got {}",
            arg.get_type()
                .name()
                .map_or_else(|_| "?".into(), |n| n.to_string())
        ))
    })?))
}

/// Runs `f` on `threads` workers (`None`: every core) with the GIL released.
pub fn compute<R, F>(py: Python<'_>, threads: Option<usize>, f: F) -> PyResult<R>
where
    R: Send,
    F: Send + FnOnce() -> PyResult<R>,
{
    if threads == Some(0) {
        return Err(errors::value("threads must be at least 1"));
    }
    let workers = Workers::new(threads).map_err(errors::workflow)?;
    py.detach(|| workers.install(f))
}
