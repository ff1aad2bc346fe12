//! [`LongestMatch`]: Nucleotide Transformer's tokenization, as transformers'
//! `EsmTokenizer` does it with the model's vocab.txt: at each position the longest
//! vocabulary token that matches is taken, left to right. With a vocabulary of all
//! k-mers plus the single nucleotides A, C, G, T and N that is:
//!
//! - inside a run of A/C/G/T bases, non-overlapping k-mers from the run's start, then
//!   the run's last `len % k` bases one by one;
//! - `N` as its own token (when the vocabulary lists it);
//! - any other run of letters (IUPAC codes, or `N` when the vocabulary lacks it) as one
//!   unknown token covering the whole run, as the trie split leaves it one piece.
//!
//! Lower-case bases follow [`SoftMask`]: read as upper case (glance's default; the
//! Python tokenizer itself would make each lower-case run one unknown token), or unknown.
//! Token boundaries depend on where A/C/G/T runs start, so the tokenizer keeps state
//! across the pieces of a record ([`LongestMatchState`]) and every token carries the
//! bases it covers.

use std::ops::Range;

use crate::error::SeqError;
use crate::tokenizer::SoftMask;
use crate::vocab::{kmer_index, Vocab};

/// Longest-match tokenization over a vocabulary of k-mers with single-nucleotide
/// fallback tokens; see the module docs.
#[derive(Debug, Clone)]
pub struct LongestMatch {
    vocab: Vocab,
    singles: [u32; 4],
    n: Option<u32>,
    soft_mask: SoftMask,
}

/// Where a [`LongestMatch`] is within a record: the bases of an A/C/G/T run not yet
/// emitted (fewer than k) and an open run of unknown letters.
#[derive(Debug, Clone, Default)]
pub struct LongestMatchState {
    /// Bases seen so far in the record.
    pos: u64,
    /// Pending A/C/G/T bases (upper case), ending at `pos`.
    run: Vec<u8>,
    /// Start of the open run of unknown letters.
    unknown_from: Option<u64>,
}

impl LongestMatch {
    /// A tokenizer over `vocab`, which must list the single nucleotides beside its
    /// k-mers ([`Vocab::singles`]).
    pub fn new(vocab: Vocab, soft_mask: SoftMask) -> Result<LongestMatch, SeqError> {
        let singles = vocab.singles().ok_or_else(|| {
            SeqError::Vocab(
                "longest-match tokenization needs the single nucleotides A, C, G, T in the \
                 vocabulary beside the k-mers"
                    .into(),
            )
        })?;
        let n = vocab.id("N");
        Ok(LongestMatch {
            vocab,
            singles,
            n,
            soft_mask,
        })
    }

    /// The vocabulary.
    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    /// Tokenizes the next bases of a record: appends the ids of every token that ends
    /// within them (and cannot grow any longer) to `ids`, and the bases each covers,
    /// relative to the record's first base, to `spans`.
    pub fn push(
        &self,
        state: &mut LongestMatchState,
        bases: &[u8],
        ids: &mut Vec<u32>,
        spans: &mut Vec<Range<u64>>,
    ) {
        let k = self.vocab.k();
        for &b in bases {
            let b = match self.soft_mask {
                SoftMask::Upper => b.to_ascii_uppercase(),
                SoftMask::Unknown => b,
            };
            if matches!(b, b'A' | b'C' | b'G' | b'T') {
                self.close_unknown(state, ids, spans);
                state.run.push(b);
                if state.run.len() == k {
                    let start = state.pos + 1 - k as u64;
                    ids.push(self.vocab.kmer_id(kmer_index(&state.run) as u64));
                    spans.push(start..state.pos + 1);
                    state.run.clear();
                }
            } else {
                self.flush_run(state, ids, spans);
                match self.n {
                    Some(n) if b == b'N' => {
                        self.close_unknown(state, ids, spans);
                        ids.push(n);
                        spans.push(state.pos..state.pos + 1);
                    }
                    _ => {
                        state.unknown_from.get_or_insert(state.pos);
                    }
                }
            }
            state.pos += 1;
        }
    }

    /// Ends the record: emits what is pending (a short A/C/G/T run as single
    /// nucleotides, an open unknown run) and resets `state` for the next record.
    pub fn finish(
        &self,
        state: &mut LongestMatchState,
        ids: &mut Vec<u32>,
        spans: &mut Vec<Range<u64>>,
    ) {
        self.flush_run(state, ids, spans);
        self.close_unknown(state, ids, spans);
        *state = LongestMatchState::default();
    }

