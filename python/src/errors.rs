//! glance errors as Python exceptions. The message is glance's one line (naming the
//! file, record or key); the type says what failed: `OSError` for a file that cannot be
//! opened or read, `ValueError` for bad input, data or options, `RuntimeError` for the
//! rest (a stage that panicked, a poisoned lock).

use std::error::Error;

use glance::model::ModelError;
use glance::motif::MotifError;
use glance::seq::SeqError;
use glance::workflow::WorkflowError;
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::PyErr;

/// A pipeline error.
pub fn workflow(e: WorkflowError) -> PyErr {
    let message = e.to_string();
    match &e {
        WorkflowError::Io(_) => PyOSError::new_err(message),
        WorkflowError::Input { error, .. } if is_io(error.as_ref()) => PyOSError::new_err(message),
        WorkflowError::StagePanic(_) => PyRuntimeError::new_err(message),
        _ => PyValueError::new_err(message),
    }
}

/// A model error (its message names the file).
pub fn model(e: ModelError) -> PyErr {
    let message = e.to_string();
    if is_io(&e) {
        PyOSError::new_err(message)
    } else {
        PyValueError::new_err(message)
    }
}

/// A reader error of `path`.
pub fn seq(path: &str, e: SeqError) -> PyErr {
    let message = format!("{path}: {e}");
    if is_io(&e) {
        PyOSError::new_err(message)
    } else {
        PyValueError::new_err(message)
    }
}

/// A motif file error of `path`.
pub fn motif(path: &str, e: MotifError) -> PyErr {
    let message = format!("{path}: {e}");
    if is_io(&e) {
        PyOSError::new_err(message)
    } else {
        PyValueError::new_err(message)
    }
}

/// A bad argument.
pub fn value(message: impl Into<String>) -> PyErr {
    PyValueError::new_err(message.into())
}

/// A broken internal invariant (a bug in glance), e.g. an array of the wrong length.
pub fn internal(message: impl Into<String>) -> PyErr {
    PyRuntimeError::new_err(message.into())
}

/// Whether `e` is (or wraps) a failure to open or read a file.
fn is_io(e: &(dyn Error + Send + Sync + 'static)) -> bool {
    if e.is::<std::io::Error>() || e.is::<glance::io::IoError>() {
        return true;
    }
    if let Some(s) = e.downcast_ref::<SeqError>() {
        return matches!(
            s,
            SeqError::Open(_) | SeqError::IsDirectory | SeqError::Io { .. }
        );
    }
    if let Some(m) = e.downcast_ref::<MotifError>() {
        return match m {
            MotifError::Io(_) => true,
            MotifError::Seq(s) => is_io(s),
            _ => false,
        };
    }
    if let Some(m) = e.downcast_ref::<ModelError>() {
        return match m {
            ModelError::Io { .. } => true,
            ModelError::Input(s) => is_io(s),
            _ => false,
        };
    }
    false
}
