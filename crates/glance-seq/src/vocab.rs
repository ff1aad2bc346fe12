//! [`Vocab`]: token ids of k-mers and special tokens, built in (DNABERT layout) or read
//! from a `vocab.txt` (one token per line, the id being the 0-based line number).
//!
//! Internally a k-mer is a base-4 number with digits A=0, T=1, C=2, G=3 (first base
//! most significant). That is the order of DNABERT's vocab files, so the built-in
//! vocabulary maps a k-mer to `5 + index` without a table; a vocabulary read from a
//! file gets a table of 4^k ids.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use crate::error::SeqError;

/// The special tokens, in the order of the built-in vocabulary (ids 0 to 4).
pub const SPECIAL_TOKENS: [&str; 5] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/// The bases in vocabulary digit order: A=0, T=1, C=2, G=3.
pub const BASES: [u8; 4] = *b"ATCG";

/// Largest supported k (4^12 k-mers).
pub const MAX_K: usize = 12;

/// Ids of the special tokens of a vocabulary (`None` when a file lacks one, except
/// `[UNK]`, which every vocabulary must have).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecialIds {
    /// `[PAD]`.
    pub pad: Option<u32>,
    /// `[UNK]`: the id of every k-mer holding a base other than A, C, G, T.
    pub unk: u32,
    /// `[CLS]`.
    pub cls: Option<u32>,
    /// `[SEP]`.
    pub sep: Option<u32>,
    /// `[MASK]`.
    pub mask: Option<u32>,
}

#[derive(Debug, Clone)]
enum Kmers {
    /// id = base + k-mer index.
    Contiguous { base: u32 },
    /// id = table[k-mer index] (the UNK id for k-mers the file lacks).
    Table(Vec<u32>),
}

/// A k-mer vocabulary.
#[derive(Debug, Clone)]
pub struct Vocab {
    k: usize,
    special: SpecialIds,
    kmers: Kmers,
    /// Ids of the single nucleotides A, T, C, G when a vocabulary of longer k-mers also
    /// lists them (Nucleotide Transformer's fallback tokens).
    singles: Option<[u32; 4]>,
    /// The tokens of a vocabulary read from a file (None for the built-in one, whose
    /// tokens are computed).
    tokens: Option<Vec<String>>,
}

impl Vocab {
    /// The built-in DNABERT-layout vocabulary: `[PAD]`=0, `[UNK]`=1, `[CLS]`=2,
    /// `[SEP]`=3, `[MASK]`=4, then all 4^k k-mers in A,T,C,G order.
    pub fn builtin(k: usize) -> Result<Vocab, SeqError> {
        check_k(k)?;
        Ok(Vocab {
            k,
            special: SpecialIds {
                pad: Some(0),
                unk: 1,
                cls: Some(2),
                sep: Some(3),
                mask: Some(4),
            },
            kmers: Kmers::Contiguous {
                base: SPECIAL_TOKENS.len() as u32,
            },
            singles: None,
            tokens: None,
        })
    }

