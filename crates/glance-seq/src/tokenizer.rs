//! [`Tokenizer`]: bases to k-mer token ids with a rolling 2-bit encoder.
//!
//! Token `i` covers bases `[i*stride, i*stride + k)` of its record (or region); a
//! sequence of `n >= k` bases has `(n - k) / stride + 1` tokens, a shorter one none.
//! Each base is looked up once in a 256-entry table and shifted into a 2k-bit word (and,
//! for canonical k-mers, into its reverse complement); a run counter tells whether the
//! last k bases were all A/C/G/T, otherwise the token is `[UNK]`. Nothing is allocated
//! per token.

use crate::chunk::Chunk;
use crate::error::SeqError;
use crate::vocab::{check_k, Vocab};

/// What to do with lower-case (soft-masked) bases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SoftMask {
    /// Read them as the upper-case bases (the default).
    #[default]
    Upper,
    /// Treat them as unknown: any k-mer touching one becomes `[UNK]`.
    Unknown,
}

/// Tokenizer settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenizerOptions {
    /// k-mer length, 1..=12.
    pub k: usize,
    /// Bases between the starts of consecutive tokens (1 = overlapping as DNABERT,
    /// k = non-overlapping).
    pub stride: usize,
    /// Emit the lesser (in the vocabulary's order) of each k-mer and its reverse
    /// complement.
    pub canonical: bool,
    /// Soft-mask policy.
    pub soft_mask: SoftMask,
}

impl Default for TokenizerOptions {
    fn default() -> Self {
        TokenizerOptions {
            k: 6,
            stride: 1,
            canonical: false,
            soft_mask: SoftMask::Upper,
        }
    }
}

/// Which tokens a call to [`Tokenizer::tokenize_chunk`] produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenSpan {
    /// Index (within the record) of the first token produced.
    pub first: u64,
    /// Number of tokens produced.
    pub count: usize,
}

/// Code of a base that is not A/C/G/T (or is soft-masked under [`SoftMask::Unknown`]).
const INVALID: u8 = 4;

/// Turns bases into token ids of a [`Vocab`].
#[derive(Debug, Clone)]
pub struct Tokenizer {
    options: TokenizerOptions,
    vocab: Vocab,
    codes: [u8; 256],
    mask: u64,
}

impl Tokenizer {
    /// A tokenizer with the built-in DNABERT-layout vocabulary for `options.k`.
    pub fn new(options: TokenizerOptions) -> Result<Tokenizer, SeqError> {
        Tokenizer::with_vocab(options, Vocab::builtin(options.k)?)
    }

    /// A tokenizer with a given vocabulary, whose k must equal `options.k`.
    pub fn with_vocab(options: TokenizerOptions, vocab: Vocab) -> Result<Tokenizer, SeqError> {
        let k = options.k;
        check_k(k)?;
        if options.stride == 0 {
            return Err(SeqError::Options("stride must be at least 1".into()));
        }
        if vocab.k() != k {
            return Err(SeqError::Vocab(format!(
                "the vocabulary holds {}-mers but k is {k}",
                vocab.k()
            )));
        }
        let mut codes = [INVALID; 256];
        for (code, (upper, lower)) in [(b'A', b'a'), (b'T', b't'), (b'C', b'c'), (b'G', b'g')]
            .into_iter()
            .enumerate()
        {
            codes[upper as usize] = code as u8;
            if options.soft_mask == SoftMask::Upper {
                codes[lower as usize] = code as u8;
            }
        }
        Ok(Tokenizer {
            options,
            vocab,
            codes,
            mask: (1u64 << (2 * k)) - 1,
        })
    }

    /// The settings.
    pub fn options(&self) -> TokenizerOptions {
        self.options
    }

    /// The vocabulary.
    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    /// Number of tokens of a sequence of `len` bases.
    pub fn token_count(&self, len: u64) -> u64 {
        let k = self.options.k as u64;
        if len < k {
            0
        } else {
            (len - k) / self.options.stride as u64 + 1
        }
    }

