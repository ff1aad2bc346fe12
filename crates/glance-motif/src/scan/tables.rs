//! Per-motif, per-strand lookup tables: exact k-mer (superalphabet) tables whose sums
//! equal the plain column sum, with a block order and suffix maxima for the lookahead
//! bound; and quantised dinucleotide deficit tables for the SIMD prefilter.

use super::prep::Prepared;

/// Table value of a k-mer holding a non-ACGT base: far below any reachable threshold
/// even when summed over every block.
pub const INVALID: i32 = -(1 << 26);

/// Largest k-mer length used by the exact tables (4^5 = 1024 entries per block).
pub const MAX_K: usize = 5;

/// One block of `k` consecutive motif columns starting at `offset`.
#[derive(Debug, Clone)]
pub struct KmerBlock {
    /// First motif column covered.
    pub offset: usize,
    /// Block length (all blocks of a motif share it).
    pub k: usize,
    /// `4^k + 1` entries: summed column scores of each k-mer; the last is [`INVALID`].
    pub table: Vec<i32>,
    /// Largest entry.
    pub max: i32,
}

/// Lookup structures of one strand of one motif.
#[derive(Debug, Clone)]
pub struct StrandTables {
    /// Blocks in evaluation order (most selective first).
    pub blocks: Vec<KmerBlock>,
    /// `rest_max[b]`: sum of the maxima of blocks after `b` in evaluation order.
    pub rest_max: Vec<i32>,
    /// Dinucleotide deficit tables (16 entries each) and the column each starts at.
    pub dinuc: Vec<([u8; 16], usize)>,
    /// Trinucleotide deficit tables (64 entries each) and the column each starts at.
    pub trinuc: Vec<([u8; 64], usize)>,
    /// A window can reach the threshold only if its summed dinucleotide (or
    /// trinucleotide) deficits are at most this value.
    pub dinuc_limit: u8,
}

impl StrandTables {
    /// Builds the tables of an integer matrix for hits at `threshold` (scaled units).
    pub fn new(matrix: &[[i32; 4]], threshold: i32) -> StrandTables {
        let w = matrix.len();
        let k = w.min(MAX_K);
        let mut offsets: Vec<usize> = (0..w / k).map(|b| b * k).collect();
        if !w.is_multiple_of(k) {
            offsets.push(w - k);
        }
        let mut blocks: Vec<KmerBlock> = Vec::with_capacity(offsets.len());
        let mut covered = 0usize; // columns already counted by earlier blocks
        for &off in &offsets {
            // entry `code`: the summed scores of its k bases (first base in the high
            // bits; columns counted by an earlier block add 0), then the INVALID entry,
            // in one allocation of the final size: the table of the first j columns is
            // extended one column at a time in place, from its last entry down (entry
            // `c` moves to `4c..4c + 4`, never over an entry not yet read)
            let n = 1usize << (2 * k);
            let mut table = vec![0i32; n + 1];
            for j in 0..k {
                let col = off + j;
                let add = if col < covered { [0; 4] } else { matrix[col] };
                for c in (0..1usize << (2 * j)).rev() {
                    let t = table[c];
                    for (b, a) in add.iter().enumerate() {
                        table[4 * c + b] = t + a;
                    }
                }
            }
            let max = *table[..n].iter().max().unwrap_or(&0);
            table[n] = INVALID;
            covered = off + k;
            blocks.push(KmerBlock {
                offset: off,
                k,
                table,
                max,
            });
        }
        // Most selective first: largest spread between best and mean entry.
        blocks.sort_by_cached_key(|b| {
            let n = b.table.len() - 1;
            let mean = b.table[..n].iter().map(|&v| i64::from(v)).sum::<i64>() / n as i64;
            std::cmp::Reverse(i64::from(b.max) - mean)
        });
        let mut rest_max = vec![0i32; blocks.len()];
        let mut acc = 0;
        for b in (0..blocks.len()).rev() {
            rest_max[b] = acc;
            acc += blocks[b].max;
        }
        let (pairs, dinuc_limit) = deficit_tables(matrix, threshold, 2);
        let dinuc = pairs
            .into_iter()
            .map(|(t, off)| {
                let mut a = [0u8; 16];
                a.copy_from_slice(&t);
                (a, off)
            })
            .collect();
        let (triples, _) = deficit_tables(matrix, threshold, 3);
        let trinuc = triples
            .into_iter()
            .map(|(t, off)| {
                let mut a = [0u8; 64];
                a.copy_from_slice(&t);
                (a, off)
            })
            .collect();
        StrandTables {
            blocks,
            rest_max,
            dinuc,
            trinuc,
            dinuc_limit,
        }
    }

