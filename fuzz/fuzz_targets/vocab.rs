//! vocab.txt reading (DNABERT and Nucleotide Transformer layouts), then the k-mer grid
//! tokenizer and, for a vocabulary with single-nucleotide fallback tokens, the
//! longest-match tokenizer over the vocabulary and over the input itself as a sequence
//! (its tokens must tile it).
#![no_main]
use glance_seq::{LongestMatch, SoftMask, Tokenizer, TokenizerOptions, Vocab};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = Vocab::from_reader(data) {
        let opts = TokenizerOptions {
            k: v.k(),
            ..Default::default()
        };
        if let Ok(t) = LongestMatch::new(v.clone(), SoftMask::Upper) {
            let (ids, spans) = t.tokenize(data);
            assert_eq!(ids.len(), spans.len());
            let mut end = 0;
            for s in &spans {
                assert_eq!(s.start, end);
                end = s.end;
            }
            assert_eq!(end, data.len() as u64);
        }
        if let Ok(t) = Tokenizer::with_vocab(opts, v) {
            let mut out = Vec::new();
            t.tokenize_into(b"ACGTNACGTTGCAacgtGGGCCCAAATTT", &mut out);
        }
    }
});
