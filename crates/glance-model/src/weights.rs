//! [`Weights`]: the tensors of a checkpoint, memory-mapped (or bytes compiled into the
//! binary, for the bundled default model), from which layers take their tensors by name
//! as f32 arrays (F32, F16 and BF16 are accepted). Every failure names the file and the
//! tensor.
//!
//! A checkpoint is one of (what `save_pretrained` and the hub give, read unchanged):
//! - `model.safetensors`;
//! - sharded safetensors: `model.safetensors.index.json` (its `weight_map` names each
//!   tensor's shard file beside it);
//! - `pytorch_model.bin`, the zip archive `torch.save` writes, whose `data.pkl` is read
//!   by [`crate::torch_pickle`] without executing pickle code and whose storages are
//!   read in place (torch stores them uncompressed); or its sharded form,
//!   `pytorch_model.bin.index.json`.
//!
//! Legacy (torch < 1.6, not zip) .bin files are refused with a way out.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use ndarray::{Array1, Array2};
use safetensors::tensor::Dtype;
use safetensors::SafeTensors;

use crate::error::ModelError;
use crate::torch_pickle::{read_state_dict, TorchDtype};

/// The checkpoint files glance looks for in a model directory, in this order.
pub const CHECKPOINT_FILES: [&str; 4] = [
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
];

/// An element type glance converts to f32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Element {
    F32,
    F16,
    BF16,
}

impl Element {
    fn width(self) -> usize {
        match self {
            Element::F32 => 4,
            Element::F16 | Element::BF16 => 2,
        }
    }

    fn read(self, b: &[u8]) -> f32 {
        match self {
            Element::F32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            Element::F16 => half::f16::from_le_bytes([b[0], b[1]]).to_f32(),
            Element::BF16 => half::bf16::from_le_bytes([b[0], b[1]]).to_f32(),
        }
    }
}

/// Where a tensor's elements are: a byte range of a mapped file holding its storage,
/// and how the tensor walks it.
#[derive(Debug, Clone)]
struct Entry {
    file: usize,
    /// `Err(name)`: a type glance does not read.
    element: Result<Element, String>,
    shape: Vec<usize>,
    /// The storage's bytes in the file.
    storage: std::ops::Range<usize>,
    /// Offset of the first element in the storage, in elements.
    offset: usize,
    /// Strides in elements (row-major contiguous for safetensors).
    stride: Vec<usize>,
}

/// The bytes of a checkpoint file.
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

/// A checkpoint file and its bytes.
struct Mapped {
    path: PathBuf,
    map: Bytes,
}

/// The tensors of a checkpoint (see the module docs).
pub struct Weights {
    /// The file errors about absent tensors name (the single file or the index).
    path: PathBuf,
    files: Vec<Mapped>,
    entries: HashMap<String, Entry>,
}

impl std::fmt::Debug for Weights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Weights").field("path", &self.path).finish()
    }
}

fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1].saturating_mul(shape[i + 1]);
    }
    strides
}

fn map_file(path: &Path) -> Result<Mmap, ModelError> {
    let io = |source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    // SAFETY: the map is read-only; glance never writes model files while running,
    // and a concurrent truncation by another process is outside what we guard against
    // (as for every memory-mapped model loader).
    unsafe { Mmap::map(&file) }.map_err(io)
}

impl Weights {
    /// Maps the safetensors file `path` and parses its header.
    pub fn open(path: &Path) -> Result<Weights, ModelError> {
        let mut w = Weights {
            path: path.to_path_buf(),
            files: Vec::new(),
            entries: HashMap::new(),
        };
        w.add_file(path)?;
        Ok(w)
    }

    /// Reads safetensors `bytes` compiled into the binary; `label` names them in errors.
    pub fn from_static(label: &Path, bytes: &'static [u8]) -> Result<Weights, ModelError> {
        let entries = safetensors_entries(label, bytes, 0)?;
        Ok(Weights {
            path: label.to_path_buf(),
            files: vec![Mapped {
                path: label.to_path_buf(),
                map: Bytes::Static(bytes),
            }],
            entries: entries.into_iter().collect(),
        })
    }