    /// Reads a vocab.txt file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Vocab, SeqError> {
        let file = std::fs::File::open(path.as_ref()).map_err(SeqError::Open)?;
        Vocab::from_reader(std::io::BufReader::new(file))
    }

    /// Reads a vocab.txt: one token per line, id = line number - 1. Tokens made only of
    /// A, C, G, T are k-mers, all of one length k, except that a vocabulary of longer
    /// k-mers may also list the four single nucleotides (Nucleotide Transformer's
    /// fallback tokens, see [`Vocab::singles`]). An unknown token (`[UNK]` or ESM's
    /// `<unk>`) is required; the other specials are found in either spelling (`[CLS]`
    /// / `<cls>`, `[SEP]` / `<eos>`, `[PAD]` / `<pad>`, `[MASK]` / `<mask>`); any other
    /// token is kept but never produced by the tokenizers.
    pub fn from_reader<R: BufRead>(reader: R) -> Result<Vocab, SeqError> {
        let mut tokens = Vec::new();
        for (i, line) in crate::lines::limited_lines(reader).enumerate() {
            let line = line.map_err(|e| SeqError::Vocab(format!("line {}: {e}", i + 1)))?;
            tokens.push(line.trim_end_matches('\r').to_string());
        }
        let find = |names: [&str; 2]| {
            tokens
                .iter()
                .position(|t| names.contains(&t.as_str()))
                .map(|p| p as u32)
        };
        let unk = find(["[UNK]", "<unk>"]).ok_or_else(|| {
            SeqError::Vocab("vocabulary has no unknown token ([UNK] or <unk>)".into())
        })?;
        let special = SpecialIds {
            pad: find(["[PAD]", "<pad>"]),
            unk,
            cls: find(["[CLS]", "<cls>"]),
            sep: find(["[SEP]", "<eos>"]),
            mask: find(["[MASK]", "<mask>"]),
        };
        Vocab::from_tokens(tokens, special)
    }

    /// A vocabulary from its tokens (id = index) and the ids of its special tokens, as a
    /// tokenizer file other than vocab.txt gives them. Tokens made only of A, C, G, T are
    /// the k-mers (all of one length k, all 4^k present, plus possibly the four single
    /// nucleotides beside longer k-mers); other tokens are kept but never
    /// produced by the tokenizer. `special.unk` is the id every k-mer holding another base
    /// gets: usually `[UNK]`, or for single nucleotides a vocabulary's `N` token.
    pub fn from_tokens(tokens: Vec<String>, special: SpecialIds) -> Result<Vocab, SeqError> {
        let in_range = |id: Option<u32>| id.is_none_or(|id| (id as usize) < tokens.len());
        if !(in_range(Some(special.unk))
            && in_range(special.pad)
            && in_range(special.cls)
            && in_range(special.sep)
            && in_range(special.mask))
        {
            return Err(SeqError::Vocab(format!(
                "a special token id is outside the {} tokens",
                tokens.len()
            )));
        }
        let unk = special.unk;
        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(tokens.len());
        for (i, t) in tokens.iter().enumerate() {
            if let Some(first) = seen.insert(t.as_str(), i) {
                return Err(SeqError::Vocab(format!(
                    "line {}: token '{t}' repeats line {} (every token needs one id)",
                    i + 1,
                    first + 1
                )));
            }
        }
        let k = kmer_length(&tokens)?;
        check_k(k).map_err(|_| {
            SeqError::Vocab(format!(
                "vocabulary k-mers have length {k}; at most {MAX_K} is supported"
            ))
        })?;
        let mut table = vec![None; 1usize << (2 * k)];
        let mut singles = [None; 4];
        for (id, t) in tokens.iter().enumerate() {
            if is_kmer(t) && t.len() == k {
                table[kmer_index(t.as_bytes())] = Some(id as u32);
            } else if is_kmer(t) {
                singles[kmer_index(t.as_bytes())] = Some(id as u32);
            }
        }
        let singles = match singles {
            [Some(a), Some(t), Some(c), Some(g)] => Some([a, t, c, g]),
            [None, None, None, None] => None,
            _ => {
                return Err(SeqError::Vocab(
                    "the single nucleotides listed beside the k-mers must be all of A, C, G \
                     and T"
                        .into(),
                ))
            }
        };
        if let Some(missing) = table.iter().position(Option::is_none) {
            let listed = table.iter().filter(|id| id.is_some()).count();
            return Err(SeqError::Vocab(format!(
                "k-mer '{}' has no line: the {listed} k-mers listed (up to line {}) are not all \
                 {} of length {k}",
                kmer_string(missing as u64, k),
                tokens.len(),
                table.len()
            )));
        }
        let table = table.into_iter().map(|id| id.unwrap_or(unk)).collect();
        Ok(Vocab {
            k,
            special,
            kmers: Kmers::Table(table),
            singles,
            tokens: Some(tokens),
        })
    }

    /// A vocabulary whose tokens are not k-mers of one length (a byte-pair-encoding
    /// vocabulary, [`crate::Bpe`]): the tokens (id = index) and special ids are kept for
    /// names, sizes and special tokens, and the k-mer table is that of k = 1 (the ids of
    /// `A`, `C`, `G`, `T` where listed, else `special.unk`). Such a vocabulary is never
    /// used by the k-mer [`crate::Tokenizer`]; its own tokenizer produces the ids.
    pub fn from_opaque_tokens(tokens: Vec<String>, special: SpecialIds) -> Result<Vocab, SeqError> {
        let n = tokens.len();
        let ids = [
            Some(special.unk),
            special.pad,
            special.cls,
            special.sep,
            special.mask,
        ];
        if ids.iter().flatten().any(|&id| id as usize >= n) {
            return Err(SeqError::Vocab(format!(
                "a special token id is outside the {n} tokens"
            )));
        }
        let table = BASES
            .iter()
            .map(|&b| {
                tokens
                    .iter()
                    .position(|t| t.as_bytes() == [b])
                    .map_or(special.unk, |p| p as u32)
            })
            .collect();
        Ok(Vocab {
            k: 1,
            special,
            kmers: Kmers::Table(table),
            singles: None,
            tokens: Some(tokens),
        })
    }

    /// The ids of the single nucleotides A, T, C, G (vocabulary digit order) when the
    /// vocabulary lists them beside longer k-mers, as Nucleotide Transformer's does.
    pub fn singles(&self) -> Option<[u32; 4]> {
        self.singles
    }

    /// The k-mer length.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Number of tokens (ids are `0..len()`).
    pub fn len(&self) -> usize {
        match &self.tokens {
            Some(t) => t.len(),
            None => SPECIAL_TOKENS.len() + (1usize << (2 * self.k)),
        }
    }

    /// Never true: every vocabulary has at least `[UNK]` and one k-mer.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The special token ids.
    pub fn special(&self) -> SpecialIds {
        self.special
    }

    /// The id of the k-mer with index `index` (A=0, T=1, C=2, G=3 digits).
    #[inline(always)]
    pub fn kmer_id(&self, index: u64) -> u32 {
        match &self.kmers {
            Kmers::Contiguous { base } => base + index as u32,
            Kmers::Table(t) => t[index as usize],
        }
    }

    /// How k-mer ids are found: `Ok(base)` when id = base + index (ids increase with the
    /// index, so "lesser id" equals "lesser index"), else `Err(table)` indexed by k-mer.
    pub(crate) fn kmer_ids(&self) -> Result<u32, &[u32]> {
        match &self.kmers {
            Kmers::Contiguous { base } => Ok(*base),
            Kmers::Table(t) => Err(t),
        }
    }

    /// The token with id `id`.
    pub fn token(&self, id: u32) -> Option<Cow<'_, str>> {
        match &self.tokens {
            Some(t) => t.get(id as usize).map(|s| Cow::Borrowed(s.as_str())),
            None => {
                let id = id as usize;
                if id < SPECIAL_TOKENS.len() {
                    Some(Cow::Borrowed(SPECIAL_TOKENS[id]))
                } else if id < self.len() {
                    Some(Cow::Owned(kmer_string(
                        (id - SPECIAL_TOKENS.len()) as u64,
                        self.k,
                    )))
                } else {
                    None
                }
            }
        }
    }

    /// The id of `token`, if the vocabulary has it.
    pub fn id(&self, token: &str) -> Option<u32> {
        match &self.tokens {
            Some(t) => t.iter().position(|s| s == token).map(|p| p as u32),
            None => {
                if let Some(p) = SPECIAL_TOKENS.iter().position(|s| *s == token) {
                    Some(p as u32)
                } else if token.len() == self.k && is_kmer(token) {
                    Some(self.kmer_id(kmer_index(token.as_bytes()) as u64))
                } else {
                    None
                }
            }
        }
    }

    /// Writes the vocabulary as vocab.txt (one token per line).
    pub fn write_to<W: std::io::Write>(&self, mut w: W) -> std::io::Result<()> {
        for id in 0..self.len() as u32 {
            if let Some(t) = self.token(id) {
                writeln!(w, "{t}")?;
            }
        }
        Ok(())
    }
}

