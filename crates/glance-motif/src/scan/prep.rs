//! Per-chunk preparation shared by every motif: base codes, dinucleotide codes for the
//! SIMD filter, k-mer codes (the superalphabet) for the exact table scorer, and runs of
//! valid (ACGT) bases.

/// Code of a base: A=0, C=1, G=2, T=3 (either case); anything else is 4 (not scoreable).
#[inline]
pub const fn base_code(b: u8) -> u8 {
    match b {
        b'A' | b'a' => 0,
        b'C' | b'c' => 1,
        b'G' | b'g' => 2,
        b'T' | b't' => 3,
        _ => 4,
    }
}

/// [`base_code`] of every byte.
const BASE_CODES: [u8; 256] = {
    let mut t = [4u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = base_code(i as u8);
        i += 1;
    }
    t
};

/// `out[i] = ((codes[i] & mask) << 2) | (next[i] & 3)`: the code of the bases at `i`
/// with one more base appended (past the end of `next`, base code 0).
fn append_base(out: &mut [u8], codes: &[u8], mask: u8, next: &[u8]) {
    let m = next.len().min(out.len());
    let (with_next, last) = out.split_at_mut(m);
    for ((o, &c), &b) in with_next.iter_mut().zip(codes).zip(next) {
        *o = ((c & mask) << 2) | (b & 3);
    }
    for (o, &c) in last.iter_mut().zip(&codes[m..]) {
        *o = (c & mask) << 2;
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

    /// Refills the buffers for a new chunk (reusing their allocations). Each array is
    /// computed position by position from the ones before it (k-mer codes from the
    /// dinucleotide and trinucleotide codes) with no dependency between positions
    /// except in the valid runs, so the loops vectorise.
    pub fn fill(&mut self, bases: &[u8], ks: &[bool], max_width: usize) {
        let n = bases.len();
        let padded = n + PAD + max_width;
        self.codes.clear();
        self.codes
            .extend(bases.iter().map(|&b| BASE_CODES[usize::from(b)]));
        self.dinuc.clear();
        self.dinuc.resize(padded, 0);
        append_base(
            &mut self.dinuc[..n],
            &self.codes,
            3,
            &self.codes[n.min(1)..],
        );
        self.trinuc.clear();
        self.trinuc.resize(padded, 0);
        append_base(
            &mut self.trinuc[..n],
            &self.dinuc,
            15,
            &self.codes[n.min(2)..],
        );
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
            let sentinel = 1u16 << (2 * k);
            v.resize(n + max_width, sentinel);
            // the k-mer at i: the code of its first bases (k <= 3), or of its first
            // three or two shifted left and the dinucleotide after them (k = 4, 5; the
            // padded dinucleotide array reaches past every position)
            let (head, tail): (&[u8], Option<&[u8]>) = match k {
                1 => (&self.codes, None),
                2 => (&self.dinuc, None),
                3 => (&self.trinuc, None),
                4 => (&self.dinuc, Some(&self.dinuc[2..2 + n])),
                _ => (&self.trinuc, Some(&self.dinuc[3..3 + n])),
            };
            let valid = self.valid_run.iter().map(|&r| usize::from(r) >= k);
            let slots = v[..n].iter_mut().zip(valid);
            match tail {
                None => {
                    for ((slot, ok), &h) in slots.zip(head) {
                        *slot = if ok { u16::from(h) } else { sentinel };
                    }
                }
                Some(tail) => {
                    for (((slot, ok), &h), &t) in slots.zip(head).zip(tail) {
                        *slot = if ok {
                            (u16::from(h) << 4) | u16::from(t)
                        } else {
                            sentinel
                        };
                    }
                }
            }
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
    fn codes_and_kmers_follow_their_definitions_and_are_padded() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let alphabet = b"ACGTacgtNnRx";
        let max_width = 12;
        let ks = [false, true, true, true, true, true];
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
            // dinucleotide and trinucleotide codes as documented (a base past the end
            // counts as code 0), zeros in the padding; valid runs counted to the end
            let code = |i: usize| bases.get(i).map_or(0, |&b| base_code(b) & 3);
            let padded = n + PAD + max_width;
            assert_eq!((p.dinuc.len(), p.trinuc.len()), (padded, padded));
            for i in 0..n {
                let di = 4 * code(i) + code(i + 1);
                assert_eq!(p.dinuc[i], di, "n {n} i {i}");
                assert_eq!(p.trinuc[i], 4 * di + code(i + 2), "n {n} i {i}");
                let run = bases[i..].iter().take_while(|&&b| base_code(b) < 4).count();
                assert_eq!(usize::from(p.valid_run[i]), run, "n {n} i {i}");
            }
            assert!(p.dinuc[n..].iter().chain(&p.trinuc[n..]).all(|&c| c == 0));
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