    /// Appends the tokens of a whole sequence to `out`.
    pub fn tokenize_into(&self, seq: &[u8], out: &mut Vec<u32>) {
        let n = self.token_count(seq.len() as u64) as usize;
        self.emit(seq, 0, n, out);
    }

    /// Appends the tokens that `chunk` owns: those whose first base lies in the chunk's
    /// core, on the stride grid anchored at `chunk.origin`. The right halo must hold the
    /// k-1 bases that the last core tokens reach into (unless the record ends within
    /// the chunk);
    /// otherwise this fails rather than silently dropping tokens. Concatenating the
    /// tokens of a record's chunks gives exactly [`Tokenizer::tokenize_into`] of the
    /// record.
    pub fn tokenize_chunk(&self, chunk: &Chunk, out: &mut Vec<u32>) -> Result<TokenSpan, SeqError> {
        let s = self.options.stride as u64;
        let k = self.options.k as u64;
        let rel = chunk.core.start - chunk.origin;
        let first = rel.div_ceil(s);
        let p0 = chunk.origin + first * s;
        let in_core = if p0 < chunk.core.end {
            (chunk.core.end - 1 - p0) / s + 1
        } else {
            0
        };
        let end = chunk.end();
        let fit = if p0 + k <= end {
            ((end - k - p0) / s + 1).min(in_core)
        } else {
            0
        };
        let reaches_record_end = chunk
            .record_len
            .is_some_and(|len| chunk.origin + len == end);
        if fit < in_core && !reaches_record_end {
            return Err(SeqError::Options(format!(
                "chunk right halo too small for k={k}: it must hold at least k-1 bases"
            )));
        }
        if p0 < chunk.start {
            return Err(SeqError::Options(
                "chunk core starts before its bases".into(),
            ));
        }
        self.emit(&chunk.bases, (p0 - chunk.start) as usize, fit as usize, out);
        Ok(TokenSpan {
            first,
            count: fit as usize,
        })
    }

    /// Appends `n` tokens starting at `seq[first..]`, one every stride bases.
    fn emit(&self, seq: &[u8], first: usize, n: usize, out: &mut Vec<u32>) {
        if n == 0 {
            return;
        }
        let last = first + (n - 1) * self.options.stride + self.options.k;
        let seq = &seq[first..last];
        let start = out.len();
        out.resize(start + n, 0);
        let dst = &mut out[start..];
        let ids = self.vocab.kmer_ids();
        match (self.options.canonical, ids) {
            (false, Ok(base)) => self.run::<false, _>(seq, dst, |f, _| base + f as u32),
            (true, Ok(base)) => self.run::<true, _>(seq, dst, |f, r| base + f.min(r) as u32),
            (false, Err(table)) => self.run::<false, _>(seq, dst, |f, _| table[f as usize]),
            (true, Err(table)) => {
                let unk = self.vocab.special().unk;
                self.run::<true, _>(seq, dst, |f, r| {
                    let (a, b) = (table[f as usize], table[r as usize]);
                    // A k-mer missing from the vocabulary ([UNK]) loses to one present.
                    if a == unk {
                        b
                    } else if b == unk {
                        a
                    } else {
                        a.min(b)
                    }
                })
            }
        }
    }

