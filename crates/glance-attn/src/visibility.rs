//! [`Visibility`]: the exact set of (query, key) pairs a pattern allows, for one call.
//!
//! This is the single statement of the semantics: the f64 reference, the pair count
//! behind "useful GFLOP/s" and the tests all ask it, and the tiled kernels must agree.
//! Indices are row numbers `0..n`; absolute positions are `offset + i`.

use ndarray::ArrayView1;

use crate::error::AttnError;
use crate::options::AttendOptions;
use crate::pattern::{Global, Local, Pattern};

/// The allowed pairs of one `attend` call (pattern, length, heads and options).
#[derive(Debug, Clone)]
pub struct Visibility<'a> {
    n: usize,
    offset: usize,
    local: Local,
    dilations: Vec<usize>,
    is_global: Vec<bool>,
    globals: Vec<usize>,
    padding: Option<ArrayView1<'a, bool>>,
}

impl<'a> Visibility<'a> {
    /// Validates the options against the pattern and shape and builds the pair set.
    pub fn new(
        pattern: &Pattern,
        n: usize,
        heads: usize,
        opts: &AttendOptions<'a>,
    ) -> Result<Self, AttnError> {
        let dilations = match (&opts.head_dilation, pattern.local) {
            (None, Local::Dilated { dilation, .. }) => vec![dilation; heads],
            (None, _) => vec![1; heads],
            (Some(per_head), Local::Dilated { .. }) => {
                if per_head.len() != heads {
                    return Err(AttnError::Option(format!(
                        "head_dilation has {} entries for {heads} heads",
                        per_head.len()
                    )));
                }
                if per_head.contains(&0) {
                    return Err(AttnError::Option(
                        "head_dilation entries must be >= 1".into(),
                    ));
                }
                per_head.clone()
            }
            (Some(_), local) => {
                return Err(AttnError::Option(format!(
                    "head_dilation needs a dilated pattern, not `{local}`"
                )))
            }
        };
        match (pattern.local, &pattern.global) {
            (Local::Block { size: 0, .. }, _) => {
                return Err(AttnError::Option("block size must be at least 1".into()))
            }
            (Local::BigBird { block: 0, .. }, _) => {
                return Err(AttnError::Option(
                    "bigbird block size must be at least 1".into(),
                ))
            }
            (Local::BigBird { .. }, Some(_)) => {
                return Err(AttnError::Option(
                    "bigbird has its own global blocks and takes no global tokens".into(),
                ))
            }
            (Local::BigBird { .. }, None) if opts.offset != 0 => {
                return Err(AttnError::Option(
                    "bigbird blocks are counted from row 0: offset must be 0".into(),
                ))
            }
            (Local::Dilated { dilation: 0, .. }, _) => {
                return Err(AttnError::Option("dilation must be at least 1".into()))
            }
            (_, Some(Global::Every(0))) => {
                return Err(AttnError::Option("global:every needs K >= 1".into()))
            }
            _ => {}
        }
        if let Some(pad) = &opts.key_padding {
            if pad.len() != n {
                return Err(AttnError::Shape(format!(
                    "key_padding has length {}, sequence has {n}",
                    pad.len()
                )));
            }
        }
        let globals = match pattern.local {
            // The first and the last block (transformers pads the last one with masked
            // keys to a whole block).
            Local::BigBird { block, .. } => {
                let last = n.saturating_sub(1) / block * block;
                (0..block.min(n)).chain(last.max(block)..n).collect()
            }
            _ => pattern
                .global
                .as_ref()
                .map(|g| g.positions(opts.offset, n))
                .unwrap_or_default(),
        };
        let mut is_global = vec![false; if globals.is_empty() { 0 } else { n }];
        for &g in &globals {
            is_global[g] = true;
        }
        Ok(Visibility {
            n,
            offset: opts.offset,
            local: pattern.local,
            dilations,
            is_global,
            globals,
            padding: opts.key_padding,
        })
    }

    /// Sequence length.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether the sequence is empty.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The local pattern.
    pub fn local_pattern(&self) -> Local {
        self.local
    }

    /// The dilation used by head `h` (1 unless the pattern is dilated).
    pub fn dilation(&self, h: usize) -> usize {
        self.dilations[h]
    }

    /// Absolute position of row 0.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Global rows, ascending (relative to `offset`).
    pub fn globals(&self) -> &[usize] {
        &self.globals
    }

    /// Whether row `i` is a global token.
    #[inline]
    pub fn is_global(&self, i: usize) -> bool {
        !self.is_global.is_empty() && self.is_global[i]
    }

    /// Whether key `j` is padding.
    #[inline]
    pub fn is_padding(&self, j: usize) -> bool {
        self.padding.as_ref().is_some_and(|p| p[j])
    }