    /// The checkpoint of a model directory: the first of [`CHECKPOINT_FILES`] present.
    pub fn open_dir(dir: &Path) -> Result<Weights, ModelError> {
        let Some(found) = CHECKPOINT_FILES
            .iter()
            .map(|f| dir.join(f))
            .find(|p| p.is_file())
        else {
            return Err(ModelError::Checkpoint {
                path: dir.to_path_buf(),
                message: format!(
                    "no weights: none of {} is here",
                    CHECKPOINT_FILES.join(", ")
                ),
            });
        };
        let mut w = Weights {
            path: found.clone(),
            files: Vec::new(),
            entries: HashMap::new(),
        };
        if found.extension().is_some_and(|e| e == "json") {
            w.add_index(&found)?;
        } else {
            w.add_file(&found)?;
        }
        Ok(w)
    }

    /// Adds the tensors of a sharded checkpoint's index and its shards.
    fn add_index(&mut self, index: &Path) -> Result<(), ModelError> {
        let bad = |message: String| ModelError::Checkpoint {
            path: index.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(index).map_err(|source| ModelError::Io {
            path: index.to_path_buf(),
            source,
        })?;
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| bad(format!("invalid JSON: {e}")))?;
        let map = json
            .get("weight_map")
            .and_then(|m| m.as_object())
            .ok_or_else(|| bad("no `weight_map` object".into()))?;
        let dir = index.parent().unwrap_or(Path::new("."));
        let mut shards: Vec<&str> = Vec::new();
        for (name, file) in map {
            let file = file
                .as_str()
                .ok_or_else(|| bad(format!("`{name}`: its shard is not a file name")))?;
            if file.contains('/') || file.contains('\\') || file == ".." {
                return Err(bad(format!(
                    "`{name}`: shard `{file}` is not a file beside the index"
                )));
            }
            if !shards.contains(&file) {
                shards.push(file);
            }
        }
        for shard in &shards {
            self.add_file(&dir.join(shard))?;
        }
        for (name, file) in map {
            let file = file.as_str().unwrap_or_default();
            let held = self
                .entries
                .get(name)
                .is_some_and(|e| self.files[e.file].path.ends_with(file));
            if !held {
                return Err(bad(format!("`{name}` is not in its shard `{file}`")));
            }
        }
        Ok(())
    }

    /// Adds the tensors of one file: safetensors, or a torch zip archive.
    fn add_file(&mut self, path: &Path) -> Result<(), ModelError> {
        let map = map_file(path)?;
        let index = self.files.len();
        let entries = if map.starts_with(b"PK\x03\x04") {
            torch_entries(path, &map, index)?
        } else if path.extension().is_some_and(|e| e == "bin") {
            return Err(ModelError::Checkpoint {
                path: path.to_path_buf(),
                message: "not a zip archive: a legacy PyTorch checkpoint (torch < 1.6) or \
                          not a checkpoint; re-save it with torch >= 1.6 or as safetensors"
                    .into(),
            });
        } else {
            safetensors_entries(path, &map, index)?
        };
        for (name, entry) in entries {
            if self.entries.insert(name.clone(), entry).is_some() {
                return Err(ModelError::Checkpoint {
                    path: path.to_path_buf(),
                    message: format!("tensor `{name}` is in two shards"),
                });
            }
        }
        self.files.push(Mapped {
            path: path.to_path_buf(),
            map: Bytes::Mapped(map),
        });
        Ok(())
    }

