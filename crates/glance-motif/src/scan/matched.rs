//! [`Matched`]: a hit's matched bases, stored inline for motifs up to 32 bp wide so
//! that a million hits do not mean a million allocations.

use std::ops::Deref;

const INLINE: usize = 32;

/// The bases of a matched window (inline up to 32 bytes, boxed beyond).
#[derive(Clone, PartialEq, Eq)]
pub enum Matched {
    /// Up to 32 bases.
    Inline {
        /// Storage.
        bytes: [u8; INLINE],
        /// Length used.
        len: u8,
    },
    /// Longer windows.
    Heap(Box<[u8]>),
}

impl Matched {
    /// Copies `bases`.
    pub fn new(bases: &[u8]) -> Matched {
        Matched::from_iter_len(bases.len(), bases.iter().copied())
    }

    /// Collects `len` bytes from `iter`.
    pub fn from_iter_len(len: usize, iter: impl Iterator<Item = u8>) -> Matched {
        if len <= INLINE {
            let mut bytes = [0u8; INLINE];
            for (slot, b) in bytes.iter_mut().zip(iter) {
                *slot = b;
            }
            Matched::Inline {
                bytes,
                len: len as u8,
            }
        } else {
            Matched::Heap(iter.collect())
        }
    }
}

impl Deref for Matched {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Matched::Inline { bytes, len } => &bytes[..usize::from(*len)],
            Matched::Heap(b) => b,
        }
    }
}

impl std::fmt::Debug for Matched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self))
    }
}
