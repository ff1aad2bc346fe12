//! [`SpanTokenizer`]: the one streaming interface of the tokenizers whose tokens are not
//! on a fixed base grid, so that every token carries its base span: Nucleotide
//! Transformer's longest match ([`LongestMatch`]) and byte-pair encoding ([`Bpe`]).
//! A record is fed in pieces with [`SpanTokenizer::push`] and closed with
//! [`SpanTokenizer::finish`]; tokens come out in order, with their bases relative to the
//! record's first base.

use std::ops::Range;

use crate::bpe::{Bpe, BpeState};
use crate::error::SeqError;
use crate::longest_match::{LongestMatch, LongestMatchState};
use crate::vocab::Vocab;

/// A tokenizer with base spans and its position within the current record.
#[derive(Debug, Clone)]
pub enum SpanTokenizer {
    /// Longest vocabulary match (Nucleotide Transformer).
    LongestMatch(LongestMatch, LongestMatchState),
    /// Byte-pair encoding from a `tokenizer.json` (DNABERT-2).
    Bpe(Bpe, BpeState),
}

impl From<LongestMatch> for SpanTokenizer {
    fn from(t: LongestMatch) -> Self {
        SpanTokenizer::LongestMatch(t, LongestMatchState::default())
    }
}

impl From<Bpe> for SpanTokenizer {
    fn from(t: Bpe) -> Self {
        SpanTokenizer::Bpe(t, BpeState::default())
    }
}

impl SpanTokenizer {
    /// The vocabulary.
    pub fn vocab(&self) -> &Vocab {
        match self {
            SpanTokenizer::LongestMatch(t, _) => t.vocab(),
            SpanTokenizer::Bpe(t, _) => t.vocab(),
        }
    }

    /// Reads the next bases of the record; appends the tokens that can no longer change.
    pub fn push(
        &mut self,
        bases: &[u8],
        ids: &mut Vec<u32>,
        spans: &mut Vec<Range<u64>>,
    ) -> Result<(), SeqError> {
        match self {
            SpanTokenizer::LongestMatch(t, state) => {
                t.push(state, bases, ids, spans);
                Ok(())
            }
            SpanTokenizer::Bpe(t, state) => t.push(state, bases, ids, spans),
        }
    }

    /// Ends the record: appends the pending tokens and gets ready for the next record.
    pub fn finish(
        &mut self,
        ids: &mut Vec<u32>,
        spans: &mut Vec<Range<u64>>,
    ) -> Result<(), SeqError> {
        match self {
            SpanTokenizer::LongestMatch(t, state) => {
                t.finish(state, ids, spans);
                Ok(())
            }
            SpanTokenizer::Bpe(t, state) => t.finish(state, ids, spans),
        }
    }

    /// The tokens of a whole record, as the stream gives them.
    pub fn tokenize(&mut self, seq: &[u8]) -> Result<(Vec<u32>, Vec<Range<u64>>), SeqError> {
        let (mut ids, mut spans) = (Vec::new(), Vec::new());
        self.push(seq, &mut ids, &mut spans)?;
        self.finish(&mut ids, &mut spans)?;
        Ok((ids, spans))
    }
}