    /// The file path (the single checkpoint file, or the shard index).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The tensors' names, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.entries.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// Whether a tensor is present.
    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    /// The tensor `name` as f32 values with exactly the shape `expected`.
    pub fn tensor(&self, name: &str, expected: &[usize]) -> Result<Vec<f32>, ModelError> {
        let entry = self
            .entries
            .get(name)
            .ok_or_else(|| ModelError::MissingTensor {
                path: self.path.clone(),
                tensor: name.to_string(),
            })?;
        let file = &self.files[entry.file];
        if entry.shape != expected {
            return Err(ModelError::Shape {
                path: file.path.clone(),
                tensor: name.to_string(),
                expected: expected.to_vec(),
                found: entry.shape.clone(),
            });
        }
        let element = entry.element.clone().map_err(|dtype| ModelError::Dtype {
            path: file.path.clone(),
            tensor: name.to_string(),
            dtype,
        })?;
        let outside = || ModelError::Checkpoint {
            path: file.path.clone(),
            message: format!("tensor `{name}` lies outside its storage or the file"),
        };
        let storage = file.map.get(entry.storage.clone()).ok_or_else(outside)?;
        let width = element.width();
        let n: usize = expected.iter().product();
        let mut values = Vec::with_capacity(n);
        if entry.stride == contiguous_strides(&entry.shape) {
            let start = entry.offset.checked_mul(width).ok_or_else(outside)?;
            let end = n
                .checked_mul(width)
                .and_then(|b| b.checked_add(start))
                .ok_or_else(outside)?;
            let bytes = storage.get(start..end).ok_or_else(outside)?;
            values.extend(bytes.chunks_exact(width).map(|b| element.read(b)));
            return Ok(values);
        }
        // a strided view (a transposed tensor saved as such): gather element by element
        let mut index = vec![0usize; expected.len()];
        for _ in 0..n {
            let mut at = entry.offset;
            for (i, s) in index.iter().zip(&entry.stride) {
                at = i
                    .checked_mul(*s)
                    .and_then(|x| x.checked_add(at))
                    .ok_or_else(outside)?;
            }
            let b = at.checked_mul(width).ok_or_else(outside)?;
            let bytes = storage.get(b..b + width).ok_or_else(outside)?;
            values.push(element.read(bytes));
            for d in (0..index.len()).rev() {
                index[d] += 1;
                if index[d] < expected[d] {
                    break;
                }
                index[d] = 0;
            }
        }
        Ok(values)
    }

    /// A 1-D tensor of length `n`.
    pub fn vector(&self, name: &str, n: usize) -> Result<Array1<f32>, ModelError> {
        Ok(Array1::from_vec(self.tensor(name, &[n])?))
    }

    /// A 2-D tensor `[rows, cols]` (row-major).
    pub fn matrix(&self, name: &str, rows: usize, cols: usize) -> Result<Array2<f32>, ModelError> {
        let v = self.tensor(name, &[rows, cols])?;
        Array2::from_shape_vec((rows, cols), v).map_err(|e| ModelError::Checkpoint {
            path: self.path.clone(),
            message: format!("tensor `{name}`: {e}"),
        })
    }

    /// The shape of a tensor, if present (used to infer sizes from checkpoints).
    pub fn shape(&self, name: &str) -> Option<&[usize]> {
        self.entries.get(name).map(|e| e.shape.as_slice())
    }
}