    /// The tokens of a whole sequence: ids and the bases each covers.
    pub fn tokenize(&self, seq: &[u8]) -> (Vec<u32>, Vec<Range<u64>>) {
        let (mut ids, mut spans) = (Vec::new(), Vec::new());
        let mut state = LongestMatchState::default();
        self.push(&mut state, seq, &mut ids, &mut spans);
        self.finish(&mut state, &mut ids, &mut spans);
        (ids, spans)
    }

    /// Emits the pending A/C/G/T bases one by one.
    fn flush_run(
        &self,
        state: &mut LongestMatchState,
        ids: &mut Vec<u32>,
        spans: &mut Vec<Range<u64>>,
    ) {
        let start = state.pos - state.run.len() as u64;
        for (i, &b) in state.run.iter().enumerate() {
            ids.push(self.singles[kmer_index(&[b])]);
            let p = start + i as u64;
            spans.push(p..p + 1);
        }
        state.run.clear();
    }

    /// Emits the open run of unknown letters as one unknown token.
    fn close_unknown(
        &self,
        state: &mut LongestMatchState,
        ids: &mut Vec<u32>,
        spans: &mut Vec<Range<u64>>,
    ) {
        if let Some(from) = state.unknown_from.take() {
            ids.push(self.vocab.special().unk);
            spans.push(from..state.pos);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::kmer_string;

    /// Nucleotide Transformer's layout for k: 6 specials, the k-mers, A T C G N.
    fn nt_vocab(k: usize) -> Vocab {
        let mut text = String::from("<unk>\n<pad>\n<mask>\n<cls>\n<eos>\n<bos>\n");
        for i in 0..1u64 << (2 * k) {
            text.push_str(&kmer_string(i, k));
            text.push('\n');
        }
        text.push_str("A\nT\nC\nG\nN\n");
        Vocab::from_reader(text.as_bytes()).unwrap()
    }

    fn pieces(t: &LongestMatch, seq: &[u8]) -> Vec<String> {
        let (ids, spans) = t.tokenize(seq);
        assert_eq!(ids.len(), spans.len());
        let mut end = 0;
        for s in &spans {
            assert_eq!(s.start, end, "spans tile the sequence");
            end = s.end;
        }
        assert_eq!(end, seq.len() as u64);
        spans
            .iter()
            .zip(&ids)
            .map(|(s, &id)| {
                let text = String::from_utf8_lossy(&seq[s.start as usize..s.end as usize]);
                if id == t.vocab().special().unk {
                    format!("?{text}")
                } else {
                    assert_eq!(t.vocab().token(id).unwrap(), text.to_ascii_uppercase());
                    text.into_owned()
                }
            })
            .collect()
    }

    #[test]
    fn kmers_then_single_nucleotides_per_run() {
        let t = LongestMatch::new(nt_vocab(3), SoftMask::Upper).unwrap();
        // as transformers' EsmTokenizer splits them (checked in scripts/nt_fixtures.py)
        assert_eq!(
            pieces(&t, b"ACGTACGTNNACGTRYACG"),
            ["ACG", "TAC", "G", "T", "N", "N", "ACG", "T", "?RY", "ACG"]
        );
        assert_eq!(pieces(&t, b"AC"), ["A", "C"]);
        assert_eq!(pieces(&t, b"acgTa"), ["acg", "T", "a"]);
        assert!(pieces(&t, b"").is_empty());
    }

    #[test]
    fn pieces_of_a_record_give_the_tokens_of_the_whole() {
        let t = LongestMatch::new(nt_vocab(3), SoftMask::Upper).unwrap();
        let seq = b"ACGTTGCANNACGTAKRAACGTTACG";
        let whole = t.tokenize(seq);
        for cut in 0..=seq.len() {
            let (mut ids, mut spans) = (Vec::new(), Vec::new());
            let mut state = LongestMatchState::default();
            t.push(&mut state, &seq[..cut], &mut ids, &mut spans);
            t.push(&mut state, &seq[cut..], &mut ids, &mut spans);
            t.finish(&mut state, &mut ids, &mut spans);
            assert_eq!((ids, spans), whole, "cut at {cut}");
        }
    }

    #[test]
    fn soft_mask_unknown_and_missing_n() {
        let t = LongestMatch::new(nt_vocab(2), SoftMask::Unknown).unwrap();
        assert_eq!(pieces(&t, b"ACgtAC"), ["AC", "?gt", "AC"]);
        let no_singles = Vocab::builtin(3).unwrap();
        assert!(LongestMatch::new(no_singles, SoftMask::Upper).is_err());
    }
}
