//! Tables returned to Python: a pandas DataFrame when pandas is installed, else a dict
//! of numpy arrays (one per column, in column order).

use numpy::PyArray1;
use pyo3::exceptions::PyImportError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// Columns being gathered, in order.
pub struct Table<'py> {
    py: Python<'py>,
    columns: Bound<'py, PyDict>,
}

impl<'py> Table<'py> {
    /// An empty table.
    pub fn new(py: Python<'py>) -> Table<'py> {
        Table {
            py,
            columns: PyDict::new(py),
        }
    }

    /// Adds a numeric column (moved into numpy, not copied).
    pub fn numbers<T: numpy::Element>(&mut self, name: &str, values: Vec<T>) -> PyResult<()> {
        self.columns
            .set_item(name, PyArray1::from_vec(self.py, values))
    }

    /// Adds a text column.
    pub fn text<S: AsRef<str>>(
        &mut self,
        name: &str,
        values: impl IntoIterator<Item = S>,
    ) -> PyResult<()> {
        let list = PyList::new(self.py, values.into_iter().map(|s| s.as_ref().to_owned()))?;
        self.columns.set_item(name, list)
    }

    /// The DataFrame (pandas installed) or the dict of numpy arrays.
    pub fn finish(self) -> PyResult<Bound<'py, PyAny>> {
        match self.py.import("pandas") {
            Ok(pandas) => pandas.getattr("DataFrame")?.call1((self.columns,)),
            Err(e) if e.is_instance_of::<PyImportError>(self.py) => {
                let numpy = self.py.import("numpy")?;
                let arrays = PyDict::new(self.py);
                for (name, column) in self.columns.iter() {
                    let array = if column.is_instance_of::<PyList>() {
                        numpy.call_method1("asarray", (column,))?
                    } else {
                        column
                    };
                    arrays.set_item(name, array)?;
                }
                Ok(arrays.into_any())
            }
            Err(e) => Err(e),
        }
    }
}
