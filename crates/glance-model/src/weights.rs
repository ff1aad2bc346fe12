//! [`Weights`]: a safetensors file, memory-mapped (or bytes compiled into the binary,
//! for the bundled default model), from which layers take their tensors by name as f32
//! arrays (F32, F16 and BF16 are accepted). Every failure names the file and the tensor.

use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use ndarray::{Array1, Array2};
use safetensors::tensor::{Dtype, Metadata};
use safetensors::SafeTensors;

use crate::error::ModelError;

/// The bytes of a safetensors file.
enum Bytes {
    /// A file mapped into memory.
    Mapped(Mmap),
    /// Bytes compiled into the binary.
    Static(&'static [u8]),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Static(b) => b,
        }
    }
}

/// A safetensors file (memory-mapped, or compiled into the binary).
pub struct Weights {
    path: PathBuf,
    map: Bytes,
    /// Byte offset of the data section (8 + header length).
    data_start: usize,
    metadata: Metadata,
}

impl std::fmt::Debug for Weights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Weights").field("path", &self.path).finish()
    }
}

impl Weights {
    /// Maps `path` and parses its header.
    pub fn open(path: &Path) -> Result<Weights, ModelError> {
        let io = |source| ModelError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        // SAFETY: the map is read-only; glance never writes model files while running,
        // and a concurrent truncation by another process is outside what we guard against
        // (as for every memory-mapped model loader).
        let map = unsafe { Mmap::map(&file) }.map_err(io)?;
        Weights::parse(path.to_path_buf(), Bytes::Mapped(map))
    }

    /// Reads safetensors `bytes` compiled into the binary; `label` names them in errors.
    pub fn from_static(label: &Path, bytes: &'static [u8]) -> Result<Weights, ModelError> {
        Weights::parse(label.to_path_buf(), Bytes::Static(bytes))
    }

    /// Parses the header of `map`.
    fn parse(path: PathBuf, map: Bytes) -> Result<Weights, ModelError> {
        let (header_len, metadata) =
            SafeTensors::read_metadata(&map).map_err(|e| ModelError::Safetensors {
                path: path.clone(),
                message: e.to_string(),
            })?;
        Ok(Weights {
            path,
            map,
            data_start: 8 + header_len,
            metadata,
        })
    }

    /// The file path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether a tensor is present.
    pub fn contains(&self, name: &str) -> bool {
        self.metadata.info(name).is_some()
    }

    /// The tensor `name` as f32 values with exactly the shape `expected`.
    pub fn tensor(&self, name: &str, expected: &[usize]) -> Result<Vec<f32>, ModelError> {
        let info = self
            .metadata
            .info(name)
            .ok_or_else(|| ModelError::MissingTensor {
                path: self.path.clone(),
                tensor: name.to_string(),
            })?;
        if info.shape != expected {
            return Err(ModelError::Shape {
                path: self.path.clone(),
                tensor: name.to_string(),
                expected: expected.to_vec(),
                found: info.shape.clone(),
            });
        }
        let (from, to) = info.data_offsets;
        let bytes = self
            .map
            .get(self.data_start + from..self.data_start + to)
            .ok_or_else(|| ModelError::Safetensors {
                path: self.path.clone(),
                message: format!("tensor `{name}` lies outside the file"),
            })?;
        let n: usize = expected.iter().product();
        let width = match info.dtype {
            Dtype::F32 => 4,
            Dtype::F16 | Dtype::BF16 => 2,
            other => {
                return Err(ModelError::Dtype {
                    path: self.path.clone(),
                    tensor: name.to_string(),
                    dtype: format!("{other:?}"),
                })
            }
        };
        if bytes.len() != n * width {
            return Err(ModelError::Safetensors {
                path: self.path.clone(),
                message: format!("tensor `{name}` holds {} bytes for {n} values", bytes.len()),
            });
        }
        let values = match info.dtype {
            Dtype::F32 => bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F16 => bytes
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            _ => bytes
                .chunks_exact(2)
                .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
        };
        Ok(values)
    }

    /// A 1-D tensor of length `n`.
    pub fn vector(&self, name: &str, n: usize) -> Result<Array1<f32>, ModelError> {
        Ok(Array1::from_vec(self.tensor(name, &[n])?))
    }

    /// A 2-D tensor `[rows, cols]` (row-major).
    pub fn matrix(&self, name: &str, rows: usize, cols: usize) -> Result<Array2<f32>, ModelError> {
        let v = self.tensor(name, &[rows, cols])?;
        Array2::from_shape_vec((rows, cols), v).map_err(|e| ModelError::Safetensors {
            path: self.path.clone(),
            message: format!("tensor `{name}`: {e}"),
        })
    }

    /// The shape of a tensor, if present (used to infer sizes from checkpoints).
    pub fn shape(&self, name: &str) -> Option<&[usize]> {
        self.metadata.info(name).map(|i| i.shape.as_slice())
    }
}