/// Checks that `k` is a supported k-mer length (`1..=MAX_K`): the one place that bound
/// is enforced.
pub fn check_k(k: usize) -> Result<(), SeqError> {
    if (1..=MAX_K).contains(&k) {
        Ok(())
    } else {
        Err(SeqError::Options(format!(
            "k must be in 1..={MAX_K}, got {k}"
        )))
    }
}

/// The k-mer length of a vocabulary's tokens: every A/C/G/T-only token has length k,
/// except single nucleotides beside longer k-mers.
fn kmer_length(tokens: &[String]) -> Result<usize, SeqError> {
    let k = tokens
        .iter()
        .filter(|t| is_kmer(t))
        .map(String::len)
        .max()
        .ok_or_else(|| SeqError::Vocab("vocabulary has no k-mer tokens".into()))?;
    if let Some((i, t)) = tokens
        .iter()
        .enumerate()
        .find(|(_, t)| is_kmer(t) && t.len() != k && t.len() != 1)
    {
        return Err(SeqError::Vocab(format!(
            "line {}: k-mer '{t}' has length {}, other k-mers have length {k}",
            i + 1,
            t.len()
        )));
    }
    Ok(k)
}

fn is_kmer(t: &str) -> bool {
    !t.is_empty() && t.bytes().all(|b| matches!(b, b'A' | b'C' | b'G' | b'T'))
}