    /// Exact scaled score of the window starting at `i` (`None` if it holds a non-ACGT
    /// base), by k-mer table sums.
    #[inline]
    pub fn score(&self, prep: &Prepared, i: usize) -> Option<i32> {
        let mut s = 0i32;
        for b in &self.blocks {
            s += b.table[usize::from(prep.kmers[b.k][i + b.offset])];
        }
        (s >= 0).then_some(s)
    }

    /// Asks the CPU to start loading the k-mer codes [`StrandTables::score`] reads for
    /// the window at `i` (a hint only: nothing happens out of bounds).
    #[inline]
    pub fn prefetch(&self, prep: &Prepared, i: usize) {
        if let Some(first) = self.blocks.first() {
            let codes = &prep.kmers[first.k];
            // the blocks read entries i..=i + w - k: a line at each end of that span
            // (blocks x k is w rounded up to whole blocks, at most k - 1 past it)
            for at in [i, i + self.blocks.len() * first.k] {
                if let Some(c) = codes.get(at) {
                    super::prefetch(c);
                }
            }
        }
    }

    /// Exact score if it can reach `threshold` (lookahead: stops as soon as the partial
    /// sum plus the best possible rest falls short), else `None`.
    #[inline]
    pub fn score_at_least(&self, prep: &Prepared, i: usize, threshold: i32) -> Option<i32> {
        let mut s = 0i32;
        for (b, blk) in self.blocks.iter().enumerate() {
            s += blk.table[usize::from(prep.kmers[blk.k][i + blk.offset])];
            if s + self.rest_max[b] < threshold {
                return None;
            }
        }
        Some(s)
    }
}

/// Quantised deficit tables for groups of `k` columns (k = 2: 16 entries indexed by a
/// dinucleotide code; k = 3: 64 entries indexed by a trinucleotide code): deficit =
/// column max minus the entry; a window reaches `threshold` only if its summed deficit
/// is at most `D = sum(col max) - threshold`. With `q = D / 254 + 1`,
/// `floor(group deficit / q)` summed over groups is at most `floor(D / q) <= 253` for
/// every hit, so a saturating u8 sum is a valid filter. A last partial group reuses the
/// final `k` columns (or the first ones when the motif is narrower than `k`) and counts
/// only the columns not yet counted.
fn deficit_tables(matrix: &[[i32; 4]], threshold: i32, k: usize) -> (Vec<(Vec<u8>, usize)>, u8) {
    let w = matrix.len();
    let colmax: Vec<i32> = matrix
        .iter()
        .map(|r| *r.iter().max().unwrap_or(&0))
        .collect();
    let best: i32 = colmax.iter().sum();
    let d_total = i64::from(best) - i64::from(threshold);
    if d_total < 0 {
        return (Vec::new(), 0);
    }
    let q = d_total / 254 + 1;
    let limit = (d_total / q) as u8;
    let mut out = Vec::new();
    let mut col = 0;
    while col < w {
        let start = if col + k <= w {
            col
        } else {
            w.saturating_sub(k)
        };
        let n = 1usize << (2 * k);
        let mut t = vec![0u8; n];
        for (code, slot) in t.iter_mut().enumerate() {
            let mut d = 0i64;
            for j in 0..k {
                let c = start + j;
                if c < col || c >= w {
                    continue; // counted by an earlier group, or past the motif
                }
                let base = (code >> (2 * (k - 1 - j))) & 3;
                d += i64::from(colmax[c] - matrix[c][base]);
            }
            *slot = (d / q).min(255) as u8;
        }
        out.push((t, start));
        col += k;
    }
    (out, limit)
}