    /// The rolling encoder: `seq` holds exactly the bases of the `dst.len()` tokens;
    /// `id(forward, reverse_complement)` maps the k-mer indexes of a valid token to its
    /// id (the reverse complement is only tracked when `CANONICAL`).
    #[inline(always)]
    fn run<const CANONICAL: bool, F: Fn(u64, u64) -> u32>(
        &self,
        seq: &[u8],
        dst: &mut [u32],
        id: F,
    ) {
        let k = self.options.k;
        let s = self.options.stride;
        let mask = self.mask;
        let unk = self.vocab.special().unk;
        let rc_shift = 2 * (k - 1);
        let codes = &self.codes;
        // `invalid` has bit i set when the base i positions back was not A/C/G/T. The
        // shift registers are masked only when read, so that the loop-carried chain is
        // one shift-or per base.
        let invalid_mask = (1u64 << k) - 1;
        let (mut fwd, mut rc, mut invalid) = (0u64, 0u64, 0u64);
        let mut push = |b: u8| {
            let c = codes[b as usize];
            let d = (c & 3) as u64;
            fwd = (fwd << 2) | d;
            if CANONICAL {
                rc = (rc >> 2) | ((d ^ 1) << rc_shift);
            }
            invalid = (invalid << 1) | (c >> 2) as u64;
            (fwd & mask, rc, invalid & invalid_mask)
        };
        for &b in &seq[..k - 1] {
            push(b);
        }
        if s == 1 {
            for (&b, out) in seq[k - 1..].iter().zip(dst.iter_mut()) {
                let (f, r, bad) = push(b);
                *out = if bad == 0 { id(f, r) } else { unk };
            }
        } else {
            let mut next = k - 1;
            for (t, out) in dst.iter_mut().enumerate() {
                let end = k + t * s;
                let mut last = (0, 0, 1);
                for &b in &seq[next..end] {
                    last = push(b);
                }
                next = end;
                let (f, r, bad) = last;
                *out = if bad == 0 { id(f, r) } else { unk };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(seq: &[u8], k: usize, stride: usize, canonical: bool, soft_mask: SoftMask) -> Vec<u32> {
        let t = Tokenizer::new(TokenizerOptions {
            k,
            stride,
            canonical,
            soft_mask,
        })
        .unwrap();
        let mut out = Vec::new();
        t.tokenize_into(seq, &mut out);
        out
    }

    #[test]
    fn dnabert_ids() {
        // A=0 T=1 C=2 G=3; id = 5 + index.
        assert_eq!(tok(b"AAAT", 3, 1, false, SoftMask::Upper), vec![5, 6]);
        assert_eq!(tok(b"GGG", 3, 1, false, SoftMask::Upper), vec![5 + 63]);
        assert_eq!(
            tok(b"ACGTAC", 2, 2, false, SoftMask::Upper),
            vec![5 + 2, 5 + 13, 5 + 2]
        );
        assert_eq!(tok(b"AC", 3, 1, false, SoftMask::Upper), Vec::<u32>::new());
    }

    #[test]
    fn unknown_and_soft_mask() {
        assert_eq!(
            tok(b"ANAAA", 2, 1, false, SoftMask::Upper),
            vec![1, 1, 5, 5]
        );
        assert_eq!(tok(b"aaA", 2, 1, false, SoftMask::Upper), vec![5, 5]);
        assert_eq!(tok(b"aaA", 2, 1, false, SoftMask::Unknown), vec![1, 1]);
        assert_eq!(tok(b"ARA", 1, 1, false, SoftMask::Upper), vec![5, 1, 5]);
    }

    #[test]
    fn canonical_is_min_of_kmer_and_revcomp() {
        // GGG (index 63) vs CCC (index 42): CCC is less.
        assert_eq!(tok(b"GGG", 3, 1, true, SoftMask::Upper), vec![5 + 42]);
        // ACG's reverse complement is CGT: ACG = 0,2,3 -> 11; CGT = 2,3,1 -> 45.
        assert_eq!(tok(b"ACG", 3, 1, true, SoftMask::Upper), vec![5 + 11]);
        assert_eq!(tok(b"CGT", 3, 1, true, SoftMask::Upper), vec![5 + 11]);
    }

    #[test]
    fn rejects_bad_options() {
        let o = TokenizerOptions {
            stride: 0,
            ..Default::default()
        };
        assert!(Tokenizer::new(o).is_err());
        let o = TokenizerOptions {
            k: 13,
            ..Default::default()
        };
        assert!(Tokenizer::new(o).is_err());
        let o = TokenizerOptions {
            k: 4,
            ..Default::default()
        };
        assert!(Tokenizer::with_vocab(o, Vocab::builtin(3).unwrap()).is_err());
    }
}
