//! [`Bpe`]: a byte-pair-encoding tokenizer read from a Hugging Face `tokenizer.json`
//! (DNABERT-2, GENA-LM) and run by the `tokenizers` crate, the library transformers
//! uses, so ids equal the Python tokenizer's. Every token carries the bases it covers
//! (the encoding's offsets). Special tokens are never added: the caller wraps windows.
//!
//! Lower-case bases follow [`SoftMask`]: upper-cased (glance's default; the file itself
//! usually has no lower-case tokens and would give `[UNK]`) or passed as they are.
//! Bytes that are not ASCII letters become `N`, so one byte is one character and offsets
//! are base positions.
//!
//! # Long records
//!
//! BPE is not local: a token's boundaries depend on the bases around it, up to the end of
//! the pre-tokenized word (a whole DNA record). A record is therefore tokenized in
//! pieces, left to right:
//!
//! - piece `i` starts where the last token kept from piece `i - 1` ends (the record's
//!   first base for the first piece), and holds `piece` bases plus `lookahead` bases of
//!   look-ahead (fewer at the record's end);
//! - the tokens that start within its first `piece` bases are kept (all of them for the
//!   record's last piece); the next piece starts at the end of the last one kept.
//!
//! Kept tokens tile the record without gaps or overlaps. A record of at most
//! `piece + lookahead` bases is one piece: its tokens are exactly those of the whole
//! record. In a longer record only tokens within about the longest token's length of a
//! piece's end can differ from whole-record tokenization (there the look-ahead cut the
//! word); a piece that starts at a token boundary shared with the whole-record
//! tokenization continues exactly as it (no merge crosses that boundary, so BPE on the
//! suffix makes the same merges). Defaults: [`BPE_PIECE`] and [`BPE_LOOKAHEAD`].

use std::ops::Range;
use std::sync::Arc;

use tokenizers::models::ModelWrapper;

use crate::error::SeqError;
use crate::tokenizer::SoftMask;
use crate::vocab::{SpecialIds, Vocab};

/// Bases per piece of a long record (see the module docs).
pub const BPE_PIECE: usize = 1 << 16;
/// Bases of look-ahead after each piece (many times the longest DNA BPE token).
pub const BPE_LOOKAHEAD: usize = 512;

/// A BPE tokenizer from a `tokenizer.json`; see the module docs.
#[derive(Clone)]
pub struct Bpe {
    inner: Arc<tokenizers::Tokenizer>,
    vocab: Vocab,
    soft_mask: SoftMask,
    piece: usize,
    lookahead: usize,
}

impl std::fmt::Debug for Bpe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bpe")
            .field("vocab", &self.vocab.len())
            .field("soft_mask", &self.soft_mask)
            .field("piece", &self.piece)
            .field("lookahead", &self.lookahead)
            .finish()
    }
}

/// Where a [`Bpe`] is within a record: the bases read but not yet covered by kept
/// tokens.
#[derive(Debug, Clone, Default)]
pub struct BpeState {
    /// Record position of `bases[0]`.
    start: u64,
    /// Pending bases (normalised).
    bases: Vec<u8>,
}

impl Bpe {
    /// Reads the text of a `tokenizer.json` whose model is `BPE`. Truncation and padding
    /// the file may set are switched off (glance cuts windows itself).
    pub fn from_json(text: &str, soft_mask: SoftMask) -> Result<Bpe, SeqError> {
        let mut inner = tokenizers::Tokenizer::from_bytes(text.as_bytes())
            .map_err(|e| SeqError::Vocab(format!("invalid tokenizer.json: {e}")))?;
        let unk_token = match inner.get_model() {
            ModelWrapper::BPE(bpe) => bpe.get_unk_token().clone(),
            _ => {
                return Err(SeqError::Vocab(
                    "the tokenizer.json model is not BPE".into(),
                ))
            }
        };
        inner
            .with_truncation(None)
            .map_err(|e| SeqError::Vocab(format!("tokenizer.json truncation: {e}")))?;
        inner.with_padding(None);
        let by_name = inner.get_vocab(true);
        let n = by_name.len();
        let mut tokens = vec![None; n];
        for (token, &id) in &by_name {
            match tokens.get_mut(id as usize) {
                Some(slot @ None) => *slot = Some(token.clone()),
                _ => {
                    return Err(SeqError::Vocab(format!(
                        "token ids are not 0..{n}: `{token}` has id {id}"
                    )))
                }
            }
        }
        let tokens: Vec<String> = tokens.into_iter().flatten().collect();
        if tokens.len() != n {
            return Err(SeqError::Vocab(format!("token ids are not 0..{n}")));
        }
        let id_of = |names: &[&str]| names.iter().find_map(|name| inner.token_to_id(name));
        let unk = match &unk_token {
            Some(name) => inner.token_to_id(name).ok_or_else(|| {
                SeqError::Vocab(format!("unk_token `{name}` is not in the vocabulary"))
            })?,
            None => id_of(&["[UNK]", "<unk>"]).ok_or_else(|| {
                SeqError::Vocab("the BPE model has no unk_token and no [UNK] / <unk>".into())
            })?,
        };
        let special = SpecialIds {
            pad: id_of(&["[PAD]", "<pad>"]),
            unk,
            cls: id_of(&["[CLS]", "<cls>", "<s>"]),
            sep: id_of(&["[SEP]", "</s>", "<eos>"]),
            mask: id_of(&["[MASK]", "<mask>"]),
        };
        let vocab = Vocab::from_opaque_tokens(tokens, special)?;
        Ok(Bpe {
            inner: Arc::new(inner),
            vocab,
            soft_mask,
            piece: BPE_PIECE,
            lookahead: BPE_LOOKAHEAD,
        })
    }

