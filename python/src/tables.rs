//! Tables returned to Python: a pandas DataFrame when pandas is installed, else a dict
//! of numpy arrays (one per column, in column order). Columns of few distinct values
//! (motif ids, sequence names, strands) are built from codes, as pandas categoricals
//! (or numpy string arrays), instead of one Python string per row. Positions are int64
//! (genome coordinates are far below 2^63).

use std::collections::HashMap;

use numpy::PyArray1;
use pyo3::exceptions::PyImportError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// One column being gathered.
enum Column<'py> {
    /// A numpy array, final as it is.
    Array(Bound<'py, PyAny>),
    /// Text, one Python string per row.
    Text(Bound<'py, PyList>),
    /// Text of few distinct values: per row, an index into `categories`.
    Labels {
        codes: Bound<'py, PyArray1<i32>>,
        categories: Bound<'py, PyList>,
    },
}

/// Columns being gathered, in order.
pub struct Table<'py> {
    py: Python<'py>,
    columns: Vec<(&'static str, Column<'py>)>,
}

impl<'py> Table<'py> {
    /// An empty table.
    pub fn new(py: Python<'py>) -> Table<'py> {
        Table {
            py,
            columns: Vec::new(),
        }
    }

    /// Adds a numeric column (moved into numpy, not copied).
    pub fn numbers<T: numpy::Element>(&mut self, name: &'static str, values: Vec<T>) {
        let array = PyArray1::from_vec(self.py, values).into_any();
        self.columns.push((name, Column::Array(array)));
    }

    /// Adds a text column.
    pub fn text<S: AsRef<str>>(
        &mut self,
        name: &'static str,
        values: impl IntoIterator<Item = S>,
    ) -> PyResult<()> {
        let list = PyList::new(self.py, values.into_iter().map(|s| s.as_ref().to_owned()))?;
        self.columns.push((name, Column::Text(list)));
        Ok(())
    }

    /// Adds a text column of few distinct values.
    pub fn labels<'a>(
        &mut self,
        name: &'static str,
        values: impl IntoIterator<Item = &'a str>,
    ) -> PyResult<()> {
        let mut index: HashMap<&str, i32> = HashMap::new();
        let mut categories = Vec::new();
        let codes: Vec<i32> = values
            .into_iter()
            .map(|v| {
                *index.entry(v).or_insert_with(|| {
                    categories.push(v);
                    categories.len() as i32 - 1
                })
            })
            .collect();
        let column = Column::Labels {
            codes: PyArray1::from_vec(self.py, codes),
            categories: PyList::new(self.py, categories)?,
        };
        self.columns.push((name, column));
        Ok(())
    }

    /// The DataFrame (pandas installed) or the dict of numpy arrays.
    pub fn finish(self) -> PyResult<Bound<'py, PyAny>> {
        let pandas = match self.py.import("pandas") {
            Ok(pandas) => Some(pandas),
            Err(e) if e.is_instance_of::<PyImportError>(self.py) => None,
            Err(e) => return Err(e),
        };
        let numpy = self.py.import("numpy")?;
        let columns = PyDict::new(self.py);
        for (name, column) in self.columns {
            let value = match (column, &pandas) {
                (Column::Array(a), _) => a,
                (Column::Text(list), Some(_)) => list.into_any(),
                (Column::Text(list), None) => numpy.call_method1("asarray", (list,))?,
                (Column::Labels { codes, categories }, Some(pd)) => pd
                    .getattr("Categorical")?
                    .call_method1("from_codes", (codes, categories))?,
                (Column::Labels { codes, categories }, None) => numpy
                    .call_method1("asarray", (categories,))?
                    .get_item(codes)?,
            };
            columns.set_item(name, value)?;
        }
        match pandas {
            Some(pd) => pd.getattr("DataFrame")?.call1((columns,)),
            None => Ok(columns.into_any()),
        }
    }
}