    /// The key padding mask, if any.
    pub fn padding(&self) -> Option<ArrayView1<'a, bool>> {
        self.padding
    }

    /// How many times key `j` enters the softmax of query `i` when `i` sees `j`: 1,
    /// except for a `bigbird` pattern, whose non-global queries count the keys of block 0
    /// `1 + random` times (transformers' eval-mode "random" blocks are all block 0).
    #[inline]
    pub fn multiplicity(&self, i: usize, j: usize) -> usize {
        match self.local {
            Local::BigBird { block, random } if j < block && !self.is_global(i) => {
                random.saturating_add(1)
            }
            _ => 1,
        }
    }

    /// Whether key `j` is in the local neighbourhood of query `i` for head `h`.
    #[inline]
    pub fn is_local(&self, h: usize, i: usize, j: usize) -> bool {
        let delta = i as i64 - j as i64;
        match self.local {
            Local::Full { causal } => !causal || delta >= 0,
            Local::Sliding { radius, causal } => {
                delta.unsigned_abs() <= radius as u64 && (!causal || delta >= 0)
            }
            Local::Dilated { radius, causal, .. } => {
                let d = self.dilations[h] as i64;
                delta % d == 0
                    && (delta / d).unsigned_abs() <= radius as u64
                    && (!causal || delta >= 0)
            }
            Local::Block { size, neighbours } => {
                let bi = (self.offset + i) / size;
                let bj = (self.offset + j) / size;
                bi.abs_diff(bj) <= neighbours
            }
            // Its own block and one each side (offset is 0).
            Local::BigBird { block, .. } => (i / block).abs_diff(j / block) <= 1,
        }
    }

    /// Whether query `i` sees key `j` in head `h`.
    #[inline]
    pub fn allowed(&self, h: usize, i: usize, j: usize) -> bool {
        !self.is_padding(j) && (self.is_global(i) || self.is_global(j) || self.is_local(h, i, j))
    }

    /// The local candidate keys of row `i`: `(first, last_exclusive, step)`; every
    /// local key is `first + step * t` below `last_exclusive` (padding not removed).
    pub fn local_candidates(&self, h: usize, i: usize) -> (usize, usize, usize) {
        let n = self.n;
        match self.local {
            Local::Full { causal } => (0, if causal { i + 1 } else { n }, 1),
            Local::Sliding { radius, causal } => {
                let hi = if causal {
                    i + 1
                } else {
                    i.saturating_add(radius).saturating_add(1).min(n)
                };
                (i.saturating_sub(radius), hi, 1)
            }
            Local::Dilated { radius, causal, .. } => {
                let d = self.dilations[h];
                let back = (i / d).min(radius);
                let fwd = if causal {
                    0
                } else {
                    ((n - 1 - i) / d).min(radius)
                };
                (i - back * d, i + fwd * d + 1, d)
            }
            Local::Block { size, neighbours } => {
                let block = (self.offset + i) / size;
                let lo_abs = block.saturating_sub(neighbours) * size;
                let hi_abs = block
                    .saturating_add(neighbours)
                    .saturating_add(1)
                    .saturating_mul(size);
                let lo = lo_abs.saturating_sub(self.offset);
                let hi = hi_abs.saturating_sub(self.offset).min(n);
                (lo, hi, 1)
            }
            Local::BigBird { block, .. } => {
                let b = i / block;
                let hi = b.saturating_add(2).saturating_mul(block).min(n);
                (b.saturating_sub(1) * block, hi, 1)
            }
        }
    }

    /// Number of keys query `i` sees in head `h`.
    pub fn row_count(&self, h: usize, i: usize) -> u64 {
        let unpadded = |range: std::iter::StepBy<std::ops::Range<usize>>| -> u64 {
            match &self.padding {
                None => range.len() as u64,
                Some(p) => range.filter(|&j| !p[j]).count() as u64,
            }
        };
        if self.is_global(i) {
            return unpadded((0..self.n).step_by(1));
        }
        let (lo, hi, step) = self.local_candidates(h, i);
        let local = unpadded((lo..hi).step_by(step));
        let extra = self
            .globals
            .iter()
            .filter(|&&g| !self.is_padding(g) && !self.is_local(h, i, g))
            .count() as u64;
        local + extra
    }

    /// The exact number of allowed (query, key) pairs over all heads: the `P` of
    /// "useful FLOPs = 4 * P * d_head".
    pub fn count_pairs(&self) -> u64 {
        let heads = self.dilations.len();
        (0..heads)
            .map(|h| (0..self.n).map(|i| self.row_count(h, i)).sum::<u64>())
            .sum()
    }
}