/// Index of an upper-case ACGT k-mer (A=0, T=1, C=2, G=3 digits).
pub(crate) fn kmer_index(kmer: &[u8]) -> usize {
    kmer.iter().fold(0usize, |acc, &b| {
        let d = match b {
            b'A' => 0,
            b'T' => 1,
            b'C' => 2,
            _ => 3,
        };
        (acc << 2) | d
    })
}

/// The k-mer string of an index.
pub fn kmer_string(index: u64, k: usize) -> String {
    (0..k)
        .rev()
        .map(|i| BASES[((index >> (2 * i)) & 3) as usize] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_tokens_with_explicit_special_ids() {
        let tokens: Vec<String> = ["<pad>", "<unk>", "A", "C", "G", "T", "N"]
            .iter()
            .map(|t| t.to_string())
            .collect();
        let special = SpecialIds {
            pad: Some(0),
            unk: 6,
            cls: None,
            sep: None,
            mask: None,
        };
        let v = Vocab::from_tokens(tokens.clone(), special).unwrap();
        assert_eq!(v.k(), 1);
        assert_eq!(v.len(), 7);
        assert_eq!(v.kmer_id(kmer_index(b"G") as u64), 4);
        assert_eq!(v.special().unk, 6);
        assert_eq!(v.token(1).unwrap(), "<unk>");
        let out_of_range = SpecialIds { unk: 7, ..special };
        assert!(Vocab::from_tokens(tokens, out_of_range).is_err());
    }

    #[test]
    fn builtin_layout() {
        let v = Vocab::builtin(3).unwrap();
        assert_eq!(v.len(), 5 + 64);
        assert_eq!(v.token(0).unwrap(), "[PAD]");
        assert_eq!(v.token(5).unwrap(), "AAA");
        assert_eq!(v.token(6).unwrap(), "AAT");
        assert_eq!(v.token(9).unwrap(), "ATA");
        assert_eq!(v.token(68).unwrap(), "GGG");
        assert!(v.token(69).is_none());
        assert_eq!(v.id("AAC"), Some(7));
        assert_eq!(v.id("[MASK]"), Some(4));
        assert!(Vocab::builtin(0).is_err());
        assert!(Vocab::builtin(13).is_err());
    }

    #[test]
    fn file_vocab_any_order() {
        // every 2-mer, in reverse order, after specials
        let mut text = String::from("[UNK]\n[PAD]\n");
        for i in (0..16).rev() {
            text.push_str(&kmer_string(i, 2));
            text.push('\n');
        }
        let v = Vocab::from_reader(text.as_bytes()).unwrap();
        assert_eq!(v.k(), 2);
        assert_eq!(v.special().unk, 0);
        assert_eq!(v.special().pad, Some(1));
        assert_eq!(v.kmer_id(kmer_index(b"GG") as u64), 2);
        assert_eq!(v.kmer_id(15 - 3), 2 + 3);
        assert!(Vocab::from_reader("AA\nCC\n".as_bytes()).is_err());
        assert!(Vocab::from_reader("[UNK]\nAA\nCCC\n".as_bytes()).is_err());
    }

    #[test]
    fn duplicated_tokens_and_missing_kmers_are_refused() {
        let mut full = String::from("[UNK]\n");
        for i in 0..16 {
            full.push_str(&kmer_string(i, 2));
            full.push('\n');
        }
        assert!(Vocab::from_reader(full.as_bytes()).is_ok());
        let twice = format!("{full}AC\n");
        let err = Vocab::from_reader(twice.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 18: token 'AC' repeats line"), "{err}");
        let special_twice = format!("{full}[UNK]\n");
        let err = Vocab::from_reader(special_twice.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 18: token '[UNK]' repeats line 1"),
            "{err}"
        );
        let missing: String = full
            .lines()
            .filter(|l| *l != "GT")
            .map(|l| format!("{l}\n"))
            .collect();
        let err = Vocab::from_reader(missing.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.contains("k-mer 'GT' has no line"), "{err}");
    }
}
