//! Per-chunk preparation shared by every motif: base codes, dinucleotide codes for the
//! SIMD filter, k-mer codes (the superalphabet) for the exact table scorer, and runs of
//! valid (ACGT) bases.

/// Code of a base: A=0, C=1, G=2, T=3 (either case); anything else is 4 (not scoreable).
#[inline]
pub fn base_code(b: u8) -> u8 {
    match b {
        b'A' | b'a' => 0,
        b'C' | b'c' => 1,
        b'G' | b'g' => 2,
        b'T' | b't' => 3,
        _ => 4,
    }
}

/// Extra zero bytes after the dinucleotide and trinucleotide arrays so vector loads
/// stay in bounds: the prefilter reads up to four 64-byte registers past a step's start.
pub const PAD: usize = 256;

/// The prepared arrays of one chunk.
#[derive(Debug, Default)]
pub struct Prepared {
    /// Base codes (0..=4), one per base of the chunk.
    pub codes: Vec<u8>,
    /// `dinuc[i] = 4 * (codes[i] & 3) + (codes[i + 1] & 3)`, padded with zeros
    /// ([`PAD`] plus the widest motif).
    pub dinuc: Vec<u8>,
    /// `trinuc[i] = 16 * (codes[i] & 3) + 4 * (codes[i + 1] & 3) + (codes[i + 2] & 3)`,
    /// padded like `dinuc`.
    pub trinuc: Vec<u8>,
    /// `kmers[k][i]`: code of the k-mer at i (or `4^k` if it holds a non-ACGT base), for
    /// each k in use (empty vectors for the others); padded with `4^k` to `len +
    /// max_width` entries, so any window start `i < len` reads in bounds.
    pub kmers: Vec<Vec<u16>>,
    /// `valid_run[i]`: number of consecutive ACGT bases starting at i (capped at u16::MAX).
    pub valid_run: Vec<u16>,
}

impl Prepared {
    /// Prepares `bases` for the k-mer sizes flagged in `ks` (index = k) and motifs up
    /// to `max_width` wide.
    pub fn new(bases: &[u8], ks: &[bool], max_width: usize) -> Prepared {
        let mut p = Prepared::default();
        p.fill(bases, ks, max_width);
        p
    }

    /// Refills the buffers for a new chunk (reusing their allocations).
    pub fn fill(&mut self, bases: &[u8], ks: &[bool], max_width: usize) {
        let n = bases.len();
        self.codes.clear();
        self.codes.extend(bases.iter().map(|&b| base_code(b)));
        self.dinuc.clear();
        self.dinuc.reserve(n + PAD + max_width);
        for i in 0..n {
            let a = self.codes[i] & 3;
            let b = if i + 1 < n { self.codes[i + 1] & 3 } else { 0 };
            self.dinuc.push((a << 2) | b);
        }
        self.dinuc.resize(n + PAD + max_width, 0);
        self.trinuc.clear();
        self.trinuc.reserve(n + PAD + max_width);
        for i in 0..n {
            let c = if i + 2 < n { self.codes[i + 2] & 3 } else { 0 };
            self.trinuc.push((self.dinuc[i] << 2) | c);
        }
        self.trinuc.resize(n + PAD + max_width, 0);
        self.valid_run.clear();
        self.valid_run.resize(n, 0);
        let mut run: u32 = 0;
        for i in (0..n).rev() {
            run = if self.codes[i] < 4 { run + 1 } else { 0 };
            self.valid_run[i] = run.min(u32::from(u16::MAX)) as u16;
        }
        self.kmers.resize(ks.len(), Vec::new());
        for (k, &used) in ks.iter().enumerate() {
            let v = &mut self.kmers[k];
            v.clear();
            if !used || k == 0 {
                continue;
            }
            let sentinel = 1u32 << (2 * k);
            let mask = sentinel - 1;
            let mut code: u32 = 0;
            for i in 0..n {
                code = ((code << 2) | u32::from(self.codes[i] & 3)) & mask;
                if i + 1 >= k {
                    let start = i + 1 - k;
                    let valid = usize::from(self.valid_run[start]) >= k;
                    v.push(if valid { code as u16 } else { sentinel as u16 });
                }
            }
            v.resize(n + max_width, sentinel as u16);
        }
    }

    /// Number of bases.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// True when the chunk is empty.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition of `kmers[k][i]`: the k-mer's code, or `4^k` when it holds a
    /// non-ACGT base or runs past the end.
    fn kmer_code(bases: &[u8], k: usize, i: usize) -> u16 {
        let sentinel = 1u16 << (2 * k);
        if i + k > bases.len() {
            return sentinel;
        }
        let mut code = 0u16;
        for &b in &bases[i..i + k] {
            let c = base_code(b);
            if c > 3 {
                return sentinel;
            }
            code = (code << 2) | u16::from(c);
        }
        code
    }

    #[test]
    fn kmers_follow_the_definition_and_are_padded() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let alphabet = b"ACGTacgtNnRx";
        let max_width = 12;
        let ks = [false, true, true, false, true, true];
        let mut p = Prepared::default();
        for n in [0usize, 1, 2, 3, 4, 5, 7, 11, 64, 300] {
            let bases: Vec<u8> = (0..n)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    alphabet[(state % alphabet.len() as u64) as usize]
                })
                .collect();
            p.fill(&bases, &ks, max_width);
            for (k, &used) in ks.iter().enumerate() {
                if !used || k == 0 {
                    assert!(p.kmers[k].is_empty());
                    continue;
                }
                assert_eq!(p.kmers[k].len(), n + max_width, "n {n} k {k}");
                for (i, &c) in p.kmers[k].iter().enumerate() {
                    assert_eq!(c, kmer_code(&bases, k, i), "n {n} k {k} i {i}");
                }
            }
        }
    }
}