    /// The same tokenizer cutting long records into pieces of `piece` bases with
    /// `lookahead` bases of look-ahead (see the module docs); `piece` must be at least 1.
    pub fn with_pieces(mut self, piece: usize, lookahead: usize) -> Result<Bpe, SeqError> {
        if piece == 0 {
            return Err(SeqError::Options(
                "a BPE piece needs at least 1 base".into(),
            ));
        }
        self.piece = piece;
        self.lookahead = lookahead;
        Ok(self)
    }

    /// Bases per piece and bases of look-ahead.
    pub fn pieces(&self) -> (usize, usize) {
        (self.piece, self.lookahead)
    }

    /// The vocabulary (tokens by id, special ids).
    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    /// The tokens of `bases` as one word: ids and the bases each covers (relative to
    /// `bases`). No special tokens.
    pub fn encode(&self, bases: &[u8]) -> Result<(Vec<u32>, Vec<Range<u64>>), SeqError> {
        let text: String = bases.iter().map(|&b| self.normalise(b) as char).collect();
        let encoding = self
            .inner
            .encode(text.as_str(), false)
            .map_err(|e| SeqError::Vocab(format!("BPE tokenization failed: {e}")))?;
        let spans = encoding
            .get_offsets()
            .iter()
            .map(|&(s, e)| s as u64..e as u64)
            .collect();
        Ok((encoding.get_ids().to_vec(), spans))
    }

    /// Reads the next bases of a record: appends the ids of the tokens that are settled
    /// (see the module docs) to `ids`, and their bases, relative to the record's first
    /// base, to `spans`.
    pub fn push(
        &self,
        state: &mut BpeState,
        bases: &[u8],
        ids: &mut Vec<u32>,
        spans: &mut Vec<Range<u64>>,
    ) -> Result<(), SeqError> {
        state.bases.extend(bases.iter().map(|&b| self.normalise(b)));
        let span = self.piece.saturating_add(self.lookahead);
        while state.bases.len() > span {
            self.piece_tokens(state, span, false, ids, spans)?;
        }
        Ok(())
    }

    /// Ends the record: emits the tokens of the pending bases and resets `state`.
    pub fn finish(
        &self,
        state: &mut BpeState,
        ids: &mut Vec<u32>,
        spans: &mut Vec<Range<u64>>,
    ) -> Result<(), SeqError> {
        let n = state.bases.len();
        if n > 0 {
            self.piece_tokens(state, n, true, ids, spans)?;
        }
        *state = BpeState::default();
        Ok(())
    }

    /// The tokens of a whole sequence, cut into pieces as a stream is.
    pub fn tokenize(&self, seq: &[u8]) -> Result<(Vec<u32>, Vec<Range<u64>>), SeqError> {
        let (mut ids, mut spans) = (Vec::new(), Vec::new());
        let mut state = BpeState::default();
        self.push(&mut state, seq, &mut ids, &mut spans)?;
        self.finish(&mut state, &mut ids, &mut spans)?;
        Ok((ids, spans))
    }