/// The tensors of a safetensors file.
fn safetensors_entries(
    path: &Path,
    map: &[u8],
    file: usize,
) -> Result<Vec<(String, Entry)>, ModelError> {
    let (header_len, metadata) =
        SafeTensors::read_metadata(map).map_err(|e| ModelError::Safetensors {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    let data_start = 8 + header_len;
    let mut out = Vec::new();
    for (name, info) in metadata.tensors() {
        let element = match info.dtype {
            Dtype::F32 => Ok(Element::F32),
            Dtype::F16 => Ok(Element::F16),
            Dtype::BF16 => Ok(Element::BF16),
            other => Err(format!("{other:?}")),
        };
        let (from, to) = info.data_offsets;
        let held = to
            .checked_sub(from)
            .ok_or_else(|| ModelError::Safetensors {
                path: path.to_path_buf(),
                message: format!("tensor `{name}` ends before it starts"),
            })?;
        if let Ok(e) = &element {
            let n: usize = info.shape.iter().product();
            if Some(held) != n.checked_mul(e.width()) {
                return Err(ModelError::Safetensors {
                    path: path.to_path_buf(),
                    message: format!("tensor `{name}` holds {held} bytes for {n} values"),
                });
            }
        }
        out.push((
            name,
            Entry {
                file,
                element,
                stride: contiguous_strides(&info.shape),
                shape: info.shape.clone(),
                storage: data_start + from..data_start + to,
                offset: 0,
            },
        ));
    }
    Ok(out)
}

/// The largest data.pkl glance reads (a state dict's index is kilobytes to megabytes).
const MAX_PICKLE: u64 = 1 << 30;

/// The tensors of a torch zip archive (`torch.save`).
fn torch_entries(path: &Path, map: &[u8], file: usize) -> Result<Vec<(String, Entry)>, ModelError> {
    let bad = |message: String| ModelError::Checkpoint {
        path: path.to_path_buf(),
        message,
    };
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(map))
        .map_err(|e| bad(format!("cannot read the zip archive: {e}")))?;
    let pkl_name = zip
        .file_names()
        .find(|n| {
            n.as_ref()
                .is_ok_and(|n| n.ends_with("/data.pkl") || *n == "data.pkl")
        })
        .and_then(Result::ok)
        .map(|n| n.into_owned())
        .ok_or_else(|| bad("no data.pkl in the archive: not a torch.save checkpoint".into()))?;
    let prefix = pkl_name.trim_end_matches("data.pkl").to_string();
    let pkl = {
        let entry = zip
            .by_name(&pkl_name)
            .map_err(|e| bad(format!("{pkl_name}: {e}")))?;
        if entry.size() > MAX_PICKLE {
            return Err(bad(format!("{pkl_name} is {} bytes", entry.size())));
        }
        let mut buf = Vec::with_capacity(entry.size() as usize);
        std::io::Read::read_to_end(&mut std::io::Read::take(entry, MAX_PICKLE), &mut buf)
            .map_err(|e| bad(format!("{pkl_name}: {e}")))?;
        buf
    };
    let tensors = read_state_dict(&pkl).map_err(|e| bad(format!("{pkl_name}: {e}")))?;
    let mut storages: HashMap<String, std::ops::Range<usize>> = HashMap::new();
    let mut out = Vec::with_capacity(tensors.len());
    for (name, t) in tensors {
        let storage = match storages.get(&t.storage) {
            Some(r) => r.clone(),
            None => {
                let entry_name = format!("{prefix}data/{}", t.storage);
                let index = zip.index_for_name(&entry_name).ok_or_else(|| {
                    bad(format!(
                        "tensor `{name}`: its storage {entry_name} is not in the archive"
                    ))
                })?;
                let entry = zip
                    .by_index_raw(index)
                    .map_err(|e| bad(format!("{entry_name}: {e}")))?;
                if entry.compression() != zip::CompressionMethod::Stored {
                    return Err(bad(format!(
                        "{entry_name} is compressed ({}); torch.save stores storages uncompressed",
                        entry.compression()
                    )));
                }
                let start = entry
                    .data_start()
                    .ok_or_else(|| bad(format!("{entry_name}: no data offset")))?
                    as usize;
                let end = start
                    .checked_add(entry.size() as usize)
                    .filter(|&e| e <= map.len())
                    .ok_or_else(|| bad(format!("{entry_name} runs past the end of the file")))?;
                storages.insert(t.storage.clone(), start..end);
                start..end
            }
        };
        let element = match t.dtype {
            TorchDtype::F32 => Ok(Element::F32),
            TorchDtype::F16 => Ok(Element::F16),
            TorchDtype::BF16 => Ok(Element::BF16),
            TorchDtype::Other(name) => Err(name.to_string()),
        };
        out.push((
            name,
            Entry {
                file,
                element,
                shape: t.shape,
                storage,
                offset: t.offset,
                stride: t.stride,
            },
        ));
    }
    Ok(out)
}
