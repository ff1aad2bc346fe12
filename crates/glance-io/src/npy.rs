//! .npy (v1.0, little-endian f32, C order) streamed row by row: a fixed-size header is
//! written first and rewritten with the final row count at the end. [`NpyInfo::read`]
//! reads such a header back (for `glance merge`).

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::atomic::{AtomicFile, Finished, OUTPUT_BUFFER};
use crate::error::IoError;

/// Header size in bytes (a multiple of 64, room for any shape).
const HEADER: usize = 128;

/// An f32 array of shape `[rows, inner...]` written one row at a time, atomically.
pub struct NpyWriter {
    file: AtomicFile,
    w: BufWriter<File>,
    inner: Vec<usize>,
    row_len: usize,
    /// Rows written so far.
    pub rows: u64,
    bytes: Vec<u8>,
}

impl NpyWriter {
    /// Starts `path` for rows of shape `inner`.
    pub fn create(path: &Path, inner: &[usize]) -> Result<NpyWriter, IoError> {
        let mut file = AtomicFile::create(path)?;
        let handle = file
            .file()
            .try_clone()
            .map_err(|e| IoError::write(path, e))?;
        let mut w = BufWriter::with_capacity(OUTPUT_BUFFER, handle);
        w.write_all(&header("<f4", 0, inner))
            .map_err(|e| IoError::write(path, e))?;
        Ok(NpyWriter {
            file,
            w,
            row_len: inner.iter().product(),
            inner: inner.to_vec(),
            rows: 0,
            bytes: Vec::new(),
        })
    }

    /// Appends one row (`inner` elements).
    pub fn row(&mut self, values: &[f32]) -> Result<(), IoError> {
        debug_assert_eq!(values.len(), self.row_len);
        self.bytes.clear();
        for v in values {
            self.bytes.extend_from_slice(&v.to_le_bytes());
        }
        self.rows += 1;
        self.w
            .write_all(&self.bytes)
            .map_err(|e| IoError::write(self.file.path(), e))
    }

    /// Appends raw little-endian row bytes (whole rows).
    pub fn raw_rows(&mut self, bytes: &[u8], rows: u64) -> Result<(), IoError> {
        self.rows += rows;
        self.w
            .write_all(bytes)
            .map_err(|e| IoError::write(self.file.path(), e))
    }

    /// Rewrites the header with the row count and renames the file into place.
    pub fn commit(self) -> Result<(), IoError> {
        self.complete()?.commit()
    }

    /// Rewrites the header with the row count, then syncs and measures the file without
    /// renaming it (see [`AtomicFile::finish`]).
    pub fn finish(self, label: &str) -> Result<Finished, IoError> {
        self.complete()?.finish(label)
    }

    /// Flushes the rows and rewrites the header with their count.
    fn complete(mut self) -> Result<AtomicFile, IoError> {
        let path = self.file.path().to_path_buf();
        let io = |e| IoError::write(&path, e);
        self.w.flush().map_err(io)?;
        let f = self.w.get_mut();
        f.seek(SeekFrom::Start(0)).map_err(io)?;
        f.write_all(&header("<f4", self.rows, &self.inner))
            .map_err(io)?;
        f.flush().map_err(io)?;
        drop(self.w);
        Ok(self.file)
    }
}

/// The .npy v1.0 header for a C-order array of NumPy type `descr` (`"<f4"`, `"<u4"`) and
/// shape `[rows, inner...]`, padded to a fixed 128 bytes so that a streamed file
/// can rewrite it with the final row count.
pub fn header(descr: &str, rows: u64, inner: &[usize]) -> Vec<u8> {
    let mut shape = rows.to_string();
    for d in inner {
        shape.push_str(&format!(", {d}"));
    }
    if inner.is_empty() {
        shape.push(',');
    }
    let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({shape}), }}");
    let mut h = dict.into_bytes();
    h.resize(HEADER - 10 - 1, b' ');
    h.push(b'\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(h.len() as u16).to_le_bytes());
    out.extend_from_slice(&h);
    out
}

/// Shape of an f32 .npy written by [`NpyWriter`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyInfo {
    /// Rows.
    pub rows: u64,
    /// Inner shape.
    pub inner: Vec<usize>,
    /// Offset of the data.
    pub data_offset: u64,
}

impl NpyInfo {
    /// Bytes per row.
    pub fn row_bytes(&self) -> usize {
        4 * self.inner.iter().product::<usize>()
    }

    /// Reads the header of `path`.
    pub fn read(path: &Path) -> Result<NpyInfo, IoError> {
        let bad = |m: &str| IoError::format(path, m);
        let mut f = File::open(path).map_err(|e| bad(&e.to_string()))?;
        let mut pre = [0u8; 10];
        f.read_exact(&mut pre).map_err(|e| bad(&e.to_string()))?;
        if &pre[..6] != b"\x93NUMPY" {
            return Err(bad("not a .npy file"));
        }
        let len = u16::from_le_bytes([pre[8], pre[9]]) as usize;
        let mut h = vec![0u8; len];
        f.read_exact(&mut h).map_err(|e| bad(&e.to_string()))?;
        let text = String::from_utf8_lossy(&h);
        if !text.contains("'<f4'") || text.contains("'fortran_order': True") {
            return Err(bad("expected little-endian f32 in C order"));
        }
        let shape = text
            .split("'shape': (")
            .nth(1)
            .and_then(|s| s.split(')').next())
            .ok_or_else(|| bad("no shape"))?;
        let dims: Vec<u64> = shape
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().map_err(|_| bad("bad shape")))
            .collect::<Result<_, _>>()?;
        let (&rows, inner) = dims.split_first().ok_or_else(|| bad("empty shape"))?;
        Ok(NpyInfo {
            rows,
            inner: inner.iter().map(|&d| d as usize).collect(),
            data_offset: (10 + len) as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_header_and_rows() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.npy");
        let mut w = NpyWriter::create(&p, &[2, 3]).unwrap();
        for r in 0..4 {
            let row: Vec<f32> = (0..6).map(|i| (r * 6 + i) as f32).collect();
            w.row(&row).unwrap();
        }
        w.commit().unwrap();
        let info = NpyInfo::read(&p).unwrap();
        assert_eq!(info.rows, 4);
        assert_eq!(info.inner, [2, 3]);
        assert_eq!(info.data_offset, 128);
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(bytes.len(), 128 + 4 * 24);
        let last = f32::from_le_bytes(bytes[bytes.len() - 4..].try_into().unwrap());
        assert_eq!(last, 23.0);
    }

    #[test]
    fn header_has_fixed_aligned_size_and_numpy_dict() {
        for (descr, rows, inner, shape) in [
            ("<u4", 12345, &[][..], "(12345,)"),
            ("<f4", 7, &[256][..], "(7, 256)"),
        ] {
            let h = header(descr, rows, inner);
            assert_eq!(h.len(), HEADER);
            assert_eq!(&h[..8], b"\x93NUMPY\x01\x00");
            assert_eq!(u16::from_le_bytes([h[8], h[9]]) as usize + 10, HEADER);
            let text = std::str::from_utf8(&h[10..]).unwrap();
            let dict =
                format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
            assert!(text.starts_with(&dict), "{text}");
            assert!(text.ends_with(" \n"));
        }
        assert_eq!(header("<u4", u64::MAX, &[]).len(), HEADER);
    }
}