    /// Tokenizes the first `len` pending bases, keeps the tokens that start within the
    /// piece (all when `last`) and drops the bases they cover.
    fn piece_tokens(
        &self,
        state: &mut BpeState,
        len: usize,
        last: bool,
        ids: &mut Vec<u32>,
        spans: &mut Vec<Range<u64>>,
    ) -> Result<(), SeqError> {
        let text: String = state.bases[..len].iter().map(|&b| b as char).collect();
        let encoding = self
            .inner
            .encode(text.as_str(), false)
            .map_err(|e| SeqError::Vocab(format!("BPE tokenization failed: {e}")))?;
        let mut end = 0usize;
        for (&id, &(s, e)) in encoding.get_ids().iter().zip(encoding.get_offsets()) {
            if !last && s >= self.piece {
                break;
            }
            ids.push(id);
            spans.push(state.start + s as u64..state.start + e as u64);
            end = end.max(e);
        }
        if !last && end == 0 {
            // No token starts in the piece (a pre-tokenizer dropped its bases): move on.
            end = self.piece;
        }
        let end = end.min(state.bases.len());
        state.bases.drain(..end);
        state.start += end as u64;
        Ok(())
    }

    fn normalise(&self, b: u8) -> u8 {
        let b = if b.is_ascii_alphabetic() { b } else { b'N' };
        match self.soft_mask {
            SoftMask::Upper => b.to_ascii_uppercase(),
            SoftMask::Unknown => b,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny BPE over A, C, G, T with merges AC, GT, ACGT.
    const JSON: &str = r#"{
      "version": "1.0", "truncation": null, "padding": null,
      "added_tokens": [
        {"id": 0, "content": "[UNK]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
        {"id": 1, "content": "[CLS]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
        {"id": 2, "content": "[SEP]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}
      ],
      "normalizer": null, "pre_tokenizer": {"type": "Whitespace"}, "post_processor": null, "decoder": null,
      "model": {"type": "BPE", "dropout": null, "unk_token": "[UNK]", "continuing_subword_prefix": null,
        "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
        "vocab": {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "A": 3, "C": 4, "G": 5, "T": 6, "AC": 7, "GT": 8, "ACGT": 9},
        "merges": [["A", "C"], ["G", "T"], ["AC", "GT"]]}
    }"#;

    fn pieces(t: &Bpe, seq: &[u8]) -> Vec<String> {
        let (ids, spans) = t.tokenize(seq).unwrap();
        let mut end = 0;
        for s in &spans {
            assert_eq!(s.start, end, "spans tile the sequence");
            end = s.end;
        }
        assert_eq!(end, seq.len() as u64);
        ids.iter()
            .map(|&id| t.vocab().token(id).unwrap().into_owned())
            .collect()
    }

    #[test]
    fn merges_and_unknown_letters() {
        let t = Bpe::from_json(JSON, SoftMask::Upper).unwrap();
        assert_eq!(t.vocab().len(), 10);
        assert_eq!(t.vocab().special().cls, Some(1));
        assert_eq!(pieces(&t, b"ACGTACgtNAC"), ["ACGT", "ACGT", "[UNK]", "AC"]);
        assert_eq!(pieces(&t, b"TTG"), ["T", "T", "G"]);
        assert!(pieces(&t, b"").is_empty());
    }

    #[test]
    fn pieces_tile_and_agree_with_the_whole_away_from_cuts() {
        let seq = b"ACGTTGACACGTGTACGTAACGTACGTTTGACGTACACGT".repeat(5);
        let whole = Bpe::from_json(JSON, SoftMask::Upper).unwrap();
        let want = whole.encode(&seq).unwrap();
        assert_eq!(whole.tokenize(&seq).unwrap(), want, "one piece");
        for piece in [1, 3, 7, 16, 50] {
            let t = whole.clone().with_pieces(piece, 8).unwrap();
            // fed in uneven parts, as a chunker does
            let (mut ids, mut spans) = (Vec::new(), Vec::new());
            let mut state = BpeState::default();
            for part in seq.chunks(11) {
                t.push(&mut state, part, &mut ids, &mut spans).unwrap();
            }
            t.finish(&mut state, &mut ids, &mut spans).unwrap();
            assert_eq!((ids, spans), want, "piece {piece}");
        }
        assert!(whole.with_pieces(0, 1).is_err());
    }

    #[test]
    fn other_models_are_refused() {
        let word_level = JSON.replace("\"BPE\"", "\"WordLevel\"");
        assert!(Bpe::from_json(&word_level, SoftMask::Upper).is_err());
        assert!(Bpe::from_json("{", SoftMask::Upper).is_err());
    }
}
